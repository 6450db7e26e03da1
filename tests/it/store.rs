//! One suite for every `ConversationStore` backend: SQLite (a temporary file) and PostgreSQL
//! (a schema of its own on the test server, see tests/it/support/postgres.rs). Both must behave
//! the same.

use crate::support;

use std::sync::Arc;

use referral_desk::store::{
    Completion, ConversationRecord, ConversationStore, Enqueued, NewInboxItem, PostgresStore,
    SqliteStore,
};
use serde_json::json;
use support::PgSchema;

fn item(delivery: &str, text: &str, received_ms: i64) -> NewInboxItem {
    NewInboxItem {
        delivery_id: delivery.into(),
        channel: "test".into(),
        conversation: "conv-raw-D42".into(),
        asker_key: "a".repeat(64),
        department: Some("Finance".into()),
        text: text.into(),
        context: json!({"thread": "t1", "user": "raw-user-U42"}),
        received_ms,
    }
}

/// Where a raw id of [`item`] or `text` is still stored, in any table.
async fn kept(url: &str, text: &str) -> Vec<String> {
    support::dump::places_of(url, &[text, "conv-raw-D42", "raw-user-U42"]).await
}

fn record(received_ms: i64) -> ConversationRecord {
    ConversationRecord {
        received_ms,
        channel: "test".into(),
        asker_key: "a".repeat(64),
        department: Some("Finance".into()),
        language: "nl".into(),
        question: Some("mail [email] over verlof".into()),
        intent: Some("leave".into()),
        confidence: 0.75,
        decision: "routed".into(),
        route: json!({"specialists": ["x"]}),
        latency_us: 120,
    }
}

async fn suite(store: Arc<dyn ConversationStore>, url: &str) {
    store.ping().await.unwrap();

    // enqueue and duplicates
    let first = store
        .enqueue(&item("test:1", "verlof?", 1_000), None)
        .await
        .unwrap();
    let Enqueued::New(id) = first else {
        panic!("new item")
    };
    assert_eq!(
        store
            .enqueue(&item("test:1", "verlof?", 1_000), None)
            .await
            .unwrap(),
        Enqueued::Duplicate(id)
    );
    let stats = store.inbox_stats().await.unwrap();
    assert_eq!((stats.depth, stats.oldest_received_ms), (1, Some(1_000)));

    // claims are leased: one worker at a time, taken over after the lease
    let claimed = store.claim_next(2_000, 62_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.text, "verlof?");
    assert_eq!(claimed.context["thread"], "t1");
    assert_eq!(claimed.department.as_deref(), Some("Finance"));
    assert_eq!(claimed.attempts, 1);
    assert!(store.claim_next(3_000, 63_000).await.unwrap().is_none());
    let retaken = store.claim_next(70_000, 130_000).await.unwrap().unwrap();
    assert_eq!((retaken.id, retaken.attempts), (id, 2));

    // completion: one log row, the raw text gone, the reply kept; a second completion is a no-op
    let reply = json!({"text": "hier"});
    let payload = json!({"send": 1, "conversation": "conv-raw-D42"});
    let done = store
        .complete(id, &record(1_000), &reply, Some(&payload), 71_000)
        .await
        .unwrap();
    let Completion::Logged(conversation) = done else {
        panic!("logged")
    };
    assert_eq!(
        store
            .complete(id, &record(1_000), &reply, None, 72_000)
            .await
            .unwrap(),
        Completion::AlreadyLogged(conversation)
    );
    let delivery = store.delivery("test:1").await.unwrap().unwrap();
    assert_eq!(delivery.status, "done");
    assert_eq!(delivery.conversation_id, Some(conversation));
    assert_eq!(delivery.reply, Some(reply));
    assert!(store.delivery("test:nope").await.unwrap().is_none());
    let rows = store.conversations(0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record, record(1_000));
    assert_eq!(store.inbox_stats().await.unwrap().depth, 0);
    // where to reply lives on only in the outbox, until the reply is sent
    let places = kept(url, "verlof?").await;
    assert!(
        places.len() == 1 && places[0].starts_with("outbox.payload: "),
        "{places:#?}"
    );

    // feedback
    assert!(
        store
            .record_feedback(conversation, true, 80_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_feedback(conversation + 1000, true, 80_000)
            .await
            .unwrap()
    );
    assert_eq!(
        store.conversations(0, 10).await.unwrap()[0]
            .feedback
            .as_deref(),
        Some("helpful")
    );

    // failing items are retried, then parked, keeping nothing about the question
    let Enqueued::New(bad) = store
        .enqueue(&item("test:2", "failing-raw-text", 5_000), None)
        .await
        .unwrap()
    else {
        panic!()
    };
    for attempt in 1..=2 {
        let claimed = store.claim_next(100_000, 160_000).await.unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempts), (bad, attempt));
        store.fail(bad, "boom", 2).await.unwrap();
    }
    assert!(store.claim_next(200_000, 260_000).await.unwrap().is_none());
    assert_eq!(
        store.delivery("test:2").await.unwrap().unwrap().status,
        "failed"
    );
    let places = support::dump::places_of(url, &["failing-raw-text"]).await;
    assert!(places.is_empty(), "{places:#?}");

    // an inline (leased) item is invisible to workers until released
    store
        .enqueue(&item("test:3", "y", 6_000), Some(1_000_000))
        .await
        .unwrap();
    assert!(store.claim_next(300_000, 360_000).await.unwrap().is_none());
    assert_eq!(store.release_leases().await.unwrap(), 1);
    assert!(store.claim_next(300_000, 360_000).await.unwrap().is_some());

    // referral load: least recently referred first, ties in the given order
    let people: Vec<String> = ["p1", "p2", "p3"].iter().map(|s| s.to_string()).collect();
    store.register_specialists(&people).await.unwrap();
    let mut primaries = Vec::new();
    for _ in 0..4 {
        primaries.push(store.assign_specialist(&people, 1_000).await.unwrap()[0].clone());
    }
    assert_eq!(primaries, ["p1", "p2", "p3", "p1"]);
    let order = store.assign_specialist(&people, 1_000).await.unwrap();
    assert_eq!(order, ["p2", "p3", "p1"]);
    let unknown = vec!["new_person".to_string(), "p3".to_string()];
    assert_eq!(
        store.assign_specialist(&unknown, 1_000).await.unwrap()[0],
        "new_person"
    );

    // the outbox: due replies are leased, sent once, retried with a schedule, or given up
    let claimed = store.claim_replies(400_000, 430_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let claimed = &claimed[0];
    assert_eq!(
        (claimed.conversation_id, claimed.attempts, claimed.unsure),
        (conversation, 1, false)
    );
    assert_eq!(claimed.payload, payload);
    assert!(
        store
            .claim_replies(400_001, 430_001, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // a timeout: the reply may be out, the next attempt is unsure
    store
        .reschedule_reply(claimed.id, Some(500_000), "timeout", true)
        .await
        .unwrap();
    assert!(
        store
            .claim_replies(499_999, 530_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_replies(500_000, 530_000, 10).await.unwrap();
    assert_eq!((again[0].attempts, again[0].unsure), (2, true));
    // its lease runs out while it is being sent (a crashed replica): taken again, unsure
    let taken_over = store.claim_replies(530_001, 560_000, 10).await.unwrap();
    assert_eq!((taken_over[0].attempts, taken_over[0].unsure), (3, true));
    store
        .mark_replies_sent(&[taken_over[0].id], 530_100)
        .await
        .unwrap();
    assert!(
        store
            .claim_replies(900_000, 930_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.reply_status(conversation).await.unwrap().as_deref(),
        Some("sent")
    );
    // (test:3, still being processed, keeps where to reply)
    let places = kept(url, "verlof?").await;
    assert!(
        places.iter().all(|p| p.starts_with("inbox.")),
        "a sent reply keeps no payload: {places:#?}"
    );

    // retention: texts, stored replies, unanswered items and their traces, never the rows
    let unanswered = NewInboxItem {
        conversation: "conv-unanswered".into(),
        context: json!({"user": "user-unanswered"}),
        ..item("test:4", "unanswered-raw-text", 1_500)
    };
    store.enqueue(&unanswered, None).await.unwrap();
    assert_eq!(store.purge_question_texts(500).await.unwrap(), 0);
    // the log's text, test:1's stored reply, test:4 given up (a sent reply kept no error of
    // its failed attempts: recording it sent cleared it)
    assert_eq!(store.purge_question_texts(2_000).await.unwrap(), 3);
    assert_eq!(
        store.purge_question_texts(2_000).await.unwrap(),
        0,
        "idempotent"
    );
    let rows = store.conversations(0, 10).await.unwrap();
    assert_eq!(rows[0].record.question, None);
    assert_eq!(rows[0].record.intent.as_deref(), Some("leave"));
    let delivery = store.delivery("test:1").await.unwrap().unwrap();
    assert_eq!(delivery.reply, None, "the stored reply is purged too");
    assert_eq!(delivery.conversation_id, Some(conversation));
    assert_eq!(
        store.delivery("test:4").await.unwrap().unwrap().status,
        "failed"
    );
    let places = support::dump::places_of(
        url,
        &["unanswered-raw-text", "conv-unanswered", "user-unanswered"],
    )
    .await;
    assert!(places.is_empty(), "{places:#?}");
    // questions received after the cutoff keep theirs
    assert_eq!(
        store.delivery("test:3").await.unwrap().unwrap().status,
        "processing"
    );
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("nested/folder/desk.db").display()
    );
    let store = SqliteStore::connect(&url).await.unwrap();
    suite(Arc::new(store), &url).await;
}

#[tokio::test]
async fn the_sqlite_file_and_its_journal_are_readable_by_this_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/desk.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    store
        .enqueue(&item("test:mode", "burn-out", 1), None)
        .await
        .unwrap();
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    // whatever the umask, nobody else may read the conversations
    for file in ["desk.db", "desk.db-wal", "desk.db-shm"] {
        assert_eq!(mode(&db.with_file_name(file)), 0o600, "{file}");
    }
    drop(store);

    // an existing file keeps the mode its operator gave it (e.g. for a backup group)
    let chosen = dir.path().join("chosen.db");
    std::fs::write(&chosen, b"").unwrap();
    std::fs::set_permissions(&chosen, std::fs::Permissions::from_mode(0o640)).unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}", chosen.display()))
        .await
        .unwrap();
    assert_eq!(mode(&chosen), 0o640);
    drop(store);
}

#[tokio::test]
async fn postgres_store() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let store = PostgresStore::connect(&schema.url, 4).await.unwrap();
    suite(Arc::new(store), &schema.url).await;
    schema.drop().await;
}

#[tokio::test]
async fn postgres_replicas_never_claim_the_same_item() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let a = Arc::new(PostgresStore::connect(&schema.url, 4).await.unwrap());
    let b = Arc::new(PostgresStore::connect(&schema.url, 4).await.unwrap());
    for n in 0..40 {
        a.enqueue(&item(&format!("test:{n}"), "x", n), None)
            .await
            .unwrap();
    }
    let claim_all = |store: Arc<PostgresStore>| async move {
        let mut ids = Vec::new();
        while let Some(item) = store.claim_next(1_000, 61_000).await.unwrap() {
            ids.push(item.id);
        }
        ids
    };
    let (mut left, right) = tokio::join!(claim_all(a.clone()), claim_all(b.clone()));
    left.extend(right);
    left.sort();
    let unique: std::collections::BTreeSet<_> = left.iter().collect();
    assert_eq!(left.len(), 40);
    assert_eq!(unique.len(), 40, "every item claimed exactly once");
    schema.drop().await;
}

/// A replica that crashed holds leases nobody renews: before, its items and the replies it was
/// sending waited out the whole lease (60 s and 30 s). Now another replica takes them over once
/// the owner's heartbeat is older than `PRESUMED_DEAD_MS`, and at once after a clean stop,
/// while a live replica's leases are left alone.
#[tokio::test]
async fn postgres_a_silent_replicas_leases_are_taken_over_before_they_run_out() {
    use referral_desk::store::PRESUMED_DEAD_MS;
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let crashed = PostgresStore::connect(&schema.url, 2).await.unwrap();
    let survivor = PostgresStore::connect(&schema.url, 2).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    crashed.heartbeat(now).await.unwrap();
    survivor.heartbeat(now).await.unwrap();
    // the crashed replica took a question and a reply, leased for a minute and 30 s
    let Enqueued::New(question) = crashed
        .enqueue(&item("test:crash-1", "verlof?", now), Some(now + 60_000))
        .await
        .unwrap()
    else {
        panic!("new item")
    };
    let Enqueued::New(answered) = crashed
        .enqueue(&item("test:crash-2", "verlof?", now), Some(now + 60_000))
        .await
        .unwrap()
    else {
        panic!("new item")
    };
    let payload = json!({"send": 1, "conversation": "conv-raw-D42"});
    crashed
        .complete(answered, &record(now), &json!({}), Some(&payload), now)
        .await
        .unwrap();
    let sending = crashed.claim_replies(now, now + 30_000, 10).await.unwrap();
    assert_eq!(sending.len(), 1);

    // while its owner is alive nobody else takes them
    let soon = now + PRESUMED_DEAD_MS - 1_000;
    survivor.heartbeat(soon).await.unwrap();
    assert!(
        survivor
            .claim_next(soon, soon + 60_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        survivor
            .claim_replies(soon, soon + 30_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // silent past PRESUMED_DEAD_MS: taken over, long before either lease would run out
    let later = now + PRESUMED_DEAD_MS + 1_000;
    survivor.heartbeat(later).await.unwrap();
    let taken = survivor.claim_next(later, later + 60_000).await.unwrap();
    assert_eq!(taken.map(|item| item.id), Some(question));
    let replies = survivor
        .claim_replies(later, later + 30_000, 10)
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].id, sending[0].id);
    assert!(replies[0].unsure, "looked for before it is posted again");
    // and the survivor's own fresh leases are its own
    let third = PostgresStore::connect(&schema.url, 2).await.unwrap();
    third.heartbeat(later).await.unwrap();
    assert!(
        third
            .claim_next(later, later + 60_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        third
            .claim_replies(later, later + 30_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // a clean stop frees what the stopping replica still held at once
    third
        .enqueue(&item("test:stop-1", "verlof?", now), Some(later + 60_000))
        .await
        .unwrap();
    assert!(
        survivor
            .claim_next(later, later + 60_000)
            .await
            .unwrap()
            .is_none()
    );
    third.retire().await.unwrap();
    assert!(
        survivor
            .claim_next(later, later + 60_000)
            .await
            .unwrap()
            .is_some(),
        "free at once after the clean stop"
    );
    schema.drop().await;
}
