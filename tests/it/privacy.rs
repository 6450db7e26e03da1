//! Issue 13, "make every privacy promise hold under attack": what the desk keeps about a
//! question and its asker, searched for in every column of every table (support::dump), on
//! SQLite and on PostgreSQL.
//!
//! - item 9: no copy of a question, raw or quoted, outlives `log.store_text` and
//!   `log.retention_days`;
//! - item 10: the web chat's session id (a raw id) is never stored;
//! - item 11: a repeated `message_id` is a repeat only when the same asker sends it.
//!
//! The Slack and Teams halves of item 10 are in tests/it/slack.rs and tests/it/teams.rs.

use crate::support;

use referral_desk::config::Settings;
use referral_desk::privacy::Pseudonymiser;
use referral_desk::store::{ConversationRecord, Enqueued, NewInboxItem};
use serde_json::{Value, json};
use support::dump::places_of;
use support::{PgSchema, TestApp, sqlite_url, test_settings};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// A "who knows about ..." question: the answer quotes its topic, e-mail address and BSN
/// included.
const QUOTED: &str = "wie weet iets van het dossier van jan.devries@example.nl met BSN 111222333";
/// What must not be stored of it: the personal data, and with `store_text = false` any word.
const PERSONAL: &[&str] = &["jan.devries", "111222333"];
const ANY_WORD: &[&str] = &["jan.devries", "111222333", "dossier"];
const DAY_MS: i64 = 86_400_000;

/// Where a test's database lives; removed when the test is done.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(PgSchema),
}

impl Db {
    async fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    /// `None` when the test was skipped (no PostgreSQL here).
    async fn postgres() -> Option<Db> {
        Some(Db::Postgres(PgSchema::create().await?))
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(dir) => sqlite_url(dir.path()),
            Db::Postgres(schema) => schema.url.clone(),
        }
    }

    fn settings(&self) -> Settings {
        let mut settings = test_settings(&self.url());
        settings.privacy.pseudonym_key = Some(KEY.to_string().into());
        settings
    }

    async fn drop(self) {
        if let Db::Postgres(schema) = self {
            schema.drop().await;
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn a_quoted_question_is_kept_nowhere_with_store_text_off(db: Db) {
    let mut settings = db.settings();
    settings.log.store_text = false;
    let app = TestApp::spawn(settings).await;
    let visitor = app.visitor();
    let body = json!({"text": QUOTED, "message_id": "m-9"});
    let reply = visitor.ask_json(body.clone()).await;
    assert_eq!(reply["decision"], "directory");
    assert!(
        reply["intro"]
            .as_str()
            .unwrap()
            .contains("het dossier van jan.devries@example.nl met BSN 111222333"),
        "the asker sees their own words: {reply}"
    );
    let kept = places_of(&db.url(), ANY_WORD).await;
    assert!(kept.is_empty(), "store_text = false, yet stored: {kept:#?}");

    // a repeated delivery still gets the stored answer, quoting its own words
    let again = visitor.ask_json(body).await;
    assert_eq!(again, reply);
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 1);
    let kept = places_of(&db.url(), ANY_WORD).await;
    assert!(kept.is_empty(), "{kept:#?}");
    app.stop().await;
    db.drop().await;
}

#[tokio::test]
async fn item9_a_quoted_question_is_kept_nowhere_with_store_text_off_sqlite() {
    a_quoted_question_is_kept_nowhere_with_store_text_off(Db::sqlite().await).await;
}

#[tokio::test]
async fn item9_a_quoted_question_is_kept_nowhere_with_store_text_off_postgres() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    a_quoted_question_is_kept_nowhere_with_store_text_off(db).await;
}

/// A reply queued for a channel that has not sent it yet, and an item nobody answered: what
/// a Slack outage or a crash leaves behind.
async fn leave_unfinished_work(app: &TestApp, text: &str) -> (i64, i64) {
    let store = app.store();
    let now = now_ms();
    let far = now + 365 * DAY_MS;
    let item = |n: u32| NewInboxItem {
        delivery_id: format!("slack:k:Ev-unfinished-{n}"),
        channel: "slack".into(),
        conversation: "D_RAW_CHANNEL".into(),
        asker_key: "k".repeat(64),
        department: None,
        text: text.into(),
        context: json!({"channel": "D_RAW_CHANNEL", "user": "U_RAW_USER"}),
        received_ms: now,
    };
    // leased far ahead, so the app's workers leave both alone
    let Enqueued::New(queued) = store.enqueue(&item(1), Some(far)).await.unwrap() else {
        panic!("new item");
    };
    let record = ConversationRecord {
        received_ms: now,
        channel: "slack".into(),
        asker_key: "k".repeat(64),
        department: None,
        language: "nl".into(),
        question: Some("wie weet iets van het dossier van [email] met BSN [bsn]".into()),
        intent: None,
        confidence: 0.0,
        decision: "directory".into(),
        route: json!({}),
        latency_us: 1,
    };
    let payload = json!({
        "conversation": "D_RAW_CHANNEL",
        "context": {"channel": "D_RAW_CHANNEL", "user": "U_RAW_USER"},
        "question": text,
    });
    let conversation = store
        .complete(queued, &record, &json!({}), Some(&payload), now)
        .await
        .unwrap()
        .conversation_id();
    let Enqueued::New(unanswered) = store.enqueue(&item(2), Some(far)).await.unwrap() else {
        panic!("new item");
    };
    (conversation, unanswered)
}

async fn nothing_of_a_question_outlives_retention(db: Db) {
    let mut settings = db.settings();
    settings.log.retention_days = 3;
    let app = TestApp::spawn(settings).await;
    let visitor = app.visitor();
    let body = json!({"text": QUOTED, "message_id": "m-10"});
    let reply = visitor.ask_json(body.clone()).await;
    let routed = visitor
        .ask_json(json!({"text": "wie kan me helpen met power bi? bel 0612345678"}))
        .await;
    assert_eq!(routed["decision"], "routed");

    // while retained: the redacted question in the log and nothing else
    let kept = places_of(&db.url(), PERSONAL).await;
    assert!(kept.is_empty(), "unredacted: {kept:#?}");
    let kept = places_of(&db.url(), &["dossier", "power bi"]).await;
    assert!(
        kept.iter()
            .all(|p| p.starts_with("conversations.question: ")),
        "a copy outside the log: {kept:#?}"
    );
    assert_eq!(kept.len(), 2, "{kept:#?}");

    let unfinished = "wie weet iets van het loonbeslag van piet@example.nl";
    let (queued_conversation, unanswered) = leave_unfinished_work(&app, unfinished).await;

    // ten days after the questions, with three days of retention
    let purged = app
        .store()
        .purge_question_texts(now_ms() + 10 * DAY_MS - 3 * DAY_MS)
        .await
        .unwrap();
    assert!(purged > 0);
    let kept = places_of(
        &db.url(),
        &[
            "dossier",
            "power bi",
            "loonbeslag",
            "piet@",
            "0612345678",
            "D_RAW_CHANNEL",
            "U_RAW_USER",
            "[email]",
        ],
    )
    .await;
    assert!(kept.is_empty(), "past retention, still stored: {kept:#?}");

    // what the reports need stays; the unsent reply and the unanswered item are given up
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].record.intent.as_deref(), Some("data_skills"));
    assert_eq!(
        app.store()
            .reply_status(queued_conversation)
            .await
            .unwrap()
            .as_deref(),
        Some("failed")
    );
    let stats = app.store().inbox_stats().await.unwrap();
    assert_eq!(stats.depth, 0, "item {unanswered} was given up");

    // a repeat after retention is answered again, not logged again
    let again = visitor.ask_json(body).await;
    assert_eq!(again["intro"], reply["intro"]);
    assert_eq!(again["conversation_id"], Value::Null);
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 3);
    app.stop().await;
    db.drop().await;
}

#[tokio::test]
async fn item9_nothing_of_a_question_outlives_retention_sqlite() {
    nothing_of_a_question_outlives_retention(Db::sqlite().await).await;
}

#[tokio::test]
async fn item9_nothing_of_a_question_outlives_retention_postgres() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    nothing_of_a_question_outlives_retention(db).await;
}

async fn the_web_session_is_stored_nowhere(db: Db) {
    let app = TestApp::spawn(db.settings()).await;
    let visitor = app.visitor();
    visitor
        .ask_json(json!({"text": "wie kan me helpen met power bi?"}))
        .await;
    let token = visitor.cookie().unwrap();
    let token = token.split_once('=').unwrap().1.to_string();
    let session = visitor.session_id().unwrap();
    let kept = places_of(&db.url(), &[&session, &token]).await;
    assert!(kept.is_empty(), "the raw session is stored: {kept:#?}");
    // what is stored is the pseudonymous key of the session
    let key = Pseudonymiser::from_secret(&KEY.to_string().into())
        .unwrap()
        .pseudonymise("web", &session);
    assert_eq!(
        app.store().conversations(0, 10).await.unwrap()[0]
            .record
            .asker_key,
        key
    );
    app.stop().await;
    db.drop().await;
}

#[tokio::test]
async fn item10_the_web_session_is_stored_nowhere_sqlite() {
    the_web_session_is_stored_nowhere(Db::sqlite().await).await;
}

#[tokio::test]
async fn item10_the_web_session_is_stored_nowhere_postgres() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    the_web_session_is_stored_nowhere(db).await;
}

async fn a_repeated_message_id_is_a_repeat_only_from_the_same_asker(db: Db) {
    let app = TestApp::spawn(db.settings()).await;
    let alice = app.visitor();
    let bob = app.visitor();
    alice.open_page().await;
    bob.open_page().await;
    let hers = json!({"text": QUOTED, "message_id": "m-1"});
    let his = json!({"text": "mijn laptop is kapot", "message_id": "m-1"});
    // at the same moment too: both land in one batch of the SQLite writer
    let (first_hers, first_his) =
        tokio::join!(alice.ask_json(hers.clone()), bob.ask_json(his.clone()));
    assert_eq!(first_hers["decision"], "directory");
    assert_eq!(first_his["intent"], "it_support", "{first_his}");
    assert!(
        !first_his.to_string().contains("jan.devries"),
        "someone else's answer: {first_his}"
    );
    assert_ne!(first_hers["conversation_id"], first_his["conversation_id"]);

    // each one's repeat is their own stored answer
    let again_his = bob.ask_json(his).await;
    let again_hers = alice.ask_json(hers).await;
    assert_eq!(again_his, first_his);
    assert_eq!(again_hers, first_hers);
    let rows = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 2, "one log row per asker");
    assert_ne!(rows[0].record.asker_key, rows[1].record.asker_key);

    // and a third visitor reusing the id gets an answer of their own as well
    let carol = app
        .visitor()
        .ask_json(json!({"text": "hoe vraag ik vakantie aan", "message_id": "m-1"}))
        .await;
    assert_eq!(carol["intent"], "leave");
    assert_eq!(app.store().conversations(0, 10).await.unwrap().len(), 3);
    app.stop().await;
    db.drop().await;
}

#[tokio::test]
async fn item11_a_repeated_message_id_from_another_session_gets_its_own_answer_sqlite() {
    a_repeated_message_id_is_a_repeat_only_from_the_same_asker(Db::sqlite().await).await;
}

#[tokio::test]
async fn item11_a_repeated_message_id_from_another_session_gets_its_own_answer_postgres() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    a_repeated_message_id_is_a_repeat_only_from_the_same_asker(db).await;
}
