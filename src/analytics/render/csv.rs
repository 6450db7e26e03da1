//! The report as CSV in long format: one row per figure, for spreadsheets and scripts.
//!
//! Columns: `section,key,label,period,askers,conversations,suppressed,hidden,ratio`.
//!
//! | section            | key                     | label                       | period                               |
//! |--------------------|-------------------------|-----------------------------|--------------------------------------|
//! | `totals`           | `all`                   | empty                       | period label, `total`                |
//! | `topic`            | intent id               | English title               | period label, `total`, `previous`, `change` |
//! | `outcome`          | intent id or `all`      | outcome (`specialist`, …, `total`) | `total`                       |
//! | `not_helpful`      | intent id or `all`      | `not_helpful`, `feedback`   | `total`                              |
//! | `department`       | department              | empty                       | period label, `total`                |
//! | `department_topic` | `department/intent id`  | English title               | as `topic`                           |
//! | `emerging`         | cluster id              | keywords joined by a space  | the month's label                    |
//! | `specialist`       | specialist id           | name                        | period label, `total`                |
//! | `handoff`          | specialist id           | `handoffs`, `referrals`     | `total`                              |
//! | `data`             | `includes_demo`         | what that means             | empty                                |
//!
//! The `data` row comes first, and only in a report that includes demo data (synthetic
//! conversations from `seed-demo`, see [`DemandReport::includes_demo`]); its counts are empty
//! and `suppressed` is `false`.
//!
//! A hidden figure has empty `askers` and `conversations`, `suppressed` = `true` and in
//! `hidden` why: `fewer_than_k`, `protects_others` or `includes_hidden_month` (the JSON's
//! `reason`); a shown one has its numbers (`askers` empty for totals over several months)
//! and `false`. `ratio` is filled only on the rows that carry one: `change` rows (empty
//! counts; `suppressed` is `true` when the ratio could not be given because a figure behind
//! it is hidden), the `not_helpful` row of `not_helpful` and the `handoffs` row of
//! `handoff` (the model's share). Ratios are written exactly as in the JSON output.
//!
//! Keys and labels come from the catalogue, the directory, the department list and
//! (emerging topics' keywords) from what employees typed. Every text field is quoted, so a
//! spreadsheet that splits on another separator than the comma (Excel in a Dutch locale
//! splits on `;`) keeps it in one cell; and a spreadsheet would run a text that starts with
//! `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, also after any separator it
//! might split on, so each such character at the start of the text or after a `,`, `;`, tab
//! or line break gets a `'` before it (which spreadsheets show as "text").

use ::csv::{QuoteStyle, WriterBuilder};

use super::super::{Cell, DemandReport, Hidden, Series, Share, TopicRow};

const HEADER: [&str; 9] = [
    "section",
    "key",
    "label",
    "period",
    "askers",
    "conversations",
    "suppressed",
    "hidden",
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
        .quote_style(QuoteStyle::NonNumeric)
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
    out: Vec<[String; 9]>,
}

impl Rows<'_> {
    fn build(&mut self) {
        let report = self.report;
        if report.includes_demo {
            self.out.push([
                "data".into(),
                "includes_demo".into(),
                "these figures include demo data: synthetic conversations from seed-demo".into(),
                String::new(),
                String::new(),
                String::new(),
                "false".into(),
                String::new(),
                String::new(),
            ]);
        }
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
            self.cell("emerging", &topic.id, &label, &topic.period, &topic.figure);
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
        let (askers, conversations, suppressed, hidden) = match cell {
            Cell::Shown {
                askers,
                conversations,
            } => (
                askers.map(|a| a.to_string()).unwrap_or_default(),
                conversations.to_string(),
                "false",
                "",
            ),
            Cell::Suppressed { reason, .. } => {
                (String::new(), String::new(), "true", hidden_name(*reason))
            }
        };
        self.out.push([
            section.to_owned(),
            text(key),
            text(label),
            period.to_owned(),
            askers,
            conversations,
            suppressed.to_owned(),
            hidden.to_owned(),
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
            String::new(),
            ratio(value),
        ]);
    }
}

/// A text field that no spreadsheet takes for a formula, whatever separator it splits on:
/// a `'` before each formula character at the start or right after a separator.
fn text(value: &str) -> String {
    const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
    const SEPARATORS: [char; 5] = [',', ';', '\t', '\n', '\r'];
    let mut out = String::with_capacity(value.len() + 2);
    let mut at_start = true;
    for c in value.chars() {
        if at_start && FORMULA.contains(&c) {
            out.push('\'');
        }
        out.push(c);
        at_start = SEPARATORS.contains(&c);
    }
    out
}

/// The JSON name of a [`Hidden`] reason, for the `hidden` column.
fn hidden_name(reason: Hidden) -> &'static str {
    match reason {
        Hidden::FewerThanK => "fewer_than_k",
        Hidden::ProtectsOthers => "protects_others",
        Hidden::IncludesHiddenMonth => "includes_hidden_month",
    }
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

    /// Issue 13, item 8: Excel in a Dutch locale splits on `;`, so a formula after any
    /// separator must be neutralised too.
    #[test]
    fn item8_formulas_after_a_separator_stay_text() {
        assert_eq!(text("Finance;=1+1"), "Finance;'=1+1");
        assert_eq!(text("a,@SUM(A1);-2"), "a,'@SUM(A1);'-2");
        assert_eq!(text("x\t=cmd"), "x\t'=cmd");
        assert_eq!(text("line\n+1"), "line\n'+1");
        assert_eq!(text("a-b = c"), "a-b = c", "only at the start of a field");
    }
}
