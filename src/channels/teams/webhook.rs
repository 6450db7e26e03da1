//! Teams outgoing-webhook mode (`POST /teams/webhook`), for organisations that cannot register
//! a bot: a team owner creates an outgoing webhook for the team, Teams signs each @mention
//! with the security token it showed (`Authorization: HMAC <base64 HMAC-SHA256 of the raw
//! body>`), and the answer must come back in the HTTP response within five seconds. So the
//! question is answered inline (the web chat's path: same inbox, log and deduplication), and
//! the card has only link buttons, the one action Teams allows there.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::{Value, json};
use sha2::Sha256;

use super::TeamsState;
use super::cards::{self, CardMode};
use crate::error::AppError;
use crate::pipeline::PipelineError;

/// Why a webhook request was refused (for the log; the caller gets a bare 401).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookAuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("more than one Authorization header")]
    Repeated,
    #[error("the Authorization header is not `HMAC <base64>`")]
    Malformed,
    #[error("the HMAC does not match the body")]
    Mismatch,
}

/// Checks Teams' HMAC over the raw body.
pub struct WebhookVerifier {
    key: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookVerifier([key redacted])")
    }
}

impl WebhookVerifier {
    /// `security_token` as Teams shows it (base64).
    pub fn new(security_token: &str) -> Result<WebhookVerifier, String> {
        let key = STANDARD
            .decode(security_token.trim())
            .map_err(|_| "teams.webhook_hmac_key is not base64".to_string())?;
        Ok(WebhookVerifier {
            key: SecretBox::new(Box::new(key)),
        })
    }

    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), WebhookAuthError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let value = values.next().ok_or(WebhookAuthError::Missing)?;
        if values.next().is_some() {
            return Err(WebhookAuthError::Repeated);
        }
        let value = value.to_str().map_err(|_| WebhookAuthError::Malformed)?;
        let signature = value
            .strip_prefix("HMAC ")
            .filter(|s| !s.is_empty() && !s.contains(' '))
            .ok_or(WebhookAuthError::Malformed)?;
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| WebhookAuthError::Malformed)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(body);
        // constant-time comparison
        mac.verify_slice(&signature)
            .map_err(|_| WebhookAuthError::Mismatch)
    }
}

/// `POST /teams/webhook`.
pub(super) async fn webhook(
    State(state): State<TeamsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(verifier) = state.teams.webhook.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(reason) = verifier.verify(&headers, &body) {
        tracing::warn!(reason = %reason, "rejected a Teams outgoing-webhook request");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(mut activity) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a Teams activity").into_response();
    };
    // An outgoing webhook only ever receives messages that @mention it.
    activity["conversation"]["conversationType"] = json!("personal");
    let Some(mut question) = super::question_from_activity(&activity) else {
        return StatusCode::OK.into_response();
    };
    // webhook and bot activity ids are different namespaces
    question.delivery_id = format!("webhook:{}", question.delivery_id);
    question.context = json!({ "mode": "webhook" });
    match state.pipeline.ask(&question).await {
        Ok(reply) => axum::Json(json!({
            "type": "message",
            "text": cards::fallback_text(&reply),
            "attachments": [cards::attachment(cards::reply_card(&reply, CardMode::Webhook, None))],
        }))
        .into_response(),
        Err(PipelineError::EmptyQuestion) => axum::Json(json!({
            "type": "message",
            "text": "?",
        }))
        .into_response(),
        Err(err) if err.is_unavailable() => {
            AppError::StorageUnavailable(err.to_string()).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "could not answer a Teams outgoing-webhook message");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &[u8], body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(body);
        format!("HMAC {}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_the_exact_hmac_of_the_body_passes() {
        let key = b"0123456789abcdef0123456789abcdef";
        let verifier = WebhookVerifier::new(&STANDARD.encode(key)).unwrap();
        let body = br#"{"type":"message","text":"<at>Desk</at> verlof"}"#;
        let good = signed(key, body);
        assert_eq!(verifier.verify(&headers(&[&good]), body), Ok(()));
        assert_eq!(
            verifier.verify(
                &headers(&[&good]),
                br#"{"type":"message","text":"<at>Desk</at> verlog"}"#
            ),
            Err(WebhookAuthError::Mismatch)
        );
        assert_eq!(
            verifier.verify(&headers(&[&signed(b"another key", body)]), body),
            Err(WebhookAuthError::Mismatch)
        );
        let bare = good.trim_start_matches("HMAC ").to_string();
        for malformed in [bare.as_str(), "Bearer abc", "HMAC ", "HMAC a b", "HMAC !!!"] {
            assert_eq!(
                verifier.verify(&headers(&[malformed]), body),
                Err(WebhookAuthError::Malformed),
                "{malformed}"
            );
        }
        assert_eq!(
            verifier.verify(&headers(&[]), body),
            Err(WebhookAuthError::Missing)
        );
        assert_eq!(
            verifier.verify(&headers(&[&good, &good]), body),
            Err(WebhookAuthError::Repeated)
        );
    }
}
