//! Channel adapters: each verifies and parses its platform's requests into a
//! [`crate::pipeline::Question`] and presents the [`crate::pipeline::Reply`] back. Only this
//! module knows the platforms. Each channel exposes its own `router(state)` with only the
//! state it needs (`SlackState`, `TeamsState`, `WebState`); the HTTP layer (`server`) merges
//! them. Follow-ups (feedback, "did you mean" picks, handoffs) are the pipeline's; a channel
//! only translates them. [`present`] is what the Slack and Teams presenters share.

pub mod present;
pub mod slack;
pub mod teams;
pub mod web;

use crate::pipeline::outbox::SendError;
use std::time::Duration;

use axum::http::HeaderMap;

/// How long a rate-limited API asks us to wait: `Retry-After` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(axum::http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(wait.max(0) as u64))
}

/// A reqwest error for the log, without the URL it carries: base URLs are configuration and
/// the log lines stay short and stable.
pub(crate) fn describe_request_error(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "");
    }
    text.replace(" ()", "").trim().to_string()
}

/// A request to a platform that failed without an answer: refused before anything was sent
/// (worth retrying), or lost on the way (the message may have been delivered: the next
/// attempt is unsure, see `pipeline::outbox`).
pub(crate) fn request_failed(service: &str, err: &reqwest::Error) -> SendError {
    let reason = format!("{service}: {}", describe_request_error(err));
    if err.is_connect() {
        SendError::Retry {
            after: None,
            reason,
        }
    } else {
        SendError::Unknown(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(30);
        headers.insert("retry-after", later.to_rfc2822().parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!((28..=30).contains(&wait.as_secs()), "{wait:?}");
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
