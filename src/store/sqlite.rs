//! The embedded default: one SQLite file in WAL mode. A single connection serialises writes,
//! which SQLite does anyway, and makes every transaction here atomic against the others.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use super::StoreError;
use super::sql::impl_conversation_store;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
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
        Ok(SqliteStore { pool })
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
    lock: "",
    greatest: "max"
);
