//! Settings for `referral-desk serve`: built-in defaults, then an optional TOML file, then
//! environment variables `REFERRAL_DESK__SECTION__KEY` (e.g. `REFERRAL_DESK__SERVER__BIND`).
//!
//! With no file and no variables the server runs on embedded defaults: the shipped catalogue,
//! SQLite at `./data/referral-desk.db`, port 8080. Secrets (the database URL, which may carry a
//! password, and the pseudonymisation key) are [`SecretString`]s: they cannot be printed or
//! logged by accident. Anything wrong fails at start with the key and what to do about it.
//! `deploy/config/referral-desk.toml` documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the configuration file {path}: {detail}")]
    File { path: PathBuf, detail: String },
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration key `{key}`: {problem}\n  hint: {hint}")]
    Key {
        key: &'static str,
        problem: String,
        hint: &'static str,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub catalogue: CatalogueDirSettings,
    #[serde(default)]
    pub classifier: crate::nlu::model::ModelSettings,
    #[serde(default)]
    pub log: ConversationLogSettings,
    #[serde(default)]
    pub privacy: PrivacySettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub slack: SlackSettings,
    #[serde(default)]
    pub outbox: OutboxSettings,
    #[serde(default)]
    pub teams: TeamsSettings,
    #[serde(default)]
    pub analytics: AnalyticsSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub web: WebSettings,
}

/// The Prometheus endpoint. It is served on a listener of its own, loopback by default, so
/// per-intent counters (a burn-out question ticks `decisions_total{intent="wellbeing"}`) never
/// reach the public port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// `false`: no metrics listener at all.
    pub enabled: bool,
    /// Where `GET /metrics` listens; keep it off the public network.
    pub bind: SocketAddr,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: SocketAddr::from(([127, 0, 0, 1], 9091)),
        }
    }
}

/// Which sites may send the web chat's session cookie along (the cookie's `SameSite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Only requests from the desk's own pages (the default).
    #[default]
    Strict,
    Lax,
    /// Needed when the chat is framed by an intranet on another site; requires
    /// `server.secure_cookies`.
    None,
}

impl SameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// The web chat page and its API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// Who may show the chat page in a frame (the CSP `frame-ancestors` sources), e.g.
    /// `["'self'", "https://intranet.example.nl"]`; `["'none'"]` forbids framing.
    pub frame_ancestors: Vec<String>,
    /// Questions per minute one client address may ask (`POST /api/v1/ask`); 0 switches the
    /// limit off.
    pub rate_limit_per_minute: u32,
    /// Questions a client may ask at once before the per-minute rate applies.
    pub rate_limit_burst: u32,
    /// `SameSite` of the chat's session cookie.
    pub cookie_same_site: SameSite,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            frame_ancestors: vec!["'self'".into()],
            rate_limit_per_minute: 30,
            rate_limit_burst: 10,
            cookie_same_site: SameSite::Strict,
        }
    }
}

/// Demand reports for HRD. Off until switched on: in the Netherlands the works council
/// (ondernemingsraad) must consent before employee data is analysed (WOR art. 27).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsSettings {
    pub enabled: bool,
    /// Figures based on fewer distinct askers are hidden (k-anonymity); at least 3.
    pub min_group_size: u32,
    /// Bearer tokens for `/reports` and `/api/v1/reports/*`, one per reader or tool.
    pub tokens: Vec<SecretString>,
    /// Routed answers below this confidence count as unmet demand.
    pub low_confidence: f32,
    /// Days after the end of a month before its figures are published (and then frozen), so
    /// feedback given in the last days still counts.
    pub release_delay_days: u32,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            min_group_size: 5,
            tokens: Vec::new(),
            low_confidence: 0.5,
            release_delay_days: 3,
        }
    }
}

/// Shorter tokens could be guessed.
pub const MIN_REPORT_TOKEN_CHARS: usize = 20;

/// How replies that channels send later (Slack, Teams) are retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// First retry delay in milliseconds; doubles per attempt.
    pub retry_base_ms: u64,
    /// Longest delay between attempts, in seconds.
    pub retry_max_seconds: u64,
    /// Attempts before a reply is given up (and counted as failed).
    pub max_attempts: i32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            retry_base_ms: 1_000,
            retry_max_seconds: 300,
            max_attempts: 10,
        }
    }
}

/// The Slack app. The `/slack/` routes are mounted only when both secrets are set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackSettings {
    /// Verifies that requests come from Slack (Basic Information > App Credentials).
    pub signing_secret: Option<SecretString>,
    /// `xoxb-...`, for replies through the Web API (OAuth & Permissions).
    pub bot_token: Option<SecretString>,
    /// The workspace (`T...`); events from other workspaces are ignored. Unset: any.
    pub team_id: Option<String>,
    /// Web API base URL; tests point it at a local fake Slack.
    pub api_base_url: String,
}

impl Default for SlackSettings {
    fn default() -> Self {
        Self {
            signing_secret: None,
            bot_token: None,
            team_id: None,
            api_base_url: "https://slack.com/api".into(),
        }
    }
}

impl SlackSettings {
    pub fn is_enabled(&self) -> bool {
        self.signing_secret.is_some() && self.bot_token.is_some()
    }
}

/// Which Entra ID tenants the bot's app registration accepts (the Azure Bot's "Type of App").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TeamsAppType {
    #[default]
    MultiTenant,
    SingleTenant,
}

/// Microsoft Teams: the Bot Framework bot (`/teams/messages`, mounted when `app_id` and
/// `app_password` are set) and the outgoing webhook (`/teams/webhook`, mounted when
/// `webhook_hmac_key` is set). Either, both or neither.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeamsSettings {
    /// The Azure Bot's Microsoft App ID: the audience of incoming tokens, the client id of
    /// outgoing ones.
    pub app_id: Option<String>,
    /// The app registration's client secret.
    pub app_password: Option<SecretString>,
    pub app_type: TeamsAppType,
    /// The organisation's Entra ID tenant: the token authority of a single-tenant bot, and the
    /// tenant of handoff chats when an activity names none.
    pub tenant_id: Option<String>,
    /// Where the Bot Framework publishes its signing keys; tests point it at a local server.
    pub openid_metadata_url: String,
    /// OAuth2 token endpoint for outgoing calls; unset: derived from `app_type`.
    pub token_url: Option<String>,
    /// Hosts whose `serviceUrl` the bot calls. `host` or `*.suffix` (https only), or an exact
    /// origin with scheme and port such as `http://localhost:3978` (the Bot Framework Emulator).
    pub service_url_allowlist: Vec<String>,
    /// The outgoing webhook's security token, base64 as Teams shows it.
    pub webhook_hmac_key: Option<SecretString>,
}

/// Microsoft's Teams and Bot Framework service hosts: the commercial cloud (two Teams hosts,
/// exact, since anyone can create names under `trafficmanager.net`), GCC, and Microsoft's own
/// Bot Framework channels. GCC High/DoD bots live in Azure Government, whose token issuer this
/// desk does not accept, so their hosts are not listed.
pub const DEFAULT_SERVICE_URL_ALLOWLIST: &[&str] = &[
    "smba.trafficmanager.net",
    "smba.onyx.prod.teams.trafficmanager.net",
    "smba.infra.gcc.teams.microsoft.com",
    "*.botframework.com",
];

impl Default for TeamsSettings {
    fn default() -> Self {
        Self {
            app_id: None,
            app_password: None,
            app_type: TeamsAppType::MultiTenant,
            tenant_id: None,
            openid_metadata_url:
                "https://login.botframework.com/v1/.well-known/openidconfiguration".into(),
            token_url: None,
            service_url_allowlist: DEFAULT_SERVICE_URL_ALLOWLIST
                .iter()
                .map(|h| h.to_string())
                .collect(),
            webhook_hmac_key: None,
        }
    }
}

impl TeamsSettings {
    /// The Bot Framework bot is configured (the webhook is separate).
    pub fn bot_enabled(&self) -> bool {
        self.app_id.is_some() && self.app_password.is_some()
    }

    /// The token endpoint: configured, or the authority `app_type` implies.
    pub fn token_endpoint(&self) -> String {
        if let Some(url) = &self.token_url {
            return url.clone();
        }
        let authority = match (self.app_type, &self.tenant_id) {
            (TeamsAppType::SingleTenant, Some(tenant)) => tenant.as_str(),
            _ => "botframework.com",
        };
        format!("https://login.microsoftonline.com/{authority}/oauth2/v2.0/token")
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let blank = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
        if blank(&self.app_id) || blank(&self.tenant_id) || blank(&self.token_url) {
            return Err(SettingsError::Key {
                key: "teams",
                problem: "app_id, tenant_id or token_url is set but empty".into(),
                hint: "remove the empty key or give it a value",
            });
        }
        match (&self.app_id, &self.app_password) {
            (Some(_), None) => {
                return Err(SettingsError::Key {
                    key: "teams.app_password",
                    problem: "teams.app_id is set but the app password (client secret) is not"
                        .into(),
                    hint: "set REFERRAL_DESK__TEAMS__APP_PASSWORD to the Azure Bot's client secret, or remove app_id",
                });
            }
            (None, Some(_)) => {
                return Err(SettingsError::Key {
                    key: "teams.app_id",
                    problem: "teams.app_password is set but the app id is not".into(),
                    hint: "set REFERRAL_DESK__TEAMS__APP_ID to the Azure Bot's Microsoft App ID",
                });
            }
            (Some(_), Some(secret)) if secret.expose_secret().trim().is_empty() => {
                return Err(SettingsError::Key {
                    key: "teams.app_password",
                    problem: "is empty".into(),
                    hint: "set it to the Azure Bot's client secret",
                });
            }
            _ => {}
        }
        if self.bot_enabled()
            && self.app_type == TeamsAppType::SingleTenant
            && self.tenant_id.is_none()
        {
            return Err(SettingsError::Key {
                key: "teams.tenant_id",
                problem: "a single-tenant bot needs its tenant id".into(),
                hint: "set REFERRAL_DESK__TEAMS__TENANT_ID to the directory (tenant) id, or use app_type = \"multi_tenant\"",
            });
        }
        if self.bot_enabled() {
            for (key, url) in [
                (
                    "teams.openid_metadata_url",
                    self.openid_metadata_url.as_str(),
                ),
                ("teams.token_url", self.token_endpoint().as_str()),
            ] {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(SettingsError::Key {
                        key,
                        problem: format!("`{url}` is not an http(s) URL"),
                        hint: "leave it unset for Microsoft's endpoint",
                    });
                }
            }
            if self.service_url_allowlist.is_empty() {
                return Err(SettingsError::Key {
                    key: "teams.service_url_allowlist",
                    problem: "is empty: the bot could not reply anywhere".into(),
                    hint: "leave it unset for Microsoft's Teams service hosts",
                });
            }
        }
        if let Some(key) = &self.webhook_hmac_key {
            use base64::Engine;
            let decoded =
                base64::engine::general_purpose::STANDARD.decode(key.expose_secret().trim());
            if !decoded.is_ok_and(|k| !k.is_empty()) {
                return Err(SettingsError::Key {
                    key: "teams.webhook_hmac_key",
                    problem: "is not the base64 security token Teams shows".into(),
                    hint: "copy the security token from the outgoing webhook's creation dialog",
                });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// Inbox workers processing questions concurrently.
    pub workers: usize,
    /// Seconds in-flight work gets to finish after SIGTERM/SIGINT; the process is gone after
    /// this, whatever a client is still sending.
    pub shutdown_grace_seconds: u64,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client;
    /// rate limits and failed-login counters key on that client address.
    pub trusted_proxies: Vec<String>,
    /// The `Secure` flag on cookies (report session, web chat session): browsers then send
    /// them over HTTPS only. Switch off only for plain-http testing on another host than
    /// localhost.
    pub secure_cookies: bool,
    /// A client must send a request's headers within this many seconds.
    pub header_read_timeout_seconds: u64,
    /// A client must send a request's body within this many seconds.
    pub body_read_timeout_seconds: u64,
    /// A request is answered (503 or 408) within this many seconds, whatever it waits for.
    pub request_timeout_seconds: u64,
    /// An idle keep-alive connection is closed after this many seconds.
    pub idle_timeout_seconds: u64,
    /// Open connections at most; further ones wait until one closes.
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], 8080)),
            workers: 4,
            shutdown_grace_seconds: 10,
            trusted_proxies: Vec::new(),
            secure_cookies: true,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            request_timeout_seconds: 30,
            idle_timeout_seconds: 60,
            max_connections: 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (created when missing) or `postgres://user:password@host/db`.
    pub url: SecretString,
    /// Connections in the pool (PostgreSQL; SQLite uses one writer and a few readers).
    pub max_connections: u32,
    /// How long a request waits for a PostgreSQL connection before it gets 503 (Slack and
    /// Teams then deliver again); short, so an outage is answered at once, not after a hang.
    pub acquire_timeout_ms: u64,
    /// Largest size the SQLite file may grow to, in MiB (unset: as large as the disk allows).
    /// At the cap the desk answers as on a full disk (503, `/readyz` not ready) and nothing
    /// else on the disk runs out of space; deleting rows (retention) makes room again.
    pub max_size_mb: Option<u32>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://./data/referral-desk.db"),
            max_connections: 8,
            acquire_timeout_ms: 2000,
            max_size_mb: None,
        }
    }
}

impl DatabaseSettings {
    /// The database kind and location with any password removed, safe for logs.
    pub fn describe(&self) -> String {
        let url = self.url.expose_secret();
        match url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                format!("{scheme}://{host}")
            }
            None => "(unparseable database url)".into(),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.expose_secret().starts_with("sqlite:")
    }

    /// The folder of the SQLite database file, where the generated pseudonymisation key is
    /// kept; `None` for PostgreSQL and in-memory SQLite.
    pub fn sqlite_dir(&self) -> Option<PathBuf> {
        let url = self.url.expose_secret();
        let path = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))?;
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path.contains(":memory:") {
            return None;
        }
        Some(
            Path::new(path)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogueDirSettings {
    pub dir: PathBuf,
}

impl Default for CatalogueDirSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("intents"),
        }
    }
}

/// The conversation log HRD reports on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationLogSettings {
    /// Store the (redacted) question text. `false` stores only structured fields.
    pub store_text: bool,
    /// Days after which question texts are deleted; structured fields remain.
    pub retention_days: u32,
}

impl Default for ConversationLogSettings {
    fn default() -> Self {
        Self {
            store_text: true,
            retention_days: 90,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySettings {
    /// Key for pseudonymous asker keys (HMAC-SHA256). When absent, one is generated once and
    /// kept next to the SQLite database (`pseudonym.key`, mode 0600); PostgreSQL deployments
    /// with several replicas must set it so all replicas agree.
    pub pseudonym_key: Option<SecretString>,
    /// Optional CSV with `user_id,department` lines: only the department is stored.
    pub departments_csv: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `referral_desk=debug,info`.
    pub level: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Keys whose environment variable holds a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "server.trusted_proxies",
    "web.frame_ancestors",
    "teams.service_url_allowlist",
    "analytics.tokens",
    "classifier.embedding_languages",
];

/// The environment variable prefix; `REFERRAL_DESK__SERVER__BIND=127.0.0.1:9000`.
pub const ENV_PREFIX: &str = "REFERRAL_DESK";

impl Settings {
    /// Defaults, then `file` (if given), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        Settings::load_with_env(file, std::env::vars())
    }

    /// As [`Settings::load`], with the environment passed in (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError::File {
                    path: path.to_path_buf(),
                    detail: "no such file".into(),
                });
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let prefix = format!("{ENV_PREFIX}__");
        let overrides: config::Map<String, String> = env
            .into_iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix)
                    .map(|rest| (rest.to_lowercase().replace("__", "."), v))
            })
            .collect();
        for (key, value) in overrides {
            builder = if LIST_KEYS.contains(&key.as_str()) {
                let items: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .collect();
                builder.set_override(key, items)
            } else {
                builder.set_override(key, value)
            }
            .map_err(|e| SettingsError::Invalid(without_values(&e.to_string())))?;
        }
        let merged = builder.build().map_err(|e| match file {
            Some(path) => SettingsError::File {
                path: path.to_path_buf(),
                detail: without_values(&e.to_string()),
            },
            None => SettingsError::Invalid(without_values(&e.to_string())),
        })?;
        let settings: Settings = merged
            .try_deserialize()
            .map_err(|e| SettingsError::Invalid(explain(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let url = self.database.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(SettingsError::Key {
                key: "database.url",
                problem: format!("unsupported database ({})", self.database.describe()),
                hint: "use sqlite://PATH (embedded) or postgres://USER:PASSWORD@HOST/DATABASE",
            });
        }
        if !(self.classifier.embedding_weight.is_finite() && self.classifier.embedding_weight > 0.0)
        {
            return Err(SettingsError::Key {
                key: "classifier.embedding_weight",
                problem: format!(
                    "must be a positive number (got {})",
                    self.classifier.embedding_weight
                ),
                hint: "1.0 is the measured default; larger trusts the embedding more than the words",
            });
        }
        if self.database.acquire_timeout_ms < 100 {
            return Err(SettingsError::Key {
                key: "database.acquire_timeout_ms",
                problem: "must be at least 100 (milliseconds)".into(),
                hint: "2000 answers an outage with 503 after 2 s",
            });
        }
        if self.server.workers == 0 {
            return Err(SettingsError::Key {
                key: "server.workers",
                problem: "must be at least 1".into(),
                hint: "2 to 8 workers suit most organisations",
            });
        }
        if self.log.retention_days == 0 {
            return Err(SettingsError::Key {
                key: "log.retention_days",
                problem: "must be at least 1 day".into(),
                hint: "set log.store_text = false to keep no question texts at all",
            });
        }
        if self
            .slack
            .signing_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().trim().is_empty())
        {
            return Err(SettingsError::Key {
                key: "slack.signing_secret",
                problem: "is empty: every request would pass verification".into(),
                hint: "copy the signing secret from the Slack app's Basic Information page",
            });
        }
        if self
            .slack
            .bot_token
            .as_ref()
            .is_some_and(|s| s.expose_secret().trim().is_empty())
        {
            return Err(SettingsError::Key {
                key: "slack.bot_token",
                problem: "is empty: Slack would be switched on but could not reply".into(),
                hint: "copy the Bot User OAuth Token (xoxb-...) from the Slack app's OAuth & Permissions page, or remove the key to leave Slack off",
            });
        }
        match (&self.slack.signing_secret, &self.slack.bot_token) {
            (Some(_), None) => {
                return Err(SettingsError::Key {
                    key: "slack.bot_token",
                    problem: "slack.signing_secret is set but the bot token is not".into(),
                    hint: "set both (REFERRAL_DESK__SLACK__BOT_TOKEN=xoxb-...) to connect Slack, or neither",
                });
            }
            (None, Some(_)) => {
                return Err(SettingsError::Key {
                    key: "slack.signing_secret",
                    problem: "slack.bot_token is set but the signing secret is not".into(),
                    hint: "set both (REFERRAL_DESK__SLACK__SIGNING_SECRET) to connect Slack, or neither",
                });
            }
            _ => {}
        }
        self.teams.validate()?;
        if self.analytics.min_group_size < 3 {
            return Err(SettingsError::Key {
                key: "analytics.min_group_size",
                problem: format!(
                    "{} is too small: groups that small identify people",
                    self.analytics.min_group_size
                ),
                hint: "use 5 (the default) or more; 3 is the lowest allowed",
            });
        }
        if self
            .analytics
            .tokens
            .iter()
            .any(|t| t.expose_secret().trim().chars().count() < MIN_REPORT_TOKEN_CHARS)
        {
            return Err(SettingsError::Key {
                key: "analytics.tokens",
                problem: format!(
                    "a token is shorter than {MIN_REPORT_TOKEN_CHARS} characters and could be guessed"
                ),
                hint: "generate tokens with `openssl rand -hex 32`",
            });
        }
        if !(0.0..=1.0).contains(&self.analytics.low_confidence) {
            return Err(SettingsError::Key {
                key: "analytics.low_confidence",
                problem: "must be between 0 and 1".into(),
                hint: "0.5 counts answers the classifier was unsure of as unmet demand",
            });
        }
        if let Some(position) = self
            .server
            .trusted_proxies
            .iter()
            .position(|entry| entry.parse::<crate::net::IpRange>().is_err())
        {
            return Err(SettingsError::Key {
                key: "server.trusted_proxies",
                // the entry itself is not repeated: a misplaced secret must not reach the log
                problem: format!(
                    "entry {} is not an IP address or a CIDR range",
                    position + 1
                ),
                hint: "list your reverse proxies' addresses, e.g. [\"10.0.0.0/8\"] (REFERRAL_DESK__SERVER__TRUSTED_PROXIES=10.0.0.0/8,192.0.2.7)",
            });
        }
        for (key, value) in [
            (
                "server.header_read_timeout_seconds",
                self.server.header_read_timeout_seconds,
            ),
            (
                "server.body_read_timeout_seconds",
                self.server.body_read_timeout_seconds,
            ),
            (
                "server.request_timeout_seconds",
                self.server.request_timeout_seconds,
            ),
            (
                "server.idle_timeout_seconds",
                self.server.idle_timeout_seconds,
            ),
            ("server.max_connections", self.server.max_connections as u64),
        ] {
            if value == 0 {
                return Err(SettingsError::Key {
                    key,
                    problem: "must be at least 1".into(),
                    hint: "see deploy/config/referral-desk.toml for the defaults",
                });
            }
        }
        // port 0 picks a free port for each listener, so two of them never clash
        if self.metrics.enabled
            && self.metrics.bind == self.server.bind
            && self.server.bind.port() != 0
        {
            return Err(SettingsError::Key {
                key: "metrics.bind",
                problem: "is the same address as server.bind".into(),
                hint: "metrics get a listener of their own, e.g. 127.0.0.1:9091",
            });
        }
        if self.web.frame_ancestors.is_empty()
            || self.web.frame_ancestors.iter().any(|source| {
                // a header value: printable ASCII (punycode for international names)
                source.trim().is_empty()
                    || source
                        .chars()
                        .any(|c| !c.is_ascii_graphic() || matches!(c, ';' | ','))
            })
        {
            return Err(SettingsError::Key {
                key: "web.frame_ancestors",
                problem: "needs one or more CSP sources in printable ASCII, without spaces, commas or semicolons"
                    .into(),
                hint: "e.g. [\"'self'\", \"https://intranet.example.nl\"], or [\"'none'\"] to forbid framing",
            });
        }
        if self.web.cookie_same_site == SameSite::None && !self.server.secure_cookies {
            return Err(SettingsError::Key {
                key: "web.cookie_same_site",
                problem:
                    "\"none\" needs server.secure_cookies = true (browsers refuse it otherwise)"
                        .into(),
                hint: "serve the desk over HTTPS and keep server.secure_cookies on",
            });
        }
        if self.database.max_connections == 0 {
            return Err(SettingsError::Key {
                key: "database.max_connections",
                problem: "must be at least 1".into(),
                hint: "8 is a good start",
            });
        }
        Ok(())
    }
}

/// The config crate names the key in its messages; make the wording operator-friendly, and
/// never repeat a value: it may be a secret put under the wrong key or with the wrong type
/// (`invalid type: string "xoxb-..."`).
fn explain(error: config::ConfigError) -> String {
    let text = without_values(&error.to_string());
    if text.contains("unknown field") {
        format!("{text}\n  hint: check the key's spelling against deploy/config/referral-desk.toml")
    } else {
        format!("{text}\n  hint: see deploy/config/referral-desk.toml for every key and its type")
    }
}

/// `message` with every quoted value and every quoted source line removed: what is left
/// names the key, the position and the expected type.
fn without_values(message: &str) -> String {
    static QUOTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#""(?:[^"\\]|\\.)*"|'[^'\n]*'"#).expect("static regex")
    });
    static SNIPPET: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"^\s*\d*\s*\|").expect("static regex"));
    message
        .lines()
        .filter(|line| !SNIPPET.is_match(line))
        .map(|line| {
            let line = QUOTED.replace_all(line, "(value not shown)");
            // an unterminated quote: drop everything after it
            match line.find(['"', '\'']) {
                Some(at) => format!("{}(value not shown)", &line[..at]),
                None => line.into_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_file_or_environment() {
        let s = Settings::load_with_env(None, env(&[])).unwrap();
        assert_eq!(s.server.bind.to_string(), "0.0.0.0:8080");
        assert_eq!(s.database.describe(), "sqlite://./data/referral-desk.db");
        assert_eq!(s.database.sqlite_dir(), Some(PathBuf::from("./data")));
        assert_eq!(s.catalogue.dir, PathBuf::from("intents"));
        assert!(s.log.store_text);
        assert_eq!(s.log.retention_days, 90);
        assert!(s.privacy.pseudonym_key.is_none());
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[server]\nbind = \"127.0.0.1:9000\"\n[log]\nstore_text = false\nretention_days = 30\n",
        )
        .unwrap();
        let s = Settings::load_with_env(
            Some(&path),
            env(&[
                ("REFERRAL_DESK__LOG__RETENTION_DAYS", "7"),
                (
                    "REFERRAL_DESK__DATABASE__URL",
                    "postgres://u:hunter2@db.internal/hr",
                ),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:9000");
        assert!(!s.log.store_text);
        assert_eq!(s.log.retention_days, 7);
        assert_eq!(s.database.describe(), "postgres://db.internal/hr");
        assert!(!format!("{s:?}").contains("hunter2"), "secrets never print");
        assert_eq!(s.database.sqlite_dir(), None);
    }

    #[test]
    fn slack_needs_both_secrets() {
        let err = Settings::load_with_env(
            None,
            env(&[("REFERRAL_DESK__SLACK__SIGNING_SECRET", "s3cr3t")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("slack.bot_token") && !err.contains("s3cr3t"),
            "{err}"
        );
        let s = Settings::load_with_env(
            None,
            env(&[
                ("REFERRAL_DESK__SLACK__SIGNING_SECRET", "s3cr3t"),
                ("REFERRAL_DESK__SLACK__BOT_TOKEN", "xoxb-1"),
            ]),
        )
        .unwrap();
        assert!(s.slack.is_enabled());
        assert!(!format!("{s:?}").contains("xoxb-1"));
        // an empty token (a `.env` line left blank) would switch Slack on without replies
        let err = Settings::load_with_env(
            None,
            env(&[
                ("REFERRAL_DESK__SLACK__SIGNING_SECRET", "s3cr3t"),
                ("REFERRAL_DESK__SLACK__BOT_TOKEN", " "),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("slack.bot_token") && err.contains("is empty"),
            "{err}"
        );
    }

    #[test]
    fn teams_partial_configuration_fails_with_the_key_to_fix() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("REFERRAL_DESK__TEAMS__APP_ID", "app-1")],
                "teams.app_password",
            ),
            (
                &[("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret")],
                "teams.app_id",
            ),
            (
                &[
                    ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
                    ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
                    ("REFERRAL_DESK__TEAMS__APP_TYPE", "single_tenant"),
                ],
                "teams.tenant_id",
            ),
            (
                &[("REFERRAL_DESK__TEAMS__WEBHOOK_HMAC_KEY", "not base64!")],
                "teams.webhook_hmac_key",
            ),
            (
                &[
                    ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
                    ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
                    ("REFERRAL_DESK__TEAMS__APP_TYPE", "some_tenant"),
                ],
                "app_type",
            ),
        ];
        for (vars, key) in cases {
            let err = Settings::load_with_env(None, env(vars))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{vars:?}: {err}");
            assert!(!err.contains("pw-secret"), "{err}");
        }
    }

    #[test]
    fn teams_token_authority_follows_the_app_type() {
        let multi = Settings::load_with_env(
            None,
            env(&[
                ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
                ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
            ]),
        )
        .unwrap();
        assert!(multi.teams.bot_enabled());
        assert_eq!(
            multi.teams.token_endpoint(),
            "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
        );
        assert!(!format!("{multi:?}").contains("pw-secret"));
        let single = Settings::load_with_env(
            None,
            env(&[
                ("REFERRAL_DESK__TEAMS__APP_ID", "app-1"),
                ("REFERRAL_DESK__TEAMS__APP_PASSWORD", "pw-secret"),
                ("REFERRAL_DESK__TEAMS__APP_TYPE", "single_tenant"),
                ("REFERRAL_DESK__TEAMS__TENANT_ID", "tenant-9"),
                (
                    "REFERRAL_DESK__TEAMS__SERVICE_URL_ALLOWLIST",
                    "smba.trafficmanager.net, http://localhost:3978",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            single.teams.token_endpoint(),
            "https://login.microsoftonline.com/tenant-9/oauth2/v2.0/token"
        );
        assert_eq!(
            single.teams.service_url_allowlist,
            ["smba.trafficmanager.net", "http://localhost:3978"]
        );
        let webhook_only = Settings::load_with_env(
            None,
            env(&[("REFERRAL_DESK__TEAMS__WEBHOOK_HMAC_KEY", "c2VjcmV0LWtleQ==")]),
        )
        .unwrap();
        assert!(!webhook_only.teams.bot_enabled());
        assert!(webhook_only.teams.webhook_hmac_key.is_some());
    }

    /// Issue 13, item 19: a refused configuration names the key, never the value (which may
    /// be a secret under the wrong key or of the wrong type).
    #[test]
    fn a_refused_configuration_never_repeats_a_value() {
        const SECRET: &str = "xoxb-SECRET-4242";
        let dir = tempfile::tempdir().unwrap();
        let files = [
            format!("[analytics]\ntokens = \"{SECRET}\"\n"),
            format!("[analytics]\nenabled = \"{SECRET}\"\n"),
            format!("[slack]\nbot_token = [\"{SECRET}\"]\n"),
            format!("[slack]\nbot_token = \"{SECRET}\n"),
            format!("[slack]\nbot_token = '{SECRET}\n"),
            format!("[slack]\nbot_token = {SECRET}\n"),
            format!("slack = \"{SECRET}\"\n"),
            format!("[server]\nbind = \"{SECRET}\"\n"),
        ];
        for (i, text) in files.iter().enumerate() {
            let path = dir.path().join(format!("c{i}.toml"));
            std::fs::write(&path, text).unwrap();
            let err = Settings::load_with_env(Some(&path), env(&[]))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("SECRET-4242"), "{text:?} gave: {err}");
            assert!(!err.trim().is_empty());
        }
        for vars in [
            [("REFERRAL_DESK__SLACK", SECRET)],
            [("REFERRAL_DESK__ANALYTICS__ENABLED", SECRET)],
            [("REFERRAL_DESK__SERVER__BIND", SECRET)],
            [("REFERRAL_DESK__OUTBOX__MAX_ATTEMPTS", SECRET)],
            [("REFERRAL_DESK__SERVER__TRUSTED_PROXIES", SECRET)],
        ] {
            let err = Settings::load_with_env(None, env(&vars))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("SECRET-4242"), "{vars:?} gave: {err}");
            // the key is still named so the operator knows what to fix
            let key = vars[0]
                .0
                .trim_start_matches("REFERRAL_DESK__")
                .to_lowercase();
            let last = key.rsplit("__").next().unwrap();
            assert!(err.contains(last), "{vars:?} gave: {err}");
        }
    }

    #[test]
    fn trusted_proxies_timeouts_and_framing_are_checked() {
        let s = Settings::load_with_env(
            None,
            env(&[
                (
                    "REFERRAL_DESK__SERVER__TRUSTED_PROXIES",
                    "10.0.0.0/8, 192.0.2.7",
                ),
                (
                    "REFERRAL_DESK__WEB__FRAME_ANCESTORS",
                    "'self',https://intranet.example.nl",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.trusted_proxies, ["10.0.0.0/8", "192.0.2.7"]);
        assert!(s.server.secure_cookies, "secure by default");
        assert_eq!(
            s.web.frame_ancestors,
            ["'self'", "https://intranet.example.nl"]
        );
        for (vars, key) in [
            (
                [("REFERRAL_DESK__SERVER__TRUSTED_PROXIES", "proxy.internal")],
                "server.trusted_proxies",
            ),
            (
                [("REFERRAL_DESK__SERVER__REQUEST_TIMEOUT_SECONDS", "0")],
                "server.request_timeout_seconds",
            ),
            (
                [("REFERRAL_DESK__WEB__FRAME_ANCESTORS", "x; script-src *")],
                "web.frame_ancestors",
            ),
            (
                [("REFERRAL_DESK__METRICS__BIND", "0.0.0.0:8080")],
                "metrics.bind",
            ),
        ] {
            let err = Settings::load_with_env(None, env(&vars))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{vars:?}: {err}");
        }
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = Settings::load_with_env(None, env(&[("REFERRAL_DESK__SERVER__BIND", "port 80")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bind"), "{err}");
        let err =
            Settings::load_with_env(None, env(&[("REFERRAL_DESK__DATABASE__URL", "mysql://x")]))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("database.url") && err.contains("sqlite://"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nbnd = \"127.0.0.1:1\"\n").unwrap();
        let err = Settings::load_with_env(Some(&path), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bnd"), "{err}");
        let err = Settings::load_with_env(Some(&dir.path().join("none.toml")), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("none.toml"), "{err}");
    }
}
