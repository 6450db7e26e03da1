//! The published monthly tables: what the demand reports may ever show.
//!
//! # Why one table per month, published once
//!
//! A report that decides per request what to hide can be beaten by combining requests: the
//! total for 16–22 November minus the total for 16–21 November is 22 November, however each
//! report hid its own small figures. So the desk publishes one fixed table per calendar month
//! (UTC), and every report is a view of those tables:
//!
//! - **One granularity.** Months only. Weeks and days hold too few people to show anything,
//!   and two granularities that cut across each other (a week spanning two months) would let
//!   the pieces be computed from their differences.
//! - **Suppression decided once per cell and all its margins.** A month's table holds every
//!   figure any report can show for that month (totals, topics, outcomes, feedback,
//!   departments by topic, specialists, emerging topics), whether or not a report asks for
//!   departments. Cells with fewer than k askers are hidden, then enough others that no
//!   hidden figure can be computed from the shown ones, checked by an exact audit of the
//!   whole table ([`super::suppress`]).
//! - **Published once, never revised.** A month is published `analytics.release_delay_days`
//!   after it ends (so feedback given in its last days counts) and is then stored frozen in
//!   the database: later feedback, retention deleting the texts behind its emerging topics,
//!   a changed catalogue or a changed `min_group_size` never produce a second version whose
//!   differences with the first would reveal something. The running month is never shown.
//! - **Views add up only what is shown.** A total over several months is the sum of its
//!   shown monthly figures, or hidden when one of them is hidden (see `super::compute`).
//!   Everything any report shows is therefore a sum of shown figures of these tables, and
//!   no number of reports tells more than the tables do.
//!
//! The tables list fixed rows, not the rows that happen to have data: every catalogue intent
//! (plus "other"), every specialist (plus "other"), every department the log has ever named,
//! so that the presence of a row never tells that someone asked.
//!
//! Unauthenticated web chat sessions all count as one asker together (the store reads them
//! so): anyone can open sessions at will, and must not be able to make one person look like
//! k people.
//!
//! # Demo data
//!
//! Rows written by `seed-demo` are never counted with real ones. Each month has up to two
//! tables, each over one kind of rows ([`Rows`]): the real table, which is what every report
//! shows, and a demo table, published only when a report asks to include demo data and
//! deleted by `seed-demo --remove`. A report that includes demo data adds the two up with
//! [`combine`]: a figure is shown only where both parts are shown. Why not one table over
//! both kinds: the demo rows are reproducible (the same seed gives the same rows, and the seed
//! is printed), so anyone could subtract them from a mixed figure and recover a real figure
//! the real table hides; with the rule of [`combine`] what can be subtracted out is a real
//! figure the real table shows anyway. Demo tables may be published again after more seeding
//! (`seed-demo` drops them): they hold nothing about people.

use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, Utc};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::compute::{AnalyticsError, ReportPolicy};
use super::model::{Cell, Outcome};
use super::suppress::{CellGrid, CellId, Relation};
use crate::catalogue::Catalogue;
use crate::store::{ConversationStore, Rows};

mod build;
mod with_demo;

pub use build::compute_release;
pub use with_demo::combine;

/// The id of the row for questions that matched no topic (and referrals to specialists no
/// longer in the catalogue).
pub const OTHER: &str = "_other";
/// Emerging topics published per month at most (the largest by distinct askers).
pub const MAX_EMERGING_PER_MONTH: usize = 10;
/// The department row for askers without a known department.
pub const UNKNOWN_DEPARTMENT: &str = "(unknown)";

/// One month's published table. Hidden figures are stored without their values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthRelease {
    /// `2026-10`.
    pub month: String,
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
    pub min_group_size: u32,
    pub released_at: DateTime<Utc>,
    pub total: Cell,
    /// Every catalogue intent at release time, then [`OTHER`].
    pub topics: Vec<ReleasedTopic>,
    /// Outcomes and feedback of all questions.
    pub all: Breakdown,
    /// Every department the log had named at release time, then [`UNKNOWN_DEPARTMENT`].
    pub departments: Vec<ReleasedDepartment>,
    /// Every catalogue specialist, then [`OTHER`].
    pub specialists: Vec<ReleasedSpecialist>,
    pub emerging: Vec<ReleasedCluster>,
    /// No row of this table's kind at all in the month: every figure is 0, none has a person
    /// behind it (a hidden 0 is not protected, see `super::suppress`). [`combine`] then takes
    /// the other table as it is, so a database of demo data only shows its demo figures.
    /// Tables published before this field existed read as `false`, which is the cautious side.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasedTopic {
    pub intent: String,
    pub figure: Cell,
    pub breakdown: Breakdown,
}

/// Where a topic's questions ended up and what feedback they got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// In [`Outcome::ALL`] order.
    pub outcomes: Vec<Cell>,
    /// Conversations with feedback, and those marked helpful / not helpful.
    pub feedback_given: Cell,
    pub helpful: Cell,
    pub not_helpful: Cell,
    pub no_feedback: Cell,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasedDepartment {
    pub department: String,
    pub figure: Cell,
    /// In the order of [`MonthRelease::topics`].
    pub topics: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasedSpecialist {
    pub specialist: String,
    pub referrals: Cell,
    /// Referrals the asker passed on to the specialist with the handoff button, and the rest.
    pub handoffs: Cell,
    pub without_handoff: Cell,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasedCluster {
    pub keywords: Vec<String>,
    pub figure: Cell,
}

impl MonthRelease {
    pub fn topic(&self, intent: &str) -> Option<&ReleasedTopic> {
        self.topics.iter().find(|t| t.intent == intent)
    }

    pub fn department(&self, name: &str) -> Option<&ReleasedDepartment> {
        self.departments.iter().find(|d| d.department == name)
    }

    pub fn specialist(&self, id: &str) -> Option<&ReleasedSpecialist> {
        self.specialists.iter().find(|s| s.specialist == id)
    }

    /// Every figure of the table, for counting and checks.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = vec![self.total];
        let breakdown = |b: &Breakdown, out: &mut Vec<Cell>| {
            out.extend(&b.outcomes);
            out.extend([b.feedback_given, b.helpful, b.not_helpful, b.no_feedback]);
        };
        breakdown(&self.all, &mut cells);
        for t in &self.topics {
            cells.push(t.figure);
            breakdown(&t.breakdown, &mut cells);
        }
        for d in &self.departments {
            cells.push(d.figure);
            cells.extend(&d.topics);
        }
        for s in &self.specialists {
            cells.extend([s.referrals, s.handoffs, s.without_handoff]);
        }
        cells.extend(self.emerging.iter().map(|c| c.figure));
        cells
    }
}

/// The first day of the month `date` is in.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

pub fn next_month(start: NaiveDate) -> NaiveDate {
    start
        .checked_add_months(chrono::Months::new(1))
        .expect("dates stay in range")
}

pub fn previous_month(start: NaiveDate) -> NaiveDate {
    start
        .checked_sub_months(chrono::Months::new(1))
        .expect("dates stay in range")
}

pub fn month_label(start: NaiveDate) -> String {
    start.format("%Y-%m").to_string()
}

/// The first day on which the month starting at `start` may be published.
pub fn published_on(start: NaiveDate, delay_days: u32) -> NaiveDate {
    next_month(start) + Days::days(i64::from(delay_days))
}

fn day_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis()
}

/// The published tables of `months` (first days of months, all publishable): read from the
/// store, or computed and stored now when a month has none yet. When two requests publish
/// the same month at once, the first stored version wins and both use it.
pub async fn releases(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    policy: &ReportPolicy,
    months: &[NaiveDate],
    kind: Rows,
) -> Result<Vec<MonthRelease>, AnalyticsError> {
    let mut departments: Option<Vec<String>> = None;
    let mut out = Vec::with_capacity(months.len());
    for &start in months {
        let label = month_label(start);
        if let Some(stored) = load(store, &label, kind).await? {
            out.push(stored);
            continue;
        }
        if departments.is_none() {
            departments = Some(store.report_departments(kind).await?);
        }
        let release = compute_release(
            store,
            catalogue,
            policy,
            start,
            departments.as_deref().unwrap_or_default(),
            kind,
        )
        .await?;
        let body = serde_json::to_string(&release)
            .map_err(|e| AnalyticsError::Internal(format!("serialising a release: {e}")))?;
        let stored = store
            .save_report_release(&label, kind, release.released_at.timestamp_millis(), &body)
            .await?;
        if stored {
            tracing::info!(month = %label, ?kind, "demand figures published");
            out.push(release);
        } else {
            let winner = load(store, &label, kind).await?.ok_or_else(|| {
                AnalyticsError::Internal(format!("the release of {label} vanished"))
            })?;
            out.push(winner);
        }
    }
    Ok(out)
}

/// Publishes the real table of every month of the last year that is due on `today` and not
/// published yet, and returns how many it published (demo tables are published only when a
/// report asks for demo data). The server runs this daily while reports are switched on,
/// so a month is frozen soon after it is due, while the texts behind its emerging topics are
/// still kept (see `log.retention_days`), even when nobody opens a report.
pub async fn publish_due(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    policy: &ReportPolicy,
    today: NaiveDate,
) -> Result<usize, AnalyticsError> {
    let mut months = Vec::new();
    let mut start = month_start(today);
    for _ in 0..12 {
        start = previous_month(start);
        if published_on(start, policy.release_delay_days) <= today {
            months.insert(0, start);
        }
    }
    let mut missing = Vec::new();
    for month in months {
        if store
            .report_release(&month_label(month), Rows::Real)
            .await?
            .is_none()
        {
            missing.push(month);
        }
    }
    releases(store, catalogue, policy, &missing, Rows::Real).await?;
    Ok(missing.len())
}

async fn load(
    store: &dyn ConversationStore,
    label: &str,
    kind: Rows,
) -> Result<Option<MonthRelease>, AnalyticsError> {
    let Some(body) = store.report_release(label, kind).await? else {
        return Ok(None);
    };
    serde_json::from_str(&body).map(Some).map_err(|e| {
        AnalyticsError::Internal(format!("the stored release of {label} is unreadable: {e}"))
    })
}

/// Interns strings to small numbers in first-seen order.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}

const OUTCOMES: usize = Outcome::ALL.len();
const NO_SPECIALIST: u16 = u16::MAX;

/// One conversation, reduced to numbers.
#[derive(Clone, Copy)]
struct Compact {
    asker: u32,
    topic: u16,
    outcome: u8,
    department: u16,
    specialist: u16,
    /// 0 none, 1 helpful, 2 not helpful
    feedback: u8,
    handoff: bool,
}

/// Where each figure of one month's table sits in the [`CellGrid`].
struct Layout {
    /// Topics including OTHER.
    topics: usize,
    departments: usize,
    /// Specialists including OTHER.
    specialists: usize,
    total: CellId,
    topic: CellId,
    outcome: CellId,
    feedback: CellId,
    department: CellId,
    department_topic: CellId,
    specialist: CellId,
    handoff: CellId,
    cluster: CellId,
    len: usize,
}

/// Feedback kinds per topic: given, helpful, not helpful, none.
const FEEDBACK_KINDS: usize = 4;

impl Layout {
    fn new(topics: usize, departments: usize, specialists: usize, clusters: usize) -> Layout {
        let mut next = 0;
        let mut take = |n: usize| {
            let at = next;
            next += n;
            at
        };
        let total = take(1);
        let topic = take(topics);
        let outcome = take((topics + 1) * OUTCOMES);
        let feedback = take((topics + 1) * FEEDBACK_KINDS);
        let department = take(departments);
        let department_topic = take(departments * topics);
        let specialist = take(specialists);
        let handoff = take(specialists * 2);
        let cluster = take(clusters);
        Layout {
            topics,
            departments,
            specialists,
            total,
            topic,
            outcome,
            feedback,
            department,
            department_topic,
            specialist,
            handoff,
            cluster,
            len: next,
        }
    }

    /// `t == topics` is the row of all questions.
    fn outcome(&self, t: usize, o: usize) -> CellId {
        self.outcome + t * OUTCOMES + o
    }
    fn feedback(&self, t: usize, kind: usize) -> CellId {
        self.feedback + t * FEEDBACK_KINDS + kind
    }
    fn department_topic(&self, d: usize, t: usize) -> CellId {
        self.department_topic + d * self.topics + t
    }
    fn handoff(&self, s: usize, with: bool) -> CellId {
        self.handoff + s * 2 + usize::from(!with)
    }
    /// The topic's figure, or all questions' for `t == topics`.
    fn topic_or_total(&self, t: usize) -> CellId {
        if t == self.topics {
            self.total
        } else {
            self.topic + t
        }
    }

    /// The cells one conversation counts in.
    fn cells_of(&self, row: &Compact, out: &mut Vec<CellId>) {
        let t = row.topic as usize;
        let d = row.department as usize;
        out.push(self.total);
        out.push(self.topic + t);
        out.push(self.department + d);
        out.push(self.department_topic(d, t));
        let o = row.outcome as usize;
        out.push(self.outcome(t, o));
        out.push(self.outcome(self.topics, o));
        let kinds: &[usize] = match row.feedback {
            1 => &[0, 1],
            2 => &[0, 2],
            _ => &[3],
        };
        for &kind in kinds {
            out.push(self.feedback(t, kind));
            out.push(self.feedback(self.topics, kind));
        }
        if row.specialist != NO_SPECIALIST {
            let s = row.specialist as usize;
            out.push(self.specialist + s);
            out.push(self.handoff(s, row.handoff));
        }
    }

    /// How the figures of one month add up: every margin of every breakdown. Together they
    /// are all the linear relations the published figures satisfy (the breakdowns are margins
    /// of one cross-classification, linked through the topic figures and, for specialists,
    /// through the "referred to a specialist" outcome).
    fn relations(&self) -> Vec<Relation> {
        let mut relations = Vec::new();
        let topic_cells: Vec<CellId> = (0..self.topics).map(|t| self.topic + t).collect();
        relations.push(Relation {
            total: self.total,
            parts: topic_cells.clone(),
        });
        relations.push(Relation {
            total: self.total,
            parts: (0..self.departments).map(|d| self.department + d).collect(),
        });
        for t in 0..self.topics {
            relations.push(Relation {
                total: self.topic + t,
                parts: (0..self.departments)
                    .map(|d| self.department_topic(d, t))
                    .collect(),
            });
        }
        for d in 0..self.departments {
            relations.push(Relation {
                total: self.department + d,
                parts: (0..self.topics)
                    .map(|t| self.department_topic(d, t))
                    .collect(),
            });
        }
        for t in 0..=self.topics {
            let total = self.topic_or_total(t);
            relations.push(Relation {
                total,
                parts: (0..OUTCOMES).map(|o| self.outcome(t, o)).collect(),
            });
            relations.push(Relation {
                total: self.feedback(t, 0),
                parts: vec![self.feedback(t, 1), self.feedback(t, 2)],
            });
            relations.push(Relation {
                total,
                parts: vec![self.feedback(t, 0), self.feedback(t, 3)],
            });
        }
        for o in 0..OUTCOMES {
            relations.push(Relation {
                total: self.outcome(self.topics, o),
                parts: (0..self.topics).map(|t| self.outcome(t, o)).collect(),
            });
        }
        for kind in 0..FEEDBACK_KINDS {
            relations.push(Relation {
                total: self.feedback(self.topics, kind),
                parts: (0..self.topics).map(|t| self.feedback(t, kind)).collect(),
            });
        }
        let specialist_outcome = Outcome::ALL
            .iter()
            .position(|o| *o == Outcome::Specialist)
            .expect("specialist is an outcome");
        relations.push(Relation {
            total: self.outcome(self.topics, specialist_outcome),
            parts: (0..self.specialists).map(|s| self.specialist + s).collect(),
        });
        for s in 0..self.specialists {
            relations.push(Relation {
                total: self.specialist + s,
                parts: vec![self.handoff(s, true), self.handoff(s, false)],
            });
        }
        relations
    }
}

/// Counts distinct askers and conversations per cell.
fn count(grid: &mut CellGrid, rows: &mut [Compact], layout: &Layout) {
    rows.sort_unstable_by_key(|r| r.asker);
    let mut buffer = Vec::with_capacity(32);
    for group in rows.chunk_by(|a, b| a.asker == b.asker) {
        buffer.clear();
        for row in group {
            let start = buffer.len();
            layout.cells_of(row, &mut buffer);
            for &id in &buffer[start..] {
                grid.conversations[id] += 1;
            }
        }
        buffer.sort_unstable();
        buffer.dedup();
        for &id in &buffer {
            grid.askers[id] += 1;
        }
    }
}

fn outcome_index(outcome: Option<&str>) -> u8 {
    let position = Outcome::ALL
        .iter()
        .position(|o| Some(o.as_str()) == outcome);
    // rows logged before the outcome column existed have been backfilled; anything else
    // unknown counts as out of scope rather than being dropped from the totals
    position.unwrap_or(OUTCOMES - 1) as u8
}

#[cfg(test)]
mod tests;
