//! The demand-report scan for SQLite, read through SQLite's C API (rusqlite) on a read-only
//! connection of its own, on a blocking thread.
//!
//! Why not sqlx here: its SQLite driver hands every row from its worker thread to the async
//! side as an owned row, which measured about 8 µs per row; a year's report over a million
//! conversations spent 8 s in that hand-off alone. Stepping the statement directly costs well
//! under a microsecond per row. Rows travel to the async side in batches: each batch is one
//! text buffer plus fixed-size rows pointing into it, so a batch costs two allocations
//! whatever its size, and [`ReportRow`]s borrow from it as they did from sqlx's rows.
//!
//! The scan sees one consistent snapshot (a single statement in WAL mode) and never blocks
//! the writer.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::mpsc;

use super::sql::{REPORT_ROWS, UNMET_QUESTIONS};
use super::{ReportRow, Rows, StoreError, UnmetRow};

/// Rows per batch: large enough that channel hand-offs vanish, small enough to stay in cache.
const BATCH_ROWS: usize = 4096;

/// Batches in flight between the reading thread and the visitor.
const BATCHES_IN_FLIGHT: usize = 4;

/// Largest part of the database file a report maps into memory (address space, not RAM).
const MMAP_BYTES: i64 = 1 << 32;

/// Where a text column of a row sits in its batch's buffer; `NULL` when `len` is `u32::MAX`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const NULL: Span = Span {
        start: 0,
        len: u32::MAX,
    };
}

#[derive(Debug, Clone, Copy)]
struct PackedRow {
    received_ms: i64,
    /// asker, department, intent, outcome, specialist, feedback
    texts: [Span; 6],
    handoff: bool,
}

#[derive(Debug, Default)]
struct Batch {
    text: String,
    rows: Vec<PackedRow>,
}

impl Batch {
    fn push_text(&mut self, value: ValueRef<'_>, column: usize) -> Result<Span, ScanError> {
        match value {
            ValueRef::Null => Ok(Span::NULL),
            ValueRef::Text(bytes) => {
                let text = std::str::from_utf8(bytes).map_err(|_| ScanError::NotText(column))?;
                let span = Span {
                    start: self.text.len() as u32,
                    len: text.len() as u32,
                };
                self.text.push_str(text);
                Ok(span)
            }
            _ => Err(ScanError::NotText(column)),
        }
    }

    fn get(&self, span: Span) -> Option<&str> {
        (span.len != u32::MAX)
            .then(|| &self.text[span.start as usize..(span.start + span.len) as usize])
    }
}

/// What can go wrong in the reading thread (turned into [`StoreError::Scan`]).
#[derive(Debug, thiserror::Error)]
enum ScanError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("column {0} of the conversation log holds a value that is not text")]
    NotText(usize),
}

/// Visits every report row in `[from_ms, to_ms)` of the database file `path`.
pub(super) async fn scan(
    path: PathBuf,
    from_ms: i64,
    to_ms: i64,
    rows: Rows,
    visit: &mut (dyn for<'r> FnMut(ReportRow<'r>) + Send),
) -> Result<u64, StoreError> {
    let (batches, mut received) = mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
    let span = tracing::info_span!("sqlite_report_scan", from_ms, to_ms, ?rows);
    let reader = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        read_batches(&path, from_ms, to_ms, rows, &batches)
    });
    let mut visited = 0u64;
    while let Some(batch) = received.recv().await {
        for row in &batch.rows {
            let [asker, department, intent, outcome, specialist, feedback] =
                row.texts.map(|span| batch.get(span));
            visit(ReportRow {
                received_ms: row.received_ms,
                asker_key: asker.unwrap_or(""),
                department,
                intent,
                outcome,
                specialist,
                feedback,
                handoff: row.handoff,
            });
        }
        visited += batch.rows.len() as u64;
    }
    match reader.await {
        Ok(Ok(())) => Ok(visited),
        Ok(Err(err)) => Err(StoreError::Scan(err.to_string())),
        Err(join) => Err(StoreError::Scan(format!(
            "the reading thread failed: {join}"
        ))),
    }
}

/// The unmet questions of `[from_ms, to_ms)` (see [`super::ConversationStore::unmet_questions`]),
/// read the same way: a fifth of a year's log can be unmet, and sqlx took 1.5 s for 200,000.
pub(super) async fn unmet_questions(
    path: PathBuf,
    from_ms: i64,
    to_ms: i64,
    low_confidence: f32,
    kind: Rows,
) -> Result<Vec<UnmetRow>, StoreError> {
    let span = tracing::info_span!("sqlite_unmet_questions", from_ms, to_ms, rows = ?kind);
    let read = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let connection = open_reader(&path)?;
        let statement = if covers_most_of_the_log(&connection, from_ms, to_ms)? {
            // Most rows are in range: reading the table in order beats a million index
            // lookups (0.57 s against 0.9 s for a year of 1M conversations).
            UNMET_QUESTIONS.replacen("FROM conversations", "FROM conversations NOT INDEXED", 1)
        } else {
            UNMET_QUESTIONS.to_string()
        };
        let mut statement = connection.prepare(&statement)?;
        let rows = statement.query_map(
            rusqlite::params![from_ms, to_ms, f64::from(low_confidence), kind.flag()],
            |row| {
                Ok(UnmetRow {
                    received_ms: row.get(0)?,
                    asker_key: row.get(1)?,
                    question: row.get(2)?,
                })
            },
        )?;
        rows.collect::<Result<Vec<UnmetRow>, rusqlite::Error>>()
    });
    match read.await {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(err)) => Err(StoreError::Scan(err.to_string())),
        Err(join) => Err(StoreError::Scan(format!(
            "the reading thread failed: {join}"
        ))),
    }
}

/// Whether `[from_ms, to_ms)` spans at least half of the time the log covers (two index
/// probes: instant; SQLite optimises `MIN` and `MAX` only one per query, so each has its own
/// subquery: together in one `SELECT` they scanned the whole index, 110 ms at 1M rows).
fn covers_most_of_the_log(
    connection: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> Result<bool, rusqlite::Error> {
    let (first, last): (Option<i64>, Option<i64>) = connection.query_row(
        "SELECT (SELECT MIN(received_ms) FROM conversations), \
         (SELECT MAX(received_ms) FROM conversations)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(match (first, last) {
        (Some(first), Some(last)) if last > first => {
            let overlap = to_ms.min(last + 1) - from_ms.max(first);
            overlap.saturating_mul(2) >= last - first
        }
        _ => false,
    })
}

/// A read-only connection of its own: WAL lets it read a consistent snapshot beside the
/// writer without blocking it.
fn open_reader(path: &std::path::Path) -> Result<Connection, rusqlite::Error> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(5))?;
    // Reading pages through a memory map skips copying them into SQLite's page cache, which
    // is most of the cost of a long scan once the file is in the OS cache.
    connection.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    Ok(connection)
}

fn read_batches(
    path: &std::path::Path,
    from_ms: i64,
    to_ms: i64,
    kind: Rows,
    batches: &mpsc::Sender<Batch>,
) -> Result<(), ScanError> {
    let connection = open_reader(path)?;
    let mut statement = connection.prepare(REPORT_ROWS)?;
    let mut rows = statement.query([from_ms, to_ms, i64::from(kind.flag())])?;
    let mut batch = Batch::default();
    while let Some(row) = rows.next()? {
        let mut texts = [Span::NULL; 6];
        for (i, slot) in texts.iter_mut().enumerate() {
            *slot = batch.push_text(row.get_ref(i + 1)?, i + 1)?;
        }
        batch.rows.push(PackedRow {
            received_ms: row.get(0)?,
            texts,
            handoff: row.get::<_, i64>(7)? != 0,
        });
        if batch.rows.len() == BATCH_ROWS {
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    text: String::with_capacity(BATCH_ROWS * 64),
                    rows: Vec::with_capacity(BATCH_ROWS),
                },
            );
            if batches.blocking_send(full).is_err() {
                // the visitor is gone (the report was dropped): stop reading
                return Ok(());
            }
        }
    }
    if !batch.rows.is_empty() {
        let _ = batches.blocking_send(batch);
    }
    Ok(())
}
