//! [`AppError`]: every HTTP handler's error as an answer (the channels' and the reports'), so
//! a client sees one JSON shape and one set of status codes, and unexpected errors are logged
//! once, here, without internals reaching the client.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors as HTTP answers: a JSON `{"error": ...}` body the page can show. Unexpected errors
/// are logged once here; clients get no internals.
#[derive(Debug)]
pub enum AppError {
    BadRequest(String),
    PayloadTooLarge(usize),
    NotFound(String),
    Internal(String),
    /// The client's bucket is empty (`web.rate_limit_*`); `Retry-After` says when to retry.
    TooManyRequests(Duration),
    /// The request body did not arrive within `server.body_read_timeout_seconds`.
    BodyTimeout(Duration),
    /// No answer within `server.request_timeout_seconds`.
    TookTooLong,
    /// The database cannot be reached or written just now; nothing was acknowledged.
    StorageUnavailable(String),
}

/// `Retry-After` for a request refused while the database is unavailable.
pub const STORAGE_RETRY_AFTER_SECONDS: u64 = 2;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
        let (status, message) = match self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            AppError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request is larger than {} KiB", limit / 1024),
            ),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong on our side; please try again".to_string(),
                )
            }
            AppError::TooManyRequests(wait) => {
                let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
                retry_after = Some(seconds);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many questions from your address; please wait {seconds} s"),
                )
            }
            AppError::BodyTimeout(limit) => (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s",
                    limit.as_secs()
                ),
            ),
            AppError::TookTooLong => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the answer is taking too long; please try again".to_string(),
            ),
            AppError::StorageUnavailable(detail) => {
                tracing::warn!(error = %detail, "database unavailable: request refused with 503");
                retry_after = Some(STORAGE_RETRY_AFTER_SECONDS);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the desk cannot store questions right now; please try again in a moment"
                        .to_string(),
                )
            }
        };
        let mut response = (status, axum::Json(json!({ "error": message }))).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
