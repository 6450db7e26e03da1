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
use super::{HtmlMode, HtmlOptions, Lang, suppressed_text};
use crate::analytics::{
    Cell, DemandReport, Granularity, Hidden, Outcome, OutcomeRow, Series, Share, TopicRow,
};

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

/// The fixed words of the pages in one language.
struct Labels {
    title: &'static str,
    range: &'static str,
    granularity: &'static str,
    generated_at: &'static str,
    per_day: &'static str,
    per_week: &'static str,
    per_month: &'static str,
    overview: &'static str,
    conversations: &'static str,
    askers: &'static str,
    total_conversations: &'static str,
    total_askers: &'static str,
    privacy: &'static str,
    privacy_text: fn(u32) -> String,
    suppressed_small: fn(u32) -> String,
    suppressed_complementary: &'static str,
    main_chart: &'static str,
    period: &'static str,
    per_period: &'static str,
    totals_caption: &'static str,
    topics: &'static str,
    topics_caption: &'static str,
    topic: &'static str,
    trend: &'static str,
    total: &'static str,
    previous: &'static str,
    change: &'static str,
    previous_note: &'static str,
    sparkline: fn(&str) -> String,
    rising: &'static str,
    falling: &'static str,
    none: &'static str,
    outcomes: &'static str,
    outcomes_caption: &'static str,
    outcomes_chart: &'static str,
    all_questions: &'static str,
    not_helpful: &'static str,
    not_helpful_note: &'static str,
    feedback: &'static str,
    emerging: &'static str,
    emerging_note: &'static str,
    emerging_caption: &'static str,
    keywords: &'static str,
    month_column: &'static str,
    legend: fn(u32) -> [String; 3],
    unpublished: &'static str,
    /// The banner over a report that includes demo data.
    demo_banner: &'static str,
    published_on: &'static str,
    askers_per_month: &'static str,
    departments: &'static str,
    department_totals: fn(&str) -> String,
    department_topics: fn(&str) -> String,
    specialists: &'static str,
    specialists_caption: &'static str,
    specialists_chart: &'static str,
    specialist: &'static str,
    referrals: &'static str,
    handoffs: &'static str,
    handoff_rate: &'static str,
    handoff_note: &'static str,
    no_data: &'static str,
    not_available: &'static str,
    choose: &'static str,
    from: &'static str,
    to: &'static str,
    by_department: &'static str,
    include_demo: &'static str,
    language: &'static str,
    show: &'static str,
    logout: &'static str,
    outcome_specialist: &'static str,
    outcome_knowledge: &'static str,
    outcome_desk: &'static str,
    outcome_directory: &'static str,
    outcome_ambiguous: &'static str,
    outcome_out_of_scope: &'static str,
    login_title: &'static str,
    login_text: &'static str,
    token: &'static str,
    sign_in: &'static str,
    wrong_token: &'static str,
    too_many_attempts: fn(u64) -> String,
    disabled_title: &'static str,
    disabled_text: &'static str,
    disabled_enable: &'static str,
    disabled_enable_after: &'static str,
    disabled_works_council: &'static str,
}

impl Labels {
    fn of(lang: Lang) -> &'static Labels {
        match lang {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }

    fn per_granularity(&self, granularity: Granularity) -> &'static str {
        match granularity {
            Granularity::Day => self.per_day,
            Granularity::Week => self.per_week,
            Granularity::Month => self.per_month,
        }
    }

    fn outcome(&self, outcome: Outcome) -> &'static str {
        match outcome {
            Outcome::Specialist => self.outcome_specialist,
            Outcome::Knowledge => self.outcome_knowledge,
            Outcome::Desk => self.outcome_desk,
            Outcome::Directory => self.outcome_directory,
            Outcome::Ambiguous => self.outcome_ambiguous,
            Outcome::OutOfScope => self.outcome_out_of_scope,
        }
    }
}

static NL: Labels = Labels {
    title: "Vraag naar ondersteuning",
    range: "Periode",
    granularity: "Indeling",
    generated_at: "Gemaakt op",
    per_day: "per dag",
    per_week: "per week",
    per_month: "per maand",
    overview: "Overzicht",
    conversations: "Gesprekken",
    askers: "Personen",
    total_conversations: "Gesprekken",
    total_askers: "Verschillende vragenstellers",
    privacy: "Privacy",
    privacy_text: |k| {
        format!(
            "De cijfers worden per kalendermaand één keer gepubliceerd en daarna nooit \
             gewijzigd; elk rapport is een deel daarvan. Cijfers die op minder dan {k} \
             personen berusten, zijn verborgen; soms is ook een ander cijfer verborgen, zodat \
             een verborgen cijfer niet uit de andere terug te rekenen is, ook niet door \
             rapporten te combineren. Vragen via de webchat tellen samen als één persoon. \
             Vragen en namen van vragenstellers staan nergens in dit rapport."
        )
    },
    suppressed_small: |k| format!("Verborgen cijfers (minder dan {k} personen)"),
    suppressed_complementary: "Verborgen cijfers (• en …)",
    main_chart: "Gesprekken en personen per periode",
    period: "Periode",
    per_period: "Per periode: gesprekken (personen)",
    totals_caption: "Alle vragen per periode",
    topics: "Vraag per onderwerp",
    topics_caption: "Gesprekken per onderwerp, met verloop en verandering ten opzichte van \
                     de periode ervoor",
    topic: "Onderwerp",
    trend: "Verloop",
    total: "Totaal",
    previous: "Periode ervoor",
    change: "Verandering",
    previous_note: "„Periode ervoor” is een even lange periode direct voor deze; de \
                    verandering gaat over het aantal gesprekken.",
    sparkline: |values| format!("Gesprekken per periode: {values}"),
    rising: "Sterkst gestegen",
    falling: "Sterkst gedaald",
    none: "Geen",
    outcomes: "Waar vragen terechtkwamen",
    outcomes_caption: "Uitkomsten per onderwerp: gesprekken (personen)",
    outcomes_chart: "Uitkomsten per onderwerp, gestapeld (gesprekken)",
    all_questions: "Alle vragen",
    not_helpful: "Niet behulpzaam",
    not_helpful_note: "„Niet behulpzaam”: gesprekken met die feedback, van de gesprekken \
                       waarop feedback kwam.",
    feedback: "Met feedback",
    emerging: "Onvervulde vraag en opkomende onderwerpen",
    emerging_note: "Groepen vragen die buiten het aanbod vielen, onzeker herkend werden of \
                    niet behulpzaam waren. Ze worden alleen met trefwoorden benoemd, nooit \
                    met de tekst van een vraag.",
    emerging_caption: "Opkomende onderwerpen per maand: gesprekken (personen)",
    keywords: "Trefwoorden",
    month_column: "Maand",
    legend: |k| {
        [
            format!("„< {k}”: minder dan {k} personen stelden deze vragen."),
            "„•”: verborgen zodat een verborgen cijfer niet uit de totalen terug te rekenen \
             is; dit cijfer kan groot zijn."
                .to_string(),
            "„…”: een totaal over maanden waarvan er een verborgen is; dit cijfer kan groot \
             zijn."
                .to_string(),
        ]
    },
    unpublished: "Nog niet gepubliceerd",
    demo_banner: "Met demogegevens: deze cijfers tellen ook de verzonnen gesprekken van \
                  seed-demo mee. Een cijfer is alleen te zien waar het echte cijfer te zien is.",
    published_on: "verschijnt op",
    askers_per_month: "Personen worden per maand geteld; totalen over meer maanden tellen \
                       alleen gesprekken.",
    departments: "Per afdeling",
    department_totals: |d| format!("{d}: alle vragen per periode, gesprekken (personen)"),
    department_topics: |d| format!("{d}: vraag per onderwerp, gesprekken (personen)"),
    specialists: "Verwijzingen naar specialisten",
    specialists_caption: "Verwijzingen per specialist: gesprekken (personen)",
    specialists_chart: "Verwijzingen en doorgezette vragen per specialist (gesprekken)",
    specialist: "Specialist",
    referrals: "Verwijzingen",
    handoffs: "Doorgezet",
    handoff_rate: "Deel doorgezet",
    handoff_note: "„Doorgezet”: de vrager klikte om de vraag aan de specialist door te geven.",
    no_data: "Geen gegevens.",
    not_available: "–",
    choose: "Periode kiezen",
    from: "Van",
    to: "Tot en met",
    by_department: "Per afdeling",
    include_demo: "Met demogegevens",
    language: "Taal",
    show: "Tonen",
    logout: "Uitloggen",
    outcome_specialist: "Specialist",
    outcome_knowledge: "Kennisitem",
    outcome_desk: "Loket",
    outcome_directory: "Wie weet wat",
    outcome_ambiguous: "Bedoelde u",
    outcome_out_of_scope: "Buiten het aanbod",
    login_title: "Inloggen",
    login_text: "Voer het toegangstoken in om de rapportage te bekijken.",
    token: "Toegangstoken",
    sign_in: "Inloggen",
    wrong_token: "Onjuist toegangstoken.",
    too_many_attempts: |s| format!("Te veel pogingen. Wacht {s} s en probeer het opnieuw."),
    disabled_title: "Rapportages staan uit",
    disabled_text: "Deze installatie maakt geen rapportages over de vraag naar \
                    ondersteuning.",
    disabled_enable: "Rapportages gaan pas aan met",
    disabled_enable_after: "in de configuratie.",
    disabled_works_council: "In Nederland moet de ondernemingsraad eerst instemmen: het \
                             vastleggen en analyseren van vragen van medewerkers valt onder \
                             het instemmingsrecht van de ondernemingsraad (Wet op de \
                             ondernemingsraden, art. 27).",
};

static EN: Labels = Labels {
    title: "Demand report",
    range: "Range",
    granularity: "Granularity",
    generated_at: "Generated at",
    per_day: "per day",
    per_week: "per week",
    per_month: "per month",
    overview: "Overview",
    conversations: "Conversations",
    askers: "People",
    total_conversations: "Conversations",
    total_askers: "Distinct askers",
    privacy: "Privacy",
    privacy_text: |k| {
        format!(
            "Figures are published once per calendar month and never changed; every report \
             is a view of them. Figures based on fewer than {k} people are hidden; sometimes \
             another figure is hidden too, so that a hidden figure cannot be worked out from \
             the others, not even by combining reports. Questions from the web chat count \
             together as one person. No question texts or askers' names appear in this report."
        )
    },
    suppressed_small: |k| format!("Hidden figures (fewer than {k} people)"),
    suppressed_complementary: "Hidden figures (• and …)",
    main_chart: "Conversations and people per period",
    period: "Period",
    per_period: "Per period: conversations (people)",
    totals_caption: "All questions per period",
    topics: "Demand per topic",
    topics_caption: "Conversations per topic, with trend and change against the range before",
    topic: "Topic",
    trend: "Trend",
    total: "Total",
    previous: "Range before",
    change: "Change",
    previous_note: "\"Range before\" is a range of equal length just before this one; the \
                    change is in conversations.",
    sparkline: |values| format!("Conversations per period: {values}"),
    rising: "Rising most",
    falling: "Falling most",
    none: "None",
    outcomes: "Where questions ended up",
    outcomes_caption: "Outcomes per topic: conversations (people)",
    outcomes_chart: "Outcomes per topic, stacked (conversations)",
    all_questions: "All questions",
    not_helpful: "Not helpful",
    not_helpful_note: "\"Not helpful\": conversations with that feedback, out of the \
                       conversations that got feedback.",
    feedback: "With feedback",
    emerging: "Unmet demand and emerging topics",
    emerging_note: "Groups of questions that were out of scope, recognised with low \
                    confidence or not helpful. They are named by keywords only, never by \
                    the text of a question.",
    emerging_caption: "Emerging topics per month: conversations (people)",
    keywords: "Keywords",
    month_column: "Month",
    legend: |k| {
        [
            format!("\"< {k}\": fewer than {k} people asked."),
            "\"•\": hidden so that a hidden figure cannot be worked out from the totals; \
             it may be large."
                .to_string(),
            "\"…\": a total over months one of which is hidden; it may be large.".to_string(),
        ]
    },
    unpublished: "Not published yet",
    demo_banner: "Includes demo data: these figures also count the synthetic conversations \
                  of seed-demo. A figure is shown only where the real figure is shown.",
    published_on: "published on",
    askers_per_month: "People are counted per month; totals over several months count \
                       conversations only.",
    departments: "By department",
    department_totals: |d| format!("{d}: all questions per period, conversations (people)"),
    department_topics: |d| format!("{d}: demand per topic, conversations (people)"),
    specialists: "Referrals to specialists",
    specialists_caption: "Referrals per specialist: conversations (people)",
    specialists_chart: "Referrals and handed-off questions per specialist (conversations)",
    specialist: "Specialist",
    referrals: "Referrals",
    handoffs: "Handed off",
    handoff_rate: "Handoff rate",
    handoff_note: "\"Handed off\": the asker clicked to pass the question on to the \
                   specialist.",
    no_data: "No data.",
    not_available: "–",
    choose: "Choose a range",
    from: "From",
    to: "To (inclusive)",
    by_department: "By department",
    include_demo: "Include demo data",
    language: "Language",
    show: "Show",
    logout: "Log out",
    outcome_specialist: "Specialist",
    outcome_knowledge: "Knowledge item",
    outcome_desk: "Desk",
    outcome_directory: "Who knows what",
    outcome_ambiguous: "Did you mean",
    outcome_out_of_scope: "Out of scope",
    login_title: "Sign in",
    login_text: "Enter the access token to see the report.",
    token: "Access token",
    sign_in: "Sign in",
    wrong_token: "Wrong token.",
    too_many_attempts: |s| format!("Too many attempts. Wait {s} s and try again."),
    disabled_title: "Reports are off",
    disabled_text: "This installation does not make demand reports.",
    disabled_enable: "Reports are turned on with",
    disabled_enable_after: "in the configuration.",
    disabled_works_council: "In the Netherlands the works council (ondernemingsraad) must \
                             consent first: recording and analysing employees' questions \
                             requires its consent (Works Councils Act, WOR art. 27).",
};

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

    let form = match options.mode {
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
    };

    let periods: Vec<&str> = report.periods.iter().map(|p| p.label.as_str()).collect();
    let period_labels: Vec<String> = report.periods.iter().map(|p| p.label.clone()).collect();
    let main_chart = charts::line_chart(
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
        &hidden,
        l.main_chart,
    );

    let ranked = |ids: &[String]| -> Vec<RankView> {
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
    };

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
        &hidden,
        l.outcomes_chart,
    );

    let departments = report
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
        .collect();

    let emerging = report
        .emerging
        .iter()
        .map(|e| EmergingView {
            period: e.period.clone(),
            keywords: e.keywords.join(", "),
            figure: CellView::new(&e.figure, report, l),
        })
        .collect();

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
        &hidden,
        l.specialists_chart,
    );

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
        unpublished: report
            .unpublished
            .iter()
            .map(|u| {
                (
                    u.label.clone(),
                    u.published_on.format("%Y-%m-%d").to_string(),
                )
            })
            .collect(),
        multi_month: report.periods.len() > 1,
        periods,
        totals: SeriesView::new(&report.totals, report, l),
        main_chart,
        topics: report
            .topics
            .iter()
            .map(|t| TopicView::new(t, report, lang, l))
            .collect(),
        rising: ranked(&report.rising),
        falling: ranked(&report.falling),
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
