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
//! Rows are written with multi-row INSERTs (1,000 rows and 18,000 bound parameters per
//! statement, under SQLite's 32,766) in one transaction, on both backends with the same
//! statements but for the dialect: ids are reserved up front and inserted explicitly (the
//! id generators are moved past them), so the generator thread binds whole chunks while the
//! database writes the previous one. Each conversation gets its `inbox` row (`done`, no text,
//! delivery id `seed:<seed>:<n>`). Seeding again with a seed already in the database is
//! refused before anything is written; another seed appends. While seeding, other writers
//! wait (SQLite's write lock, PostgreSQL's table locks), so the check for real conversations
//! and the writing see the same database.
//!
//! Measured on a shared 2-core machine (load average 5 from other builds): 1,000,000
//! conversations into SQLite in 36 s wall-clock (24 s of CPU; the SQLite writer thread is the
//! bottleneck), a 725 MB file; 100,000 into PostgreSQL in 6.4 s.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate, Weekday};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use sqlx::Row as _;
use tokio::sync::mpsc;

use crate::catalogue::{Catalogue, Lang};
use crate::config::Settings;
use crate::routing::Directory;

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

/// An out-of-scope cluster as seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantedTopic {
    pub name: &'static str,
    /// Lower-case words of which every question of the topic contains at least one, and no
    /// other seeded question contains any.
    pub keywords: &'static [&'static str],
    /// Distinct askers of the topic's questions.
    pub askers: usize,
}

/// An out-of-scope cluster the generator plants: HR-adjacent demand the shipped catalogue has
/// no intent for, so HRD can discover it in the unmet-demand report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlantedCluster {
    pub name: &'static str,
    /// Lower-case; every template contains at least one (`{place}` aside), and no intent
    /// example, noise question or other cluster contains any (tested).
    pub keywords: &'static [&'static str],
    /// Question templates; `{place}` is replaced by an office location.
    pub nl: &'static [&'static str],
    pub en: &'static [&'static str],
    /// Share of the out-of-scope questions outside peak months (the rest is noise).
    pub share: f64,
    /// `(month, factor)`: months in which the cluster is asked about more (or less).
    pub season: &'static [(u32, f64)],
    /// Asked by at most this many distinct askers, whatever the number of conversations:
    /// the tiny cluster a report must drop (fewer than 5 askers).
    pub max_askers: Option<usize>,
}

/// The out-of-scope clusters the generator plants, each with its own question templates in nl
/// and en. `lactation_room` is the deliberately tiny one: asked by at most 3 distinct askers.
pub const PLANTED_TOPICS: &[PlantedCluster] = &[
    PlantedCluster {
        name: "parking",
        keywords: &["parkeer", "parkeren", "parking"],
        nl: &[
            "waar kan ik parkeren bij kantoor {place}",
            "hoe krijg ik een parkeervergunning",
            "kan ik een parkeerplek reserveren voor morgen",
            "is de parkeergarage in het weekend open",
            "krijg ik mijn parkeerkosten vergoed bij een klantbezoek",
            "zijn er parkeerplaatsen met een laadpaal",
            "mijn parkeerpas werkt niet meer",
            "parkeren in {place}, hoe zit dat",
            "mag ik als parttimer ook een parkeerkaart",
        ],
        en: &[
            "is there parking at the {place} office",
            "how do i get a parking permit",
            "can i book a parking spot for tomorrow",
            "is the parking garage open at weekends",
            "are parking costs reimbursed for client visits",
            "are there parking spaces with ev chargers",
            "my parking card stopped working",
            "parking in {place}, how does it work",
        ],
        share: 0.24,
        season: &[(1, 1.2), (9, 1.5), (10, 1.3)],
        max_askers: None,
    },
    PlantedCluster {
        name: "childcare",
        keywords: &["kinderopvang", "childcare", "daycare"],
        nl: &[
            "vergoedt de werkgever een deel van de kinderopvang",
            "is er een regeling voor kinderopvang",
            "heeft het bedrijf afspraken met een kinderopvang in {place}",
            "krijg ik korting op kinderopvang via het werk",
            "kinderopvang in de zomervakantie, kan het werk helpen",
            "mijn kinderopvang sluit om zes uur, mag ik eerder weg",
        ],
        en: &[
            "does the company contribute to childcare costs",
            "is there a childcare scheme for employees",
            "daycare discount through work?",
            "help finding childcare near the {place} office",
            "childcare during the school holidays, any support",
            "does the company have a deal with a daycare centre",
        ],
        share: 0.16,
        season: &[(5, 1.5), (6, 1.7), (8, 1.4)],
        max_askers: None,
    },
    PlantedCluster {
        name: "expat_relocation",
        keywords: &[
            "visum",
            "visa",
            "relocation",
            "relocatie",
            "verblijfsvergunning",
            "residence permit",
        ],
        nl: &[
            "hoe regel ik een visum voor mijn partner",
            "wie helpt met de verblijfsvergunning voor een nieuwe collega",
            "is er een relocatievergoeding",
            "relocatie naar {place}, wat regelt het bedrijf",
            "mijn verblijfsvergunning verloopt, wat moet ik doen",
        ],
        en: &[
            "who handles visa applications for new hires",
            "is there a relocation package",
            "my residence permit expires next month, who can help",
            "relocation allowance when moving to {place}?",
            "does the company sponsor a visa for my spouse",
            "need help with the 30% ruling and my residence permit",
            "who do i talk to about my visa extension",
        ],
        share: 0.13,
        season: &[(8, 1.6), (9, 1.8), (1, 1.3)],
        max_askers: None,
    },
    PlantedCluster {
        name: "christmas_hamper",
        keywords: &[
            "kerstpakket",
            "christmas hamper",
            "christmas package",
            "christmas gift",
        ],
        nl: &[
            "wanneer komt het kerstpakket",
            "kan ik mijn kerstpakket ook op kantoor {place} ophalen",
            "ik heb geen kerstpakket ontvangen",
            "kan ik het kerstpakket omruilen voor een goed doel",
            "is er dit jaar een kerstpakket of een cadeaukaart",
        ],
        en: &[
            "when will the christmas hamper be delivered",
            "i didn't receive my christmas package",
            "can i donate my christmas gift to charity",
            "can i pick up the christmas hamper at the {place} office",
            "is there a christmas gift for part-timers too",
        ],
        share: 0.01,
        season: &[(10, 3.0), (11, 14.0), (12, 24.0), (1, 4.0)],
        max_askers: None,
    },
    PlantedCluster {
        name: "lactation_room",
        keywords: &["kolfruimte", "kolven", "lactation"],
        nl: &[
            "is er een kolfruimte op kantoor {place}",
            "waar kan ik rustig kolven",
            "moet ik de kolfruimte reserveren",
        ],
        en: &[
            "is there a lactation room in the {place} office",
            "where is the lactation room on the third floor",
            "do i need to book the lactation room",
        ],
        share: 0.0,
        season: &[],
        max_askers: Some(3),
    },
];

/// The cluster a seeded question belongs to, by its keywords (case-insensitive).
pub fn planted_topic_of(question: &str) -> Option<&'static PlantedCluster> {
    let lower = question.to_lowercase();
    PLANTED_TOPICS
        .iter()
        .find(|t| t.keywords.iter().any(|k| lower.contains(k)))
}

/// Intents that make a good rising topic, first match wins.
pub const RISING_CANDIDATES: &[&str] = &["ai_automation", "data_skills", "digital_workplace"];

/// The intent whose share grows steadily over the seeded range: the first of
/// [`RISING_CANDIDATES`] in the catalogue, else its last intent.
pub fn rising_intent(catalogue: &Catalogue) -> Option<&str> {
    RISING_CANDIDATES
        .iter()
        .find_map(|id| catalogue.intent(id).map(|i| i.id.as_str()))
        .or_else(|| catalogue.intents.last().map(|i| i.id.as_str()))
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
    let url = settings.database.url.expose_secret();
    let written = if settings.database.is_sqlite() {
        let connect = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // this connection only: the data is synthetic, a crash mid-seed loses nothing
            .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
            .pragma("cache_size", "-262144")
            .pragma("temp_store", "memory");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect)
            .await
            .with_context(|| format!("opening the database {described}"))?;
        let mut written = write_sqlite(&pool, generator, options, &described, progress).await;
        if written.is_ok() {
            // fold the write-ahead log into the database file, so its size is the data's
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&pool)
                .await
            {
                written = Err(err.into());
            }
        }
        pool.close().await;
        written
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .with_context(|| format!("opening the database {described}"))?;
        let mut written = write_postgres(&pool, generator, options, &described, progress).await;
        if written.is_ok() {
            // planner statistics now rather than when autovacuum gets to it
            if let Err(err) = sqlx::query("ANALYZE inbox, conversations")
                .execute(&pool)
                .await
            {
                written = Err(err.into());
            }
        }
        pool.close().await;
        written
    };
    let stats = match written {
        // the refusals say where already
        Err(err) if err.is::<SeedError>() => return Err(err),
        other => other.with_context(|| format!("seeding {described}"))?,
    };
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

// ---------------------------------------------------------------------------------------------
// What the organisation looks like

/// Asker departments and their share of the askers (the rest: [`SMALL_DEPARTMENT`] and none).
const DEPARTMENTS: &[(&str, f64)] = &[
    ("Operations", 0.25),
    ("Customer Service", 0.21),
    ("Sales", 0.15),
    ("IT", 0.13),
    ("Finance", 0.10),
    ("Marketing", 0.08),
    ("HR", 0.08),
];
/// A department of a handful of askers, whatever the pool size, so its figures are suppressed.
const SMALL_DEPARTMENT: &str = "Legal";
const SMALL_DEPARTMENT_ASKERS: usize = 7;
/// Askers not in the departments CSV.
const NO_DEPARTMENT: f64 = 0.04;

/// Share of askers who write Dutch (they switch language now and then).
const DUTCH_ASKERS: f64 = 0.61;
const CHANNELS: &[(&str, f64)] = &[("teams", 0.50), ("slack", 0.30), ("web", 0.20)];

const PLACES: &[&str] = &["Utrecht", "Amsterdam", "Zwolle", "Eindhoven", "Rotterdam"];

/// Shares of the decisions; out of scope is the rest.
const ROUTED: f64 = 0.80;
const DIRECTORY: f64 = 0.05;
const AMBIGUOUS: f64 = 0.05;
const OUT_OF_SCOPE: f64 = 0.10;

/// Per intent of the shipped catalogue: how often it is asked, its seasonal peaks and how often
/// its answer is "not helpful". Other catalogues' intents get [`DEFAULT_PROFILE`].
struct IntentProfile {
    id: &'static str,
    weight: f64,
    season: &'static [(u32, f64)],
    not_helpful: f64,
}

const DEFAULT_PROFILE: IntentProfile = IntentProfile {
    id: "",
    weight: 4.0,
    season: &[],
    not_helpful: 0.14,
};

const INTENT_PROFILES: &[IntentProfile] = &[
    IntentProfile {
        id: "training_budget",
        weight: 9.0,
        season: &[(1, 1.8), (7, 0.6), (8, 0.7), (9, 1.9), (10, 1.4), (12, 1.3)],
        not_helpful: 0.11,
    },
    IntentProfile {
        id: "course_offer",
        weight: 8.0,
        season: &[(1, 1.4), (7, 0.5), (8, 0.6), (9, 1.6), (10, 1.2)],
        not_helpful: 0.10,
    },
    IntentProfile {
        id: "compliance_training",
        weight: 4.0,
        season: &[(3, 1.2), (11, 1.7), (12, 1.9)],
        not_helpful: 0.13,
    },
    IntentProfile {
        id: "knowledge_sharing",
        weight: 3.0,
        season: &[],
        not_helpful: 0.15,
    },
    IntentProfile {
        id: "onboarding",
        weight: 4.0,
        season: &[(1, 1.3), (2, 1.1), (8, 1.4), (9, 2.2)],
        not_helpful: 0.09,
    },
    IntentProfile {
        id: "mentoring_coaching",
        weight: 4.0,
        season: &[(1, 1.2), (9, 1.2)],
        not_helpful: 0.12,
    },
    IntentProfile {
        id: "career_development",
        weight: 6.0,
        season: &[(1, 1.3), (6, 1.1)],
        not_helpful: 0.17,
    },
    IntentProfile {
        id: "performance_review",
        weight: 5.0,
        season: &[(1, 1.6), (2, 1.3), (6, 1.5), (12, 1.4)],
        not_helpful: 0.15,
    },
    IntentProfile {
        id: "wellbeing",
        weight: 5.0,
        season: &[(1, 1.3), (2, 1.4), (11, 1.3)],
        not_helpful: 0.12,
    },
    IntentProfile {
        id: "leave_and_absence",
        weight: 9.0,
        season: &[(4, 1.2), (5, 1.6), (6, 1.5), (7, 0.9), (11, 1.3), (12, 1.6)],
        not_helpful: 0.13,
    },
    IntentProfile {
        id: "pay_and_benefits",
        weight: 7.0,
        season: &[(1, 1.6), (5, 1.4), (12, 1.5)],
        not_helpful: 0.18,
    },
    // clearly worse: the policy is unclear and the desk gets the complaints
    IntentProfile {
        id: "hybrid_work",
        weight: 5.0,
        season: &[(1, 1.2), (9, 1.3)],
        not_helpful: 0.41,
    },
    IntentProfile {
        id: "ai_automation",
        weight: 4.0,
        season: &[],
        not_helpful: 0.16,
    },
    IntentProfile {
        id: "data_skills",
        weight: 4.0,
        season: &[(9, 1.2), (10, 1.2)],
        not_helpful: 0.10,
    },
    IntentProfile {
        id: "digital_workplace",
        weight: 6.0,
        season: &[],
        not_helpful: 0.14,
    },
    IntentProfile {
        id: "leadership_development",
        weight: 3.0,
        season: &[(9, 1.3), (1, 1.2)],
        not_helpful: 0.12,
    },
    IntentProfile {
        id: "team_development",
        weight: 3.0,
        season: &[(6, 1.4), (9, 1.3)],
        not_helpful: 0.11,
    },
    IntentProfile {
        id: "agile_ways_of_working",
        weight: 3.0,
        season: &[],
        not_helpful: 0.15,
    },
    IntentProfile {
        id: "change_management",
        weight: 3.0,
        season: &[(3, 1.3), (10, 1.3)],
        not_helpful: 0.19,
    },
    IntentProfile {
        id: "strategy_workforce_planning",
        weight: 2.0,
        season: &[(10, 1.5), (11, 1.4)],
        not_helpful: 0.17,
    },
    // clearly worse: the specialists are rarely available
    IntentProfile {
        id: "supplier_management",
        weight: 1.5,
        season: &[(11, 1.3)],
        not_helpful: 0.52,
    },
    IntentProfile {
        id: "it_support",
        weight: 8.0,
        season: &[(1, 1.2), (9, 1.3)],
        not_helpful: 0.21,
    },
];

/// `(department, intent, factor)`: what a department asks about more (or less) than others.
const DEPARTMENT_FOCUS: &[(&str, &str, f64)] = &[
    ("Finance", "data_skills", 2.2),
    ("Finance", "pay_and_benefits", 1.3),
    ("IT", "ai_automation", 1.8),
    ("IT", "agile_ways_of_working", 1.7),
    ("IT", "digital_workplace", 0.5),
    ("IT", "it_support", 0.5),
    ("Sales", "training_budget", 1.3),
    ("Sales", "career_development", 1.4),
    ("Sales", "leadership_development", 1.3),
    ("Operations", "compliance_training", 1.7),
    ("Operations", "leave_and_absence", 1.2),
    ("Operations", "it_support", 1.3),
    ("Customer Service", "wellbeing", 1.7),
    ("Customer Service", "leave_and_absence", 1.3),
    ("Customer Service", "course_offer", 1.2),
    ("HR", "strategy_workforce_planning", 3.0),
    ("HR", "change_management", 2.0),
    ("HR", "supplier_management", 2.5),
    ("Marketing", "ai_automation", 1.5),
    ("Marketing", "digital_workplace", 1.2),
    ("Legal", "compliance_training", 1.6),
];

/// Intents a classifier confuses: the second "did you mean" option of an ambiguous question.
const CONFUSABLE: &[(&str, &str)] = &[
    ("training_budget", "course_offer"),
    ("course_offer", "compliance_training"),
    ("career_development", "mentoring_coaching"),
    ("performance_review", "career_development"),
    ("leadership_development", "team_development"),
    ("team_development", "agile_ways_of_working"),
    ("ai_automation", "data_skills"),
    ("digital_workplace", "it_support"),
    ("leave_and_absence", "hybrid_work"),
    ("wellbeing", "leave_and_absence"),
    ("change_management", "strategy_workforce_planning"),
    ("knowledge_sharing", "course_offer"),
    ("onboarding", "mentoring_coaching"),
    ("pay_and_benefits", "leave_and_absence"),
    ("supplier_management", "training_budget"),
];

/// "Who knows about X" phrasings (the directory's own patterns recognise them).
const DIRECTORY_NL: &[&str] = &[
    "wie weet er veel van {t}?",
    "wie heeft er ervaring met {t}",
    "wie is de expert op het gebied van {t}?",
    "is er een specialist in {t}?",
    "wie kent er iets van {t}",
];
const DIRECTORY_EN: &[&str] = &[
    "who knows about {t}?",
    "anyone here who knows about {t}?",
    "is there an expert on {t}",
    "who has experience with {t}",
    "someone who knows a lot about {t}?",
];
/// Directory topics nobody in the shipped directory covers.
const UNKNOWN_TOPICS: &[&str] = &["origami", "beekeeping", "kitesurfing", "mandarin chinese"];

/// Out-of-scope noise beyond the catalogue's own out-of-scope examples.
const NOISE_NL: &[&str] = &[
    "test",
    "werkt dit?",
    "wat kun jij eigenlijk",
    "hallo??",
    "asdf",
];
const NOISE_EN: &[&str] = &["test 123", "what can you do", "are you a bot", "hello??"];

const PREFIX_NL: &[&str] = &["hoi, ", "hallo, ", "vraagje: ", "goedemorgen, ", "hey "];
const PREFIX_EN: &[&str] = &["hi, ", "hello, ", "quick question: ", "hey, "];
const SUFFIX_NL: &[&str] = &[" alvast bedankt", " groetjes", " thanks!"];
const SUFFIX_EN: &[&str] = &[" thanks", " thx", " cheers"];
const EMAIL_NL: &[&str] = &[" (mijn mail is [email])", ", graag antwoord naar [email]"];
const EMAIL_EN: &[&str] = &[" (my email is [email])", ", please reply to [email]"];
const PHONE_NL: &[&str] = &[", bel me even op [phone]"];
const PHONE_EN: &[&str] = &[", call me on [phone]"];

/// Local hour weights (Dutch time) on working days and in weekends.
const WEEKDAY_HOURS: [f64; 24] = [
    0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.3, 1.5, 4.5, 8.0, 9.5, 8.5, 5.5, 6.5, 8.5, 8.0, 6.5, 4.0,
    2.0, 1.3, 1.1, 0.8, 0.4, 0.1,
];
const WEEKEND_HOURS: [f64; 24] = [
    0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.1, 0.3, 0.8, 1.5, 2.0, 2.0, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3,
    1.3, 1.5, 1.6, 1.3, 0.8, 0.3,
];

/// Conversations per INSERT statement: 17 parameters each, so 17,000 per statement.
const ROWS_PER_STATEMENT: usize = 1000;

fn month_factor(season: &[(u32, f64)], month: u32, otherwise: f64) -> f64 {
    season
        .iter()
        .find(|(m, _)| *m == month)
        .map_or(otherwise, |(_, f)| *f)
}

/// How busy a day is, before the slow growth in use.
fn day_factor(date: NaiveDate) -> f64 {
    let weekday = match date.weekday() {
        Weekday::Mon => 1.0,
        Weekday::Tue => 1.08,
        Weekday::Wed => 0.97,
        Weekday::Thu => 1.0,
        Weekday::Fri => 0.72,
        Weekday::Sat => 0.07,
        Weekday::Sun => 0.05,
    };
    let season = match (date.month(), date.day()) {
        (12, 24) => 0.5,
        (12, 25) | (12, 26) | (1, 1) | (4, 27) => 0.05,
        (12, 27..=31) => 0.35,
        (7, _) => 0.72,
        (8, _) => 0.65,
        _ => 1.0,
    };
    weekday * season
}

/// Hours Dutch local time is ahead of UTC (summer time from the last Sunday of March to the
/// last Sunday of October).
fn utc_offset_hours(date: NaiveDate) -> i64 {
    let last_sunday = |month: u32| {
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(date.year(), month + 1, 1)
        }
        .expect("valid first of month");
        let last = next.pred_opt().expect("a day before");
        last - chrono::Duration::days(i64::from(last.weekday().num_days_from_sunday()))
    };
    if date >= last_sunday(3) && date < last_sunday(10) {
        2
    } else {
        1
    }
}

/// 64 hex characters, like a real pseudonym, derived from the seed and the asker's number.
fn asker_key(seed: u64, asker: usize) -> String {
    hex::encode(Sha256::digest(format!(
        "referral-desk seed-demo {seed} asker {asker}"
    )))
}

fn json_str(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

// ---------------------------------------------------------------------------------------------
// The generator

/// One seeded conversation with its inbox row.
#[derive(Debug)]
struct Row {
    n: u64,
    received_ms: i64,
    completed_ms: i64,
    channel: &'static str,
    asker_key: Arc<str>,
    department: Option<&'static str>,
    language: &'static str,
    question: Option<String>,
    intent: Option<Arc<str>>,
    confidence: f32,
    decision: &'static str,
    route: Arc<str>,
    latency_us: i64,
    feedback: Option<&'static str>,
    feedback_ms: Option<i64>,
    handoff: i32,
    outcome: &'static str,
    specialist: Option<Arc<str>>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Routed,
    Directory,
    Ambiguous,
    Planted(usize),
    Noise,
}

#[derive(Debug)]
struct Asker {
    key: Arc<str>,
    department: Option<&'static str>,
    lang: Lang,
    channel: usize,
}

#[derive(Debug)]
struct IntentPlan {
    id: Arc<str>,
    quoted: String,
    nl: Vec<String>,
    en: Vec<String>,
    /// Indices into [`Generator::specialists`], in route order.
    specialists: Vec<usize>,
    knowledge_json: String,
    desk_json: String,
    not_helpful: f64,
    /// Share of its routed questions answered with low confidence (0.39-0.5).
    low_confidence: f64,
    partner: usize,
    /// Route when no specialist is available (knowledge and desk only).
    bare_route: Arc<str>,
}

#[derive(Debug)]
struct SpecialistPlan {
    id: Arc<str>,
    quoted: String,
    away_until: Option<NaiveDate>,
    last_ms: i64,
}

impl SpecialistPlan {
    /// Away for the three weeks up to and including `away_until`, when that is set: the
    /// catalogue says until when, not since when.
    fn available(&self, date: NaiveDate) -> bool {
        self.away_until
            .is_none_or(|until| date > until || date <= until - chrono::Duration::days(21))
    }
}

#[derive(Debug)]
struct DirectoryTopic {
    topic: String,
    specialists: Vec<usize>,
    score: f32,
    route: Arc<str>,
}

#[derive(Debug)]
struct DayPlan {
    date: NaiveDate,
    /// UTC milliseconds of local midnight.
    midnight_ms: i64,
    weekend: bool,
    kinds: WeightedIndex<f64>,
    /// Per department group (see [`Generator::groups`]).
    intents: Vec<WeightedIndex<f64>>,
}

/// What the generator learned while generating.
#[derive(Debug, Default)]
struct Stats {
    askers: usize,
    planted_askers: Vec<BTreeSet<u32>>,
}

struct Generator {
    rng: StdRng,
    conversations: usize,
    store_text: bool,
    askers: Vec<Asker>,
    asker_weights: WeightedIndex<f64>,
    /// Department group of each asker: index into the department list, `None` last.
    groups: Vec<usize>,
    days: Vec<DayPlan>,
    day_weights: WeightedIndex<f64>,
    kinds: Vec<Kind>,
    intents: Vec<IntentPlan>,
    specialists: Vec<SpecialistPlan>,
    directory: Vec<DirectoryTopic>,
    directory_weights: WeightedIndex<f64>,
    noise: [Vec<String>; 2],
    out_of_scope_route: Arc<str>,
    ambiguous_routes: BTreeMap<(usize, usize), Arc<str>>,
    routes: BTreeMap<(usize, Vec<usize>), Arc<str>>,
    /// The tiny cluster's askers and how many conversations it gets.
    tiny: Option<(usize, Vec<usize>, usize)>,
}

fn lang_index(lang: Lang) -> usize {
    match lang {
        Lang::Nl => 0,
        Lang::En => 1,
    }
}

impl Generator {
    fn new(catalogue: &Catalogue, options: &SeedOptions, store_text: bool) -> Generator {
        let mut rng = StdRng::seed_from_u64(options.seed);
        let n = options.conversations;

        // specialists and intents
        let specialists: Vec<SpecialistPlan> = catalogue
            .specialists
            .iter()
            .map(|s| SpecialistPlan {
                id: Arc::from(s.id.as_str()),
                quoted: json_str(&s.id),
                away_until: s.away_until,
                last_ms: 0,
            })
            .collect();
        let specialist_index = |id: &str| catalogue.specialists.iter().position(|s| s.id == id);
        let fallback_desk = json_str(&catalogue.settings.fallback_desk);
        let mut intents: Vec<IntentPlan> = catalogue
            .intents
            .iter()
            .map(|intent| {
                let profile = INTENT_PROFILES
                    .iter()
                    .find(|p| p.id == intent.id)
                    .unwrap_or(&DEFAULT_PROFILE);
                let mut nl = intent.examples.nl.clone();
                let mut en = intent.examples.en.clone();
                if nl.is_empty() {
                    nl = en.clone();
                }
                if en.is_empty() {
                    en = nl.clone();
                }
                if nl.is_empty() {
                    nl = vec![intent.label(Lang::Nl).to_string()];
                    en = vec![intent.label(Lang::En).to_string()];
                }
                let knowledge: Vec<String> =
                    intent.route.knowledge.iter().map(|k| json_str(k)).collect();
                let knowledge_json = format!("[{}]", knowledge.join(","));
                let desk_json = intent
                    .route
                    .desk
                    .as_deref()
                    .map_or_else(|| "null".to_string(), json_str);
                let bare_route = Arc::from(route_json(&desk_json, &knowledge_json, "", ""));
                IntentPlan {
                    id: Arc::from(intent.id.as_str()),
                    quoted: json_str(&intent.id),
                    nl,
                    en,
                    specialists: intent
                        .route
                        .specialists
                        .iter()
                        .filter_map(|id| specialist_index(id))
                        .collect(),
                    knowledge_json,
                    desk_json,
                    not_helpful: profile.not_helpful,
                    low_confidence: rng.random_range(0.04..0.14),
                    partner: 0,
                    bare_route,
                }
            })
            .collect();
        let intent_count = intents.len();
        for i in 0..intent_count {
            let confusable = CONFUSABLE
                .iter()
                .filter(|(a, _)| *a == &*intents[i].id)
                .find_map(|(_, b)| intents.iter().position(|x| &*x.id == *b));
            intents[i].partner = match confusable {
                Some(p) => p,
                None if intent_count > 1 => (i + rng.random_range(1..intent_count)) % intent_count,
                None => i,
            };
        }

        // askers
        let pool = (n / 6).max(50);
        let groups_count = DEPARTMENTS.len() + 2; // + Legal + none
        let small_group = DEPARTMENTS.len();
        let none_group = DEPARTMENTS.len() + 1;
        let mut groups = Vec::with_capacity(pool);
        let department_weights = WeightedIndex::new(DEPARTMENTS.iter().map(|(_, w)| *w))
            .expect("positive department weights");
        let channel_weights =
            WeightedIndex::new(CHANNELS.iter().map(|(_, w)| *w)).expect("positive weights");
        let mut askers = Vec::with_capacity(pool);
        for a in 0..pool {
            let group = if rng.random_bool(NO_DEPARTMENT) {
                none_group
            } else {
                department_weights.sample(&mut rng)
            };
            groups.push(group);
            askers.push(Asker {
                key: Arc::from(asker_key(options.seed, a)),
                department: DEPARTMENTS.get(group).map(|(d, _)| *d),
                lang: if rng.random_bool(DUTCH_ASKERS) {
                    Lang::Nl
                } else {
                    Lang::En
                },
                channel: channel_weights.sample(&mut rng),
            });
        }
        for a in rand::seq::index::sample(&mut rng, pool, SMALL_DEPARTMENT_ASKERS.min(pool / 5)) {
            groups[a] = small_group;
            askers[a].department = Some(SMALL_DEPARTMENT);
        }
        // Zipf-like activity: Pareto-distributed propensities (a few ask a lot, most once or
        // twice), capped so the busiest asks some 35 times as often as the average asker
        let activity: Vec<f64> = (0..pool)
            .map(|_| (1.0 - rng.random::<f64>()).powf(-1.0 / 1.8).min(80.0))
            .collect();
        let asker_weights = WeightedIndex::new(activity).expect("positive asker weights");
        let group_name = |g: usize| -> &'static str {
            if g == small_group {
                SMALL_DEPARTMENT
            } else {
                DEPARTMENTS.get(g).map_or("", |(d, _)| *d)
            }
        };

        // kinds of question
        let mut kinds = vec![Kind::Routed, Kind::Directory, Kind::Ambiguous];
        let mut tiny = None;
        for (k, topic) in PLANTED_TOPICS.iter().enumerate() {
            match topic.max_askers {
                Some(max) => {
                    let chosen = rand::seq::index::sample(&mut rng, pool, max.min(pool)).into_vec();
                    let count = (n / 25_000).clamp(6, 40).min(n / 20);
                    tiny = Some((k, chosen, count));
                }
                None => kinds.push(Kind::Planted(k)),
            }
        }
        kinds.push(Kind::Noise);

        // days
        let start = options.end - chrono::Duration::days(i64::from(options.days));
        let rising =
            rising_intent(catalogue).and_then(|id| intents.iter().position(|i| &*i.id == id));
        let mut days = Vec::with_capacity(options.days as usize);
        let mut day_weights = Vec::with_capacity(options.days as usize);
        for d in 0..options.days {
            let date = start + chrono::Duration::days(i64::from(d));
            let t = (f64::from(d) + 0.5) / f64::from(options.days);
            let month = date.month();
            let midnight_ms = date
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_millis()
                - utc_offset_hours(date) * 3_600_000;
            // growing use of the desk
            day_weights.push(day_factor(date) * (0.75 + 0.5 * t));
            let mut kind_weights = vec![ROUTED, DIRECTORY, AMBIGUOUS];
            let planted: Vec<f64> = kinds
                .iter()
                .filter_map(|k| match k {
                    Kind::Planted(p) => {
                        let topic = &PLANTED_TOPICS[*p];
                        Some(topic.share * month_factor(topic.season, month, 1.0))
                    }
                    _ => None,
                })
                .collect();
            let noise = 1.0
                - PLANTED_TOPICS
                    .iter()
                    .filter(|t| t.max_askers.is_none())
                    .map(|t| t.share)
                    .sum::<f64>();
            let total: f64 = planted.iter().sum::<f64>() + noise;
            kind_weights.extend(planted.iter().map(|w| OUT_OF_SCOPE * w / total));
            kind_weights.push(OUT_OF_SCOPE * noise / total);
            let intent_weights: Vec<WeightedIndex<f64>> = (0..groups_count)
                .map(|g| {
                    let department = group_name(g);
                    let weights = catalogue.intents.iter().enumerate().map(|(i, intent)| {
                        let profile = INTENT_PROFILES
                            .iter()
                            .find(|p| p.id == intent.id)
                            .unwrap_or(&DEFAULT_PROFILE);
                        let focus = DEPARTMENT_FOCUS
                            .iter()
                            .find(|(dep, id, _)| *dep == department && *id == intent.id)
                            .map_or(1.0, |(_, _, f)| *f);
                        let trend = if Some(i) == rising {
                            0.25 + 2.75 * t
                        } else {
                            1.0
                        };
                        profile.weight * month_factor(profile.season, month, 1.0) * focus * trend
                    });
                    WeightedIndex::new(weights).expect("positive intent weights")
                })
                .collect();
            days.push(DayPlan {
                date,
                midnight_ms,
                weekend: matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
                kinds: WeightedIndex::new(kind_weights).expect("positive kind weights"),
                intents: intent_weights,
            });
        }
        let day_weights = WeightedIndex::new(day_weights).expect("positive day weights");

        // the directory, searched once per topic
        let index = Directory::new(catalogue);
        let mut topics: BTreeSet<String> = catalogue
            .specialists
            .iter()
            .flat_map(|s| s.tags.iter().map(|t| t.to_lowercase()))
            .collect();
        topics.extend(UNKNOWN_TOPICS.iter().map(|t| t.to_string()));
        let fallback_route: Arc<str> = Arc::from(route_json(&fallback_desk, "[]", "", "").as_str());
        let directory: Vec<DirectoryTopic> = topics
            .into_iter()
            .map(|topic| {
                // as if everyone were in: the range is months, absences are weeks
                let matches = index.search(catalogue, &topic, NaiveDate::MAX, 3);
                let found: Vec<usize> = matches
                    .iter()
                    .filter_map(|m| specialist_index(&m.specialist_id))
                    .collect();
                let route = if found.is_empty() {
                    fallback_route.clone()
                } else {
                    let ids: Vec<&str> = found
                        .iter()
                        .map(|s| specialists[*s].quoted.as_str())
                        .collect();
                    Arc::from(route_json("null", "[]", "", &ids.join(",")).as_str())
                };
                DirectoryTopic {
                    topic,
                    specialists: found,
                    score: matches.first().map_or(0.0, |m| m.score),
                    route,
                }
            })
            .collect();
        // popular topics: a random order with Zipf-like weights
        let mut order: Vec<usize> = (0..directory.len()).collect();
        rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
        let mut topic_weights = vec![0.0; directory.len()];
        for (rank, d) in order.into_iter().enumerate() {
            topic_weights[d] = 1.0 / (rank as f64 + 2.0);
        }
        let directory_weights =
            WeightedIndex::new(topic_weights).expect("at least the unknown topics");

        let mut noise = [
            catalogue.out_of_scope.nl.clone(),
            catalogue.out_of_scope.en.clone(),
        ];
        noise[0].extend(NOISE_NL.iter().map(|t| t.to_string()));
        noise[1].extend(NOISE_EN.iter().map(|t| t.to_string()));

        Generator {
            rng,
            conversations: n,
            store_text,
            askers,
            asker_weights,
            groups,
            days,
            day_weights,
            kinds,
            intents,
            specialists,
            directory,
            directory_weights,
            noise,
            out_of_scope_route: fallback_route,
            ambiguous_routes: BTreeMap::new(),
            routes: BTreeMap::new(),
            tiny,
        }
    }

    /// Generates every conversation in time order, in chunks for the writer; stops early when
    /// the writer has gone (it failed).
    fn run<A>(
        mut self,
        bind: impl Fn(Vec<Row>) -> anyhow::Result<(A, A)>,
        chunks: mpsc::Sender<Message<A>>,
    ) {
        let send = |chunk: Vec<Row>| {
            let rows = chunk.len();
            let message = match bind(chunk) {
                Ok((inbox, conversations)) => Message::Chunk(rows, inbox, conversations),
                Err(err) => Message::Failed(err),
            };
            let failed = matches!(message, Message::Failed(_));
            chunks.blocking_send(message).is_ok() && !failed
        };
        let n = self.conversations;
        let weekday_hours = WeightedIndex::new(WEEKDAY_HOURS).expect("positive hour weights");
        let weekend_hours = WeightedIndex::new(WEEKEND_HOURS).expect("positive hour weights");
        let mut times: Vec<(i64, u32)> = (0..n)
            .map(|_| {
                let d = self.day_weights.sample(&mut self.rng);
                let day = &self.days[d];
                let hour = if day.weekend {
                    weekend_hours.sample(&mut self.rng)
                } else {
                    weekday_hours.sample(&mut self.rng)
                };
                let ms = self.rng.random_range(0..3_600_000_i64);
                (day.midnight_ms + hour as i64 * 3_600_000 + ms, d as u32)
            })
            .collect();
        times.sort_unstable();
        let mut tiny_at = vec![false; n];
        if let Some((_, _, count)) = &self.tiny {
            for i in rand::seq::index::sample(&mut self.rng, n, (*count).min(n)) {
                tiny_at[i] = true;
            }
        }

        let mut stats = Stats {
            planted_askers: vec![BTreeSet::new(); PLANTED_TOPICS.len()],
            ..Stats::default()
        };
        let mut asked = vec![false; self.askers.len()];
        let mut tiny_asked = 0;
        let mut chunk = Vec::with_capacity(ROWS_PER_STATEMENT);
        for (i, (received_ms, day)) in times.into_iter().enumerate() {
            let (asker, kind) = match (&self.tiny, tiny_at[i]) {
                (Some((k, pool, _)), true) => {
                    tiny_asked += 1;
                    (pool[(tiny_asked - 1) % pool.len()], Kind::Planted(*k))
                }
                _ => {
                    let asker = self.asker_weights.sample(&mut self.rng);
                    let kind = self.kinds[self.days[day as usize].kinds.sample(&mut self.rng)];
                    (asker, kind)
                }
            };
            let row = self.conversation(i as u64, received_ms, day as usize, asker, kind);
            if let Kind::Planted(k) = kind {
                stats.planted_askers[k].insert(asker as u32);
            }
            if !asked[asker] {
                asked[asker] = true;
                stats.askers += 1;
            }
            chunk.push(row);
            if chunk.len() == ROWS_PER_STATEMENT {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(ROWS_PER_STATEMENT));
                if !send(full) {
                    return;
                }
            }
        }
        if !chunk.is_empty() && !send(chunk) {
            return;
        }
        let _ = chunks.blocking_send(Message::Done(stats));
    }

    fn conversation(
        &mut self,
        n: u64,
        received_ms: i64,
        day: usize,
        asker_index: usize,
        kind: Kind,
    ) -> Row {
        let rng = &mut self.rng;
        let asker = &self.askers[asker_index];
        let lang = if rng.random_bool(0.92) {
            asker.lang
        } else {
            match asker.lang {
                Lang::Nl => Lang::En,
                Lang::En => Lang::Nl,
            }
        };
        let channel = if rng.random_bool(0.85) {
            CHANNELS[asker.channel].0
        } else {
            CHANNELS.choose(rng).expect("channels").0
        };
        let date = self.days[day].date;
        let mut intent = None;
        let mut specialist = None;
        let mut not_helpful;
        let mut handoff = 0.0;
        let (question, confidence, decision, route, outcome, latency_median) = match kind {
            Kind::Routed => {
                let i = self.days[day].intents[self.groups[asker_index]].sample(rng);
                let plan = &self.intents[i];
                let low = rng.random_bool(plan.low_confidence);
                let confidence = if low {
                    rng.random_range(0.39..0.5)
                } else {
                    0.5 + 0.49 * (1.0 - rng.random::<f64>().powf(2.2))
                };
                let text = vary(pick(&plan.nl, &plan.en, lang, rng), lang, rng, true);
                // the pipeline's load balancing: least recently referred first
                let mut available: Vec<usize> = plan
                    .specialists
                    .iter()
                    .copied()
                    .filter(|s| self.specialists[*s].available(date))
                    .collect();
                let (route, outcome) = if available.is_empty() {
                    let outcome = if plan.knowledge_json != "[]" {
                        "knowledge"
                    } else {
                        "desk"
                    };
                    (plan.bare_route.clone(), outcome)
                } else {
                    let latest = available
                        .iter()
                        .map(|s| self.specialists[*s].last_ms)
                        .max()
                        .unwrap_or(0);
                    available.sort_by_key(|s| self.specialists[*s].last_ms);
                    available.truncate(2);
                    let first = &mut self.specialists[available[0]];
                    first.last_ms = received_ms.max(latest + 1);
                    specialist = Some(first.id.clone());
                    let route = self
                        .routes
                        .entry((i, available))
                        .or_insert_with_key(|(_, chosen)| {
                            let ids: Vec<&str> = chosen
                                .iter()
                                .map(|s| self.specialists[*s].quoted.as_str())
                                .collect();
                            Arc::from(
                                route_json(
                                    &plan.desk_json,
                                    &plan.knowledge_json,
                                    "",
                                    &ids.join(","),
                                )
                                .as_str(),
                            )
                        })
                        .clone();
                    handoff = 0.15;
                    (route, "specialist")
                };
                not_helpful = if low { 0.45 } else { plan.not_helpful };
                if outcome != "specialist" {
                    not_helpful += 0.06;
                }
                intent = Some(plan.id.clone());
                (text, confidence as f32, "routed", route, outcome, 1800.0)
            }
            Kind::Ambiguous => {
                let i = self.days[day].intents[self.groups[asker_index]].sample(rng);
                let partner = self.intents[i].partner;
                let asked = if rng.random_bool(0.7) { i } else { partner };
                let plan = &self.intents[asked];
                let text = vary(pick(&plan.nl, &plan.en, lang, rng), lang, rng, true);
                let route = self
                    .ambiguous_routes
                    .entry((i, partner))
                    .or_insert_with(|| {
                        let options = format!(
                            "{},{}",
                            self.intents[i].quoted, self.intents[partner].quoted
                        );
                        Arc::from(route_json("null", "[]", &options, "").as_str())
                    })
                    .clone();
                intent = Some(self.intents[i].id.clone());
                not_helpful = 0.30;
                let confidence = rng.random_range(0.39..0.62);
                (text, confidence, "ambiguous", route, "ambiguous", 1900.0)
            }
            Kind::Directory => {
                let topic = &self.directory[self.directory_weights.sample(rng)];
                let template = match lang {
                    Lang::Nl => DIRECTORY_NL.choose(rng),
                    Lang::En => DIRECTORY_EN.choose(rng),
                }
                .expect("directory phrasings");
                let text = template.replace("{t}", &topic.topic);
                if topic.specialists.is_empty() {
                    not_helpful = 0.55;
                } else {
                    not_helpful = 0.20;
                    handoff = 0.10;
                }
                (
                    text,
                    topic.score,
                    "directory",
                    topic.route.clone(),
                    "directory",
                    2600.0,
                )
            }
            Kind::Planted(k) => {
                let topic = &PLANTED_TOPICS[k];
                let template = match lang {
                    Lang::Nl => topic.nl.choose(rng),
                    Lang::En => topic.en.choose(rng),
                }
                .expect("planted templates");
                let text = if template.contains("{place}") {
                    template.replace("{place}", PLACES.choose(rng).expect("places"))
                } else {
                    template.to_string()
                };
                not_helpful = 0.6;
                let confidence = rng.random_range(0.04..0.38);
                (
                    vary(&text, lang, rng, true),
                    confidence,
                    "out_of_scope",
                    self.out_of_scope_route.clone(),
                    "out_of_scope",
                    1500.0,
                )
            }
            Kind::Noise => {
                let noise = &self.noise;
                let text = vary(pick(&noise[0], &noise[1], lang, rng), lang, rng, false);
                not_helpful = 0.5;
                let confidence = rng.random_range(0.03..0.36);
                (
                    text,
                    confidence,
                    "out_of_scope",
                    self.out_of_scope_route.clone(),
                    "out_of_scope",
                    1500.0,
                )
            }
        };
        not_helpful = f64::min(not_helpful, 0.95);
        // roughly log-normal latency, with a slow tail
        let z =
            (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>()
                - 2.0)
                * 3f64.sqrt();
        let mut latency_us = latency_median * (0.45 * z).exp();
        if rng.random_bool(0.008) {
            latency_us *= rng.random_range(5.0..40.0);
        }
        let latency_us = latency_us as i64;
        let feedback_rate = match channel {
            "web" => 0.30,
            "slack" => 0.22,
            _ => 0.25,
        };
        let (feedback, feedback_ms) = if rng.random_bool(feedback_rate) {
            let verdict = if rng.random_bool(not_helpful) {
                "not_helpful"
            } else {
                "helpful"
            };
            let delay_ms = match rng.random_range(0..100) {
                0..70 => rng.random_range(5_000..180_000),
                70..95 => rng.random_range(180_000..7_200_000),
                _ => rng.random_range(7_200_000..259_200_000),
            };
            (Some(verdict), Some(received_ms + delay_ms))
        } else {
            (None, None)
        };
        let handoff = i32::from(handoff > 0.0 && rng.random_bool(handoff));
        Row {
            n,
            received_ms,
            completed_ms: received_ms + latency_us / 1000 + rng.random_range(1..40),
            channel,
            asker_key: asker.key.clone(),
            department: asker.department,
            language: lang.code(),
            question: self.store_text.then_some(question),
            intent,
            confidence,
            decision,
            route,
            latency_us,
            feedback,
            feedback_ms,
            handoff,
            outcome,
            specialist,
        }
    }
}

/// `Reply::route_ids` as stored (serde_json orders the keys).
fn route_json(desk: &str, knowledge: &str, options: &str, specialists: &str) -> String {
    format!(
        "{{\"desk\":{desk},\"knowledge\":{knowledge},\"options\":[{options}],\"specialists\":[{specialists}]}}"
    )
}

fn pick<'a>(nl: &'a [String], en: &'a [String], lang: Lang, rng: &mut StdRng) -> &'a str {
    let texts = match lang {
        Lang::Nl => nl,
        Lang::En => en,
    };
    texts
        .choose(rng)
        .or_else(|| nl.first())
        .map_or("?", String::as_str)
}

/// A template as someone would type it: a greeting, a capital, a question mark, thanks, and
/// now and then an e-mail address or phone number (as redaction leaves them: `[email]`).
fn vary(text: &str, lang: Lang, rng: &mut StdRng, contact: bool) -> String {
    let l = lang_index(lang);
    let mut out = String::with_capacity(text.len() + 32);
    if rng.random_bool(0.08) {
        out.push_str([PREFIX_NL, PREFIX_EN][l].choose(rng).expect("prefixes"));
        out.push_str(text);
    } else {
        out.push_str(text);
        if rng.random_bool(0.12)
            && let Some(first) = out.get_mut(0..1)
        {
            first.make_ascii_uppercase();
        }
    }
    if rng.random_bool(0.10) && !out.ends_with('?') {
        out.push('?');
    }
    if contact && rng.random_bool(0.025) {
        out.push_str([EMAIL_NL, EMAIL_EN][l].choose(rng).expect("tails"));
    } else if contact && rng.random_bool(0.006) {
        out.push_str([PHONE_NL, PHONE_EN][l].choose(rng).expect("tails"));
    }
    if rng.random_bool(0.05) {
        out.push_str([SUFFIX_NL, SUFFIX_EN][l].choose(rng).expect("suffixes"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Writing

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

/// From the generator thread to the writer: rows already bound to the backend's arguments.
enum Message<A> {
    /// `(rows, inbox arguments, conversation arguments)`.
    Chunk(usize, A, A),
    /// Everything was generated.
    Done(Stats),
    Failed(anyhow::Error),
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

        async fn $name(
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use sqlx::Row as _;

    use super::*;
    use crate::store::ConversationRecord;

    fn catalogue() -> Catalogue {
        Catalogue::load(std::path::Path::new("intents")).expect("the shipped catalogue loads")
    }

    fn settings(url: &str) -> Settings {
        let mut settings = Settings::load_with_env(None, Vec::new()).expect("default settings");
        settings.database.url = url.to_string().into();
        settings
    }

    fn sqlite_url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}", dir.path().join("desk.db").display())
    }

    fn options(conversations: usize, seed: u64) -> SeedOptions {
        SeedOptions {
            conversations,
            days: 182,
            end: NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date"),
            seed,
            force: false,
        }
    }

    /// A conversation with its inbox row, as stored.
    #[derive(Debug, Clone, PartialEq)]
    struct Logged {
        id: i64,
        inbox_id: i64,
        received_ms: i64,
        channel: String,
        asker_key: String,
        department: Option<String>,
        language: String,
        question: Option<String>,
        intent: Option<String>,
        confidence: f32,
        decision: String,
        route: String,
        latency_us: i64,
        feedback: Option<String>,
        feedback_ms: Option<i64>,
        handoff: i64,
        outcome: Option<String>,
        specialist: Option<String>,
        delivery_id: String,
        status: String,
        text: Option<String>,
        inbox: (i64, String, String, Option<String>),
        completed_ms: Option<i64>,
    }

    const LOGGED: &str = "SELECT c.id, c.inbox_id, c.received_ms, c.channel, c.asker_key, \
        c.department, c.language, c.question, c.intent, c.confidence, c.decision, c.route, \
        c.latency_us, c.feedback, c.feedback_ms, CAST(c.handoff AS BIGINT) AS handoff, \
        c.outcome, c.specialist, i.delivery_id, i.status, i.text, \
        i.received_ms AS inbox_received_ms, i.channel AS inbox_channel, \
        i.asker_key AS inbox_asker_key, i.department AS inbox_department, i.completed_ms \
        FROM conversations c JOIN inbox i ON i.id = c.inbox_id ORDER BY c.id";

    macro_rules! fetch_logged {
        ($name:ident, $db:ty) => {
            async fn $name(pool: &sqlx::Pool<$db>) -> Vec<Logged> {
                sqlx::query(LOGGED)
                    .fetch_all(pool)
                    .await
                    .expect("reading the log back")
                    .iter()
                    .map(|r| Logged {
                        id: r.get("id"),
                        inbox_id: r.get("inbox_id"),
                        received_ms: r.get("received_ms"),
                        channel: r.get("channel"),
                        asker_key: r.get("asker_key"),
                        department: r.get("department"),
                        language: r.get("language"),
                        question: r.get("question"),
                        intent: r.get("intent"),
                        confidence: r.get("confidence"),
                        decision: r.get("decision"),
                        route: r.get("route"),
                        latency_us: r.get("latency_us"),
                        feedback: r.get("feedback"),
                        feedback_ms: r.get("feedback_ms"),
                        handoff: r.get("handoff"),
                        outcome: r.get("outcome"),
                        specialist: r.get("specialist"),
                        delivery_id: r.get("delivery_id"),
                        status: r.get("status"),
                        text: r.get("text"),
                        inbox: (
                            r.get("inbox_received_ms"),
                            r.get("inbox_channel"),
                            r.get("inbox_asker_key"),
                            r.get("inbox_department"),
                        ),
                        completed_ms: r.get("completed_ms"),
                    })
                    .collect()
            }
        };
    }
    fetch_logged!(fetch_sqlite, sqlx::Sqlite);

    async fn sqlite_pool(url: &str) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(url)
            .await
            .expect("the seeded file opens")
    }

    fn share(rows: &[Logged], keep: impl Fn(&Logged) -> bool) -> f64 {
        rows.iter().filter(|r| keep(r)).count() as f64 / rows.len() as f64
    }

    /// Everything a seeded database must satisfy, on either backend.
    fn check_seeded(
        rows: &[Logged],
        catalogue: &Catalogue,
        options: &SeedOptions,
        summary: &SeedSummary,
    ) {
        let n = options.conversations;
        assert_eq!(
            rows.len(),
            n,
            "one conversation row per seeded conversation"
        );
        assert_eq!(summary.conversations, n);
        let prefix = format!("seed:{}:", options.seed);
        let start_ms = (options.end - chrono::Duration::days(i64::from(options.days)))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let end_ms = options
            .end
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let threshold = catalogue.settings.classifier.threshold;
        let mut delivery_ids = BTreeSet::new();
        for r in rows {
            // the inbox row
            assert!(r.delivery_id.starts_with(&prefix), "{}", r.delivery_id);
            assert!(delivery_ids.insert(r.delivery_id.clone()));
            assert_eq!(r.status, "done");
            assert_eq!(r.text, None);
            assert_eq!(
                r.inbox,
                (
                    r.received_ms,
                    r.channel.clone(),
                    r.asker_key.clone(),
                    r.department.clone()
                )
            );
            assert!(r.completed_ms.unwrap() > r.received_ms);
            // the conversation
            assert!(
                r.received_ms >= start_ms - 2 * 3_600_000 && r.received_ms < end_ms,
                "{} out of range",
                r.received_ms
            );
            assert_eq!(r.asker_key.len(), 64);
            assert!(r.asker_key.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(["web", "slack", "teams"].contains(&r.channel.as_str()));
            assert!(["nl", "en"].contains(&r.language.as_str()));
            assert!(r.latency_us > 0);
            let route: serde_json::Value = serde_json::from_str(&r.route).expect("route is JSON");
            // stored exactly as the pipeline stores `Reply::route_ids()`
            assert_eq!(route.to_string(), r.route);
            let record = ConversationRecord {
                received_ms: r.received_ms,
                channel: r.channel.clone(),
                asker_key: r.asker_key.clone(),
                department: r.department.clone(),
                language: r.language.clone(),
                question: r.question.clone(),
                intent: r.intent.clone(),
                confidence: r.confidence,
                decision: r.decision.clone(),
                route: route.clone(),
                latency_us: r.latency_us,
            };
            assert_eq!(r.outcome.as_deref(), Some(record.outcome()), "{r:?}");
            assert_eq!(
                r.specialist.as_deref(),
                record.referred_specialist(),
                "{r:?}"
            );
            let ids = |part: &str| -> Vec<String> {
                route[part]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            };
            for id in ids("specialists") {
                assert!(catalogue.specialist(&id).is_some(), "{id}");
            }
            let question = r.question.as_deref().expect("texts are stored by default");
            assert!(!question.is_empty());
            match r.decision.as_str() {
                "routed" => {
                    let intent = catalogue.intent(r.intent.as_deref().unwrap()).unwrap();
                    assert!((0.39..=0.99).contains(&r.confidence), "{r:?}");
                    for id in ids("specialists") {
                        assert!(intent.route.specialists.contains(&id));
                    }
                    assert!(ids("specialists").len() <= 2);
                    assert_eq!(ids("knowledge"), intent.route.knowledge);
                    assert_eq!(route["desk"].as_str(), intent.route.desk.as_deref());
                    assert!(ids("options").is_empty());
                    assert!(planted_topic_of(question).is_none());
                }
                "ambiguous" => {
                    let options = ids("options");
                    assert_eq!(options.len(), 2);
                    assert_ne!(options[0], options[1]);
                    assert_eq!(r.intent.as_deref(), Some(options[0].as_str()));
                    assert!(options.iter().all(|o| catalogue.intent(o).is_some()));
                    assert!((0.39..0.62).contains(&r.confidence));
                }
                "directory" => {
                    assert_eq!(r.intent, None);
                    assert!(
                        crate::routing::directory_topic(question).is_some(),
                        "{question}"
                    );
                    if ids("specialists").is_empty() {
                        assert_eq!(r.confidence, 0.0);
                        assert_eq!(
                            route["desk"].as_str(),
                            Some(catalogue.settings.fallback_desk.as_str())
                        );
                    }
                }
                "out_of_scope" => {
                    assert_eq!(r.intent, None);
                    // out of scope: best - p(oos) < threshold, and p(oos) <= 1 - best
                    assert!(r.confidence < (1.0 + threshold) / 2.0, "{r:?}");
                    assert_eq!(
                        route["desk"].as_str(),
                        Some(catalogue.settings.fallback_desk.as_str())
                    );
                }
                other => panic!("unexpected decision {other}"),
            }
            match (&r.feedback, r.feedback_ms) {
                (None, None) => {}
                (Some(f), Some(at)) => {
                    assert!(f == "helpful" || f == "not_helpful");
                    assert!(at > r.received_ms);
                }
                other => panic!("feedback without its time or the other way round: {other:?}"),
            }
            assert!(
                r.handoff == 0
                    || r.outcome.as_deref() == Some("specialist")
                    || r.decision == "directory"
            );
        }

        // the mix
        let decision = |d: &'static str| share(rows, move |r| r.decision == d);
        assert!(
            (0.74..0.86).contains(&decision("routed")),
            "{}",
            decision("routed")
        );
        assert!((0.03..0.07).contains(&decision("directory")));
        assert!((0.03..0.07).contains(&decision("ambiguous")));
        assert!((0.07..0.13).contains(&decision("out_of_scope")));
        let dutch = share(rows, |r| r.language == "nl");
        assert!((0.5..0.7).contains(&dutch), "{dutch}");
        let feedback = share(rows, |r| r.feedback.is_some());
        assert!((0.18..0.32).contains(&feedback), "{feedback}");
        let specialist: Vec<&Logged> = rows
            .iter()
            .filter(|r| r.outcome.as_deref() == Some("specialist"))
            .collect();
        let handoffs = specialist.iter().filter(|r| r.handoff == 1).count() as f64;
        let handoff_rate = handoffs / specialist.len() as f64;
        assert!((0.10..0.20).contains(&handoff_rate), "{handoff_rate}");
        let low = share(rows, |r| r.decision == "routed" && r.confidence < 0.5);
        assert!(low > 0.02, "some low-confidence routed questions: {low}");
        assert!(share(rows, |r| r.question.as_deref().unwrap().contains("[email]")) > 0.0);
        let not_helpful = |keep: &dyn Fn(&Logged) -> bool| {
            let rated: Vec<&Logged> = rows
                .iter()
                .filter(|r| keep(r) && r.feedback.is_some())
                .collect();
            rated
                .iter()
                .filter(|r| r.feedback.as_deref() == Some("not_helpful"))
                .count() as f64
                / rated.len().max(1) as f64
        };
        let routed = not_helpful(&|r| r.decision == "routed");
        let worse = not_helpful(&|r| {
            r.decision == "routed"
                && matches!(
                    r.intent.as_deref(),
                    Some("hybrid_work" | "supplier_management")
                )
        });
        assert!(
            worse > routed + 0.1,
            "the worse intents {worse}, all routed {routed}"
        );

        // time: weekdays, office hours
        let local = |r: &Logged| {
            chrono::DateTime::from_timestamp_millis(r.received_ms)
                .unwrap()
                .naive_utc()
                + chrono::Duration::hours(utc_offset_hours(
                    chrono::DateTime::from_timestamp_millis(r.received_ms)
                        .unwrap()
                        .date_naive(),
                ))
        };
        let weekend = share(rows, |r| {
            matches!(local(r).weekday(), Weekday::Sat | Weekday::Sun)
        });
        assert!(weekend < 0.06, "{weekend}");
        let office = share(rows, |r| {
            (8..18).contains(&chrono::Timelike::hour(&local(r)))
        });
        assert!(office > 0.8, "{office}");

        // askers and departments
        let askers: BTreeSet<&str> = rows.iter().map(|r| r.asker_key.as_str()).collect();
        assert_eq!(summary.askers, askers.len());
        let mut departments: BTreeMap<Option<&str>, BTreeSet<&str>> = BTreeMap::new();
        for r in rows {
            departments
                .entry(r.department.as_deref())
                .or_default()
                .insert(&r.asker_key);
        }
        for (name, _) in DEPARTMENTS {
            assert!(departments[&Some(*name)].len() >= 5, "{name}");
        }
        let legal = departments
            .get(&Some(SMALL_DEPARTMENT))
            .map_or(0, |a| a.len());
        assert!((1..=SMALL_DEPARTMENT_ASKERS).contains(&legal), "{legal}");
        assert!(departments.contains_key(&None));
        let busiest = rows
            .iter()
            .fold(BTreeMap::<&str, usize>::new(), |mut m, r| {
                *m.entry(&r.asker_key).or_default() += 1;
                m
            })
            .into_values()
            .max()
            .unwrap();
        assert!(
            busiest >= 4 * n / askers.len(),
            "Zipf-like: a few ask a lot"
        );

        // the planted topics: what the summary says is what the database holds
        assert_eq!(summary.planted.len(), PLANTED_TOPICS.len());
        for (topic, planted) in PLANTED_TOPICS.iter().zip(&summary.planted) {
            assert_eq!(planted.name, topic.name);
            assert_eq!(planted.keywords, topic.keywords);
            let asked: Vec<&Logged> = rows
                .iter()
                .filter(|r| {
                    let q = r.question.as_deref().unwrap().to_lowercase();
                    topic.keywords.iter().any(|k| q.contains(k))
                })
                .collect();
            assert!(asked.iter().all(|r| r.decision == "out_of_scope"));
            let askers: BTreeSet<&str> = asked.iter().map(|r| r.asker_key.as_str()).collect();
            assert_eq!(askers.len(), planted.askers, "{}", topic.name);
            match topic.max_askers {
                Some(max) => assert!((1..=max).contains(&planted.askers) && max < 5),
                None => assert!(planted.askers >= 5, "{}: {}", topic.name, planted.askers),
            }
        }

        // the rising topic
        let rising = rising_intent(catalogue).unwrap();
        let quarter = (end_ms - start_ms) / 4;
        let rising_share = |from: i64, to: i64| {
            let period: Vec<&Logged> = rows
                .iter()
                .filter(|r| r.received_ms >= from && r.received_ms < to)
                .collect();
            period
                .iter()
                .filter(|r| r.intent.as_deref() == Some(rising))
                .count() as f64
                / period.len() as f64
        };
        let first = rising_share(i64::MIN, start_ms + quarter);
        let last = rising_share(end_ms - quarter, i64::MAX);
        assert!(last > 2.0 * first, "{rising}: {first} then {last}");
    }

    #[tokio::test]
    async fn seeds_5000_realistic_conversations_into_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let catalogue = catalogue();
        let options = options(5000, 7);
        let summary = seed_demo(&settings(&url), &catalogue, &options, None)
            .await
            .expect("seeding works");
        let pool = sqlite_pool(&url).await;
        let rows = fetch_sqlite(&pool).await;
        check_seeded(&rows, &catalogue, &options, &summary);
        let inbox: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(inbox, 5000);
        // every row is marked, and the referral load of real questions is left alone
        let marked: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM conversations WHERE demo = 1), \
             (SELECT COUNT(*) FROM inbox WHERE demo = 1)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(marked, (5000, 5000));
        let load: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM specialist_load")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(load, 0);
        // the planted topics as a report would find them, in SQL
        for planted in &summary.planted {
            let like: Vec<String> = planted
                .keywords
                .iter()
                .map(|k| format!("LOWER(question) LIKE '%{k}%'"))
                .collect();
            let askers: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(DISTINCT asker_key) FROM conversations WHERE {}",
                like.join(" OR ")
            ))
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(askers as usize, planted.askers, "{}", planted.name);
        }
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_rows() {
        let catalogue = catalogue();
        let mut seeded = Vec::new();
        for seed in [11, 11, 12] {
            let dir = tempfile::tempdir().unwrap();
            let url = sqlite_url(&dir);
            seed_demo(&settings(&url), &catalogue, &options(1500, seed), None)
                .await
                .unwrap();
            seeded.push(fetch_sqlite(&sqlite_pool(&url).await).await);
        }
        assert_eq!(seeded[0].len(), 1500);
        assert_eq!(seeded[0], seeded[1]);
        assert_ne!(seeded[0], seeded[2]);
    }

    #[tokio::test]
    async fn a_seed_already_in_the_database_is_refused_and_another_appends() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir);
        let catalogue = catalogue();
        let settings = settings(&url);
        seed_demo(&settings, &catalogue, &options(700, 1), None)
            .await
            .unwrap();
        let again = seed_demo(&settings, &catalogue, &options(50, 1), None)
            .await
            .expect_err("the same seed twice");
        let message = format!("{again:#}");
        assert!(
            message.contains("already holds 700 conversations seeded with --seed 1"),
            "{message}"
        );
        let mut without_texts = settings.clone();
        without_texts.log.store_text = false;
        seed_demo(&without_texts, &catalogue, &options(300, 2), None)
            .await
            .unwrap();
        let pool = sqlite_pool(&url).await;
        let rows = fetch_sqlite(&pool).await;
        assert_eq!(rows.len(), 1000);
        assert!(rows.iter().all(|r| r.id == r.inbox_id));
        let second: Vec<&Logged> = rows
            .iter()
            .filter(|r| r.delivery_id.starts_with("seed:2:"))
            .collect();
        assert_eq!(second.len(), 300);
        assert!(second.iter().all(|r| r.question.is_none()));
        assert!(second.iter().all(|r| r.id > 700));
        // the database's own ids carry on after the seeded ones
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inbox (delivery_id, channel, conversation, asker_key, received_ms) \
             VALUES ('web:after', 'web', 'x', 'y', 0) RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(id, 1001);
    }

    #[test]
    fn planted_keywords_belong_to_their_topic_only() {
        let catalogue = catalogue();
        for topic in PLANTED_TOPICS {
            assert!(topic.keywords.iter().all(|k| *k == k.to_lowercase()));
            for template in topic.nl.iter().chain(topic.en) {
                for place in PLACES {
                    let text = template.replace("{place}", place);
                    assert_eq!(
                        planted_topic_of(&text).map(|t| t.name),
                        Some(topic.name),
                        "{text}"
                    );
                    let others = PLANTED_TOPICS
                        .iter()
                        .filter(|o| o.name != topic.name)
                        .flat_map(|o| o.keywords.iter())
                        .filter(|k| text.to_lowercase().contains(**k))
                        .count();
                    assert_eq!(others, 0, "{text}");
                }
            }
        }
        let mut other_texts: Vec<String> = Vec::new();
        for intent in &catalogue.intents {
            other_texts.extend(intent.examples.iter().map(|(_, t)| t.to_string()));
        }
        other_texts.extend(catalogue.out_of_scope.iter().map(|(_, t)| t.to_string()));
        other_texts.extend(NOISE_NL.iter().chain(NOISE_EN).map(|t| t.to_string()));
        for tag in catalogue.specialists.iter().flat_map(|s| &s.tags) {
            for phrasing in DIRECTORY_NL.iter().chain(DIRECTORY_EN) {
                other_texts.push(phrasing.replace("{t}", tag));
            }
        }
        for affix in [
            PREFIX_NL, PREFIX_EN, SUFFIX_NL, SUFFIX_EN, EMAIL_NL, EMAIL_EN, PHONE_NL, PHONE_EN,
        ]
        .concat()
        {
            other_texts.push(affix.to_string());
        }
        for text in &other_texts {
            assert!(planted_topic_of(text).is_none(), "{text}");
        }
    }

    #[test]
    fn directory_phrasings_are_directory_questions() {
        for phrasing in DIRECTORY_NL.iter().chain(DIRECTORY_EN) {
            let text = phrasing.replace("{t}", "power bi");
            assert_eq!(
                crate::routing::directory_topic(&text).as_deref(),
                Some("power bi"),
                "{text}"
            );
        }
    }

    #[test]
    fn dutch_summer_time() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(utc_offset_hours(day(3, 28)), 1);
        assert_eq!(utc_offset_hours(day(3, 29)), 2);
        assert_eq!(utc_offset_hours(day(10, 24)), 2);
        assert_eq!(utc_offset_hours(day(10, 25)), 1);
        assert_eq!(utc_offset_hours(day(12, 31)), 1);
    }

    #[test]
    fn the_rising_topic_of_the_shipped_catalogue() {
        assert_eq!(rising_intent(&catalogue()), Some("ai_automation"));
    }
}
