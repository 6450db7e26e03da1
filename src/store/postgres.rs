//! PostgreSQL, for organisations that run several replicas: claims use `FOR UPDATE SKIP
//! LOCKED` so replicas never process the same item, and referral-load rows are locked while a
//! specialist is chosen. Each replica names itself in the leases it takes and writes a
//! heartbeat every second (`replicas`), so a crashed replica's items are taken over within
//! about [`super::PRESUMED_DEAD_MS`] instead of after the lease.

use std::collections::HashMap;
use std::time::Duration;

use super::least_recent_first;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres, Row};

use super::sql::{self, impl_conversation_store};
use super::{Answered, ConversationRecord, ConversationStore, NewInboxItem, StoreError};

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
    /// The same pool: PostgreSQL reads do not block writes.
    reader: Pool<Postgres>,
    /// This replica, in the leases it takes and in `replicas` (its heartbeat).
    lease_owner: String,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...`; `?options=-csearch_path%3DNAME` selects a schema)
    /// and migrates the database.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PostgresStore, StoreError> {
        Self::connect_with(url, max_connections, Duration::from_secs(2)).await
    }

    /// As [`Self::connect`], waiting at most `acquire_timeout` for a connection: when the
    /// server is gone a request fails fast (503) instead of hanging.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect(url)
            .await?;
        sqlx::migrate!("deploy/migrations/postgres")
            .run(&pool)
            .await?;
        let store = PostgresStore {
            reader: pool.clone(),
            pool,
            lease_owner: super::new_lease_owner(),
        };
        // alive before the first claim, or its own fresh leases would look abandoned
        store
            .write_heartbeat(chrono::Utc::now().timestamp_millis())
            .await?;
        Ok(store)
    }

    async fn write_heartbeat(&self, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO replicas (id, heartbeat_ms) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms",
        )
        .bind(&self.lease_owner)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records this replica alive; forgets replicas silent for a day (crashed ones; a clean
    /// stop removes its own row).
    async fn beat(&self, now_ms: i64) -> Result<(), StoreError> {
        self.write_heartbeat(now_ms).await?;
        sqlx::query("DELETE FROM replicas WHERE heartbeat_ms < $1")
            .bind(now_ms - 86_400_000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn remove_replica(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replicas WHERE id = $1")
            .bind(&self.lease_owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Streams the report rows from the covering index (see [`sql::REPORT_ROWS`]).
    async fn scan_rows(
        &self,
        from_ms: i64,
        to_ms: i64,
        rows: super::Rows,
        visit: &mut (dyn for<'r> FnMut(super::ReportRow<'r>) + Send),
    ) -> Result<u64, StoreError> {
        sql::stream_report_rows!(&self.reader, from_ms, to_ms, rows, visit)
    }

    async fn read_unmet_questions(
        &self,
        from_ms: i64,
        to_ms: i64,
        low_confidence: f32,
        rows: super::Rows,
    ) -> Result<Vec<super::UnmetRow>, StoreError> {
        sql::fetch_unmet_questions!(&self.reader, from_ms, to_ms, low_confidence, rows)
    }

    /// One transaction per delivery: PostgreSQL takes concurrent writers on its own.
    async fn answered(
        &self,
        item: &NewInboxItem,
        record: &ConversationRecord,
        reply: &serde_json::Value,
        outbox: Option<&serde_json::Value>,
        now_ms: i64,
    ) -> Result<Answered, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inbox = sql::answered_inbox(1);
        let Some(row) = sql::bind_answered!(sqlx::query(&inbox), item, reply, now_ms)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            let stored = self
                .delivery(&item.delivery_id)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            return Ok(Answered::Duplicate(stored));
        };
        let inbox_id: i64 = row.try_get("id")?;
        let log = sql::log_rows(1);
        let id: i64 = sql::bind_log!(sqlx::query(&log), inbox_id, record)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
        if let Some(payload) = outbox {
            sqlx::query(sql::ADD_OUTBOX)
                .bind(id)
                .bind(&record.channel)
                .bind(payload.to_string())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Answered::Logged(id))
    }

    /// Records a delivery in the inbox: see [`ConversationStore::enqueue`].
    async fn write_enqueue(
        &self,
        item: &NewInboxItem,
        leased_until_ms: Option<i64>,
    ) -> Result<super::Enqueued, StoreError> {
        let (status, attempts) = match leased_until_ms {
            Some(_) => ("processing", 1),
            None => ("pending", 0),
        };
        let inserted = sqlx::query(sql::ENQUEUE)
            .bind(&item.delivery_id)
            .bind(&item.channel)
            .bind(&item.conversation)
            .bind(&item.asker_key)
            .bind(&item.department)
            .bind(&item.text)
            .bind(item.context.to_string())
            .bind(item.received_ms)
            .bind(status)
            .bind(attempts)
            .bind(leased_until_ms)
            .bind(leased_until_ms.map(|_| &self.lease_owner))
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = inserted {
            return Ok(super::Enqueued::New(row.try_get("id")?));
        }
        let row = sqlx::query(sql::INBOX_ID_BY_DELIVERY)
            .bind(&item.delivery_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(super::Enqueued::Duplicate(row.try_get("id")?))
    }

    /// Writes a processed item's log row, queued reply and finished inbox row: see
    /// [`ConversationStore::complete`].
    async fn write_completion(
        &self,
        inbox_id: i64,
        record: &ConversationRecord,
        reply: &serde_json::Value,
        outbox: Option<&serde_json::Value>,
        now_ms: i64,
    ) -> Result<super::Completion, StoreError> {
        // Three idempotent steps in this order, each atomic on its own (PostgreSQL runs
        // them on the pool, SQLite in its batch writer's transaction): after a crash
        // between them the item is still leased, is processed again, finds its log row
        // (AlreadyLogged) and completes the remaining steps: one log row, one queued
        // reply.
        let inserted = sql::bind_log!(sqlx::query(sql::LOG_CONVERSATION), inbox_id, record)
            .fetch_optional(&self.pool)
            .await?;
        let completion = match inserted {
            Some(row) => super::Completion::Logged(row.try_get("id")?),
            None => super::Completion::AlreadyLogged(
                sqlx::query(sql::CONVERSATION_BY_INBOX)
                    .bind(inbox_id)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("id")?,
            ),
        };
        if let Some(payload) = outbox {
            sqlx::query(sql::ADD_OUTBOX)
                .bind(completion.conversation_id())
                .bind(&record.channel)
                .bind(payload.to_string())
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
        }
        sqlx::query(sql::FINISH_INBOX)
            .bind(reply.to_string())
            .bind(now_ms)
            .bind(inbox_id)
            .execute(&self.pool)
            .await?;
        Ok(completion)
    }

    /// PostgreSQL refuses a write it cannot make with an error of its own (disk full is
    /// class 53), which the requests see; readiness checks that the server answers.
    async fn probe_write(&self) -> Result<(), StoreError> {
        ConversationStore::ping(self).await
    }

    /// Referral load lives in the database, shared by all replicas.
    async fn refer(&self, candidates: &[String], now_ms: i64) -> Result<Vec<String>, StoreError> {
        let loads = load_of(candidates.len());
        let mut last: HashMap<String, i64> = HashMap::new();
        for attempt in 0..2 {
            let mut query = sqlx::query(&loads);
            for id in candidates {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                last.insert(
                    row.try_get("specialist_id")?,
                    row.try_get("last_referred_ms")?,
                );
            }
            if attempt == 0 && last.len() < candidates.len() {
                // someone without a load row yet: give them one, then read again
                self.register_specialists(candidates).await?;
                last.clear();
                continue;
            }
            break;
        }
        // SKIP LOCKED lets a concurrent replica take the next person instead of waiting for
        // the same one; when every candidate is locked it finds none, and then waits for one
        // (naming someone without stamping them would skew the rotation).
        let mut chosen: Option<String> = None;
        for skip_locked in [true, false] {
            let refer = refer_least_recent(candidates.len(), skip_locked);
            let mut query = sqlx::query(&refer).bind(now_ms);
            for id in candidates {
                query = query.bind(id);
            }
            chosen = query
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get("specialist_id"))
                .transpose()?;
            if chosen.is_some() {
                break;
            }
        }
        Ok(least_recent_first(candidates, &last, chosen))
    }
}

/// Claims inbox items: pending ones, and those being processed whose lease ran out or whose
/// owner is presumed dead (no heartbeat for [`super::PRESUMED_DEAD_MS`], or none at all:
/// it stopped cleanly and removed its row).
const CLAIM_INBOX: &str = "UPDATE inbox SET status = 'processing', attempts = attempts + 1, \
        lease_until_ms = $1, lease_owner = $4 WHERE id IN (SELECT id FROM inbox \
        WHERE status = 'pending' OR (status = 'processing' AND (lease_until_ms < $2 \
        OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = inbox.lease_owner \
        AND r.heartbeat_ms >= $2 - 5000))) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
        RETURNING id, delivery_id, channel, conversation, asker_key, department, text, \
        context, received_ms, attempts";

/// Claims due replies, and replies being sent by a replica presumed dead (as unsure: the
/// sender looks for them before posting again).
const CLAIM_REPLIES: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
        next_attempt_ms = $1, lease_owner = $4, \
        unsure = CASE WHEN status = 'sending' THEN 1 ELSE unsure END \
        WHERE id IN (SELECT id FROM outbox WHERE (status IN ('pending', 'sending') \
        AND next_attempt_ms <= $2) OR (status = 'sending' AND NOT EXISTS (SELECT 1 \
        FROM replicas r WHERE r.id = outbox.lease_owner AND r.heartbeat_ms >= $2 - 5000)) \
        ORDER BY next_attempt_ms, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
        RETURNING id, conversation_id, channel, payload, attempts, unsure";

impl_conversation_store!(
    PostgresStore,
    Postgres,
    claim_inbox: CLAIM_INBOX,
    claim_replies: CLAIM_REPLIES,
);

/// `SELECT specialist_id, last_referred_ms ... WHERE specialist_id IN ($1, ..., $n)`.
fn load_of(n: usize) -> String {
    format!(
        "SELECT specialist_id, last_referred_ms FROM specialist_load \
         WHERE specialist_id IN ({})",
        placeholders(1, n)
    )
}

fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One statement that picks the least recently referred of the `n` candidates (`$2..`; ties
/// in the given order), stamps them as chosen at `$1` or just after the candidates' latest, and
/// returns the id. It is atomic on its own. The referral itself is counted by the log row
/// (a trigger, migration `20261211000001_delivery_faults`), so a question logged twice or not
/// at all cannot disagree with the count.
fn refer_least_recent(n: usize, skip_locked: bool) -> String {
    let ids = placeholders(2, n);
    let order: String = (2..2 + n).map(|i| format!(" WHEN ${i} THEN {i}")).collect();
    format!(
        "UPDATE specialist_load SET last_referred_ms = \
         GREATEST($1, (SELECT COALESCE(MAX(last_referred_ms), 0) + 1 FROM specialist_load \
         WHERE specialist_id IN ({ids}))) \
         WHERE specialist_id = (SELECT specialist_id FROM specialist_load \
         WHERE specialist_id IN ({ids}) \
         ORDER BY last_referred_ms, CASE specialist_id{order} END LIMIT 1 \
         FOR UPDATE{}) \
         RETURNING specialist_id",
        if skip_locked { " SKIP LOCKED" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_presume_a_replica_dead_after_the_documented_silence() {
        let silence = format!("r.heartbeat_ms >= $2 - {}", super::super::PRESUMED_DEAD_MS);
        assert!(CLAIM_INBOX.contains(&silence), "{CLAIM_INBOX}");
        assert!(CLAIM_REPLIES.contains(&silence), "{CLAIM_REPLIES}");
    }
}
