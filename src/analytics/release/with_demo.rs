//! Adding a month's demo table to its real one, for a report that includes demo data (see
//! the module docs of `release` for why the two are never counted together).

use super::{
    Breakdown, MonthRelease, OTHER, OUTCOMES, ReleasedDepartment, ReleasedSpecialist,
    ReleasedTopic, UNKNOWN_DEPARTMENT,
};
use crate::analytics::model::{Cell, Hidden};

/// The month's figures over real and demo rows together, for a report that includes demo
/// data: a figure is the sum of the two tables' shown figures, hidden ("protects others")
/// when either part is hidden, and carries no asker count (people are not added up across
/// the two). So whatever a reader subtracts out of it with the (reproducible) demo figures is
/// a real figure the real table shows anyway. A table of a kind with no rows that month is
/// all zeros, so the other is taken as it is. Rows one table lacks (a department only the
/// demo data names) are zero there. Emerging topics are each table's own, never clustered
/// across the two.
pub fn combine(real: &MonthRelease, demo: &MonthRelease) -> MonthRelease {
    if real.empty {
        return demo.clone();
    }
    if demo.empty {
        return real.clone();
    }
    let topic_ids = merge_ids(
        real.topics.iter().map(|t| t.intent.as_str()).collect(),
        demo.topics.iter().map(|t| t.intent.as_str()).collect(),
    );
    let specialist_ids = merge_ids(
        real.specialists
            .iter()
            .map(|s| s.specialist.as_str())
            .collect(),
        demo.specialists
            .iter()
            .map(|s| s.specialist.as_str())
            .collect(),
    );
    MonthRelease {
        month: real.month.clone(),
        start: real.start,
        end: real.end,
        min_group_size: real.min_group_size,
        released_at: real.released_at.max(demo.released_at),
        total: add_cells(Some(real.total), Some(demo.total)),
        topics: combine_topics(real, demo, &topic_ids),
        all: add_breakdowns(Some(&real.all), Some(&demo.all)),
        departments: combine_departments(real, demo, &topic_ids),
        specialists: combine_specialists(real, demo, &specialist_ids),
        emerging: real
            .emerging
            .iter()
            .chain(&demo.emerging)
            .cloned()
            .collect(),
        empty: false,
    }
}

/// Adds one figure of the two tables (`None`: the table lacks the row): a row only one table
/// has is taken as it is, and a sum is shown only when both parts are, so the demo part never
/// uncovers a hidden real figure. A figure neither table has is hidden.
fn add_cells(a: Option<Cell>, b: Option<Cell>) -> Cell {
    match (a, b) {
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (Some(a), Some(b)) => match (a.conversations(), b.conversations()) {
            (Some(x), Some(y)) => Cell::Shown {
                askers: None,
                conversations: x + y,
            },
            _ => Cell::hidden(Hidden::ProtectsOthers),
        },
        (None, None) => Cell::hidden(Hidden::ProtectsOthers),
    }
}

/// Adds two breakdowns figure by figure, so they follow the rule of [`add_cells`] too.
fn add_breakdowns(a: Option<&Breakdown>, b: Option<&Breakdown>) -> Breakdown {
    Breakdown {
        outcomes: (0..OUTCOMES)
            .map(|o| {
                add_cells(
                    a.and_then(|a| a.outcomes.get(o).copied()),
                    b.and_then(|b| b.outcomes.get(o).copied()),
                )
            })
            .collect(),
        feedback_given: add_cells(a.map(|a| a.feedback_given), b.map(|b| b.feedback_given)),
        helpful: add_cells(a.map(|a| a.helpful), b.map(|b| b.helpful)),
        not_helpful: add_cells(a.map(|a| a.not_helpful), b.map(|b| b.not_helpful)),
        no_feedback: add_cells(a.map(|a| a.no_feedback), b.map(|b| b.no_feedback)),
    }
}

/// Merges the row ids of the two tables, which may list different rows: the real table's
/// rows in its order, then those only the demo table has ("other" last).
fn merge_ids(first: Vec<&str>, second: Vec<&str>) -> Vec<String> {
    let mut ids: Vec<String> = first
        .iter()
        .chain(&second)
        .filter(|id| **id != OTHER)
        .map(|id| id.to_string())
        .collect();
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if first.contains(&OTHER) || second.contains(&OTHER) {
        ids.push(OTHER.to_string());
    }
    ids
}

/// Finds a department's figure for a topic by name, since the two tables may number their
/// topics differently.
fn find_department_topic(table: &MonthRelease, department: &str, intent: &str) -> Option<Cell> {
    let index = table.topics.iter().position(|t| t.intent == intent)?;
    table.department(department)?.topics.get(index).copied()
}

/// Adds up the topic rows, so the combined table lists `topic_ids` whichever table has them.
fn combine_topics(
    real: &MonthRelease,
    demo: &MonthRelease,
    topic_ids: &[String],
) -> Vec<ReleasedTopic> {
    topic_ids
        .iter()
        .map(|id| {
            let (a, b) = (real.topic(id), demo.topic(id));
            ReleasedTopic {
                intent: id.clone(),
                figure: add_cells(a.map(|t| t.figure), b.map(|t| t.figure)),
                breakdown: add_breakdowns(a.map(|t| &t.breakdown), b.map(|t| &t.breakdown)),
            }
        })
        .collect()
}

/// Adds up the department rows over the departments either table names, so a department
/// only the demo data names gets a row too ([`UNKNOWN_DEPARTMENT`] last).
fn combine_departments(
    real: &MonthRelease,
    demo: &MonthRelease,
    topic_ids: &[String],
) -> Vec<ReleasedDepartment> {
    let mut departments: Vec<String> = Vec::new();
    for d in real.departments.iter().chain(&demo.departments) {
        if d.department != UNKNOWN_DEPARTMENT && !departments.contains(&d.department) {
            departments.push(d.department.clone());
        }
    }
    departments.push(UNKNOWN_DEPARTMENT.to_string());
    departments
        .iter()
        .map(|name| ReleasedDepartment {
            department: name.clone(),
            figure: add_cells(
                real.department(name).map(|d| d.figure),
                demo.department(name).map(|d| d.figure),
            ),
            topics: topic_ids
                .iter()
                .map(|id| {
                    add_cells(
                        find_department_topic(real, name, id),
                        find_department_topic(demo, name, id),
                    )
                })
                .collect(),
        })
        .collect()
}

/// Adds up the specialist rows, so the combined table lists `specialist_ids` whichever table
/// has them.
fn combine_specialists(
    real: &MonthRelease,
    demo: &MonthRelease,
    specialist_ids: &[String],
) -> Vec<ReleasedSpecialist> {
    specialist_ids
        .iter()
        .map(|id| {
            let (a, b) = (real.specialist(id), demo.specialist(id));
            ReleasedSpecialist {
                specialist: id.clone(),
                referrals: add_cells(a.map(|s| s.referrals), b.map(|s| s.referrals)),
                handoffs: add_cells(a.map(|s| s.handoffs), b.map(|s| s.handoffs)),
                without_handoff: add_cells(
                    a.map(|s| s.without_handoff),
                    b.map(|s| s.without_handoff),
                ),
            }
        })
        .collect()
}
