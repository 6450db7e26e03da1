//! When the database goes away, the desk says so at once and acknowledges nothing it did not
//! store: questions get 503 with `Retry-After` (Slack and Teams deliver again), `/readyz` turns
//! 503 within about a second, and everything works again by itself when the database is back.
//!
//! PostgreSQL is taken away with a TCP proxy between the app and the shared test server
//! (`support::proxy`), so no other test loses its database.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::proxy::Proxy;
use support::slack::{RememberingSlack, dm, ok_posted, ok_slack, post_event, posted, with_slack};
use support::{PgSchema, TestApp, eventually, sqlite_url, test_settings};

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

/// Whether `/readyz` says ready within `timeout`.
async fn ready_within(app: &TestApp, timeout: Duration) -> bool {
    eventually(timeout, || async {
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await
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
        ready_within(&app, Duration::from_secs(15)).await,
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

/// An independent connection to the app's SQLite file (no size cap), as an operator's would be.
async fn open_beside(url: &str) -> sqlx::SqlitePool {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .unwrap()
        .busy_timeout(Duration::from_secs(5));
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

async fn logged_ids(pool: &sqlx::SqlitePool) -> std::collections::HashSet<i64> {
    sqlx::query_scalar::<_, i64>("SELECT id FROM conversations")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Before: on a full SQLite file the writer stayed inside a transaction it could not roll back,
/// and every later answer got 200 while nothing reached the file (lost at the next start, ids
/// handed out twice, the file locked for everyone else, `/readyz` ready throughout).
#[tokio::test]
async fn a_full_sqlite_file_gets_503_acknowledges_only_what_it_wrote_and_heals_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let fake_slack = ok_slack().await;
    let mut settings = with_slack(test_settings(&url), &fake_slack);
    settings.database.max_size_mb = Some(1);
    let app = TestApp::spawn(settings.clone()).await;
    // most of the 1 MiB cap taken by something else, so a few hundred questions fill it
    let beside = open_beside(&url).await;
    sqlx::query("CREATE TABLE ballast (b BLOB)")
        .execute(&beside)
        .await
        .unwrap();
    sqlx::query("INSERT INTO ballast VALUES (zeroblob(600000))")
        .execute(&beside)
        .await
        .unwrap();

    let mut acknowledged = Vec::new();
    let mut refused_in_a_row = 0;
    for n in 0..5000 {
        let response = app
            .ask(json!({"text": format!("mijn laptop is kapot, vraag {n}")}))
            .await;
        match response.status().as_u16() {
            200 => {
                let body: serde_json::Value = response.json().await.unwrap();
                acknowledged.push(body["conversation_id"].as_i64().unwrap());
                refused_in_a_row = 0;
            }
            503 => {
                assert_eq!(response.headers()["retry-after"], "2");
                refused_in_a_row += 1;
                if refused_in_a_row == 20 {
                    break;
                }
            }
            other => panic!(
                "a full database answered {other}: {:?}",
                response.text().await
            ),
        }
    }
    assert_eq!(refused_in_a_row, 20, "the cap was reached");
    assert!(
        acknowledged.len() > 20,
        "{} answered first",
        acknowledged.len()
    );
    // a Slack event is acknowledged only if it was stored; otherwise Slack delivers it again
    let event = post_event(&app, &dm("EvFULL", "laptop kapot")).await;
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE delivery_id LIKE '%EvFULL'")
            .fetch_one(&beside)
            .await
            .unwrap();
    match event.status().as_u16() {
        503 => assert_eq!(stored, 0),
        200 => assert_eq!(stored, 1),
        other => panic!("a Slack event on a full database got {other}"),
    }
    // readiness says so at once
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    // every acknowledged answer is in the file, each under its own id, as another reader sees
    let distinct: std::collections::HashSet<i64> = acknowledged.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        acknowledged.len(),
        "an id was handed out twice"
    );
    assert!(logged_ids(&beside).await.is_superset(&distinct));

    // the file is not left locked: the operator frees space beside the running desk
    sqlx::query("DROP TABLE ballast")
        .execute(&beside)
        .await
        .unwrap();
    assert!(
        ready_within(&app, Duration::from_secs(10)).await,
        "ready again once there is room"
    );
    let after = app.ask_json(json!({"text": "laptop kapot"})).await;
    acknowledged.push(after["conversation_id"].as_i64().unwrap());
    assert_eq!(
        post_event(&app, &dm("EvFULL", "laptop kapot"))
            .await
            .status(),
        200
    );
    app.stop().await;
    beside.close().await;

    // nothing acknowledged is lost at the next start
    let app = TestApp::spawn(settings).await;
    let logged: std::collections::HashSet<i64> = app
        .store()
        .conversations(0, 100_000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    for id in &acknowledged {
        assert!(
            logged.contains(id),
            "acknowledged conversation {id} was lost"
        );
    }
    assert!(
        eventually(Duration::from_secs(10), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await,
        "the Slack question is answered once"
    );
    app.stop().await;
}

/// `specialist_load.referrals` per specialist, read beside the app.
async fn referral_load(url: &str) -> std::collections::BTreeMap<String, i64> {
    const LOAD: &str = "SELECT specialist_id, referrals FROM specialist_load WHERE referrals > 0";
    let rows: Vec<(String, i64)> = if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows = sqlx::query_as(LOAD).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows = sqlx::query_as(LOAD).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    };
    rows.into_iter().collect()
}

/// Questions routed to specialists, each delivered several times at once (the same
/// `message_id` from the same session, to every replica): before, every delivery recorded a
/// referral (3,020 referrals for 2,750 answers), and on PostgreSQL a replica that found every
/// candidate locked named someone without recording it.
async fn referral_counts_equal_the_log(replicas: &[TestApp], url: &str) {
    let ask =
        |n: usize| json!({"text": "who can help me with power bi", "message_id": format!("m-{n}")});
    let mut answered = 0;
    for round in 0..8 {
        // a session per question, whose cookie every replica accepts (one key)
        let first = replicas[0].visitor();
        assert_eq!(first.ask(ask(round * 10)).await.status(), 200);
        let cookie = first.cookie().unwrap();
        let visitors: Vec<_> = (0..10)
            .map(|n| replicas[n % replicas.len()].visitor().with_cookie(&cookie))
            .collect();
        let deliveries = visitors
            .iter()
            .enumerate()
            // five questions, each delivered twice at once
            .map(|(n, visitor)| visitor.ask(ask(round * 10 + n / 2)));
        for response in futures::future::join_all(deliveries).await {
            assert_eq!(response.status(), 200);
        }
        answered += 5;
    }
    let logged = replicas[0].store().conversations(0, 10_000).await.unwrap();
    assert_eq!(logged.len(), answered, "each question logged once");
    let mut from_log = std::collections::BTreeMap::new();
    for conversation in &logged {
        if let Some(id) = conversation.record.referred_specialist() {
            *from_log.entry(id.to_string()).or_insert(0i64) += 1;
        }
    }
    assert_eq!(from_log.values().sum::<i64>(), answered as i64);
    assert_eq!(referral_load(url).await, from_log);
    // the rotation still spreads them: both Power BI people were referred
    assert_eq!(from_log.len(), 2, "{from_log:?}");
}

#[tokio::test]
async fn referral_counts_equal_the_log_on_sqlite_despite_repeated_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let app = TestApp::spawn(test_settings(&url)).await;
    referral_counts_equal_the_log(std::slice::from_ref(&app), &url).await;
    app.stop().await;
}

#[tokio::test]
async fn referral_counts_equal_the_log_on_postgres_with_two_replicas() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let replicas = vec![
        TestApp::spawn(schema.settings()).await,
        TestApp::spawn(schema.settings()).await,
    ];
    referral_counts_equal_the_log(&replicas, &schema.url).await;
    for app in replicas {
        app.stop().await;
    }
    schema.drop().await;
}

/// Slack events keep coming while PostgreSQL goes away for 3 s and comes back: every event
/// Slack had to deliver again (503) is taken on a later delivery, and every asker gets exactly
/// one reply, although replies were being sent and recorded when the connection went.
#[tokio::test]
async fn slack_events_under_load_survive_a_postgres_outage_with_one_reply_each() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let proxy = Proxy::start(server_address(&schema.url)).await;
    let (fake_slack, stored) = RememberingSlack::start(|_| ok_posted()).await;
    let mut settings = with_slack(
        schema.settings_at(&through(&schema.url, proxy.address)),
        &fake_slack,
    );
    settings.outbox.retry_base_ms = 100;
    settings.outbox.retry_max_seconds = 1;
    let app = TestApp::spawn(settings).await;
    const ASKERS: usize = 120;
    let deliver = |n: usize| {
        let app = &app;
        async move {
            let mut event = dm(&format!("EvLOAD{n}"), "laptop kapot");
            event["event"]["user"] = json!(format!("ULOAD{n}"));
            event["event"]["channel"] = json!(format!("DLOAD{n}"));
            // as Slack does: deliver again until acknowledged
            let mut refused = 0;
            loop {
                match post_event(app, &event).await.status().as_u16() {
                    200 => return refused,
                    503 => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    other => panic!("event {n} got {other}"),
                }
            }
        }
    };
    let load = async {
        let mut refused = 0;
        for wave in 0..ASKERS / 8 {
            let waves = (0..8).map(|i| deliver(wave * 8 + i));
            refused += futures::future::join_all(waves).await.iter().sum::<usize>();
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        refused
    };
    let outage = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.cut();
        tokio::time::sleep(Duration::from_secs(3)).await;
        proxy.restore();
    };
    let (refused, ()) = tokio::join!(load, outage);
    assert!(refused > 0, "the outage fell inside the load");
    assert!(
        eventually(Duration::from_secs(30), || async {
            stored.lock().unwrap().len() >= ASKERS
        })
        .await,
        "{} of {ASKERS} answered",
        stored.lock().unwrap().len()
    );
    // a late duplicate would come within a retry or two
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut per_channel = std::collections::HashMap::new();
    for message in stored.lock().unwrap().iter() {
        *per_channel
            .entry(message["channel"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(per_channel.len(), ASKERS);
    assert!(
        per_channel.values().all(|n| *n == 1),
        "one reply each: {:?}",
        per_channel
            .iter()
            .filter(|(_, n)| **n > 1)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        app.store().conversations(0, 1000).await.unwrap().len(),
        ASKERS
    );
    app.stop().await;
    drop(proxy);
    schema.drop().await;
}

/// A replica is killed (SIGKILL, a real process) after Slack stored its reply and before it
/// recorded it as sent. Before, the reply waited out its 30 s lease and was then posted a
/// second time. Now the replica's heartbeat stops, so the next process on the same PostgreSQL
/// database takes the reply over within seconds, looks for it in the DM and finds it there.
#[tokio::test]
async fn a_replica_killed_mid_send_is_taken_over_within_seconds_with_one_reply() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let (fake_slack, stored) = RememberingSlack::start(|n| match n {
        // the first post is stored and then hangs: the replica dies waiting for the answer
        0 => ok_posted().set_delay(Duration::from_secs(120)),
        _ => ok_posted(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let api = fake_slack.uri();
    let mut replica = support::process::ServeProcess::start(
        dir.path(),
        &[
            ("REFERRAL_DESK__DATABASE__URL", &schema.url),
            (
                "REFERRAL_DESK__PRIVACY__PSEUDONYM_KEY",
                support::postgres::TEST_PSEUDONYM_KEY,
            ),
            (
                "REFERRAL_DESK__SLACK__SIGNING_SECRET",
                support::slack::SECRET,
            ),
            ("REFERRAL_DESK__SLACK__BOT_TOKEN", support::slack::TOKEN),
            ("REFERRAL_DESK__SLACK__TEAM_ID", "T1"),
            ("REFERRAL_DESK__SLACK__API_BASE_URL", &api),
        ],
    );
    let address = replica.address.clone();
    let body = dm("EvKILL9", "laptop kapot").to_string();
    let timestamp = support::slack::now();
    let signature = referral_desk::channels::slack::SlackVerifier::new(support::slack::SECRET)
        .sign(timestamp, body.as_bytes());
    let acknowledged = reqwest::Client::new()
        .post(format!("http://{address}/slack/events"))
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header("X-Slack-Signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(acknowledged, 200);
    assert!(
        eventually(Duration::from_secs(20), || async {
            stored.lock().unwrap().len() == 1
        })
        .await,
        "the replica posted its reply"
    );
    replica.child.kill().unwrap(); // SIGKILL: no clean stop, the lease stays with the dead process
    replica.child.wait().unwrap();
    let killed = Instant::now();

    let app = TestApp::spawn(with_slack(schema.settings(), &fake_slack)).await;
    let conversation = app.store().conversations(0, 10).await.unwrap()[0].id;
    assert_eq!(
        app.store()
            .reply_status(conversation)
            .await
            .unwrap()
            .as_deref(),
        Some("sending"),
        "the dead replica's lease is still there"
    );
    assert!(
        eventually(Duration::from_secs(25), || async {
            app.store()
                .reply_status(conversation)
                .await
                .unwrap()
                .as_deref()
                == Some("sent")
        })
        .await,
        "the reply was taken over"
    );
    let after = killed.elapsed();
    assert!(
        after < Duration::from_secs(15),
        "taken over {after:?} after the kill; the lease is 30 s"
    );
    assert_eq!(stored.lock().unwrap().len(), 1, "one reply, not two");
    let lookups = fake_slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/conversations.history")
        .count();
    assert_eq!(lookups, 1, "found in the DM instead of posted again");
    app.stop().await;
    schema.drop().await;
}
