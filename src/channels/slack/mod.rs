//! The Slack channel: Events API (direct messages and @mentions), with every request verified
//! on its raw body before parsing, deliveries recorded in the inbox before the 200 that Slack
//! wants within 3 seconds, and replies posted through the Web API from the outbox.
//!
//! Slack retries an event up to three times; its `event_id` is the delivery id, so a retry is
//! acknowledged and ignored.

pub mod blocks;
pub mod client;
pub mod commands;
pub mod interactivity;
pub mod verify;

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use regex::Regex;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::pipeline::{AskerRef, Pipeline, PipelineError, Question, now_ms};
pub use client::{SlackClient, SlackSender};
pub use verify::SlackVerifier;

/// Largest request body the Slack routes accept.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the Slack routes need: the pipeline and the configured workspace.
#[derive(Clone, Debug)]
pub struct SlackState {
    pub pipeline: Arc<Pipeline>,
    pub slack: Arc<SlackChannel>,
}

/// `/slack/events`, `/slack/commands` and `/slack/interactivity`, mounted only when Slack is
/// configured. The HTTP layer adds the body limit ([`MAX_BODY_BYTES`]) and the deadlines.
pub fn router(state: SlackState) -> Router {
    Router::new()
        .route("/slack/events", post(events))
        .route("/slack/commands", post(commands::commands))
        .route("/slack/interactivity", post(interactivity::interactivity))
        .with_state(state)
}

/// The configured workspace: how requests are verified, which team is served, the Web API.
#[derive(Debug)]
pub struct SlackChannel {
    pub verifier: SlackVerifier,
    /// Events from other workspaces are ignored; `None` accepts any.
    pub team_id: Option<String>,
    pub client: Arc<SlackClient>,
}

static MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<@[A-Z0-9]+(?:\|[^>]*)?>").expect("static regex"));

/// The text of an @mention without the mentions.
pub fn strip_mentions(text: &str) -> String {
    MENTION
        .replace_all(text, " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Slack channel, if this request really comes from Slack: every Slack route starts here,
/// on the raw body, before anything is parsed. The caller gets a bare 401; the reason goes to
/// the log only.
pub(crate) fn verified<'a>(
    state: &'a SlackState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<&'a SlackChannel, StatusCode> {
    let slack = state.slack.as_ref();
    if let Err(reason) = slack.verifier.verify(headers, body, now_ms() / 1000) {
        tracing::warn!(reason = %reason, "rejected a Slack request");
        return Err(StatusCode::UNAUTHORIZED);
    }
    Ok(slack)
}

/// `POST /slack/events`.
async fn events(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    let slack = match verified(&state, &headers, &body) {
        Ok(slack) => slack,
        Err(status) => return status.into_response(),
    };
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid JSON").into_response();
    };
    match envelope["type"].as_str() {
        Some("url_verification") => {
            axum::Json(json!({ "challenge": envelope["challenge"] })).into_response()
        }
        Some("event_callback") => event_callback(&state, slack, &envelope).await,
        _ => StatusCode::OK.into_response(),
    }
}

async fn event_callback(state: &SlackState, slack: &SlackChannel, envelope: &Value) -> Response {
    let team = envelope["team_id"].as_str().unwrap_or_default();
    if slack
        .team_id
        .as_deref()
        .is_some_and(|expected| expected != team)
    {
        tracing::info!(team, "ignored an event from another workspace");
        return StatusCode::OK.into_response();
    }
    let Some(question) = question_from_event(team, envelope) else {
        return StatusCode::OK.into_response();
    };
    match state.pipeline.accept(&question).await {
        Ok(_) | Err(PipelineError::EmptyQuestion) => StatusCode::OK.into_response(),
        // Slack retries on a non-2xx, so nothing is lost
        Err(err) if err.is_unavailable() => {
            AppError::StorageUnavailable(err.to_string()).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "could not record a Slack event");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The question in a DM or @mention event; `None` for everything the desk ignores: bots
/// (itself included), edits, deletions and other subtypes, other event types.
pub fn question_from_event(team: &str, envelope: &Value) -> Option<Question> {
    let event = &envelope["event"];
    if event.get("bot_id").is_some_and(|b| !b.is_null()) || event.get("subtype").is_some() {
        return None;
    }
    let user = event["user"].as_str()?;
    let channel = event["channel"].as_str()?;
    let ts = event["ts"].as_str()?;
    let (text, thread_ts) = match event["type"].as_str()? {
        "message" if event["channel_type"].as_str() == Some("im") => (
            event["text"].as_str()?.to_string(),
            event["thread_ts"].as_str().map(str::to_string),
        ),
        "app_mention" => (
            strip_mentions(event["text"].as_str()?),
            Some(event["thread_ts"].as_str().unwrap_or(ts).to_string()),
        ),
        _ => return None,
    };
    let received_ms = envelope["event_time"]
        .as_i64()
        .map_or_else(now_ms, |seconds| seconds * 1000);
    Some(Question {
        channel: "slack".into(),
        conversation: channel.to_string(),
        delivery_id: envelope["event_id"].as_str()?.to_string(),
        asker: AskerRef {
            namespace: format!("slack:{team}"),
            raw_id: user.to_string(),
        },
        text,
        received_at: chrono::DateTime::from_timestamp_millis(received_ms).unwrap_or_default(),
        // `ts` identifies the question's message, for a handoff to quote it later (the text
        // itself is not kept once the question is processed)
        context: json!({ "channel": channel, "thread_ts": thread_ts, "ts": ts }),
    })
}

/// Adds where the question can be read (`channel` and `ts` of its message, or the question
/// itself for slash commands, which have no message) to the values of the *Contact* buttons
/// and of the "did you mean" buttons: a pick's follow-up answer carries it on to its own
/// *Contact* buttons, so they pass on the question as asked.
pub fn with_handoff_source(mut blocks: Value, source: &Value) -> Value {
    let Some(source) = source.as_object() else {
        return blocks;
    };
    for block in blocks
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        for (key, item) in block.iter_mut() {
            match key.as_str() {
                "accessory" => add_source(item, source),
                "elements" => item
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .for_each(|button| add_source(button, source)),
                _ => {}
            }
        }
    }
    blocks
}

fn add_source(button: &mut Value, source: &serde_json::Map<String, Value>) {
    let carries_source = button["action_id"].as_str().is_some_and(|id| {
        id.starts_with(blocks::ACTION_HANDOFF) || id.starts_with(blocks::ACTION_CHOOSE_INTENT)
    });
    let Some(mut value) = button["value"]
        .as_str()
        .filter(|_| carries_source)
        .and_then(|v| serde_json::from_str::<Value>(v).ok())
    else {
        return;
    };
    if let Some(value) = value.as_object_mut() {
        for (key, item) in source {
            value.insert(key.clone(), item.clone());
        }
    }
    let text = value.to_string();
    // Slack refuses button values over 2000 characters
    if text.len() <= 2000 {
        button["value"] = Value::String(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event: Value) -> Value {
        json!({"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event_time": 1_700_000_000, "event": event})
    }

    #[test]
    fn direct_messages_and_mentions_become_questions() {
        let dm = question_from_event(
            "T1",
            &envelope(json!({"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "ts": "1.1", "text": "verlof?"})),
        )
        .unwrap();
        assert_eq!(dm.text, "verlof?");
        assert_eq!(dm.delivery_id, "Ev1");
        assert_eq!(dm.context["thread_ts"], Value::Null);
        assert_eq!(dm.asker.namespace, "slack:T1");
        let mention = question_from_event(
            "T1",
            &envelope(json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "2.2", "text": "<@U0BOT> wie weet iets van <@U9|ann> RPA?"})),
        )
        .unwrap();
        assert_eq!(mention.text, "wie weet iets van RPA?");
        assert_eq!(mention.context["thread_ts"], "2.2");
    }

    #[test]
    fn bots_edits_and_channel_chatter_are_ignored() {
        for event in [
            json!({"type": "message", "channel_type": "im", "bot_id": "B1", "user": "U1", "channel": "D1", "ts": "1", "text": "hi"}),
            json!({"type": "message", "channel_type": "im", "subtype": "message_changed", "channel": "D1", "ts": "1"}),
            json!({"type": "message", "channel_type": "channel", "user": "U1", "channel": "C1", "ts": "1", "text": "hi"}),
            json!({"type": "reaction_added", "user": "U1"}),
        ] {
            assert!(
                question_from_event("T1", &envelope(event.clone())).is_none(),
                "{event}"
            );
        }
    }
}
