//! Button clicks (`POST /slack/interactivity`, a form field `payload` holding JSON, verified
//! over the raw form body): "was this helpful" feedback is stored on the conversation, and
//! picking one option of an ambiguous question routes it (a follow-up question through the
//! inbox, answered in the same thread, in the conversation's language).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalogue::Lang;
use crate::pipeline::{AskerRef, Question, now_ms};
use crate::server::AppState;

#[derive(Deserialize)]
struct Form {
    payload: String,
}

/// `POST /slack/interactivity`.
pub async fn interactivity(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slack = match super::verified(&state, &headers, &body) {
        Ok(slack) => slack,
        Err(status) => return status.into_response(),
    };
    let Some(payload) = serde_urlencoded::from_bytes::<Form>(&body)
        .ok()
        .and_then(|f| serde_json::from_str::<Value>(&f.payload).ok())
    else {
        return (StatusCode::BAD_REQUEST, "not an interactivity payload").into_response();
    };
    let team = payload["team"]["id"].as_str().unwrap_or_default();
    if payload["type"] != "block_actions" || slack.team_id.as_deref().is_some_and(|t| t != team) {
        return StatusCode::OK.into_response();
    }
    for action in payload["actions"].as_array().into_iter().flatten() {
        let id = action["action_id"].as_str().unwrap_or_default();
        let value: Value = action["value"]
            .as_str()
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or(Value::Null);
        let Some(conversation_id) = value["conversation_id"].as_i64() else {
            continue;
        };
        let outcome = if let Some(helpful) = value["helpful"].as_bool()
            && id.starts_with("feedback_")
        {
            state
                .pipeline
                .store()
                .record_feedback(conversation_id, helpful, now_ms())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if let Some(intent) = value["intent"].as_str()
            && id.starts_with("choose_intent")
        {
            choose(&state, &payload, team, conversation_id, intent).await
        } else if let Some(specialist) = value["specialist"].as_str()
            && id.starts_with(super::blocks::ACTION_HANDOFF)
        {
            handoff(&state, slack, &payload, &value, conversation_id, specialist).await
        } else {
            Ok(())
        };
        if let Err(err) = outcome {
            // Slack shows the user an error icon on a non-2xx; the click can be repeated.
            tracing::error!(error = %err, action = id, "a Slack action failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    StatusCode::OK.into_response()
}

/// The asker clicked "Contact": open a group DM with the asker and the specialist and post the
/// question as asked (read back from Slack, or carried by a slash command's button), then tell
/// the asker. Only the fact of the handoff is logged, not the text again.
async fn handoff(
    state: &AppState,
    slack: &super::SlackChannel,
    payload: &Value,
    value: &Value,
    conversation_id: i64,
    specialist: &str,
) -> Result<(), String> {
    let asker = payload["user"]["id"].as_str().unwrap_or_default();
    let lang = conversation_language(state, conversation_id).await?;
    let Some(person) = state.pipeline.catalogue.specialist(specialist) else {
        return Err(format!("unknown specialist {specialist}"));
    };
    let question = match value["q"].as_str() {
        Some(text) => text.to_string(),
        None => original_question(slack, value).await?,
    };
    let here = payload["channel"]["id"].as_str().unwrap_or_default();
    let thread = payload["message"]["thread_ts"].as_str();
    let told = match &person.slack_user_id {
        Some(their_id) => {
            let opened = slack
                .client
                .call(
                    "conversations.open",
                    &json!({ "users": format!("{asker},{their_id}") }),
                )
                .await
                .map_err(|e| e.to_string())?;
            let group = opened["channel"]["id"].as_str().unwrap_or_default();
            let intro = super::blocks::handoff_intro(lang, asker, &question);
            slack
                .client
                .post_message(group, None, &intro, json!([]))
                .await
                .map_err(|e| e.to_string())?;
            match lang {
                Lang::Nl => format!(
                    "Ik heb je vraag doorgezet naar {} in een groepsgesprek.",
                    person.name
                ),
                Lang::En => format!(
                    "I have passed your question on to {} in a group chat.",
                    person.name
                ),
            }
        }
        None => match lang {
            Lang::Nl => format!(
                "{} zit niet op Slack; mail naar {}.",
                person.name, person.email
            ),
            Lang::En => format!("{} is not on Slack; e-mail {}.", person.name, person.email),
        },
    };
    if person.slack_user_id.is_some() {
        state
            .pipeline
            .store()
            .record_handoff(conversation_id)
            .await
            .map_err(|e| e.to_string())?;
    }
    slack
        .client
        .post_message(here, thread, &told, json!([]))
        .await
        .map_err(|e| e.to_string())
}

/// The text of the question's message, fetched from Slack (`channel` and `ts` in the button).
async fn original_question(slack: &super::SlackChannel, value: &Value) -> Result<String, String> {
    let (Some(channel), Some(ts)) = (value["channel"].as_str(), value["ts"].as_str()) else {
        return Err("the button does not say where the question is".into());
    };
    for method in ["conversations.history", "conversations.replies"] {
        let answer = slack
            .client
            .call(
                method,
                &json!({ "channel": channel, "latest": ts, "ts": ts, "inclusive": true, "limit": 1 }),
            )
            .await
            .map_err(|e| e.to_string())?;
        let found = answer["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["ts"].as_str() == Some(ts))
            .and_then(|m| m["text"].as_str());
        if let Some(text) = found {
            return Ok(super::strip_mentions(text));
        }
    }
    Err(format!("message {ts} not found in {channel}"))
}

async fn conversation_language(state: &AppState, conversation_id: i64) -> Result<Lang, String> {
    let logged = state
        .pipeline
        .logged_conversation(conversation_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(logged.map_or(Lang::En, |c| Lang::from_code(&c.record.language)))
}

/// The asker picked `intent` from a "did you mean" answer: route it as a follow-up.
async fn choose(
    state: &AppState,
    payload: &Value,
    team: &str,
    conversation_id: i64,
    intent: &str,
) -> Result<(), String> {
    let Some(chosen) = state.pipeline.catalogue.intent(intent) else {
        return Err(format!("unknown intent {intent}"));
    };
    let lang = conversation_language(state, conversation_id).await?;
    let language = lang.code();
    let channel = payload["channel"]["id"].as_str().unwrap_or_default();
    let message = &payload["container"];
    let thread_ts = payload["message"]["thread_ts"]
        .as_str()
        .or(message["thread_ts"].as_str())
        .or(message["message_ts"]
            .as_str()
            .filter(|_| !channel.starts_with('D')));
    let question = Question {
        channel: "slack".into(),
        conversation: channel.to_string(),
        delivery_id: format!(
            "choice:{}",
            payload["trigger_id"].as_str().unwrap_or_default()
        ),
        asker: AskerRef {
            namespace: format!("slack:{team}"),
            raw_id: payload["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        },
        text: chosen.label(lang).to_string(),
        received_at: chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default(),
        context: json!({
            "channel": channel,
            "thread_ts": thread_ts,
            "choice": intent,
            "language": language,
        }),
    };
    state
        .pipeline
        .accept(&question)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
