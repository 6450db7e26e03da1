//! The web chat channel: a small chat page (compiled into the binary, no build step) and the
//! JSON API it calls. The answer comes back in the HTTP response, but the question goes
//! through the same inbox and log path as every other channel.
//!
//! The web chat has no login, so its asker is a session the server issues: a signed, HttpOnly
//! cookie ([`crate::privacy::SessionSigner`]) set on the page and on the first question that
//! arrives without a valid one. A client cannot choose the session (a forged or altered cookie
//! is replaced by a new session), and feedback is taken only for the session's own answers.

mod policy;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::Deserialize;

use crate::error::AppError;
use crate::pipeline::{AskerRef, Pipeline, PipelineError, Question, now_ms};
use crate::privacy::IssuedSession;
pub use policy::{PolicyError, WebPolicy, chat_page_csp};

/// What the web chat's routes need.
#[derive(Clone, Debug)]
pub struct WebState {
    pub pipeline: Arc<Pipeline>,
    pub policy: Arc<WebPolicy>,
}

/// The chat page, its assets and the JSON API (`/api/v1/ask`, `/api/v1/feedback`), with the
/// page's security headers and the per-client question limit. The HTTP layer adds the body
/// limit ([`MAX_BODY_BYTES`]) and the deadlines every route has.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route(
            "/",
            get(index).layer(middleware::from_fn_with_state(
                state.clone(),
                policy::chat_page_headers,
            )),
        )
        .route("/assets/app.js", get(app_js))
        .route("/assets/style.css", get(style_css))
        .route(
            "/api/v1/ask",
            post(ask).layer(middleware::from_fn_with_state(
                state.clone(),
                policy::limit_questions,
            )),
        )
        .route("/api/v1/feedback", post(feedback))
        .with_state(state)
}

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The asker namespace of web chat sessions.
const NAMESPACE: &str = "web";

/// The visitor's session: the one in a valid cookie, or a new one to set.
struct Visitor {
    id: String,
    issued: Option<IssuedSession>,
}

impl Visitor {
    fn of(state: &WebState, headers: &HeaderMap) -> Visitor {
        match session_of(state, headers) {
            Some(id) => Visitor { id, issued: None },
            None => {
                let issued = state.pipeline.sessions().issue();
                Visitor {
                    id: issued.id.clone(),
                    issued: Some(issued),
                }
            }
        }
    }

    fn asker(&self) -> AskerRef {
        AskerRef {
            namespace: NAMESPACE.into(),
            raw_id: self.id.clone(),
        }
    }

    /// Adds `Set-Cookie` for a new session (and keeps caches from storing that response).
    fn set_cookie(&self, state: &WebState, mut response: Response) -> Response {
        if let Some(issued) = &self.issued
            && let Ok(cookie) = HeaderValue::from_str(&state.pipeline.sessions().set_cookie(issued))
        {
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, cookie);
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

/// The verified session id in the request's cookies, if any.
fn session_of(state: &WebState, headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookies| state.pipeline.sessions().session_in(cookies))
}

/// `GET /`: the page, with a session cookie when the visitor has none yet (so the first
/// question already carries it).
async fn index(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let visitor = Visitor::of(&state, &headers);
    visitor.set_cookie(&state, Html(INDEX_HTML).into_response())
}

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn style_css() -> Response {
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
    /// Ignored. Pages before the session cookie sent their own id here, which let a client
    /// choose (or change) who it counts as; the asker is now the cookie's session. Accepted so
    /// pages still open in a browser during an upgrade, and older API clients, keep working.
    #[serde(default)]
    pub session: Option<serde::de::IgnoredAny>,
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

/// `POST /api/v1/ask`, as the visitor's session (a new one, set in the response, when the
/// request has no valid session cookie).
async fn ask(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let visitor = Visitor::of(&state, &headers);
    let response = match answer(&state, &visitor, body).await {
        Ok(reply) => reply.into_response(),
        Err(err) => err.into_response(),
    };
    visitor.set_cookie(&state, response)
}

async fn answer(
    state: &WebState,
    visitor: &Visitor,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<crate::pipeline::Reply>, AppError> {
    let request: AskRequest = parse_body(body)?;
    if request.text.trim().is_empty() {
        return Err(AppError::BadRequest(
            "the question (`text`) is empty".into(),
        ));
    }
    let question = Question {
        channel: NAMESPACE.into(),
        // answered in the response: there is nowhere else to reply to
        conversation: String::new(),
        delivery_id: request.message_id.unwrap_or_else(random_id),
        asker: visitor.asker(),
        text: request.text,
        received_at: chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default(),
        context: serde_json::json!({ "choice": request.choice }),
    };
    match state.pipeline.ask(&question).await {
        Ok(reply) => Ok(Json(reply)),
        Err(PipelineError::EmptyQuestion) => Err(AppError::BadRequest(
            "the question (`text`) is empty".into(),
        )),
        Err(err) if err.is_unavailable() => Err(AppError::StorageUnavailable(err.to_string())),
        Err(err) => Err(AppError::Internal(err.to_string())),
    }
}

/// `POST /api/v1/feedback`: only on the session's own conversations. Any other conversation
/// (another session's, a Slack or Teams one, or none) gets the same 404, so the answer tells
/// nobody which conversations exist.
async fn feedback(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, AppError> {
    let request: FeedbackRequest = parse_body(body)?;
    let not_found = || AppError::NotFound(format!("no conversation {}", request.conversation_id));
    let Some(session) = session_of(&state, &headers) else {
        return Err(not_found());
    };
    let asker = AskerRef {
        namespace: NAMESPACE.into(),
        raw_id: session,
    };
    match state
        .pipeline
        .feedback(request.conversation_id, &asker, request.helpful)
        .await
    {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(err) if err.is_refusal() => Err(not_found()),
        Err(err) => Err(AppError::Internal(err.to_string())),
    }
}
