//! The HTML outputs: the dashboard (`GET /reports`), the standalone file
//! (`referral-desk report --format html`), the login page and the "reports are off" page.
//!
//! The templates are askama templates in `templates/`; askama compiles them into the binary,
//! checks every name they use at build time and HTML-escapes every value unless it is marked
//! `safe` (only the SVG charts and the stylesheet, both made here). The views below turn the
//! model into display strings first, so the templates hold no logic beyond loops and ifs,
//! and a hidden figure can only ever reach them as its mark (`< k`, `•` or `…`).

use std::sync::LazyLock;

use askama::Template;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::charts::{self, Bar, BarLayout, Line};
use super::labels::Labels;
use super::{HtmlMode, HtmlOptions, Lang, suppressed_text};
use crate::analytics::{Cell, DemandReport, Hidden, Outcome, OutcomeRow, Series, Share, TopicRow};

/// The one stylesheet of every page, inlined in a `<style>` element.
const STYLE: &str = include_str!("templates/style.css");

/// The `Content-Security-Policy` for every page rendered here: nothing may load, the inline
/// stylesheet is allowed by its hash (no `'unsafe-inline'`, no nonce needed), forms may only
/// post back to the app, and no other site may frame the page.
pub fn content_security_policy() -> &'static str {
    static POLICY: LazyLock<String> = LazyLock::new(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    });
    &POLICY
}

/// The templates' HTML escaper (see `askama.toml`): `&`, `<`, `>`, `"` and `'` as entities,
/// so text is safe in element content and in quoted attribute values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entities;

impl askama::filters::Escaper for Entities {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, string: &str) -> std::fmt::Result {
        let mut last = 0;
        for (i, byte) in string.bytes().enumerate() {
            let entity = match byte {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&string[last..i])?;
            dest.write_str(entity)?;
            last = i + 1;
        }
        dest.write_str(&string[last..])
    }
}

/// Why the login page is shown again, in the page's language (for [`login_page`]'s
/// `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    WrongToken,
    TooManyAttempts { retry_after_secs: u64 },
}

impl LoginError {
    pub fn message(self, lang: Lang) -> String {
        let labels = Labels::of(lang);
        match self {
            LoginError::WrongToken => labels.wrong_token.to_owned(),
            LoginError::TooManyAttempts { retry_after_secs } => {
                (labels.too_many_attempts)(retry_after_secs)
            }
        }
    }
}

// ---- views: the model as display strings -------------------------------------------------

/// One figure as shown: both numbers (the askers empty when the figure has none), or its
/// hidden mark for both, with the mark's meaning as a tooltip.
struct CellView {
    conversations: String,
    askers: String,
    suppressed: bool,
    why: String,
}

impl CellView {
    fn new(cell: &Cell, report: &DemandReport, labels: &Labels) -> CellView {
        match cell {
            Cell::Shown {
                askers,
                conversations,
            } => CellView {
                conversations: conversations.to_string(),
                askers: askers.map(|a| a.to_string()).unwrap_or_default(),
                suppressed: false,
                why: String::new(),
            },
            Cell::Suppressed { reason, .. } => {
                let mark = hidden_mark(*reason, report.min_group_size);
                let why = (labels.legend)(report.min_group_size)[legend_index(*reason)].clone();
                CellView {
                    conversations: mark.clone(),
                    askers: mark,
                    suppressed: true,
                    why,
                }
            }
        }
    }
}

/// How a hidden figure is marked in every output: `< k`, `•` or `…` (see [`Hidden`]).
pub(crate) fn hidden_mark(reason: Hidden, k: u32) -> String {
    match reason {
        Hidden::FewerThanK => format!("< {k}"),
        Hidden::ProtectsOthers => "•".to_string(),
        Hidden::IncludesHiddenMonth => "…".to_string(),
    }
}

fn legend_index(reason: Hidden) -> usize {
    match reason {
        Hidden::FewerThanK => 0,
        Hidden::ProtectsOthers => 1,
        Hidden::IncludesHiddenMonth => 2,
    }
}

/// A change or trend: arrow, signed percentage and a class for its colour.
struct ChangeView {
    arrow: &'static str,
    text: String,
    class: &'static str,
}

impl ChangeView {
    fn new(change: Option<f64>, labels: &Labels) -> ChangeView {
        match change.filter(|c| c.is_finite()) {
            Some(c) => {
                // `+ 0.0` turns -0 into 0.
                let pct = (c * 100.0).round() + 0.0;
                let (arrow, class) = if pct > 0.0 {
                    ("↑", "up")
                } else if pct < 0.0 {
                    ("↓", "down")
                } else {
                    ("→", "flat")
                };
                ChangeView {
                    arrow,
                    text: format!("{pct:+}%"),
                    class,
                }
            }
            None => ChangeView {
                arrow: "",
                text: labels.not_available.to_owned(),
                class: "na",
            },
        }
    }
}

/// A share: its part and whole (`< k` when hidden) and the model's ratio as a percentage.
struct ShareView {
    part: CellView,
    whole: CellView,
    percent: String,
}

impl ShareView {
    fn new(share: &Share, report: &DemandReport, labels: &Labels) -> ShareView {
        ShareView {
            part: CellView::new(&share.part, report, labels),
            whole: CellView::new(&share.whole, report, labels),
            percent: percent(share.ratio).unwrap_or_else(|| labels.not_available.to_owned()),
        }
    }
}

struct SeriesView {
    cells: Vec<CellView>,
    total: CellView,
    sparkline: String,
}

impl SeriesView {
    fn new(series: &Series, report: &DemandReport, labels: &Labels) -> SeriesView {
        let values: Vec<Option<u32>> = series.cells.iter().map(Cell::conversations).collect();
        let described = report
            .periods
            .iter()
            .zip(&series.cells)
            .map(|(p, c)| {
                let shown = match c {
                    Cell::Shown { conversations, .. } => conversations.to_string(),
                    Cell::Suppressed { reason, .. } => hidden_mark(*reason, report.min_group_size),
                };
                format!("{} {shown}", p.label)
            })
            .collect::<Vec<_>>()
            .join(", ");
        SeriesView {
            cells: series
                .cells
                .iter()
                .map(|c| CellView::new(c, report, labels))
                .collect(),
            total: CellView::new(&series.total, report, labels),
            sparkline: charts::sparkline(&values, &(labels.sparkline)(&described)),
        }
    }
}

struct TopicView {
    title: String,
    series: SeriesView,
    previous: CellView,
    change: ChangeView,
}

impl TopicView {
    fn new(topic: &TopicRow, report: &DemandReport, lang: Lang, labels: &Labels) -> TopicView {
        TopicView {
            title: topic_title(topic, lang),
            series: SeriesView::new(&topic.series, report, labels),
            previous: CellView::new(&topic.previous, report, labels),
            change: ChangeView::new(topic.change, labels),
        }
    }
}

struct RankView {
    title: String,
    change: ChangeView,
}

struct OutcomeView {
    title: String,
    all: bool,
    cells: Vec<CellView>,
    total: CellView,
    not_helpful: ShareView,
}

struct DepartmentView {
    name: String,
    totals_caption: String,
    topics_caption: String,
    totals: SeriesView,
    topics: Vec<TopicView>,
}

struct EmergingView {
    period: String,
    keywords: String,
    figure: CellView,
}

struct SpecialistView {
    name: String,
    referrals: SeriesView,
    handoffs: CellView,
    rate: String,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// The period selector's current values (dashboard only).
struct FormView {
    from: String,
    to: String,
    languages: Vec<Choice>,
    by_department: bool,
    /// The "include demo data" checkbox: ticked when this report includes it.
    include_demo: bool,
}

#[derive(Template)]
#[template(path = "report.html", config = "src/analytics/render/askama.toml")]
struct ReportPage<'a> {
    l: &'static Labels,
    lang: &'static str,
    style: &'static str,
    page_title: String,
    form: Option<FormView>,
    includes_demo: bool,
    range: String,
    granularity: &'static str,
    generated_at: String,
    privacy_text: String,
    suppressed_small_label: String,
    suppressed_small: usize,
    suppressed_complementary: usize,
    legend: [String; 3],
    unpublished: Vec<(String, String)>,
    multi_month: bool,
    periods: Vec<&'a str>,
    totals: SeriesView,
    main_chart: String,
    topics: Vec<TopicView>,
    rising: Vec<RankView>,
    falling: Vec<RankView>,
    outcome_names: Vec<&'static str>,
    outcomes: Vec<OutcomeView>,
    outcomes_chart: String,
    departments: Vec<DepartmentView>,
    emerging: Vec<EmergingView>,
    specialists: Vec<SpecialistView>,
    specialists_chart: String,
}

#[derive(Template)]
#[template(path = "login.html", config = "src/analytics/render/askama.toml")]
struct LoginPage<'a> {
    l: &'static Labels,
    lang: &'static str,
    style: &'static str,
    page_title: String,
    error: Option<&'a str>,
    next: &'a str,
}

#[derive(Template)]
#[template(path = "disabled.html", config = "src/analytics/render/askama.toml")]
struct DisabledPage {
    l: &'static Labels,
    lang: &'static str,
    style: &'static str,
    page_title: String,
}

/// The report as an HTML page: the dashboard with its forms, or a standalone file to mail.
pub fn to_html(report: &DemandReport, options: &HtmlOptions) -> String {
    let lang = options.lang;
    let l = Labels::of(lang);
    let hidden = suppressed_text(report);
    let k = report.min_group_size;
    let form = form_view(report, options);
    let periods: Vec<&str> = report.periods.iter().map(|p| p.label.as_str()).collect();
    let main_chart = main_chart(report, l, &hidden);

    let (outcomes, outcomes_chart) = outcome_views(report, lang, l, &hidden);
    let departments = department_views(report, lang, l);
    let emerging = format_emerging(report, l);

    let (specialists, specialists_chart) = specialist_views(report, l, &hidden);

    let page = ReportPage {
        l,
        lang: lang.code(),
        style: STYLE,
        page_title: l.title.to_owned(),
        form,
        includes_demo: report.includes_demo,
        range: format!(
            "{} – {}",
            report.from.format("%Y-%m-%d"),
            report.to.format("%Y-%m-%d")
        ),
        granularity: l.per_granularity(report.granularity),
        generated_at: report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        privacy_text: (l.privacy_text)(k),
        suppressed_small_label: (l.suppressed_small)(k),
        suppressed_small: report.suppressed_small,
        suppressed_complementary: report.suppressed_complementary,
        legend: (l.legend)(k),
        unpublished: format_unpublished(report),
        multi_month: report.periods.len() > 1,
        periods,
        totals: SeriesView::new(&report.totals, report, l),
        main_chart,
        topics: report
            .topics
            .iter()
            .map(|t| TopicView::new(t, report, lang, l))
            .collect(),
        rising: format_ranked(report, &report.rising, lang, l),
        falling: format_ranked(report, &report.falling, lang, l),
        outcome_names: Outcome::ALL.iter().map(|o| l.outcome(*o)).collect(),
        outcomes,
        outcomes_chart,
        departments,
        emerging,
        specialists,
        specialists_chart,
    };
    render(&page)
}

/// The topics of a rising or falling list, by title: the report lists them by id only. An id
/// no longer among the report's topics is shown as it is.
fn format_ranked(report: &DemandReport, ids: &[String], lang: Lang, l: &Labels) -> Vec<RankView> {
    ids.iter()
        .map(|id| match report.topics.iter().find(|t| &t.intent == id) {
            Some(topic) => RankView {
                title: topic_title(topic, lang),
                change: ChangeView::new(topic.change, l),
            },
            None => RankView {
                title: id.clone(),
                change: ChangeView::new(None, l),
            },
        })
        .collect()
}

/// Turns the emerging topics into display strings, so the template only loops over them.
fn format_emerging(report: &DemandReport, l: &Labels) -> Vec<EmergingView> {
    report
        .emerging
        .iter()
        .map(|e| EmergingView {
            period: e.period.clone(),
            keywords: e.keywords.join(", "),
            figure: CellView::new(&e.figure, report, l),
        })
        .collect()
}

/// Turns the months not published yet into (month, first day it can be seen) strings, so the
/// template only loops over them.
fn format_unpublished(report: &DemandReport) -> Vec<(String, String)> {
    report
        .unpublished
        .iter()
        .map(|u| {
            (
                u.label.clone(),
                u.published_on.format("%Y-%m-%d").to_string(),
            )
        })
        .collect()
}

/// The dashboard's range form; none in a report file.
fn form_view(report: &DemandReport, options: &HtmlOptions) -> Option<FormView> {
    let lang = options.lang;
    match options.mode {
        HtmlMode::Dashboard { by_department } => Some(FormView {
            from: report.from.format("%Y-%m-%d").to_string(),
            to: report.to.format("%Y-%m-%d").to_string(),
            languages: Lang::ALL
                .into_iter()
                .map(|x| Choice {
                    value: x.code(),
                    label: match x {
                        Lang::Nl => "Nederlands",
                        Lang::En => "English",
                    },
                    selected: x == lang,
                })
                .collect(),
            by_department,
            include_demo: report.includes_demo,
        }),
        HtmlMode::Standalone => None,
    }
}

/// Conversations and askers per period.
fn main_chart(report: &DemandReport, l: &Labels, hidden: &str) -> String {
    let period_labels: Vec<String> = report.periods.iter().map(|p| p.label.clone()).collect();
    charts::line_chart(
        &period_labels,
        &[
            Line {
                name: l.conversations,
                values: report
                    .totals
                    .cells
                    .iter()
                    .map(Cell::conversations)
                    .collect(),
                color: charts::BLUE,
            },
            Line {
                name: l.askers,
                values: report.totals.cells.iter().map(Cell::askers).collect(),
                color: charts::ORANGE,
            },
        ],
        hidden,
        l.main_chart,
    )
}

/// Where the questions went, per topic: the table rows and the stacked bar chart.
fn outcome_views(
    report: &DemandReport,
    lang: Lang,
    l: &'static Labels,
    hidden: &str,
) -> (Vec<OutcomeView>, String) {
    let outcome_title = |row: &OutcomeRow| match &row.intent {
        None => l.all_questions.to_owned(),
        Some(id) => report
            .topics
            .iter()
            .find(|t| &t.intent == id)
            .map(|t| topic_title(t, lang))
            .unwrap_or_else(|| id.clone()),
    };
    let outcomes: Vec<OutcomeView> = report
        .outcomes
        .iter()
        .map(|row| OutcomeView {
            title: outcome_title(row),
            all: row.intent.is_none(),
            cells: Outcome::ALL
                .iter()
                .map(|o| outcome_cell(row, *o))
                .map(|c| CellView::new(&c, report, l))
                .collect(),
            total: CellView::new(&row.total, report, l),
            not_helpful: ShareView::new(&row.not_helpful, report, l),
        })
        .collect();
    let colors = [
        charts::BLUE,
        charts::GREEN,
        charts::ORANGE,
        charts::SKY,
        charts::PINK,
        charts::VERMILLION,
    ];
    let outcome_legend: Vec<(&str, _)> = Outcome::ALL
        .iter()
        .zip(colors)
        .map(|(o, c)| (l.outcome(*o), c))
        .collect();
    // Per topic when there are topic rows (the all-questions bar would dwarf them; its
    // figures are in the table), else the all-questions row alone.
    let topic_rows: Vec<&OutcomeRow> = report
        .outcomes
        .iter()
        .filter(|r| r.intent.is_some())
        .collect();
    let chart_rows = if topic_rows.is_empty() {
        report.outcomes.iter().collect()
    } else {
        topic_rows
    };
    let outcome_bars: Vec<Bar> = chart_rows
        .iter()
        .map(|row| Bar {
            label: outcome_title(row),
            parts: Outcome::ALL
                .iter()
                .map(|o| outcome_cell(row, *o).conversations())
                .collect(),
        })
        .collect();
    let outcomes_chart = charts::bar_chart(
        &outcome_bars,
        &outcome_legend,
        BarLayout::Stacked,
        hidden,
        l.outcomes_chart,
    );

    (outcomes, outcomes_chart)
}

fn department_views(report: &DemandReport, lang: Lang, l: &'static Labels) -> Vec<DepartmentView> {
    report
        .departments
        .iter()
        .flatten()
        .map(|block| DepartmentView {
            name: block.department.clone(),
            totals_caption: (l.department_totals)(&block.department),
            topics_caption: (l.department_topics)(&block.department),
            totals: SeriesView::new(&block.totals, report, l),
            topics: block
                .topics
                .iter()
                .map(|t| TopicView::new(t, report, lang, l))
                .collect(),
        })
        .collect()
}

/// Referrals and handoffs per specialist: the table rows and the overlaid bar chart.
fn specialist_views(
    report: &DemandReport,
    l: &'static Labels,
    hidden: &str,
) -> (Vec<SpecialistView>, String) {
    let specialists = report
        .specialists
        .iter()
        .map(|s| SpecialistView {
            name: s.name.clone(),
            referrals: SeriesView::new(&s.referrals, report, l),
            handoffs: CellView::new(&s.handoffs.part, report, l),
            rate: percent(s.handoffs.ratio).unwrap_or_else(|| l.not_available.to_owned()),
        })
        .collect();
    let specialist_bars: Vec<Bar> = report
        .specialists
        .iter()
        .map(|s| Bar {
            label: s.name.clone(),
            parts: vec![
                s.referrals.total.conversations(),
                s.handoffs.part.conversations(),
            ],
        })
        .collect();
    let specialists_chart = charts::bar_chart(
        &specialist_bars,
        &[(l.referrals, charts::SKY), (l.handoffs, charts::BLUE)],
        BarLayout::Overlay,
        hidden,
        l.specialists_chart,
    );

    (specialists, specialists_chart)
}

/// `GET /reports` without a valid session: the access token form (`POST /reports/login`
/// with `token` and the hidden `next`), with `error` (see [`LoginError::message`]) above it.
pub fn login_page(lang: Lang, error: Option<&str>, next: &str) -> String {
    let l = Labels::of(lang);
    render(&LoginPage {
        l,
        lang: lang.code(),
        style: STYLE,
        page_title: format!("{} · {}", l.login_title, l.title),
        error,
        next,
    })
}

/// `GET /reports` while analytics are disabled: why there is nothing to see and what turning
/// it on takes.
pub fn disabled_page(lang: Lang) -> String {
    let l = Labels::of(lang);
    render(&DisabledPage {
        l,
        lang: lang.code(),
        style: STYLE,
        page_title: format!("{} · {}", l.disabled_title, l.title),
    })
}

/// Renders a page. The templates only format strings that are already there, so rendering
/// cannot fail in practice; if it ever did, the error text is a page rather than a panic.
fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "rendering a report page failed");
        String::from("<!DOCTYPE html><title>Error</title><p>Error</p>")
    })
}

/// The topic's title in `lang`, else in the other language, else its intent id.
fn topic_title(topic: &TopicRow, lang: Lang) -> String {
    let (first, second) = match lang {
        Lang::Nl => (&topic.title_nl, &topic.title_en),
        Lang::En => (&topic.title_en, &topic.title_nl),
    };
    [first, second]
        .into_iter()
        .find(|t| !t.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| topic.intent.clone())
}

/// The row's figure for `outcome`; a row without it counts as suppressed (nothing is shown
/// that the model did not give).
fn outcome_cell(row: &OutcomeRow, outcome: Outcome) -> Cell {
    row.outcomes
        .iter()
        .find(|(o, _)| *o == outcome)
        .map(|(_, c)| *c)
        .unwrap_or(Cell::hidden(Hidden::FewerThanK))
}

/// A ratio as a whole percentage.
fn percent(ratio: Option<f64>) -> Option<String> {
    ratio
        .filter(|r| r.is_finite())
        .map(|r| format!("{}%", (r * 100.0).round() + 0.0))
}
