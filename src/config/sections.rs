//! The sections of the configuration file (`[server]`, `[database]`, `[classifier]`, ...) with
//! their defaults; [`super::Settings`] holds one of each and checks them together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::SettingsError;
use crate::text::Lang;

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

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        self.validate_bot_credentials()?;
        if self.bot_enabled() {
            self.validate_bot_endpoints()?;
        }
        self.validate_webhook_key()
    }

    /// A key set but empty, or the bot's id, secret and tenant without each other, would leave
    /// the bot half configured: the start fails instead, with the key to fix.
    fn validate_bot_credentials(&self) -> Result<(), SettingsError> {
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
        Ok(())
    }

    /// Where the bot gets its keys and tokens and where it may reply: a bad URL or an empty
    /// allowlist would only show once the first activity arrives.
    fn validate_bot_endpoints(&self) -> Result<(), SettingsError> {
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
        Ok(())
    }

    /// The outgoing webhook's token must decode, or no webhook request would ever verify.
    fn validate_webhook_key(&self) -> Result<(), SettingsError> {
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
    /// `$RUST_LOG`, which takes precedence over `level` when it is a valid filter (the Rust
    /// convention, for a developer's quick look); not a key of the file.
    #[serde(skip)]
    pub rust_log: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
            rust_log: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Which features the classifier reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// TF-IDF over the catalogue's words: no model files, knows only the catalogue's words.
    Lexical,
    /// The sentence embedding only: paraphrases, but weaker on names and jargon.
    Embedding,
    /// Both, in one model: the default when a model folder is present.
    Hybrid,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Lexical => "lexical",
            ModelKind::Embedding => "embedding",
            ModelKind::Hybrid => "hybrid",
        }
    }

    pub fn uses_embeddings(self) -> bool {
        self != ModelKind::Lexical
    }

    pub fn uses_words(self) -> bool {
        self != ModelKind::Embedding
    }
}

/// Default `nlu::EmbeddingFeatures::weight`: chosen on the validation splits of CLINC150 and
/// BANKING77 (README, Measured); `eval --embedding-weight` measures others.
pub const DEFAULT_EMBEDDING_WEIGHT: f32 = 1.5;

/// The sentence-embedding model folder `models/fetch` fills.
pub const DEFAULT_MODEL_DIR: &str = "models/all-MiniLM-L6-v2";

/// Where embeddings are cached unless `classifier.embedding_cache` or
/// `$REFERRAL_DESK_EMBEDDING_CACHE` (read by [`super::Settings::load`]) says otherwise: beside
/// the default database.
pub const DEFAULT_EMBEDDING_CACHE: &str = "data/embeddings";

/// `[classifier]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    /// `lexical`, `embedding` or `hybrid`; unset: hybrid when `model_dir` holds a model.
    pub model: Option<ModelKind>,
    /// A sentence-transformers folder (see `models/README.md`).
    pub model_dir: PathBuf,
    /// Where embeddings of catalogue examples are kept between starts; empty: not kept.
    pub embedding_cache: Option<PathBuf>,
    /// Weight of the embedding against the words in the hybrid model.
    pub embedding_weight: f32,
    /// Languages the embedding model understands; questions in others are classified on
    /// their words alone. The default model, all-MiniLM-L6-v2, was trained on English only:
    /// with it the hybrid was worse than the lexical model on Dutch (README, Measured). Set
    /// `["nl", "en"]` for a multilingual model.
    pub embedding_languages: Vec<Lang>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            model: None,
            model_dir: PathBuf::from(DEFAULT_MODEL_DIR),
            embedding_cache: Some(PathBuf::from(DEFAULT_EMBEDDING_CACHE)),
            embedding_weight: DEFAULT_EMBEDDING_WEIGHT,
            embedding_languages: vec![Lang::En],
        }
    }
}
