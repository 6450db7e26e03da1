//! Outgoing calls to the Bot Framework connector: the bot's access token (OAuth2 client
//! credentials, cached until five minutes before it expires, one refresh at a time), the
//! `serviceUrl` allow-list that keeps a crafted activity from making the bot call arbitrary
//! hosts, and the connector's REST calls (reply to an activity, create a 1:1 conversation,
//! send to a conversation).
//!
//! Failures are sorted for the outbox as the Slack client does: 429 (with `Retry-After`), 5xx
//! and timeouts are worth retrying; a 401 from the connector refreshes the token and tries
//! once more; other 4xx answers will not get better.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::cards::{self, CardMode};
use crate::channels::{describe_request_error, retry_after};
use crate::config::TeamsSettings;
use crate::pipeline::OutgoingReply;
use crate::pipeline::outbox::{Attempt, ReplySender, SendError};
use crate::telemetry::Metrics;

/// The audience of the bot's outgoing tokens.
pub const BOT_FRAMEWORK_SCOPE: &str = "https://api.botframework.com/.default";
/// A token is renewed this long before it expires, so none expires in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(300);

/// Which service URLs the bot may call. An activity names the URL to reply to; without this
/// check anyone who gets an activity past authentication (or a replayed one) could point the
/// bot, with its token, at any host.
#[derive(Debug, Clone)]
pub struct ServiceUrlAllowlist {
    entries: Vec<AllowedHost>,
}

#[derive(Debug, Clone, PartialEq)]
enum AllowedHost {
    /// `smba.trafficmanager.net`: this host, https.
    Exact(String),
    /// `*.botframework.com`: any subdomain, https.
    Suffix(String),
    /// `http://localhost:3978`: exactly this origin (the Emulator, tests).
    Origin {
        scheme: String,
        host: String,
        port: Option<u16>,
    },
}

impl ServiceUrlAllowlist {
    pub fn parse(entries: &[String]) -> Result<ServiceUrlAllowlist, String> {
        let entries = entries
            .iter()
            .map(|entry| {
                let entry = entry.trim().to_ascii_lowercase();
                if entry.contains("://") {
                    let url = Url::parse(&entry)
                        .map_err(|e| format!("`{entry}` is not a URL: {e}"))?;
                    let host = url
                        .host_str()
                        .ok_or_else(|| format!("`{entry}` has no host"))?;
                    Ok(AllowedHost::Origin {
                        scheme: url.scheme().to_string(),
                        host: host.to_string(),
                        port: url.port_or_known_default(),
                    })
                } else if let Some(suffix) = entry.strip_prefix("*.") {
                    Ok(AllowedHost::Suffix(format!(".{suffix}")))
                } else if entry.is_empty() || entry.contains(['/', '*', ':']) {
                    Err(format!(
                        "`{entry}` is neither a host, `*.domain` nor an origin like http://localhost:3978"
                    ))
                } else {
                    Ok(AllowedHost::Exact(entry))
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ServiceUrlAllowlist { entries })
    }

    /// Whether the bot may call `service_url`.
    pub fn permits(&self, service_url: &str) -> bool {
        let Ok(url) = Url::parse(service_url) else {
            return false;
        };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        self.entries.iter().any(|entry| match entry {
            AllowedHost::Exact(h) => url.scheme() == "https" && &host == h,
            AllowedHost::Suffix(suffix) => url.scheme() == "https" && host.ends_with(suffix),
            AllowedHost::Origin {
                scheme,
                host: h,
                port,
            } => url.scheme() == scheme && &host == h && url.port_or_known_default() == *port,
        })
    }
}

struct CachedToken {
    value: SecretString,
    renew_at: Instant,
}

/// The bot's bearer token for the connector.
pub struct TokenProvider {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    /// Held while a token is fetched, so concurrent senders wait for one refresh.
    cached: Mutex<Option<CachedToken>>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenProvider({}, [secret redacted])", self.token_url)
    }
}

impl TokenProvider {
    pub fn new(
        http: reqwest::Client,
        token_url: String,
        client_id: String,
        client_secret: SecretString,
    ) -> TokenProvider {
        TokenProvider {
            http,
            token_url,
            client_id,
            client_secret,
            cached: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many tokens were fetched (metrics, tests).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A token valid for at least five more minutes.
    pub async fn token(&self) -> Result<SecretString, SendError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let fresh = self.fetch().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Forgets `used` after the connector refused it (revoked, or clocks apart), unless
    /// another sender already replaced it.
    pub async fn invalidate(&self, used: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == used.expose_secret())
        {
            *cached = None;
        }
    }

    #[tracing::instrument(skip(self), fields(token_url = %self.token_url))]
    async fn fetch(&self) -> Result<CachedToken, SendError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(&self.token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("scope", BOT_FRAMEWORK_SCOPE),
            ])
            .send()
            .await
            .map_err(|err| SendError::Retry {
                after: None,
                reason: format!(
                    "token endpoint unreachable: {}",
                    describe_request_error(&err)
                ),
            })?;
        let status = response.status();
        let after = retry_after(response.headers());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // `error` is a code such as invalid_client; the description names no secret.
            let code = body["error"].as_str().unwrap_or("unknown");
            tracing::error!(%status, error = code, "the token endpoint refused the bot's credentials");
            // Retried: a secret being rotated or a tenant being set up comes right without
            // losing the replies waiting in the outbox.
            return Err(SendError::Retry {
                after,
                reason: format!("token endpoint: HTTP {status} ({code})"),
            });
        }
        let (Some(token), Some(expires_in)) = (
            body["access_token"].as_str(),
            body["expires_in"]
                .as_u64()
                .or_else(|| body["expires_in"].as_str().and_then(|s| s.parse().ok())),
        ) else {
            return Err(SendError::Retry {
                after: None,
                reason: "token endpoint: no access_token/expires_in in the answer".into(),
            });
        };
        let lifetime = Duration::from_secs(expires_in).saturating_sub(EXPIRY_MARGIN);
        tracing::debug!(
            valid_for_seconds = expires_in,
            "fetched a Bot Framework token"
        );
        Ok(CachedToken {
            value: SecretString::from(token.to_string()),
            renew_at: Instant::now() + lifetime,
        })
    }
}

/// The connector's REST API, for whichever `serviceUrl` an activity came from.
pub struct ConnectorClient {
    http: reqwest::Client,
    pub tokens: TokenProvider,
    allowlist: ServiceUrlAllowlist,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ConnectorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorClient")
            .field("allowlist", &self.allowlist)
            .finish_non_exhaustive()
    }
}

impl ConnectorClient {
    /// `None` when the bot is not configured; an error for an unusable allow-list.
    pub fn new(
        settings: &TeamsSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Option<ConnectorClient>, String> {
        let (Some(app_id), Some(secret)) = (&settings.app_id, &settings.app_password) else {
            return Ok(None);
        };
        let allowlist = ServiceUrlAllowlist::parse(&settings.service_url_allowlist)
            .map_err(|e| format!("teams.service_url_allowlist: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            // a redirect could lead the bot's token elsewhere
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Some(ConnectorClient {
            tokens: TokenProvider::new(
                http.clone(),
                settings.token_endpoint(),
                app_id.clone(),
                secret.clone(),
            ),
            http,
            allowlist,
            metrics,
        }))
    }

    pub fn permits(&self, service_url: &str) -> bool {
        self.allowlist.permits(service_url)
    }

    /// `{serviceUrl}/v3/conversations/{id}[/activities[/{activityId}]]`, ids percent-encoded
    /// (Teams conversation ids carry `:`, `@` and `;`).
    fn url(&self, service_url: &str, segments: &[&str]) -> Result<Url, SendError> {
        if !self.allowlist.permits(service_url) {
            tracing::warn!(
                service_url,
                "refused to call a serviceUrl outside teams.service_url_allowlist"
            );
            return Err(SendError::Permanent(format!(
                "serviceUrl {service_url} is not in teams.service_url_allowlist"
            )));
        }
        let mut url = Url::parse(service_url)
            .map_err(|e| SendError::Permanent(format!("bad serviceUrl: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| SendError::Permanent("bad serviceUrl".into()))?
            .pop_if_empty()
            .push("v3")
            .push("conversations")
            .extend(segments);
        Ok(url)
    }

    /// POSTs `body`, refreshing the token once on a 401; the answer's JSON.
    #[tracing::instrument(skip(self, url, body), fields(path = %url.path()))]
    async fn post(&self, url: Url, body: &Value) -> Result<Value, SendError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.token().await?;
            let response = self
                .http
                .post(url.clone())
                .bearer_auth(token.expose_secret())
                .json(body)
                .send()
                .await
                .map_err(|err| crate::channels::request_failed("Bot Framework connector", &err))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response.json().await.unwrap_or(Value::Null));
            }
            self.metrics
                .channel_api_errors
                .with_label_values(&["teams", status.as_str()])
                .inc();
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                tracing::info!("the connector refused the token; fetching a new one");
                self.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            let reason = format!("Bot Framework connector: HTTP {status}");
            return Err(
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    SendError::Retry {
                        after: retry_after(response.headers()),
                        reason,
                    }
                } else {
                    SendError::Permanent(reason)
                },
            );
        }
    }

    /// Replies to an activity (in its thread, for channel messages).
    pub async fn reply_to(
        &self,
        service_url: &str,
        conversation_id: &str,
        activity_id: &str,
        activity: &Value,
    ) -> Result<Value, SendError> {
        let url = self.url(service_url, &[conversation_id, "activities", activity_id])?;
        self.post(url, activity).await
    }

    /// Sends to a conversation (a new message, not a reply).
    pub async fn send_to(
        &self,
        service_url: &str,
        conversation_id: &str,
        activity: &Value,
    ) -> Result<Value, SendError> {
        let url = self.url(service_url, &[conversation_id, "activities"])?;
        self.post(url, activity).await
    }

    /// Opens (or finds) the bot's 1:1 chat with a user by their Entra ID object id; its
    /// conversation id.
    pub async fn create_personal_conversation(
        &self,
        service_url: &str,
        bot: &Value,
        aad_object_id: &str,
        tenant_id: &str,
    ) -> Result<String, SendError> {
        let url = self.url(service_url, &[])?;
        let body = json!({
            "isGroup": false,
            "bot": bot,
            "members": [{ "id": aad_object_id, "aadObjectId": aad_object_id }],
            "tenantId": tenant_id,
            "channelData": { "tenant": { "id": tenant_id } },
        });
        let answer = self.post(url, &body).await?;
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::Permanent("the connector returned no conversation id".into()))
    }
}

/// A message activity from the bot to `user` in `conversation_id`.
pub fn message_activity(
    bot: &Value,
    user: &Value,
    conversation_id: &str,
    reply_to: Option<&str>,
    text: &str,
    card: Option<Value>,
) -> Value {
    let mut activity = json!({
        "type": "message",
        "from": bot,
        "recipient": user,
        "conversation": { "id": conversation_id },
        "text": text,
        "textFormat": "plain",
    });
    if let Some(id) = reply_to {
        activity["replyToId"] = json!(id);
    }
    if let Some(card) = card {
        activity["attachments"] = json!([cards::attachment(card)]);
    }
    activity
}

/// Sends outbox replies for the `teams` channel: an Adaptive Card in reply to the question.
#[derive(Debug)]
pub struct TeamsSender {
    pub client: Arc<ConnectorClient>,
}

#[async_trait]
impl ReplySender for TeamsSender {
    /// The Bot Connector has no way to look a sent activity up: an unsure reply is sent
    /// again (see the README on when a Teams reply can appear twice).
    async fn send(&self, reply: &OutgoingReply, _attempt: Attempt) -> Result<(), SendError> {
        let context = &reply.context;
        let (Some(service_url), Some(activity_id)) = (
            context["service_url"].as_str(),
            context["activity_id"].as_str(),
        ) else {
            return Err(SendError::Permanent(
                "the reply context has no serviceUrl/activity id".into(),
            ));
        };
        // a follow-up (a "did you mean" pick) carries the question as first asked
        let question = context["source"]["q"]
            .as_str()
            .or(reply.question.as_deref());
        let card = cards::reply_card(&reply.reply, CardMode::Bot, question);
        let activity = message_activity(
            &context["bot"],
            &context["user"],
            &reply.conversation,
            Some(activity_id),
            &cards::fallback_text(&reply.reply),
            Some(card),
        );
        self.client
            .reply_to(service_url, &reply.conversation, activity_id, &activity)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowlist(entries: &[&str]) -> ServiceUrlAllowlist {
        ServiceUrlAllowlist::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
            .unwrap()
    }

    #[test]
    fn only_allowed_hosts_over_https_may_be_called() {
        let list = allowlist(&[
            "smba.trafficmanager.net",
            "*.botframework.com",
            "http://127.0.0.1:3978",
        ]);
        for good in [
            "https://smba.trafficmanager.net/emea/",
            "https://SMBA.trafficmanager.net/amer",
            "https://webchat.botframework.com/",
            "http://127.0.0.1:3978/",
        ] {
            assert!(list.permits(good), "{good}");
        }
        for bad in [
            "http://smba.trafficmanager.net/emea/",
            "https://smba.trafficmanager.net.evil.example/",
            "https://evil-smba.trafficmanager.net/",
            "https://botframework.com.evil.example/",
            "https://evilbotframework.com/",
            "https://user:pw@smba.trafficmanager.net/",
            "http://127.0.0.1:3979/",
            "https://127.0.0.1:3978/",
            "http://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert!(!list.permits(bad), "{bad}");
        }
    }

    #[test]
    fn malformed_allowlist_entries_are_refused() {
        for entry in ["", "https://", "smba.*.net", "host/path"] {
            assert!(
                ServiceUrlAllowlist::parse(&[entry.to_string()]).is_err(),
                "{entry}"
            );
        }
    }
}
