//! Settings for `referral-desk serve`: built-in defaults, then an optional TOML file, then
//! environment variables `REFERRAL_DESK__SECTION__KEY` (e.g. `REFERRAL_DESK__SERVER__BIND`).
//! This is the only module that reads the environment (`RUST_LOG` and
//! `REFERRAL_DESK_EMBEDDING_CACHE` too): everything else gets its settings from here, so every
//! command sees the same ones.
//!
//! With no file and no variables the server runs on embedded defaults: the shipped catalogue,
//! SQLite at `./data/referral-desk.db`, port 8080. Secrets (the database URL, which may carry a
//! password, and the pseudonymisation key) are [`SecretString`]s: they cannot be printed or
//! logged by accident. Anything wrong fails at start with the key and what to do about it.
//! `deploy/config/referral-desk.toml` documents every key.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use serde::Deserialize;

mod sections;

pub use sections::*;

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
    pub classifier: ModelSettings,
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

/// Where embeddings are cached when neither the file nor `REFERRAL_DESK__CLASSIFIER__*` says:
/// lets CI and developers keep one cache for every checkout and command.
pub const EMBEDDING_CACHE_ENV: &str = "REFERRAL_DESK_EMBEDDING_CACHE";

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
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut builder = config::Config::builder();
        if let Some((_, dir)) = env.iter().find(|(key, _)| key == EMBEDDING_CACHE_ENV) {
            // a default, not an override: the file and REFERRAL_DESK__CLASSIFIER__* still win
            builder = builder
                .set_default("classifier.embedding_cache", dir.as_str())
                .map_err(|e| SettingsError::Invalid(without_values(&e.to_string())))?;
        }
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
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix)
                    .map(|rest| (rest.to_lowercase().replace("__", "."), v.clone()))
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
        let mut settings: Settings = merged
            .try_deserialize()
            .map_err(|e| SettingsError::Invalid(explain(e)))?;
        settings.telemetry.rust_log = env
            .iter()
            .find(|(key, _)| key == "RUST_LOG")
            .map(|(_, filter)| filter.clone());
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.validate_storage()?;
        self.validate_slack()?;
        self.teams.validate()?;
        self.validate_analytics()?;
        self.validate_http()
    }

    /// The database, the classifier, the workers and how long texts are kept.
    fn validate_storage(&self) -> Result<(), SettingsError> {
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
        Ok(())
    }

    /// Slack: both secrets or neither, and neither blank.
    fn validate_slack(&self) -> Result<(), SettingsError> {
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
        Ok(())
    }

    /// The demand reports: group size, tokens, the low-confidence line.
    fn validate_analytics(&self) -> Result<(), SettingsError> {
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
        Ok(())
    }

    /// Who may connect how: proxies, the metrics listener, framing, cookies, pool size.
    fn validate_http(&self) -> Result<(), SettingsError> {
        self.validate_connections()?;
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
        self.validate_browser_rules()?;
        if self.database.max_connections == 0 {
            return Err(SettingsError::Key {
                key: "database.max_connections",
                problem: "must be at least 1".into(),
                hint: "8 is a good start",
            });
        }
        Ok(())
    }

    /// The proxies whose `X-Forwarded-For` is believed and the connection deadlines and cap:
    /// a 0 would time out every request or accept no connection at all.
    fn validate_connections(&self) -> Result<(), SettingsError> {
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
        Ok(())
    }

    /// What browsers are told (framing, the cookies' `SameSite`): a value they cannot use
    /// would break the chat page and the report login only in the browser, so it fails here.
    fn validate_browser_rules(&self) -> Result<(), SettingsError> {
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
mod tests;
