//! Shared test helpers: an app on port 0 with a temporary database, and PostgreSQL schemas
//! that exist for one test only.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use referral_desk::config::Settings;
use referral_desk::server::{AppState, Application};
use referral_desk::store::ConversationStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const FIXTURE: &str = "tests/fixtures/catalogue-small";

/// Settings for a test app: loopback port 0 (metrics too), the small fixture catalogue,
/// `db_url`, and no per-client question limit (tests ask many questions from one address;
/// tests/it/hardening.rs switches it on).
pub fn test_settings(db_url: &str) -> Settings {
    let mut settings = Settings::load_with_env(None, Vec::new()).unwrap();
    settings.server.bind = "127.0.0.1:0".parse().unwrap();
    settings.metrics.bind = "127.0.0.1:0".parse().unwrap();
    settings.web.rate_limit_per_minute = 0;
    settings.server.workers = 2;
    settings.server.shutdown_grace_seconds = 2;
    settings.catalogue.dir = PathBuf::from(FIXTURE);
    settings.database.url = db_url.to_string().into();
    settings.privacy.pseudonym_key = None;
    // the lexical model, so these tests do not depend on a fetched model folder;
    // tests/it/hybrid.rs runs the server with the embedding model
    settings.classifier.model = Some(referral_desk::nlu::ModelKind::Lexical);
    settings
}

/// A date written `YYYY-MM-DD`.
pub fn day(d: &str) -> chrono::NaiveDate {
    d.parse().unwrap()
}

/// Milliseconds since the epoch at `hour`:00 UTC on `date`, as the store keeps times.
pub fn ms(date: &str, hour: u32) -> i64 {
    day(date)
        .and_hms_opt(hour, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("desk.db").display())
}

/// A running app; dropping `stop` (or calling [`TestApp::stop`]) shuts it down gracefully.
pub struct TestApp {
    pub address: SocketAddr,
    /// The metrics listener (`None` when `metrics.enabled` is false).
    pub metrics_address: Option<SocketAddr>,
    pub client: reqwest::Client,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(settings: Settings) -> TestApp {
        let app = Application::build(settings).await.expect("the app starts");
        let address = app.local_addr();
        let metrics_address = app.metrics_addr();
        let state = app.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            metrics_address,
            client: reqwest::Client::new(),
            state,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The Prometheus text of `GET /metrics` on the metrics listener.
    pub async fn metrics(&self) -> String {
        let address = self
            .metrics_address
            .expect("metrics are enabled in this test app");
        self.client
            .get(format!("http://{address}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn store(&self) -> Arc<dyn ConversationStore> {
        self.state.pipeline.store().clone()
    }

    pub async fn ask(&self, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/ask"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn ask_json(&self, body: serde_json::Value) -> serde_json::Value {
        let response = self.ask(body).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Graceful stop: waits for the server and its workers.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

/// Polls `check` until it is true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
pub mod bot_framework;
pub mod dump;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod skip;
pub mod slack;
pub mod web;

#[allow(unused_imports)]
pub use postgres::{PgSchema, postgres_url};
