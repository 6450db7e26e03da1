//! Demand reports: k-anonymity against subtraction, access control, the same numbers in every
//! format and on both databases, emerging topics on seeded data, and draft intents that pass
//! the catalogue check.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use referral_desk::analytics::seed::{SeedOptions, SeedSummary, seed_demo};
use referral_desk::analytics::{
    Cell, DemandReport, Granularity, ReportPolicy, ReportRequest, Series, compute,
};
use referral_desk::catalogue::Catalogue;
use referral_desk::config::Settings;
use referral_desk::store::{self, ConversationRecord, ConversationStore, NewInboxItem};
use serde_json::{Value, json};
use support::{FIXTURE, PgSchema, TestApp, sqlite_url, test_settings};

const TOKEN: &str = "report-token-0123456789abcdef";
const K: u32 = 5;

fn day(d: &str) -> NaiveDate {
    d.parse().unwrap()
}

fn ms(date: &str, hour: u32) -> i64 {
    day(date)
        .and_hms_opt(hour, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

/// One logged conversation; returns its id.
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
    *n += 1;
    let asker_key = format!("{asker:0>64}");
    let item = NewInboxItem {
        delivery_id: format!("test:{n}"),
        channel: "web".into(),
        conversation: "c".into(),
        asker_key: asker_key.clone(),
        department: Some(department.into()),
        text: question.into(),
        context: json!({}),
        received_ms: at,
    };
    let record = ConversationRecord {
        received_ms: at,
        channel: "web".into(),
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
        .log_answered(&item, &record, &json!({}), at)
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
    }
}

fn request(by_department: bool) -> ReportRequest {
    ReportRequest {
        from: day("2026-10-05"),
        to: day("2026-10-18"),
        granularity: Granularity::Week,
        by_department,
    }
}

/// The attacker: every published table's arithmetic. A hidden figure is exposed when a shown
/// total has exactly one hidden part.
fn exposed(report: &DemandReport) -> Vec<String> {
    let mut found = Vec::new();
    let mut check = |what: String, total: Cell, parts: Vec<Cell>| {
        if !total.is_suppressed() && parts.iter().filter(|c| c.is_suppressed()).count() == 1 {
            found.push(what);
        }
    };
    let rows = |s: &Series| (s.total, s.cells.clone());
    let periods = report.periods.len();
    let (total, cells) = rows(&report.totals);
    check("totals over periods".into(), total, cells);
    for t in &report.topics {
        let (total, cells) = rows(&t.series);
        check(format!("{} over periods", t.intent), total, cells);
    }
    for p in 0..periods {
        check(
            format!("topics in period {p}"),
            report.totals.cells[p],
            report.topics.iter().map(|t| t.series.cells[p]).collect(),
        );
    }
    check(
        "topics over the range".into(),
        report.totals.total,
        report.topics.iter().map(|t| t.series.total).collect(),
    );
    for row in &report.outcomes {
        check(
            format!("outcomes of {:?}", row.intent),
            row.total,
            row.outcomes.iter().map(|(_, c)| *c).collect(),
        );
    }
    for (o, (outcome, all)) in report.outcomes[0].outcomes.iter().enumerate() {
        check(
            format!("{outcome:?} over topics"),
            *all,
            report.outcomes[1..]
                .iter()
                .map(|r| r.outcomes[o].1)
                .collect(),
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
        }
        for (t, topic) in report.topics.iter().enumerate() {
            check(
                format!("{} by department", topic.intent),
                topic.series.total,
                departments
                    .iter()
                    .map(|d| d.topics[t].series.total)
                    .collect(),
            );
        }
        for d in departments {
            let (total, cells) = rows(&d.totals);
            check(format!("{} over periods", d.department), total, cells);
            for p in 0..periods {
                check(
                    format!("{} topics in period {p}", d.department),
                    d.totals.cells[p],
                    d.topics.iter().map(|t| t.series.cells[p]).collect(),
                );
            }
            for t in &d.topics {
                let (total, cells) = rows(&t.series);
                check(
                    format!("{} {} over periods", d.department, t.intent),
                    total,
                    cells,
                );
            }
        }
    }
    for s in &report.specialists {
        let (total, cells) = rows(&s.referrals);
        check(format!("{} over periods", s.specialist), total, cells);
    }
    found
}

fn shown(cell: Cell) -> Option<u32> {
    cell.askers()
}

/// Week 41: 10 askers about data skills, 6 about leave, 1 about the training budget (the
/// person to protect), all from Finance except the one, who is the only asker from Legal.
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
async fn no_hidden_figure_can_be_computed_from_totals_across_topics_periods_and_departments() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&test_settings(&sqlite_url(dir.path())).database)
        .await
        .unwrap();
    subtraction_log(store.as_ref()).await;
    let catalogue = Catalogue::load(FIXTURE).unwrap();

    // What a naive report (hide only cells under k) would publish for week 41:
    // all questions 17, data skills 10, leave 6 => training budget = 17 - 10 - 6 = 1, and
    // Finance 16 of 17 => the Legal cell is 1: one person's topic and department.
    let report = compute(store.as_ref(), &catalogue, &policy(), &request(true))
        .await
        .unwrap();
    let topic = |id: &str| report.topics.iter().find(|t| t.intent == id).unwrap();
    assert_eq!(report.periods[0].label, "2026-W41");
    assert_eq!(shown(topic("data_skills").series.cells[0]), Some(10));
    assert!(topic("training_budget").series.cells[0].is_suppressed());
    let week_total = report.totals.cells[0];
    let data = shown(topic("data_skills").series.cells[0]).unwrap_or(0);
    let leave = shown(topic("leave").series.cells[0]);
    assert!(
        week_total.is_suppressed() || leave.is_none(),
        "17 - 10 - 6 would give the hidden figure: total {week_total:?}, data {data}, leave {leave:?}"
    );
    assert!(report.suppressed_small > 0 && report.suppressed_complementary > 0);
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
    let catalogue = Catalogue::load("intents").unwrap();
    seed_demo(
        settings,
        &catalogue,
        &SeedOptions {
            conversations,
            days: 91,
            end: day("2026-11-22"),
            seed: 7,
        },
        None,
    )
    .await
    .unwrap()
}

/// Every shown cell of the JSON report, keyed by where it is.
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
    let range = [
        "--from",
        "2026-09-01",
        "--to",
        "2026-11-22",
        "--granularity",
        "month",
    ];
    let run = |format: &str| {
        let mut args = vec!["report"];
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
    let mut pairs = std::collections::BTreeSet::new();
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
    let schema = PgSchema::create().await;
    let mut postgres = seeded_settings(&schema.url);
    postgres.privacy.pseudonym_key = Some("0".repeat(64).into());
    seed(&sqlite, 4_000).await;
    seed(&postgres, 4_000).await;
    let catalogue = Catalogue::load("intents").unwrap();
    let mut reports = Vec::new();
    for settings in [&sqlite, &postgres] {
        let store: Arc<dyn ConversationStore> = store::connect(&settings.database).await.unwrap();
        let mut report = compute(
            store.as_ref(),
            &catalogue,
            &policy(),
            &ReportRequest {
                from: day("2026-10-05"),
                to: day("2026-11-22"),
                granularity: Granularity::Week,
                by_department: true,
            },
        )
        .await
        .unwrap();
        report.generated_at = chrono::DateTime::default();
        // the figures are the log's: 7 weeks in range, the 7 weeks before as "previous"
        let log = store.conversations(0, 1_000_000).await.unwrap();
        let count = |from: &str, to: &str| {
            log.iter()
                .filter(|c| (ms(from, 0)..ms(to, 0)).contains(&c.record.received_ms))
                .count() as u32
        };
        assert_eq!(
            report.totals.total.conversations(),
            Some(count("2026-10-05", "2026-11-23"))
        );
        assert_eq!(
            report.totals.cells[0].conversations(),
            Some(count("2026-10-05", "2026-10-12"))
        );
        let previous: u32 = report
            .topics
            .iter()
            .map(|t| t.previous.conversations().unwrap_or(0))
            .sum();
        assert!(previous > 0 && previous <= count("2026-08-17", "2026-10-05"));
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
    let report = compute(
        store.as_ref(),
        &catalogue,
        &policy(),
        &ReportRequest {
            from: day("2026-08-24"),
            to: day("2026-11-22"),
            granularity: Granularity::Week,
            by_department: false,
        },
    )
    .await
    .unwrap();
    let keywords: Vec<String> = report
        .emerging
        .iter()
        .map(|t| t.keywords.join(" "))
        .collect();
    for planted in &summary.planted {
        let found = report.emerging.iter().any(|t| {
            t.keywords.iter().any(|k| {
                planted
                    .keywords
                    .iter()
                    .any(|p| k.contains(p) || p.contains(k.as_str()))
            })
        });
        if planted.askers >= K as usize {
            assert!(found, "{} not among {keywords:?}", planted.name);
        } else {
            assert!(
                !found,
                "{} (only {} askers) shown: {keywords:?}",
                planted.name, planted.askers
            );
        }
    }
    for topic in &report.emerging {
        assert!(
            topic.series.total.askers().is_some_and(|a| a >= K),
            "{topic:?}"
        );
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
