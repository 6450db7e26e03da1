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
