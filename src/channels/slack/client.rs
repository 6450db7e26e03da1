//! The Slack Web API client: `chat.postMessage` and friends over reqwest, with the bot token
//! and a configurable base URL (tests use a local fake Slack). Failures are sorted into "try
//! again" (HTTP 429 with `Retry-After`, 5xx, timeouts, `ratelimited`) and "give up"
//! (`channel_not_found`, `invalid_auth`, ...) for the outbox's retry logic, and "may have been
//! posted" (a timeout or lost connection after the request went out, 5xx): a reply posted by
//! the outbox carries its outbox id in the message metadata, so the next attempt looks for it
//! (`conversations.history`/`replies` with `include_all_metadata`) before posting again.

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
use crate::pipeline::outbox::{Attempt, ReplySender, SendError};
use crate::telemetry::Metrics;

/// Error codes in `{"ok": false, "error": ...}` answers that are worth retrying.
/// The metadata `event_type` of replies the outbox posts (their payload holds `outbox_id`).
pub const REPLY_EVENT: &str = "referral_desk_reply";

/// How many recent messages a lookup reads: Slack gives apps outside the Marketplace at most
/// 15 per `conversations.history` call. A reply in doubt was posted moments ago, so it is
/// among them unless the asker wrote more than that since.
const LOOKUP_MESSAGES: &str = "15";

/// A request body: JSON for methods that write, a form for the read methods (Slack's
/// `conversations.*` methods do not read JSON bodies).
enum Body<'a> {
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

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
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SendError> {
        self.request(method, Body::Json(body)).await
    }

    #[tracing::instrument(skip(self, body), fields(method))]
    async fn request(&self, method: &str, body: Body<'_>) -> Result<Value, SendError> {
        let request = self
            .http
            .post(format!("{}/{method}", self.base_url))
            .bearer_auth(self.token.expose_secret());
        let request = match body {
            Body::Json(body) => request.json(body),
            Body::Form(fields) => request.form(fields),
        };
        let response = request
            .send()
            .await
            .map_err(|err| crate::channels::request_failed(&format!("Slack {method}"), &err))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let after = crate::channels::retry_after(response.headers());
            return Err(SendError::Retry {
                after,
                reason: format!("Slack {method}: rate limited (429)"),
            });
        }
        if status.is_server_error() {
            // a proxy or Slack itself may have failed after the message was stored
            return Err(SendError::Unknown(format!("Slack {method}: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(SendError::Permanent(format!(
                "Slack {method}: HTTP {status}"
            )));
        }
        let answer: Value = response.json().await.map_err(|err| {
            SendError::Unknown(format!(
                "Slack {method}: unreadable answer: {}",
                describe_request_error(&err)
            ))
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
        self.post(
            "chat.postMessage",
            message(channel, text, blocks),
            thread_ts,
        )
        .await
    }

    /// Posts an outbox reply, tagged with its outbox id in the message metadata so that a
    /// later attempt can find it ([`SlackClient::find_reply`]).
    pub async fn post_reply(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Value,
        outbox_id: i64,
    ) -> Result<(), SendError> {
        let mut body = message(channel, text, blocks);
        body["metadata"] = json!({
            "event_type": REPLY_EVENT,
            "event_payload": { "outbox_id": outbox_id },
        });
        self.post("chat.postMessage", body, thread_ts).await
    }

    /// Whether the reply with `outbox_id` is among the latest messages of `channel` (or of the
    /// thread `thread_ts`). An error means the question is still open.
    pub async fn find_reply(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        outbox_id: i64,
    ) -> Result<bool, SendError> {
        let mut fields = vec![
            ("channel", channel),
            ("include_all_metadata", "true"),
            ("limit", LOOKUP_MESSAGES),
        ];
        let method = match thread_ts {
            Some(ts) => {
                fields.push(("ts", ts));
                "conversations.replies"
            }
            None => "conversations.history",
        };
        let answer = self.request(method, Body::Form(&fields)).await?;
        let found = answer["messages"].as_array().is_some_and(|messages| {
            messages.iter().any(|message| {
                let metadata = &message["metadata"];
                metadata["event_type"] == REPLY_EVENT
                    && metadata["event_payload"]["outbox_id"].as_i64() == Some(outbox_id)
            })
        });
        Ok(found)
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

/// A `chat.postMessage` body (links are not unfurled: answers link intranet pages).
fn message(channel: &str, text: &str, blocks: Value) -> Value {
    json!({
        "channel": channel,
        "text": text,
        "blocks": blocks,
        "unfurl_links": false,
    })
}

/// Sends outbox replies for the `slack` channel.
#[derive(Debug)]
pub struct SlackSender {
    pub client: Arc<SlackClient>,
}

#[async_trait]
impl ReplySender for SlackSender {
    async fn send(&self, reply: &OutgoingReply, attempt: Attempt) -> Result<(), SendError> {
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
            // a follow-up on an answer only the asker saw is only for them too (an ephemeral
            // message cannot be looked up: an unsure one is posted again)
            Some(user) => {
                self.client
                    .post_ephemeral(channel, user, thread_ts, &text, blocks)
                    .await
            }
            None => {
                if attempt.unsure {
                    match self
                        .client
                        .find_reply(channel, thread_ts, attempt.outbox_id)
                        .await
                    {
                        Ok(true) => {
                            tracing::info!(
                                outbox_id = attempt.outbox_id,
                                "the reply had been posted already"
                            );
                            return Ok(());
                        }
                        Ok(false) => {}
                        // a lookup Slack will never answer (a scope missing, the method
                        // refused): posting again risks a duplicate, not posting loses the reply
                        Err(SendError::Permanent(reason)) => tracing::warn!(
                            %reason,
                            "cannot look for an earlier attempt (the app needs im:history, channels:history and groups:history); posting again"
                        ),
                        Err(err) => {
                            return Err(SendError::Unknown(format!(
                                "looking for an earlier attempt: {err}"
                            )));
                        }
                    }
                }
                self.client
                    .post_reply(channel, thread_ts, &text, blocks, attempt.outbox_id)
                    .await
            }
        }
    }
}
