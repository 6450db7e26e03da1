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
    Answered, ConversationRecord, ConversationStore, NewInboxItem, StoreError, least_recent_first,
};

/// Adds referrals; `max` keeps the latest stamp whatever order the writes arrive in.
const PERSIST_REFERRALS: &str = "INSERT INTO specialist_load \
     (specialist_id, referrals, last_referred_ms) VALUES ($1, $3, $2) \
     ON CONFLICT (specialist_id) DO UPDATE SET referrals = specialist_load.referrals + $3, \
     last_referred_ms = max(specialist_load.last_referred_ms, $2)";

/// Most inline answers written in one transaction.
const MAX_BATCH: usize = 64;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The one writer connection (SQLite takes one writer at a time anyway).
    pool: Pool<Sqlite>,
    /// Read-only connections for long reads (report scans), which WAL lets run beside the
    /// writer without blocking the chat.
    reader: Pool<Sqlite>,
    /// The referral load, mirrored in memory. A SQLite file has one server process, so the
    /// mirror is authoritative; referrals are written with the next batch.
    load: Arc<Mutex<LoadMirror>>,
    writes: mpsc::UnboundedSender<Write>,
    /// The database file, which report scans open directly; `None` in memory.
    file: Option<std::path::PathBuf>,
}

#[derive(Debug, Default)]
struct LoadMirror {
    last: HashMap<String, i64>,
    /// Referrals not yet written: latest stamp and how many.
    unwritten: HashMap<String, (i64, i64)>,
}

/// Work for the batch writer.
#[derive(Debug)]
enum Write {
    Answer(Box<PendingAnswer>),
    /// Write unwritten referrals.
    Flush,
}

#[derive(Debug)]
struct PendingAnswer {
    item: NewInboxItem,
    record: ConversationRecord,
    reply: serde_json::Value,
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
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
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
        tokio::spawn(write_batches(pool.clone(), load.clone(), queue));
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
            let entry = mirror.unwritten.entry(ordered[0].clone()).or_insert((0, 0));
            *entry = (entry.0.max(stamp), entry.1 + 1);
            ordered
        };
        let _ = self.writes.send(Write::Flush);
        Ok(ordered)
    }

    /// Queued for the batch writer: under load many answers share one transaction (group
    /// commit), which is what lets one SQLite connection keep up with thousands of questions
    /// a second.
    async fn answered(
        &self,
        item: &NewInboxItem,
        record: &ConversationRecord,
        reply: &serde_json::Value,
        now_ms: i64,
    ) -> Result<Answered, StoreError> {
        let (done, outcome) = oneshot::channel();
        self.writes
            .send(Write::Answer(Box::new(PendingAnswer {
                item: item.clone(),
                record: record.clone(),
                reply: reply.clone(),
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
) {
    while let Some(first) = queue.recv().await {
        let mut answers = Vec::new();
        let mut next = Some(first);
        while let Some(write) = next {
            if let Write::Answer(answer) = write {
                answers.push(*answer);
            }
            next = if answers.len() < MAX_BATCH {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        let referrals: Vec<(String, (i64, i64))> = {
            let mut mirror = load.lock().unwrap_or_else(|p| p.into_inner());
            mirror.unwritten.drain().collect()
        };
        match write_batch(&pool, &answers, &referrals).await {
            Ok(outcomes) => {
                for (answer, outcome) in answers.into_iter().zip(outcomes) {
                    let _ = answer.done.send(Ok(outcome));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, answers = answers.len(), "writing a batch failed");
                let mut mirror = load.lock().unwrap_or_else(|p| p.into_inner());
                for (id, (stamp, count)) in referrals {
                    let entry = mirror.unwritten.entry(id).or_insert((0, 0));
                    *entry = (entry.0.max(stamp), entry.1 + count);
                }
                drop(mirror);
                let message = err.to_string();
                for answer in answers {
                    let _ = answer.done.send(Err(StoreError::Batch(message.clone())));
                }
            }
        }
    }
}

async fn write_batch(
    pool: &Pool<Sqlite>,
    answers: &[PendingAnswer],
    referrals: &[(String, (i64, i64))],
) -> Result<Vec<Option<i64>>, StoreError> {
    let mut tx = pool.begin().await?;
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
        for row in query.fetch_all(&mut *tx).await? {
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
            for row in query.fetch_all(&mut *tx).await? {
                conversation_ids.insert(row.try_get("inbox_id")?, row.try_get("id")?);
            }
        }
    }
    for (id, (stamp, count)) in referrals {
        sqlx::query(PERSIST_REFERRALS)
            .bind(id)
            .bind(stamp)
            .bind(count)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;

    let mut claimed = HashSet::new();
    Ok(answers
        .iter()
        .map(|a| {
            let id = &a.item.delivery_id;
            inbox_ids
                .get(id)
                .and_then(|inbox| conversation_ids.get(inbox))
                .filter(|_| claimed.insert(id.as_str()))
                .copied()
        })
        .collect())
}

impl_conversation_store!(
    SqliteStore,
    Sqlite,
    claim_next: "UPDATE inbox SET status = 'processing', attempts = attempts + 1, \
        lease_until_ms = $1 WHERE id = (SELECT id FROM inbox WHERE status = 'pending' \
        OR (status = 'processing' AND lease_until_ms < $2) ORDER BY id LIMIT 1) \
        RETURNING id, delivery_id, channel, conversation, asker_key, department, text, \
        context, received_ms, attempts",
    claim_reply: "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
        next_attempt_ms = $1 WHERE id = (SELECT id FROM outbox WHERE status IN \
        ('pending', 'sending') AND next_attempt_ms <= $2 ORDER BY next_attempt_ms, id LIMIT 1) \
        RETURNING id, conversation_id, channel, payload, attempts",

);
