//! When the database goes away, the desk says so at once and acknowledges nothing it did not
//! store: questions get 503 with `Retry-After` (Slack and Teams deliver again), `/readyz` turns
//! 503 within about a second, and everything works again by itself when the database is back.
//!
//! PostgreSQL is taken away with a TCP proxy between the app and the shared test server
//! (`support::proxy`), so no other test loses its database.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::proxy::Proxy;
use support::slack::{dm, ok_slack, post_event, posted, with_slack};
use support::{PgSchema, TestApp, eventually};

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

#[tokio::test]
async fn a_postgres_outage_is_answered_with_503_at_once_and_heals_by_itself() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let proxy = Proxy::start(server_address(&schema.url)).await;
    let fake_slack = ok_slack().await;
    let settings = with_slack(
        schema.settings_at(&through(&schema.url, proxy.address)),
        &fake_slack,
    );
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
    let event = post_event(&app, &dm("EvOUTAGE", "laptop kapot")).await;
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
    assert_eq!(
        post_event(&app, &dm("EvOUTAGE", "laptop kapot"))
            .await
            .status(),
        200
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await,
        "the retried event is answered"
    );
    app.stop().await;
    drop(proxy);
    schema.drop().await;
}
