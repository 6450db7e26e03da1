//! The embedded default: one SQLite file in WAL mode. A single connection serialises writes,
//! which SQLite does anyway, and makes every transaction here atomic against the others.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Row, Sqlite};

use super::sql::impl_conversation_store;
use super::{StoreError, least_recent_first};

/// Records a referral; `max` keeps the latest value when two writes arrive out of order.
const PERSIST_REFERRAL: &str = "INSERT INTO specialist_load \
     (specialist_id, referrals, last_referred_ms) VALUES ($1, 1, $2) \
     ON CONFLICT (specialist_id) DO UPDATE SET referrals = specialist_load.referrals + 1, \
     last_referred_ms = max(specialist_load.last_referred_ms, $2)";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
    /// The referral load, mirrored in memory. A SQLite file has one server process, so the
    /// mirror is authoritative and choosing a specialist costs one write instead of a
    /// read-and-write round trip under a lock.
    load: Arc<Mutex<HashMap<String, i64>>>,
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
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("deploy/migrations/sqlite")
            .run(&pool)
            .await?;
        let mut load = HashMap::new();
        for row in sqlx::query("SELECT specialist_id, last_referred_ms FROM specialist_load")
            .fetch_all(&pool)
            .await?
        {
            load.insert(
                row.try_get("specialist_id")?,
                row.try_get("last_referred_ms")?,
            );
        }
        Ok(SqliteStore {
            pool,
            load: Arc::new(Mutex::new(load)),
        })
    }

    async fn refer(&self, candidates: &[String], now_ms: i64) -> Result<Vec<String>, StoreError> {
        let (ordered, stamp) = {
            let mut load = self
                .load
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let ordered = least_recent_first(candidates, &load, None);
            let latest = candidates
                .iter()
                .filter_map(|id| load.get(id))
                .max()
                .copied();
            let stamp = now_ms.max(latest.unwrap_or(0) + 1);
            load.insert(ordered[0].clone(), stamp);
            (ordered, stamp)
        };
        sqlx::query(PERSIST_REFERRAL)
            .bind(&ordered[0])
            .bind(stamp)
            .execute(&self.pool)
            .await?;
        Ok(ordered)
    }
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
