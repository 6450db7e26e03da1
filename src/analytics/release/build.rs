//! Building one month's table from the log: its rows read as numbers, its emerging topics
//! clustered, every figure counted into one grid and suppressed there, then read back as the
//! [`MonthRelease`] that is published.

use chrono::{NaiveDate, Utc};

use super::{
    Breakdown, Compact, Interner, Layout, MAX_EMERGING_PER_MONTH, MonthRelease, NO_SPECIALIST,
    OTHER, OUTCOMES, ReleasedCluster, ReleasedDepartment, ReleasedSpecialist, ReleasedTopic,
    UNKNOWN_DEPARTMENT, count, day_ms, month_label, next_month, outcome_index,
};
use crate::analytics::compute::{AnalyticsError, ReportPolicy};
use crate::analytics::model::{Cell, Hidden};
use crate::analytics::suppress::{CellGrid, CellId};
use crate::analytics::topics::{UnmetQuestion, cluster_unmet};
use crate::catalogue::Catalogue;
use crate::store::{ConversationStore, Rows, UnmetRow};

/// A month's emerging topic before suppression: keywords, distinct askers, conversations.
type Emerging = (Vec<String>, u32, u32);

/// The fixed rows of one month's table, numbered in the order the table lists them.
struct Labels {
    topics: Interner,
    specialists: Interner,
    departments: Interner,
    /// The topic of questions that matched no catalogue intent.
    other_topic: u16,
    /// The specialist of referrals to specialists no longer in the catalogue.
    other_specialist: u16,
}

impl Labels {
    /// Numbers the catalogue's rows and the known departments before any conversation is
    /// read, so which rows a table lists never depends on who asked that month.
    fn new(catalogue: &Catalogue, known_departments: &[String]) -> Labels {
        let mut topics = Interner::default();
        for intent in &catalogue.intents {
            topics.id(&intent.id);
        }
        let other_topic = topics.id(OTHER) as u16;
        let mut specialists = Interner::default();
        for s in &catalogue.specialists {
            specialists.id(&s.id);
        }
        let other_specialist = specialists.id(OTHER) as u16;
        let mut departments = Interner::default();
        for d in known_departments {
            if !d.is_empty() && d != UNKNOWN_DEPARTMENT {
                departments.id(d);
            }
        }
        Labels {
            topics,
            specialists,
            departments,
            other_topic,
            other_specialist,
        }
    }
}

/// Counts, clusters and suppresses one month's rows of kind `kind`: the table as it will be
/// published.
#[tracing::instrument(skip_all, fields(month = %month_label(start), ?kind))]
pub async fn compute_release(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    policy: &ReportPolicy,
    start: NaiveDate,
    known_departments: &[String],
    kind: Rows,
) -> Result<MonthRelease, AnalyticsError> {
    let started = std::time::Instant::now();
    let end = next_month(start);
    let range = (day_ms(start), day_ms(end));

    let mut labels = Labels::new(catalogue, known_departments);
    let (mut rows, late) = scan_rows(store, range, kind, &mut labels).await?;
    // emerging topics: the month's unmet questions, clustered on a blocking thread
    let clusters = cluster_month(store, policy, range, kind).await?;

    let layout = Layout::new(
        labels.topics.names.len(),
        labels.departments.names.len(),
        labels.specialists.names.len(),
        clusters.len(),
    );
    let (grid, small, complementary) =
        count_and_suppress(&mut rows, &clusters, &layout, policy.min_group_size);
    tracing::info!(
        rows = rows.len(),
        clusters = clusters.len(),
        hidden_small = small,
        hidden_complementary = complementary,
        late_departments = late,
        millis = started.elapsed().as_millis() as u64,
        "month computed"
    );

    let figures = Figures {
        grid: &grid,
        layout: &layout,
    };
    Ok(MonthRelease {
        empty: rows.is_empty(),
        month: month_label(start),
        start,
        end,
        min_group_size: policy.min_group_size,
        released_at: Utc::now(),
        total: figures.publish_cell(layout.total),
        topics: figures.publish_topics(&labels.topics),
        all: figures.publish_breakdown(layout.topics),
        departments: figures.publish_departments(&labels.departments),
        specialists: figures.publish_specialists(&labels.specialists),
        emerging: figures.publish_emerging(clusters),
    })
}

/// Reads the month's conversations as small numbers, so that counting a month of many
/// conversations handles no strings. Departments first named after the list was read join
/// `labels`; returns the rows and how many such departments there were.
async fn scan_rows(
    store: &dyn ConversationStore,
    (from_ms, to_ms): (i64, i64),
    kind: Rows,
    labels: &mut Labels,
) -> Result<(Vec<Compact>, usize), AnalyticsError> {
    let (other_topic, other_specialist) = (labels.other_topic, labels.other_specialist);
    let (topics, specialists) = (&labels.topics, &labels.specialists);
    let departments = &mut labels.departments;
    let mut askers = Interner::default();
    let mut rows: Vec<Compact> = Vec::new();
    let mut late_departments = Vec::new();
    let mut visit = |row: crate::store::ReportRow<'_>| {
        let department = match row.department.filter(|d| !d.is_empty()) {
            Some(d) => match departments.get(d) {
                Some(id) => id,
                None => {
                    // named after the list was read: it joins the list (still fixed for
                    // this month, since the list is read before counting)
                    late_departments.push(d.to_string());
                    departments.id(d)
                }
            },
            None => u32::MAX,
        };
        rows.push(Compact {
            asker: askers.id(row.asker_key),
            topic: row
                .intent
                .and_then(|id| topics.get(id))
                .map_or(other_topic, |t| t as u16),
            outcome: outcome_index(row.outcome),
            department: department as u16,
            specialist: match (row.specialist, row.outcome) {
                (Some(id), Some("specialist")) => {
                    specialists.get(id).map_or(other_specialist, |s| s as u16)
                }
                _ => NO_SPECIALIST,
            },
            feedback: match row.feedback {
                Some("helpful") => 1,
                Some("not_helpful") => 2,
                _ => 0,
            },
            handoff: row.handoff,
        });
    };
    store
        .scan_report_rows(from_ms, to_ms, kind, &mut visit)
        .await?;
    let unknown_department = departments.id(UNKNOWN_DEPARTMENT) as u16;
    for row in &mut rows {
        if row.department == u16::MAX {
            row.department = unknown_department;
        }
    }
    Ok((rows, late_departments.len()))
}

/// The month's emerging topics, largest first, at most [`MAX_EMERGING_PER_MONTH`].
/// Clustering is slow enough to stall the async workers, so it runs on a blocking thread.
async fn cluster_month(
    store: &dyn ConversationStore,
    policy: &ReportPolicy,
    (from_ms, to_ms): (i64, i64),
    kind: Rows,
) -> Result<Vec<Emerging>, AnalyticsError> {
    let min_group_size = policy.min_group_size as usize;
    let unmet_rows = store
        .unmet_questions(from_ms, to_ms, policy.low_confidence, kind)
        .await?;
    tokio::task::spawn_blocking(move || {
        let unmet = number_unmet(unmet_rows);
        let mut clusters = cluster_unmet(&unmet, min_group_size);
        clusters.truncate(MAX_EMERGING_PER_MONTH);
        clusters
            .into_iter()
            .map(|c| {
                let conversations = c.members.len() as u32;
                (c.keywords, c.askers as u32, conversations)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|join| AnalyticsError::Internal(format!("clustering failed: {join}")))
}

/// Puts the unmet questions in one order and numbers their askers, so clustering is the
/// same on every backend whatever order the database returned.
fn number_unmet(mut unmet_rows: Vec<UnmetRow>) -> Vec<UnmetQuestion> {
    unmet_rows.sort_unstable_by(|a, b| {
        (a.received_ms, &a.asker_key, &a.question).cmp(&(b.received_ms, &b.asker_key, &b.question))
    });
    let mut unmet_askers = Interner::default();
    unmet_rows
        .into_iter()
        .map(|u| UnmetQuestion {
            asker: unmet_askers.id(&u.asker_key),
            period: 0,
            text: u.question,
        })
        .collect()
}

/// Counts the rows and the emerging topics into one grid and suppresses it there, so every
/// figure of the month goes through the same audit. Returns the grid and how many cells were
/// hidden as small and to protect others.
fn count_and_suppress(
    rows: &mut [Compact],
    clusters: &[Emerging],
    layout: &Layout,
    min_group_size: u32,
) -> (CellGrid, usize, usize) {
    let mut grid = CellGrid::with_len(layout.len);
    count(&mut grid, rows, layout);
    for (k, (_, askers, conversations)) in clusters.iter().enumerate() {
        grid.askers[layout.cluster + k] = *askers;
        grid.conversations[layout.cluster + k] = *conversations;
    }
    let relations = layout.relations();
    let (small, complementary) = grid.suppress(min_group_size, &relations);
    (grid, small, complementary)
}

/// The suppressed grid, read back as the figures of the published table.
struct Figures<'a> {
    grid: &'a CellGrid,
    layout: &'a Layout,
}

impl Figures<'_> {
    /// Drops a hidden figure's value and keeps only why it is hidden, so the stored table
    /// holds nothing a report may not show.
    fn publish_cell(&self, id: CellId) -> Cell {
        let grid = self.grid;
        if !grid.hidden[id] {
            Cell::Shown {
                askers: Some(grid.askers[id]),
                conversations: grid.conversations[id],
            }
        } else if grid.small[id] {
            Cell::hidden(Hidden::FewerThanK)
        } else {
            Cell::hidden(Hidden::ProtectsOthers)
        }
    }

    /// Gathers one topic's outcome and feedback figures (`t == topics`: all questions'), which
    /// the grid keeps apart.
    fn publish_breakdown(&self, t: usize) -> Breakdown {
        let layout = self.layout;
        Breakdown {
            outcomes: (0..OUTCOMES)
                .map(|o| self.publish_cell(layout.outcome(t, o)))
                .collect(),
            feedback_given: self.publish_cell(layout.feedback(t, 0)),
            helpful: self.publish_cell(layout.feedback(t, 1)),
            not_helpful: self.publish_cell(layout.feedback(t, 2)),
            no_feedback: self.publish_cell(layout.feedback(t, 3)),
        }
    }

    /// Lists every topic whatever its figures, so that the presence of a row never tells that
    /// someone asked.
    fn publish_topics(&self, names: &Interner) -> Vec<ReleasedTopic> {
        let layout = self.layout;
        (0..layout.topics)
            .map(|t| ReleasedTopic {
                intent: names.names[t].clone(),
                figure: self.publish_cell(layout.topic + t),
                breakdown: self.publish_breakdown(t),
            })
            .collect()
    }

    /// Lists every department, with a figure per topic, whatever its figures, so that the
    /// presence of a row never tells that someone asked.
    fn publish_departments(&self, names: &Interner) -> Vec<ReleasedDepartment> {
        let layout = self.layout;
        (0..layout.departments)
            .map(|d| ReleasedDepartment {
                department: names.names[d].clone(),
                figure: self.publish_cell(layout.department + d),
                topics: (0..layout.topics)
                    .map(|t| self.publish_cell(layout.department_topic(d, t)))
                    .collect(),
            })
            .collect()
    }

    /// Lists every specialist whatever its figures, so that the presence of a row never tells
    /// that someone was referred.
    fn publish_specialists(&self, names: &Interner) -> Vec<ReleasedSpecialist> {
        let layout = self.layout;
        (0..layout.specialists)
            .map(|s| ReleasedSpecialist {
                specialist: names.names[s].clone(),
                referrals: self.publish_cell(layout.specialist + s),
                handoffs: self.publish_cell(layout.handoff(s, true)),
                without_handoff: self.publish_cell(layout.handoff(s, false)),
            })
            .collect()
    }

    /// Keeps only the shown emerging topics: a hidden topic's keywords would still tell what
    /// its few askers asked.
    fn publish_emerging(&self, clusters: Vec<Emerging>) -> Vec<ReleasedCluster> {
        let layout = self.layout;
        clusters
            .into_iter()
            .enumerate()
            .filter(|(k, _)| !self.grid.hidden[layout.cluster + k])
            .map(|(k, (keywords, _, _))| ReleasedCluster {
                keywords,
                figure: self.publish_cell(layout.cluster + k),
            })
            .collect()
    }
}
