//! The SQL both backends share. SQLite and PostgreSQL accept the same statements here (`$n`
//! parameters, `ON CONFLICT`, `RETURNING`); only row locking differs, so each backend passes
//! its claim statements to [`impl_conversation_store!`], which implements the trait once.

pub const ENQUEUE: &str = "INSERT INTO inbox \
     (delivery_id, channel, conversation, asker_key, department, text, context, received_ms, \
      status, attempts, lease_until_ms, lease_owner) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     ON CONFLICT (delivery_id) DO NOTHING RETURNING id";
pub const INBOX_ID_BY_DELIVERY: &str = "SELECT id FROM inbox WHERE delivery_id = $1";
pub const RELEASE_LEASES: &str = "UPDATE inbox SET status = 'pending', lease_until_ms = NULL, \
     lease_owner = NULL WHERE status = 'processing'";
/// Replies a previous process was sending: due at once, and looked for before posting again.
pub const RELEASE_REPLIES: &str = "UPDATE outbox SET status = 'pending', unsure = 1, \
     next_attempt_ms = 0 WHERE status = 'sending'";
pub const LOG_CONVERSATION: &str = "INSERT INTO conversations \
     (inbox_id, received_ms, channel, asker_key, department, language, question, intent, \
      confidence, decision, route, latency_us, outcome, specialist) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (inbox_id) DO NOTHING RETURNING id";
/// An inline-answered delivery: stored done, with its reply and without its text, where to
/// reply or its context (the answer went out in the response; the last four columns are
/// constants, see [`answered_inbox`]).
pub const ANSWERED_INBOX_COLUMNS: &str = "(delivery_id, channel, asker_key, department, \
     received_ms, completed_ms, reply, conversation, context, status, attempts)";
pub const LOG_COLUMNS: &str = "(inbox_id, received_ms, channel, asker_key, department, \
     language, question, intent, confidence, decision, route, latency_us, outcome, specialist)";
pub const CONVERSATION_BY_INBOX: &str = "SELECT id FROM conversations WHERE inbox_id = $1";
/// A finished item keeps its reply (for repeated deliveries, without quotes of the question)
/// and nothing else about the question: its text, where to reply and the channel context (raw
/// platform ids) are gone once the reply is in the outbox.
pub const FINISH_INBOX: &str = "UPDATE inbox SET status = 'done', text = NULL, reply = $1, \
     completed_ms = $2, lease_until_ms = NULL, conversation = '', context = '{}', \
     last_error = NULL WHERE id = $3";
pub const ADD_OUTBOX: &str = "INSERT INTO outbox (conversation_id, channel, payload, \
     next_attempt_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id) DO NOTHING";
/// An item given up (`failed`) keeps no text and nothing about where to reply: nothing will
/// answer it.
pub const FAIL_INBOX: &str = "UPDATE inbox SET status = CASE WHEN attempts >= $1 THEN 'failed' \
     ELSE 'pending' END, last_error = $2, lease_until_ms = NULL, \
     text = CASE WHEN attempts >= $1 THEN NULL ELSE text END, \
     conversation = CASE WHEN attempts >= $1 THEN '' ELSE conversation END, \
     context = CASE WHEN attempts >= $1 THEN '{}' ELSE context END WHERE id = $3";
pub const DELIVERY: &str = "SELECT i.id AS inbox_id, i.status, i.reply, c.id AS conversation_id \
     FROM inbox i LEFT JOIN conversations c ON c.inbox_id = i.id WHERE i.delivery_id = $1";
pub const FEEDBACK: &str = "UPDATE conversations SET feedback = $1, feedback_ms = $2 WHERE id = $3";
pub const HANDOFF: &str = "UPDATE conversations SET handoff = 1 WHERE id = $1";
pub const INBOX_STATS: &str = "SELECT COUNT(*) AS depth, MIN(received_ms) AS oldest \
     FROM inbox WHERE status IN ('pending', 'processing')";
pub const PURGE_TEXTS: &str = "UPDATE conversations SET question = NULL \
     WHERE received_ms < $1 AND question IS NOT NULL";
/// Retention of stored replies (kept for repeated deliveries, which come within minutes): the
/// partial index `inbox_kept_replies` finds them.
pub const PURGE_REPLIES: &str =
    "UPDATE inbox SET reply = NULL WHERE reply IS NOT NULL AND received_ms < $1";
/// An item still unanswered (or given up) after the retention period keeps nothing: it is
/// given up, without its text, where to reply, its context or its error.
pub const PURGE_UNFINISHED: &str = "UPDATE inbox SET status = 'failed', text = NULL, \
     conversation = '', context = '{}', lease_until_ms = NULL, last_error = NULL \
     WHERE status IN ('pending', 'processing', 'failed') AND received_ms < $1 \
     AND (status <> 'failed' OR text IS NOT NULL OR conversation <> '' OR context <> '{}' \
     OR last_error IS NOT NULL)";
/// A reply still unsent after the retention period of its question is given up, and no
/// reply keeps its payload or error past it.
pub const PURGE_OUTBOX: &str = "UPDATE outbox SET payload = '{}', last_error = NULL, \
     status = CASE WHEN status IN ('pending', 'sending') THEN 'failed' ELSE status END \
     WHERE (payload <> '{}' OR last_error IS NOT NULL) AND EXISTS (SELECT 1 FROM conversations c \
     WHERE c.id = outbox.conversation_id AND c.received_ms < $1)";
pub const CONVERSATIONS: &str = "SELECT id, received_ms, channel, asker_key, department, \
     language, question, intent, confidence, decision, route, latency_us, feedback, handoff \
     FROM conversations WHERE id > $1 ORDER BY id LIMIT $2";
/// Columns in the covering index `conversations_report`, so the scan never reads texts.
/// Web chat questions all count as one asker (`store::WEB_ASKERS`): their sessions are not
/// people.
///
/// `$3` is the kind of rows ([`super::Rows::flag`]): real conversations (0) or demo rows (1),
/// never both, so a real report cannot count a demo row; `demo` leads the index, so either
/// kind of a range is one index range. (Parameters appear in number order: the SQLite scan
/// binds through rusqlite, which numbers `$n` parameters by their order in the text.)
pub const REPORT_ROWS: &str = "SELECT received_ms, \
     CASE WHEN channel = 'web' THEN 'web' ELSE asker_key END AS asker_key, department, intent, \
     outcome, specialist, feedback, handoff FROM conversations \
     WHERE received_ms >= $1 AND received_ms < $2 AND demo = $3";
/// `$4`: real conversations (0) or demo rows (1), as in [`REPORT_ROWS`].
pub const UNMET_QUESTIONS: &str = "SELECT received_ms, \
     CASE WHEN channel = 'web' THEN 'web' ELSE asker_key END AS asker_key, question \
     FROM conversations \
     WHERE received_ms >= $1 AND received_ms < $2 AND question IS NOT NULL \
     AND (outcome = 'out_of_scope' OR (outcome IN ('specialist', 'knowledge', 'desk') \
     AND confidence < $3) OR feedback = 'not_helpful') AND demo = $4";
/// Published tables are kept per month and per kind of rows (`demo`: 0 real, 1 demo only).
pub const REPORT_RELEASE: &str = "SELECT body FROM report_releases WHERE month = $1 AND demo = $2";
pub const SAVE_REPORT_RELEASE: &str = "INSERT INTO report_releases (month, demo, released_ms, \
     body) VALUES ($1, $2, $3, $4) ON CONFLICT (month, demo) DO NOTHING";
pub const REPORT_DEPARTMENTS: &str = "SELECT DISTINCT department FROM conversations \
     WHERE demo = $1 AND department IS NOT NULL ORDER BY department";
/// Whether the log holds a conversation of the kind `$1` (one probe of the report index).
pub const ANY_CONVERSATION: &str =
    "SELECT EXISTS (SELECT 1 FROM conversations WHERE demo = $1) AS found";
/// `seed-demo --remove`, in this order (replies before their conversations, conversations
/// before their inbox rows): exactly the rows the generator wrote, and the published tables
/// of demo rows. Real rows have `demo = 0` and real tables `demo = 0`; none is touched.
pub const REMOVE_DEMO: [(&str, &str); 4] = [
    (
        "outbox",
        "DELETE FROM outbox WHERE conversation_id IN \
         (SELECT id FROM conversations WHERE demo = 1)",
    ),
    ("conversations", "DELETE FROM conversations WHERE demo = 1"),
    ("inbox", "DELETE FROM inbox WHERE demo = 1"),
    (
        "report_releases",
        "DELETE FROM report_releases WHERE demo = 1",
    ),
];
pub const ENSURE_LOAD_ROW: &str = "INSERT INTO specialist_load (specialist_id) VALUES ($1) ON CONFLICT (specialist_id) DO NOTHING";
/// Records `n` replies (`$2..`) sent at `$1`. A sent reply's payload is dropped: it may carry
/// the question as asked (for a handoff button), which is not kept once the reply is out.
pub fn mark_sent(n: usize) -> String {
    format!(
        "UPDATE outbox SET status = 'sent', sent_ms = $1, payload = '{{}}', unsure = 0, \
         last_error = NULL WHERE id IN ({})",
        (2..2 + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
/// As [`mark_sent`], a reply given up (`failed`) keeps no payload.
pub const RESCHEDULE: &str = "UPDATE outbox SET status = $1, next_attempt_ms = $2, \
     last_error = $3, payload = CASE WHEN $1 = 'failed' THEN '{}' ELSE payload END, \
     unsure = $5 WHERE id = $4";
pub const REPLY_STATUS: &str = "SELECT status FROM outbox WHERE conversation_id = $1";

/// `INSERT INTO inbox ... VALUES` for `n` inline-answered deliveries, `$1..` numbered row by
/// row as [`bind_answered!`] binds them; conflicting delivery ids are skipped.
pub fn answered_inbox(n: usize) -> String {
    format!(
        "INSERT INTO inbox {ANSWERED_INBOX_COLUMNS} VALUES {} \
         ON CONFLICT (delivery_id) DO NOTHING RETURNING id, delivery_id",
        rows(n, 7, "'', '{}', 'done', 1")
    )
}

/// `INSERT INTO inbox ... VALUES` for `n` deliveries, bound as [`ENQUEUE`] binds one (12
/// values each); repeated delivery ids are skipped.
pub fn enqueue_rows(n: usize) -> String {
    format!(
        "INSERT INTO inbox (delivery_id, channel, conversation, asker_key, department, text, \
         context, received_ms, status, attempts, lease_until_ms, lease_owner) VALUES {} \
         ON CONFLICT (delivery_id) DO NOTHING RETURNING id, delivery_id",
        rows(n, 12, "")
    )
}

/// `INSERT INTO outbox ... VALUES` for `n` replies (4 values each, as [`ADD_OUTBOX`]).
pub fn outbox_rows(n: usize) -> String {
    format!(
        "INSERT INTO outbox (conversation_id, channel, payload, next_attempt_ms) VALUES {} \
         ON CONFLICT (conversation_id) DO NOTHING",
        rows(n, 4, "")
    )
}

/// `INSERT INTO conversations ... VALUES` for `n` log rows, bound by [`bind_log!`].
pub fn log_rows(n: usize) -> String {
    format!(
        "INSERT INTO conversations {LOG_COLUMNS} VALUES {} \
         ON CONFLICT (inbox_id) DO NOTHING RETURNING id, inbox_id",
        rows(n, 14, "")
    )
}

/// `($1, ..., $k[, tail]), ($k+1, ...)` for `n` rows of `k` parameters.
fn rows(n: usize, k: usize, tail: &str) -> String {
    (0..n)
        .map(|r| {
            let mut values: Vec<String> = (1..=k).map(|c| format!("${}", r * k + c)).collect();
            if !tail.is_empty() {
                values.push(tail.to_string());
            }
            format!("({})", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds one inline-answered delivery's 7 inbox values, in [`ANSWERED_INBOX_COLUMNS`] order.
macro_rules! bind_answered {
    ($query:expr, $item:expr, $reply:expr, $now_ms:expr) => {
        $query
            .bind(&$item.delivery_id)
            .bind(&$item.channel)
            .bind(&$item.asker_key)
            .bind(&$item.department)
            .bind($item.received_ms)
            .bind($now_ms)
            .bind($reply.to_string())
    };
}

/// Binds one log row's 14 values (its inbox id first), in [`LOG_COLUMNS`] order.
macro_rules! bind_log {
    ($query:expr, $inbox_id:expr, $record:expr) => {
        $query
            .bind($inbox_id)
            .bind($record.received_ms)
            .bind(&$record.channel)
            .bind(&$record.asker_key)
            .bind(&$record.department)
            .bind(&$record.language)
            .bind(&$record.question)
            .bind(&$record.intent)
            .bind($record.confidence)
            .bind(&$record.decision)
            .bind($record.route.to_string())
            .bind($record.latency_us)
            .bind($record.outcome())
            .bind($record.referred_specialist())
    };
}

pub(crate) use {bind_answered, bind_log};

/// Runs `$body` (an async block using `$tx`, a transaction on a connection of `$pool`) and
/// commits it. After any error the connection is closed instead of going back to the pool:
/// when SQLite cannot roll back (a full disk), sqlx's SQLite worker would keep the failed
/// transaction open on it, and every later "commit" would only release a savepoint inside it,
/// so answers would be acknowledged while nothing reached the file. The pool opens a fresh
/// connection for the next write. (PostgreSQL resets a connection on its own; closing one
/// after an error costs a reconnect and is harmless.)
macro_rules! in_transaction {
    ($pool:expr, |$tx:ident| $body:expr) => {{
        let mut connection = $pool.acquire().await?;
        let outcome = async {
            let mut $tx = sqlx::Connection::begin(&mut *connection).await?;
            let value = $body.await?;
            $tx.commit().await?;
            Ok::<_, $crate::store::StoreError>(value)
        }
        .await;
        if outcome.is_err() {
            connection.close_on_drop();
        }
        outcome
    }};
}
pub(crate) use in_transaction;

/// Implements `ConversationStore` for `$store` (a struct with `pool: sqlx::Pool<$db>` and
/// inherent `async fn refer(&self, candidates, now_ms)` for the referral load,
/// `async fn probe_write(&self)` for readiness, and `write_enqueue`/`write_completion` (per
/// statement on PostgreSQL, batched by SQLite's writer), which differ per backend), given the backend's statements that claim the next inbox item and the next due
/// reply.
/// Streams [`REPORT_ROWS`] through sqlx into `visit` (PostgreSQL, and in-memory SQLite);
/// a macro because the row types differ per backend.
macro_rules! stream_report_rows {
    ($pool:expr, $from_ms:expr, $to_ms:expr, $rows:expr, $visit:expr) => {{
        use futures::TryStreamExt;
        use sqlx::Row;
        let mut rows = sqlx::query($crate::store::sql::REPORT_ROWS)
            .bind($from_ms)
            .bind($to_ms)
            .bind($rows.flag())
            .fetch($pool);
        let mut visited = 0u64;
        while let Some(row) = rows.try_next().await? {
            $visit($crate::store::ReportRow {
                received_ms: row.try_get(0)?,
                asker_key: row.try_get(1)?,
                department: row.try_get(2)?,
                intent: row.try_get(3)?,
                outcome: row.try_get(4)?,
                specialist: row.try_get(5)?,
                feedback: row.try_get(6)?,
                handoff: row.try_get::<i32, _>(7)? != 0,
            });
            visited += 1;
        }
        Ok(visited)
    }};
}
pub(crate) use stream_report_rows;

/// Reads [`UNMET_QUESTIONS`] through sqlx (PostgreSQL, and in-memory SQLite).
macro_rules! fetch_unmet_questions {
    ($pool:expr, $from_ms:expr, $to_ms:expr, $low_confidence:expr, $rows:expr) => {{
        use sqlx::Row;
        let rows = sqlx::query($crate::store::sql::UNMET_QUESTIONS)
            .bind($from_ms)
            .bind($to_ms)
            .bind($low_confidence)
            .bind($rows.flag())
            .fetch_all($pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok($crate::store::UnmetRow {
                    received_ms: row.try_get(0)?,
                    asker_key: row.try_get(1)?,
                    question: row.try_get(2)?,
                })
            })
            .collect()
    }};
}
pub(crate) use fetch_unmet_questions;

macro_rules! impl_conversation_store {
    ($store:ty, $db:ty, claim_inbox: $claim_inbox:expr, claim_replies: $claim_replies:expr $(,)?) => {
        #[async_trait::async_trait]
        impl $crate::store::ConversationStore for $store {
            #[tracing::instrument(skip(self), level = "debug")]
            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                // touches a table, so a missing schema counts as unreachable too
                sqlx::query("SELECT 1 FROM inbox LIMIT 1")
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip(self), level = "debug")]
            async fn check_writable(&self) -> Result<(), $crate::store::StoreError> {
                self.probe_write().await
            }

            #[tracing::instrument(skip(self), level = "trace")]
            async fn heartbeat(&self, now_ms: i64) -> Result<(), $crate::store::StoreError> {
                self.beat(now_ms).await
            }

            #[tracing::instrument(skip(self), level = "debug")]
            async fn retire(&self) -> Result<(), $crate::store::StoreError> {
                self.remove_replica().await
            }

            #[tracing::instrument(skip_all, fields(delivery_id = %item.delivery_id))]
            async fn enqueue(
                &self,
                item: &$crate::store::NewInboxItem,
                leased_until_ms: Option<i64>,
            ) -> Result<$crate::store::Enqueued, $crate::store::StoreError> {
                self.write_enqueue(item, leased_until_ms).await
            }

            #[tracing::instrument(skip(self), level = "debug")]
            async fn claim_batch(
                &self,
                now_ms: i64,
                lease_until_ms: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::InboxItem>, $crate::store::StoreError> {
                let rows = sqlx::query($claim_inbox)
                    .bind(lease_until_ms)
                    .bind(now_ms)
                    .bind(limit)
                    .bind(&self.lease_owner)
                    .fetch_all(&self.pool)
                    .await?;
                let mut items = rows
                    .iter()
                    .map(inbox_item)
                    .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                // RETURNING gives no order
                items.sort_by_key(|item| item.id);
                Ok(items)
            }

            async fn register_specialists(
                &self,
                ids: &[String],
            ) -> Result<(), $crate::store::StoreError> {
                $crate::store::sql::in_transaction!(self.pool, |tx| async {
                    for id in ids {
                        sqlx::query($crate::store::sql::ENSURE_LOAD_ROW)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Ok::<_, $crate::store::StoreError>(())
                })
            }

            async fn release_leases(&self) -> Result<u64, $crate::store::StoreError> {
                let mut released = 0;
                for statement in [
                    $crate::store::sql::RELEASE_LEASES,
                    $crate::store::sql::RELEASE_REPLIES,
                ] {
                    released += sqlx::query(statement)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                }
                Ok(released)
            }

            #[tracing::instrument(skip(self), level = "debug")]
            async fn assign_specialist(
                &self,
                candidates: &[String],
                now_ms: i64,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                if candidates.is_empty() {
                    return Ok(Vec::new());
                }
                self.refer(candidates, now_ms).await
            }

            #[tracing::instrument(skip(self, record, reply, outbox), level = "debug")]
            async fn complete(
                &self,
                inbox_id: i64,
                record: &$crate::store::ConversationRecord,
                reply: &serde_json::Value,
                outbox: Option<&serde_json::Value>,
                now_ms: i64,
            ) -> Result<$crate::store::Completion, $crate::store::StoreError> {
                self.write_completion(inbox_id, record, reply, outbox, now_ms)
                    .await
            }

            async fn log_answered(
                &self,
                item: &$crate::store::NewInboxItem,
                record: &$crate::store::ConversationRecord,
                reply: &serde_json::Value,
                outbox: Option<&serde_json::Value>,
                now_ms: i64,
            ) -> Result<$crate::store::Answered, $crate::store::StoreError> {
                self.answered(item, record, reply, outbox, now_ms).await
            }

            async fn fail(
                &self,
                inbox_id: i64,
                error: &str,
                max_attempts: i32,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::sql::FAIL_INBOX)
                    .bind(max_attempts)
                    .bind(error)
                    .bind(inbox_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delivery(
                &self,
                delivery_id: &str,
            ) -> Result<Option<$crate::store::StoredDelivery>, $crate::store::StoreError> {
                use sqlx::Row;
                let Some(row) = sqlx::query($crate::store::sql::DELIVERY)
                    .bind(delivery_id)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let reply: Option<String> = row.try_get("reply")?;
                Ok(Some($crate::store::StoredDelivery {
                    inbox_id: row.try_get("inbox_id")?,
                    status: row.try_get("status")?,
                    conversation_id: row.try_get("conversation_id")?,
                    reply: reply.map(|r| serde_json::from_str(&r)).transpose()?,
                }))
            }

            async fn record_feedback(
                &self,
                conversation_id: i64,
                helpful: bool,
                now_ms: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let value = if helpful { "helpful" } else { "not_helpful" };
                let done = sqlx::query($crate::store::sql::FEEDBACK)
                    .bind(value)
                    .bind(now_ms)
                    .bind(conversation_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn record_handoff(
                &self,
                conversation_id: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::sql::HANDOFF)
                    .bind(conversation_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn inbox_stats(
                &self,
            ) -> Result<$crate::store::InboxStats, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query($crate::store::sql::INBOX_STATS)
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::store::InboxStats {
                    depth: row.try_get("depth")?,
                    oldest_received_ms: row.try_get("oldest")?,
                })
            }

            #[tracing::instrument(skip(self))]
            async fn purge_question_texts(
                &self,
                before_ms: i64,
            ) -> Result<u64, $crate::store::StoreError> {
                $crate::store::sql::in_transaction!(self.pool, |tx| async {
                    let mut purged = 0;
                    for statement in [
                        $crate::store::sql::PURGE_TEXTS,
                        $crate::store::sql::PURGE_REPLIES,
                        $crate::store::sql::PURGE_UNFINISHED,
                        $crate::store::sql::PURGE_OUTBOX,
                    ] {
                        purged += sqlx::query(statement)
                            .bind(before_ms)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    }
                    Ok::<_, $crate::store::StoreError>(purged)
                })
            }

            async fn scan_report_rows(
                &self,
                from_ms: i64,
                to_ms: i64,
                rows: $crate::store::Rows,
                visit: &mut (dyn for<'r> FnMut($crate::store::ReportRow<'r>) + Send),
            ) -> Result<u64, $crate::store::StoreError> {
                self.scan_rows(from_ms, to_ms, rows, visit).await
            }

            async fn unmet_questions(
                &self,
                from_ms: i64,
                to_ms: i64,
                low_confidence: f32,
                rows: $crate::store::Rows,
            ) -> Result<Vec<$crate::store::UnmetRow>, $crate::store::StoreError> {
                self.read_unmet_questions(from_ms, to_ms, low_confidence, rows)
                    .await
            }

            async fn report_release(
                &self,
                month: &str,
                rows: $crate::store::Rows,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query($crate::store::sql::REPORT_RELEASE)
                    .bind(month)
                    .bind(rows.flag())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("body")).transpose()?)
            }

            async fn save_report_release(
                &self,
                month: &str,
                rows: $crate::store::Rows,
                released_ms: i64,
                body: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::sql::SAVE_REPORT_RELEASE)
                    .bind(month)
                    .bind(rows.flag())
                    .bind(released_ms)
                    .bind(body)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn report_departments(
                &self,
                rows: $crate::store::Rows,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                use sqlx::Row;
                let found = sqlx::query($crate::store::sql::REPORT_DEPARTMENTS)
                    .bind(rows.flag())
                    .fetch_all(&self.pool)
                    .await?;
                found
                    .iter()
                    .map(|r| r.try_get("department").map_err(Into::into))
                    .collect()
            }

            #[tracing::instrument(skip(self), level = "debug")]
            async fn holds_conversations(
                &self,
                rows: $crate::store::Rows,
            ) -> Result<bool, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query($crate::store::sql::ANY_CONVERSATION)
                    .bind(rows.flag())
                    .fetch_one(&self.pool)
                    .await?;
                // SQLite answers an integer, PostgreSQL a boolean
                Ok(match row.try_get::<bool, _>("found") {
                    Ok(found) => found,
                    Err(_) => row.try_get::<i64, _>("found")? != 0,
                })
            }

            #[tracing::instrument(skip(self))]
            async fn remove_demo(
                &self,
            ) -> Result<Vec<(&'static str, u64)>, $crate::store::StoreError> {
                let removed = $crate::store::sql::in_transaction!(self.pool, |tx| async {
                    let mut removed = Vec::new();
                    for (table, statement) in $crate::store::sql::REMOVE_DEMO {
                        let done = sqlx::query(statement).execute(&mut *tx).await?;
                        removed.push((table, done.rows_affected()));
                    }
                    Ok::<_, $crate::store::StoreError>(removed)
                })?;
                tracing::info!(?removed, "demo data removed");
                Ok(removed)
            }

            async fn conversations(
                &self,
                after_id: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::LoggedConversation>, $crate::store::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query($crate::store::sql::CONVERSATIONS)
                    .bind(after_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let route: String = row.try_get("route")?;
                        Ok($crate::store::LoggedConversation {
                            id: row.try_get("id")?,
                            feedback: row.try_get("feedback")?,
                            handoff: row.try_get::<i32, _>("handoff")? != 0,
                            record: $crate::store::ConversationRecord {
                                received_ms: row.try_get("received_ms")?,
                                channel: row.try_get("channel")?,
                                asker_key: row.try_get("asker_key")?,
                                department: row.try_get("department")?,
                                language: row.try_get("language")?,
                                question: row.try_get("question")?,
                                intent: row.try_get("intent")?,
                                confidence: row.try_get("confidence")?,
                                decision: row.try_get("decision")?,
                                route: serde_json::from_str(&route)?,
                                latency_us: row.try_get("latency_us")?,
                            },
                        })
                    })
                    .collect()
            }

            async fn claim_replies(
                &self,
                now_ms: i64,
                lease_until_ms: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::OutboxItem>, $crate::store::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query($claim_replies)
                    .bind(lease_until_ms)
                    .bind(now_ms)
                    .bind(limit)
                    .bind(&self.lease_owner)
                    .fetch_all(&self.pool)
                    .await?;
                let mut items = rows
                    .iter()
                    .map(|row| {
                        let payload: String = row.try_get("payload")?;
                        Ok($crate::store::OutboxItem {
                            id: row.try_get("id")?,
                            conversation_id: row.try_get("conversation_id")?,
                            channel: row.try_get("channel")?,
                            payload: serde_json::from_str(&payload)?,
                            attempts: row.try_get("attempts")?,
                            unsure: row.try_get::<i32, _>("unsure")? != 0,
                        })
                    })
                    .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                // RETURNING gives no order; the dispatcher sends in this one
                items.sort_by_key(|item| item.id);
                Ok(items)
            }

            #[tracing::instrument(skip(self, ids), fields(replies = ids.len()), level = "debug")]
            async fn mark_replies_sent(
                &self,
                ids: &[i64],
                now_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                for chunk in ids.chunks(500) {
                    let statement = $crate::store::sql::mark_sent(chunk.len());
                    let mut query = sqlx::query(&statement).bind(now_ms);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    query.execute(&self.pool).await?;
                }
                Ok(())
            }

            async fn reschedule_reply(
                &self,
                id: i64,
                next_attempt_ms: Option<i64>,
                error: &str,
                unsure: bool,
            ) -> Result<(), $crate::store::StoreError> {
                let (status, next) = match next_attempt_ms {
                    Some(next) => ("pending", next),
                    None => ("failed", 0),
                };
                sqlx::query($crate::store::sql::RESCHEDULE)
                    .bind(status)
                    .bind(next)
                    .bind(error)
                    .bind(id)
                    .bind(i32::from(unsure))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn reply_status(
                &self,
                conversation_id: i64,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query($crate::store::sql::REPLY_STATUS)
                    .bind(conversation_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("status")).transpose()?)
            }
        }

        fn inbox_item(
            row: &<$db as sqlx::Database>::Row,
        ) -> Result<$crate::store::InboxItem, $crate::store::StoreError> {
            use sqlx::Row;
            let context: String = row.try_get("context")?;
            let text: Option<String> = row.try_get("text")?;
            Ok($crate::store::InboxItem {
                id: row.try_get("id")?,
                delivery_id: row.try_get("delivery_id")?,
                channel: row.try_get("channel")?,
                conversation: row.try_get("conversation")?,
                asker_key: row.try_get("asker_key")?,
                department: row.try_get("department")?,
                text: text.unwrap_or_default(),
                context: serde_json::from_str(&context)?,
                received_ms: row.try_get("received_ms")?,
                attempts: row.try_get("attempts")?,
            })
        }
    };
}

pub(crate) use impl_conversation_store;
