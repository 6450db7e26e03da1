//! The Microsoft Teams channel, in two modes an organisation chooses between (or uses both):
//!
//! - **Bot** (`POST /teams/messages`): Bot Framework activities, each authenticated by its
//!   JWT ([`auth`]) before anything else; questions go through the durable inbox (the activity
//!   id is the delivery id, so Teams' retries are acknowledged and ignored) and the replies,
//!   Adaptive Cards ([`cards`]), are sent from the outbox through the connector
//!   ([`connector`]). Card buttons (feedback, "did you mean", handoff) come back as `message`
//!   activities with a `value` or as `adaptiveCard/action` invokes.
//! - **Outgoing webhook** (`POST /teams/webhook`, [`webhook`]): for organisations that cannot
//!   register a bot; HMAC-verified, answered synchronously.
//!
//! In personal chats the bot answers everything; in channels and group chats only messages
//! that @mention it.

pub mod auth;
pub mod cards;
pub mod connector;
pub mod webhook;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use regex::Regex;
use serde_json::{Value, json};

use crate::catalogue::Lang;
use crate::error::AppError;
use crate::phrases::Phrases;
use crate::pipeline::outbox::{Backoff, SendError};
use crate::pipeline::{AskerRef, FollowUpError, FollowedUp, Pipeline, PipelineError, Question};
use auth::{AuthError, BotAuthenticator};
use cards::CardAction;
pub use connector::TeamsSender;
use connector::{ConnectorClient, message_activity};
pub use webhook::WebhookVerifier;

/// Largest activity the Teams routes accept (messages carry their HTML, cards their data).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The channel name in the inbox, the log and the outbox.
pub const CHANNEL: &str = "teams";

/// What the Teams routes need: the pipeline and the configured bot and/or webhook.
#[derive(Clone, Debug)]
pub struct TeamsState {
    pub pipeline: Arc<Pipeline>,
    pub teams: Arc<TeamsChannel>,
}

/// `/teams/messages` when the bot is configured, `/teams/webhook` when the outgoing webhook
/// is. The HTTP layer adds the body limit ([`MAX_BODY_BYTES`]) and the deadlines.
pub fn router(state: TeamsState) -> Router {
    let mut routes = Router::new();
    if state.teams.bot.is_some() {
        routes = routes.route("/teams/messages", post(messages));
    }
    if state.teams.webhook.is_some() {
        routes = routes.route("/teams/webhook", post(webhook::webhook));
    }
    routes.with_state(state)
}

/// What the Teams routes need; each part present only when configured.
#[derive(Debug)]
pub struct TeamsChannel {
    pub bot: Option<TeamsBot>,
    pub webhook: Option<WebhookVerifier>,
}

/// The registered bot.
#[derive(Debug)]
pub struct TeamsBot {
    pub auth: BotAuthenticator,
    pub connector: Arc<ConnectorClient>,
    /// Tenant for handoff chats when an activity names none.
    pub tenant_id: Option<String>,
    /// For the privacy notice in the welcome: `None` when no question texts are kept.
    pub retention_days: Option<u32>,
}

/// `POST /teams/messages`: authenticate, then dispatch on the activity type. Every reply is
/// sent later or through the connector; the HTTP answer is only the acknowledgement (or an
/// invoke response).
async fn messages(State(state): State<TeamsState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(bot) = state.teams.bot.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The token binds the activity's serviceUrl and channel, so both are read first; nothing
    // is acted on until the token is verified.
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let service_url = activity["serviceUrl"].as_str().unwrap_or_default();
    let channel_id = activity["channelId"].as_str().unwrap_or_default();
    match bot
        .auth
        .authenticate(&headers, service_url, channel_id)
        .await
    {
        Ok(_) => {}
        Err(AuthError::KeysUnavailable(reason)) => {
            // Our side cannot check tokens yet: a 503 makes the connector retry.
            tracing::error!(reason = %reason, "cannot load the Bot Framework signing keys");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Err(reason) => {
            tracing::warn!(reason = %reason, "rejected a Bot Framework request");
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    if !activity.is_object() {
        return (StatusCode::BAD_REQUEST, "not a Bot Framework activity").into_response();
    }
    if !bot.connector.permits(service_url) {
        // Authenticated, but we would not reply there: log loudly, acknowledge, do nothing.
        tracing::warn!(
            service_url,
            "an activity's serviceUrl is not in teams.service_url_allowlist; ignored"
        );
        return StatusCode::OK.into_response();
    }
    match activity["type"].as_str().unwrap_or_default() {
        "message" if activity["value"].is_object() => {
            match cards::parse_submit(&activity["value"]) {
                Some(action) => match submit(&state, bot, &activity, action).await {
                    Ok(_) => StatusCode::OK.into_response(),
                    Err(status) => status.into_response(),
                },
                None => StatusCode::OK.into_response(),
            }
        }
        "message" => message(&state, &activity).await,
        "invoke" => invoke(&state, bot, &activity).await,
        "conversationUpdate" => {
            welcome_if_added(bot, &activity);
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

async fn message(state: &TeamsState, activity: &Value) -> Response {
    let Some(question) = question_from_activity(activity) else {
        return StatusCode::OK.into_response();
    };
    match state.pipeline.accept(&question).await {
        Ok(_) | Err(PipelineError::EmptyQuestion) => StatusCode::OK.into_response(),
        // Teams retries on a non-2xx, so nothing is lost
        Err(err) if err.is_unavailable() => {
            AppError::StorageUnavailable(err.to_string()).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "could not record a Teams activity");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `adaptiveCard/action` (Universal Actions): the button's data is in `value.action.data`,
/// and Teams shows the invoke response's message to the user.
async fn invoke(state: &TeamsState, bot: &TeamsBot, activity: &Value) -> Response {
    if activity["name"] != "adaptiveCard/action" {
        return StatusCode::OK.into_response();
    }
    let Some(action) = cards::parse_submit(&activity["value"]["action"]["data"]) else {
        return axum::Json(json!({
            "statusCode": 400,
            "type": "application/vnd.microsoft.error",
            "value": { "code": "BadRequest", "message": "unknown action" },
        }))
        .into_response();
    };
    match submit(state, bot, activity, action).await {
        Ok(message) => axum::Json(json!({
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": message,
        }))
        .into_response(),
        Err(status) => status.into_response(),
    }
}

static MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<at\b[^>]*>.*?</at>").expect("static regex"));
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("static regex"));

/// The text of a Teams message without `<at>…</at>` mentions and markup, as plain text.
pub fn strip_mentions(text: &str) -> String {
    let without = MENTION.replace_all(text, " ");
    let plain = TAG.replace_all(&without, " ");
    let decoded = plain
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the activity @mentions its recipient (the bot).
fn mentions_bot(activity: &Value) -> bool {
    let bot = activity["recipient"]["id"].as_str();
    activity["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["type"] == "mention" && e["mentioned"]["id"].as_str() == bot && bot.is_some())
}

/// The activity's tenant (`channelData.tenant.id`, or `conversation.tenantId`).
fn tenant_of(activity: &Value) -> Option<&str> {
    activity["channelData"]["tenant"]["id"]
        .as_str()
        .or(activity["conversation"]["tenantId"].as_str())
}

/// Who sent the activity: their Entra ID object id when Teams gives it (stable across chats),
/// else the channel account id.
fn asker_of(activity: &Value) -> Option<AskerRef> {
    let from = &activity["from"];
    let raw_id = from["aadObjectId"].as_str().or(from["id"].as_str())?;
    Some(AskerRef {
        namespace: format!("{CHANNEL}:{}", tenant_of(activity).unwrap_or("-")),
        raw_id: raw_id.to_string(),
    })
}

/// The question in a message activity; `None` for what the desk ignores: other bots (and
/// itself), channel or group messages that do not mention it, empty texts.
pub fn question_from_activity(activity: &Value) -> Option<Question> {
    if activity["from"]["role"] == "bot" {
        return None;
    }
    let personal = activity["conversation"]["conversationType"]
        .as_str()
        .is_none_or(|t| t == "personal");
    if !personal && !mentions_bot(activity) {
        return None;
    }
    let text = strip_mentions(activity["text"].as_str()?);
    let conversation = activity["conversation"]["id"].as_str()?;
    let id = activity["id"].as_str()?;
    let received_at = activity["timestamp"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
    Some(Question {
        channel: CHANNEL.into(),
        conversation: conversation.to_string(),
        delivery_id: id.to_string(),
        asker: asker_of(activity)?,
        text,
        received_at,
        // what the reply needs: where to send it and the two parties, by id only
        context: json!({
            "service_url": activity["serviceUrl"],
            "activity_id": id,
            "bot": { "id": activity["recipient"]["id"], "name": activity["recipient"]["name"] },
            "user": { "id": activity["from"]["id"] },
            "tenant_id": tenant_of(activity),
        }),
    })
}

/// A card button: feedback is stored, a "did you mean" choice is routed as a follow-up, a
/// handoff is passed to the specialist. Only the person the card was for may use its buttons:
/// the pipeline's follow-up methods check it, and anyone else (or a conversation that does
/// not exist) gets a 403. The text for an invoke response; an error status lets the user
/// click again.
async fn submit(
    state: &TeamsState,
    bot: &TeamsBot,
    activity: &Value,
    action: CardAction,
) -> Result<String, StatusCode> {
    let Some(asker) = asker_of(activity) else {
        return Err(StatusCode::FORBIDDEN);
    };
    match action {
        CardAction::Feedback {
            conversation_id,
            helpful,
        } => {
            let logged = state
                .pipeline
                .feedback(conversation_id, &asker, helpful)
                .await
                .map_err(follow_up_status)?;
            let thanks = cards::feedback_thanks_text(logged.language);
            if activity["type"] == "message" {
                // a plain submit gets no invoke response: say thanks in the chat
                let note = reply_text(activity, &thanks);
                if let Err(err) = send_reply(bot, activity, &note).await {
                    tracing::warn!(error = %err, "could not thank for feedback (it is stored)");
                }
            }
            Ok(thanks)
        }
        CardAction::Choose {
            conversation_id,
            intent,
            question,
        } => {
            let Some(follow_up) = choice_question(activity, question) else {
                return Err(StatusCode::BAD_REQUEST);
            };
            let chosen = state
                .pipeline
                .choose(conversation_id, &intent, follow_up)
                .await
                .map_err(follow_up_status)?;
            Ok(chosen.label)
        }
        CardAction::Handoff {
            conversation_id,
            specialist,
            question,
        } => {
            let logged = state
                .pipeline
                .handoff(conversation_id, &asker)
                .await
                .map_err(follow_up_status)?;
            handoff(
                state,
                bot,
                activity,
                &logged,
                &specialist,
                question.as_deref(),
            )
            .await
            .map_err(action_failed)
        }
    }
}

/// The status for a follow-up the pipeline turned down: a refusal or an unknown intent is
/// the clicker's (403, 400); anything else is ours, logged, and the user may click again.
fn follow_up_status(err: FollowUpError) -> StatusCode {
    match err {
        err if err.is_refusal() => StatusCode::FORBIDDEN,
        FollowUpError::UnknownIntent(_) => StatusCode::BAD_REQUEST,
        err => action_failed(err.to_string()),
    }
}

/// A failure on our side is logged here, since the user sees only the status.
fn action_failed(err: String) -> StatusCode {
    tracing::error!(error = %err, "a Teams card action failed");
    StatusCode::INTERNAL_SERVER_ERROR
}

/// A "did you mean" choice is routed like a question, so it is translated into one: a
/// message from the clicker in this chat, whose text (the chosen intent's name) the pipeline
/// fills in. `None` when the activity lacks what a question needs.
fn choice_question(activity: &Value, question: Option<String>) -> Option<Question> {
    let mut follow_up = question_from_activity(&json!({
        "id": format!("choice:{}", activity["id"].as_str().unwrap_or_default()),
        "type": "message",
        "serviceUrl": activity["serviceUrl"],
        "channelId": activity["channelId"],
        "from": activity["from"],
        "recipient": activity["recipient"],
        "conversation": { "id": activity["conversation"]["id"] },
        "channelData": activity["channelData"],
        "text": "",
    }))?;
    // reply to the card that offered the choice
    if let Some(card) = activity["replyToId"].as_str() {
        follow_up.context["activity_id"] = json!(card);
    }
    // the question as first asked, for the answer's handoff buttons (kept, like the
    // rest of the context, only until the answer is sent)
    if let Some(question) = question {
        follow_up.context["source"] = json!({ "q": question });
    }
    Some(follow_up)
}

/// Passes the question to the specialist in the bot's 1:1 chat with them, records the
/// handoff and tells the asker. Specialists without an Entra ID object id in the catalogue
/// get no message; the asker is told how to reach them instead.
async fn handoff(
    state: &TeamsState,
    bot: &TeamsBot,
    activity: &Value,
    logged: &FollowedUp,
    specialist: &str,
    question: Option<&str>,
) -> Result<String, String> {
    let lang = logged.language;
    let Some(person) = state.pipeline.catalogue.specialist(specialist) else {
        return Err(format!("unknown specialist {specialist}"));
    };
    let service_url = activity["serviceUrl"].as_str().unwrap_or_default();
    let told = match (
        &person.teams_aad_object_id,
        tenant_of(activity).or(bot.tenant_id.as_deref()),
    ) {
        (Some(aad), Some(tenant)) => {
            let bot_account =
                json!({ "id": activity["recipient"]["id"], "name": activity["recipient"]["name"] });
            let chat = bot
                .connector
                .create_personal_conversation(service_url, &bot_account, aad, tenant)
                .await
                .map_err(|e| e.to_string())?;
            let asker_name = activity["from"]["name"].as_str().unwrap_or("A colleague");
            let topic = logged
                .intent
                .as_deref()
                .and_then(|id| state.pipeline.catalogue.intent(id))
                .map(|i| i.label(lang).to_string());
            let card = cards::handoff_card(
                lang,
                asker_name,
                activity["from"]["userPrincipalName"].as_str(),
                question.unwrap_or_default(),
                topic.as_deref(),
            );
            let text = Phrases::question_for_you(lang, asker_name);
            let message = message_activity(
                &bot_account,
                &json!({ "id": aad }),
                &chat,
                None,
                &text,
                Some(card),
            );
            bot.connector
                .send_to(service_url, &chat, &message)
                .await
                .map_err(|e| e.to_string())?;
            state
                .pipeline
                .record_handoff(logged)
                .await
                .map_err(|e| e.to_string())?;
            cards::passed_on_text(lang, &person.name)
        }
        _ => cards::not_on_teams_text(lang, &person.name, &person.email),
    };
    if activity["type"] == "message" {
        let note = reply_text(activity, &told);
        send_reply(bot, activity, &note)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(told)
}

/// A plain-text reply to `activity`, from the bot to its sender.
fn reply_text(activity: &Value, text: &str) -> Value {
    message_activity(
        &activity["recipient"],
        &json!({ "id": activity["from"]["id"] }),
        activity["conversation"]["id"].as_str().unwrap_or_default(),
        activity["id"].as_str(),
        text,
        None,
    )
}

async fn send_reply(bot: &TeamsBot, activity: &Value, message: &Value) -> Result<(), SendError> {
    bot.connector
        .reply_to(
            activity["serviceUrl"].as_str().unwrap_or_default(),
            activity["conversation"]["id"].as_str().unwrap_or_default(),
            activity["id"].as_str().unwrap_or_default(),
            message,
        )
        .await
        .map(|_| ())
}

/// When the bot itself was added to a chat or team: a welcome with the privacy notice, in
/// the conversation's locale. Sent in the background with a few retries; a welcome that
/// cannot be delivered is logged, not queued (it answers no question).
fn welcome_if_added(bot: &TeamsBot, activity: &Value) {
    let bot_id = activity["recipient"]["id"].as_str();
    let added = activity["membersAdded"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| bot_id.is_some() && m["id"].as_str() == bot_id);
    if !added {
        return;
    }
    let lang = Lang::from_code(activity["locale"].as_str().unwrap_or("en"));
    let card = cards::welcome_card(lang, bot.retention_days);
    let message = message_activity(
        &activity["recipient"],
        &json!({ "id": activity["from"]["id"] }),
        activity["conversation"]["id"].as_str().unwrap_or_default(),
        None,
        &cards::welcome_text(lang, bot.retention_days),
        Some(card),
    );
    let connector = bot.connector.clone();
    let service_url = activity["serviceUrl"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let conversation = activity["conversation"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    tokio::spawn(async move {
        let backoff = Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            max_attempts: 5,
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            match connector
                .send_to(&service_url, &conversation, &message)
                .await
            {
                Ok(_) => return,
                Err(SendError::Retry { after, reason }) => {
                    let Some(delay) = backoff.delay(attempts) else {
                        tracing::warn!(reason, "gave up sending the welcome");
                        return;
                    };
                    tokio::time::sleep(after.map_or(delay, |a| a.max(delay))).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not send the welcome");
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(conversation_type: &str, text: &str, entities: Value) -> Value {
        json!({
            "type": "message", "id": "1700000000001", "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
            "timestamp": "2026-11-27T10:00:00.000Z",
            "from": { "id": "29:user", "name": "Ann", "aadObjectId": "aad-ann" },
            "recipient": { "id": "28:bot", "name": "Referral Desk" },
            "conversation": { "id": "19:chat", "conversationType": conversation_type },
            "channelData": { "tenant": { "id": "tenant-1" } },
            "text": text, "entities": entities,
        })
    }

    #[test]
    fn mentions_and_markup_are_stripped() {
        assert_eq!(
            strip_mentions("<at>Referral Desk</at> wie weet iets van <b>Power&nbsp;BI</b>?"),
            "wie weet iets van Power BI ?"
        );
        assert_eq!(
            strip_mentions("<p>R&amp;D &lt;budget&gt;</p>"),
            "R&D <budget>"
        );
        assert_eq!(strip_mentions("<AT id=\"0\">Bot</AT>"), "");
    }

    #[test]
    fn personal_messages_become_questions_by_entra_id() {
        let q =
            question_from_activity(&activity("personal", "Hoe vraag ik verlof aan?", json!([])))
                .unwrap();
        assert_eq!(q.text, "Hoe vraag ik verlof aan?");
        assert_eq!(q.delivery_id, "1700000000001");
        assert_eq!(q.conversation, "19:chat");
        assert_eq!(q.asker.namespace, "teams:tenant-1");
        assert_eq!(q.asker.raw_id, "aad-ann");
        assert_eq!(
            q.context["service_url"],
            "https://smba.trafficmanager.net/emea/"
        );
        assert_eq!(q.context["user"], json!({"id": "29:user"}));
        assert!(
            !q.context.to_string().contains("Ann"),
            "no names in the stored context"
        );
    }

    #[test]
    fn channel_messages_need_a_mention_of_the_bot() {
        let mention = json!([{ "type": "mention", "mentioned": { "id": "28:bot" }, "text": "<at>Referral Desk</at>" }]);
        let other =
            json!([{ "type": "mention", "mentioned": { "id": "29:bob" }, "text": "<at>Bob</at>" }]);
        assert!(question_from_activity(&activity("channel", "verlof?", json!([]))).is_none());
        assert!(
            question_from_activity(&activity("groupChat", "<at>Bob</at> verlof?", other)).is_none()
        );
        let q = question_from_activity(&activity(
            "channel",
            "<at>Referral Desk</at> verlof?",
            mention,
        ))
        .unwrap();
        assert_eq!(q.text, "verlof?");
    }

    #[test]
    fn bots_are_ignored() {
        let mut a = activity("personal", "hi", json!([]));
        a["from"]["role"] = json!("bot");
        assert!(question_from_activity(&a).is_none());
    }
}
