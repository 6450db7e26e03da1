//! Demand reports: what a month's published table hides and why, that no combination of
//! reports recovers a hidden figure (an attacker's linear algebra over many random requests),
//! that published months never change, access control, the same numbers in every format and
//! on both databases, emerging topics on seeded data, and draft intents that pass the
//! catalogue check.

use crate::support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use referral_desk::analytics::{
    Cell, DemandReport, Granularity, Hidden, ReportPolicy, ReportRequest, compute,
};
use referral_desk::catalogue::Catalogue;
use referral_desk::config::Settings;
use referral_desk::demo::{SeedOptions, SeedSummary, seed_demo};
use referral_desk::store::{self, ConversationRecord, ConversationStore, NewInboxItem, Rows};
use serde_json::{Value, json};
use support::{FIXTURE, PgSchema, TestApp, day, ms, sqlite_url, test_settings};

const TOKEN: &str = "report-token-0123456789abcdef";
const K: u32 = 5;

/// One logged Slack conversation (Slack users are authenticated askers); returns its id.
#[allow(clippy::too_many_arguments)]
async fn log(
    store: &dyn ConversationStore,
    n: &mut u64,
    asker: &str,
    department: &str,
    intent: Option<&str>,
    route: Value,
    at: i64,
    question: &str,
) -> i64 {
    log_on(
        store, n, "slack", asker, department, intent, route, at, question,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn log_on(
    store: &dyn ConversationStore,
    n: &mut u64,
    channel: &str,
    asker: &str,
    department: &str,
    intent: Option<&str>,
    route: Value,
    at: i64,
    question: &str,
) -> i64 {
    *n += 1;
    let asker_key = format!("{asker:0>64}");
    let item = NewInboxItem {
        delivery_id: format!("test:{n}"),
        channel: channel.into(),
        conversation: "c".into(),
        asker_key: asker_key.clone(),
        department: Some(department.into()),
        text: question.into(),
        context: json!({}),
        received_ms: at,
    };
    let record = ConversationRecord {
        received_ms: at,
        channel: channel.into(),
        asker_key,
        department: Some(department.into()),
        language: "en".into(),
        question: Some(question.into()),
        intent: intent.map(str::to_string),
        confidence: if intent.is_some() { 0.9 } else { 0.2 },
        decision: if intent.is_some() {
            "routed"
        } else {
            "out_of_scope"
        }
        .into(),
        route,
        latency_us: 100,
    };
    match store
        .log_answered(&item, &record, &json!({}), None, at)
        .await
        .unwrap()
    {
        store::Answered::Logged(id) => id,
        other => panic!("{other:?}"),
    }
}

fn policy() -> ReportPolicy {
    ReportPolicy {
        min_group_size: K,
        low_confidence: 0.5,
        release_delay_days: 3,
    }
}

/// The report for `[from, to]` from `store`, as the desk would compute it on `today`.
async fn report_on(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    from: &str,
    to: &str,
    by_department: bool,
    today: &str,
) -> Result<DemandReport, referral_desk::analytics::AnalyticsError> {
    compute(
        store,
        catalogue,
        &policy(),
        &month_request(from, to, by_department),
        day(today),
    )
    .await
}

fn month_request(from: &str, to: &str, by_department: bool) -> ReportRequest {
    ReportRequest {
        from: day(from),
        to: day(to),
        granularity: Granularity::Month,
        by_department,
        include_demo: false,
    }
}

/// As [`report_on`], including the demo data: for the tests over a seeded log (demo rows
/// only, so the figures are the demo tables' own).
async fn demo_report_on(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    from: &str,
    to: &str,
    by_department: bool,
    today: &str,
) -> Result<DemandReport, referral_desk::analytics::AnalyticsError> {
    let request = ReportRequest {
        include_demo: true,
        ..month_request(from, to, by_department)
    };
    compute(store, catalogue, &policy(), &request, day(today)).await
}

/// The attacker of one report: every published table's arithmetic. A hidden figure is
/// exposed when a shown total has exactly one hidden part.
fn exposed(report: &DemandReport) -> Vec<String> {
    let mut found = Vec::new();
    let mut check = |what: String, total: Cell, parts: Vec<Cell>| {
        if !total.is_suppressed() && parts.iter().filter(|c| c.is_suppressed()).count() == 1 {
            found.push(what);
        }
    };
    let periods = report.periods.len();
    for p in 0..periods {
        check(
            format!("topics in period {p}"),
            report.totals.cells[p],
            report.topics.iter().map(|t| t.series.cells[p]).collect(),
        );
    }
    for row in &report.outcomes {
        check(
            format!("outcomes of {:?}", row.intent),
            row.total,
            row.outcomes.iter().map(|(_, c)| *c).collect(),
        );
    }
    if let Some(departments) = &report.departments {
        for p in 0..periods {
            check(
                format!("departments in period {p}"),
                report.totals.cells[p],
                departments.iter().map(|d| d.totals.cells[p]).collect(),
            );
            for (t, topic) in report.topics.iter().enumerate() {
                check(
                    format!("{} by department in period {p}", topic.intent),
                    topic.series.cells[p],
                    departments
                        .iter()
                        .map(|d| d.topics[t].series.cells[p])
                        .collect(),
                );
            }
            for d in departments {
                check(
                    format!("{} topics in period {p}", d.department),
                    d.totals.cells[p],
                    d.topics.iter().map(|t| t.series.cells[p]).collect(),
                );
            }
        }
    }
    found
}

fn shown(cell: Cell) -> Option<u32> {
    cell.askers()
}

/// October 2026: 10 askers about data skills, 6 about leave (twice each), 1 about the
/// training budget (the person to protect), all from Finance except the one, who is the only
/// asker from Legal.
async fn subtraction_log(store: &dyn ConversationStore) {
    let mut n = 0;
    let data = json!({"specialists": ["anna_data"], "knowledge": [], "desk": null, "options": []});
    let leave =
        json!({"specialists": [], "knowledge": ["kb_leave"], "desk": "hrd_desk", "options": []});
    let budget = json!({"specialists": ["bert_budget"], "knowledge": ["kb_budget"], "desk": null, "options": []});
    for week in ["2026-10-06", "2026-10-13"] {
        for a in 0..10 {
            log(
                store,
                &mut n,
                &format!("d{a}"),
                "Finance",
                Some("data_skills"),
                data.clone(),
                ms(week, 9),
                "power bi",
            )
            .await;
        }
        for a in 0..6 {
            log(
                store,
                &mut n,
                &format!("l{a}"),
                "Finance",
                Some("leave"),
                leave.clone(),
                ms(week, 10),
                "holiday",
            )
            .await;
        }
    }
    log(
        store,
        &mut n,
        "victim",
        "Legal",
        Some("training_budget"),
        budget,
        ms("2026-10-07", 11),
        "my budget",
    )
    .await;
}

#[tokio::test]
async fn no_hidden_figure_can_be_computed_from_totals_across_topics_and_departments() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&test_settings(&sqlite_url(dir.path())).database)
        .await
        .unwrap();
    subtraction_log(store.as_ref()).await;
    let catalogue = Catalogue::load(FIXTURE).unwrap();

    // What a naive report (hide only cells under k) would publish for October:
    // all questions 33, data skills 20, leave 12 => training budget = 33 - 20 - 12 = 1, and
    // Finance 32 of 33 => the Legal cell is 1: one person's topic and department.
    let report = report_on(
        store.as_ref(),
        &catalogue,
        "2026-10-01",
        "2026-10-31",
        true,
        "2026-11-10",
    )
    .await
    .unwrap();
    let topic = |id: &str| report.topics.iter().find(|t| t.intent == id).unwrap();
    assert_eq!(report.periods[0].label, "2026-10");
    assert_eq!(shown(topic("data_skills").series.cells[0]), Some(10));
    let budget = topic("training_budget").series.cells[0];
    assert_eq!(budget.reason(), Some(Hidden::FewerThanK));
    let month_total = report.totals.cells[0];
    let leave = shown(topic("leave").series.cells[0]);
    assert!(
        month_total.is_suppressed() || leave.is_none(),
        "33 - 20 - 12 would give the hidden figure: total {month_total:?}, leave {leave:?}"
    );
    assert!(report.suppressed_small > 0 && report.suppressed_complementary > 0);
    // item 2: what is hidden only to protect the budget figure is not marked "< 5"
    let protecting: Vec<Cell> = report
        .cells()
        .into_iter()
        .filter(|c| c.reason() == Some(Hidden::ProtectsOthers))
        .collect();
    assert!(
        !protecting.is_empty(),
        "complementary cells have their own mark"
    );
    let exposures = exposed(&report);
    assert!(
        exposures.is_empty(),
        "derivable hidden figures: {exposures:?}"
    );
    // nor from the specialists' load: Bert's one referral
    let bert = report
        .specialists
        .iter()
        .find(|s| s.specialist == "bert_budget")
        .unwrap();
    assert!(bert.referrals.total.is_suppressed());
    // and the report never carries question texts
    let json = serde_json::to_string(&report).unwrap();
    for text in ["my budget", "power bi", "holiday"] {
        assert!(!json.contains(text), "{text}");
    }
}

async fn reports_app(dir: &Path, enabled: bool) -> TestApp {
    let mut settings = test_settings(&sqlite_url(dir));
    settings.analytics.enabled = enabled;
    settings.analytics.tokens = vec![TOKEN.to_string().into()];
    TestApp::spawn(settings).await
}

async fn metric(app: &TestApp, name: &str) -> String {
    let text = app.metrics().await;
    text.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn while_analytics_are_off_every_report_route_says_so_and_computes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = reports_app(dir.path(), false).await;
    let page = app.client.get(app.url("/reports")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let body = page.text().await.unwrap();
    assert!(body.contains("analytics.enabled"), "{body}");
    assert!(body.to_lowercase().contains("ondernemingsraad") || body.contains("works council"));
    let api = app
        .client
        .get(app.url("/api/v1/reports/demand"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    let login = app
        .client
        .post(app.url("/reports/login"))
        .form(&[("token", TOKEN), ("next", "/reports")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403);
    assert_eq!(
        metric(&app, "referral_desk_reports_total").await,
        "referral_desk_reports_total 0"
    );
    app.stop().await;

    // the CLI refuses too, saying what to set
    let settings_file = dir.path().join("off.toml");
    std::fs::write(
        &settings_file,
        format!("[database]\nurl = \"{}\"\n", sqlite_url(dir.path())),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_referral-desk"))
        .args([
            "report",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
            "--catalogue",
            FIXTURE,
            "--config",
        ])
        .arg(&settings_file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("analytics.enabled") && stderr.contains("works council"),
        "{stderr}"
    );
}

/// Issue 13, item 6: wrong tokens are limited per client, but the right token is always
/// accepted (a stranger cannot lock HRD out), a missing token is no failure, and behind a
/// trusted proxy the clients it names are counted apart.
#[tokio::test]
async fn item6_wrong_tokens_are_limited_per_client_and_the_right_token_always_works() {
    const WRONG: &str = "report-token-0123456789abcdeX";
    let dir = tempfile::tempdir().unwrap();
    let app = reports_app(dir.path(), true).await;
    let api = |token: Option<&str>, forwarded: Option<&str>| {
        let mut request = app
            .client
            .get(app.url("/api/v1/reports/demand?from=2026-10-01&to=2026-10-31"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        request.send()
    };
    assert_eq!(api(Some(TOKEN), None).await.unwrap().status(), 200);
    // unknown parameters could single someone out: refused
    let filtered = app
        .client
        .get(app.url("/api/v1/reports/demand?from=2026-10-01&to=2026-10-31&asker=abc"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.status(), 400);
    // no token is a 401 but no guess: any number of them counts nothing
    for _ in 0..8 {
        assert_eq!(api(None, None).await.unwrap().status(), 401);
    }
    // five wrong tokens from one address, each claiming another address (this peer is no
    // trusted proxy, so its X-Forwarded-For is ignored)
    for n in 0..5 {
        let claimed = format!("198.51.100.{n}");
        assert_eq!(
            api(Some(WRONG), Some(&claimed)).await.unwrap().status(),
            401,
            "wrong token {n}"
        );
    }
    let blocked = api(Some(WRONG), Some("198.51.100.99")).await.unwrap();
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().get("retry-after").is_some());
    // the right token is still accepted from the same address, and a missing one is a 401
    assert_eq!(api(Some(TOKEN), None).await.unwrap().status(), 200);
    assert_eq!(api(None, None).await.unwrap().status(), 401);
    // ... and so is the dashboard login
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |token: &'static str, forwarded: Option<&'static str>| {
        let mut request = no_redirects
            .post(app.url("/reports/login"))
            .form(&[("token", token), ("next", "/reports?lang=en")]);
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        request.send()
    };
    assert_eq!(login(WRONG, None).await.unwrap().status(), 429);
    let right = login(TOKEN, None).await.unwrap();
    assert_eq!(right.status(), 303);
    assert!(right.headers().get("set-cookie").is_some());
    app.stop().await;

    // behind a reverse proxy every reader comes from the proxy's address: the clients it
    // names are counted apart
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.analytics.enabled = true;
    settings.analytics.tokens = vec![TOKEN.to_string().into()];
    settings.server.trusted_proxies = vec!["127.0.0.1".into()];
    let app = TestApp::spawn(settings).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |token: &'static str, forwarded: &'static str| {
        no_redirects
            .post(app.url("/reports/login"))
            .header("x-forwarded-for", forwarded)
            .form(&[("token", token), ("next", "/reports?lang=en")])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(login(WRONG, "203.0.113.66").await.unwrap().status(), 401);
    }
    assert_eq!(login(WRONG, "203.0.113.66").await.unwrap().status(), 429);
    // the reader next to the guesser, through the same proxy, is not blocked
    assert_eq!(login(WRONG, "203.0.113.7").await.unwrap().status(), 401);
    assert_eq!(login(TOKEN, "203.0.113.7").await.unwrap().status(), 303);
    // an empty token field is no failure either
    for _ in 0..6 {
        assert_eq!(login("", "203.0.113.8").await.unwrap().status(), 401);
    }
    assert_eq!(login(WRONG, "203.0.113.8").await.unwrap().status(), 401);
    app.stop().await;

    // the dashboard: login page, a session cookie on the right token, the page with it
    let dir = tempfile::tempdir().unwrap();
    let app = reports_app(dir.path(), true).await;
    let page = app
        .client
        .get(app.url("/reports?lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 401);
    assert!(page.text().await.unwrap().contains("name=\"token\""));
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let wrong = no_redirects
        .post(app.url("/reports/login"))
        .form(&[
            ("token", "wrong-token-0123456789abcdef"),
            ("next", "/reports?lang=en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let login = no_redirects
        .post(app.url("/reports/login"))
        .form(&[("token", TOKEN), ("next", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()["location"], "/reports", "no open redirect");
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    assert!(!session.contains(TOKEN), "the cookie is not the token");
    let page = no_redirects
        .get(app.url("/reports?from=2026-10-01&to=2026-10-31&lang=en"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(page.text().await.unwrap().contains("<svg"));
    let tampered = format!("{}0", session);
    let page = no_redirects
        .get(app.url("/reports"))
        .header("cookie", tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 401);
    app.stop().await;
}

/// Issue 13, item 7: the session cookie's `Secure` flag follows `server.secure_cookies`,
/// not the Host header (a proxy may well send `Host: 127.0.0.1:8080`).
#[tokio::test]
async fn item7_the_report_cookie_is_secure_by_setting_whatever_the_host() {
    for secure in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(&sqlite_url(dir.path()));
        settings.analytics.enabled = true;
        settings.analytics.tokens = vec![TOKEN.to_string().into()];
        settings.server.secure_cookies = secure;
        let app = TestApp::spawn(settings).await;
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for host in ["127.0.0.1:8080", "localhost", "desk.example.nl"] {
            let login = no_redirects
                .post(app.url("/reports/login"))
                .header("host", host)
                .form(&[("token", TOKEN), ("next", "/reports")])
                .send()
                .await
                .unwrap();
            assert_eq!(login.status(), 303);
            let cookie = login.headers()["set-cookie"].to_str().unwrap();
            assert_eq!(
                cookie.contains("; Secure"),
                secure,
                "secure_cookies = {secure}, Host {host}: {cookie}"
            );
        }
        let logout = no_redirects
            .post(app.url("/reports/logout"))
            .send()
            .await
            .unwrap();
        let cleared = logout.headers()["set-cookie"].to_str().unwrap();
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        assert_eq!(cleared.contains("; Secure"), secure, "{cleared}");
        app.stop().await;
    }
}

/// Runs the CLI; its stdout.
fn cli(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_referral-desk"));
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn seeded_settings(url: &str) -> Settings {
    let mut settings = test_settings(url);
    settings.catalogue.dir = "intents".into();
    settings.analytics.enabled = true;
    settings
}

async fn seed(settings: &Settings, conversations: usize) -> SeedSummary {
    seed_until(settings, conversations, 91, "2026-11-22").await
}

async fn seed_until(
    settings: &Settings,
    conversations: usize,
    days: u32,
    end: &str,
) -> SeedSummary {
    let catalogue = Catalogue::load("intents").unwrap();
    seed_demo(
        settings,
        &catalogue,
        &SeedOptions {
            conversations,
            days,
            end: day(end),
            seed: 7,
            force: false,
        },
        None,
    )
    .await
    .unwrap()
}

/// Every shown month figure (with askers) of the JSON report, keyed by where it is.
fn figures(report: &Value, path: String, out: &mut BTreeMap<String, (u64, u64)>) {
    match report {
        Value::Object(map) => {
            if let (Some(a), Some(c)) = (map.get("askers"), map.get("conversations")) {
                out.insert(path, (a.as_u64().unwrap(), c.as_u64().unwrap()));
                return;
            }
            for (k, v) in map {
                figures(v, format!("{path}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                figures(v, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn csv_json_and_html_carry_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let settings = seeded_settings(&url);
    seed(&settings, 6_000).await;
    let env = [
        ("REFERRAL_DESK__DATABASE__URL", url.as_str()),
        ("REFERRAL_DESK__ANALYTICS__ENABLED", "true"),
    ];
    let range = ["--from", "2026-08-01", "--to", "2026-10-31"];
    let run = |format: &str| {
        let mut args = vec!["report", "--include-demo"];
        args.extend(range);
        args.extend(["--format", format, "--lang", "en"]);
        cli(&args, &env)
    };
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let csv_text = run("csv");
    let html = run("html");
    let mut from_json = BTreeMap::new();
    figures(&json, String::new(), &mut from_json);
    assert!(from_json.len() > 50, "a populated report");
    // every (askers, conversations) pair in the JSON is a CSV row, and the HTML shows it
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (askers, conversations, suppressed) =
        (col("askers"), col("conversations"), col("suppressed"));
    let mut pairs = BTreeSet::new();
    let mut hidden = 0;
    for record in reader.records() {
        let record = record.unwrap();
        if &record[suppressed] == "true" {
            assert!(record[askers].is_empty() && record[conversations].is_empty());
            hidden += 1;
        } else if !record[askers].is_empty() {
            pairs.insert((
                record[askers].parse::<u64>().unwrap(),
                record[conversations].parse::<u64>().unwrap(),
            ));
        }
    }
    assert!(
        hidden > 0,
        "some figures are hidden in a 6,000-conversation log"
    );
    for (path, pair) in &from_json {
        assert!(pairs.contains(pair), "{path} {pair:?} missing from the CSV");
    }
    let total = json["totals"]["total"]["conversations"].as_u64().unwrap();
    assert!(
        html.contains(&total.to_string()) || html.contains(&format_thousands(total)),
        "HTML total {total}"
    );
    assert!(html.contains("<svg"));
    assert!(!html.contains("<form"), "the mailed file has no forms");
}

fn format_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test]
async fn sqlite_and_postgresql_give_identical_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = seeded_settings(&sqlite_url(dir.path()));
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let mut postgres = seeded_settings(&schema.url);
    postgres.privacy.pseudonym_key = Some("0".repeat(64).into());
    seed(&sqlite, 4_000).await;
    seed(&postgres, 4_000).await;
    let catalogue = Catalogue::load("intents").unwrap();
    let mut reports = Vec::new();
    for settings in [&sqlite, &postgres] {
        let store: Arc<dyn ConversationStore> = store::connect(&settings.database).await.unwrap();
        let mut report = demo_report_on(
            store.as_ref(),
            &catalogue,
            "2026-10-01",
            "2026-11-30",
            true,
            "2026-12-10",
        )
        .await
        .unwrap();
        report.generated_at = chrono::DateTime::default();
        // the figures are the log's: 2 months in range, the 2 months before as "previous"
        let log = store.conversations(0, 1_000_000).await.unwrap();
        let count = |from: &str, to: &str| {
            log.iter()
                .filter(|c| (ms(from, 0)..ms(to, 0)).contains(&c.record.received_ms))
                .count() as u32
        };
        assert_eq!(
            report.totals.total.conversations(),
            Some(count("2026-10-01", "2026-12-01"))
        );
        assert_eq!(
            report.totals.cells[0].conversations(),
            Some(count("2026-10-01", "2026-11-01"))
        );
        let previous: u32 = report
            .topics
            .iter()
            .map(|t| t.previous.conversations().unwrap_or(0))
            .sum();
        assert!(previous > 0 && previous <= count("2026-08-01", "2026-10-01"));
        assert!(
            !report.rising.is_empty() || !report.falling.is_empty(),
            "changes are ranked"
        );
        reports.push(report);
    }
    assert!(reports[0].totals.total.conversations().unwrap() > 1_500);
    assert_eq!(reports[0], reports[1]);
    schema.drop().await;
}

/// Distinct askers per month of each planted cluster, read from the log (by its keywords).
async fn planted_askers_per_month(
    store: &dyn ConversationStore,
) -> HashMap<(&'static str, String), BTreeSet<String>> {
    let mut out: HashMap<(&'static str, String), BTreeSet<String>> = HashMap::new();
    for c in store.conversations(0, 1_000_000).await.unwrap() {
        let Some(question) = &c.record.question else {
            continue;
        };
        if let Some(planted) = referral_desk::demo::planted_topic_of(question) {
            let month = chrono::DateTime::from_timestamp_millis(c.record.received_ms)
                .unwrap()
                .format("%Y-%m")
                .to_string();
            let asker = if c.record.channel == "web" {
                "web".to_string()
            } else {
                c.record.asker_key.clone()
            };
            out.entry((planted.name, month)).or_default().insert(asker);
        }
    }
    out
}

#[tokio::test]
async fn emerging_topics_find_the_planted_clusters_and_drop_small_ones() {
    let dir = tempfile::tempdir().unwrap();
    let settings = seeded_settings(&sqlite_url(dir.path()));
    let summary = seed(&settings, 8_000).await;
    assert!(
        summary.planted.iter().any(|p| p.askers < K as usize),
        "a tiny cluster is planted"
    );
    let catalogue = Catalogue::load("intents").unwrap();
    let store = store::connect(&settings.database).await.unwrap();
    let report = demo_report_on(
        store.as_ref(),
        &catalogue,
        "2026-09-01",
        "2026-10-31",
        false,
        "2026-12-10",
    )
    .await
    .unwrap();
    let askers = planted_askers_per_month(store.as_ref()).await;
    let mut found_any = false;
    for planted in &summary.planted {
        for period in &report.periods {
            let in_month = askers
                .get(&(planted.name, period.label.clone()))
                .map_or(0, BTreeSet::len);
            let found = report.emerging.iter().any(|t| {
                t.period == period.label
                    && t.keywords.iter().any(|k| {
                        planted
                            .keywords
                            .iter()
                            .any(|p| k.contains(p) || p.contains(k.as_str()))
                    })
            });
            if in_month >= 2 * K as usize {
                assert!(
                    found,
                    "{} ({in_month} askers in {}) not among {:?}",
                    planted.name, period.label, report.emerging
                );
                found_any = true;
            } else if in_month < K as usize {
                assert!(
                    !found,
                    "{} (only {in_month} askers in {}) shown",
                    planted.name, period.label
                );
            }
        }
    }
    assert!(
        found_any,
        "some planted cluster is large enough to be found"
    );
    for topic in &report.emerging {
        assert!(topic.figure.askers().is_some_and(|a| a >= K), "{topic:?}");
    }
}

#[tokio::test]
async fn suggested_intents_pass_the_catalogue_check() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    seed(&seeded_settings(&url), 8_000).await;
    let env = [
        ("REFERRAL_DESK__DATABASE__URL", url.as_str()),
        ("REFERRAL_DESK__ANALYTICS__ENABLED", "true"),
    ];
    let yaml = cli(
        &[
            "suggest-intents",
            "--include-demo",
            "--from",
            "2026-08-24",
            "--to",
            "2026-11-22",
        ],
        &env,
    );
    assert!(yaml.contains("intents:"), "{yaml}");
    let copy = dir.path().join("catalogue");
    copy_dir(Path::new("intents"), &copy);
    std::fs::write(copy.join("suggested.yaml"), &yaml).unwrap();
    let checked = cli(&["check", "--catalogue", copy.to_str().unwrap()], &[]);
    let merged = Catalogue::load(&copy).unwrap();
    let original = Catalogue::load("intents").unwrap();
    assert!(merged.intents.len() > original.intents.len(), "{checked}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

// ---- item 1: combining reports -------------------------------------------------------------

/// Exact linear algebra modulo the prime 2^61 - 1: which linear forms the shown figures
/// determine (a form is determined when it lies in the span of the shown forms and the known
/// relations between the breakdowns).
mod attack {
    use std::collections::{BTreeMap, HashMap};

    const P: u64 = (1 << 61) - 1;

    fn mul(a: u64, b: u64) -> u64 {
        ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
    }

    fn sub(a: u64, b: u64) -> u64 {
        if a >= b { a - b } else { a + P - b }
    }

    fn inverse(a: u64) -> u64 {
        let (mut base, mut exponent, mut result) = (a, P - 2, 1u64);
        while exponent > 0 {
            if exponent & 1 == 1 {
                result = mul(result, base);
            }
            base = mul(base, base);
            exponent >>= 1;
        }
        result
    }

    /// A linear form: unknown index -> coefficient (integers, as residues).
    pub type Form = BTreeMap<usize, i64>;

    fn residues(form: &Form) -> BTreeMap<usize, u64> {
        form.iter()
            .filter(|(_, c)| **c != 0)
            .map(|(&i, &c)| (i, c.rem_euclid(P as i64) as u64))
            .collect()
    }

    /// Rows in echelon form, keyed by their leading unknown.
    #[derive(Default)]
    pub struct Span {
        pivots: HashMap<usize, Vec<(usize, u64)>>,
    }

    impl Span {
        /// `row` reduced until it is zero or leads with an unknown no row leads with.
        fn reduce(&self, form: &Form) -> BTreeMap<usize, u64> {
            let mut work = residues(form);
            while let Some((&lead, &value)) = work.iter().next() {
                let Some(pivot) = self.pivots.get(&lead) else {
                    break;
                };
                for &(c, v) in pivot {
                    let entry = work.entry(c).or_insert(0);
                    *entry = sub(*entry, mul(value, v));
                    if *entry == 0 {
                        work.remove(&c);
                    }
                }
            }
            work
        }

        pub fn insert(&mut self, form: &Form) {
            let row = self.reduce(form);
            let Some((&lead, &value)) = row.iter().next() else {
                return;
            };
            let scale = inverse(value);
            let row: Vec<(usize, u64)> = row.into_iter().map(|(c, v)| (c, mul(v, scale))).collect();
            self.pivots.insert(lead, row);
        }

        pub fn determines(&self, form: &Form) -> bool {
            self.reduce(form).is_empty()
        }

        pub fn rank(&self) -> usize {
            self.pivots.len()
        }
    }
}

/// The attacker's unknowns: per month, the conversations of each (topic, department),
/// (topic, outcome), (topic, feedback) and (specialist, handoff) combination.
#[derive(Default)]
struct Unknowns {
    index: HashMap<(String, u8, String, String), usize>,
}

impl Unknowns {
    fn var(&mut self, month: &str, kind: u8, a: &str, b: &str) -> usize {
        let next = self.index.len();
        *self
            .index
            .entry((month.to_string(), kind, a.to_string(), b.to_string()))
            .or_insert(next)
    }
}

const X: u8 = 0; // topic x department
const Y: u8 = 1; // topic x outcome
const F: u8 = 2; // topic x feedback
const Z: u8 = 3; // specialist x handoff
const OUTCOMES: [&str; 6] = [
    "specialist",
    "knowledge",
    "desk",
    "directory",
    "ambiguous",
    "out_of_scope",
];
const FEEDBACK: [&str; 3] = ["helpful", "not_helpful", "none"];
const HANDOFF: [&str; 2] = ["with", "without"];

struct Dimensions {
    topics: Vec<String>,
    departments: Vec<String>,
    specialists: Vec<String>,
}

/// One figure a report showed or hid, as a form over the unknowns.
struct Figure {
    what: String,
    form: attack::Form,
    shown: Option<u32>,
}

fn months_before(first: &str, n: usize) -> Vec<String> {
    let mut start = day(&format!("{first}-01"));
    let mut out = Vec::new();
    for _ in 0..n {
        start = start.checked_sub_months(chrono::Months::new(1)).unwrap();
        out.insert(0, start.format("%Y-%m").to_string());
    }
    out
}

/// Every linear figure of one JSON report (emerging topics have no linear relation to the
/// others and are checked apart).
fn figures_of(report: &Value, dims: &Dimensions, u: &mut Unknowns) -> Vec<Figure> {
    let months: Vec<String> = report["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap().to_string())
        .collect();
    let previous = months_before(&months[0], months.len());
    let mut out = Vec::new();
    let mut add = |what: String, cell: &Value, terms: Vec<usize>| {
        let mut form = attack::Form::new();
        for t in terms {
            *form.entry(t).or_insert(0) += 1;
        }
        let shown = if cell.get("suppressed").is_some() {
            None
        } else {
            Some(cell["conversations"].as_u64().unwrap() as u32)
        };
        out.push(Figure { what, form, shown });
    };
    // term builders
    let topic_terms = |u: &mut Unknowns, ms: &[String], topic: Option<&str>, dept: Option<&str>| {
        let mut terms = Vec::new();
        for m in ms {
            for t in &dims.topics {
                if topic.is_some_and(|x| x != t) {
                    continue;
                }
                for d in &dims.departments {
                    if dept.is_some_and(|x| x != d) {
                        continue;
                    }
                    terms.push(u.var(m, X, t, d));
                }
            }
        }
        terms
    };
    let breakdown_terms =
        |u: &mut Unknowns, ms: &[String], kind: u8, topic: Option<&str>, items: &[&str]| {
            let mut terms = Vec::new();
            for m in ms {
                for t in &dims.topics {
                    if topic.is_some_and(|x| x != t) {
                        continue;
                    }
                    for i in items {
                        terms.push(u.var(m, kind, t, i));
                    }
                }
            }
            terms
        };
    let specialist_terms = |u: &mut Unknowns, ms: &[String], s: &str, items: &[&str]| {
        let mut terms = Vec::new();
        for m in ms {
            for h in items {
                terms.push(u.var(m, Z, s, h));
            }
        }
        terms
    };
    let one = |i: usize| vec![months[i].clone()];
    let totals = &report["totals"];
    for (i, cell) in totals["cells"].as_array().unwrap().iter().enumerate() {
        add(
            format!("total {}", months[i]),
            cell,
            topic_terms(u, &one(i), None, None),
        );
    }
    add(
        "total range".into(),
        &totals["total"],
        topic_terms(u, &months, None, None),
    );
    for topic in report["topics"].as_array().unwrap() {
        let t = topic["intent"].as_str().unwrap();
        for (i, cell) in topic["series"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            add(
                format!("{t} {}", months[i]),
                cell,
                topic_terms(u, &one(i), Some(t), None),
            );
        }
        add(
            format!("{t} range"),
            &topic["series"]["total"],
            topic_terms(u, &months, Some(t), None),
        );
        add(
            format!("{t} previous"),
            &topic["previous"],
            topic_terms(u, &previous, Some(t), None),
        );
    }
    for row in report["outcomes"].as_array().unwrap() {
        let t = row["intent"].as_str();
        let name = t.unwrap_or("all");
        for (o, pair) in row["outcomes"].as_array().unwrap().iter().enumerate() {
            add(
                format!("outcome {name} {}", OUTCOMES[o]),
                &pair[1],
                breakdown_terms(u, &months, Y, t, &[OUTCOMES[o]]),
            );
        }
        add(
            format!("outcome {name} total"),
            &row["total"],
            topic_terms(u, &months, t, None),
        );
        add(
            format!("not helpful {name}"),
            &row["not_helpful"]["part"],
            breakdown_terms(u, &months, F, t, &["not_helpful"]),
        );
        add(
            format!("feedback {name}"),
            &row["not_helpful"]["whole"],
            breakdown_terms(u, &months, F, t, &["helpful", "not_helpful"]),
        );
    }
    if let Some(departments) = report["departments"].as_array() {
        for block in departments {
            let d = block["department"].as_str().unwrap();
            for (i, cell) in block["totals"]["cells"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
            {
                add(
                    format!("{d} {}", months[i]),
                    cell,
                    topic_terms(u, &one(i), None, Some(d)),
                );
            }
            add(
                format!("{d} range"),
                &block["totals"]["total"],
                topic_terms(u, &months, None, Some(d)),
            );
            for topic in block["topics"].as_array().unwrap() {
                let t = topic["intent"].as_str().unwrap();
                for (i, cell) in topic["series"]["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                {
                    add(
                        format!("{d}/{t} {}", months[i]),
                        cell,
                        topic_terms(u, &one(i), Some(t), Some(d)),
                    );
                }
                add(
                    format!("{d}/{t} range"),
                    &topic["series"]["total"],
                    topic_terms(u, &months, Some(t), Some(d)),
                );
                add(
                    format!("{d}/{t} previous"),
                    &topic["previous"],
                    topic_terms(u, &previous, Some(t), Some(d)),
                );
            }
        }
    }
    for row in report["specialists"].as_array().unwrap() {
        let s = row["specialist"].as_str().unwrap();
        for (i, cell) in row["referrals"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            add(
                format!("{s} {}", months[i]),
                cell,
                specialist_terms(u, &one(i), s, &HANDOFF),
            );
        }
        add(
            format!("{s} range"),
            &row["referrals"]["total"],
            specialist_terms(u, &months, s, &HANDOFF),
        );
        add(
            format!("{s} handoffs"),
            &row["handoffs"]["part"],
            specialist_terms(u, &months, s, &["with"]),
        );
        add(
            format!("{s} referrals"),
            &row["handoffs"]["whole"],
            specialist_terms(u, &months, s, &HANDOFF),
        );
    }
    out
}

/// The true value of every unknown, counted from the log the way the reports count.
async fn true_values(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    u: &mut Unknowns,
) -> HashMap<usize, i64> {
    let mut values: HashMap<usize, i64> = HashMap::new();
    for c in store.conversations(0, 10_000_000).await.unwrap() {
        let r = &c.record;
        let month = chrono::DateTime::from_timestamp_millis(r.received_ms)
            .unwrap()
            .format("%Y-%m")
            .to_string();
        let topic = r
            .intent
            .as_deref()
            .filter(|i| catalogue.intent(i).is_some())
            .unwrap_or("_other");
        let department = r.department.as_deref().unwrap_or("(unknown)");
        let feedback = c.feedback.as_deref().unwrap_or("none");
        let outcome = r.outcome();
        for (kind, b) in [(X, department), (Y, outcome), (F, feedback)] {
            *values.entry(u.var(&month, kind, topic, b)).or_default() += 1;
        }
        if outcome == "specialist"
            && let Some(s) = r.referred_specialist()
        {
            let s = if catalogue.specialist(s).is_some() {
                s
            } else {
                "_other"
            };
            let h = if c.handoff { "with" } else { "without" };
            *values.entry(u.var(&month, Z, s, h)).or_default() += 1;
        }
    }
    values
}

/// Issue 13, item 1: many ordinary requests (random overlapping ranges, with and without
/// departments, the granularities that are refused) over a seeded 20,000-conversation log,
/// then everything an attacker can do with the answers: exact linear algebra over all shown
/// figures and the known relations between the breakdowns (differences of nested ranges,
/// margins minus shown parts, the department toggle are all special cases), plus the direct
/// checks that a shown total minus its shown parts, or a range minus a nested one, never
/// leaves a group smaller than k. No hidden figure may be determined (0 excepted: nobody),
/// and every report must be a view of the same published figures.
#[tokio::test]
async fn item1_no_combination_of_reports_determines_a_hidden_figure() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let mut settings = seeded_settings(&sqlite_url(dir.path()));
    settings.analytics.tokens = vec![TOKEN.to_string().into()];
    seed_until(&settings, 20_000, 183, "2026-10-01").await;
    let catalogue = Catalogue::load("intents").unwrap();
    let app = TestApp::spawn(settings).await;
    let get = |query: String| {
        app.client
            .get(app.url(&format!("/api/v1/reports/demand?{query}&include_demo=true")))
            .bearer_auth(TOKEN)
            .send()
    };
    // other granularities are refused, with the reason
    for granularity in ["day", "week"] {
        let refused = get(format!(
            "from=2026-06-01&to=2026-06-30&granularity={granularity}"
        ))
        .await
        .unwrap();
        assert_eq!(refused.status(), 400);
        assert!(refused.text().await.unwrap().contains("granularity=month"));
    }
    // the requests: every single month, nested ranges, the department toggle, and random
    let mut queries: Vec<String> = Vec::new();
    for m in 3..=10 {
        queries.push(format!(
            "from=2026-{m:02}-01&to=2026-{m:02}-28&by_department=true"
        ));
    }
    for (from, to) in [
        ("2026-04-01", "2026-09-30"),
        ("2026-04-16", "2026-09-22"),
        ("2026-05-01", "2026-09-21"),
        ("2026-06-10", "2026-08-31"),
    ] {
        queries.push(format!("from={from}&to={to}"));
        queries.push(format!("from={from}&to={to}&by_department=true"));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let first = day("2026-02-01");
    for _ in 0..40 {
        let from = first + chrono::Duration::days(rng.random_range(0..260));
        let to = from + chrono::Duration::days(rng.random_range(0..240));
        let departments = rng.random_bool(0.5);
        queries.push(format!("from={from}&to={to}&by_department={departments}"));
    }
    let mut reports = Vec::new();
    for query in &queries {
        let response = get(query.clone()).await.unwrap();
        match response.status().as_u16() {
            200 => reports.push(response.json::<Value>().await.unwrap()),
            404 => {} // nothing published in that range yet
            status => panic!("{query}: {status} {}", response.text().await.unwrap()),
        }
    }
    assert!(reports.len() > 40, "{} reports", reports.len());

    // the department toggle shows the same figures
    let without_departments = |r: &Value| {
        let mut r = r.clone();
        // the counts of hidden figures count the department rows too
        for key in [
            "departments",
            "generated_at",
            "suppressed_small",
            "suppressed_complementary",
        ] {
            r[key] = Value::Null;
        }
        r
    };
    for pair in reports[8..16].chunks(2) {
        let (a, b) = (without_departments(&pair[0]), without_departments(&pair[1]));
        for key in a.as_object().unwrap().keys() {
            assert_eq!(
                a[key], b[key],
                "{key} differs with the department breakdown"
            );
        }
    }

    let dims = Dimensions {
        topics: reports[0]["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["intent"].as_str().unwrap().to_string())
            .collect(),
        departments: reports
            .iter()
            .filter_map(|r| r["departments"].as_array())
            .flatten()
            .map(|d| d["department"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        specialists: reports[0]["specialists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["specialist"].as_str().unwrap().to_string())
            .collect(),
    };
    let mut unknowns = Unknowns::default();
    let mut figures = Vec::new();
    for report in &reports {
        figures.extend(figures_of(report, &dims, &mut unknowns));
        for topic in report["emerging"].as_array().unwrap() {
            assert!(topic["figure"]["askers"].as_u64().unwrap() >= u64::from(K));
        }
    }
    let truth = true_values(app.store().as_ref(), &catalogue, &mut unknowns).await;
    let value = |form: &attack::Form| -> i64 {
        form.iter()
            .map(|(u, c)| c * truth.get(u).copied().unwrap_or(0))
            .sum()
    };

    // every report is a view of the same figures: one form, one state and one value
    let mut seen: HashMap<&attack::Form, Option<u32>> = HashMap::new();
    for f in &figures {
        if let Some(previous) = seen.insert(&f.form, f.shown) {
            assert_eq!(previous, f.shown, "{} differs between reports", f.what);
        }
        if let Some(shown) = f.shown {
            assert_eq!(
                i64::from(shown),
                value(&f.form),
                "{} is not the log's",
                f.what
            );
        }
    }

    // the attacker's equations: every shown figure, and how the breakdowns relate
    let months: BTreeSet<String> = unknowns.index.keys().map(|k| k.0.clone()).collect();
    let mut span = attack::Span::default();
    for m in &months {
        for t in &dims.topics {
            let by = |kind: u8, items: &[String], u: &mut Unknowns| -> Vec<usize> {
                items.iter().map(|i| u.var(m, kind, t, i)).collect()
            };
            let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            let xs = by(X, &dims.departments, &mut unknowns);
            let ys = by(Y, &strings(&OUTCOMES), &mut unknowns);
            let fs = by(F, &strings(&FEEDBACK), &mut unknowns);
            for (a, b) in [(&xs, &ys), (&ys, &fs)] {
                let mut form = attack::Form::new();
                for &i in a {
                    *form.entry(i).or_insert(0) += 1;
                }
                for &i in b {
                    *form.entry(i).or_insert(0) -= 1;
                }
                span.insert(&form);
            }
        }
        let mut form = attack::Form::new();
        for t in &dims.topics {
            *form.entry(unknowns.var(m, Y, t, "specialist")).or_insert(0) += 1;
        }
        for s in &dims.specialists {
            for h in HANDOFF {
                *form.entry(unknowns.var(m, Z, s, h)).or_insert(0) -= 1;
            }
        }
        span.insert(&form);
    }
    let mut shown_forms = 0;
    for (form, shown) in &seen {
        if shown.is_some() {
            span.insert(form);
            shown_forms += 1;
        }
    }
    let mut hidden = 0;
    let mut recovered = Vec::new();
    for f in figures.iter().filter(|f| f.shown.is_none()) {
        hidden += 1;
        let truth = value(&f.form);
        if truth > 0 && span.determines(&f.form) {
            recovered.push(format!("{} = {truth}", f.what));
        }
    }
    recovered.sort();
    recovered.dedup();
    eprintln!(
        "{} reports, {} figures ({shown_forms} distinct shown, {hidden} hidden), {} unknowns, rank {}, recovered {}",
        reports.len(),
        figures.len(),
        unknowns.index.len(),
        span.rank(),
        recovered.len()
    );
    assert!(hidden > 1_000, "the log has hidden figures to attack");
    assert!(recovered.is_empty(), "recovered: {recovered:#?}");

    // the same attacks by hand, for groups smaller than k: a range minus a nested range,
    // and a shown total minus its shown parts
    let mut small_groups = Vec::new();
    let shown_by_key: Vec<(&str, &attack::Form, u32)> = figures
        .iter()
        .filter_map(|f| f.shown.map(|v| (f.what.as_str(), &f.form, v)))
        .collect();
    let mut distinct: HashMap<&attack::Form, (&str, u32)> = HashMap::new();
    for (what, form, v) in &shown_by_key {
        distinct.insert(form, (what, *v));
    }
    let list: Vec<(&attack::Form, &str, u32)> =
        distinct.iter().map(|(f, (w, v))| (*f, *w, *v)).collect();
    for (a, what_a, va) in &list {
        for (b, what_b, vb) in &list {
            // a nested in b: every unknown of a is in b with the same coefficient
            if a.len() < b.len() && a.iter().all(|(k, c)| b.get(k) == Some(c)) {
                let diff = i64::from(*vb) - i64::from(*va);
                if diff > 0 && diff < i64::from(K) {
                    small_groups.push(format!("{what_b} - {what_a} = {diff}"));
                }
            }
        }
    }
    assert!(small_groups.is_empty(), "small groups: {small_groups:#?}");
    app.stop().await;
}

/// Issue 13, item 1 over time: a published month is never computed again, so late feedback,
/// late conversations, deleted texts or another `min_group_size` cannot produce a second
/// version to subtract from the first.
#[tokio::test]
async fn item1_a_published_month_never_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&test_settings(&sqlite_url(dir.path())).database)
        .await
        .unwrap();
    subtraction_log(store.as_ref()).await;
    let catalogue = Catalogue::load(FIXTURE).unwrap();
    let request = month_request("2026-10-01", "2026-10-31", true);
    let first = compute(
        store.as_ref(),
        &catalogue,
        &policy(),
        &request,
        day("2026-11-10"),
    )
    .await
    .unwrap();
    // a late conversation in October, feedback on an old one, texts purged, a larger k
    let mut n = 1_000;
    let late = log(
        store.as_ref(),
        &mut n,
        "latecomer",
        "Legal",
        Some("training_budget"),
        json!({"specialists": ["bert_budget"], "knowledge": [], "desk": null, "options": []}),
        ms("2026-10-30", 9),
        "late",
    )
    .await;
    store
        .record_feedback(late, false, ms("2026-11-11", 9))
        .await
        .unwrap();
    store
        .record_feedback(1, true, ms("2026-11-11", 9))
        .await
        .unwrap();
    store
        .purge_question_texts(ms("2026-11-12", 0))
        .await
        .unwrap();
    let stricter = ReportPolicy {
        min_group_size: 8,
        ..policy()
    };
    let second = compute(
        store.as_ref(),
        &catalogue,
        &stricter,
        &request,
        day("2026-11-20"),
    )
    .await
    .unwrap();
    let strip = |r: &DemandReport| {
        let mut r = r.clone();
        r.generated_at = chrono::DateTime::default();
        r.min_group_size = 0;
        r
    };
    assert_eq!(strip(&first), strip(&second), "October was published once");
    // a month that is not over is not shown at all
    let running = report_on(
        store.as_ref(),
        &catalogue,
        "2026-10-01",
        "2026-11-30",
        false,
        "2026-11-20",
    )
    .await
    .unwrap();
    assert_eq!(running.periods.len(), 1);
    assert_eq!(running.unpublished[0].label, "2026-11");
    assert_eq!(running.unpublished[0].published_on, day("2026-12-04"));
    assert!(matches!(
        report_on(
            store.as_ref(),
            &catalogue,
            "2026-11-01",
            "2026-11-30",
            false,
            "2026-11-20"
        )
        .await,
        Err(referral_desk::analytics::AnalyticsError::NothingPublished { .. })
    ));
}

/// Issue 13, item 3 (reports): unauthenticated web chat sessions are not people. Six
/// sessions asking about one topic count as one asker; with four Slack users they make five.
#[tokio::test]
async fn item3_web_sessions_cannot_make_one_person_look_like_k_askers() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&test_settings(&sqlite_url(dir.path())).database)
        .await
        .unwrap();
    let route =
        json!({"specialists": [], "knowledge": ["kb_leave"], "desk": "hrd_desk", "options": []});
    let mut n = 0;
    for session in 0..6 {
        for _ in 0..2 {
            log_on(
                store.as_ref(),
                &mut n,
                "web",
                &format!("session{session}"),
                "Finance",
                Some("leave"),
                route.clone(),
                ms("2026-10-05", 9),
                "burn-out",
            )
            .await;
        }
    }
    let catalogue = Catalogue::load(FIXTURE).unwrap();
    let report = |store: Arc<dyn ConversationStore>| {
        let catalogue = catalogue.clone();
        async move {
            report_on(
                store.as_ref(),
                &catalogue,
                "2026-10-01",
                "2026-10-31",
                false,
                "2026-11-10",
            )
            .await
            .unwrap()
        }
    };
    let october = report(store.clone()).await;
    let leave = october.topics.iter().find(|t| t.intent == "leave").unwrap();
    assert_eq!(
        leave.series.cells[0].reason(),
        Some(Hidden::FewerThanK),
        "six web sessions are one asker"
    );

    // the same with four Slack users added, in another database: 4 + 1 = 5 askers
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&test_settings(&sqlite_url(dir.path())).database)
        .await
        .unwrap();
    let mut n = 0;
    for session in 0..6 {
        log_on(
            store.as_ref(),
            &mut n,
            "web",
            &format!("session{session}"),
            "Finance",
            Some("leave"),
            route.clone(),
            ms("2026-10-05", 9),
            "x",
        )
        .await;
    }
    for user in 0..4 {
        log(
            store.as_ref(),
            &mut n,
            &format!("slack{user}"),
            "Finance",
            Some("leave"),
            route.clone(),
            ms("2026-10-06", 9),
            "x",
        )
        .await;
    }
    let october = report(store.clone()).await;
    let leave = october.topics.iter().find(|t| t.intent == "leave").unwrap();
    assert_eq!(leave.series.cells[0].askers(), Some(5), "{leave:?}");
    assert_eq!(leave.series.cells[0].conversations(), Some(10));
}

/// Issue 13, item 1: the rows of a published month are fixed (every catalogue intent and
/// specialist, every department the log has named), so a row's presence never tells that
/// someone asked, and a department that asked nothing that month reads like a small one.
#[tokio::test]
async fn item1_rows_are_fixed_so_their_presence_tells_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&test_settings(&sqlite_url(dir.path())).database)
        .await
        .unwrap();
    subtraction_log(store.as_ref()).await; // October only; Legal asks once
    let catalogue = Catalogue::load(FIXTURE).unwrap();
    let report = report_on(
        store.as_ref(),
        &catalogue,
        "2026-10-01",
        "2026-11-30",
        true,
        "2026-12-10",
    )
    .await
    .unwrap();
    assert_eq!(report.periods.len(), 2);
    let departments = report.departments.as_ref().unwrap();
    let names: Vec<&str> = departments.iter().map(|d| d.department.as_str()).collect();
    assert_eq!(names, ["Finance", "Legal", "(unknown)"]);
    for block in departments {
        // November: nobody asked, and that reads exactly like "fewer than 5"
        assert_eq!(block.totals.cells[1].reason(), Some(Hidden::FewerThanK));
        assert_eq!(block.topics.len(), report.topics.len());
    }
    let ids: Vec<&str> = report.topics.iter().map(|t| t.intent.as_str()).collect();
    let mut expected: Vec<&str> = catalogue.intents.iter().map(|i| i.id.as_str()).collect();
    expected.push("_other");
    assert_eq!(ids, expected, "every intent, asked or not");
    assert_eq!(
        report.specialists.len(),
        catalogue.specialists.len() + 1,
        "every specialist, referred or not, and the row for former ones"
    );
}

/// The server publishes due months every day while reports are on, so a month is frozen
/// while the texts behind its emerging topics are still kept; each month only once.
#[tokio::test]
async fn due_months_are_published_once_without_anyone_asking() {
    use referral_desk::analytics::release::publish_due;
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&test_settings(&sqlite_url(dir.path())).database)
        .await
        .unwrap();
    subtraction_log(store.as_ref()).await;
    let catalogue = Catalogue::load(FIXTURE).unwrap();
    // 3 December: November is not due until the 4th; the twelve months before are
    let published = publish_due(store.as_ref(), &catalogue, &policy(), day("2026-12-03"))
        .await
        .unwrap();
    assert_eq!(published, 11, "December 2025 to October 2026");
    assert!(
        store
            .report_release("2026-10", Rows::Real)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .report_release("2026-11", Rows::Real)
            .await
            .unwrap()
            .is_none()
    );
    // demo tables are published only when a report asks for demo data
    assert!(
        store
            .report_release("2026-10", Rows::Demo)
            .await
            .unwrap()
            .is_none()
    );
    let again = publish_due(store.as_ref(), &catalogue, &policy(), day("2026-12-04"))
        .await
        .unwrap();
    assert_eq!(again, 1, "only November is new");
}
