//! The Slack Web API client: `chat.postMessage` and friends over reqwest, with the bot token
//! and a configurable base URL (tests use a local fake Slack). Failures are sorted into "try
//! again" (HTTP 429 with `Retry-After`, 5xx, timeouts, `ratelimited`) and "give up"
//! (`channel_not_found`, `invalid_auth`, ...) for the outbox's retry logic.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::blocks::{fallback_text, reply_blocks};
use crate::channels::describe_request_error;
use crate::config::SlackSettings;
use crate::pipeline::OutgoingReply;
use crate::pipeline::outbox::{ReplySender, SendError};
use crate::telemetry::Metrics;

/// Error codes in `{"ok": false, "error": ...}` answers that are worth retrying.
const TEMPORARY_ERRORS: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

pub struct SlackClient {
    http: reqwest::Client,
    base_url: String,
    token: SecretString,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlackClient({}, [token redacted])", self.base_url)
    }
}

impl SlackClient {
    /// `None` when Slack is not configured.
    pub fn new(settings: &SlackSettings, metrics: Arc<Metrics>) -> Option<SlackClient> {
        let token = settings.bot_token.clone()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .ok()?;
        Some(SlackClient {
            http,
            base_url: settings.api_base_url.trim_end_matches('/').to_string(),
            token,
            metrics,
        })
    }

    /// Calls a Web API method with a JSON body; the answer when `ok` is true.
    #[tracing::instrument(skip(self, body), fields(method))]
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SendError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base_url))
            .bearer_auth(self.token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|err| SendError::Retry {
                after: None,
                reason: format!(
                    "Slack {method} unreachable: {}",
                    describe_request_error(&err)
                ),
            })?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let after = crate::channels::retry_after(response.headers());
            return Err(SendError::Retry {
                after,
                reason: format!("Slack {method}: rate limited (429)"),
            });
        }
        if status.is_server_error() {
            return Err(SendError::Retry {
                after: None,
                reason: format!("Slack {method}: HTTP {status}"),
            });
        }
        if !status.is_success() {
            return Err(SendError::Permanent(format!(
                "Slack {method}: HTTP {status}"
            )));
        }
        let answer: Value = response.json().await.map_err(|err| SendError::Retry {
            after: None,
            reason: format!(
                "Slack {method}: unreadable answer: {}",
                describe_request_error(&err)
            ),
        })?;
        if answer["ok"].as_bool() == Some(true) {
            return Ok(answer);
        }
        let code = answer["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_string();
        self.metrics
            .channel_api_errors
            .with_label_values(&["slack", code.as_str()])
            .inc();
        tracing::warn!(method, error = %code, "Slack answered with an error");
        if TEMPORARY_ERRORS.contains(&code.as_str()) {
            Err(SendError::Retry {
                after: None,
                reason: format!("Slack {method}: {code}"),
            })
        } else {
            Err(SendError::Permanent(format!("Slack {method}: {code}")))
        }
    }

    /// Posts a message; in a thread when `thread_ts` is given.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Value,
    ) -> Result<(), SendError> {
        let body = json!({
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": false,
        });
        self.post("chat.postMessage", body, thread_ts).await
    }

    /// Posts a message only `user` sees in `channel` (`chat.postEphemeral`); in a thread when
    /// `thread_ts` is given.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Value,
    ) -> Result<(), SendError> {
        let body = json!({
            "channel": channel,
            "user": user,
            "text": text,
            "blocks": blocks,
        });
        self.post("chat.postEphemeral", body, thread_ts).await
    }

    async fn post(
        &self,
        method: &str,
        mut body: Value,
        thread_ts: Option<&str>,
    ) -> Result<(), SendError> {
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        self.call(method, &body).await.map(|_| ())
    }
}

/// Sends outbox replies for the `slack` channel.
#[derive(Debug)]
pub struct SlackSender {
    pub client: Arc<SlackClient>,
}

#[async_trait]
impl ReplySender for SlackSender {
    async fn send(&self, reply: &OutgoingReply) -> Result<(), SendError> {
        let context = &reply.context;
        let channel = context["channel"].as_str().unwrap_or(&reply.conversation);
        let thread_ts = context["thread_ts"].as_str();
        // where the question can be read: its own message, or for a follow-up (a "did you
        // mean" pick) the original question's, which the pick carried
        let source = match &context["source"] {
            source @ Value::Object(_) => source.clone(),
            _ => json!({ "channel": channel, "ts": context["ts"] }),
        };
        let text = fallback_text(&reply.reply);
        let blocks = super::with_handoff_source(reply_blocks(&reply.reply), &source);
        match context["ephemeral_user"].as_str() {
            // a follow-up on an answer only the asker saw is only for them too
            Some(user) => {
                self.client
                    .post_ephemeral(channel, user, thread_ts, &text, blocks)
                    .await
            }
            None => {
                self.client
                    .post_message(channel, thread_ts, &text, blocks)
                    .await
            }
        }
    }
}
