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

/// How the remembering fake answers the `n`th `chat.postMessage` (from 0) after storing it.
pub type PostAnswer = dyn Fn(usize) -> ResponseTemplate + Send + Sync;

/// A fake Slack Web API that keeps what is posted, as Slack does: `chat.postMessage` stores the
/// message with its metadata (then answers as told: an error or a late answer after storing is
/// what makes the outcome unknown to the desk), and `conversations.history` (form-encoded, as
/// Slack reads it) returns a channel's latest messages, newest first, with their metadata when
/// `include_all_metadata` is set.
pub struct RememberingSlack {
    pub stored: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    answer: Box<PostAnswer>,
}

impl RememberingSlack {
    pub async fn start(
        answer: impl Fn(usize) -> ResponseTemplate + Send + Sync + 'static,
    ) -> (MockServer, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
        let fake = RememberingSlack {
            stored: Default::default(),
            answer: Box::new(answer),
        };
        let stored = fake.stored.clone();
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(fake)
            .mount(&server)
            .await;
        (server, stored)
    }
}

fn form_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl wiremock::Respond for RememberingSlack {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        match request.url.path() {
            "/chat.postMessage" => {
                let mut message: Value = serde_json::from_slice(&request.body).unwrap();
                let n = {
                    let mut stored = self.stored.lock().unwrap();
                    message["ts"] = json!(format!("1700000000.{:06}", stored.len() + 1));
                    stored.push(message);
                    stored.len() - 1
                };
                (self.answer)(n)
            }
            "/conversations.history" | "/conversations.replies" => {
                let body = String::from_utf8_lossy(&request.body).to_string();
                let channel = form_field(&body, "channel").unwrap_or_default();
                let with_metadata = form_field(&body, "include_all_metadata") == Some("true");
                let limit: usize = form_field(&body, "limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(100);
                let messages: Vec<Value> = self
                    .stored
                    .lock()
                    .unwrap()
                    .iter()
                    .rev()
                    .filter(|m| m["channel"] == channel)
                    .take(limit)
                    .map(|m| {
                        let mut shown =
                            json!({"type": "message", "ts": m["ts"], "text": m["text"]});
                        if with_metadata && !m["metadata"].is_null() {
                            shown["metadata"] = m["metadata"].clone();
                        }
                        shown
                    })
                    .collect();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": true, "messages": messages, "has_more": false}))
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

/// `{"ok": true}` as Slack answers a stored message.
pub fn ok_posted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"}))
}
