//! Checks that a request really comes from Slack, following Slack's "verifying requests"
//! protocol: Slack signs every request it sends with the app's signing secret, and we recompute
//! that signature and compare.
//!
//! Slack sends two headers:
//! - `X-Slack-Request-Timestamp`: when Slack sent the request, in unix seconds;
//! - `X-Slack-Signature`: `v0=` followed by the lowercase hex HMAC-SHA256, keyed with the
//!   signing secret, of `v0:{timestamp}:{raw body}`.
//!
//! The signature covers the body *bytes exactly as received*, so verification must run on the
//! raw body before anything parses it: a form or JSON body that is decoded and re-encoded is
//! not byte-for-byte the same and no longer matches. The Slack handlers therefore take the
//! body as bytes, call [`SlackVerifier::verify`], and only then parse the payload. Nothing in a
//! request that fails verification is trusted or acted on.
//!
//! The timestamp check limits replays: a captured request stops being accepted once it is more
//! than five minutes old. The clock is passed in (`now_unix`) rather than read here, so the
//! check is deterministic and the tests pin it.
//!
//! Every failure is a [`VerifyError`]. The HTTP layer answers all of them with a bare 401 (an
//! unauthenticated caller learns nothing about why) and logs the error; the messages are
//! written for that log and never contain the secret or the expected signature.

use std::fmt;
use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the time Slack sent the request (unix seconds). Lowercase because
/// that is how `http` spells header names; lookups are case-insensitive.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// The header carrying the `v0=` signature.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";

/// How far the request timestamp may be from our clock, either way. Slack recommends five
/// minutes: long enough for clock drift and retries, short enough to limit replays.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The only signature scheme Slack defines so far; it prefixes both the signed base string
/// (`v0:`) and the header value (`v0=`).
const VERSION: &str = "v0";

/// Length of the hex-encoded HMAC-SHA256 digest.
const SIGNATURE_HEX_LEN: usize = 64;

/// Why a request was not accepted as coming from Slack. Meant for the server log: the caller
/// only ever sees a 401. No variant carries the secret or the expected signature, so logging
/// an error cannot leak what a forger would need.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// A required Slack header is absent: not a Slack request, or a proxy stripped it.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A Slack header appears more than once. Slack sends each once; choosing one of several
    /// values would let a forger add a header next to the real one, so this is refused.
    #[error("header {0} appears more than once")]
    RepeatedHeader(&'static str),
    /// The timestamp header is not plain unix seconds (digits only, no sign, no spaces, no
    /// fraction) or does not fit in an `i64`.
    #[error("request timestamp is not unix seconds")]
    BadTimestamp,
    /// The request was signed too long ago or too far in the future. `skew_seconds` is our
    /// clock minus the request timestamp: positive for an old (possibly replayed) request,
    /// negative for one from the future (usually a clock problem on our side).
    #[error(
        "request timestamp is {skew_seconds} s from our clock (limit {} s); replay or clock skew",
        DEFAULT_TOLERANCE.as_secs()
    )]
    Stale { skew_seconds: i64 },
    /// The signature does not start with `v0=`: a scheme we do not know, or not a Slack
    /// signature at all.
    #[error("unsupported signature version (expected v0=)")]
    UnsupportedVersion,
    /// The signature is malformed (not 64 lowercase hex characters) or does not match: wrong
    /// signing secret, or the body or timestamp were changed after signing.
    #[error("signature does not match")]
    BadSignature,
}

/// Verifies (and, for tests and the fake Slack, produces) Slack request signatures for one
/// Slack app. Holds the signing secret, which is zeroed on drop and never shown by `Debug`.
#[derive(Clone)]
pub struct SlackVerifier {
    secret: SecretSlice<u8>,
    tolerance: Duration,
}

impl fmt::Debug for SlackVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlackVerifier([redacted])")
    }
}

impl SlackVerifier {
    /// Builds a verifier from the app's signing secret (Slack app settings, "Basic
    /// Information"). Surrounding whitespace is ignored, so a trailing newline from an env file
    /// or a secret mount does not make every request fail; Slack secrets never contain any.
    ///
    /// The secret must not be empty (HMAC accepts an empty key, and then anyone can sign);
    /// rejecting an empty secret is the configuration's job, before this is called.
    pub fn new(signing_secret: &str) -> Self {
        Self {
            secret: SecretSlice::from(signing_secret.trim().as_bytes().to_vec()),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Accepts the request only if both Slack headers are present once each, the timestamp is
    /// within five minutes of `now_unix` (inclusive) and the signature over the timestamp and
    /// the raw `body` matches. `body` must be the bytes as received, before any parsing.
    ///
    /// Checks run cheapest first (headers, timestamp, format) so junk is rejected without
    /// computing an HMAC; the final comparison is constant-time, so response timing does not
    /// reveal how much of a guessed signature was right.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), VerifyError> {
        let timestamp = single_header(headers, TIMESTAMP_HEADER)?;
        let signature = single_header(headers, SIGNATURE_HEADER)?;

        // The raw header text is what Slack signed, so it (not a re-formatted number) goes
        // into the base string below; parsing is only for the freshness check.
        let timestamp = timestamp.to_str().map_err(|_| VerifyError::BadTimestamp)?;
        let sent_at = parse_unix_seconds(timestamp).ok_or(VerifyError::BadTimestamp)?;
        let skew_seconds = now_unix.saturating_sub(sent_at);
        if skew_seconds.unsigned_abs() > self.tolerance.as_secs() {
            return Err(VerifyError::Stale { skew_seconds });
        }

        let signature = signature.to_str().map_err(|_| VerifyError::BadSignature)?;
        let hex_digest = signature
            .strip_prefix(VERSION)
            .and_then(|rest| rest.strip_prefix('='))
            .ok_or(VerifyError::UnsupportedVersion)?;
        let claimed = decode_digest(hex_digest).ok_or(VerifyError::BadSignature)?;

        self.mac(timestamp, body)
            .verify_slice(&claimed)
            .map_err(|_| VerifyError::BadSignature)
    }

    /// The `X-Slack-Signature` value Slack would send for this timestamp and body. For tests
    /// and the fake-Slack helpers that drive the real handlers; production code only verifies.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let digest = self
            .mac(&timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("{VERSION}={}", hex::encode(digest))
    }

    /// The HMAC over Slack's base string `v0:{timestamp}:{body}`, fed in pieces so the body
    /// is never copied.
    fn mac(&self, timestamp: &str, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.secret.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(VERSION.as_bytes());
        mac.update(b":");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac
    }
}

/// The one value of a header that must appear exactly once. A repeated header is an error
/// rather than "take the first": the verified value and the one other code reads could differ.
fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<&'a axum::http::HeaderValue, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().ok_or(VerifyError::MissingHeader(name))?;
    if values.next().is_some() {
        return Err(VerifyError::RepeatedHeader(name));
    }
    Ok(first)
}

/// Unix seconds as Slack writes them: ASCII digits only. `str::parse` alone would also accept
/// a leading `+`, which Slack never sends; being strict keeps odd inputs out of the signed
/// base string.
fn parse_unix_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The 32 digest bytes from exactly 64 lowercase hex characters. Slack sends lowercase; the
/// signature is compared as bytes, so accepting only the one spelling costs nothing and keeps
/// the format check simple.
fn decode_digest(text: &str) -> Option<[u8; 32]> {
    let lowercase_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if text.len() != SIGNATURE_HEX_LEN || !text.bytes().all(lowercase_hex) {
        return None;
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text, &mut digest).ok()?;
    Some(digest)
}

#[cfg(test)]
mod tests;
