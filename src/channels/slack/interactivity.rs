//! Button clicks (`POST /slack/interactivity`, a form field `payload` holding JSON, verified
//! over the raw form body): "was this helpful" feedback is stored on the conversation, picking
//! one option of an ambiguous question routes it (a follow-up question through the inbox,
//! answered in the same thread, in the conversation's language), and *Contact* opens a group
//! DM with the specialist.
//!
//! Any member of a channel can click the buttons of an answer posted there (an @mention
//! thread, `/ask --public`), so every action goes through the pipeline's follow-up methods,
//! which take it only from the person who asked; anyone else gets a note only they see, and
//! nothing happens. When a handoff cannot be done, the asker is told how to reach the
//! specialist instead.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::SlackChannel;
use super::SlackState;
use crate::catalogue::{Lang, Specialist};
use crate::phrases::Phrases;
use crate::pipeline::{AskerRef, FollowUpError, Question, now_ms};

#[derive(Deserialize)]
struct Form {
    payload: String,
}

/// `POST /slack/interactivity`.
pub(super) async fn interactivity(
    State(state): State<SlackState>,
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
    let click = Click {
        state: &state,
        slack,
        payload: &payload,
        clicker: AskerRef {
            namespace: format!("slack:{team}"),
            raw_id: payload["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        },
    };
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
                .feedback(conversation_id, &click.clicker, helpful)
                .await
                .map(|_| ())
        } else if let Some(intent) = value["intent"].as_str()
            && id.starts_with(super::blocks::ACTION_CHOOSE_INTENT)
        {
            click.choose(conversation_id, intent, &value).await
        } else if let Some(specialist) = value["specialist"].as_str()
            && id.starts_with(super::blocks::ACTION_HANDOFF)
        {
            click.handoff(conversation_id, specialist, &value).await
        } else {
            Ok(())
        };
        match outcome {
            Ok(()) => {}
            Err(err) if err.is_refusal() => click.tell(Phrases::NOT_YOURS).await,
            Err(FollowUpError::UnknownIntent(intent)) => {
                tracing::warn!(intent, "a Slack option named an intent that is not there");
            }
            Err(err) => {
                // Slack shows the user an error icon on a non-2xx; the click can be repeated.
                tracing::error!(error = %err, action = id, "a Slack action failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    }
    StatusCode::OK.into_response()
}

/// One click: who clicked, on which message.
struct Click<'a> {
    state: &'a SlackState,
    slack: &'a SlackChannel,
    payload: &'a Value,
    clicker: AskerRef,
}

impl Click<'_> {
    /// The channel the clicked message is in.
    fn here(&self) -> &str {
        self.payload["channel"]["id"]
            .as_str()
            .or(self.payload["container"]["channel_id"].as_str())
            .unwrap_or_default()
    }

    /// The thread the clicked message is in, if any.
    fn thread(&self) -> Option<&str> {
        self.payload["message"]["thread_ts"]
            .as_str()
            .or(self.payload["container"]["thread_ts"].as_str())
    }

    /// Whether the clicked message is one only the clicker sees (an `/ask` answer).
    fn ephemeral(&self) -> bool {
        self.payload["container"]["is_ephemeral"].as_bool() == Some(true)
    }

    /// A note only the clicker sees, where they clicked. Best effort: the click itself is
    /// done (or refused) whether or not the note arrives.
    async fn tell(&self, text: &str) {
        if let Err(err) = self
            .slack
            .client
            .post_ephemeral(
                self.here(),
                &self.clicker.raw_id,
                self.thread(),
                text,
                json!([]),
            )
            .await
        {
            tracing::warn!(error = %err, "could not tell the clicker about their click");
        }
    }

    /// Tells the asker about their handoff: in their DM with the bot as a message (so it
    /// stays), anywhere else only to them.
    async fn tell_asker(&self, text: &str) {
        let here = self.here();
        if here.starts_with('D') && !self.ephemeral() {
            if let Err(err) = self
                .slack
                .client
                .post_message(here, self.thread(), text, json!([]))
                .await
            {
                tracing::warn!(error = %err, "could not tell the asker about their handoff");
            }
        } else {
            self.tell(text).await;
        }
    }

    /// The asker picked `intent` from a "did you mean" answer: route it as a follow-up in the
    /// same place. The follow-up carries where the original question can be read (from the
    /// button, see [`super::with_handoff_source`]), so its own *Contact* buttons pass on the
    /// question as asked, not the option's name; a pick on a message only the asker sees is
    /// answered only to them.
    async fn choose(
        &self,
        conversation_id: i64,
        intent: &str,
        value: &Value,
    ) -> Result<(), FollowUpError> {
        let channel = self.here();
        let message = &self.payload["container"];
        let thread_ts = if self.ephemeral() {
            // an ephemeral message cannot start a thread
            message["thread_ts"].as_str()
        } else {
            self.thread().or(message["message_ts"]
                .as_str()
                .filter(|_| !channel.starts_with('D')))
        };
        let source = match (value.get("q"), value.get("channel"), value.get("ts")) {
            (Some(q), _, _) if q.is_string() => json!({ "q": q }),
            (_, Some(c), Some(ts)) if c.is_string() && ts.is_string() => {
                json!({ "channel": c, "ts": ts })
            }
            _ => Value::Null,
        };
        let mut context = json!({
            "channel": channel,
            "thread_ts": thread_ts,
            "source": source,
        });
        if self.ephemeral() {
            // only until the answer is sent, like the rest of the context
            context["ephemeral_user"] = json!(self.clicker.raw_id);
        }
        let follow_up = Question {
            channel: "slack".into(),
            conversation: channel.to_string(),
            delivery_id: format!(
                "choice:{}",
                self.payload["trigger_id"].as_str().unwrap_or_default()
            ),
            asker: self.clicker.clone(),
            text: String::new(),
            received_at: chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default(),
            context,
        };
        self.state
            .pipeline
            .choose(conversation_id, intent, follow_up)
            .await
            .map(|_| ())
    }

    /// The asker clicked *Contact*: open a group DM with the asker and the specialist and post
    /// the question as asked (read back from Slack, or carried by a slash command's button),
    /// then tell the asker. Only the fact of the handoff is logged, not the text again. When
    /// it cannot be done, the asker is told how to reach the specialist instead.
    async fn handoff(
        &self,
        conversation_id: i64,
        specialist: &str,
        value: &Value,
    ) -> Result<(), FollowUpError> {
        let logged = self
            .state
            .pipeline
            .handoff(conversation_id, &self.clicker)
            .await?;
        let lang = logged.language;
        let Some(person) = self.state.pipeline.catalogue.specialist(specialist) else {
            tracing::warn!(
                specialist,
                "a Contact button named a specialist who is not there"
            );
            self.tell_asker(&cannot_text(lang, None)).await;
            return Ok(());
        };
        if person.slack_user_id.is_none() {
            self.tell_asker(&not_on_slack_text(lang, person)).await;
            return Ok(());
        }
        match self.pass_on(lang, person, value).await {
            Ok(()) => {
                if let Err(err) = self.state.pipeline.record_handoff(&logged).await {
                    // the question is with the specialist; only the report misses it
                    tracing::error!(error = %err, "could not note a handoff on the log");
                }
                self.tell_asker(&passed_on_text(lang, person)).await;
            }
            Err(reason) => {
                tracing::warn!(reason = %reason, "a handoff could not be done; the asker is told how to reach the specialist");
                self.tell_asker(&cannot_text(lang, Some(person))).await;
            }
        }
        Ok(())
    }

    /// Opens the group DM and posts the question there.
    async fn pass_on(&self, lang: Lang, person: &Specialist, value: &Value) -> Result<(), String> {
        let their_id = person.slack_user_id.as_deref().unwrap_or_default();
        let question = match value["q"].as_str() {
            Some(text) => text.to_string(),
            None => original_question(self.slack, value).await?,
        };
        let opened = self
            .slack
            .client
            .call(
                "conversations.open",
                &json!({ "users": format!("{},{their_id}", self.clicker.raw_id) }),
            )
            .await
            .map_err(|e| e.to_string())?;
        let group = opened["channel"]["id"]
            .as_str()
            .ok_or("conversations.open returned no channel")?;
        let intro = super::blocks::handoff_intro(lang, &self.clicker.raw_id, &question);
        self.slack
            .client
            .post_message(group, None, &intro, json!([]))
            .await
            .map_err(|e| e.to_string())
    }
}

fn passed_on_text(lang: Lang, person: &Specialist) -> String {
    Phrases::passed_on_in_slack(lang, &person.name)
}

fn not_on_slack_text(lang: Lang, person: &Specialist) -> String {
    Phrases::not_on_slack(lang, &person.name, &person.email)
}

/// When the question could not be passed on: how to reach the specialist directly.
fn cannot_text(lang: Lang, person: Option<&Specialist>) -> String {
    Phrases::cannot_pass_on(lang, person.map(|p| (p.name.as_str(), p.email.as_str())))
}

/// The text of the question's message, fetched from Slack (`channel` and `ts` in the button).
async fn original_question(slack: &SlackChannel, value: &Value) -> Result<String, String> {
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
    Err("the question's message was not found".into())
}
