//! The demand report as every output shows it (web page, JSON API, CSV, HTML file): one
//! model, computed once by [`super::compute`], already k-anonymous. Renderers never see the
//! conversation log, only this.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How the report's range is cut into periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    #[default]
    Week,
    Month,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }
}

/// One column of the report: `[start, end)` in whole days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// `2026-10-05` (day), `2026-W41` (ISO week), `2026-10` (month).
    pub label: String,
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
}

/// A figure with the distinct pseudonymous askers behind it, or nothing when fewer than the
/// minimum group size asked (or when showing it would let a suppressed figure be computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Shown { askers: u32, conversations: u32 },
    Suppressed { suppressed: bool },
}

impl Cell {
    pub const SUPPRESSED: Cell = Cell::Suppressed { suppressed: true };

    pub fn conversations(&self) -> Option<u32> {
        match self {
            Cell::Shown { conversations, .. } => Some(*conversations),
            Cell::Suppressed { .. } => None,
        }
    }

    pub fn askers(&self) -> Option<u32> {
        match self {
            Cell::Shown { askers, .. } => Some(*askers),
            Cell::Suppressed { .. } => None,
        }
    }

    pub fn is_suppressed(&self) -> bool {
        matches!(self, Cell::Suppressed { .. })
    }
}

/// Per period, plus the whole range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// One per [`DemandReport::periods`].
    pub cells: Vec<Cell>,
    pub total: Cell,
}

/// Where questions ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Referred to a specialist.
    Specialist,
    /// Answered with knowledge items only.
    Knowledge,
    /// Referred to a desk only.
    Desk,
    /// A "who knows about X" directory answer.
    Directory,
    /// "Did you mean" between two topics.
    Ambiguous,
    /// Not for this desk: the fallback desk.
    OutOfScope,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Specialist,
        Outcome::Knowledge,
        Outcome::Desk,
        Outcome::Directory,
        Outcome::Ambiguous,
        Outcome::OutOfScope,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Specialist => "specialist",
            Outcome::Knowledge => "knowledge",
            Outcome::Desk => "desk",
            Outcome::Directory => "directory",
            Outcome::Ambiguous => "ambiguous",
            Outcome::OutOfScope => "out_of_scope",
        }
    }
}

/// A share (e.g. "not helpful" among those who gave feedback), shown only when both counts
/// are shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub part: Cell,
    pub whole: Cell,
    /// `part / whole` by conversations, when both are shown and `whole` is not zero.
    pub ratio: Option<f64>,
}

/// Demand for one catalogue intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicRow {
    pub intent: String,
    /// The intent's title in Dutch and English.
    pub title_nl: String,
    pub title_en: String,
    pub series: Series,
    /// The same figure for the range of equal length just before.
    pub previous: Cell,
    /// `(total - previous) / previous` by conversations, when both are shown.
    pub change: Option<f64>,
}

/// Outcomes of one intent's questions (or of all questions when `intent` is `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRow {
    pub intent: Option<String>,
    /// In [`Outcome::ALL`] order.
    pub outcomes: Vec<(Outcome, Cell)>,
    pub total: Cell,
    pub not_helpful: Share,
}

/// The report for one department (only departments whose figures can be shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentBlock {
    pub department: String,
    pub totals: Series,
    pub topics: Vec<TopicRow>,
}

/// A cluster of unmet demand (out-of-scope, low-confidence or "not helpful" questions):
/// labelled by keywords only, never by question texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingTopic {
    pub id: String,
    pub keywords: Vec<String>,
    pub series: Series,
    /// Change of the second half of the range against the first half, by conversations.
    pub trend: Option<f64>,
}

/// Referrals to one specialist (a referral target, so named).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecialistRow {
    pub specialist: String,
    pub name: String,
    pub referrals: Series,
    /// Referrals that led to a handoff (the asker clicked to pass the question on).
    pub handoffs: Share,
}

/// Everything HRD sees for one range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandReport {
    pub generated_at: DateTime<Utc>,
    /// First day of the range.
    pub from: NaiveDate,
    /// Last day of the range (inclusive).
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub min_group_size: u32,
    pub periods: Vec<Period>,
    /// All questions.
    pub totals: Series,
    pub topics: Vec<TopicRow>,
    /// Intent ids with the largest rise / fall against the previous range (shown figures only).
    pub rising: Vec<String>,
    pub falling: Vec<String>,
    /// First the row for all questions, then one per intent.
    pub outcomes: Vec<OutcomeRow>,
    /// Present when asked for by department.
    pub departments: Option<Vec<DepartmentBlock>>,
    pub emerging: Vec<EmergingTopic>,
    pub specialists: Vec<SpecialistRow>,
    /// Cells hidden because fewer than `min_group_size` askers were behind them, and cells
    /// hidden so those could not be computed from totals.
    pub suppressed_small: usize,
    pub suppressed_complementary: usize,
}
