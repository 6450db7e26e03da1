//! Every value in every column of every table of a test database, as text: what a privacy
//! test searches for copies of a question or raw platform ids, so a table or column added
//! later is searched too.

use sqlx::Row;

/// One stored value: `table.column` and the value as text.
#[derive(Debug, Clone)]
pub struct Stored {
    pub place: String,
    pub value: String,
}

/// Everything stored in the database at `url` (`sqlite://...` or a PostgreSQL URL selecting
/// a schema), NULLs left out.
pub async fn everything(url: &str) -> Vec<Stored> {
    let mut found = Vec::new();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for table in tables {
            let columns: Vec<String> =
                sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect();
            for column in columns {
                // blobs (sqlx's migration checksums) as hex, everything else as text
                let values: Vec<Option<String>> = sqlx::query_scalar(&format!(
                    "SELECT CASE WHEN typeof(\"{column}\") = 'blob' THEN hex(\"{column}\") \
                     ELSE CAST(\"{column}\" AS TEXT) END FROM \"{table}\""
                ))
                .fetch_all(&pool)
                .await
                .unwrap();
                found.extend(values.into_iter().flatten().map(|value| Stored {
                    place: format!("{table}.{column}"),
                    value,
                }));
            }
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(!columns.is_empty(), "the schema has tables");
        for (table, column) in columns {
            let values: Vec<Option<String>> = sqlx::query_scalar(&format!(
                "SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\""
            ))
            .fetch_all(&pool)
            .await
            .unwrap();
            found.extend(values.into_iter().flatten().map(|value| Stored {
                place: format!("{table}.{column}"),
                value,
            }));
        }
        pool.close().await;
    }
    found
}

/// The places (`table.column`) where any of `needles` is stored, with the value.
pub async fn places_of(url: &str, needles: &[&str]) -> Vec<String> {
    everything(url)
        .await
        .into_iter()
        .filter(|s| needles.iter().any(|n| s.value.contains(n)))
        .map(|s| format!("{}: {}", s.place, s.value))
        .collect()
}
