//! The report as CSV in long format: one row per figure, for spreadsheets and scripts.
//!
//! Columns: `section,key,label,period,askers,conversations,suppressed,ratio`.
//!
//! | section            | key                     | label                       | period                               |
//! |--------------------|-------------------------|-----------------------------|--------------------------------------|
//! | `totals`           | `all`                   | empty                       | period label, `total`                |
//! | `topic`            | intent id               | English title               | period label, `total`, `previous`, `change` |
//! | `outcome`          | intent id or `all`      | outcome (`specialist`, …, `total`) | `total`                       |
//! | `not_helpful`      | intent id or `all`      | `not_helpful`, `feedback`   | `total`                              |
//! | `department`       | department              | empty                       | period label, `total`                |
//! | `department_topic` | `department/intent id`  | English title               | as `topic`                           |
//! | `emerging`         | cluster id              | keywords joined by a space  | period label, `total`, `trend`       |
//! | `specialist`       | specialist id           | name                        | period label, `total`                |
//! | `handoff`          | specialist id           | `handoffs`, `referrals`     | `total`                              |
//!
//! A suppressed figure has empty `askers` and `conversations` and `suppressed` = `true`;
//! a shown one has both numbers and `false`. `ratio` is filled only on the rows that carry
//! one: `change` and `trend` rows (empty counts; `suppressed` is `true` when the ratio could
//! not be given because a figure behind it is hidden), the `not_helpful` row of
//! `not_helpful` and the `handoffs` row of `handoff` (the model's share). Ratios are written
//! exactly as in the JSON output.
//!
//! Keys and labels come from the catalogue, the directory and (emerging topics' keywords)
//! from what employees typed. A spreadsheet would run one that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return as a formula, so such a text gets a leading `'` (which
//! spreadsheets show as "text", not as part of the value).

use ::csv::{QuoteStyle, WriterBuilder};

use super::super::{Cell, DemandReport, Series, Share, TopicRow};

const HEADER: [&str; 8] = [
    "section",
    "key",
    "label",
    "period",
    "askers",
    "conversations",
    "suppressed",
    "ratio",
];

/// The report as CSV (see the module docs for the rows).
pub fn to_csv(report: &DemandReport) -> String {
    let mut rows = Rows {
        report,
        out: Vec::new(),
    };
    rows.build();

    let mut writer = WriterBuilder::new()
        .quote_style(QuoteStyle::Necessary)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; the records all have the header's width.
    let _ = writer.write_record(HEADER);
    for row in &rows.out {
        let _ = writer.write_record(row);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

struct Rows<'r> {
    report: &'r DemandReport,
    out: Vec<[String; 8]>,
}

impl Rows<'_> {
    fn build(&mut self) {
        let report = self.report;
        self.series("totals", "all", "", &report.totals);
        for topic in &report.topics {
            self.topic("topic", &topic.intent, topic);
        }
        for row in &report.outcomes {
            let key = row.intent.as_deref().unwrap_or("all");
            for (outcome, cell) in &row.outcomes {
                self.cell("outcome", key, outcome.as_str(), "total", cell);
            }
            self.cell("outcome", key, "total", "total", &row.total);
            self.share(
                "not_helpful",
                key,
                ("not_helpful", "feedback"),
                &row.not_helpful,
            );
        }
        for block in report.departments.iter().flatten() {
            self.series("department", &block.department, "", &block.totals);
            for topic in &block.topics {
                let key = format!("{}/{}", block.department, topic.intent);
                self.topic("department_topic", &key, topic);
            }
        }
        for topic in &report.emerging {
            let label = topic.keywords.join(" ");
            self.series("emerging", &topic.id, &label, &topic.series);
            let hidden = topic.trend.is_none() && has_suppressed(&topic.series);
            self.ratio("emerging", &topic.id, &label, "trend", topic.trend, hidden);
        }
        for specialist in &report.specialists {
            let (key, name) = (&specialist.specialist, &specialist.name);
            self.series("specialist", key, name, &specialist.referrals);
            self.share(
                "handoff",
                key,
                ("handoffs", "referrals"),
                &specialist.handoffs,
            );
        }
    }

    fn topic(&mut self, section: &str, key: &str, topic: &TopicRow) {
        let label = &topic.title_en;
        self.series(section, key, label, &topic.series);
        self.cell(section, key, label, "previous", &topic.previous);
        let hidden = topic.change.is_none()
            && (topic.series.total.is_suppressed() || topic.previous.is_suppressed());
        self.ratio(section, key, label, "change", topic.change, hidden);
    }

    fn series(&mut self, section: &str, key: &str, label: &str, series: &Series) {
        for (period, cell) in self.report.periods.iter().zip(&series.cells) {
            self.cell(section, key, label, &period.label, cell);
        }
        self.cell(section, key, label, "total", &series.total);
    }

    fn share(&mut self, section: &str, key: &str, labels: (&str, &str), share: &Share) {
        self.push(
            section,
            key,
            labels.0,
            "total",
            &share.part,
            ratio(share.ratio),
        );
        self.cell(section, key, labels.1, "total", &share.whole);
    }

    fn cell(&mut self, section: &str, key: &str, label: &str, period: &str, cell: &Cell) {
        self.push(section, key, label, period, cell, String::new());
    }

    fn push(
        &mut self,
        section: &str,
        key: &str,
        label: &str,
        period: &str,
        cell: &Cell,
        ratio: String,
    ) {
        let (askers, conversations, suppressed) = match cell {
            Cell::Shown {
                askers,
                conversations,
            } => (askers.to_string(), conversations.to_string(), "false"),
            Cell::Suppressed { .. } => (String::new(), String::new(), "true"),
        };
        self.out.push([
            section.to_owned(),
            text(key),
            text(label),
            period.to_owned(),
            askers,
            conversations,
            suppressed.to_owned(),
            ratio,
        ]);
    }

    fn ratio(
        &mut self,
        section: &str,
        key: &str,
        label: &str,
        period: &str,
        value: Option<f64>,
        hidden: bool,
    ) {
        self.out.push([
            section.to_owned(),
            text(key),
            text(label),
            period.to_owned(),
            String::new(),
            String::new(),
            hidden.to_string(),
            ratio(value),
        ]);
    }
}

/// A text field that no spreadsheet takes for a formula.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn has_suppressed(series: &Series) -> bool {
    series.total.is_suppressed() || series.cells.iter().any(Cell::is_suppressed)
}

/// A ratio as the JSON output writes it (shortest form that reads back exactly); empty when
/// absent or not finite (JSON has no NaN).
fn ratio(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => serde_json::to_string(&v).unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn texts_that_look_like_formulas_stay_text() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("+31 20"), "'+31 20");
        assert_eq!(text("-1"), "'-1");
        assert_eq!(text("@sum"), "'@sum");
        assert_eq!(text("Leave & <b>"), "Leave & <b>");
        assert_eq!(text(""), "");
    }
}
