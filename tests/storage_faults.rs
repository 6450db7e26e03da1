//! When the database goes away, the desk says so at once and acknowledges nothing it did not
//! store: questions get 503 with `Retry-After` (Slack and Teams deliver again), `/readyz` turns
//! 503 within about a second, and everything works again by itself when the database is back.
//!
//! PostgreSQL is taken away with a TCP proxy between the app and the shared test server
//! (`support::proxy`), so no other test loses its database.

mod support;

use std::time::{Duration, Instant};

use referral_desk::channels::slack::SlackVerifier;
use serde_json::json;
use support::proxy::Proxy;
use support::{PgSchema, TestApp, eventually, test_settings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const SECRET: &str = "test-signing-secret";

/// `url` with its host and port replaced by `address`.
fn through(url: &str, address: std::net::SocketAddr) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    parsed.set_ip_host(address.ip()).unwrap();
    parsed.set_port(Some(address.port())).unwrap();
    parsed.to_string()
}

fn server_address(url: &str) -> std::net::SocketAddr {
    let parsed = reqwest::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap().to_string();
    let port = parsed.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .unwrap()
        .next()
        .unwrap()
}

async fn slack_event(app: &TestApp, event_id: &str) -> reqwest::Response {
    let body = json!({
        "type": "event_callback", "team_id": "T1", "event_id": event_id,
        "event_time": chrono::Utc::now().timestamp(),
        "event": {"type": "message", "channel_type": "im", "user": "UASKER1",
                  "channel": "D_ASKER", "ts": "1700000000.000100", "text": "laptop kapot"}
    })
    .to_string();
    let timestamp = chrono::Utc::now().timestamp();
    app.client
        .post(app.url("/slack/events"))
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header(
            "X-Slack-Signature",
            SlackVerifier::new(SECRET).sign(timestamp, body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_postgres_outage_is_answered_with_503_at_once_and_heals_by_itself() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let proxy = Proxy::start(server_address(&schema.url)).await;
    let fake_slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"})))
        .mount(&fake_slack)
        .await;
    let mut settings = test_settings(&through(&schema.url, proxy.address));
    settings.privacy.pseudonym_key = Some(KEY.to_string().into());
    settings.slack.signing_secret = Some(SECRET.to_string().into());
    settings.slack.bot_token = Some("xoxb-test".to_string().into());
    settings.slack.team_id = Some("T1".into());
    settings.slack.api_base_url = fake_slack.uri();
    let app = TestApp::spawn(settings).await;
    assert_eq!(app.ask(json!({"text": "laptop kapot"})).await.status(), 200);

    proxy.cut();
    // the web chat: refused fast, with when to come back, and without internals
    let started = Instant::now();
    let refused = app.ask(json!({"text": "mijn laptop is kapot"})).await;
    let waited = started.elapsed();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "2");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        !body["error"].as_str().unwrap().contains("pool"),
        "no internals: {body}"
    );
    // database.acquire_timeout_ms (2 s) bounds the wait; before, a request hung for 10 s and
    // got 500
    assert!(waited < Duration::from_secs(6), "waited {waited:?}");
    // Slack: not acknowledged, so Slack delivers it again
    let event = slack_event(&app, "EvOUTAGE").await;
    assert_eq!(event.status(), 503);
    assert!(event.headers().contains_key("retry-after"));
    // the load balancer hears of it within about a second
    let started = Instant::now();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    proxy.restore();
    assert!(
        eventually(Duration::from_secs(15), || async {
            app.client
                .get(app.url("/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await,
        "ready again once the database is back"
    );
    assert_eq!(app.ask(json!({"text": "laptop kapot"})).await.status(), 200);
    // Slack's retry of the refused event is taken and answered once
    assert_eq!(slack_event(&app, "EvOUTAGE").await.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            fake_slack
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .filter(|r| r.url.path() == "/chat.postMessage")
                .count()
                == 1
        })
        .await,
        "the retried event is answered"
    );
    app.stop().await;
    drop(proxy);
    schema.drop().await;
}
