//! The embedded default: one SQLite file in WAL mode. A single connection serialises writes,
//! which SQLite does anyway, and makes every transaction here atomic against the others.
//! Inline answers (web chat) are written by a batch writer with group commit, and the
//! referral load is mirrored in memory: the database round trips, not SQLite, are what limit
//! throughput (measured: most time went to thread hand-offs, see the README).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Row, Sqlite};

use super::sql::{self, impl_conversation_store};
use super::{
    Answered, Completion, ConversationRecord, ConversationStore, Enqueued, NewInboxItem,
    StoreError, least_recent_first,
};

/// Stamps when a specialist was last chosen (the rotation); `max` keeps the latest stamp
/// whatever order the writes arrive in. The referral count is the log's: a trigger adds one
/// per log row that names a specialist (migration `20261211000001_delivery_faults`).
const PERSIST_REFERRALS: &str = "INSERT INTO specialist_load \
     (specialist_id, last_referred_ms) VALUES ($1, $2) \
     ON CONFLICT (specialist_id) DO UPDATE SET \
     last_referred_ms = max(specialist_load.last_referred_ms, $2)";

/// Most inline answers written in one transaction.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The one writer connection (SQLite takes one writer at a time anyway).
    pool: Pool<Sqlite>,
    /// Read-only connections for long reads (report scans), which WAL lets run beside the
    /// writer without blocking the chat.
    reader: Pool<Sqlite>,
    /// The referral load, mirrored in memory. A SQLite file has one server process, so the
    /// mirror is authoritative; its stamps are written with the next batch.
    load: Arc<Mutex<LoadMirror>>,
    writes: mpsc::UnboundedSender<Write>,
    /// The database file, which report scans open directly; `None` in memory.
    file: Option<std::path::PathBuf>,
    /// This process, in the leases it takes.
    lease_owner: String,
}

#[derive(Debug, Default)]
struct LoadMirror {
    last: HashMap<String, i64>,
    /// Stamps not yet written, per specialist.
    unwritten: HashMap<String, i64>,
}

/// Work for the batch writer.
#[derive(Debug)]
enum Write {
    Answer(Box<PendingAnswer>),
    Enqueue(Box<PendingEnqueue>),
    Complete(Box<PendingCompletion>),
    /// Write the unwritten stamps of the rotation.
    Flush,
}

#[derive(Debug)]
struct PendingEnqueue {
    item: NewInboxItem,
    leased_until_ms: Option<i64>,
    done: oneshot::Sender<Result<Enqueued, StoreError>>,
}

#[derive(Debug)]
struct PendingCompletion {
    inbox_id: i64,
    record: ConversationRecord,
    reply: serde_json::Value,
    outbox: Option<serde_json::Value>,
    now_ms: i64,
    done: oneshot::Sender<Result<Completion, StoreError>>,
}

#[derive(Debug)]
struct PendingAnswer {
    item: NewInboxItem,
    record: ConversationRecord,
    reply: serde_json::Value,
    /// The reply to queue for sending, serialised.
    outbox: Option<String>,
    now_ms: i64,
    /// The conversation id, or `None` for a repeated delivery id.
    done: oneshot::Sender<Result<Option<i64>, StoreError>>,
}

/// Creates the database file readable and writable by this user only (0600), as the key file
/// is: it holds conversations. SQLite gives the `-wal` and `-shm` files the same mode. An
/// existing file keeps the mode its operator chose.
fn create_private(file: &std::path::Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::File {
            path: file.to_path_buf(),
            source,
        }),
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        Self::connect_with(url, None).await
    }

    /// As [`Self::connect`], with the file capped at `max_size_mb` MiB (`database.max_size_mb`;
    /// SQLite's `max_page_count`, set on every connection): at the cap writes fail as on a
    /// full disk.
    pub async fn connect_with(
        url: &str,
        max_size_mb: Option<u32>,
    ) -> Result<SqliteStore, StoreError> {
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(mb) = max_size_mb {
            // page_size is SQLite's default 4096 (never changed here)
            options = options.pragma("max_page_count", (u64::from(mb) * 256).to_string());
        }
        let path = options.get_filename();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let file = (!in_memory).then(|| path.to_path_buf());
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        if let Some(file) = &file {
            create_private(file)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("deploy/migrations/sqlite")
            .run(&pool)
            .await?;
        let mut mirror = LoadMirror::default();
        for row in sqlx::query("SELECT specialist_id, last_referred_ms FROM specialist_load")
            .fetch_all(&pool)
            .await?
        {
            mirror.last.insert(
                row.try_get("specialist_id")?,
                row.try_get("last_referred_ms")?,
            );
        }
        let load = Arc::new(Mutex::new(mirror));
        let (writes, queue) = mpsc::unbounded_channel();
        let lease_owner = super::new_lease_owner();
        tokio::spawn(write_batches(
            pool.clone(),
            load.clone(),
            queue,
            lease_owner.clone(),
        ));
        let reader = SqlitePoolOptions::new()
            .max_connections(3)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options.read_only(true));
        Ok(SqliteStore {
            pool,
            reader,
            load,
            writes,
            file,
            lease_owner,
        })
    }

    /// Report scans read the file directly (see [`super::sqlite_scan`]); an in-memory
    /// database can only be reached through the pool.
    async fn scan_rows(
        &self,
        from_ms: i64,
        to_ms: i64,
        rows: super::Rows,
        visit: &mut (dyn for<'r> FnMut(super::ReportRow<'r>) + Send),
    ) -> Result<u64, StoreError> {
        match &self.file {
            Some(file) => super::sqlite_scan::scan(file.clone(), from_ms, to_ms, rows, visit).await,
            None => sql::stream_report_rows!(&self.reader, from_ms, to_ms, rows, visit),
        }
    }

    async fn read_unmet_questions(
        &self,
        from_ms: i64,
        to_ms: i64,
        low_confidence: f32,
        rows: super::Rows,
    ) -> Result<Vec<super::UnmetRow>, StoreError> {
        match &self.file {
            Some(file) => {
                super::sqlite_scan::unmet_questions(
                    file.clone(),
                    from_ms,
                    to_ms,
                    low_confidence,
                    rows,
                )
                .await
            }
            None => {
                sql::fetch_unmet_questions!(&self.reader, from_ms, to_ms, low_confidence, rows)
            }
        }
    }

    /// Writes and deletes a row bigger than a page in one committed transaction: fails when
    /// the file cannot grow (full disk, `database.max_size_mb`) or cannot be written at all.
    /// Run as its own task, so a caller that stops waiting (readiness answers within 1 s)
    /// never leaves the writer inside a transaction.
    async fn probe_write(&self) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            sql::in_transaction!(pool, |tx| async {
                sqlx::query("INSERT INTO write_probe (data) VALUES (zeroblob(8192))")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM write_probe")
                    .execute(&mut *tx)
                    .await?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .map_err(|_| StoreError::WriterGone)?
    }

    /// Nothing to tell: a SQLite file has one process, which releases every lease at start.
    async fn beat(&self, _now_ms: i64) -> Result<(), StoreError> {
        Ok(())
    }

    async fn remove_replica(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn mirror(&self) -> std::sync::MutexGuard<'_, LoadMirror> {
        self.load
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn refer(&self, candidates: &[String], now_ms: i64) -> Result<Vec<String>, StoreError> {
        let ordered = {
            let mut mirror = self.mirror();
            let ordered = least_recent_first(candidates, &mirror.last, None);
            let latest = candidates
                .iter()
                .filter_map(|id| mirror.last.get(id))
                .max()
                .copied();
            let stamp = now_ms.max(latest.unwrap_or(0) + 1);
            mirror.last.insert(ordered[0].clone(), stamp);
            let entry = mirror.unwritten.entry(ordered[0].clone()).or_insert(0);
            *entry = (*entry).max(stamp);
            ordered
        };
        let _ = self.writes.send(Write::Flush);
        Ok(ordered)
    }

    /// Through the batch writer, like [`Self::answered`]: acknowledging a Slack or Teams
    /// delivery waits for a commit shared with whatever else is being written.
    async fn write_enqueue(
        &self,
        item: &NewInboxItem,
        leased_until_ms: Option<i64>,
    ) -> Result<Enqueued, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.writes
            .send(Write::Enqueue(Box::new(PendingEnqueue {
                item: item.clone(),
                leased_until_ms,
                done,
            })))
            .map_err(|_| StoreError::WriterGone)?;
        outcome.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Through the batch writer: the workers' completions share transactions.
    async fn write_completion(
        &self,
        inbox_id: i64,
        record: &ConversationRecord,
        reply: &serde_json::Value,
        outbox: Option<&serde_json::Value>,
        now_ms: i64,
    ) -> Result<Completion, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.writes
            .send(Write::Complete(Box::new(PendingCompletion {
                inbox_id,
                record: record.clone(),
                reply: reply.clone(),
                outbox: outbox.cloned(),
                now_ms,
                done,
            })))
            .map_err(|_| StoreError::WriterGone)?;
        outcome.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Queued for the batch writer: under load many answers share one transaction (group
    /// commit), which is what lets one SQLite connection keep up with thousands of questions
    /// a second.
    async fn answered(
        &self,
        item: &NewInboxItem,
        record: &ConversationRecord,
        reply: &serde_json::Value,
        outbox: Option<&serde_json::Value>,
        now_ms: i64,
    ) -> Result<Answered, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.writes
            .send(Write::Answer(Box::new(PendingAnswer {
                item: item.clone(),
                record: record.clone(),
                reply: reply.clone(),
                outbox: outbox.map(|payload| payload.to_string()),
                now_ms,
                done,
            })))
            .map_err(|_| StoreError::WriterGone)?;
        match outcome.await.map_err(|_| StoreError::WriterGone)?? {
            Some(conversation) => Ok(Answered::Logged(conversation)),
            None => Ok(Answered::Duplicate(
                self.delivery(&item.delivery_id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?,
            )),
        }
    }
}

/// The batch writer: takes whatever is queued (up to [`MAX_BATCH`] answers) and writes it in
/// one transaction, so the batch size grows with the load.
async fn write_batches(
    pool: Pool<Sqlite>,
    load: Arc<Mutex<LoadMirror>>,
    mut queue: mpsc::UnboundedReceiver<Write>,
    lease_owner: String,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = Batch::default();
        let mut next = Some(first);
        while let Some(write) = next {
            match write {
                Write::Answer(answer) => batch.answers.push(*answer),
                Write::Enqueue(enqueue) => batch.enqueues.push(*enqueue),
                Write::Complete(completion) => batch.completions.push(*completion),
                Write::Flush => {}
            }
            next = if batch.len() < MAX_BATCH {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        let stamps: Vec<(String, i64)> = {
            let mut mirror = load.lock().unwrap_or_else(|p| p.into_inner());
            mirror.unwritten.drain().collect()
        };
        match write_batch(&pool, &batch, &stamps, &lease_owner).await {
            Ok(written) => {
                for (answer, outcome) in batch.answers.into_iter().zip(written.answers) {
                    let _ = answer.done.send(Ok(outcome));
                }
                for (enqueue, outcome) in batch.enqueues.into_iter().zip(written.enqueued) {
                    let _ = enqueue.done.send(Ok(outcome));
                }
                for (completion, outcome) in batch.completions.into_iter().zip(written.completions)
                {
                    let _ = completion.done.send(Ok(outcome));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, writes = batch.len(), "writing a batch failed");
                let mut mirror = load.lock().unwrap_or_else(|p| p.into_inner());
                for (id, stamp) in stamps {
                    let entry = mirror.unwritten.entry(id).or_insert(0);
                    *entry = (*entry).max(stamp);
                }
                drop(mirror);
                let failed = || StoreError::Batch {
                    reason: err.to_string(),
                    unavailable: err.is_unavailable(),
                };
                for answer in batch.answers {
                    let _ = answer.done.send(Err(failed()));
                }
                for enqueue in batch.enqueues {
                    let _ = enqueue.done.send(Err(failed()));
                }
                for completion in batch.completions {
                    let _ = completion.done.send(Err(failed()));
                }
            }
        }
    }
}

/// What the writer took from its queue for one transaction.
#[derive(Default)]
struct Batch {
    answers: Vec<PendingAnswer>,
    enqueues: Vec<PendingEnqueue>,
    completions: Vec<PendingCompletion>,
}

impl Batch {
    fn len(&self) -> usize {
        self.answers.len() + self.enqueues.len() + self.completions.len()
    }
}

/// What one transaction wrote, in the order of the [`Batch`].
struct Written {
    answers: Vec<Option<i64>>,
    enqueued: Vec<Enqueued>,
    completions: Vec<Completion>,
}

async fn write_batch(
    pool: &Pool<Sqlite>,
    batch: &Batch,
    stamps: &[(String, i64)],
    lease_owner: &str,
) -> Result<Written, StoreError> {
    sql::in_transaction!(pool, |tx| async {
        let enqueued = write_enqueues(&mut tx, &batch.enqueues, lease_owner).await?;
        let (inbox_ids, conversation_ids) = write_answers(&mut tx, &batch.answers, stamps).await?;
        let completions = write_completions(&mut tx, &batch.completions).await?;
        let mut claimed = HashSet::new();
        let answers = batch
            .answers
            .iter()
            .map(|a| {
                let id = &a.item.delivery_id;
                inbox_ids
                    .get(id)
                    .and_then(|inbox| conversation_ids.get(inbox))
                    .filter(|_| claimed.insert(id.as_str()))
                    .copied()
            })
            .collect();
        Ok::<_, StoreError>(Written {
            answers,
            enqueued,
            completions,
        })
    })
}

/// The batch's deliveries in one statement: the first of a delivery id is new, any later
/// one (in this batch or before) a duplicate.
async fn write_enqueues(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    enqueues: &[PendingEnqueue],
    lease_owner: &str,
) -> Result<Vec<Enqueued>, StoreError> {
    if enqueues.is_empty() {
        return Ok(Vec::new());
    }
    let statement = sql::enqueue_rows(enqueues.len());
    let mut query = sqlx::query(&statement);
    for e in enqueues {
        let (status, attempts) = match e.leased_until_ms {
            Some(_) => ("processing", 1),
            None => ("pending", 0),
        };
        query = query
            .bind(&e.item.delivery_id)
            .bind(&e.item.channel)
            .bind(&e.item.conversation)
            .bind(&e.item.asker_key)
            .bind(&e.item.department)
            .bind(&e.item.text)
            .bind(e.item.context.to_string())
            .bind(e.item.received_ms)
            .bind(status)
            .bind(attempts)
            .bind(e.leased_until_ms)
            .bind(e.leased_until_ms.map(|_| lease_owner));
    }
    let mut inserted: HashMap<String, i64> = HashMap::new();
    for row in query.fetch_all(&mut **tx).await? {
        inserted.insert(row.try_get("delivery_id")?, row.try_get("id")?);
    }
    let mut outcomes = Vec::with_capacity(enqueues.len());
    for e in enqueues {
        let id = &e.item.delivery_id;
        outcomes.push(match inserted.remove(id) {
            Some(new) => Enqueued::New(new),
            None => Enqueued::Duplicate(
                sqlx::query(sql::INBOX_ID_BY_DELIVERY)
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("id")?,
            ),
        });
    }
    Ok(outcomes)
}

/// The batch's completions: their log rows and queued replies in one statement each (a log
/// row that exists already, from an earlier attempt, is found instead), then each inbox row
/// finished. The same steps as PostgreSQL's `write_completion`, batched.
async fn write_completions(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    completions: &[PendingCompletion],
) -> Result<Vec<Completion>, StoreError> {
    if completions.is_empty() {
        return Ok(Vec::new());
    }
    let statement = sql::log_rows(completions.len());
    let mut query = sqlx::query(&statement);
    for c in completions {
        query = sql::bind_log!(query, c.inbox_id, c.record);
    }
    let mut logged: HashMap<i64, i64> = HashMap::new();
    for row in query.fetch_all(&mut **tx).await? {
        logged.insert(row.try_get("inbox_id")?, row.try_get("id")?);
    }
    let mut outcomes = Vec::with_capacity(completions.len());
    for c in completions {
        outcomes.push(match logged.remove(&c.inbox_id) {
            Some(id) => Completion::Logged(id),
            None => Completion::AlreadyLogged(
                sqlx::query(sql::CONVERSATION_BY_INBOX)
                    .bind(c.inbox_id)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("id")?,
            ),
        });
    }
    let replies: Vec<(&PendingCompletion, i64)> = completions
        .iter()
        .zip(&outcomes)
        .filter(|(c, _)| c.outbox.is_some())
        .map(|(c, outcome)| (c, outcome.conversation_id()))
        .collect();
    let payloads: Vec<String> = replies
        .iter()
        .filter_map(|(c, _)| c.outbox.as_ref().map(|p| p.to_string()))
        .collect();
    let rows: Vec<QueuedRow<'_>> = replies
        .iter()
        .zip(&payloads)
        .map(|((c, conversation_id), payload)| {
            (
                *conversation_id,
                c.record.channel.as_str(),
                payload.as_str(),
                c.now_ms,
            )
        })
        .collect();
    queue_replies(tx, &rows).await?;
    let statement = finish_rows(completions.len());
    let mut query = sqlx::query(&statement);
    for c in completions {
        query = query
            .bind(c.inbox_id)
            .bind(c.reply.to_string())
            .bind(c.now_ms);
    }
    query.execute(&mut **tx).await?;
    Ok(outcomes)
}

/// [`sql::FINISH_INBOX`] for `n` items in one statement (`UPDATE ... FROM VALUES`): inbox id,
/// stored reply and completion time per item.
fn finish_rows(n: usize) -> String {
    let values = (0..n)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE inbox SET status = 'done', text = NULL, reply = v.column2, \
         completed_ms = v.column3, lease_until_ms = NULL, conversation = '', context = '{{}}', \
         last_error = NULL FROM (VALUES {values}) AS v WHERE inbox.id = v.column1"
    )
}

/// Inbox id per new delivery id, and conversation id per inbox id.
/// A reply to queue: conversation id, channel, payload (JSON text), due time.
type QueuedRow<'a> = (i64, &'a str, &'a str, i64);

/// Queues the batch's replies in one statement (one per conversation; a repeat is skipped).
async fn queue_replies(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    replies: &[QueuedRow<'_>],
) -> Result<(), StoreError> {
    if replies.is_empty() {
        return Ok(());
    }
    let statement = sql::outbox_rows(replies.len());
    let mut query = sqlx::query(&statement);
    for (conversation_id, channel, payload, due_ms) in replies {
        query = query
            .bind(conversation_id)
            .bind(*channel)
            .bind(*payload)
            .bind(due_ms);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

type WrittenIds = (HashMap<String, i64>, HashMap<i64, i64>);

async fn write_answers(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    answers: &[PendingAnswer],
    stamps: &[(String, i64)],
) -> Result<WrittenIds, StoreError> {
    // The first answer per delivery id is new; later ones in the batch are duplicates.
    let mut seen = HashSet::new();
    let fresh: Vec<&PendingAnswer> = answers
        .iter()
        .filter(|a| seen.insert(a.item.delivery_id.as_str()))
        .collect();
    let mut inbox_ids: HashMap<String, i64> = HashMap::new();
    let mut conversation_ids: HashMap<i64, i64> = HashMap::new();
    if !fresh.is_empty() {
        let statement = sql::answered_inbox(fresh.len());
        let mut query = sqlx::query(&statement);
        for a in &fresh {
            query = sql::bind_answered!(query, a.item, a.reply, a.now_ms);
        }
        for row in query.fetch_all(&mut **tx).await? {
            inbox_ids.insert(row.try_get("delivery_id")?, row.try_get("id")?);
        }
        let logged: Vec<(&PendingAnswer, i64)> = fresh
            .iter()
            .filter_map(|a| inbox_ids.get(&a.item.delivery_id).map(|id| (*a, *id)))
            .collect();
        if !logged.is_empty() {
            let statement = sql::log_rows(logged.len());
            let mut query = sqlx::query(&statement);
            for (a, inbox_id) in &logged {
                query = sql::bind_log!(query, *inbox_id, a.record);
            }
            for row in query.fetch_all(&mut **tx).await? {
                conversation_ids.insert(row.try_get("inbox_id")?, row.try_get("id")?);
            }
            let replies: Vec<QueuedRow<'_>> = logged
                .iter()
                .filter_map(|(a, inbox_id)| {
                    let payload = a.outbox.as_deref()?;
                    let conversation = conversation_ids.get(inbox_id)?;
                    Some((*conversation, a.record.channel.as_str(), payload, a.now_ms))
                })
                .collect();
            queue_replies(tx, &replies).await?;
        }
    }
    for (id, stamp) in stamps {
        sqlx::query(PERSIST_REFERRALS)
            .bind(id)
            .bind(stamp)
            .execute(&mut **tx)
            .await?;
    }
    Ok((inbox_ids, conversation_ids))
}

impl_conversation_store!(
    SqliteStore,
    Sqlite,
    claim_inbox: "UPDATE inbox SET status = 'processing', attempts = attempts + 1, \
        lease_until_ms = $1, lease_owner = $4 WHERE id IN (SELECT id FROM inbox \
        WHERE status = 'pending' OR (status = 'processing' AND lease_until_ms < $2) \
        ORDER BY id LIMIT $3) \
        RETURNING id, delivery_id, channel, conversation, asker_key, department, text, \
        context, received_ms, attempts",
    claim_replies: "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
        next_attempt_ms = $1, lease_owner = $4, \
        unsure = CASE WHEN status = 'sending' THEN 1 ELSE unsure END \
        WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending') \
        AND next_attempt_ms <= $2 ORDER BY next_attempt_ms, id LIMIT $3) \
        RETURNING id, conversation_id, channel, payload, attempts, unsure",

);
