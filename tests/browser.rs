//! The web chat in a real browser: headless Chromium, driven over WebDriver (chromedriver),
//! asks a question on the page and sees the referral rendered, as an employee would.
//!
//! Needs `chromium` and `chromium-driver` (Debian packages; `.ci/run` installs them). Without
//! them the test prints SKIPPED and passes, unless the environment variable `CI` is set: then
//! it fails. Set `REFERRAL_DESK_SCREENSHOT=path.png` to save a screenshot after the first reply.

mod support;

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::json;
use support::{TestApp, eventually, sqlite_url, test_settings};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// How long the page may take to show a reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn the_web_chat_page_shows_a_referral_in_a_real_browser() {
    let Some(chromedriver) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(test_settings(&sqlite_url(dir.path()))).await;
    let driver = ChromeDriver::start(&chromedriver).await;
    let client = driver.connect().await;

    // Close the browser session even when an assertion fails, then report the failure.
    let outcome = AssertUnwindSafe(ask_on_the_page(&client, &app))
        .catch_unwind()
        .await;
    let _ = client.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    app.stop().await;
}

async fn ask_on_the_page(client: &Client, app: &TestApp) {
    client.goto(&app.url("/")).await.expect("the page loads");
    assert_eq!(client.title().await.unwrap(), "Referral Desk");

    ask(client, "wie kan me helpen met Power BI?").await;
    let name = client
        .wait()
        .at_most(REPLY_TIMEOUT)
        .for_element(Locator::Css(".reply .specialist-name"))
        .await
        .expect("a reply with a specialist card appears");
    let name = name.text().await.unwrap();
    assert!(
        name == "Anna Data" || name == "Carla Charts",
        "expected a data_skills specialist, got {name:?}"
    );
    if let Some(path) = std::env::var_os("REFERRAL_DESK_SCREENSHOT") {
        let png = client.screenshot().await.expect("a screenshot");
        std::fs::write(&path, png).expect("the screenshot is written");
        eprintln!("screenshot saved to {}", Path::new(&path).display());
    }

    let store = app.store();
    let logged = eventually(Duration::from_secs(5), || {
        let store = store.clone();
        async move { store.conversations(0, 10).await.unwrap().len() == 1 }
    })
    .await;
    let rows = store.conversations(0, 10).await.unwrap();
    assert!(logged, "one question logged, found {} rows", rows.len());
    assert_eq!(rows[0].record.intent.as_deref(), Some("data_skills"));

    ask(client, "what is the weather like in Paris tomorrow").await;
    let replies = wait_for_replies(client, 2).await;
    let desk = replies[1]
        .find(Locator::Css(".desk-name"))
        .await
        .expect("the out-of-scope reply names the fallback desk");
    assert_eq!(desk.text().await.unwrap(), "HRD desk");
}

/// Types `question` into the chat box and presses the send button.
async fn ask(client: &Client, question: &str) {
    let input = client.find(Locator::Id("question")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(question).await.unwrap();
    client
        .find(Locator::Id("send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits (bounded) until the page shows at least `count` replies.
async fn wait_for_replies(client: &Client, count: usize) -> Vec<fantoccini::elements::Element> {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    loop {
        let replies = client.find_all(Locator::Css(".reply")).await.unwrap();
        if replies.len() >= count {
            return replies;
        }
        assert!(
            Instant::now() < deadline,
            "{count} replies expected within {REPLY_TIMEOUT:?}, the page shows {}",
            replies.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chromedriver to use, or `None` (after printing SKIPPED) when no browser is installed.
/// Under CI (`CI` set) a missing browser is a failure, not a skip.
fn browser_or_skip() -> Option<PathBuf> {
    let chromedriver = find_in_path(CHROMEDRIVER);
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).is_file() {
        missing.push(CHROMIUM);
    }
    if chromedriver.is_none() {
        missing.push(CHROMEDRIVER);
    }
    if missing.is_empty() {
        return chromedriver;
    }
    let message = format!(
        "browser test: {} not found; install chromium and chromium-driver (.ci/run does)",
        missing.join(" and ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set, so this fails instead of skipping)");
    }
    eprintln!("SKIPPED: {message}");
    None
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A chromedriver process on a free loopback port, killed on drop (also when a test panics),
/// with a fresh browser profile directory that is removed after it.
struct ChromeDriver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    async fn start(program: &Path) -> ChromeDriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = ChromeDriver {
            child,
            port,
            profile: tempfile::tempdir().unwrap(),
        };
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&mut self) {
        let status = format!("http://127.0.0.1:{}/status", self.port);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = http.get(&status).send().await
                && let Ok(body) = response.json::<serde_json::Value>().await
                && body["value"]["ready"] == true
            {
                return;
            }
            if let Some(exit) = self.child.try_wait().unwrap() {
                panic!("chromedriver exited before it was ready: {exit}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer {status} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn connect(&self) -> Client {
        let options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1000,900",
                format!("--user-data-dir={}", self.profile.path().display()),
            ],
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        ClientBuilder::rustls()
            .expect("a TLS configuration")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("chromedriver starts a headless Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
