//! PostgreSQL, for organisations that run several replicas: claims use `FOR UPDATE SKIP
//! LOCKED` so replicas never process the same item, and referral-load rows are locked while a
//! specialist is chosen.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

use super::StoreError;
use super::sql::impl_conversation_store;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...`; `?options=-csearch_path%3DNAME` selects a schema)
    /// and migrates the database.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("deploy/migrations/postgres")
            .run(&pool)
            .await?;
        Ok(PostgresStore { pool })
    }
}

impl_conversation_store!(
    PostgresStore,
    Postgres,
    claim_next: "UPDATE inbox SET status = 'processing', attempts = attempts + 1, \
        lease_until_ms = $1 WHERE id = (SELECT id FROM inbox WHERE status = 'pending' \
        OR (status = 'processing' AND lease_until_ms < $2) ORDER BY id LIMIT 1 \
        FOR UPDATE SKIP LOCKED) \
        RETURNING id, delivery_id, channel, conversation, asker_key, department, text, \
        context, received_ms, attempts",
    claim_reply: "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
        next_attempt_ms = $1 WHERE id = (SELECT id FROM outbox WHERE status IN \
        ('pending', 'sending') AND next_attempt_ms <= $2 ORDER BY next_attempt_ms, id LIMIT 1 \
        FOR UPDATE SKIP LOCKED) \
        RETURNING id, conversation_id, channel, payload, attempts",
    lock: " FOR UPDATE SKIP LOCKED",
    greatest: "GREATEST"
);
