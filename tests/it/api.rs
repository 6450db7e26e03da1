//! The server as employees and operators meet it: ask over HTTP, get referred, and find the
//! question logged pseudonymised; duplicates, crashes and bad input handled.

use crate::support;

use std::time::Duration;

use referral_desk::config::SameSite;
use referral_desk::pipeline::{AskerRef, Question};
use referral_desk::privacy::Pseudonymiser;
use referral_desk::store::{ConversationStore, NewInboxItem, SqliteStore};
use serde_json::json;
use support::web::set_cookies;
use support::{PgSchema, TestApp, eventually, sqlite_url, test_settings};

async fn sqlite_app() -> (tempfile::TempDir, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(test_settings(&sqlite_url(dir.path()))).await;
    (dir, app)
}

#[tokio::test]
async fn a_question_is_answered_and_logged_redacted_and_pseudonymised() {
    let (_dir, app) = sqlite_app().await;
    let visitor = app.visitor();
    let reply = visitor
        .ask_json(json!({
            "text": "Wie kan me helpen met Power BI? Mail me op jan.jansen@example.com of bel 06-12345678",
        }))
        .await;
    let session = visitor.session_id().expect("a session cookie");
    assert_eq!(reply["decision"], "routed");
    assert_eq!(reply["intent"], "data_skills");
    assert_eq!(reply["language"], "nl");
    assert_eq!(reply["specialists"][0]["role"], "primary");
    assert_eq!(reply["specialists"][1]["role"], "alternative");
    let id = reply["conversation_id"].as_i64().unwrap();

    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.id, id);
    let question = row.record.question.as_deref().unwrap();
    assert!(
        question.contains("[email]") && question.contains("[phone]"),
        "{question}"
    );
    assert!(!question.contains("jan.jansen") && !question.contains("12345678"));
    assert_eq!(row.record.asker_key.len(), 64);
    assert!(!row.record.asker_key.contains(&session));
    assert_eq!(row.record.intent.as_deref(), Some("data_skills"));
    assert_eq!(row.record.decision, "routed");
    assert_eq!(row.record.route["specialists"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn the_same_delivery_twice_gives_one_row_and_one_answer() {
    let (_dir, app) = sqlite_app().await;
    let visitor = app.visitor();
    let body = json!({"text": "hoe vraag ik vakantie aan", "message_id": "m-1"});
    let first = visitor.ask_json(body.clone()).await;
    let second = visitor.ask_json(body).await;
    assert_eq!(first["conversation_id"], second["conversation_id"]);
    assert_eq!(first["intent"], "leave");
    assert_eq!(second["text"], first["text"]);
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_item_left_unfinished_by_a_dead_app_is_processed_exactly_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let app = TestApp::spawn(test_settings(&url)).await;
    app.stop().await;
    // What a crash leaves behind: acknowledged, claimed by a worker, never finished.
    let store = SqliteStore::connect(&url).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    store
        .enqueue(
            &NewInboxItem {
                delivery_id: "test:crashed-1".into(),
                channel: "test".into(),
                conversation: "c".into(),
                asker_key: "k".repeat(64),
                department: None,
                text: "mijn laptop is kapot".into(),
                context: json!({}),
                received_ms: now,
            },
            Some(now + 3_600_000),
        )
        .await
        .unwrap();
    drop(store);

    let app = TestApp::spawn(test_settings(&url)).await;
    let store = app.store();
    assert!(
        eventually(Duration::from_secs(10), || async {
            store.conversations(0, 10).await.unwrap().len() == 1
        })
        .await,
        "the restarted app processes the item"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = store.conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly once");
    assert_eq!(rows[0].record.intent.as_deref(), Some("it_support"));
    let delivery = store.delivery("test:crashed-1").await.unwrap().unwrap();
    assert_eq!(delivery.status, "done");
    assert_eq!(store.inbox_stats().await.unwrap().depth, 0);
    app.stop().await;
}

#[tokio::test]
async fn referrals_rotate_over_available_specialists_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let app = TestApp::spawn(test_settings(&url)).await;
    let ask = json!({"text": "who can help me with power bi"});
    let first = app.ask_json(ask.clone()).await;
    let second = app.ask_json(ask.clone()).await;
    let primary = |r: &serde_json::Value| r["specialists"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(
        primary(&first),
        primary(&second),
        "least recently referred first"
    );
    app.stop().await;
    let app = TestApp::spawn(test_settings(&url)).await;
    let third = app.ask_json(ask).await;
    assert_eq!(
        primary(&third),
        primary(&first),
        "the order survives a restart"
    );
    // Bert is away until 2099: his route offers the knowledge item and no specialist.
    let budget = app
        .ask_json(json!({"text": "how much training budget do i have left"}))
        .await;
    assert_eq!(budget["intent"], "training_budget");
    assert!(budget["specialists"].as_array().unwrap().is_empty());
    assert_eq!(budget["knowledge"][0]["id"], "kb_budget");
    app.stop().await;
}

#[tokio::test]
async fn who_knows_questions_search_the_directory_and_say_why() {
    let (_dir, app) = sqlite_app().await;
    let reply = app
        .ask_json(json!({"text": "who knows about dashboards?"}))
        .await;
    assert_eq!(reply["decision"], "directory");
    assert_eq!(reply["specialists"][0]["name"], "Anna Data");
    assert_eq!(reply["specialists"][0]["role"], "match");
    assert!(
        reply["specialists"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("dashboards")
    );
    let dutch = app
        .ask_json(json!({"text": "wie weet iets van excel?"}))
        .await;
    assert_eq!(dutch["language"], "nl");
    let names: Vec<&str> = dutch["specialists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Anna Data") && names.contains(&"Carla Charts"),
        "{names:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn out_of_scope_goes_to_the_fallback_desk_and_a_choice_routes() {
    let (_dir, app) = sqlite_app().await;
    let reply = app
        .ask_json(json!({"text": "what's the weather like tomorrow in Paris"}))
        .await;
    assert_eq!(reply["decision"], "out_of_scope");
    assert_eq!(reply["desk"]["id"], "hrd_desk");
    assert!(reply["intro"].as_str().unwrap().contains("HRD desk"));
    let chosen = app
        .ask_json(json!({"text": "how much do i have left", "choice": "leave"}))
        .await;
    assert_eq!(chosen["decision"], "routed");
    assert_eq!(chosen["intent"], "leave");
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_json_error() {
    let (_dir, app) = sqlite_app().await;
    let post = |body: String| {
        app.client
            .post(app.url("/api/v1/ask"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let big = json!({"text": "a".repeat(17 * 1024)}).to_string();
    let response = post(big).await.unwrap();
    assert_eq!(response.status(), 413);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("16 KiB"));

    let response = post("{not json".into()).await.unwrap();
    assert_eq!(response.status(), 400);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().starts_with("invalid JSON"),
        "{error}"
    );

    for body in [json!({"text": "   "}), json!({"txt": "hallo"})] {
        let response = post(body.to_string()).await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(error["error"].is_string());
    }

    // Long but within the limit: answered, classified on its first part.
    let long = format!("hoe vraag ik vakantie aan? {}", "blabla ".repeat(2_000));
    let reply = app.ask_json(json!({"text": long})).await;
    assert!(reply["decision"].is_string());

    let response = app
        .client
        .post(app.url("/api/v1/feedback"))
        .json(&json!({"conversation_id": 999_999, "helpful": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn feedback_is_stored_on_the_conversation() {
    let (_dir, app) = sqlite_app().await;
    let visitor = app.visitor();
    let reply = visitor.ask_json(json!({"text": "laptop kapot"})).await;
    let (status, _) = visitor.feedback(&reply["conversation_id"], false).await;
    assert_eq!(status, 204);
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows[0].feedback.as_deref(), Some("not_helpful"));
    app.stop().await;
}

#[tokio::test]
async fn health_metrics_and_the_chat_page() {
    let (_dir, app) = sqlite_app().await;
    let get = |path: &str| app.client.get(app.url(path)).send();
    assert_eq!(get("/healthz").await.unwrap().text().await.unwrap(), "ok");
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    app.ask_json(json!({"text": "laptop kapot"})).await;
    let metrics = app.metrics().await;
    for name in [
        "referral_desk_http_requests_total{route=\"/api/v1/ask\",status=\"200\"} 1",
        "referral_desk_decisions_total{intent=\"it_support\",outcome=\"routed\"} 1",
        "referral_desk_classify_seconds_bucket",
        "referral_desk_inbox_depth 0",
        "referral_desk_inbox_oldest_age_seconds",
    ] {
        assert!(metrics.contains(name), "missing {name} in\n{metrics}");
    }
    let page = get("/").await.unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("id=\"question\""));
    let script = get("/assets/app.js").await.unwrap();
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    app.stop().await;
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let settings = schema.settings();
    let app = TestApp::spawn(settings).await;
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.ask_json(json!({"text": "laptop kapot"})).await;
    // Take the database away: terminate this app's connections and refuse new ones.
    let admin = support::postgres::connect(&schema.server).await;
    support::postgres::drop_schema(&admin, &schema.name).await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
    assert!(body["reason"].as_str().unwrap().contains("database"));
    app.stop().await;
    admin.close().await;
}

#[tokio::test]
async fn postgres_without_a_pseudonym_key_refuses_to_start() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let settings = test_settings(&schema.url);
    let err = referral_desk::server::Application::build(settings)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("privacy.pseudonym_key"), "{err}");
    schema.drop().await;
}

#[tokio::test]
async fn reports_switched_on_without_tokens_refuse_to_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.analytics.enabled = true;
    let err = referral_desk::server::Application::build(settings.clone())
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("analytics.tokens is empty"), "{err}");
    assert!(err.contains("REFERRAL_DESK__ANALYTICS__TOKENS"), "{err}");
    // nothing was created: the refusal comes before the database is opened
    assert!(!dir.path().join("desk.db").exists());

    // and through the command an operator runs
    let output = assert_cmd::cargo::cargo_bin_cmd!("referral-desk")
        .arg("serve")
        .env("REFERRAL_DESK__DATABASE__URL", sqlite_url(dir.path()))
        .env("REFERRAL_DESK__SERVER__BIND", "127.0.0.1:0")
        .env("REFERRAL_DESK__ANALYTICS__ENABLED", "true")
        .env("REFERRAL_DESK__CLASSIFIER__MODEL", "lexical")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("analytics.tokens is empty"), "{said}");

    // with a token it starts
    settings.analytics.tokens = vec!["a-report-token-of-32-characters!".to_string().into()];
    let app = TestApp::spawn(settings).await;
    app.stop().await;
}

#[tokio::test]
async fn departments_come_from_the_csv_and_texts_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("departments.csv");
    std::fs::write(
        &csv,
        "user_id,department\nu-123,Finance\nu-456, HR Development \n",
    )
    .unwrap();
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.privacy.departments_csv = Some(csv);
    settings.log.store_text = false;
    let app = TestApp::spawn(settings).await;
    // departments are known for platform accounts (web chat sessions are anonymous)
    for user in ["u-456", "someone-else"] {
        app.state
            .pipeline
            .ask(&Question {
                channel: "slack".into(),
                conversation: "C1".into(),
                delivery_id: format!("command:{user}"),
                asker: AskerRef {
                    namespace: "slack:T1".into(),
                    raw_id: user.into(),
                },
                text: "laptop kapot".into(),
                received_at: chrono::Utc::now(),
                context: json!({}),
            })
            .await
            .unwrap();
    }
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows[0].record.department.as_deref(), Some("HR Development"));
    assert_eq!(rows[1].record.department, None);
    assert!(
        rows.iter().all(|r| r.record.question.is_none()),
        "log.store_text = false"
    );
    assert!(
        rows.iter()
            .all(|r| r.record.intent.as_deref() == Some("it_support"))
    );
    app.stop().await;
}

#[tokio::test]
async fn question_texts_past_retention_are_deleted_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let app = TestApp::spawn(test_settings(&url)).await;
    app.ask_json(json!({"text": "laptop kapot"})).await;
    let store = app.store();
    app.stop().await;
    // Age the row: received 100 days ago.
    let old = chrono::Utc::now().timestamp_millis() - 100 * 86_400_000;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE conversations SET received_ms = ?")
        .bind(old)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    drop(store);
    let app = TestApp::spawn(test_settings(&url)).await;
    let store = app.store();
    assert!(
        eventually(Duration::from_secs(5), || async {
            store.conversations(0, 10).await.unwrap()[0]
                .record
                .question
                .is_none()
        })
        .await,
        "retention (90 days) removes the text"
    );
    let row = &store.conversations(0, 10).await.unwrap()[0];
    assert_eq!(
        row.record.intent.as_deref(),
        Some("it_support"),
        "structured fields remain"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_broken_configuration_or_catalogue_stops_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.catalogue.dir = dir.path().join("missing-catalogue");
    let err = referral_desk::server::Application::build(settings)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("missing-catalogue") && err.contains("--catalogue"),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_repeats_of_one_delivery_are_logged_once() {
    let (_dir, app) = sqlite_app().await;
    let visitor = app.visitor();
    visitor.open_page().await;
    let body = json!({"text": "wachtwoord vergeten", "message_id": "same"});
    let replies = futures::future::join_all((0..6).map(|_| visitor.ask_json(body.clone()))).await;
    let first = &replies[0]["conversation_id"];
    assert!(first.is_i64());
    assert!(
        replies.iter().all(|r| &r["conversation_id"] == first),
        "{replies:?}"
    );
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 1);
    // and many different questions at once all get their own row
    let many = futures::future::join_all(
        (0..40).map(|i| app.ask_json(json!({"text": format!("laptop kapot {i}")}))),
    )
    .await;
    let ids: std::collections::BTreeSet<i64> = many
        .iter()
        .map(|r| r["conversation_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 40);
    assert_eq!(app.store().conversations(0, 100).await.unwrap().len(), 41);
    app.stop().await;
}

fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_string())
        .collect()
}

/// Issue 13, item 3: the web chat's asker is a session the server issues and signs, never one
/// the client chooses; the cookie's flags follow the configuration.
#[tokio::test]
async fn item3_the_web_chat_issues_its_own_signed_http_only_session() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(test_settings(&sqlite_url(dir.path()))).await;
    let key = Pseudonymiser::load_or_create(&dir.path().join("pseudonym.key")).unwrap();

    // the page sets it, with the secure defaults, and keeps caches away from it
    let page = app.visitor();
    let response = page.open_page().await;
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let (pair, header) = &cookies[0];
    assert!(pair.starts_with("__Host-rd_chat="), "{header}");
    assert_eq!(
        attributes(header),
        ["HttpOnly", "Path=/", "SameSite=Strict", "Secure"]
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    // a page opened with a valid cookie sets none
    assert!(set_cookies(&page.open_page().await).is_empty());

    // a first question without a cookie gets one; the questions after it carry it
    let visitor = app.visitor();
    let first = visitor.ask(json!({"text": "laptop kapot"})).await;
    assert_eq!(first.status(), 200);
    assert_eq!(set_cookies(&first).len(), 1);
    let second = visitor.ask(json!({"text": "wachtwoord vergeten"})).await;
    assert!(set_cookies(&second).is_empty());
    let session = visitor.session_id().unwrap();
    assert_eq!(session.len(), 32);
    let own = key.pseudonymise("web", &session);
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows[0].record.asker_key, own);
    assert_eq!(rows[1].record.asker_key, own, "one session, one asker");

    // the body's `session` is ignored: two clients claiming one id are two askers, neither
    // of them the id they claimed
    let claimed = "0123456789abcdef0123456789abcdef";
    for _ in 0..2 {
        app.visitor()
            .ask_json(json!({"text": "laptop kapot", "session": claimed}))
            .await;
    }
    let rows = app.store().conversations(0, 10).await.unwrap();
    let claimed_key = key.pseudonymise("web", claimed);
    assert_ne!(rows[2].record.asker_key, rows[3].record.asker_key);
    assert!(rows.iter().all(|r| r.record.asker_key != claimed_key));

    // a chosen id with a made-up signature, or someone's id with an altered one, is not a
    // session: a new one replaces it
    let stolen_id = format!("__Host-rd_chat={session}.{}", "A".repeat(43));
    for forged in [
        format!("__Host-rd_chat={claimed}.{}", "A".repeat(43)),
        stolen_id,
        format!(
            "rd_chat={}",
            visitor.cookie().unwrap().split_once('=').unwrap().1
        ),
    ] {
        let forger = app.visitor().with_cookie(&forged);
        let response = forger.ask(json!({"text": "laptop kapot"})).await;
        assert_eq!(response.status(), 200);
        assert_eq!(set_cookies(&response).len(), 1, "{forged}");
        let new = forger.session_id().unwrap();
        assert_ne!(new, session);
        assert_ne!(new, claimed);
        let last = app.store().conversations(0, 100).await.unwrap();
        let last = &last.last().unwrap().record.asker_key;
        assert_eq!(*last, key.pseudonymise("web", &new));
    }
    app.stop().await;

    // plain-http testing elsewhere than localhost: no Secure (and no __Host- prefix), and
    // the SameSite the configuration asks for
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.server.secure_cookies = false;
    settings.web.cookie_same_site = SameSite::Lax;
    let app = TestApp::spawn(settings).await;
    let response = app.visitor().ask(json!({"text": "laptop kapot"})).await;
    let cookies = set_cookies(&response);
    let (pair, header) = &cookies[0];
    assert!(pair.starts_with("rd_chat="), "{header}");
    assert_eq!(attributes(header), ["HttpOnly", "Path=/", "SameSite=Lax"]);
    app.stop().await;
}

/// Issue 13, item 14: feedback only for the session's own conversations; every other one
/// (another session's, a Slack one, none at all) is answered exactly like a missing one.
#[tokio::test]
async fn item14_feedback_is_taken_only_for_the_sessions_own_conversations() {
    let (_dir, app) = sqlite_app().await;
    let asker = app.visitor();
    let mine = asker.ask_json(json!({"text": "laptop kapot"})).await;
    let mine = mine["conversation_id"].as_i64().unwrap();
    let slack = app
        .state
        .pipeline
        .ask(&Question {
            channel: "slack".into(),
            conversation: "C1".into(),
            delivery_id: "command:t1".into(),
            asker: AskerRef {
                namespace: "slack:T1".into(),
                raw_id: "U1".into(),
            },
            text: "wachtwoord vergeten".into(),
            received_at: chrono::Utc::now(),
            context: json!({}),
        })
        .await
        .unwrap()
        .conversation_id
        .unwrap();
    let missing = mine + slack + 1_000;
    let other = app.visitor();
    other.open_page().await;
    let nobody = app.visitor();
    let expected = |id: i64| json!({"error": format!("no conversation {id}")});
    for (who, visitor, id) in [
        ("another session, a web conversation", &other, mine),
        ("another session, a Slack conversation", &other, slack),
        ("another session, no conversation", &other, missing),
        ("no session", &nobody, mine),
        ("the asker, a Slack conversation", &asker, slack),
        ("the asker, no conversation", &asker, missing),
    ] {
        for helpful in [true, false] {
            let (status, body) = visitor.feedback(&json!(id), helpful).await;
            assert_eq!(status, 404, "{who}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body, expected(id), "{who}");
        }
    }
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert!(rows.iter().all(|r| r.feedback.is_none()), "{rows:?}");

    let (status, _) = asker.feedback(&json!(mine), false).await;
    assert_eq!(status, 204);
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows[0].feedback.as_deref(), Some("not_helpful"));
    assert_eq!(rows[1].feedback, None);
    app.stop().await;
}
