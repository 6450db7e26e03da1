//! The bulk writer: multi-row INSERTs bound on the generator thread and written in one
//! transaction, for SQLite and PostgreSQL (the same statements but for the dialect).

use anyhow::{Context, bail};
use sqlx::Row as _;
use tokio::sync::mpsc;

use super::generate::Generator;
use super::plan::*;
use super::{Message, Row, SeedError, SeedOptions, Stats};

/// The last three are constants (see [`Statements::for_rows`]): `demo` is 1 on every row.
pub(super) const INBOX_COLUMNS: &str = "(id, delivery_id, channel, conversation, asker_key, department, \
     received_ms, completed_ms, status, attempts, demo)";
/// The last one, `demo`, is the constant 1.
pub(super) const CONVERSATION_COLUMNS: &str = "(id, inbox_id, received_ms, channel, asker_key, department, \
     language, question, intent, confidence, decision, route, latency_us, feedback, \
     feedback_ms, handoff, outcome, specialist, demo)";
/// Real conversations, and real deliveries still waiting for an answer (they have no log row
/// yet): seeding refuses a database with either unless forced. Both are index probes
/// (`conversations_report` leads with `demo`, `inbox_pending` with `status`).
pub(super) const REAL_ROWS: &str = "SELECT (SELECT COUNT(*) FROM conversations WHERE demo = 0) AS real, \
     (SELECT COUNT(*) FROM inbox WHERE status IN ('pending', 'processing', 'failed') \
     AND demo = 0) AS waiting";
/// The published demo tables no longer cover all demo rows once more are seeded: they are
/// published again when a report asks (they hold nothing about people).
pub(super) const DROP_DEMO_RELEASES: &str = "DELETE FROM report_releases WHERE demo = 1";
/// Seeded delivery ids of one seed: `seed:S:` up to (not including) `seed:S;`.
pub(super) const SEEDED: &str =
    "SELECT COUNT(*) AS seeded FROM inbox WHERE delivery_id >= $1 AND delivery_id < $2";

/// `($1, ..., $k[, tail]), (...)` for `rows` rows of `k` parameters, or with `?` for each
/// parameter when not `numbered`: SQLite looks named and numbered parameters up in a list, one
/// by one, which makes binding 18,000 of them quadratic (it took most of the time).
pub(super) fn values(rows: usize, k: usize, tail: &str, numbered: bool) -> String {
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
pub(super) struct Statements {
    pub(super) rows: usize,
    pub(super) inbox: String,
    pub(super) conversations: String,
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
pub(super) struct Dialect {
    pub(super) numbered: bool,
    /// Between the column list and `VALUES`.
    pub(super) overriding: &'static str,
    /// Starts the transaction; SQLite takes the write lock at once.
    pub(super) begin: &'static str,
    /// Keeps other writers out of the tables until commit.
    pub(super) lock: Option<&'static str>,
    /// The first free id of `{table}`, as `next`.
    pub(super) next_id: &'static str,
    /// Moves `{table}`'s id generator past `$1`, the last id used.
    pub(super) set_id: Option<&'static str>,
}

pub(super) const SQLITE: Dialect = Dialect {
    numbered: false,
    overriding: "",
    begin: "BEGIN IMMEDIATE",
    lock: None,
    // AUTOINCREMENT never reuses an id, deleted or not; it follows explicit ids by itself
    next_id: "SELECT MAX(COALESCE((SELECT MAX(id) FROM {table}), 0), \
        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0)) + 1 AS next",
    set_id: None,
};

pub(super) const POSTGRES: Dialect = Dialect {
    numbered: true,
    overriding: "OVERRIDING SYSTEM VALUE ",
    begin: "BEGIN",
    lock: Some("LOCK TABLE inbox, conversations IN EXCLUSIVE MODE"),
    next_id: "SELECT GREATEST(nextval(pg_get_serial_sequence('{table}', 'id')), \
        COALESCE((SELECT MAX(id) FROM {table}), 0) + 1) AS next",
    set_id: Some("SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1)"),
};

pub(super) fn seed_prefix(seed: u64) -> String {
    format!("seed:{seed}:")
}

/// `write_sqlite` and `write_postgres`: the same statements (but for the [`Dialect`]) and the
/// same binds; sqlx needs the backend's types.
macro_rules! writer {
    ($name:ident, $bind:ident, $db:ty, $args:ty, $dialect:expr, shorten: $shorten:expr) => {
        /// Binds a chunk of rows (ids: the base plus the row's number), consuming it.
        fn $bind(
            rows: Vec<Row>,
            prefix: &str,
            inbox_base: i64,
            conversation_base: i64,
        ) -> anyhow::Result<($args, $args)> {
            use sqlx::Arguments as _;
            macro_rules! add {
                ($arguments:expr, $value:expr) => {
                    $arguments.add($value).map_err(|e| anyhow::anyhow!(e))?
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

        pub(super) async fn $name(
            pool: &sqlx::Pool<$db>,
            generator: Generator,
            options: &SeedOptions,
            database: &str,
            progress: Option<&indicatif::ProgressBar>,
        ) -> anyhow::Result<Stats> {
            let dialect: &Dialect = &$dialect;
            let seed = options.seed;
            let prefix = seed_prefix(seed);
            let mut tx = pool.begin_with(dialect.begin).await?;
            if let Some(lock) = dialect.lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            if !options.force {
                let real = sqlx::query(REAL_ROWS).fetch_one(&mut *tx).await?;
                let (conversations, waiting): (i64, i64) =
                    (real.try_get("real")?, real.try_get("waiting")?);
                if conversations > 0 || waiting > 0 {
                    return Err(SeedError::RealConversations {
                        database: database.to_string(),
                        conversations,
                        waiting,
                    }
                    .into());
                }
            }
            let seeded: i64 = sqlx::query(SEEDED)
                .bind(&prefix)
                .bind(format!("seed:{seed};"))
                .fetch_one(&mut *tx)
                .await?
                .try_get("seeded")?;
            if seeded > 0 {
                return Err(SeedError::SeedTaken { seeded, seed }.into());
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
            let count = generator.conversations as i64;

            let (sender, mut receiver) = mpsc::channel::<Message<$args>>(4);
            let bind_prefix = prefix.clone();
            let generating = tokio::task::spawn_blocking(move || {
                generator.run(
                    move |rows| $bind(rows, &bind_prefix, inbox_base, conversation_base),
                    sender,
                )
            });
            let received: anyhow::Result<Stats> = async {
                let mut statements =
                    Statements::for_rows(ROWS_PER_STATEMENT, dialect.numbered, dialect.overriding);
                while let Some(message) = receiver.recv().await {
                    let (rows, inbox, conversations) = match message {
                        Message::Chunk(rows, inbox, conversations) => (rows, inbox, conversations),
                        Message::Done(stats) => return Ok(stats),
                        Message::Failed(err) => return Err(err),
                    };
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
                    if let Some(bar) = progress {
                        bar.inc(rows as u64);
                    }
                }
                bail!("the conversation generator stopped early")
            }
            .await;
            // a failed write stops the generator at its next chunk
            drop(receiver);
            generating
                .await
                .context("the conversation generator failed")?;
            let stats = received?;
            if let Some(set_id) = dialect.set_id {
                for (table, base) in [("inbox", inbox_base), ("conversations", conversation_base)] {
                    sqlx::query(&set_id.replace("{table}", table))
                        .bind(base + count - 1)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(stats)
        }
    };
}

/// SQLite's arguments own their values here, but a statement borrows its text.
pub(super) fn shorten_sqlite<'q>(
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
