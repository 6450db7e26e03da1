//! Synthetic demo data: `referral-desk seed-demo` fills the configured database with realistic,
//! pseudonymous conversations, so a newcomer sees a populated dashboard and the reports can be
//! benchmarked on a million rows.
//!
//! Everything is drawn from one `StdRng` seeded with [`SeedOptions::seed`], so the same options
//! give the same rows. What the data looks like:
//! - **Askers**: a pool of about one per six conversations (at least 50), with Zipf-like
//!   activity (a few ask a lot, many once or twice), each in one of eight departments of
//!   realistic sizes; Legal is kept to a handful of askers so k-anonymity suppression shows,
//!   and a few askers have no department (not in the departments CSV).
//! - **Time**: the [`SeedOptions::days`] days before [`SeedOptions::end`], weekdays busier than
//!   weekends, office hours (Dutch local time), quieter summer and Christmas, slowly growing
//!   use; seasonal peaks per intent (training budget in September and January, leave before
//!   the summer and December, onboarding in September, ...) and one **rising topic**
//!   ([`rising_intent`]) whose share grows steadily over the range.
//! - **Decisions**: about 80% routed to an intent of the catalogue (the route as the pipeline
//!   builds it: the intent's specialists least recently referred first, its knowledge and desk),
//!   5% directory ("who knows about X", answered by the real directory search), 5% ambiguous
//!   (two confusable intents as options), 10% out of scope: mostly the [`PLANTED_TOPICS`]
//!   (HR-adjacent demand the shipped catalogue does not cover), the rest noise.
//! - **Feedback** on about a quarter of the conversations, clearly worse for a couple of
//!   intents (`hybrid_work`, `supplier_management`); a handoff for about 15% of specialist
//!   referrals. Routed questions with low confidence (0.39-0.5) are a few percent.
//!
//! **Demo data never mixes with real conversations** (issue 14). Every row written here is
//! marked `demo = 1` (inbox and conversation log; the server never sets the column), reports
//! leave marked rows out unless asked to include them (see `analytics::release`), and
//! [`remove_demo`] deletes exactly them. Seeding refuses a database that holds real
//! conversations unless [`SeedOptions::force`]. The referral load (`specialist_load`) is not
//! touched: it steers which specialist gets the next real question, which synthetic
//! referrals must not. Seeding drops the published demo tables, so they are published again
//! over all demo rows; the real tables are never touched.
//!
//! Rows are written through the store ([`crate::store::insert_demo_rows`], the only writer of
//! the `demo` column): the generator runs on a blocking thread and hands over chunks of 1,000
//! rows, which the store binds there and writes as multi-row INSERTs in one transaction,
//! while the generator draws the next chunk. Each conversation gets its `inbox` row (`done`,
//! no text, delivery id `seed:<seed>:<n>`). Seeding again with a seed already in the database
//! is refused before anything is written; another seed appends. While seeding, other writers
//! wait, so the check for real conversations and the writing see the same database.
//!
//! Measured on a shared 2-core machine (load average 5 from other builds): 1,000,000
//! conversations into SQLite in 36 s wall-clock (24 s of CPU; the SQLite writer thread is the
//! bottleneck), a 725 MB file; 100,000 into PostgreSQL in 6.4 s.
//!
//! Layout: this file is the entry point ([`seed_demo`], [`remove_demo`]) and what the
//! generator reports back; `plan` holds the tables the data follows (departments, seasons,
//! [`PLANTED_TOPICS`], ...); `generate` plans the askers, days and routes and runs the
//! generation; `conversation` draws one conversation, with every route from
//! [`crate::routing::route`], the function the server answers with.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;

use crate::catalogue::Catalogue;
use crate::config::Settings;
use crate::store::DemoInsertError;

mod conversation;
mod generate;
mod plan;

use generate::Generator;
pub use plan::{
    PLANTED_TOPICS, PlantedCluster, PlantedTopic, RISING_CANDIDATES, planted_topic_of,
    rising_intent,
};

/// What to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOptions {
    pub conversations: usize,
    /// Spread over this many days before `end`.
    pub days: u32,
    /// The day after the last seeded day (exclusive).
    pub end: NaiveDate,
    pub seed: u64,
    /// Seed even though the database holds real conversations (`seed-demo --force`).
    pub force: bool,
}

/// Why seeding refused a database. Carried inside the `anyhow` chain, so callers can
/// `downcast_ref` it.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(
        "the database {database} holds {conversations} real conversations and {waiting} real \
         deliveries not yet answered; demo data would sit beside them, so nothing was added\n  \
         hint: give the demo data a database of its own, e.g. \
         REFERRAL_DESK__DATABASE__URL=sqlite://data/demo.db referral-desk seed-demo ... \
         (and the same for serve and report), or pass --force to add it here anyway (it is \
         marked, left out of reports unless --include-demo, and `seed-demo --remove` deletes it)"
    )]
    RealConversations {
        database: String,
        conversations: i64,
        waiting: i64,
    },
    #[error(
        "the database already holds {seeded} conversations seeded with --seed {seed} \
         (delivery ids seed:{seed}:...); nothing was added\n  hint: use another --seed to add \
         more conversations, or `seed-demo --remove` first to start over"
    )]
    SeedTaken { seeded: i64, seed: u64 },
}

/// What was seeded.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedSummary {
    pub conversations: usize,
    /// Distinct askers among the seeded conversations.
    pub askers: usize,
    /// Wall-clock time of the whole seeding (migrations included).
    pub seconds: f64,
    /// One per [`PLANTED_TOPICS`] entry, in that order, with its distinct askers as seeded.
    pub planted: Vec<PlantedTopic>,
}

/// Fills the configured database with `options.conversations` synthetic conversations, each
/// marked as demo data. Connects with `store::connect` first (which migrates), then writes
/// through a pool of its own. Refuses, before writing anything, a database holding real
/// conversations (unless `options.force`) and a seed the database already holds
/// ([`SeedError`]).
#[tracing::instrument(skip_all, fields(database = %settings.database.describe(), conversations = options.conversations, seed = options.seed))]
pub async fn seed_demo(
    settings: &Settings,
    catalogue: &Catalogue,
    options: &SeedOptions,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<SeedSummary> {
    let started = Instant::now();
    if options.conversations == 0 {
        bail!("--conversations must be at least 1");
    }
    if options.days == 0 {
        bail!("--days must be at least 1");
    }
    if catalogue.intents.is_empty() {
        bail!(
            "the catalogue in {} has no intents to seed conversations for",
            catalogue.dir.display()
        );
    }
    let described = settings.database.describe();
    let store = crate::store::connect(&settings.database)
        .await
        .with_context(|| format!("opening the database {described}"))?;
    drop(store);

    let generator = Generator::new(catalogue, options, settings.log.store_text);
    if let Some(bar) = progress {
        bar.set_length(options.conversations as u64);
    }
    let written = |rows: u64| {
        if let Some(bar) = progress {
            bar.inc(rows);
        }
    };
    let generate =
        move |emit: &mut dyn FnMut(Vec<crate::store::DemoRow>) -> bool| generator.run(emit);
    let inserted = crate::store::insert_demo_rows(
        &settings.database,
        options.seed,
        options.force,
        generate,
        &written,
    )
    .await;
    let stats = inserted.map_err(|err| seeding_failed(err, described, options.seed))?;
    Ok(SeedSummary {
        conversations: options.conversations,
        askers: stats.askers,
        seconds: started.elapsed().as_secs_f64(),
        planted: PLANTED_TOPICS
            .iter()
            .zip(&stats.planted_askers)
            .map(|(t, askers)| PlantedTopic {
                name: t.name,
                keywords: t.keywords,
                askers: askers.len(),
            })
            .collect(),
    })
}

/// The refusals as [`SeedError`]s that say where and what to do; other failures with the
/// database they happened in.
fn seeding_failed(err: DemoInsertError, database: String, seed: u64) -> anyhow::Error {
    match err {
        DemoInsertError::RealRows {
            conversations,
            waiting,
        } => SeedError::RealConversations {
            database,
            conversations,
            waiting,
        }
        .into(),
        DemoInsertError::SeedTaken { seeded } => SeedError::SeedTaken { seeded, seed }.into(),
        err => anyhow::Error::new(err).context(format!("seeding {database}")),
    }
}

/// `seed-demo --remove`: deletes every row seeding wrote and the published tables of demo
/// rows, in one transaction, and returns `(table, rows deleted)` per table. Real rows and the
/// real tables are not touched.
#[tracing::instrument(skip_all, fields(database = %settings.database.describe()))]
pub async fn remove_demo(settings: &Settings) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let described = settings.database.describe();
    let store = crate::store::connect(&settings.database)
        .await
        .with_context(|| format!("opening the database {described}"))?;
    store
        .remove_demo()
        .await
        .with_context(|| format!("removing the demo data from {described}"))
}

/// What the generator learned while generating.
#[derive(Debug, Default)]
struct Stats {
    askers: usize,
    planted_askers: Vec<BTreeSet<u32>>,
}

#[cfg(test)]
mod tests;
