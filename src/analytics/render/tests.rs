//! Every output against one hand-made report: three months, three topics (one mostly
//! hidden, with markup in its titles), outcomes, one department, one emerging topic, two
//! specialists, figures hidden for each of the three reasons and a month not published yet.

use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use chrono::{NaiveDate, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::*;
use crate::analytics::{
    Cell, DemandReport, DepartmentBlock, EmergingTopic, Granularity, Hidden, Outcome, OutcomeRow,
    Period, Series, Share, SpecialistRow, TopicRow, UnpublishedMonth,
};

/// Fewer than k askers.
const SUP: Cell = Cell::Suppressed {
    suppressed: true,
    reason: Hidden::FewerThanK,
};
/// Hidden to protect another figure.
const PROT: Cell = Cell::Suppressed {
    suppressed: true,
    reason: Hidden::ProtectsOthers,
};
/// A total over months with a hidden month.
const PART: Cell = Cell::Suppressed {
    suppressed: true,
    reason: Hidden::IncludesHiddenMonth,
};

/// A month's figure: conversations with askers.
fn shown(askers: u32, conversations: u32) -> Cell {
    Cell::Shown {
        askers: Some(askers),
        conversations,
    }
}

/// A figure over several months: conversations only.
fn sum(conversations: u32) -> Cell {
    Cell::Shown {
        askers: None,
        conversations,
    }
}

fn series(cells: [Cell; 3], total: Cell) -> Series {
    Series {
        cells: cells.to_vec(),
        total,
    }
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn outcomes(cells: [Cell; 6]) -> Vec<(Outcome, Cell)> {
    Outcome::ALL.into_iter().zip(cells).collect()
}

const XSS_NL: &str = "<script>alert(1)</script> verlof";
const XSS_EN: &str = "<script>alert('x')</script> & leave";

fn report() -> DemandReport {
    DemandReport {
        generated_at: Utc.with_ymd_and_hms(2026, 12, 2, 7, 45, 0).unwrap(),
        from: date(8, 1),
        to: date(10, 31),
        granularity: Granularity::Month,
        min_group_size: 5,
        periods: vec![
            Period {
                label: "2026-08".into(),
                start: date(8, 1),
                end: date(9, 1),
            },
            Period {
                label: "2026-09".into(),
                start: date(9, 1),
                end: date(10, 1),
            },
            Period {
                label: "2026-10".into(),
                start: date(10, 1),
                end: date(11, 1),
            },
        ],
        unpublished: vec![UnpublishedMonth {
            label: "2026-11".into(),
            published_on: date(12, 4),
        }],
        totals: series([shown(31, 40), shown(29, 38), shown(35, 47)], sum(125)),
        topics: vec![
            TopicRow {
                intent: "leave".into(),
                title_nl: "Verlof en vakantie".into(),
                title_en: "Leave and holidays".into(),
                series: series([shown(12, 14), shown(10, 11), shown(16, 19)], sum(44)),
                previous: sum(33),
                change: Some(11.0 / 33.0),
            },
            TopicRow {
                intent: "coaching".into(),
                title_nl: "Coaching".into(),
                title_en: "Coaching".into(),
                series: series([shown(8, 9), shown(7, 8), shown(6, 6)], sum(23)),
                previous: sum(29),
                change: Some(-6.0 / 29.0),
            },
            TopicRow {
                intent: "odd".into(),
                title_nl: XSS_NL.into(),
                title_en: XSS_EN.into(),
                series: series([shown(6, 6), SUP, PROT], PART),
                previous: PART,
                change: None,
            },
        ],
        rising: vec!["leave".into()],
        falling: vec!["coaching".into()],
        outcomes: vec![
            OutcomeRow {
                intent: None,
                outcomes: outcomes([sum(26), sum(41), sum(12), PART, PART, sum(13)]),
                total: sum(125),
                not_helpful: Share {
                    part: sum(7),
                    whole: sum(28),
                    ratio: Some(0.25),
                },
            },
            OutcomeRow {
                intent: Some("leave".into()),
                outcomes: outcomes([sum(15), sum(22), PART, PART, PART, PART]),
                total: sum(44),
                not_helpful: Share {
                    part: PART,
                    whole: sum(10),
                    ratio: None,
                },
            },
            OutcomeRow {
                intent: Some("coaching".into()),
                outcomes: outcomes([sum(21), PART, PART, PART, PART, PART]),
                total: sum(23),
                not_helpful: Share {
                    part: sum(5),
                    whole: sum(20),
                    ratio: Some(0.25),
                },
            },
            OutcomeRow {
                intent: Some("odd".into()),
                outcomes: outcomes([PART; 6]),
                total: PART,
                not_helpful: Share {
                    part: PART,
                    whole: PART,
                    ratio: None,
                },
            },
        ],
        departments: Some(vec![DepartmentBlock {
            department: "Finance & Control".into(),
            totals: series([shown(11, 13), shown(9, 10), shown(12, 16)], sum(39)),
            topics: vec![TopicRow {
                intent: "leave".into(),
                title_nl: "Verlof en vakantie".into(),
                title_en: "Leave and holidays".into(),
                series: series([shown(5, 5), PROT, shown(7, 8)], PART),
                previous: sum(12),
                change: None,
            }],
        }]),
        emerging: vec![EmergingTopic {
            id: "2026-10-topic-1".into(),
            period: "2026-10".into(),
            keywords: vec!["thuiswerken".into(), "vergoeding".into()],
            figure: shown(17, 26),
        }],
        specialists: vec![
            SpecialistRow {
                specialist: "anna".into(),
                name: "Anna de Vries".into(),
                referrals: series([shown(6, 7), shown(8, 9), shown(5, 5)], sum(21)),
                handoffs: Share {
                    part: sum(10),
                    whole: sum(21),
                    ratio: Some(10.0 / 21.0),
                },
            },
            SpecialistRow {
                specialist: "bram".into(),
                name: "Bram Jansen".into(),
                referrals: series([SUP, shown(5, 6), SUP], PART),
                handoffs: Share {
                    part: PART,
                    whole: PART,
                    ratio: None,
                },
            },
        ],
        suppressed_small: 19,
        suppressed_complementary: 8,
        includes_demo: false,
    }
}

fn dashboard(lang: Lang, by_department: bool) -> HtmlOptions {
    HtmlOptions {
        lang,
        mode: HtmlMode::Dashboard { by_department },
    }
}

fn standalone(lang: Lang) -> HtmlOptions {
    HtmlOptions {
        lang,
        mode: HtmlMode::Standalone,
    }
}

fn all_pages(report: &DemandReport) -> Vec<String> {
    let mut pages = Vec::new();
    for lang in Lang::ALL {
        pages.push(to_html(report, &dashboard(lang, true)));
        pages.push(to_html(report, &standalone(lang)));
    }
    pages
}

/// Every cell of the model with a path that names it (for messages).
fn walk_cells(report: &DemandReport) -> Vec<(String, Cell)> {
    let mut cells = Vec::new();
    let mut series = |name: &str, s: &Series| {
        for (p, c) in report.periods.iter().zip(&s.cells) {
            cells.push((format!("{name} {}", p.label), *c));
        }
        cells.push((format!("{name} total"), s.total));
    };
    series("totals", &report.totals);
    for t in &report.topics {
        series(&t.intent, &t.series);
    }
    for d in report.departments.iter().flatten() {
        series(&d.department, &d.totals);
        for t in &d.topics {
            series(&format!("{}/{}", d.department, t.intent), &t.series);
        }
    }
    for s in &report.specialists {
        series(&s.specialist, &s.referrals);
    }
    for e in &report.emerging {
        cells.push((e.id.clone(), e.figure));
    }
    for t in &report.topics {
        cells.push((format!("{} previous", t.intent), t.previous));
    }
    for d in report.departments.iter().flatten() {
        for t in &d.topics {
            cells.push((
                format!("{}/{} previous", d.department, t.intent),
                t.previous,
            ));
        }
    }
    for o in &report.outcomes {
        let key = o.intent.clone().unwrap_or_else(|| "all".into());
        for (outcome, c) in &o.outcomes {
            cells.push((format!("outcome {key} {}", outcome.as_str()), *c));
        }
        cells.push((format!("outcome {key} total"), o.total));
        cells.push((format!("not_helpful {key} part"), o.not_helpful.part));
        cells.push((format!("not_helpful {key} whole"), o.not_helpful.whole));
    }
    for s in &report.specialists {
        cells.push((format!("handoffs {}", s.specialist), s.handoffs.part));
    }
    cells
}

/// The text of every `<td>` and `<dd>` of the page (inner tags removed, trimmed).
fn data_cells(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [("<td", "</td>"), ("<dd", "</dd>")] {
        let mut rest = html;
        while let Some(start) = rest.find(open) {
            let after = &rest[start..];
            let Some(body_start) = after.find('>') else {
                break;
            };
            if after[..body_start].contains("spark") {
                // Sparklines: their title repeats the period labels and figures.
                rest = &after[body_start..];
                continue;
            }
            let Some(end) = after.find(close) else {
                break;
            };
            out.push(strip_tags(&after[body_start + 1..end]));
            rest = &after[end..];
        }
    }
    out
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// The `<tr>` of the table whose caption is `caption`, whose row header is `row`.
fn table_row(html: &str, caption: &str, row: &str) -> Vec<String> {
    let table = html
        .split("<table")
        .find(|t| t.contains(&format!("<caption>{caption}</caption>")))
        .unwrap_or_else(|| panic!("no table {caption}"));
    let tr = table
        .split("<tr")
        .find(|tr| tr.contains(&format!("<th scope=\"row\">{row}</th>")))
        .unwrap_or_else(|| panic!("no row {row} in {caption}"));
    data_cells(tr.split("</tr>").next().unwrap())
}

#[test]
fn html_has_svg_charts_and_every_shown_number() {
    let report = report();
    for html in all_pages(&report) {
        assert!(html.starts_with("<!DOCTYPE html>"));
        // Main line chart, outcomes, specialists, and one sparkline per series.
        assert!(html.matches("<svg class=\"chart").count() >= 3, "charts");
        assert!(html.matches("<svg").count() >= 2 + report.topics.len());
        assert!(html.contains("<text"), "chart text is SVG text");
        let cells = data_cells(&html);
        for (name, cell) in walk_cells(&report) {
            match cell {
                Cell::Shown {
                    askers: Some(askers),
                    conversations,
                } => {
                    let both = format!("{conversations} ({askers})");
                    let as_pair = cells.contains(&both);
                    let apart = cells.contains(&conversations.to_string())
                        && cells.contains(&askers.to_string());
                    assert!(as_pair || apart, "{name}: {both} not shown");
                }
                Cell::Shown {
                    askers: None,
                    conversations,
                } => assert!(
                    cells.contains(&conversations.to_string()),
                    "{name}: {conversations} not shown"
                ),
                Cell::Suppressed { .. } => {}
            }
        }
        for n in [report.suppressed_small, report.suppressed_complementary] {
            assert!(cells.contains(&n.to_string()));
        }
        for period in &report.periods {
            assert!(html.contains(&format!(">{}<", period.label)));
        }
        assert!(html.contains("2026-08-01 – 2026-10-31"));
        assert!(html.contains("2026-12-02 07:45 UTC"));
        assert!(
            html.contains("2026-11") && html.contains("2026-12-04"),
            "unpublished"
        );
    }
}

/// Issue 13, item 2: a figure hidden to protect others (which may be ~100) never reads as
/// "< 5"; each reason has its own mark and a legend.
#[test]
fn item2_hidden_figures_are_marked_by_why_they_are_hidden() {
    let report = report();
    let nl = to_html(&report, &standalone(Lang::Nl));
    let en = to_html(&report, &standalone(Lang::En));

    let title_nl = "&lt;script&gt;alert(1)&lt;/script&gt; verlof";
    assert_eq!(
        table_row(&nl, "Per periode: gesprekken (personen)", title_nl),
        ["6 (6)", "&lt; 5", "•", "…"]
    );
    let title_en = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; leave";
    let row = table_row(&en, "Per period: conversations (people)", title_en);
    assert_eq!(row, ["6 (6)", "&lt; 5", "•", "…"], "{row:?}");
    let topic = table_row(
        &en,
        "Conversations per topic, with trend and change against the range before",
        title_en,
    );
    assert_eq!(topic, ["…", "…", "…", "–"], "{topic:?}");
    let specialist = table_row(
        &en,
        "Referrals per specialist: conversations (people)",
        "Bram Jansen",
    );
    assert_eq!(specialist, ["&lt; 5", "6 (5)", "&lt; 5", "…", "…", "–"]);
    // totals over months show conversations without an asker count
    let leave = table_row(
        &en,
        "Per period: conversations (people)",
        "Leave and holidays",
    );
    assert_eq!(leave, ["14 (12)", "11 (10)", "19 (16)", "44"]);
    // each mark is explained, and the cell says why as a tooltip
    for (html, words) in [
        (
            &en,
            [
                "fewer than 5 people asked",
                "may be large",
                "one of which is hidden",
            ],
        ),
        (
            &nl,
            [
                "minder dan 5 personen",
                "kan groot zijn",
                "waarvan er een verborgen is",
            ],
        ),
    ] {
        for w in words {
            assert!(html.contains(w), "{w}");
        }
        assert!(html.contains("class=\"num sup\" title=\""));
    }
    let csv = to_csv(&report);
    assert!(csv.contains("\"protects_others\""), "{csv}");
    assert!(csv.contains("\"includes_hidden_month\""));
    assert!(csv.contains("\"fewer_than_k\""));
    let json = to_json(&report);
    assert!(json.contains("\"reason\": \"protects_others\""));

    // No data cell holds a number the model does not show: every number in a cell is a
    // shown figure, k, a count of hidden cells or a percentage of a model ratio.
    let mut allowed: BTreeSet<u64> = BTreeSet::new();
    for (_, cell) in walk_cells(&report) {
        allowed.extend(cell.askers().map(u64::from));
        allowed.extend(cell.conversations().map(u64::from));
    }
    allowed.insert(u64::from(report.min_group_size));
    allowed.insert(report.suppressed_small as u64);
    allowed.insert(report.suppressed_complementary as u64);
    let ratios = report
        .topics
        .iter()
        .chain(report.departments.iter().flatten().flat_map(|d| &d.topics))
        .map(|t| t.change)
        .chain(report.outcomes.iter().map(|o| o.not_helpful.ratio))
        .chain(report.specialists.iter().map(|s| s.handoffs.ratio))
        .flatten();
    allowed.extend(ratios.map(|r| (r * 100.0).round().abs() as u64));
    for html in [&nl, &en] {
        for cell in data_cells(html) {
            if report.periods.iter().any(|p| p.label == cell) {
                continue; // the month column of the emerging topics
            }
            for number in cell
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
            {
                let n: u64 = number.parse().unwrap();
                assert!(
                    allowed.contains(&n),
                    "{n} in cell {cell:?} is not in the model"
                );
            }
        }
        // `< 5` is never written unescaped, and never next to a number.
        assert!(!html.contains("< 5"));
        assert!(!html.contains("&lt; 5 ("));
        assert!(!html.contains("• (") && !html.contains("… ("));
    }
}

#[test]
fn standalone_is_self_contained() {
    let report = report();
    for lang in Lang::ALL {
        let html = to_html(&report, &standalone(lang));
        assert!(!html.contains("<form"), "no forms");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no URLs"
        );
        assert!(!html.contains("<script"), "no script");
        assert!(!html.contains("src="), "no src");
        assert!(!html.contains("href="), "no links");
        assert!(!html.contains("<link"), "no linked stylesheet");
        assert!(
            !html.contains("@import") && !html.contains("url("),
            "no CSS loads"
        );
        assert!(!html.contains("style="), "no style attributes (CSP)");
        assert!(
            !html.contains(" on") || !has_event_handler(&html),
            "no inline handlers"
        );
        assert!(html.contains("<style>"));
    }
}

fn has_event_handler(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    lower.match_indices(" on").any(|(i, _)| {
        let rest = &lower[i + 3..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    })
}

#[test]
fn dashboard_has_the_selector_with_current_values() {
    let mut report = report();
    let html = to_html(&report, &dashboard(Lang::En, true));
    assert!(html.contains("<form method=\"get\" action=\"/reports\""));
    assert!(html.contains("<input type=\"date\" name=\"from\" value=\"2026-08-01\""));
    assert!(html.contains("<input type=\"date\" name=\"to\" value=\"2026-10-31\""));
    assert!(
        !html.contains("name=\"granularity\""),
        "months only: no granularity to choose"
    );
    assert!(html.contains("<option value=\"en\" selected>English</option>"));
    assert!(html.contains("<option value=\"nl\">Nederlands</option>"));
    assert!(html.contains("name=\"by_department\" value=\"true\" checked"));
    assert!(html.contains("<form method=\"post\" action=\"/reports/logout\""));
    assert!(!has_event_handler(&html) && !html.contains("<script"));

    report.departments = None;
    let html = to_html(&report, &dashboard(Lang::Nl, false));
    assert!(html.contains("<option value=\"nl\" selected>Nederlands</option>"));
    assert!(html.contains("name=\"by_department\" value=\"true\">"));
    assert!(!html.contains("checked"));
    assert!(!html.contains("id=\"departments\""));
    assert!(html.contains(">Uitloggen</button>"));
}

#[test]
fn dutch_and_english_labels() {
    let report = report();
    let nl = to_html(&report, &standalone(Lang::Nl));
    let en = to_html(&report, &standalone(Lang::En));
    assert!(nl.contains("<html lang=\"nl\">"));
    assert!(en.contains("<html lang=\"en\">"));
    for text in [
        "<h1>Vraag naar ondersteuning</h1>",
        "Vraag per onderwerp",
        "Verlof en vakantie",
        "Cijfers die op minder dan 5 personen berusten, zijn verborgen",
        "per kalendermaand",
        "Onvervulde vraag en opkomende onderwerpen",
        "Per afdeling",
        "Verwijzingen naar specialisten",
        "Sterkst gestegen",
        "Gemaakt op",
    ] {
        assert!(nl.contains(text), "nl: {text}");
        assert!(!en.contains(text), "en has nl: {text}");
    }
    for text in [
        "<h1>Demand report</h1>",
        "Demand per topic",
        "Leave and holidays",
        "Figures based on fewer than 5 people are hidden",
        "once per calendar month",
        "Unmet demand and emerging topics",
        "By department",
        "Referrals to specialists",
        "Rising most",
        "Generated at",
    ] {
        assert!(en.contains(text), "en: {text}");
        assert!(!nl.contains(text), "nl has en: {text}");
    }
    // Rising and falling name their topic with the change.
    assert!(en.contains("Leave and holidays <span class=\"change up\">"));
    assert!(en.contains("+33%"));
    assert!(en.contains("Coaching <span class=\"change down\">"));
    assert!(en.contains("-21%"));
    assert!(en.contains("thuiswerken, vergoeding"));
    assert!(en.contains("Finance &amp; Control"));
}

#[test]
fn html_escapes_catalogue_text() {
    let report = report();
    for html in all_pages(&report) {
        assert!(!html.contains("<script"), "raw markup from the catalogue");
        assert!(!html.contains("alert(1)</"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("Finance & Control"));
    }
}

#[test]
fn csv_has_every_figure_as_in_the_model() {
    let report = report();
    let text = to_csv(&report);
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "section",
            "key",
            "label",
            "period",
            "askers",
            "conversations",
            "suppressed",
            "hidden",
            "ratio"
        ]
    );
    let mut rows: HashMap<(String, String, String, String), ::csv::StringRecord> = HashMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(record.len(), 9);
        let key = (
            record[0].to_owned(),
            record[1].to_owned(),
            record[2].to_owned(),
            record[3].to_owned(),
        );
        assert!(
            rows.insert(key.clone(), record).is_none(),
            "duplicate {key:?}"
        );
    }

    let check = |section: &str, key: &str, label: &str, period: &str, cell: &Cell| {
        let id = (section.into(), key.into(), label.into(), period.into());
        let row = rows.get(&id).unwrap_or_else(|| panic!("missing {id:?}"));
        match cell {
            Cell::Shown {
                askers,
                conversations,
            } => {
                let askers = askers.map(|a| a.to_string()).unwrap_or_default();
                assert_eq!(&row[4], askers, "{id:?}");
                assert_eq!(&row[5], conversations.to_string(), "{id:?}");
                assert_eq!((&row[6], &row[7]), ("false", ""), "{id:?}");
            }
            Cell::Suppressed { reason, .. } => {
                assert_eq!((&row[4], &row[5], &row[6]), ("", "", "true"), "{id:?}");
                let name = serde_json::to_value(reason).unwrap();
                assert_eq!(&row[7], name.as_str().unwrap(), "{id:?}");
            }
        }
    };
    let check_ratio = |section: &str, key: &str, label: &str, period: &str, r: Option<f64>| {
        let id = (section.into(), key.into(), label.into(), period.into());
        let row = rows.get(&id).unwrap_or_else(|| panic!("missing {id:?}"));
        match r {
            Some(r) => assert_eq!(row[8].parse::<f64>().unwrap(), r, "{id:?}"),
            None => assert_eq!(&row[8], "", "{id:?}"),
        }
    };
    let check_series = |section: &str, key: &str, label: &str, s: &Series| {
        for (p, c) in report.periods.iter().zip(&s.cells) {
            check(section, key, label, &p.label, c);
        }
        check(section, key, label, "total", &s.total);
    };
    let mut expected = 0;

    check_series("totals", "all", "", &report.totals);
    expected += 4;
    for t in &report.topics {
        check_series("topic", &t.intent, &t.title_en, &t.series);
        check("topic", &t.intent, &t.title_en, "previous", &t.previous);
        check_ratio("topic", &t.intent, &t.title_en, "change", t.change);
        expected += 6;
    }
    for o in &report.outcomes {
        let key = o.intent.as_deref().unwrap_or("all");
        for (outcome, c) in &o.outcomes {
            check("outcome", key, outcome.as_str(), "total", c);
        }
        check("outcome", key, "total", "total", &o.total);
        check(
            "not_helpful",
            key,
            "not_helpful",
            "total",
            &o.not_helpful.part,
        );
        check_ratio(
            "not_helpful",
            key,
            "not_helpful",
            "total",
            o.not_helpful.ratio,
        );
        check(
            "not_helpful",
            key,
            "feedback",
            "total",
            &o.not_helpful.whole,
        );
        expected += 9;
    }
    for d in report.departments.iter().flatten() {
        check_series("department", &d.department, "", &d.totals);
        expected += 4;
        for t in &d.topics {
            let key = format!("{}/{}", d.department, t.intent);
            check_series("department_topic", &key, &t.title_en, &t.series);
            check(
                "department_topic",
                &key,
                &t.title_en,
                "previous",
                &t.previous,
            );
            check_ratio("department_topic", &key, &t.title_en, "change", t.change);
            expected += 6;
        }
    }
    for e in &report.emerging {
        let label = e.keywords.join(" ");
        check("emerging", &e.id, &label, &e.period, &e.figure);
        expected += 1;
    }
    for s in &report.specialists {
        check_series("specialist", &s.specialist, &s.name, &s.referrals);
        check(
            "handoff",
            &s.specialist,
            "handoffs",
            "total",
            &s.handoffs.part,
        );
        check_ratio(
            "handoff",
            &s.specialist,
            "handoffs",
            "total",
            s.handoffs.ratio,
        );
        check(
            "handoff",
            &s.specialist,
            "referrals",
            "total",
            &s.handoffs.whole,
        );
        expected += 6;
    }
    assert_eq!(rows.len(), expected, "no other rows");

    // The ratio is written as the JSON writes it.
    let json = to_json(&report);
    let leave = &rows[&(
        "topic".to_owned(),
        "leave".to_owned(),
        "Leave and holidays".to_owned(),
        "change".to_owned(),
    )];
    assert!(
        json.contains(&format!("\"change\": {}", &leave[8])),
        "{}",
        &leave[8]
    );
    // Markup and commas in labels survive the quoting.
    assert!(rows.keys().any(|k| k.2 == XSS_EN));
}

#[test]
fn json_round_trips() {
    let report = report();
    let json = to_json(&report);
    let back: DemandReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert!(json.contains("\"suppressed\": true"));
    assert!(json.starts_with("{\n  "), "pretty-printed");
}

#[test]
fn login_page_in_both_languages() {
    let next = "/reports?from=2026-10-05&to=2026-10-25&lang=nl\"><b>";
    let nl = login_page(Lang::Nl, None, next);
    assert!(nl.contains("<html lang=\"nl\">"));
    assert!(nl.contains("<form method=\"post\" action=\"/reports/login\""));
    assert!(nl.contains("name=\"token\""));
    assert!(nl.contains("type=\"password\""));
    assert!(nl.contains("Toegangstoken"));
    assert!(nl.contains(
        "<input type=\"hidden\" name=\"next\" value=\"/reports?from=2026-10-05&amp;to=2026-10-25&amp;lang=nl&quot;&gt;&lt;b&gt;\">"
    ));
    assert!(!nl.contains("role=\"alert\""));
    assert!(!has_event_handler(&nl) && !nl.contains("<script"));

    let wait = LoginError::TooManyAttempts {
        retry_after_secs: 30,
    }
    .message(Lang::En);
    let en = login_page(Lang::En, Some(&wait), "/reports");
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Access token"));
    assert!(en.contains("role=\"alert\">Too many attempts. Wait 30 s and try again.</p>"));

    let wrong = LoginError::WrongToken.message(Lang::Nl);
    let nl = login_page(Lang::Nl, Some(&wrong), "/reports");
    assert!(nl.contains("Onjuist toegangstoken."));
    let escaped = login_page(Lang::En, Some("<b>wrong</b>"), "/reports");
    assert!(escaped.contains("&lt;b&gt;wrong&lt;/b&gt;"));
}

#[test]
fn disabled_page_in_both_languages() {
    let nl = disabled_page(Lang::Nl);
    assert!(nl.contains("<html lang=\"nl\">"));
    assert!(nl.contains("Rapportages staan uit"));
    assert!(nl.contains("<code>analytics.enabled = true</code>"));
    assert!(nl.contains("ondernemingsraad"));
    assert!(nl.contains("art. 27"));
    let en = disabled_page(Lang::En);
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Reports are off"));
    assert!(en.contains("<code>analytics.enabled = true</code>"));
    assert!(en.contains("works council (ondernemingsraad)"));
    assert!(en.contains("WOR art. 27"));
    for page in [nl, en] {
        assert!(!page.contains("<form") && !page.contains("<script"));
    }
}

#[test]
fn the_policy_allows_exactly_the_inline_stylesheet() {
    let report = report();
    let mut pages = all_pages(&report);
    pages.push(login_page(Lang::En, None, "/reports"));
    pages.push(disabled_page(Lang::Nl));
    let policy = content_security_policy();
    assert!(policy.contains("default-src 'none'"));
    assert!(!policy.contains("unsafe-inline"));
    for page in pages {
        assert_eq!(page.matches("<style>").count(), 1);
        let css = page.split("<style>").nth(1).unwrap();
        let css = css.split("</style>").next().unwrap();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css));
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
        assert!(!page.contains("style="));
    }
}

#[test]
fn an_empty_report_still_renders() {
    let mut report = report();
    report.periods.clear();
    report.totals = Series {
        cells: vec![],
        total: SUP,
    };
    report.topics.clear();
    report.rising.clear();
    report.falling.clear();
    report.outcomes.clear();
    report.departments = None;
    report.emerging.clear();
    report.specialists.clear();
    for lang in Lang::ALL {
        let html = to_html(&report, &dashboard(lang, false));
        assert!(html.contains("</html>"));
        assert!(html.contains("&lt; 5"));
    }
    let csv = to_csv(&report);
    assert_eq!(csv.lines().count(), 2, "{csv}");
}
