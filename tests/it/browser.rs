//! The web chat and the reports dashboard in a real browser: headless Chromium, driven over
//! WebDriver (chromedriver), asks a question on the page and sees the referral rendered, as an
//! employee would; logs in to the dashboard and sees its charts, as HRD would.
//!
//! Needs `chromium` and `chromium-driver` (Debian packages; `.ci/services` installs
//! them). Without them the test is skipped visibly (tests/it/support/skip.rs); under `CI` it
//! fails. Set `REFERRAL_DESK_SCREENSHOT=path.png` to save a screenshot after the first reply,
//! and `REFERRAL_DESK_SCREENSHOT_REPORTS=path.png` for one of the reports dashboard.
//!
//! The WebDriver commands go over plain HTTP with `reqwest` (see [`WebDriver`]). fantoccini's
//! `rustls-tls` feature cannot be used here: it brings rustls with the aws-lc-rs provider while
//! reqwest brings ring, so rustls finds two providers and `ClientBuilder::rustls()` panics.

use crate::support;

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::{Value, json};
use support::{TestApp, eventually, sqlite_url, test_settings};

const CHROMIUM: &str = "chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// How long the page may take to show a reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn the_web_chat_page_shows_a_referral_in_a_real_browser() {
    let Some(installed) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(test_settings(&sqlite_url(dir.path()))).await;
    let driver = ChromeDriver::start(&installed).await;
    let browser = driver.new_session().await;

    // Close the browser even when an assertion fails, then report the failure.
    let outcome = AssertUnwindSafe(ask_on_the_page(&browser, &app))
        .catch_unwind()
        .await;
    browser.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    app.stop().await;
}

async fn ask_on_the_page(browser: &WebDriver, app: &TestApp) {
    browser.goto(&app.url("/")).await;
    assert_eq!(browser.title().await, "Referral Desk");

    ask(browser, "wie kan me helpen met Power BI?").await;
    let names = browser
        .wait_for_all(".reply .specialist-name", 1, REPLY_TIMEOUT)
        .await;
    let name = browser.text(&names[0]).await;
    assert!(
        name == "Anna Data" || name == "Carla Charts",
        "expected a data_skills specialist, got {name:?}"
    );
    if let Some(path) = std::env::var_os("REFERRAL_DESK_SCREENSHOT") {
        std::fs::write(&path, browser.screenshot().await).expect("the screenshot is written");
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

    ask(browser, "what is the weather like in Paris tomorrow").await;
    let replies = browser.wait_for_all(".reply", 2, REPLY_TIMEOUT).await;
    let desk = browser
        .find_in(&replies[1], ".desk-name")
        .await
        .expect("the out-of-scope reply names the fallback desk");
    assert_eq!(browser.text(&desk).await, "HRD desk");

    // The session is the server's HttpOnly cookie (issue 13, item 3): the browser keeps it
    // (`Secure`, as served by default, is kept for http://127.0.0.1 too), the page cannot
    // read it, keeps no id of its own, and feedback, which only the asking session may give,
    // goes through.
    let thumbs = browser.find_all(".reply .feedback .thumb").await;
    assert!(
        thumbs.len() >= 2,
        "thumbs up and down under the first reply"
    );
    browser.click(&thumbs[1]).await;
    browser
        .wait_for_all(".reply .feedback-thanks", 1, REPLY_TIMEOUT)
        .await;
    let rows = store.conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].feedback.as_deref(), Some("not_helpful"));
    assert_eq!(
        rows[0].record.asker_key, rows[1].record.asker_key,
        "one browser, one session"
    );
    let visible = browser
        .execute("return [document.cookie, window.localStorage.length];")
        .await;
    assert_eq!(visible, json!(["", 0]), "nothing readable by the page");
}

const REPORT_TOKEN: &str = "browser-report-token-0123456789";

#[tokio::test]
async fn the_reports_dashboard_renders_its_charts_in_a_real_browser() {
    let Some(installed) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.catalogue.dir = "intents".into();
    settings.analytics.enabled = true;
    settings.analytics.tokens = vec![REPORT_TOKEN.to_string().into()];
    let catalogue = referral_desk::catalogue::Catalogue::load("intents").unwrap();
    let end = chrono::Utc::now().date_naive();
    referral_desk::demo::seed_demo(
        &settings,
        &catalogue,
        &referral_desk::demo::SeedOptions {
            conversations: 20_000,
            days: 182,
            end,
            seed: 11,
            force: false,
        },
        None,
    )
    .await
    .unwrap();
    let app = TestApp::spawn(settings).await;
    let driver = ChromeDriver::start(&installed).await;
    let browser = driver.new_session().await;
    let outcome = AssertUnwindSafe(open_the_dashboard(&browser, &app, end))
        .catch_unwind()
        .await;
    browser.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    app.stop().await;
}

async fn open_the_dashboard(browser: &WebDriver, app: &TestApp, end: chrono::NaiveDate) {
    let from = end - chrono::Duration::days(83);
    browser
        .goto(&app.url(&format!(
            "/reports?from={from}&to={end}&lang=en&include_demo=true"
        )))
        .await;
    // the login page is answered with 401 (no session yet), which the console reports;
    // read the log now so only what happens after the login counts
    let before_login = browser.console_errors().await;
    assert!(
        before_login.iter().all(|e| e.contains("401")),
        "{before_login:?}"
    );
    let token = browser
        .find("input[name=token]")
        .await
        .expect("the page asks for a token");
    browser.send_keys(&token, REPORT_TOKEN).await;
    let submit = browser
        .find("form button[type=submit], form input[type=submit]")
        .await
        .expect("a submit button");
    browser.click(&submit).await;
    let charts = browser.wait_for_all("svg", 2, REPLY_TIMEOUT).await;
    assert!(charts.len() >= 2, "{} charts", charts.len());
    let marks = browser
        .find_all("svg path, svg rect, svg polyline, svg circle, svg line")
        .await;
    assert!(
        marks.len() > 20,
        "the charts draw something: {} marks",
        marks.len()
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    // the session cookie keeps the reader logged in
    browser
        .goto(&app.url(&format!(
            "/reports?from={from}&to={end}&lang=nl&granularity=month&include_demo=true"
        )))
        .await;
    assert!(browser.find_all("svg").await.len() >= 2);
    if let Some(path) = std::env::var_os("REFERRAL_DESK_SCREENSHOT_REPORTS") {
        browser
            .goto(&app.url(&format!(
                "/reports?from={from}&to={end}&lang=en&include_demo=true"
            )))
            .await;
        browser.set_window(1280, 2400).await;
        std::fs::write(&path, browser.screenshot().await).expect("the screenshot is written");
        eprintln!("screenshot saved to {}", Path::new(&path).display());
    }
}

/// Types `question` into the chat box and presses the send button.
async fn ask(browser: &WebDriver, question: &str) {
    let input = browser.find("#question").await.expect("the question box");
    browser.clear(&input).await;
    browser.send_keys(&input, question).await;
    let send = browser.find("#send").await.expect("the send button");
    browser.click(&send).await;
}

/// Chromium and chromedriver, both found on `PATH`.
struct Installed {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// The browser to use, or `None` (after the test was marked skipped) when it is not installed.
/// Under CI (`CI` set) a missing browser is a failure, not a skip.
fn browser_or_skip() -> Option<Installed> {
    let chromium = find_in_path(CHROMIUM);
    let chromedriver = find_in_path(CHROMEDRIVER);
    let mut missing = Vec::new();
    if chromium.is_none() {
        missing.push(CHROMIUM);
    }
    if chromedriver.is_none() {
        missing.push(CHROMEDRIVER);
    }
    if let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) {
        return Some(Installed {
            chromium,
            chromedriver,
        });
    }
    support::skip::skip(
        "no browser",
        &format!(
            "{} not found; install chromium and chromium-driver (.ci/services does)",
            missing.join(" and ")
        ),
    );
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
    chromium: PathBuf,
    url: String,
    http: reqwest::Client,
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    async fn start(installed: &Installed) -> ChromeDriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(&installed.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = ChromeDriver {
            child,
            chromium: installed.chromium.clone(),
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            profile: tempfile::tempdir().unwrap(),
        };
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&mut self) {
        let status = format!("{}/status", self.url);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = self
                .http
                .get(&status)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(response) = answer
                && let Ok(body) = response.json::<Value>().await
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

    /// Starts headless Chromium with a fresh profile.
    async fn new_session(&self) -> WebDriver {
        let options = json!({
            "binary": self.chromium,
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
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": options,
                "goog:loggingPrefs": {"browser": "ALL"},
            }}
        });
        let mut browser = WebDriver {
            http: self.http.clone(),
            session: format!("{}/session", self.url),
        };
        let created = browser
            .command(reqwest::Method::POST, "", Some(capabilities))
            .await
            .expect("chromedriver starts a headless Chromium session");
        let id = created["sessionId"].as_str().expect("a session id");
        browser.session = format!("{}/session/{id}", self.url);
        browser
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One WebDriver session: the few W3C commands this test needs, over plain HTTP.
struct WebDriver {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
}

impl WebDriver {
    /// Sends a command; `Ok(value)` or `Err("error: message")` from the WebDriver answer.
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.session);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
        let mut answer: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
        let value = answer["value"].take();
        match value["error"].as_str() {
            Some(error) => Err(format!("{error}: {}", value["message"])),
            None => Ok(value),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body))
            .await
            .unwrap_or_else(|e| panic!("WebDriver POST {path}: {e}"))
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None)
            .await
            .unwrap_or_else(|e| panic!("WebDriver GET {path}: {e}"))
    }

    /// Runs `script` in the page and returns its result.
    async fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    async fn title(&self) -> String {
        self.get("/title").await.as_str().unwrap().to_string()
    }

    /// The first element matching the CSS `selector`, or the WebDriver error.
    async fn find(&self, selector: &str) -> Result<String, String> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": selector})),
            )
            .await?;
        Ok(element_id(&found))
    }

    /// The first element matching the CSS `selector` inside `element`.
    async fn find_in(&self, element: &str, selector: &str) -> Result<String, String> {
        let found = self
            .command(
                reqwest::Method::POST,
                &format!("/element/{element}/element"),
                Some(json!({"using": "css selector", "value": selector})),
            )
            .await?;
        Ok(element_id(&found))
    }

    async fn find_all(&self, selector: &str) -> Vec<String> {
        let found = self
            .post(
                "/elements",
                json!({"using": "css selector", "value": selector}),
            )
            .await;
        found.as_array().unwrap().iter().map(element_id).collect()
    }

    /// Waits (bounded) until at least `count` elements match `selector`; returns them all.
    async fn wait_for_all(&self, selector: &str, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.find_all(selector).await;
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} `{selector}` within {timeout:?}, the page shows {}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn clear(&self, element: &str) {
        self.post(&format!("/element/{element}/clear"), json!({}))
            .await;
    }

    async fn send_keys(&self, element: &str, text: &str) {
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    async fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    async fn text(&self, element: &str) -> String {
        let text = self.get(&format!("/element/{element}/text")).await;
        text.as_str().unwrap().to_string()
    }

    /// A PNG of the viewport.
    async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.get("/screenshot").await;
        base64_decode(encoded.as_str().expect("base64 PNG"))
    }

    /// The browser console's messages at level SEVERE (errors), through chromedriver's log
    /// endpoint.
    async fn console_errors(&self) -> Vec<String> {
        let entries = self.post("/se/log", json!({"type": "browser"})).await;
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn set_window(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Ends the session, which closes the browser.
    async fn close(&self) {
        let _ = self.command(reqwest::Method::DELETE, "", None).await;
    }
}

fn element_id(found: &Value) -> String {
    found[ELEMENT]
        .as_str()
        .expect("a WebDriver element reference")
        .to_string()
}

/// Standard base64, as WebDriver sends screenshots.
fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .expect("base64 PNG")
}
