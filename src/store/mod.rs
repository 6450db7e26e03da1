//! Durable storage: the inbox (every delivery, before it is acknowledged), the conversation
//! log HRD reports on, the outbox of replies to send, and the referral load per specialist.
//!
//! Only this module writes SQL. Two backends implement [`ConversationStore`] with the same SQL
//! (`sql.rs`; times are unix milliseconds everywhere): SQLite, the embedded default, and
//! PostgreSQL for organisations running several replicas. Each has its migrations under
//! `deploy/migrations/`, applied at start. `tests/it/store.rs` runs one suite against both.
//!
//! What is stored is already private: asker keys are pseudonymous, question texts redacted
//! (see `privacy`). The inbox holds the raw question, where to reply and the channel context
//! (raw platform ids) only until the item is processed and its reply is in the outbox; the
//! outbox holds the reply's payload only until it is sent or given up; a stored reply (for
//! repeated deliveries) quotes no question. Retention ([`ConversationStore::purge_question_texts`])
//! clears what is left of a question past its period in every table.
//!
//! Demo data (`referral-desk seed-demo`) lives in the same tables, every row marked
//! `demo = 1` by the bulk writer in `demo.rs` ([`insert_demo_rows`]), the only statements that
//! set that column: the server's statements never do, so whatever the server logs is real. The report reads take a [`Rows`] and read
//! one kind only, so no statement can count real and demo rows together;
//! [`ConversationStore::remove_demo`] deletes exactly the marked rows.

mod demo;
mod postgres;
mod sql;
mod sqlite;
mod sqlite_scan;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use demo::{DEMO_ROWS_PER_CHUNK, DemoInsertError, DemoRow, insert_demo_rows};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::config::DatabaseSettings;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the database file {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("stored data is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing a batch of answers failed: {reason}")]
    Batch {
        reason: String,
        /// What [`StoreError::is_unavailable`] said of the error that failed the batch.
        unavailable: bool,
    },
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("reading the conversation log for a report failed: {0}")]
    Scan(String),
}

impl StoreError {
    /// Whether the database could not be reached or written just now (connection lost, no
    /// free connection within `database.acquire_timeout_ms`, disk full, locked, shutting down),
    /// as opposed to a bug or bad data. Such a request can be repeated later: clients get 503
    /// with `Retry-After`, and Slack and Teams deliver again.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::WriterGone => true,
            StoreError::Batch { unavailable, .. } => *unavailable,
            StoreError::Database(error) => sqlx_error_is_unavailable(error),
            _ => false,
        }
    }
}

fn sqlx_error_is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => {
            if let Some(pg) = database.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                // 08: connection exception; 53: insufficient resources (disk full, out of
                // memory, too many connections); 57P01-03: shutting down or starting;
                // 25006: a read-only server (a replica after failover)
                let code = pg.code();
                code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(code, "57P01" | "57P02" | "57P03" | "25006")
            } else if database
                .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // primary result codes (extended codes keep them in the low byte): BUSY,
                // LOCKED, READONLY, IOERR, FULL, CANTOPEN
                database
                    .code()
                    .and_then(|code| code.parse::<i64>().ok())
                    .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Which rows a report read sees: the real conversations or the demo rows (`seed-demo`),
/// never both at once. Reports that include demo data read each kind on its own and add the
/// published figures up (see `analytics::release`), so real figures are never suppressed
/// together with synthetic ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rows {
    /// Conversations the desk really had (`demo = 0`): what every report shows.
    Real,
    /// Synthetic conversations written by `seed-demo` (`demo = 1`).
    Demo,
}

impl Rows {
    /// The value of the `demo` column for this kind.
    pub fn flag(self) -> i32 {
        match self {
            Rows::Real => 0,
            Rows::Demo => 1,
        }
    }
}

/// A delivery to record before acknowledging it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewInboxItem {
    /// Unique per delivery and asker, prefixed with the channel (`web:<asker key>:...`,
    /// `slack:<asker key>:Ev...`).
    pub delivery_id: String,
    pub channel: String,
    /// Where to reply, in the channel's terms (a web session, a Slack channel, ...).
    pub conversation: String,
    pub asker_key: String,
    pub department: Option<String>,
    pub text: String,
    /// Channel reply context (thread, service URL, ...).
    pub context: serde_json::Value,
    pub received_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(i64),
    /// The delivery id was seen before: acknowledge and ignore.
    Duplicate(i64),
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Duplicate(id) => id,
        }
    }
}

/// A claimed inbox item, leased to one worker.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItem {
    pub id: i64,
    pub delivery_id: String,
    pub channel: String,
    pub conversation: String,
    pub asker_key: String,
    pub department: Option<String>,
    pub text: String,
    pub context: serde_json::Value,
    pub received_ms: i64,
    pub attempts: i32,
}

/// One row of the conversation log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    pub received_ms: i64,
    pub channel: String,
    pub asker_key: String,
    pub department: Option<String>,
    pub language: String,
    /// Redacted question; `None` when `log.store_text = false`.
    pub question: Option<String>,
    pub intent: Option<String>,
    pub confidence: f32,
    pub decision: String,
    /// Ids of the specialists, knowledge items and desk the reply named.
    pub route: serde_json::Value,
    pub latency_us: i64,
}

impl ConversationRecord {
    /// Where the question ended up, for the demand reports: `specialist`, `knowledge` or
    /// `desk` for routed questions (by what the route named first in that order), else the
    /// decision (`directory`, `ambiguous`, `out_of_scope`).
    pub fn outcome(&self) -> &str {
        if self.decision != "routed" {
            return &self.decision;
        }
        let named = |part: &str| {
            self.route[part]
                .as_array()
                .is_some_and(|ids| !ids.is_empty())
        };
        if named("specialists") {
            "specialist"
        } else if named("knowledge") {
            "knowledge"
        } else {
            "desk"
        }
    }

    /// The specialist a routed question was referred to (the first named), for referral load.
    pub fn referred_specialist(&self) -> Option<&str> {
        if self.decision != "routed" {
            return None;
        }
        self.route["specialists"].get(0).and_then(|id| id.as_str())
    }
}

/// One conversation as the demand reports see it, borrowed from the database row. Web chat
/// sessions are unauthenticated: their rows all carry the one asker key [`WEB_ASKERS`], so
/// opening sessions cannot make one person count as several.
#[derive(Debug, Clone, Copy)]
pub struct ReportRow<'r> {
    pub received_ms: i64,
    pub asker_key: &'r str,
    pub department: Option<&'r str>,
    pub intent: Option<&'r str>,
    pub outcome: Option<&'r str>,
    pub specialist: Option<&'r str>,
    pub feedback: Option<&'r str>,
    pub handoff: bool,
}

/// The asker key the report scans give every web chat question (see [`ReportRow`]).
pub const WEB_ASKERS: &str = "web";

/// A question the desk did not meet, for emerging topics.
#[derive(Debug, Clone, PartialEq)]
pub struct UnmetRow {
    pub received_ms: i64,
    pub asker_key: String,
    /// Redacted.
    pub question: String,
}

/// A logged conversation as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedConversation {
    pub id: i64,
    pub record: ConversationRecord,
    pub feedback: Option<String>,
    pub handoff: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Logged(i64),
    /// Another worker finished it first; nothing was written.
    AlreadyLogged(i64),
}

impl Completion {
    pub fn conversation_id(self) -> i64 {
        match self {
            Completion::Logged(id) | Completion::AlreadyLogged(id) => id,
        }
    }
}

/// What a completed delivery left behind, for answering its duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDelivery {
    pub inbox_id: i64,
    pub status: String,
    pub conversation_id: Option<i64>,
    pub reply: Option<serde_json::Value>,
}

/// What became of a delivery answered inline.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    /// Recorded now, with this conversation id.
    Logged(i64),
    /// The delivery id was seen before: nothing written, here is what was stored.
    Duplicate(StoredDelivery),
}

/// A reply waiting to be sent by a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub conversation_id: i64,
    pub channel: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    /// An earlier attempt may have reached the platform (it was claimed while `sending`, or
    /// its last attempt timed out): the sender looks for it before posting again.
    pub unsure: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InboxStats {
    /// Items received and not yet processed.
    pub depth: i64,
    pub oldest_received_ms: Option<i64>,
}

/// How often a process writes its heartbeat ([`ConversationStore::heartbeat`]).
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);

/// A process whose last heartbeat is older than this is presumed dead: its leases (inbox
/// items it was processing, replies it was sending) can be claimed before they run out.
pub const PRESUMED_DEAD_MS: i64 = 5_000;

/// A name for this process in the leases it takes (`lease_owner`), unique per start.
pub fn new_lease_owner() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

#[async_trait]
pub trait ConversationStore: Send + Sync + std::fmt::Debug {
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Tells the other processes sharing the database that this one is alive, so they leave
    /// its leases alone; written every [`HEARTBEAT`]. Nothing to do where one process owns the
    /// database (SQLite releases every lease at start).
    async fn heartbeat(&self, now_ms: i64) -> Result<(), StoreError>;

    /// Says this process is gone (a clean stop, after its workers finished or were stopped):
    /// its remaining leases are free at once instead of after [`PRESUMED_DEAD_MS`].
    async fn retire(&self) -> Result<(), StoreError>;

    /// Whether a write can be committed now, for readiness: a database that answers but
    /// cannot write (full disk, size cap, read-only file) must not be sent questions. The
    /// default is [`ConversationStore::ping`]; PostgreSQL reports a full disk on its own.
    async fn check_writable(&self) -> Result<(), StoreError> {
        self.ping().await
    }

    /// Records a delivery; a repeated delivery id is reported, not stored twice. With
    /// `leased_until_ms` the new item is claimed by the caller at once (answered inline), so
    /// workers leave it alone unless the lease runs out.
    async fn enqueue(
        &self,
        item: &NewInboxItem,
        leased_until_ms: Option<i64>,
    ) -> Result<Enqueued, StoreError>;

    /// Leases the oldest pending item (or one whose lease ran out) until `lease_until_ms`.
    async fn claim_next(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<InboxItem>, StoreError> {
        Ok(self.claim_batch(now_ms, lease_until_ms, 1).await?.pop())
    }

    /// Leases up to `limit` of the oldest pending items (or ones whose lease ran out) until
    /// `lease_until_ms`, oldest first: one statement for a worker's next batch.
    async fn claim_batch(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<InboxItem>, StoreError>;

    /// Makes sure every specialist has a referral-load row (run at start), so choosing one
    /// needs no writes beyond the referral itself.
    async fn register_specialists(&self, ids: &[String]) -> Result<(), StoreError>;

    /// Returns leased inbox items to pending, and replies being sent to due at once as unsure
    /// (they may have gone out just before the previous process stopped). Only safe where no
    /// other process can hold a lease (SQLite: one process per database file), so it runs at
    /// start: a crashed process's items do not wait out their leases.
    async fn release_leases(&self) -> Result<u64, StoreError>;

    /// Orders `candidates` least recently referred first (ties: the given order) and records a
    /// referral for the first, atomically, so replicas and restarts spread load evenly.
    async fn assign_specialist(
        &self,
        candidates: &[String],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError>;

    /// In idempotent steps: the log row, the reply in the outbox when `outbox` is given, and the
    /// inbox item done (its raw text, where to reply and its context dropped, `reply` kept for
    /// duplicates).
    async fn complete(
        &self,
        inbox_id: i64,
        record: &ConversationRecord,
        reply: &serde_json::Value,
        outbox: Option<&serde_json::Value>,
        now_ms: i64,
    ) -> Result<Completion, StoreError>;

    /// For questions answered at once (web chat, and Slack and Teams questions answered on
    /// arrival): records the delivery (done, its reply kept), its log row and, given
    /// `outbox`, the reply to send, atomically, before the answer is sent or the question
    /// acknowledged; the raw text, where to reply and the context are not kept in the inbox
    /// (the outbox payload carries where to reply until the reply is sent).
    async fn log_answered(
        &self,
        item: &NewInboxItem,
        record: &ConversationRecord,
        reply: &serde_json::Value,
        outbox: Option<&serde_json::Value>,
        now_ms: i64,
    ) -> Result<Answered, StoreError>;

    /// Gives the item back for a retry, or marks it failed after `max_attempts` (then without
    /// its text, where to reply or its context).
    async fn fail(&self, inbox_id: i64, error: &str, max_attempts: i32) -> Result<(), StoreError>;

    async fn delivery(&self, delivery_id: &str) -> Result<Option<StoredDelivery>, StoreError>;

    /// Stores "was this helpful"; false when there is no such conversation.
    async fn record_feedback(
        &self,
        conversation_id: i64,
        helpful: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Notes that the asker was put in touch with a specialist (the text is not logged again).
    async fn record_handoff(&self, conversation_id: i64) -> Result<bool, StoreError>;

    async fn inbox_stats(&self) -> Result<InboxStats, StoreError>;

    /// Retention, for questions received before `before_ms`: deletes the log's question texts
    /// and the stored replies, gives up inbox items and replies not yet answered or sent
    /// (keeping no text, context, payload or error of theirs). Returns how many rows changed.
    async fn purge_question_texts(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Calls `visit` for every logged conversation of kind `rows` received in
    /// `[from_ms, to_ms)`, with just what the demand reports count (read from the covering
    /// index, never the texts). Returns how many rows it visited.
    async fn scan_report_rows(
        &self,
        from_ms: i64,
        to_ms: i64,
        rows: Rows,
        visit: &mut (dyn for<'r> FnMut(ReportRow<'r>) + Send),
    ) -> Result<u64, StoreError>;

    /// The (redacted) texts of questions of kind `rows` the desk did not meet in
    /// `[from_ms, to_ms)`: out of scope, routed with confidence below `low_confidence`, or
    /// marked not helpful. Only rows whose text is still kept (see `log.retention_days`).
    async fn unmet_questions(
        &self,
        from_ms: i64,
        to_ms: i64,
        low_confidence: f32,
        rows: Rows,
    ) -> Result<Vec<UnmetRow>, StoreError>;

    /// The published demand table of `month` (`2026-10`) over rows of kind `rows`, as
    /// stored JSON.
    async fn report_release(&self, month: &str, rows: Rows) -> Result<Option<String>, StoreError>;

    /// Stores a month's published table of kind `rows` unless one exists already (a table
    /// is never revised); false when another was stored first.
    async fn save_report_release(
        &self,
        month: &str,
        rows: Rows,
        released_ms: i64,
        body: &str,
    ) -> Result<bool, StoreError>;

    /// Every department named by rows of kind `rows`, so each published table lists the same
    /// rows whether or not a department asked that month (and a real table never lists a
    /// department only the demo data names).
    async fn report_departments(&self, rows: Rows) -> Result<Vec<String>, StoreError>;

    /// Whether the log holds any conversation of kind `rows` (`seed-demo` refuses a database
    /// with real conversations).
    async fn holds_conversations(&self, rows: Rows) -> Result<bool, StoreError>;

    /// Deletes every row `seed-demo` wrote (outbox, conversations, inbox) and the published
    /// tables of demo rows, in one transaction; real rows and real tables are not touched.
    /// Returns `(table, rows deleted)` per table.
    async fn remove_demo(&self) -> Result<Vec<(&'static str, u64)>, StoreError>;

    /// The log, oldest first, from conversation id `after_id` on (for reports and tests).
    async fn conversations(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<LoggedConversation>, StoreError>;

    /// Leases up to `limit` due replies (oldest due first) until `lease_until_ms`. A reply
    /// still `sending` (its lease ran out: a crashed process) comes back unsure.
    async fn claim_replies(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Records replies as sent (and drops their payloads), in one statement.
    async fn mark_replies_sent(&self, ids: &[i64], now_ms: i64) -> Result<(), StoreError>;

    /// Schedules another attempt at `next_attempt_ms`, or gives up (`failed`) when `None`;
    /// `unsure` when this attempt may have reached the platform.
    async fn reschedule_reply(
        &self,
        id: i64,
        next_attempt_ms: Option<i64>,
        error: &str,
        unsure: bool,
    ) -> Result<(), StoreError>;

    /// Status of the reply of a conversation, if it went through the outbox.
    async fn reply_status(&self, conversation_id: i64) -> Result<Option<String>, StoreError>;
}

/// `candidates` least recently referred first (never referred counts as oldest; ties keep the
/// given order), with `chosen`, when given, moved to the front.
fn least_recent_first(
    candidates: &[String],
    last: &std::collections::HashMap<String, i64>,
    chosen: Option<String>,
) -> Vec<String> {
    let mut ordered: Vec<String> = candidates.to_vec();
    ordered.sort_by_key(|id| last.get(id).copied().unwrap_or(0));
    if let Some(chosen) = chosen
        && let Some(position) = ordered.iter().position(|id| *id == chosen)
    {
        let id = ordered.remove(position);
        ordered.insert(0, id);
    }
    ordered
}

/// Opens the database named in the settings and applies its migrations.
pub async fn connect(
    settings: &DatabaseSettings,
) -> Result<std::sync::Arc<dyn ConversationStore>, StoreError> {
    use secrecy::ExposeSecret;
    let url = settings.url.expose_secret();
    if settings.is_sqlite() {
        Ok(std::sync::Arc::new(
            SqliteStore::connect_with(url, settings.max_size_mb).await?,
        ))
    } else {
        Ok(std::sync::Arc::new(
            PostgresStore::connect_with(
                url,
                settings.max_connections,
                std::time::Duration::from_millis(settings.acquire_timeout_ms),
            )
            .await?,
        ))
    }
}
