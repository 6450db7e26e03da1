//! Computes a [`DemandReport`] from the conversation log: one scan of the range (and the
//! range of equal length before it, for the change), counted in memory, then every figure
//! made k-anonymous by [`super::suppress`] before anything leaves this module.
//!
//! Periods are whole UTC days, ISO weeks (Monday to Sunday) or calendar months; a requested
//! range is widened to whole periods, so no figure covers a part of a period that could be
//! chosen to single someone out.

use std::collections::HashMap;

use chrono::{Datelike, Duration as Days, NaiveDate, Utc};
use rustc_hash::FxHashMap;

use super::model::*;
use super::suppress::{CellGrid, CellId, Relation};
use super::topics::{UnmetQuestion, cluster_unmet};
use crate::catalogue::Catalogue;
use crate::store::{ConversationStore, StoreError};

/// Most periods one report may have (a year of days).
pub const MAX_PERIODS: usize = 366;
/// Emerging topics shown in a report (the largest by distinct askers).
pub const MAX_EMERGING_TOPICS: usize = 40;
/// The id of the row for questions that matched no topic.
pub const OTHER_TOPIC: &str = "_other";

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(
        "reports are switched off: set analytics.enabled = true (in the Netherlands only after the works council has agreed)"
    )]
    Disabled,
    #[error("`from` ({from}) is after `to` ({to})")]
    EmptyRange { from: NaiveDate, to: NaiveDate },
    #[error(
        "the range has {periods} {granularity}s; at most {MAX_PERIODS} periods fit in one report (choose a coarser granularity)"
    )]
    TooManyPeriods {
        periods: usize,
        granularity: &'static str,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A computing thread failed (a bug, not the request).
    #[error("computing the report failed: {0}")]
    Internal(String),
}

/// What a report is asked for: a range and a granularity, nothing that could select a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub by_department: bool,
}

/// How the report counts: the group size and what counts as a low-confidence answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportPolicy {
    pub min_group_size: u32,
    pub low_confidence: f32,
}

fn period_start(date: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => date,
        Granularity::Week => date - Days::days(date.weekday().num_days_from_monday() as i64),
        Granularity::Month => date.with_day(1).expect("day 1 exists"),
    }
}

fn next_start(start: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => start + Days::days(1),
        Granularity::Week => start + Days::days(7),
        Granularity::Month => start
            .checked_add_months(chrono::Months::new(1))
            .expect("dates stay in range"),
    }
}

fn previous_start(start: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => start - Days::days(1),
        Granularity::Week => start - Days::days(7),
        Granularity::Month => start
            .checked_sub_months(chrono::Months::new(1))
            .expect("dates stay in range"),
    }
}

fn label(start: NaiveDate, granularity: Granularity) -> String {
    match granularity {
        Granularity::Day => start.format("%Y-%m-%d").to_string(),
        Granularity::Week => start.format("%G-W%V").to_string(),
        Granularity::Month => start.format("%Y-%m").to_string(),
    }
}

/// The whole periods covering `[from, to]`, and the first day of the equally long range
/// before them.
pub fn periods_of(request: &ReportRequest) -> Result<(Vec<Period>, NaiveDate), AnalyticsError> {
    if request.from > request.to {
        return Err(AnalyticsError::EmptyRange {
            from: request.from,
            to: request.to,
        });
    }
    let g = request.granularity;
    let mut periods = Vec::new();
    let mut start = period_start(request.from, g);
    while start <= request.to {
        let end = next_start(start, g);
        periods.push(Period {
            label: label(start, g),
            start,
            end,
        });
        if periods.len() > MAX_PERIODS {
            return Err(AnalyticsError::TooManyPeriods {
                periods: periods.len(),
                granularity: g.as_str(),
            });
        }
        start = end;
    }
    let mut previous = periods[0].start;
    for _ in 0..periods.len() {
        previous = previous_start(previous, g);
    }
    Ok((periods, previous))
}

fn day_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis()
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
}

const NONE: u16 = u16::MAX;
const FEEDBACK_NONE: u8 = 0;
const FEEDBACK_HELPFUL: u8 = 1;
const FEEDBACK_NOT_HELPFUL: u8 = 2;

/// One conversation, reduced to numbers.
#[derive(Clone, Copy)]
struct Compact {
    asker: u32,
    /// Period index; `periods.len() + 1` (the PREV column) for the range before.
    period: u16,
    intent: u16,
    outcome: u8,
    department: u16,
    specialist: u16,
    feedback: u8,
    handoff: bool,
}

/// Cell ids of every figure, laid out by dimension.
struct Layout {
    /// Columns: periods, then ALL, then PREV.
    columns: usize,
    all: usize,
    prev: usize,
    /// topics incl. OTHER
    topics: usize,
    departments: usize,
    specialists: usize,
    clusters: usize,
    by_department: bool,
    totals: CellId,
    topic: CellId,
    outcome: CellId,
    feedback: CellId,
    dept_total: CellId,
    dept_topic: CellId,
    spec: CellId,
    handoff: CellId,
    cluster: CellId,
    len: usize,
}

const OUTCOMES: usize = Outcome::ALL.len();
/// Per topic (and for all): gave feedback, helpful, not helpful, no feedback.
const FEEDBACK_KINDS: usize = 4;

impl Layout {
    fn new(
        periods: usize,
        topics: usize,
        departments: usize,
        specialists: usize,
        clusters: usize,
        by_department: bool,
    ) -> Layout {
        let columns = periods + 2;
        let mut next = 0;
        let mut take = |n: usize| {
            let at = next;
            next += n;
            at
        };
        let totals = take(columns);
        let topic = take(topics * columns);
        let outcome = take((topics + 1) * OUTCOMES);
        let feedback = take((topics + 1) * FEEDBACK_KINDS);
        let (dept_total, dept_topic) = if by_department {
            (
                take(departments * columns),
                take(departments * topics * columns),
            )
        } else {
            (0, 0)
        };
        // specialists: periods + ALL (no PREV); handoff: with / without
        let spec = take(specialists * (periods + 1));
        let handoff = take(specialists * 2);
        // clusters: periods, ALL, first half, second half
        let cluster = take(clusters * (periods + 3));
        Layout {
            columns,
            all: periods,
            prev: periods + 1,
            topics,
            departments,
            specialists,
            clusters,
            by_department,
            totals,
            topic,
            outcome,
            feedback,
            dept_total,
            dept_topic,
            spec,
            handoff,
            cluster,
            len: next,
        }
    }
    fn totals(&self, c: usize) -> CellId {
        self.totals + c
    }
    fn topic(&self, t: usize, c: usize) -> CellId {
        self.topic + t * self.columns + c
    }
    /// `t == topics` is the row for all questions.
    fn outcome(&self, t: usize, o: usize) -> CellId {
        self.outcome + t * OUTCOMES + o
    }
    /// kind: 0 gave feedback, 1 helpful, 2 not helpful, 3 no feedback.
    fn feedback(&self, t: usize, kind: usize) -> CellId {
        self.feedback + t * FEEDBACK_KINDS + kind
    }
    fn dept_total(&self, d: usize, c: usize) -> CellId {
        self.dept_total + d * self.columns + c
    }
    fn dept_topic(&self, d: usize, t: usize, c: usize) -> CellId {
        self.dept_topic + (d * self.topics + t) * self.columns + c
    }
    /// `c == all` is the whole range.
    fn spec(&self, s: usize, c: usize) -> CellId {
        self.spec + s * (self.all + 1) + c
    }
    fn handoff(&self, s: usize, with: bool) -> CellId {
        self.handoff + s * 2 + usize::from(!with)
    }
    /// `c`: a period, `all`, then `all + 1` / `all + 2` for the first / second half.
    fn cluster(&self, k: usize, c: usize) -> CellId {
        self.cluster + k * (self.all + 3) + c
    }

    /// The half of the range a period is in (the middle period of an odd count goes to the
    /// second half).
    fn half(&self, p: usize) -> usize {
        if p < self.all / 2 {
            self.all + 1
        } else {
            self.all + 2
        }
    }

    /// The cells one conversation counts in.
    fn cells_of(&self, row: &Compact, out: &mut Vec<CellId>) {
        let p = row.period as usize;
        let t = row.intent as usize;
        if p == self.prev {
            out.push(self.totals(self.prev));
            out.push(self.topic(t, self.prev));
            if self.by_department {
                let d = row.department as usize;
                out.push(self.dept_total(d, self.prev));
                out.push(self.dept_topic(d, t, self.prev));
            }
            return;
        }
        for c in [p, self.all] {
            out.push(self.totals(c));
            out.push(self.topic(t, c));
            if self.by_department {
                let d = row.department as usize;
                out.push(self.dept_total(d, c));
                out.push(self.dept_topic(d, t, c));
            }
        }
        let o = row.outcome as usize;
        out.push(self.outcome(t, o));
        out.push(self.outcome(self.topics, o));
        let kinds: &[usize] = match row.feedback {
            FEEDBACK_HELPFUL => &[0, 1],
            FEEDBACK_NOT_HELPFUL => &[0, 2],
            _ => &[3],
        };
        for &kind in kinds {
            out.push(self.feedback(t, kind));
            out.push(self.feedback(self.topics, kind));
        }
        if row.specialist != NONE {
            let s = row.specialist as usize;
            out.push(self.spec(s, p));
            out.push(self.spec(s, self.all));
            out.push(self.handoff(s, row.handoff));
        }
    }

    /// How the figures add up (see [`super::suppress`]).
    fn relations(&self, periods: usize) -> Vec<Relation> {
        let mut relations = Vec::new();
        let columns: Vec<usize> = (0..self.columns).collect();
        // across periods
        relations.push(Relation {
            total: self.totals(self.all),
            parts: (0..periods).map(|p| self.totals(p)).collect(),
        });
        for t in 0..self.topics {
            relations.push(Relation {
                total: self.topic(t, self.all),
                parts: (0..periods).map(|p| self.topic(t, p)).collect(),
            });
        }
        // across topics, in every column
        for &c in &columns {
            relations.push(Relation {
                total: self.totals(c),
                parts: (0..self.topics).map(|t| self.topic(t, c)).collect(),
            });
        }
        // outcomes: each topic's (and all questions') total splits by outcome
        for t in 0..=self.topics {
            let total = if t == self.topics {
                self.totals(self.all)
            } else {
                self.topic(t, self.all)
            };
            relations.push(Relation {
                total,
                parts: (0..OUTCOMES).map(|o| self.outcome(t, o)).collect(),
            });
            // feedback: given = helpful + not helpful; total = given + none
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
        // departments: a full cube with its margins
        if self.by_department {
            for &c in &columns {
                relations.push(Relation {
                    total: self.totals(c),
                    parts: (0..self.departments)
                        .map(|d| self.dept_total(d, c))
                        .collect(),
                });
                for t in 0..self.topics {
                    relations.push(Relation {
                        total: self.topic(t, c),
                        parts: (0..self.departments)
                            .map(|d| self.dept_topic(d, t, c))
                            .collect(),
                    });
                }
                for d in 0..self.departments {
                    relations.push(Relation {
                        total: self.dept_total(d, c),
                        parts: (0..self.topics).map(|t| self.dept_topic(d, t, c)).collect(),
                    });
                }
            }
            for d in 0..self.departments {
                relations.push(Relation {
                    total: self.dept_total(d, self.all),
                    parts: (0..periods).map(|p| self.dept_total(d, p)).collect(),
                });
                for t in 0..self.topics {
                    relations.push(Relation {
                        total: self.dept_topic(d, t, self.all),
                        parts: (0..periods).map(|p| self.dept_topic(d, t, p)).collect(),
                    });
                }
            }
        }
        // specialists: over periods, handoff or not, and together the specialist outcome
        let specialist_outcome = Outcome::ALL
            .iter()
            .position(|o| *o == Outcome::Specialist)
            .expect("specialist is an outcome");
        for s in 0..self.specialists {
            relations.push(Relation {
                total: self.spec(s, self.all),
                parts: (0..periods).map(|p| self.spec(s, p)).collect(),
            });
            relations.push(Relation {
                total: self.spec(s, self.all),
                parts: vec![self.handoff(s, true), self.handoff(s, false)],
            });
        }
        relations.push(Relation {
            total: self.outcome(self.topics, specialist_outcome),
            parts: (0..self.specialists)
                .map(|s| self.spec(s, self.all))
                .collect(),
        });
        for k in 0..self.clusters {
            relations.push(Relation {
                total: self.cluster(k, self.all),
                parts: (0..periods).map(|p| self.cluster(k, p)).collect(),
            });
            let (first, second) = (self.all + 1, self.all + 2);
            relations.push(Relation {
                total: self.cluster(k, self.all),
                parts: vec![self.cluster(k, first), self.cluster(k, second)],
            });
            for half in [first, second] {
                relations.push(Relation {
                    total: self.cluster(k, half),
                    parts: (0..periods)
                        .filter(|&p| self.half(p) == half)
                        .map(|p| self.cluster(k, p))
                        .collect(),
                });
            }
        }
        relations
    }
}

/// Counts distinct askers and conversations per cell.
fn count(grid: &mut CellGrid, rows: &mut [Compact], cells_of: impl Fn(&Compact, &mut Vec<CellId>)) {
    rows.sort_unstable_by_key(|r| r.asker);
    let mut buffer = Vec::with_capacity(64);
    for group in rows.chunk_by(|a, b| a.asker == b.asker) {
        buffer.clear();
        for row in group {
            let start = buffer.len();
            cells_of(row, &mut buffer);
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

/// Computes the report. Every figure in it is k-anonymous.
#[tracing::instrument(skip_all, fields(from = %request.from, to = %request.to, granularity = request.granularity.as_str()))]
pub async fn compute(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    policy: &ReportPolicy,
    request: &ReportRequest,
) -> Result<DemandReport, AnalyticsError> {
    let started = std::time::Instant::now();
    let (periods, previous_from) = periods_of(request)?;
    let p_count = periods.len();
    let range_start = day_ms(periods[0].start);
    let range_end = day_ms(periods[p_count - 1].end);
    let boundaries: Vec<i64> = periods.iter().map(|p| day_ms(p.end)).collect();

    let mut topic_ids = Interner::default();
    for intent in &catalogue.intents {
        topic_ids.id(&intent.id);
    }
    let other = topic_ids.id(OTHER_TOPIC) as u16;
    let mut specialist_ids = Interner::default();
    for s in &catalogue.specialists {
        specialist_ids.id(&s.id);
    }
    let mut askers = Interner::default();
    let mut departments = Interner::default();
    let unknown_department = departments.id("") as u16;
    let mut rows: Vec<Compact> = Vec::new();
    let known_topics = catalogue.intents.len();
    // The unmet questions are read on another connection and clustered on a blocking thread
    // while the scan runs: neither needs the other. They number their askers on their own,
    // which only has to tell askers apart within the clusters.
    let min_group_size = policy.min_group_size as usize;
    let boundaries_for_unmet = boundaries.clone();
    let unmet_work = async {
        let mut unmet_rows = store
            .unmet_questions(range_start, range_end, policy.low_confidence)
            .await?;
        let fetched = started.elapsed();
        tokio::task::spawn_blocking(move || {
            // one order whatever the database returned, so clustering is the same on every backend
            sort_unmet(&mut unmet_rows);
            let mut unmet_askers = Interner::default();
            let unmet: Vec<UnmetQuestion> = unmet_rows
                .into_iter()
                .map(|u| UnmetQuestion {
                    asker: unmet_askers.id(&u.asker_key),
                    period: boundaries_for_unmet.partition_point(|&end| end <= u.received_ms),
                    text: u.question,
                })
                .collect();
            let mut clusters = cluster_unmet(&unmet, min_group_size);
            // the largest few are what HRD can act on; the rest would bury them
            clusters.truncate(MAX_EMERGING_TOPICS);
            (unmet, clusters, fetched, started.elapsed())
        })
        .await
        .map_err(|join| AnalyticsError::Internal(format!("clustering failed: {join}")))
    };
    let mut visit = |row: crate::store::ReportRow<'_>| {
        let period = if row.received_ms < range_start {
            // the PREV column, after the periods and ALL
            (p_count + 1) as u16
        } else {
            boundaries.partition_point(|&end| end <= row.received_ms) as u16
        };
        let intent = match row.intent {
            Some(id) if topic_ids.ids.contains_key(id) => topic_ids.ids[id] as u16,
            _ => other,
        };
        let specialist = match (row.specialist, row.outcome) {
            (Some(id), Some("specialist")) => specialist_ids.id(id) as u16,
            _ => NONE,
        };
        rows.push(Compact {
            asker: askers.id(row.asker_key),
            period,
            intent,
            outcome: outcome_index(row.outcome),
            department: row
                .department
                .map_or(unknown_department, |d| departments.id(d) as u16),
            specialist,
            feedback: match row.feedback {
                Some("helpful") => FEEDBACK_HELPFUL,
                Some("not_helpful") => FEEDBACK_NOT_HELPFUL,
                _ => FEEDBACK_NONE,
            },
            handoff: row.handoff,
        });
    };
    let scan = store.scan_report_rows(day_ms(previous_from), range_end, &mut visit);
    let (scanned_rows, unmet_work) = futures::join!(scan, unmet_work);
    scanned_rows?;
    let scanned = started.elapsed();
    let (unmet, clusters, fetched_unmet, clustered) = unmet_work?;
    debug_assert_eq!(known_topics + 1, topic_ids.names.len());

    let layout = Layout::new(
        p_count,
        topic_ids.names.len(),
        departments.names.len(),
        specialist_ids.names.len(),
        clusters.len(),
        request.by_department,
    );
    let mut grid = CellGrid::with_len(layout.len);
    count(&mut grid, &mut rows, |row, out| layout.cells_of(row, out));
    // clusters: their own (asker, cells) pairs
    let mut cluster_rows: Vec<(u32, [CellId; 3])> = Vec::new();
    for (k, cluster) in clusters.iter().enumerate() {
        for &m in &cluster.members {
            let q = &unmet[m];
            cluster_rows.push((
                q.asker,
                [
                    layout.cluster(k, q.period),
                    layout.cluster(k, layout.all),
                    layout.cluster(k, layout.half(q.period)),
                ],
            ));
        }
    }
    cluster_rows.sort_unstable();
    for group in cluster_rows.chunk_by(|a, b| a.0 == b.0) {
        let mut ids: Vec<CellId> = group.iter().flat_map(|(_, cells)| *cells).collect();
        for &id in &ids {
            grid.conversations[id] += 1;
        }
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            grid.askers[id] += 1;
        }
    }

    let counted = started.elapsed();
    let relations = layout.relations(p_count);
    let (suppressed_small, suppressed_complementary) =
        grid.suppress(policy.min_group_size, &relations);
    tracing::info!(
        rows = rows.len(),
        unmet = unmet.len(),
        clusters = clusters.len(),
        scan_ms = scanned.as_millis() as u64,
        unmet_ms = fetched_unmet.as_millis() as u64,
        cluster_ms = (clustered - fetched_unmet).as_millis() as u64,
        count_ms = (counted - scanned.max(clustered)).as_millis() as u64,
        suppress_ms = (started.elapsed() - counted).as_millis() as u64,
        "report computed"
    );
    let cell = |id: CellId| {
        if grid.hidden[id] {
            Cell::SUPPRESSED
        } else {
            Cell::Shown {
                askers: grid.askers[id],
                conversations: grid.conversations[id],
            }
        }
    };
    let series = |of: &dyn Fn(usize) -> CellId| Series {
        cells: (0..p_count).map(|p| cell(of(p))).collect(),
        total: cell(of(layout.all)),
    };
    let titles = |t: usize| -> (String, String) {
        match catalogue.intents.get(t) {
            Some(intent) => (
                intent.label(crate::catalogue::Lang::Nl).to_string(),
                intent.label(crate::catalogue::Lang::En).to_string(),
            ),
            None => (
                "Overige vragen (geen onderwerp)".to_string(),
                "Other questions (no topic)".to_string(),
            ),
        }
    };
    let topic_row = |t: usize, of: &dyn Fn(usize) -> CellId| {
        let (title_nl, title_en) = titles(t);
        let series = series(of);
        let previous = cell(of(layout.prev));
        TopicRow {
            intent: topic_ids.names[t].clone(),
            title_nl,
            title_en,
            change: change(series.total, previous),
            series,
            previous,
        }
    };
    let topics: Vec<TopicRow> = (0..layout.topics)
        .map(|t| topic_row(t, &|c| layout.topic(t, c)))
        .collect();
    let mut ranked: Vec<(f64, &str)> = topics
        .iter()
        .filter(|t| t.intent != OTHER_TOPIC)
        .filter_map(|t| t.change.map(|c| (c, t.intent.as_str())))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let rising = ranked
        .iter()
        .filter(|(c, _)| *c > 0.0)
        .take(3)
        .map(|(_, id)| id.to_string())
        .collect();
    let falling = ranked
        .iter()
        .rev()
        .filter(|(c, _)| *c < 0.0)
        .take(3)
        .map(|(_, id)| id.to_string())
        .collect();

    let share = |part: Cell, whole: Cell| Share {
        part,
        whole,
        ratio: match (part.conversations(), whole.conversations()) {
            (Some(p), Some(w)) if w > 0 => Some(f64::from(p) / f64::from(w)),
            _ => None,
        },
    };
    let outcome_row = |t: usize| OutcomeRow {
        intent: (t < layout.topics).then(|| topic_ids.names[t].clone()),
        outcomes: Outcome::ALL
            .iter()
            .enumerate()
            .map(|(o, outcome)| (*outcome, cell(layout.outcome(t, o))))
            .collect(),
        total: cell(if t == layout.topics {
            layout.totals(layout.all)
        } else {
            layout.topic(t, layout.all)
        }),
        not_helpful: share(cell(layout.feedback(t, 2)), cell(layout.feedback(t, 0))),
    };
    let mut outcomes = vec![outcome_row(layout.topics)];
    outcomes.extend((0..layout.topics).map(outcome_row));

    let department_blocks = request.by_department.then(|| {
        let mut order: Vec<usize> = (0..layout.departments).collect();
        order.sort_by_key(|&d| {
            (
                departments.names[d].is_empty(),
                departments.names[d].clone(),
            )
        });
        order
            .into_iter()
            .map(|d| DepartmentBlock {
                department: if departments.names[d].is_empty() {
                    "(unknown)".to_string()
                } else {
                    departments.names[d].clone()
                },
                totals: series(&|c| layout.dept_total(d, c)),
                topics: (0..layout.topics)
                    .map(|t| topic_row(t, &|c| layout.dept_topic(d, t, c)))
                    .collect(),
            })
            .collect()
    });

    let emerging = clusters
        .iter()
        .enumerate()
        .map(|(k, cluster)| {
            let series = series(&|c| layout.cluster(k, c));
            EmergingTopic {
                id: format!("topic-{}", k + 1),
                keywords: cluster.keywords.clone(),
                trend: change(
                    cell(layout.cluster(k, layout.all + 2)),
                    cell(layout.cluster(k, layout.all + 1)),
                ),
                series,
            }
        })
        .collect();

    let names: HashMap<&str, &str> = catalogue
        .specialists
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let mut specialists: Vec<SpecialistRow> = (0..layout.specialists)
        .map(|s| {
            let id = &specialist_ids.names[s];
            SpecialistRow {
                specialist: id.clone(),
                name: names.get(id.as_str()).unwrap_or(&id.as_str()).to_string(),
                referrals: series(&|c| layout.spec(s, c)),
                handoffs: share(
                    cell(layout.handoff(s, true)),
                    cell(layout.spec(s, layout.all)),
                ),
            }
        })
        .collect();
    specialists.sort_by(|a, b| {
        b.referrals
            .total
            .conversations()
            .cmp(&a.referrals.total.conversations())
            .then(a.name.cmp(&b.name))
    });

    Ok(DemandReport {
        generated_at: Utc::now(),
        from: periods[0].start,
        to: periods[p_count - 1].end - Days::days(1),
        granularity: request.granularity,
        min_group_size: policy.min_group_size,
        totals: series(&|c| layout.totals(c)),
        periods,
        topics,
        rising,
        falling,
        outcomes,
        departments: department_blocks,
        emerging,
        specialists,
        suppressed_small,
        suppressed_complementary,
    })
}

/// The draft intents for the emerging topics of `[from, to]` (whole weeks): what
/// `referral-desk suggest-intents` writes.
pub async fn suggest_from_log(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    min_group_size: u32,
    low_confidence: f32,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<String, AnalyticsError> {
    let (periods, _) = periods_of(&ReportRequest {
        from,
        to,
        granularity: Granularity::Week,
        by_department: false,
    })?;
    let boundaries: Vec<i64> = periods.iter().map(|p| day_ms(p.end)).collect();
    let mut rows = store
        .unmet_questions(
            day_ms(periods[0].start),
            day_ms(periods[periods.len() - 1].end),
            low_confidence,
        )
        .await?;
    sort_unmet(&mut rows);
    let mut askers = Interner::default();
    let unmet: Vec<UnmetQuestion> = rows
        .iter()
        .map(|u| UnmetQuestion {
            asker: askers.id(&u.asker_key),
            period: boundaries.partition_point(|&end| end <= u.received_ms),
            text: u.question.clone(),
        })
        .collect();
    let clusters = cluster_unmet(&unmet, min_group_size as usize);
    Ok(super::suggest::suggest_intents(
        &clusters,
        &unmet,
        catalogue,
        min_group_size as usize,
    ))
}

fn sort_unmet(rows: &mut [crate::store::UnmetRow]) {
    rows.sort_unstable_by(|a, b| {
        (a.received_ms, &a.asker_key, &a.question).cmp(&(b.received_ms, &b.asker_key, &b.question))
    });
}

/// `(now - before) / before`, by conversations, when both are shown.
fn change(now: Cell, before: Cell) -> Option<f64> {
    match (now.conversations(), before.conversations()) {
        (Some(n), Some(b)) if b > 0 => Some((f64::from(n) - f64::from(b)) / f64::from(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(from: &str, to: &str, granularity: Granularity) -> ReportRequest {
        ReportRequest {
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
            granularity,
            by_department: false,
        }
    }

    #[test]
    fn ranges_widen_to_whole_periods() {
        let (weeks, before) =
            periods_of(&request("2026-10-01", "2026-12-31", Granularity::Week)).unwrap();
        assert_eq!(weeks[0].label, "2026-W40");
        assert_eq!(weeks[0].start.to_string(), "2026-09-28");
        assert_eq!(weeks.last().unwrap().end.to_string(), "2027-01-04");
        assert_eq!(weeks.len(), 14);
        assert_eq!(before, weeks[0].start - Days::days(7 * 14));
        let (months, before) =
            periods_of(&request("2026-10-15", "2026-12-01", Granularity::Month)).unwrap();
        let labels: Vec<&str> = months.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["2026-10", "2026-11", "2026-12"]);
        assert_eq!(before.to_string(), "2026-07-01");
        let (days, _) = periods_of(&request("2026-10-01", "2026-10-01", Granularity::Day)).unwrap();
        assert_eq!(days.len(), 1);
    }

    #[test]
    fn bad_ranges_are_refused_with_the_reason() {
        assert!(matches!(
            periods_of(&request("2026-10-02", "2026-10-01", Granularity::Day)),
            Err(AnalyticsError::EmptyRange { .. })
        ));
        assert!(matches!(
            periods_of(&request("2020-01-01", "2026-01-01", Granularity::Day)),
            Err(AnalyticsError::TooManyPeriods { .. })
        ));
    }
}
