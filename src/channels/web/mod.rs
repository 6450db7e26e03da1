//! The web chat channel: a small chat page (compiled into the binary, no build step) and the
//! JSON API it calls. The answer comes back in the HTTP response, but the question goes
//! through the same inbox and log path as every other channel.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::pipeline::{AskerRef, PipelineError, Question, Reply, now_ms};
use crate::server::{AppError, AppState};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

pub async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

pub async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

pub async fn style_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLE_CSS,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    pub text: String,
    /// The page's session id: the web asker's identity (pseudonymised before storage).
    #[serde(default)]
    pub session: Option<String>,
    /// An intent picked from a "did you mean" answer.
    #[serde(default)]
    pub choice: Option<String>,
    /// Client-chosen id that makes a resent request idempotent.
    #[serde(default)]
    pub message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub conversation_id: i64,
    pub helpful: bool,
}

/// Parses a JSON body, turning every way it can be wrong into a 400/413 the page can show.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, AppError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(MAX_BODY_BYTES)
        } else {
            AppError::BadRequest(format!("cannot read the request body: {rejection}"))
        }
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    serde_json::from_slice(&bytes)
        .map_err(|err| AppError::BadRequest(format!("invalid JSON: {err}")))
}

fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

pub async fn ask(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Reply>, AppError> {
    let request: AskRequest = parse_body(body)?;
    if request.text.trim().is_empty() {
        return Err(AppError::BadRequest(
            "the question (`text`) is empty".into(),
        ));
    }
    let session = request
        .session
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(random_id);
    let question = Question {
        channel: "web".into(),
        conversation: session.chars().take(128).collect(),
        delivery_id: request.message_id.unwrap_or_else(random_id),
        asker: AskerRef {
            namespace: "web".into(),
            raw_id: session,
        },
        text: request.text,
        received_at: chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default(),
        context: serde_json::json!({ "choice": request.choice }),
    };
    match state.pipeline.ask(&question).await {
        Ok(reply) => Ok(Json(reply)),
        Err(PipelineError::EmptyQuestion) => Err(AppError::BadRequest(
            "the question (`text`) is empty".into(),
        )),
        Err(err) => Err(AppError::Internal(err.to_string())),
    }
}

pub async fn feedback(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, AppError> {
    let request: FeedbackRequest = parse_body(body)?;
    let found = state
        .pipeline
        .store()
        .record_feedback(request.conversation_id, request.helpful, now_ms())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!(
            "no conversation {}",
            request.conversation_id
        )))
    }
}
