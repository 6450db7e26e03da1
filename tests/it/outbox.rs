//! Replies sent later (Slack, Teams) go through the outbox: retried with backoff on temporary
//! failures, given up on permanent ones, and never sent twice once recorded as sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use referral_desk::pipeline::OutgoingReply;
use referral_desk::pipeline::outbox::{Attempt, Backoff, OutboxWorker, ReplySender, SendError};
use referral_desk::store::{
    ConversationRecord, ConversationStore, Enqueued, NewInboxItem, SqliteStore,
};
use referral_desk::telemetry::Metrics;
use serde_json::json;

/// Fails `failures` times with a retryable error, then succeeds; counts successful sends.
struct FlakySender {
    failures: AtomicUsize,
    sent: AtomicUsize,
    permanent: bool,
}

#[async_trait]
impl ReplySender for FlakySender {
    async fn send(&self, _reply: &OutgoingReply, _attempt: Attempt) -> Result<(), SendError> {
        if self.permanent {
            return Err(SendError::Permanent("400 bad request".into()));
        }
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(SendError::Retry {
                after: None,
                reason: "503".into(),
            });
        }
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn store_with_reply(dir: &std::path::Path) -> (Arc<SqliteStore>, i64) {
    let store = Arc::new(
        SqliteStore::connect(&format!("sqlite://{}", dir.join("o.db").display()))
            .await
            .unwrap(),
    );
    let Enqueued::New(id) = store
        .enqueue(
            &NewInboxItem {
                delivery_id: "chat:1".into(),
                channel: "chat".into(),
                conversation: "c".into(),
                asker_key: "k".into(),
                department: None,
                text: "t".into(),
                context: json!({}),
                received_ms: 0,
            },
            None,
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    let reply: referral_desk::pipeline::Reply = serde_json::from_value(json!({
        "conversation_id": null, "language": "en", "decision": "out_of_scope", "intent": null,
        "confidence": 0.1, "text": "t", "intro": "i", "specialists": [], "knowledge": [],
        "options": [], "desk": null
    }))
    .unwrap();
    let outgoing = OutgoingReply {
        conversation: "c".into(),
        context: json!({}),
        reply,
        question: Some("q".into()),
    };
    let record = ConversationRecord {
        received_ms: 0,
        channel: "chat".into(),
        asker_key: "k".into(),
        department: None,
        language: "en".into(),
        question: None,
        intent: None,
        confidence: 0.1,
        decision: "out_of_scope".into(),
        route: json!({}),
        latency_us: 1,
    };
    let conversation = store
        .complete(
            id,
            &record,
            &json!({}),
            Some(&serde_json::to_value(outgoing).unwrap()),
            0,
        )
        .await
        .unwrap()
        .conversation_id();
    (store, conversation)
}

fn worker(store: Arc<SqliteStore>, sender: Arc<FlakySender>) -> OutboxWorker {
    let mut senders: HashMap<String, Arc<dyn ReplySender>> = HashMap::new();
    senders.insert("chat".into(), sender);
    OutboxWorker {
        store,
        senders,
        metrics: Arc::new(Metrics::new()),
        backoff: Backoff {
            base: Duration::from_millis(300),
            max: Duration::from_millis(1000),
            max_attempts: 5,
        },
        lease: Duration::from_secs(30),
        wake: Default::default(),
    }
}

#[tokio::test]
async fn temporary_failures_are_retried_with_backoff_and_the_reply_is_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, conversation) = store_with_reply(dir.path()).await;
    let sender = Arc::new(FlakySender {
        failures: AtomicUsize::new(2),
        sent: AtomicUsize::new(0),
        permanent: false,
    });
    let outbox = worker(store.clone(), sender.clone());
    assert!(outbox.send_next().await.unwrap(), "first attempt (fails)");
    assert!(
        !outbox.send_next().await.unwrap(),
        "not due yet: backing off"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(outbox.send_next().await.unwrap(), "second attempt (fails)");
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert!(
        outbox.send_next().await.unwrap(),
        "third attempt (succeeds)"
    );
    assert_eq!(sender.sent.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !outbox.send_next().await.unwrap(),
        "sent replies are not sent again"
    );
    assert_eq!(
        store.reply_status(conversation).await.unwrap().as_deref(),
        Some("sent")
    );
    let metrics = outbox.metrics.render();
    assert!(
        metrics.contains("referral_desk_reply_failures_total{channel=\"chat\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn permanent_failures_give_up_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, conversation) = store_with_reply(dir.path()).await;
    let sender = Arc::new(FlakySender {
        failures: AtomicUsize::new(0),
        sent: AtomicUsize::new(0),
        permanent: true,
    });
    let outbox = worker(store.clone(), sender.clone());
    assert!(outbox.send_next().await.unwrap());
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!outbox.send_next().await.unwrap());
    assert_eq!(
        store.reply_status(conversation).await.unwrap().as_deref(),
        Some("failed")
    );
    assert_eq!(sender.sent.load(Ordering::SeqCst), 0);
}
