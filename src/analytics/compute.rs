//! A demand report for a range: a view of the published monthly tables of
//! [`super::release`]. Nothing here looks at the conversation log itself (the tables are read
//! from the store, and published first when a month has none yet), so every figure a report
//! shows is a figure of a published table or a sum of shown ones.
//!
//! - A requested range is widened to whole calendar months (UTC); months not published yet
//!   (the running month, and a month until `analytics.release_delay_days` after its end) are
//!   listed as such, not shown.
//! - A month's figure is the table's cell, with its askers. A figure over several months (the
//!   range total, the range before it, outcomes and feedback over the range, a specialist's
//!   handoffs) is the sum of the shown monthly cells, or hidden ("includes a hidden month")
//!   when one of them is hidden; it counts conversations only (see [`Cell`]).
//! - Asking for departments only shows rows that are in the tables anyway: the same figures
//!   with or without the breakdown.
//! - Demo data (`seed-demo`) is left out unless [`ReportRequest::include_demo`]: then each
//!   month's real and demo tables are added up by [`release::combine`] and the report says so
//!   ([`DemandReport::includes_demo`]).

use std::collections::HashMap;

use chrono::{Duration as Days, NaiveDate, Utc};

use super::model::*;
use super::release::{
    self, MonthRelease, OTHER, UNKNOWN_DEPARTMENT, month_label, month_start, next_month,
    previous_month, published_on,
};
use super::topics::{UnmetQuestion, cluster_unmet};
use crate::catalogue::{Catalogue, Lang};
use crate::store::{ConversationStore, Rows, StoreError};

/// Most months one report may cover.
pub const MAX_MONTHS: usize = 36;
/// The id of the row for questions that matched no topic.
pub const OTHER_TOPIC: &str = OTHER;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(
        "reports are switched off: set analytics.enabled = true (in the Netherlands only after the works council has agreed)"
    )]
    Disabled,
    #[error("`from` ({from}) is after `to` ({to})")]
    EmptyRange { from: NaiveDate, to: NaiveDate },
    #[error(
        "the range has {months} months; at most {MAX_MONTHS} fit in one report (choose a shorter range)"
    )]
    TooManyPeriods { months: usize },
    #[error(
        "reports are published per calendar month (granularity=month); a {0} holds too few people to show, and periods that cut across months would let hidden figures be worked out"
    )]
    GranularityNotOffered(&'static str),
    #[error(
        "no month of this range is published yet: a month's figures appear {delay} days after it ends ({first} is published on {published_on})"
    )]
    NothingPublished {
        first: String,
        published_on: NaiveDate,
        delay: u32,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A computing thread failed (a bug, not the request).
    #[error("computing the report failed: {0}")]
    Internal(String),
}

/// What a report is asked for: a range, nothing that could select a person. `granularity`
/// must be `month`; `by_department` only decides whether the department rows are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub by_department: bool,
    /// Add the demo data (`seed-demo`) to the real figures. Off everywhere unless asked for
    /// (`report --include-demo`, `include_demo=true`), so synthetic conversations never pass
    /// for real demand.
    pub include_demo: bool,
}

/// How the tables are made: the group size, what counts as a low-confidence answer, and how
/// long after a month ends it is published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportPolicy {
    pub min_group_size: u32,
    pub low_confidence: f32,
    pub release_delay_days: u32,
}

impl ReportPolicy {
    pub fn from_settings(settings: &crate::config::AnalyticsSettings) -> ReportPolicy {
        ReportPolicy {
            min_group_size: settings.min_group_size,
            low_confidence: settings.low_confidence,
            release_delay_days: settings.release_delay_days,
        }
    }
}

/// The months of a request: those published on `today`, and those that are not yet.
pub fn months_of(
    request: &ReportRequest,
    policy: &ReportPolicy,
    today: NaiveDate,
) -> Result<(Vec<NaiveDate>, Vec<UnpublishedMonth>), AnalyticsError> {
    if request.granularity != Granularity::Month {
        return Err(AnalyticsError::GranularityNotOffered(
            request.granularity.as_str(),
        ));
    }
    if request.from > request.to {
        return Err(AnalyticsError::EmptyRange {
            from: request.from,
            to: request.to,
        });
    }
    let first = month_start(request.from);
    let count = month_index(month_start(request.to)) - month_index(first) + 1;
    if count > MAX_MONTHS as i64 {
        return Err(AnalyticsError::TooManyPeriods {
            months: count as usize,
        });
    }
    let mut months = vec![first];
    while months.len() < count as usize {
        months.push(next_month(months[months.len() - 1]));
    }
    let (published, pending): (Vec<NaiveDate>, Vec<NaiveDate>) = months
        .into_iter()
        .partition(|m| published_on(*m, policy.release_delay_days) <= today);
    let unpublished = pending
        .into_iter()
        .map(|m| UnpublishedMonth {
            label: month_label(m),
            published_on: published_on(m, policy.release_delay_days),
        })
        .collect();
    Ok((published, unpublished))
}

/// Months since year 0, to count the months of a range.
fn month_index(start: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(start.year()) * 12 + i64::from(start.month0())
}

/// A figure over several months: the one month's cell, the sum of shown cells, or hidden.
fn over_months(cells: &[Cell]) -> Cell {
    if let [one] = cells {
        return *one;
    }
    let mut conversations = 0;
    for cell in cells {
        match cell.conversations() {
            Some(c) => conversations += c,
            None => return Cell::hidden(Hidden::IncludesHiddenMonth),
        }
    }
    Cell::Shown {
        askers: None,
        conversations,
    }
}

/// A month without a row (a topic or department that did not exist when the month was
/// published): nobody asked there, shown like any figure under k.
const ABSENT: Cell = Cell::Suppressed {
    suppressed: true,
    reason: Hidden::FewerThanK,
};

/// Computes the report for `request` as of `today`. Every figure in it is k-anonymous, and
/// every report is a view of the same published tables.
#[tracing::instrument(skip_all, fields(from = %request.from, to = %request.to))]
pub async fn compute(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    policy: &ReportPolicy,
    request: &ReportRequest,
    today: NaiveDate,
) -> Result<DemandReport, AnalyticsError> {
    let started = std::time::Instant::now();
    let (months, unpublished) = months_of(request, policy, today)?;
    let Some(&first) = months.first() else {
        let first = unpublished.first().expect("a range has a month");
        return Err(AnalyticsError::NothingPublished {
            first: first.label.clone(),
            published_on: first.published_on,
            delay: policy.release_delay_days,
        });
    };
    let mut previous_months = Vec::with_capacity(months.len());
    let mut month = first;
    for _ in 0..months.len() {
        month = previous_month(month);
        previous_months.insert(0, month);
    }
    let mut wanted = previous_months.clone();
    wanted.extend(&months);
    let mut tables = release::releases(store, catalogue, policy, &wanted, Rows::Real).await?;
    if request.include_demo {
        let demo = release::releases(store, catalogue, policy, &wanted, Rows::Demo).await?;
        tables = tables
            .iter()
            .zip(&demo)
            .map(|(real, demo)| release::combine(real, demo))
            .collect();
    }
    let current = tables.split_off(previous_months.len());
    let before = tables;
    let report = view(catalogue, policy, request, &current, &before, unpublished);
    tracing::info!(
        months = current.len(),
        millis = started.elapsed().as_millis() as u64,
        "report computed"
    );
    Ok(report)
}

/// A row's cells over the report's months and the months before, read by `get` from each
/// table (`None`: the row is not in that table).
struct Row {
    cells: Vec<Cell>,
    previous: Vec<Cell>,
}

impl Row {
    fn of(
        current: &[MonthRelease],
        before: &[MonthRelease],
        get: impl Fn(&MonthRelease) -> Option<Cell>,
    ) -> Row {
        Row {
            cells: current.iter().map(|r| get(r).unwrap_or(ABSENT)).collect(),
            previous: before.iter().map(|r| get(r).unwrap_or(ABSENT)).collect(),
        }
    }

    fn series(&self) -> Series {
        Series {
            cells: self.cells.clone(),
            total: over_months(&self.cells),
        }
    }
}

/// Topic ids of the view: the catalogue's, then ids only the tables know (removed intents),
/// then "other".
fn topic_ids(catalogue: &Catalogue, tables: &[&MonthRelease]) -> Vec<String> {
    let mut ids: Vec<String> = catalogue.intents.iter().map(|i| i.id.clone()).collect();
    for table in tables {
        for topic in &table.topics {
            if topic.intent != OTHER && !ids.contains(&topic.intent) {
                ids.push(topic.intent.clone());
            }
        }
    }
    ids.push(OTHER.to_string());
    ids
}

fn view(
    catalogue: &Catalogue,
    policy: &ReportPolicy,
    request: &ReportRequest,
    current: &[MonthRelease],
    before: &[MonthRelease],
    unpublished: Vec<UnpublishedMonth>,
) -> DemandReport {
    let periods: Vec<Period> = current
        .iter()
        .map(|r| Period {
            label: r.month.clone(),
            start: r.start,
            end: r.end,
        })
        .collect();
    let all_tables: Vec<&MonthRelease> = current.iter().chain(before).collect();
    let ids = topic_ids(catalogue, &all_tables);
    let topics: Vec<TopicRow> = ids
        .iter()
        .map(|id| {
            let row = Row::of(current, before, |r| r.topic(id).map(|t| t.figure));
            topic_row(catalogue, id, row)
        })
        .collect();
    let (rising, falling) = rising_and_falling(&topics);
    let mut outcomes = vec![outcome_row(current, None)];
    outcomes.extend(ids.iter().map(|id| outcome_row(current, Some(id))));
    let departments = request
        .by_department
        .then(|| department_blocks(catalogue, current, before, &ids));
    let totals = Row::of(current, before, |r| Some(r.total));
    let mut report = DemandReport {
        generated_at: Utc::now(),
        from: periods[0].start,
        to: periods[periods.len() - 1].end - Days::days(1),
        granularity: Granularity::Month,
        min_group_size: policy.min_group_size,
        totals: totals.series(),
        periods,
        unpublished,
        topics,
        rising,
        falling,
        outcomes,
        departments,
        emerging: emerging_topics(current),
        specialists: specialist_rows(catalogue, current, before),
        suppressed_small: 0,
        suppressed_complementary: 0,
        includes_demo: request.include_demo,
    };
    let (small, other) = report.hidden_counts();
    report.suppressed_small = small;
    report.suppressed_complementary = other;
    report
}

/// A topic's titles in Dutch and English.
fn topic_titles(catalogue: &Catalogue, id: &str) -> (String, String) {
    match catalogue.intent(id) {
        Some(intent) => (
            intent.label(Lang::Nl).to_string(),
            intent.label(Lang::En).to_string(),
        ),
        None if id == OTHER => (
            "Overige vragen (geen onderwerp)".to_string(),
            "Other questions (no topic)".to_string(),
        ),
        None => (id.to_string(), id.to_string()),
    }
}

fn topic_row(catalogue: &Catalogue, id: &str, row: Row) -> TopicRow {
    let (title_nl, title_en) = topic_titles(catalogue, id);
    let series = row.series();
    let previous = over_months(&row.previous);
    TopicRow {
        intent: id.to_string(),
        title_nl,
        title_en,
        change: change(series.total, previous),
        series,
        previous,
    }
}

/// The three topics that grew most and the three that shrank most (not "other").
fn rising_and_falling(topics: &[TopicRow]) -> (Vec<String>, Vec<String>) {
    let mut ranked: Vec<(f64, &str)> = topics
        .iter()
        .filter(|t| t.intent != OTHER)
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
    (rising, falling)
}

fn share(part: Cell, whole: Cell) -> Share {
    Share {
        part,
        whole,
        ratio: match (part.conversations(), whole.conversations()) {
            (Some(p), Some(w)) if w > 0 => Some(f64::from(p) / f64::from(w)),
            _ => None,
        },
    }
}

/// One figure over the months of the range.
fn sum_months(current: &[MonthRelease], get: &dyn Fn(&MonthRelease) -> Option<Cell>) -> Cell {
    let cells: Vec<Cell> = current.iter().map(|r| get(r).unwrap_or(ABSENT)).collect();
    over_months(&cells)
}

/// Where the questions of a topic (or all of them, `None`) went.
fn outcome_row(current: &[MonthRelease], id: Option<&str>) -> OutcomeRow {
    let sum = |get: &dyn Fn(&MonthRelease) -> Option<Cell>| sum_months(current, get);
    let breakdown = |r: &MonthRelease| match id {
        None => Some(r.all.clone()),
        Some(id) => r.topic(id).map(|t| t.breakdown.clone()),
    };
    OutcomeRow {
        intent: id.map(str::to_string),
        outcomes: Outcome::ALL
            .iter()
            .enumerate()
            .map(|(o, outcome)| {
                (
                    *outcome,
                    sum(&|r| breakdown(r).and_then(|b| b.outcomes.get(o).copied())),
                )
            })
            .collect(),
        total: match id {
            None => sum(&|r| Some(r.total)),
            Some(id) => sum(&|r| r.topic(id).map(|t| t.figure)),
        },
        not_helpful: share(
            sum(&|r| breakdown(r).map(|b| b.not_helpful)),
            sum(&|r| breakdown(r).map(|b| b.feedback_given)),
        ),
    }
}

/// Per department (unknown last): its totals and its topics.
fn department_blocks(
    catalogue: &Catalogue,
    current: &[MonthRelease],
    before: &[MonthRelease],
    ids: &[String],
) -> Vec<DepartmentBlock> {
    let mut names: Vec<String> = Vec::new();
    for table in current {
        for d in &table.departments {
            if !names.contains(&d.department) {
                names.push(d.department.clone());
            }
        }
    }
    names.sort_by_key(|n| (n == UNKNOWN_DEPARTMENT, n.clone()));
    names
        .into_iter()
        .map(|name| {
            let totals =
                Row::of(current, before, |r| r.department(&name).map(|d| d.figure)).series();
            let topics = ids
                .iter()
                .map(|id| {
                    let cell_of = |r: &MonthRelease| {
                        let index = r.topics.iter().position(|t| &t.intent == id)?;
                        r.department(&name)?.topics.get(index).copied()
                    };
                    topic_row(catalogue, id, Row::of(current, before, cell_of))
                })
                .collect();
            DepartmentBlock {
                department: name,
                totals,
                topics,
            }
        })
        .collect()
}

fn emerging_topics(current: &[MonthRelease]) -> Vec<EmergingTopic> {
    current
        .iter()
        .flat_map(|r| {
            r.emerging
                .iter()
                .enumerate()
                .map(move |(k, cluster)| EmergingTopic {
                    id: format!("{}-topic-{}", r.month, k + 1),
                    period: r.month.clone(),
                    keywords: cluster.keywords.clone(),
                    figure: cluster.figure,
                })
        })
        .collect()
}

/// Referrals and handoffs per specialist (the catalogue's, then any others the tables name),
/// most referred first.
fn specialist_rows(
    catalogue: &Catalogue,
    current: &[MonthRelease],
    before: &[MonthRelease],
) -> Vec<SpecialistRow> {
    let names: HashMap<&str, &str> = catalogue
        .specialists
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let mut specialist_ids: Vec<String> =
        catalogue.specialists.iter().map(|s| s.id.clone()).collect();
    for table in current {
        for s in &table.specialists {
            if !specialist_ids.contains(&s.specialist) {
                specialist_ids.push(s.specialist.clone());
            }
        }
    }
    let mut specialists: Vec<SpecialistRow> = specialist_ids
        .iter()
        .map(|id| {
            let referrals =
                Row::of(current, before, |r| r.specialist(id).map(|s| s.referrals)).series();
            let handoffs = sum_months(current, &|r| r.specialist(id).map(|s| s.handoffs));
            SpecialistRow {
                specialist: id.clone(),
                name: match names.get(id.as_str()) {
                    Some(name) => name.to_string(),
                    None if id == OTHER => "(no longer in the catalogue)".to_string(),
                    None => id.clone(),
                },
                handoffs: share(handoffs, referrals.total),
                referrals,
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
    specialists
}

/// The draft intents for the emerging topics of `[from, to]` (whole months): what
/// `referral-desk suggest-intents` writes. Only texts and keywords used by at least
/// `min_group_size` distinct askers appear in it (see [`super::suggest`]). Real questions
/// only, unless `include_demo`: then the demo questions are clustered on their own and their
/// topics follow the real ones (a real question never joins a synthetic topic, where the
/// synthetic askers would lift it over the minimum group size).
pub async fn suggest_from_log(
    store: &dyn ConversationStore,
    catalogue: &Catalogue,
    min_group_size: u32,
    low_confidence: f32,
    from: NaiveDate,
    to: NaiveDate,
    include_demo: bool,
) -> Result<String, AnalyticsError> {
    if from > to {
        return Err(AnalyticsError::EmptyRange { from, to });
    }
    let start = month_start(from);
    let end = next_month(month_start(to));
    let kinds: &[Rows] = if include_demo {
        &[Rows::Real, Rows::Demo]
    } else {
        &[Rows::Real]
    };
    let mut unmet: Vec<UnmetQuestion> = Vec::new();
    let mut clusters = Vec::new();
    // askers are numbered across both kinds, so the two never share a number
    let mut askers: HashMap<(Rows, String), u32> = HashMap::new();
    for &kind in kinds {
        let mut rows = store
            .unmet_questions(day_ms(start), day_ms(end), low_confidence, kind)
            .await?;
        rows.sort_unstable_by(|a, b| {
            (a.received_ms, &a.asker_key, &a.question).cmp(&(
                b.received_ms,
                &b.asker_key,
                &b.question,
            ))
        });
        let these: Vec<UnmetQuestion> = rows
            .into_iter()
            .map(|u| {
                let next = askers.len() as u32;
                UnmetQuestion {
                    asker: *askers.entry((kind, u.asker_key)).or_insert(next),
                    period: 0,
                    text: u.question,
                }
            })
            .collect();
        let offset = unmet.len();
        clusters.extend(
            cluster_unmet(&these, min_group_size as usize)
                .into_iter()
                .map(|mut c| {
                    for member in &mut c.members {
                        *member += offset;
                    }
                    c
                }),
        );
        unmet.extend(these);
    }
    Ok(super::suggest::suggest_intents(
        &clusters,
        &unmet,
        catalogue,
        min_group_size as usize,
    ))
}

fn day_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis()
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
            include_demo: false,
        }
    }

    const POLICY: ReportPolicy = ReportPolicy {
        min_group_size: 5,
        low_confidence: 0.5,
        release_delay_days: 3,
    };

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_widen_to_whole_months_and_the_running_month_is_not_published() {
        let (months, pending) = months_of(
            &request("2026-09-15", "2026-12-01", Granularity::Month),
            &POLICY,
            day("2026-12-02"),
        )
        .unwrap();
        let labels: Vec<String> = months.iter().map(|m| month_label(*m)).collect();
        assert_eq!(labels, ["2026-09", "2026-10"]);
        let pending: Vec<(String, String)> = pending
            .iter()
            .map(|p| (p.label.clone(), p.published_on.to_string()))
            .collect();
        assert_eq!(
            pending,
            [
                ("2026-11".to_string(), "2026-12-04".to_string()),
                ("2026-12".to_string(), "2027-01-04".to_string())
            ]
        );
        // on the day it is due, November is published
        let (months, _) = months_of(
            &request("2026-11-01", "2026-11-30", Granularity::Month),
            &POLICY,
            day("2026-12-04"),
        )
        .unwrap();
        assert_eq!(months, [day("2026-11-01")]);
    }

    #[test]
    fn bad_ranges_and_other_granularities_are_refused_with_the_reason() {
        let today = day("2026-12-02");
        assert!(matches!(
            months_of(
                &request("2026-10-02", "2026-10-01", Granularity::Month),
                &POLICY,
                today
            ),
            Err(AnalyticsError::EmptyRange { .. })
        ));
        assert!(matches!(
            months_of(
                &request("2020-01-01", "2026-01-01", Granularity::Month),
                &POLICY,
                today
            ),
            Err(AnalyticsError::TooManyPeriods { months: 73 })
        ));
        for granularity in [Granularity::Day, Granularity::Week] {
            let err = months_of(
                &request("2026-10-01", "2026-10-31", granularity),
                &POLICY,
                today,
            )
            .unwrap_err();
            assert!(matches!(err, AnalyticsError::GranularityNotOffered(_)));
            assert!(err.to_string().contains("granularity=month"), "{err}");
        }
    }

    #[test]
    fn a_figure_over_months_adds_shown_months_or_is_hidden() {
        let shown = |askers, conversations| Cell::Shown {
            askers: Some(askers),
            conversations,
        };
        assert_eq!(
            over_months(&[shown(6, 9), shown(7, 8)]),
            Cell::Shown {
                askers: None,
                conversations: 17
            },
            "no asker count over months"
        );
        assert_eq!(over_months(&[shown(6, 9)]), shown(6, 9));
        assert_eq!(
            over_months(&[shown(6, 9), Cell::hidden(Hidden::ProtectsOthers)]),
            Cell::hidden(Hidden::IncludesHiddenMonth)
        );
        assert_eq!(
            over_months(&[Cell::hidden(Hidden::FewerThanK)]),
            Cell::hidden(Hidden::FewerThanK)
        );
    }
}
