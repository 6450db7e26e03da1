//! Issue 14: demo data never mixes with real conversations. Through the real CLI binary (and
//! the library on PostgreSQL): reports leave seeded rows out unless asked and then say so,
//! `seed-demo` refuses a database holding real conversations unless `--force`, `--remove`
//! leaves exactly the real rows (every table compared, published months included), and the
//! server's own paths never write a demo-marked row.

use crate::support;

use std::collections::BTreeMap;
use std::process::Output;

use referral_desk::analytics::{ReportPolicy, ReportRequest, compute};
use referral_desk::catalogue::Catalogue;
use referral_desk::config::Settings;
use referral_desk::demo::{SeedError, SeedOptions, remove_demo, seed_demo};
use referral_desk::store::{self, ConversationRecord, ConversationStore, NewInboxItem, Rows};
use serde_json::{Value, json};
use sqlx::Row as _;
use support::{PgSchema, TestApp, day, ms, sqlite_url, test_settings};

/// Settings over the shipped catalogue with reports on.
fn settings(url: &str) -> Settings {
    let mut settings = test_settings(url);
    settings.catalogue.dir = "intents".into();
    settings.analytics.enabled = true;
    settings
}

/// Real conversations as the pipeline records them (Slack askers, who are authenticated, so
/// figures reach k): 9 askers in each of September and October 2026, two or three questions
/// each, some via the outbox (sent or not), with feedback, handoffs and referral load.
async fn log_real(store: &dyn ConversationStore) {
    let intents = ["onboarding", "leave_and_absence", "pay_and_benefits"];
    store
        .register_specialists(&["sanne_jansen".into(), "daan_de_vries".into()])
        .await
        .unwrap();
    let mut n = 0;
    for month in ["2026-09", "2026-10"] {
        for asker in 0..9 {
            for question in 0..(2 + asker % 2) {
                n += 1;
                let at = ms(&format!("{month}-{:02}", 3 + asker * 2 + question), 9);
                let intent = intents[(asker + question) % intents.len()];
                let asker_key = format!("{:0>64}", format!("{month}{asker}").replace('-', ""));
                let specialists = if question == 0 {
                    store
                        .assign_specialist(&["sanne_jansen".into(), "daan_de_vries".into()], at)
                        .await
                        .unwrap()
                } else {
                    Vec::new()
                };
                let item = NewInboxItem {
                    delivery_id: format!("slack:{asker_key}:Ev{n}"),
                    channel: "slack".into(),
                    conversation: "D1".into(),
                    asker_key: asker_key.clone(),
                    department: Some(["Finance", "IT"][asker % 2].into()),
                    text: format!("real question {n}"),
                    context: json!({}),
                    received_ms: at,
                };
                let record = ConversationRecord {
                    received_ms: at,
                    channel: "slack".into(),
                    asker_key,
                    department: item.department.clone(),
                    language: "en".into(),
                    question: Some(format!("real question {n}")),
                    intent: Some(intent.into()),
                    confidence: 0.9,
                    decision: "routed".into(),
                    route: json!({"specialists": specialists, "knowledge": [], "desk": "hrd_desk"}),
                    latency_us: 100,
                };
                let id = if n % 3 == 0 {
                    // the queued path: inbox, then log and outbox
                    let inbox = store.enqueue(&item, None).await.unwrap().id();
                    let done = store
                        .complete(inbox, &record, &json!({}), Some(&json!({"text": "hi"})), at)
                        .await
                        .unwrap()
                        .conversation_id();
                    if n % 2 == 0 {
                        let reply = store.claim_replies(at, at + 1000, 1).await.unwrap();
                        store.mark_replies_sent(&[reply[0].id], at).await.unwrap();
                    }
                    done
                } else {
                    match store
                        .log_answered(&item, &record, &json!({}), None, at)
                        .await
                        .unwrap()
                    {
                        store::Answered::Logged(id) => id,
                        other => panic!("{other:?}"),
                    }
                };
                if n % 4 == 0 {
                    store
                        .record_feedback(id, n % 8 == 0, at + 60_000)
                        .await
                        .unwrap();
                }
                if question == 0 && asker % 3 == 0 {
                    store.record_handoff(id).await.unwrap();
                }
            }
        }
    }
}

/// Opens (and migrates) the database, logs the real conversations, closes it.
async fn real_database(url: &str) {
    let store = store::connect(&settings(url).database).await.unwrap();
    log_real(store.as_ref()).await;
    drop(store);
    // the SQLite store writes referral load with its next batch: give it one
    let store = store::connect(&settings(url).database).await.unwrap();
    assert!(store.holds_conversations(Rows::Real).await.unwrap());
}

/// Every row of every table (but sqlx's own, and PostgreSQL's `replicas`: which processes are
/// alive, written by every connection's heartbeat, no data), each as its columns in text, in
/// key order.
async fn dump(url: &str) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    let mut out = BTreeMap::new();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for table in tables {
            let columns: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            out.insert(table.clone(), rows_of_sqlite(&pool, &table, &columns).await);
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' \
             AND table_name <> 'replicas' ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (table, column) in columns {
            tables.entry(table).or_default().push(column);
        }
        for (table, columns) in tables {
            out.insert(
                table.clone(),
                rows_of_postgres(&pool, &table, &columns).await,
            );
        }
        pool.close().await;
    }
    out
}

macro_rules! rows_of_impl {
    ($name:ident, $db:ty) => {
        async fn $name(
            pool: &sqlx::Pool<$db>,
            table: &str,
            columns: &[String],
        ) -> Vec<Vec<Option<String>>> {
            let select: Vec<String> = columns
                .iter()
                .map(|c| format!("CAST(\"{c}\" AS TEXT)"))
                .collect();
            let order: Vec<String> = (1..=columns.len()).map(|i| i.to_string()).collect();
            sqlx::query(&format!(
                "SELECT {} FROM \"{table}\" ORDER BY {}",
                select.join(", "),
                order.join(", ")
            ))
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (0..columns.len())
                    .map(|i| row.get::<Option<String>, _>(i))
                    .collect()
            })
            .collect()
        }
    };
}
rows_of_impl!(rows_of_sqlite, sqlx::Sqlite);
rows_of_impl!(rows_of_postgres, sqlx::Postgres);

/// `(conversations, inbox rows)` marked as demo data.
async fn marked(url: &str) -> (i64, i64) {
    let query = "SELECT (SELECT COUNT(*) FROM conversations WHERE demo <> 0), \
                 (SELECT COUNT(*) FROM inbox WHERE demo <> 0)";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let found = sqlx::query_as(query).fetch_one(&pool).await.unwrap();
        pool.close().await;
        found
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let found = sqlx::query_as(query).fetch_one(&pool).await.unwrap();
        pool.close().await;
        found
    }
}

/// Runs the CLI against the database at `url` with reports on.
fn cli(args: &[&str], url: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_referral-desk"))
        .args(args)
        .env("REFERRAL_DESK__DATABASE__URL", url)
        .env("REFERRAL_DESK__ANALYTICS__ENABLED", "true")
        .output()
        .unwrap()
}

/// Runs the CLI and returns its standard output; it must succeed.
fn cli_ok(args: &[&str], url: &str) -> String {
    let output = cli(args, url);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `seed-demo` of 3,000 conversations over September and October 2026.
fn seed_args(seed: &str, extra: &[&'static str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "seed-demo",
        "--conversations",
        "3000",
        "--days",
        "61",
        "--end",
        "2026-11-01",
        "--seed",
        seed,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn args_of(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The JSON report of October 2026 (published on 4 November), without its generation time.
fn october_json(url: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "report",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--by-department",
        "--format",
        "json",
    ];
    args.extend(extra);
    let mut report: Value = serde_json::from_str(&cli_ok(&args, url)).unwrap();
    report.as_object_mut().unwrap().remove("generated_at");
    report
}

fn october(url: &str, format: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "report",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--format",
        format,
        "--lang",
        "en",
    ];
    args.extend(extra);
    cli_ok(&args, url)
}

async fn demo_in_october(url: &str) -> u64 {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM conversations WHERE demo = 1 AND received_ms >= $1 \
         AND received_ms < $2",
    )
    .bind(ms("2026-10-01", 0))
    .bind(ms("2026-11-01", 0))
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n as u64
}

async fn demo_tables(url: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM report_releases WHERE demo = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// A database with real and demo rows reports exactly what one with the real rows alone
/// reports; `--include-demo` adds the demo rows in and every format says so.
#[tokio::test]
async fn reports_leave_demo_rows_out_unless_asked_and_then_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let real = format!("sqlite://{}", dir.path().join("real.db").display());
    let mixed = format!("sqlite://{}", dir.path().join("mixed.db").display());
    real_database(&real).await;
    real_database(&mixed).await;
    cli_ok(&args_of(&seed_args("5", &["--force"])), &mixed);
    assert_eq!(marked(&mixed).await, (3000, 3000));

    let only_real = october_json(&real, &[]);
    let total = only_real["totals"]["total"]["conversations"]
        .as_u64()
        .expect("October's real total is shown");
    assert_eq!(total, 22, "9 askers, 2 or 3 questions each");
    assert_eq!(only_real["includes_demo"], json!(false));
    assert_eq!(october_json(&mixed, &[]), only_real, "identical tables");
    for format in ["csv", "html"] {
        let (a, b) = (october(&real, format, &[]), october(&mixed, format, &[]));
        if format == "csv" {
            assert_eq!(a, b);
            assert!(!a.contains("includes_demo"), "{a}");
        } else {
            assert!(!b.contains("Includes demo data"));
        }
    }
    assert_eq!(demo_tables(&mixed).await, 0, "no demo table without asking");

    // asked for: the real figures plus the demo rows, said in every format
    let with_demo = october_json(&mixed, &["--include-demo"]);
    assert_eq!(with_demo["includes_demo"], json!(true));
    assert_eq!(
        with_demo["totals"]["total"]["conversations"].as_u64(),
        Some(total + demo_in_october(&mixed).await)
    );
    // a combined figure is hidden wherever the real one is
    let hidden = |report: &Value| -> Vec<String> {
        report["topics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["series"]["total"]["suppressed"] == json!(true))
            .map(|t| t["intent"].as_str().unwrap().to_string())
            .collect()
    };
    for intent in hidden(&only_real) {
        assert!(hidden(&with_demo).contains(&intent), "{intent}");
    }
    let csv = october(&mixed, "csv", &["--include-demo"]);
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("\"data\",\"includes_demo\"")),
        "{csv}"
    );
    let html = october(&mixed, "html", &["--include-demo"]);
    assert!(html.contains("Includes demo data"));
    assert!(demo_tables(&mixed).await > 0);
    // and the real tables are still what they were
    assert_eq!(october_json(&mixed, &[]), only_real);

    // suggest-intents: real questions only unless asked
    let range = [
        "suggest-intents",
        "--from",
        "2026-09-01",
        "--to",
        "2026-10-31",
    ];
    let real_only = cli_ok(&range, &mixed);
    assert!(
        !real_only.contains("parkeer") && !real_only.contains("parking"),
        "{real_only}"
    );
    let mut with = range.to_vec();
    with.push("--include-demo");
    let suggested = cli_ok(&with, &mixed);
    assert!(
        suggested.contains("parkeer") || suggested.contains("parking"),
        "{suggested}"
    );
}

/// The real server's web chat writes real rows; `seed-demo` then refuses the database, says
/// how to fix it and changes nothing, and `--force` seeds beside them.
#[tokio::test]
async fn seed_demo_refuses_a_database_with_real_conversations_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let app = TestApp::spawn(test_settings(&url)).await;
    let visitor = app.visitor();
    for text in ["how much training budget do I have left?", "hello??"] {
        let answer = visitor.ask_json(json!({"text": text})).await;
        let (status, _) = visitor.feedback(&answer["conversation_id"], true).await;
        assert_eq!(status, 204);
    }
    app.stop().await;
    assert_eq!(marked(&url).await, (0, 0), "the server never marks a row");
    let before = dump(&url).await;
    assert_eq!(before["conversations"].len(), 2);

    let refused = cli(&args_of(&seed_args("5", &[])), &url);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    for needle in [
        "holds 2 real conversations",
        &url,
        "REFERRAL_DESK__DATABASE__URL=sqlite://data/demo.db",
        "--force",
        "nothing was added",
    ] {
        assert!(error.contains(needle), "{needle:?} not in {error}");
    }
    assert_eq!(dump(&url).await, before, "nothing changed");

    let seeded = cli_ok(&args_of(&seed_args("5", &["--force"])), &url);
    assert!(seeded.starts_with("seeded 3000 conversations"), "{seeded}");
    assert_eq!(marked(&url).await, (3000, 3000));
    let after = dump(&url).await;
    assert_eq!(after["conversations"].len(), 3002);
}

/// `--remove` leaves every table exactly as before seeding, also when months were published
/// (real tables before seeding, demo tables after), after two seeds; a second `--remove`
/// finds nothing. The same seed twice is refused without a change.
#[tokio::test]
async fn remove_leaves_exactly_the_real_rows_even_after_publishing() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    real_database(&url).await;
    // every due month's real table is published before seeding
    let catalogue = Catalogue::load("intents").unwrap();
    let store = store::connect(&settings(&url).database).await.unwrap();
    let published = referral_desk::analytics::release::publish_due(
        store.as_ref(),
        &catalogue,
        &ReportPolicy::from_settings(&settings(&url).analytics),
        chrono::Utc::now().date_naive(),
    )
    .await
    .unwrap();
    assert!(published >= 2);
    drop(store);
    let before = dump(&url).await;
    assert!(before["outbox"].len() > 3 && before["specialist_load"].len() == 2);

    cli_ok(&args_of(&seed_args("5", &["--force"])), &url);
    let once = dump(&url).await;
    let again = cli(&args_of(&seed_args("5", &["--force"])), &url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--seed 5"));
    assert_eq!(
        dump(&url).await,
        once,
        "the same seed twice changes nothing"
    );
    cli_ok(&args_of(&seed_args("6", &["--force"])), &url);
    // demo tables published by a report that asks for them
    october_json(&url, &["--include-demo"]);
    assert!(demo_tables(&url).await >= 2);
    assert_eq!(
        before["specialist_load"],
        dump(&url).await["specialist_load"]
    );

    let removed = cli_ok(&["seed-demo", "--remove"], &url);
    assert!(
        removed.contains("6000 conversations, 6000 inbox, 0 outbox, 2 report_releases"),
        "{removed}"
    );
    assert_eq!(dump(&url).await, before);
    let nothing = cli_ok(&["seed-demo", "--remove"], &url);
    assert!(
        nothing.contains("0 conversations, 0 inbox, 0 outbox, 0 report_releases"),
        "{nothing}"
    );
    assert_eq!(dump(&url).await, before);
}

/// PostgreSQL: seeded rows are the very rows SQLite gets for the same seed, all marked; the
/// database with real rows is refused unless forced; reports leave the rows out; removal
/// restores every table.
#[tokio::test]
async fn postgres_marks_seeded_rows_and_removes_exactly_them() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_url(dir.path());
    let catalogue = Catalogue::load("intents").unwrap();
    let options = |force| SeedOptions {
        conversations: 2500,
        days: 61,
        end: day("2026-11-01"),
        seed: 5,
        force,
    };
    let pg = settings(&schema.url);
    let checked = async {
        // the same rows on both backends (SQLite's are checked in detail by the unit tests)
        seed_demo(&settings(&sqlite), &catalogue, &options(false), None)
            .await
            .unwrap();
        seed_demo(&pg, &catalogue, &options(false), None)
            .await
            .expect("seeding PostgreSQL works");
        let conversations = |dump: &BTreeMap<String, Vec<Vec<Option<String>>>>| {
            // without the float column, which the backends print differently
            dump["conversations"]
                .iter()
                .map(|row| [&row[..9], &row[10..]].concat())
                .collect::<Vec<_>>()
        };
        let (on_sqlite, on_pg) = (dump(&sqlite).await, dump(&schema.url).await);
        assert_eq!(conversations(&on_pg), conversations(&on_sqlite));
        assert_eq!(on_pg["inbox"], on_sqlite["inbox"]);
        assert_eq!(marked(&schema.url).await, (2500, 2500));
        // the identity columns carry on after the explicit ids
        let pool = sqlx::PgPool::connect(&schema.url).await.unwrap();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inbox (delivery_id, channel, conversation, asker_key, received_ms) \
             VALUES ('web:after', 'web', 'x', 'y', 0) RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(id, 2501);
        sqlx::query("DELETE FROM inbox WHERE id = 2501")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        // start over with real rows: removal, then real conversations, then a refusal
        remove_demo(&pg).await.unwrap();
        assert_eq!(marked(&schema.url).await, (0, 0));
        real_database(&schema.url).await;
        let before = dump(&schema.url).await;
        let refused = seed_demo(&pg, &catalogue, &options(false), None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused.downcast_ref::<SeedError>(),
                Some(SeedError::RealConversations {
                    conversations: 44,
                    ..
                })
            ),
            "{refused:#}"
        );
        assert_eq!(dump(&schema.url).await, before);
        seed_demo(&pg, &catalogue, &options(true), None)
            .await
            .unwrap();
        assert_eq!(marked(&schema.url).await, (2500, 2500));
        // reports: the real figures only, unless asked
        let store = store::connect(&pg.database).await.unwrap();
        let policy = ReportPolicy::from_settings(&pg.analytics);
        let request = |include_demo| ReportRequest {
            from: day("2026-10-01"),
            to: day("2026-10-31"),
            granularity: Default::default(),
            by_department: true,
            include_demo,
        };
        let today = day("2026-12-02");
        let mut real = compute(store.as_ref(), &catalogue, &policy, &request(false), today)
            .await
            .unwrap();
        let mut with_demo = compute(store.as_ref(), &catalogue, &policy, &request(true), today)
            .await
            .unwrap();
        assert_eq!(real.totals.total.conversations(), Some(22));
        assert!(with_demo.includes_demo && !real.includes_demo);
        assert!(with_demo.totals.total.conversations().unwrap() > 22 + 1000);
        drop(store);
        let removed = remove_demo(&pg).await.unwrap();
        assert_eq!(
            removed,
            [
                ("outbox", 0),
                ("conversations", 2500),
                ("inbox", 2500),
                ("report_releases", 2)
            ]
        );
        let after = dump(&schema.url).await;
        // removal kept the real tables the reports published; all else is as before
        let mut expected = before.clone();
        expected.insert("report_releases".into(), after["report_releases"].clone());
        assert_eq!(after, expected);
        assert_eq!(after["report_releases"].len(), 2, "September and October");
        let pool = sqlx::PgPool::connect(&schema.url).await.unwrap();
        let demo_tables: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM report_releases WHERE demo <> 0")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        assert_eq!(demo_tables, 0);
        // and the real report reads the same as before
        let store = store::connect(&pg.database).await.unwrap();
        let mut again = compute(store.as_ref(), &catalogue, &policy, &request(false), today)
            .await
            .unwrap();
        for r in [&mut real, &mut again, &mut with_demo] {
            r.generated_at = Default::default();
        }
        assert_eq!(again, real);
    };
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(checked)).await;
    schema.drop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A database seeded by an earlier version (rows told apart only by their `seed:` delivery
/// ids, their referrals added to the load, a month published with them): the migration marks
/// those rows, takes their referrals out of the load and drops the mixed month's table, so the
/// real report is of the real rows alone.
#[tokio::test]
async fn the_migration_marks_rows_seeded_by_earlier_versions() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    // the schema before this version: every migration before the demo one
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir("deploy/migrations/sqlite").unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().as_ref() < "20261210000001_demo_data.sql" {
            std::fs::copy(&path, old.join(path.file_name().unwrap())).unwrap();
        }
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("desk.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let october = ms("2026-10-05", 9);
    for (n, delivery) in ["seed:42:0", "seed:42:1", "slack:abc:Ev1"]
        .iter()
        .enumerate()
    {
        let n = n as i64 + 1;
        sqlx::query(
            "INSERT INTO inbox (id, delivery_id, channel, conversation, asker_key, received_ms, \
             status) VALUES ($1, $2, 'slack', '', $3, $4, 'done')",
        )
        .bind(n)
        .bind(delivery)
        .bind(format!("asker{n}"))
        .bind(october)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO conversations (inbox_id, received_ms, channel, asker_key, language, \
             confidence, decision, latency_us, outcome, specialist) \
             VALUES ($1, $2, 'slack', $3, 'en', 0.9, 'routed', 1, 'specialist', 'sanne_jansen')",
        )
        .bind(n)
        .bind(october)
        .bind(format!("asker{n}"))
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO specialist_load VALUES ('sanne_jansen', 3, 5), ('daan_de_vries', 4, 6)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO report_releases VALUES ('2026-10', 1, '{}'), ('2026-09', 1, '{\"kept\":1}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = store::connect(&settings(&url).database).await.unwrap();
    assert_eq!(marked(&url).await, (2, 2), "the two seeded rows");
    let after = dump(&url).await;
    let load: Vec<(&str, &str)> = after["specialist_load"]
        .iter()
        .map(|r| (r[0].as_deref().unwrap(), r[1].as_deref().unwrap()))
        .collect();
    // and since issue 15 the load is the log's count (a later migration): Daan's 4 had no
    // logged conversation behind them
    assert_eq!(load, [("daan_de_vries", "0"), ("sanne_jansen", "1")]);
    assert_eq!(
        store.report_release("2026-09", Rows::Real).await.unwrap(),
        Some("{\"kept\":1}".to_string()),
        "a month without seeded rows keeps its table"
    );
    assert_eq!(
        store.report_release("2026-10", Rows::Real).await.unwrap(),
        None,
        "the mixed month is published again"
    );
    let mut visited = 0;
    store
        .scan_report_rows(october - 1, october + 1, Rows::Real, &mut |_| visited += 1)
        .await
        .unwrap();
    assert_eq!(visited, 1, "the real report counts the real row only");
}
