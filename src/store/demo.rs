//! The bulk writer of demo data (`referral-desk seed-demo`): the only statements that set the
//! `demo` column, so whatever the server logs is real (see the module doc of `store`).
//!
//! Rows arrive in chunks from a generator running on a blocking thread ([`insert_demo_rows`]);
//! each chunk is bound to the backend's arguments on that thread, so binding the next chunk
//! overlaps with writing the previous one. Both backends write the same multi-row INSERTs but
//! for the [`Dialect`] ([`DEMO_ROWS_PER_CHUNK`] rows, 18,000 bound parameters per statement,
//! under SQLite's 32,766), in one transaction: ids are reserved up front and inserted
//! explicitly (the id generators are moved past them). Each conversation gets its `inbox` row
//! (`done`, no text, delivery id `seed:<seed>:<n>`). While seeding, other writers wait
//! (SQLite's write lock, PostgreSQL's table locks), so the checks for real conversations and
//! for the seed and the writing see the same database.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::Row as _;
use tokio::sync::mpsc;

use crate::config::DatabaseSettings;

/// Rows per chunk, and per INSERT statement: 18 parameters each, so 18,000 per statement.
pub const DEMO_ROWS_PER_CHUNK: usize = 1000;

/// One demo conversation with its inbox row, as the generator draws it.
#[derive(Debug)]
pub struct DemoRow {
    /// The row's number within the seed: its delivery id and its offset from the reserved ids.
    pub n: u64,
    pub received_ms: i64,
    pub completed_ms: i64,
    pub channel: &'static str,
    pub asker_key: Arc<str>,
    pub department: Option<&'static str>,
    pub language: &'static str,
    pub question: Option<String>,
    pub intent: Option<Arc<str>>,
    pub confidence: f32,
    pub decision: &'static str,
    /// The logged route, JSON.
    pub route: Arc<str>,
    pub latency_us: i64,
    pub feedback: Option<&'static str>,
    pub feedback_ms: Option<i64>,
    pub handoff: i32,
    pub outcome: &'static str,
    pub specialist: Option<Arc<str>>,
}

/// Why demo rows were not written. The refusals come before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum DemoInsertError {
    #[error(
        "the database holds {conversations} real conversations and {waiting} real deliveries \
         not yet answered"
    )]
    RealRows { conversations: i64, waiting: i64 },
    #[error("the database already holds {seeded} conversations of this seed")]
    SeedTaken { seeded: i64 },
    #[error("opening the database: {0}")]
    Open(sqlx::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("binding a chunk of demo rows failed: {0}")]
    Bind(String),
    #[error("the demo row generator failed: {0}")]
    Generator(String),
}

/// Writes the rows `generate` produces as demo conversations of `seed`, and returns what
/// `generate` returned. `generate` runs on a blocking thread and hands over chunks of at most
/// [`DEMO_ROWS_PER_CHUNK`] rows, numbered from 0, through the function it is given, which
/// returns `false` when the writer has stopped (a write failed: generate no more).
/// `written` is told the rows of each chunk once they are written.
///
/// Refuses a database holding real conversations or deliveries waiting for an answer
/// (unless `force`) and a seed the database already holds. Needs migrated tables
/// ([`super::connect`] migrates); writes through a connection of its own that does not wait
/// for the disk (synthetic data: a crash mid-seed loses nothing, the transaction is undone).
#[tracing::instrument(skip_all, fields(database = %database.describe(), seed))]
pub async fn insert_demo_rows<S: Send + 'static>(
    database: &DatabaseSettings,
    seed: u64,
    force: bool,
    generate: impl FnOnce(&mut dyn FnMut(Vec<DemoRow>) -> bool) -> S + Send + 'static,
    written: &(dyn Fn(u64) + Sync),
) -> Result<S, DemoInsertError> {
    let url = database.url.expose_secret();
    let seeding = Seeding {
        seed,
        force,
        written,
    };
    if database.is_sqlite() {
        let connect = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(DemoInsertError::Open)?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
            .pragma("cache_size", "-262144")
            .pragma("temp_store", "memory");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect)
            .await
            .map_err(DemoInsertError::Open)?;
        let mut done = write_sqlite(&pool, generate, &seeding).await;
        if done.is_ok() {
            // fold the write-ahead log into the database file, so its size is the data's
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&pool)
                .await
            {
                done = Err(err.into());
            }
        }
        pool.close().await;
        done
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(DemoInsertError::Open)?;
        let mut done = write_postgres(&pool, generate, &seeding).await;
        if done.is_ok() {
            // planner statistics now rather than when autovacuum gets to it
            if let Err(err) = sqlx::query("ANALYZE inbox, conversations")
                .execute(&pool)
                .await
            {
                done = Err(err.into());
            }
        }
        pool.close().await;
        done
    }
}

/// What every write of one seeding needs to know.
struct Seeding<'a> {
    seed: u64,
    force: bool,
    written: &'a (dyn Fn(u64) + Sync),
}

/// From the generator thread to the writer: `(rows, inbox arguments, conversation arguments)`.
type Chunk<A> = Result<(usize, A, A), DemoInsertError>;

/// The last three are constants (see [`Statements::for_rows`]): `demo` is 1 on every row.
const INBOX_COLUMNS: &str = "(id, delivery_id, channel, conversation, asker_key, department, \
     received_ms, completed_ms, status, attempts, demo)";
/// The last one, `demo`, is the constant 1.
const CONVERSATION_COLUMNS: &str = "(id, inbox_id, received_ms, channel, asker_key, department, \
     language, question, intent, confidence, decision, route, latency_us, feedback, \
     feedback_ms, handoff, outcome, specialist, demo)";
/// Real conversations, and real deliveries still waiting for an answer (they have no log row
/// yet): seeding refuses a database with either unless forced. Both are index probes
/// (`conversations_report` leads with `demo`, `inbox_pending` with `status`).
const REAL_ROWS: &str = "SELECT (SELECT COUNT(*) FROM conversations WHERE demo = 0) AS real, \
     (SELECT COUNT(*) FROM inbox WHERE status IN ('pending', 'processing', 'failed') \
     AND demo = 0) AS waiting";
/// The published demo tables no longer cover all demo rows once more are seeded: they are
/// published again when a report asks (they hold nothing about people).
const DROP_DEMO_RELEASES: &str = "DELETE FROM report_releases WHERE demo = 1";
/// Seeded delivery ids of one seed: `seed:S:` up to (not including) `seed:S;`.
const SEEDED: &str =
    "SELECT COUNT(*) AS seeded FROM inbox WHERE delivery_id >= $1 AND delivery_id < $2";

/// `($1, ..., $k[, tail]), (...)` for `rows` rows of `k` parameters, or with `?` for each
/// parameter when not `numbered`: SQLite looks named and numbered parameters up in a list, one
/// by one, which makes binding 18,000 of them quadratic (it took most of the time).
fn values(rows: usize, k: usize, tail: &str, numbered: bool) -> String {
    let mut out = String::with_capacity(rows * k * 7);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 1..=k {
            if c > 1 {
                out.push_str(", ");
            }
            if numbered {
                out.push('$');
                out.push_str(&(r * k + c).to_string());
            } else {
                out.push('?');
            }
        }
        if !tail.is_empty() {
            out.push_str(", ");
            out.push_str(tail);
        }
        out.push(')');
    }
    out
}

/// The two statements for a chunk of `rows` conversations.
struct Statements {
    rows: usize,
    inbox: String,
    conversations: String,
}

impl Statements {
    fn for_rows(rows: usize, numbered: bool, overriding: &str) -> Statements {
        Statements {
            rows,
            inbox: format!(
                "INSERT INTO inbox {INBOX_COLUMNS} {overriding}VALUES {}",
                values(rows, 8, "'done', 1, 1", numbered)
            ),
            conversations: format!(
                "INSERT INTO conversations {CONVERSATION_COLUMNS} {overriding}VALUES {}",
                values(rows, 18, "1", numbered)
            ),
        }
    }
}

/// How the two backends differ: placeholders, explicit ids into identity columns, and how
/// the seeding reserves a block of ids (so rows can be bound before they are sent).
struct Dialect {
    numbered: bool,
    /// Between the column list and `VALUES`.
    overriding: &'static str,
    /// Starts the transaction; SQLite takes the write lock at once.
    begin: &'static str,
    /// Keeps other writers out of the tables until commit.
    lock: Option<&'static str>,
    /// The first free id of `{table}`, as `next`.
    next_id: &'static str,
    /// Moves `{table}`'s id generator past `$1`, the last id used.
    set_id: Option<&'static str>,
}

const SQLITE: Dialect = Dialect {
    numbered: false,
    overriding: "",
    begin: "BEGIN IMMEDIATE",
    lock: None,
    // AUTOINCREMENT never reuses an id, deleted or not; it follows explicit ids by itself
    next_id: "SELECT MAX(COALESCE((SELECT MAX(id) FROM {table}), 0), \
        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0)) + 1 AS next",
    set_id: None,
};

const POSTGRES: Dialect = Dialect {
    numbered: true,
    overriding: "OVERRIDING SYSTEM VALUE ",
    begin: "BEGIN",
    lock: Some("LOCK TABLE inbox, conversations IN EXCLUSIVE MODE"),
    next_id: "SELECT GREATEST(nextval(pg_get_serial_sequence('{table}', 'id')), \
        COALESCE((SELECT MAX(id) FROM {table}), 0) + 1) AS next",
    set_id: Some("SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1)"),
};

fn seed_prefix(seed: u64) -> String {
    format!("seed:{seed}:")
}

/// `write_sqlite` and `write_postgres`: the same statements (but for the [`Dialect`]) and the
/// same binds; sqlx needs the backend's types.
macro_rules! writer {
    ($name:ident, $bind:ident, $db:ty, $args:ty, $dialect:expr, shorten: $shorten:expr) => {
        /// Binds a chunk of rows (ids: the base plus the row's number), consuming it.
        fn $bind(
            rows: Vec<DemoRow>,
            prefix: &str,
            inbox_base: i64,
            conversation_base: i64,
        ) -> Result<($args, $args), DemoInsertError> {
            use sqlx::Arguments as _;
            macro_rules! add {
                ($arguments:expr, $value:expr) => {
                    $arguments
                        .add($value)
                        .map_err(|e| DemoInsertError::Bind(e.to_string()))?
                };
            }
            let mut inbox = <$args>::default();
            inbox.reserve(rows.len() * 8, rows.len() * 160);
            let mut conversations = <$args>::default();
            conversations.reserve(rows.len() * 18, rows.len() * 400);
            for row in rows {
                let inbox_id = inbox_base + row.n as i64;
                let key = row.asker_key.to_string();
                add!(inbox, inbox_id);
                add!(inbox, format!("{prefix}{}", row.n));
                add!(inbox, row.channel);
                add!(inbox, format!("seed-{}", &key[..12]));
                add!(inbox, key.clone());
                add!(inbox, row.department);
                add!(inbox, row.received_ms);
                add!(inbox, row.completed_ms);
                add!(conversations, conversation_base + row.n as i64);
                add!(conversations, inbox_id);
                add!(conversations, row.received_ms);
                add!(conversations, row.channel);
                add!(conversations, key);
                add!(conversations, row.department);
                add!(conversations, row.language);
                add!(conversations, row.question);
                add!(conversations, row.intent.as_deref().map(str::to_string));
                add!(conversations, row.confidence);
                add!(conversations, row.decision);
                add!(conversations, row.route.to_string());
                add!(conversations, row.latency_us);
                add!(conversations, row.feedback);
                add!(conversations, row.feedback_ms);
                add!(conversations, row.handoff);
                add!(conversations, row.outcome);
                add!(conversations, row.specialist.as_deref().map(str::to_string));
            }
            Ok((inbox, conversations))
        }

        async fn $name<S: Send + 'static>(
            pool: &sqlx::Pool<$db>,
            generate: impl FnOnce(&mut dyn FnMut(Vec<DemoRow>) -> bool) -> S + Send + 'static,
            seeding: &Seeding<'_>,
        ) -> Result<S, DemoInsertError> {
            let dialect: &Dialect = &$dialect;
            let prefix = seed_prefix(seeding.seed);
            let mut tx = pool.begin_with(dialect.begin).await?;
            if let Some(lock) = dialect.lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            if !seeding.force {
                let real = sqlx::query(REAL_ROWS).fetch_one(&mut *tx).await?;
                let (conversations, waiting): (i64, i64) =
                    (real.try_get("real")?, real.try_get("waiting")?);
                if conversations > 0 || waiting > 0 {
                    return Err(DemoInsertError::RealRows {
                        conversations,
                        waiting,
                    });
                }
            }
            let seeded: i64 = sqlx::query(SEEDED)
                .bind(&prefix)
                .bind(format!("seed:{};", seeding.seed))
                .fetch_one(&mut *tx)
                .await?
                .try_get("seeded")?;
            if seeded > 0 {
                return Err(DemoInsertError::SeedTaken { seeded });
            }
            sqlx::query(DROP_DEMO_RELEASES).execute(&mut *tx).await?;
            let mut next = [0_i64; 2];
            for (slot, table) in next.iter_mut().zip(["inbox", "conversations"]) {
                *slot = sqlx::query(&dialect.next_id.replace("{table}", table))
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("next")?;
            }
            let [inbox_base, conversation_base] = next;

            let (sender, mut receiver) = mpsc::channel::<Chunk<$args>>(4);
            let generating = tokio::task::spawn_blocking(move || {
                let mut emit = |rows: Vec<DemoRow>| {
                    let count = rows.len();
                    let chunk = $bind(rows, &prefix, inbox_base, conversation_base)
                        .map(|(inbox, conversations)| (count, inbox, conversations));
                    let failed = chunk.is_err();
                    sender.blocking_send(chunk).is_ok() && !failed
                };
                generate(&mut emit)
            });
            let received: Result<i64, DemoInsertError> = async {
                let mut statements =
                    Statements::for_rows(DEMO_ROWS_PER_CHUNK, dialect.numbered, dialect.overriding);
                let mut rows_written = 0_i64;
                while let Some(chunk) = receiver.recv().await {
                    let (rows, inbox, conversations) = chunk?;
                    if rows != statements.rows {
                        statements =
                            Statements::for_rows(rows, dialect.numbered, dialect.overriding);
                    }
                    sqlx::query_with(&statements.inbox, $shorten(inbox))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query_with(&statements.conversations, $shorten(conversations))
                        .execute(&mut *tx)
                        .await?;
                    rows_written += rows as i64;
                    (seeding.written)(rows as u64);
                }
                Ok(rows_written)
            }
            .await;
            // a failed write stops the generator at its next chunk
            drop(receiver);
            let generated = generating
                .await
                .map_err(|e| DemoInsertError::Generator(e.to_string()))?;
            let rows_written = received?;
            if let Some(set_id) = dialect.set_id
                && rows_written > 0
            {
                for (table, base) in [("inbox", inbox_base), ("conversations", conversation_base)] {
                    sqlx::query(&set_id.replace("{table}", table))
                        .bind(base + rows_written - 1)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(generated)
        }
    };
}

/// SQLite's arguments own their values here, but a statement borrows its text.
fn shorten_sqlite<'q>(
    arguments: sqlx::sqlite::SqliteArguments<'static>,
) -> sqlx::sqlite::SqliteArguments<'q> {
    arguments
}

writer!(
    write_sqlite,
    bind_sqlite,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteArguments<'static>,
    SQLITE,
    shorten: shorten_sqlite
);
writer!(
    write_postgres,
    bind_postgres,
    sqlx::Postgres,
    sqlx::postgres::PgArguments,
    POSTGRES,
    shorten: std::convert::identity
);
