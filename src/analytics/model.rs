//! The demand report as every output shows it (web page, JSON API, CSV, HTML file): one
//! model, built by [`super::compute`] from the published monthly tables, already
//! k-anonymous. Renderers never see the conversation log, only this.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How the report's range is cut into periods. Reports are published per calendar month
/// only: weeks and days hold too few people to show, and periods that cut across each other
/// (a week spanning two months) would let hidden figures be computed from their differences.
/// `day` and `week` are still understood, to refuse them with that explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    Week,
    #[default]
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

/// One column of the report: a calendar month, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// `2026-10`.
    pub label: String,
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
}

/// Why a figure is not shown. The marks differ because the meanings do: "fewer than k" says
/// the figure is small; the other two say nothing about its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hidden {
    /// Fewer than the minimum group size asked (shown as `< k`).
    FewerThanK,
    /// Hidden so that a hidden figure cannot be worked out from the totals; it may be large.
    ProtectsOthers,
    /// A total over several months that includes a hidden month; it may be large.
    IncludesHiddenMonth,
}

/// A figure: conversations, with the distinct pseudonymous askers behind them for one month,
/// or nothing when it is hidden (and why).
///
/// Totals over several months carry no asker count: people are counted per month only,
/// because "askers in October" + "askers in November" - "askers in both months together"
/// would tell how many came back, a group that may be smaller than k.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Shown {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        askers: Option<u32>,
        conversations: u32,
    },
    Suppressed {
        suppressed: bool,
        reason: Hidden,
    },
}

impl Cell {
    pub fn hidden(reason: Hidden) -> Cell {
        Cell::Suppressed {
            suppressed: true,
            reason,
        }
    }

    pub fn conversations(&self) -> Option<u32> {
        match self {
            Cell::Shown { conversations, .. } => Some(*conversations),
            Cell::Suppressed { .. } => None,
        }
    }

    pub fn askers(&self) -> Option<u32> {
        match self {
            Cell::Shown { askers, .. } => *askers,
            Cell::Suppressed { .. } => None,
        }
    }

    pub fn is_suppressed(&self) -> bool {
        matches!(self, Cell::Suppressed { .. })
    }

    /// Why the figure is hidden; `None` when it is shown.
    pub fn reason(&self) -> Option<Hidden> {
        match self {
            Cell::Shown { .. } => None,
            Cell::Suppressed { reason, .. } => Some(*reason),
        }
    }
}

/// Per month, plus the whole range.
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

/// A cluster of unmet demand (out-of-scope, low-confidence or "not helpful" questions) in
/// one month: labelled by keywords only, never by question texts. Clusters are found per
/// published month, so the same theme in two months is two entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingTopic {
    pub id: String,
    /// The month's label (`2026-10`).
    pub period: String,
    pub keywords: Vec<String>,
    /// Always shown: a cluster is only published with at least k askers.
    pub figure: Cell,
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

/// A month of the requested range whose figures are not published yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpublishedMonth {
    pub label: String,
    /// The first day its figures can be seen.
    pub published_on: NaiveDate,
}

/// Everything HRD sees for one range: a view of the published monthly tables (see
/// [`super::release`]), so two reports never show two versions of one figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandReport {
    pub generated_at: DateTime<Utc>,
    /// First day of the range (the first published month).
    pub from: NaiveDate,
    /// Last day of the range (inclusive).
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub min_group_size: u32,
    /// The published months of the range.
    pub periods: Vec<Period>,
    /// Months asked for that are not published yet (the current month, say).
    pub unpublished: Vec<UnpublishedMonth>,
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
    /// Figures in this report hidden because fewer than `min_group_size` askers were behind
    /// them, and figures hidden for another reason (to protect those, or totals over a
    /// hidden month).
    pub suppressed_small: usize,
    pub suppressed_complementary: usize,
    /// The figures include demo data (synthetic conversations from `seed-demo`): every
    /// output says so (a banner in the HTML, a `data,includes_demo` row in the CSV, this field
    /// in the JSON). Reports leave demo data out unless asked.
    #[serde(default)]
    pub includes_demo: bool,
}

impl Series {
    fn push_cells(&self, out: &mut Vec<Cell>) {
        out.extend(&self.cells);
        out.push(self.total);
    }
}

impl DemandReport {
    /// Every figure the report shows, each once per place it is shown.
    pub fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        self.totals.push_cells(&mut out);
        let topic = |t: &TopicRow, out: &mut Vec<Cell>| {
            t.series.push_cells(out);
            out.push(t.previous);
        };
        for t in &self.topics {
            topic(t, &mut out);
        }
        for row in &self.outcomes {
            out.extend(row.outcomes.iter().map(|(_, c)| *c));
            out.extend([row.total, row.not_helpful.part, row.not_helpful.whole]);
        }
        for d in self.departments.iter().flatten() {
            d.totals.push_cells(&mut out);
            for t in &d.topics {
                topic(t, &mut out);
            }
        }
        out.extend(self.emerging.iter().map(|e| e.figure));
        for s in &self.specialists {
            s.referrals.push_cells(&mut out);
            out.extend([s.handoffs.part, s.handoffs.whole]);
        }
        out
    }

    /// Hidden figures as (fewer than k askers, hidden for another reason).
    pub fn hidden_counts(&self) -> (usize, usize) {
        let cells = self.cells();
        let small = cells
            .iter()
            .filter(|c| c.reason() == Some(Hidden::FewerThanK))
            .count();
        let other = cells.iter().filter(|c| c.is_suppressed()).count() - small;
        (small, other)
    }
}
