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
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// Slack's published example (api.slack.com/authentication/verifying-requests-from-slack).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: i64 = 1_531_420_618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn verifier() -> SlackVerifier {
        SlackVerifier::new(SECRET)
    }

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        headers
    }

    fn example_headers() -> HeaderMap {
        headers(&TIMESTAMP.to_string(), SIGNATURE)
    }

    /// Verifies `body` with the example's timestamp and a signature over `sig_body`.
    fn verify_signed(body: &[u8], sig_body: &[u8]) -> Result<(), VerifyError> {
        let v = verifier();
        let h = headers(&TIMESTAMP.to_string(), &v.sign(TIMESTAMP, sig_body));
        v.verify(&h, body, TIMESTAMP)
    }

    #[test]
    fn sign_matches_slacks_published_example() {
        assert_eq!(verifier().sign(TIMESTAMP, BODY.as_bytes()), SIGNATURE);
    }

    #[test]
    fn verify_accepts_slacks_published_example() {
        assert_eq!(
            verifier().verify(&example_headers(), BODY.as_bytes(), TIMESTAMP),
            Ok(())
        );
    }

    #[test]
    fn verify_accepts_exactly_five_minutes_either_way() {
        let v = verifier();
        let h = example_headers();
        assert_eq!(v.verify(&h, BODY.as_bytes(), TIMESTAMP + 300), Ok(()));
        assert_eq!(v.verify(&h, BODY.as_bytes(), TIMESTAMP - 300), Ok(()));
    }

    #[test]
    fn verify_rejects_one_second_past_five_minutes_either_way() {
        let v = verifier();
        let h = example_headers();
        assert_eq!(
            v.verify(&h, BODY.as_bytes(), TIMESTAMP + 301),
            Err(VerifyError::Stale { skew_seconds: 301 })
        );
        assert_eq!(
            v.verify(&h, BODY.as_bytes(), TIMESTAMP - 301),
            Err(VerifyError::Stale { skew_seconds: -301 })
        );
    }

    #[test]
    fn extreme_clock_values_do_not_overflow() {
        let v = verifier();
        let h = headers("9223372036854775807", SIGNATURE);
        assert!(matches!(
            v.verify(&h, BODY.as_bytes(), i64::MIN),
            Err(VerifyError::Stale { .. })
        ));
    }

    #[test]
    fn tampered_body_is_rejected() {
        let mut body = BODY.as_bytes().to_vec();
        let i = BODY.find("roadrunner").unwrap();
        body[i] = b'R';
        assert_eq!(
            verifier().verify(&example_headers(), &body, TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn tampered_timestamp_is_rejected() {
        // The timestamp is signed too: moving it to defeat the freshness check breaks the MAC.
        let h = headers(&(TIMESTAMP + 1).to_string(), SIGNATURE);
        assert_eq!(
            verifier().verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let other = SlackVerifier::new("00000000000000000000000000000000");
        assert_eq!(
            other.verify(&example_headers(), BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn secret_whitespace_is_ignored() {
        let v = SlackVerifier::new(&format!("  {SECRET}\n"));
        assert_eq!(v.sign(TIMESTAMP, BODY.as_bytes()), SIGNATURE);
    }

    #[test]
    fn missing_timestamp_header_is_rejected() {
        let mut h = example_headers();
        h.remove(TIMESTAMP_HEADER);
        assert_eq!(
            verifier().verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        );
    }

    #[test]
    fn missing_signature_header_is_rejected() {
        let mut h = example_headers();
        h.remove(SIGNATURE_HEADER);
        assert_eq!(
            verifier().verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn no_headers_at_all_reports_the_timestamp_first() {
        assert_eq!(
            verifier().verify(&HeaderMap::new(), BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        );
    }

    #[test]
    fn header_names_match_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(
            "X-Slack-Request-Timestamp",
            HeaderValue::from_str(&TIMESTAMP.to_string()).unwrap(),
        );
        h.insert("X-Slack-Signature", HeaderValue::from_static(SIGNATURE));
        assert_eq!(verifier().verify(&h, BODY.as_bytes(), TIMESTAMP), Ok(()));
    }

    #[test]
    fn repeated_timestamp_header_is_rejected() {
        // Even when both copies are identical and valid.
        let mut h = example_headers();
        h.append(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&TIMESTAMP.to_string()).unwrap(),
        );
        assert_eq!(
            verifier().verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::RepeatedHeader(TIMESTAMP_HEADER))
        );
    }

    #[test]
    fn repeated_signature_header_is_rejected() {
        let mut h = example_headers();
        h.append(SIGNATURE_HEADER, HeaderValue::from_static(SIGNATURE));
        assert_eq!(
            verifier().verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::RepeatedHeader(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn other_signature_versions_are_unsupported() {
        let v = verifier();
        let digest = &SIGNATURE[3..];
        for signature in [
            format!("v1={digest}"),
            digest.to_string(),
            format!("V0={digest}"),
            format!("v0:{digest}"),
            format!("v0{digest}"),
            String::new(),
        ] {
            let h = headers(&TIMESTAMP.to_string(), &signature);
            assert_eq!(
                v.verify(&h, BODY.as_bytes(), TIMESTAMP),
                Err(VerifyError::UnsupportedVersion),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn malformed_hex_is_a_bad_signature() {
        let v = verifier();
        let digest = &SIGNATURE[3..];
        let mut one_bad_char = digest.to_string();
        one_bad_char.replace_range(10..11, "g");
        for signature in [
            format!("v0={}", digest.to_uppercase()),
            format!("v0={one_bad_char}"),
            format!("v0={}", &digest[..63]),
            format!("v0={digest}0"),
            format!("v0={digest}00"),
            format!("v0= {}", &digest[1..]),
            "v0=".to_string(),
            "v0=not-hex-at-all".to_string(),
        ] {
            let h = headers(&TIMESTAMP.to_string(), &signature);
            assert_eq!(
                v.verify(&h, BODY.as_bytes(), TIMESTAMP),
                Err(VerifyError::BadSignature),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn non_numeric_timestamps_are_rejected() {
        let v = verifier();
        for timestamp in [
            "abc",
            "-5",
            "+1531420618",
            " 1531420618",
            "1531420618 ",
            "1531420618.5",
            "1.531420618e9",
            "",
            "99999999999999999999", // does not fit in an i64
        ] {
            let h = headers(timestamp, SIGNATURE);
            assert_eq!(
                v.verify(&h, BODY.as_bytes(), TIMESTAMP),
                Err(VerifyError::BadTimestamp),
                "{timestamp:?}"
            );
        }
    }

    #[test]
    fn non_ascii_header_values_are_rejected() {
        let v = verifier();
        let mut h = example_headers();
        h.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_bytes(b"153142061\xd9").unwrap(),
        );
        assert_eq!(
            v.verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::BadTimestamp)
        );

        let mut h = example_headers();
        let mut signature = SIGNATURE.as_bytes().to_vec();
        *signature.last_mut().unwrap() = 0xe9;
        h.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_bytes(&signature).unwrap(),
        );
        assert_eq!(
            v.verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn leading_zeros_in_the_timestamp_are_signed_as_sent() {
        // The base string uses the header text verbatim, as Slack does, not the parsed number.
        let v = verifier();
        let sent = format!("0{TIMESTAMP}");
        let h = headers(&sent, SIGNATURE);
        assert_eq!(
            v.verify(&h, BODY.as_bytes(), TIMESTAMP),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn reserialised_json_does_not_match_the_original_signature() {
        let original = br#"{"type": "event_callback", "event": {"type": "message", "text": "hi"}}"#;
        let value: serde_json::Value = serde_json::from_slice(original).unwrap();
        let reserialised = serde_json::to_vec(&value).unwrap();
        assert_ne!(reserialised, original.to_vec());
        assert_eq!(
            verify_signed(&reserialised, original),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(verify_signed(original, original), Ok(()));
    }

    #[test]
    fn empty_body_signed_correctly_is_accepted() {
        assert_eq!(verify_signed(b"", b""), Ok(()));
        assert_eq!(
            verify_signed(b"", b" "),
            Err(VerifyError::BadSignature),
            "an empty body is still covered by the signature"
        );
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let debug = format!("{:?}", verifier());
        assert_eq!(debug, "SlackVerifier([redacted])");
        assert!(!debug.contains(SECRET));
    }

    #[test]
    fn errors_never_show_the_secret_or_the_expected_signature() {
        let v = verifier();
        let digest = &SIGNATURE[3..];
        let wrong = headers(&TIMESTAMP.to_string(), &format!("v0={}", "0".repeat(64)));
        let err = v.verify(&wrong, BODY.as_bytes(), TIMESTAMP).unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains(digest), "{text}");
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(
            VerifyError::MissingHeader(SIGNATURE_HEADER).to_string(),
            "missing header x-slack-signature"
        );
        assert_eq!(
            VerifyError::Stale { skew_seconds: 301 }.to_string(),
            "request timestamp is 301 s from our clock (limit 300 s); replay or clock skew"
        );
    }
}
