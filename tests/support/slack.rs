//! A Slack app for tests: settings pointing at a local fake Web API (wiremock), requests
//! signed as Slack signs them, and what the desk posted.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use referral_desk::channels::slack::SlackVerifier;
use referral_desk::config::Settings;

use super::TestApp;

pub const SECRET: &str = "test-signing-secret";
pub const TOKEN: &str = "xoxb-test-token";

/// `settings` with Slack switched on for workspace `T1`, replying to `fake_slack`.
pub fn with_slack(mut settings: Settings, fake_slack: &MockServer) -> Settings {
    settings.slack.signing_secret = Some(SECRET.to_string().into());
    settings.slack.bot_token = Some(TOKEN.to_string().into());
    settings.slack.team_id = Some("T1".into());
    settings.slack.api_base_url = fake_slack.uri();
    settings
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Posts `raw` to `path` signed as Slack signs requests, now.
pub async fn signed_post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    raw: String,
) -> reqwest::Response {
    let timestamp = now();
    let signature = SlackVerifier::new(SECRET).sign(timestamp, raw.as_bytes());
    app.client
        .post(app.url(path))
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header("X-Slack-Signature", signature)
        .header("content-type", content_type)
        .body(raw)
        .send()
        .await
        .unwrap()
}

pub async fn post_event(app: &TestApp, body: &Value) -> reqwest::Response {
    signed_post(app, "/slack/events", "application/json", body.to_string()).await
}

/// A direct message event from `UASKER1` in `D_ASKER`.
pub fn dm(event_id: &str, text: &str) -> Value {
    json!({
        "type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": now(),
        "event": {"type": "message", "channel_type": "im", "user": "UASKER1", "channel": "D_ASKER", "ts": "1700000000.000100", "text": text}
    })
}

/// Every `chat.postMessage` body the fake received, in order.
pub async fn posted(fake_slack: &MockServer) -> Vec<Value> {
    fake_slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/chat.postMessage")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// A fake Slack that accepts every message posted with the bot token.
pub async fn ok_slack() -> MockServer {
    let fake_slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"})))
        .mount(&fake_slack)
        .await;
    fake_slack
}
