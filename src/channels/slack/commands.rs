//! Slash commands (`POST /slack/commands`, form-encoded): `/ask QUESTION [--public]`,
//! `/whoknows TOPIC` and `/referral-help`. Answers come back in the HTTP response: the pipeline
//! answers in milliseconds, well inside Slack's 3 seconds, through the same inbox and log path
//! as the web chat.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::SlackState;
use super::blocks::{fallback_text, reply_blocks};
use crate::pipeline::{AskerRef, Question, now_ms};

#[derive(Debug, Deserialize)]
pub struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub team_id: String,
    pub user_id: String,
    pub channel_id: String,
    #[serde(default)]
    pub trigger_id: String,
}

/// `POST /slack/commands`.
pub(super) async fn commands(
    State(state): State<SlackState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slack = match super::verified(&state, &headers, &body) {
        Ok(slack) => slack,
        Err(status) => return status.into_response(),
    };
    let Ok(command) = serde_urlencoded::from_bytes::<SlashCommand>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a slash command").into_response();
    };
    if slack
        .team_id
        .as_deref()
        .is_some_and(|team| team != command.team_id)
    {
        return ephemeral("This workspace is not connected to this referral desk.");
    }
    let (text, public) = match command.text.trim().strip_suffix("--public") {
        Some(rest) => (rest.trim().to_string(), true),
        None => (command.text.trim().to_string(), false),
    };
    match command.command.as_str() {
        "/referral-help" => ephemeral(&help_text(&state)),
        "/ask" | "/whoknows" if text.is_empty() => ephemeral(&usage(&command.command)),
        "/ask" | "/whoknows" => {
            let directory = command.command == "/whoknows";
            let question = Question {
                channel: "slack".into(),
                conversation: command.channel_id.clone(),
                delivery_id: format!("command:{}", command.trigger_id),
                asker: AskerRef {
                    namespace: format!("slack:{}", command.team_id),
                    raw_id: command.user_id.clone(),
                },
                text,
                received_at: chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default(),
                context: json!({ "channel": command.channel_id, "directory": directory }),
            };
            let source = json!({ "q": question.text.chars().take(1500).collect::<String>() });
            match state.pipeline.ask(&question).await {
                Ok(reply) => Json(json!({
                    "response_type": if public { "in_channel" } else { "ephemeral" },
                    "text": fallback_text(&reply),
                    "blocks": super::with_handoff_source(reply_blocks(&reply), &source),
                }))
                .into_response(),
                Err(err) => {
                    tracing::error!(error = %err, "a slash command failed");
                    ephemeral("Sorry, that did not work. Please try again in a moment.")
                }
            }
        }
        other => ephemeral(&format!("Unknown command {other}. Try /referral-help.")),
    }
}

fn ephemeral(text: &str) -> Response {
    Json(json!({ "response_type": "ephemeral", "text": text })).into_response()
}

fn usage(command: &str) -> String {
    match command {
        "/whoknows" => "Gebruik: `/whoknows onderwerp`, bijvoorbeeld `/whoknows Power BI`.\nUsage: `/whoknows topic`, e.g. `/whoknows Power BI`.".into(),
        _ => "Gebruik: `/ask je vraag` (voeg `--public` toe om het antwoord in het kanaal te tonen).\nUsage: `/ask your question` (add `--public` to show the answer in the channel).".into(),
    }
}

/// What the bot does and what it logs, in both languages (a slash command carries no locale).
pub fn help_text(state: &SlackState) -> String {
    let log = state.pipeline.log_settings();
    let (text_nl, text_en) = if log.store_text {
        (
            format!(
                "je vraag zonder e-mailadressen, telefoonnummers, IBAN's, BSN's en lange nummers, {} dagen lang",
                log.retention_days
            ),
            format!(
                "your question with e-mail addresses, phone numbers, IBANs, BSNs and long numbers removed, for {} days",
                log.retention_days
            ),
        )
    } else {
        ("geen vraagtekst".into(), "no question text".into())
    };
    let value: Value = json!([
        "*Verwijsloket* – stel je vraag over leren, ontwikkeling en werk; ik verwijs je naar de juiste collega, informatie of het juiste loket. Stuur me een DM, noem me met @ in een kanaal, of gebruik `/ask vraag` en `/whoknows onderwerp`.",
        format!(
            "*Privacy:* ik bewaar een pseudonieme sleutel (niet je naam of ID), je afdeling als die bekend is, {text_nl}, het onderwerp en waarheen ik je verwees. HRD ziet alleen geanonimiseerde totalen."
        ),
        "*Referral desk* – ask about learning, development and work; I refer you to the right colleague, information or desk. DM me, @mention me in a channel, or use `/ask question` and `/whoknows topic`.",
        format!(
            "*Privacy:* I keep a pseudonymous key (not your name or ID), your department when known, {text_en}, the topic and where I referred you. HRD only sees anonymised totals."
        ),
    ]);
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n\n")
}
