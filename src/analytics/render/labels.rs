//! The fixed words of the report pages (dashboard, report file, login), in Dutch and English:
//! a data table beside the templates. The chat's words are in `crate::phrases`; these are
//! HRD's, on the report pages only.

use super::Lang;
use crate::analytics::{Granularity, Outcome};

/// The fixed words of the pages in one language.
pub(super) struct Labels {
    pub(super) title: &'static str,
    pub(super) range: &'static str,
    pub(super) granularity: &'static str,
    pub(super) generated_at: &'static str,
    pub(super) per_day: &'static str,
    pub(super) per_week: &'static str,
    pub(super) per_month: &'static str,
    pub(super) overview: &'static str,
    pub(super) conversations: &'static str,
    pub(super) askers: &'static str,
    pub(super) total_conversations: &'static str,
    pub(super) total_askers: &'static str,
    pub(super) privacy: &'static str,
    pub(super) privacy_text: fn(u32) -> String,
    pub(super) suppressed_small: fn(u32) -> String,
    pub(super) suppressed_complementary: &'static str,
    pub(super) main_chart: &'static str,
    pub(super) period: &'static str,
    pub(super) per_period: &'static str,
    pub(super) totals_caption: &'static str,
    pub(super) topics: &'static str,
    pub(super) topics_caption: &'static str,
    pub(super) topic: &'static str,
    pub(super) trend: &'static str,
    pub(super) total: &'static str,
    pub(super) previous: &'static str,
    pub(super) change: &'static str,
    pub(super) previous_note: &'static str,
    pub(super) sparkline: fn(&str) -> String,
    pub(super) rising: &'static str,
    pub(super) falling: &'static str,
    pub(super) none: &'static str,
    pub(super) outcomes: &'static str,
    pub(super) outcomes_caption: &'static str,
    pub(super) outcomes_chart: &'static str,
    pub(super) all_questions: &'static str,
    pub(super) not_helpful: &'static str,
    pub(super) not_helpful_note: &'static str,
    pub(super) feedback: &'static str,
    pub(super) emerging: &'static str,
    pub(super) emerging_note: &'static str,
    pub(super) emerging_caption: &'static str,
    pub(super) keywords: &'static str,
    pub(super) month_column: &'static str,
    pub(super) legend: fn(u32) -> [String; 3],
    pub(super) unpublished: &'static str,
    /// The banner over a report that includes demo data.
    pub(super) demo_banner: &'static str,
    pub(super) published_on: &'static str,
    pub(super) askers_per_month: &'static str,
    pub(super) departments: &'static str,
    pub(super) department_totals: fn(&str) -> String,
    pub(super) department_topics: fn(&str) -> String,
    pub(super) specialists: &'static str,
    pub(super) specialists_caption: &'static str,
    pub(super) specialists_chart: &'static str,
    pub(super) specialist: &'static str,
    pub(super) referrals: &'static str,
    pub(super) handoffs: &'static str,
    pub(super) handoff_rate: &'static str,
    pub(super) handoff_note: &'static str,
    pub(super) no_data: &'static str,
    pub(super) not_available: &'static str,
    pub(super) choose: &'static str,
    pub(super) from: &'static str,
    pub(super) to: &'static str,
    pub(super) by_department: &'static str,
    pub(super) include_demo: &'static str,
    pub(super) language: &'static str,
    pub(super) show: &'static str,
    pub(super) logout: &'static str,
    pub(super) outcome_specialist: &'static str,
    pub(super) outcome_knowledge: &'static str,
    pub(super) outcome_desk: &'static str,
    pub(super) outcome_directory: &'static str,
    pub(super) outcome_ambiguous: &'static str,
    pub(super) outcome_out_of_scope: &'static str,
    pub(super) login_title: &'static str,
    pub(super) login_text: &'static str,
    pub(super) token: &'static str,
    pub(super) sign_in: &'static str,
    pub(super) wrong_token: &'static str,
    pub(super) too_many_attempts: fn(u64) -> String,
    pub(super) disabled_title: &'static str,
    pub(super) disabled_text: &'static str,
    pub(super) disabled_enable: &'static str,
    pub(super) disabled_enable_after: &'static str,
    pub(super) disabled_works_council: &'static str,
}

impl Labels {
    pub(super) fn of(lang: Lang) -> &'static Labels {
        match lang {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }

    pub(super) fn per_granularity(&self, granularity: Granularity) -> &'static str {
        match granularity {
            Granularity::Day => self.per_day,
            Granularity::Week => self.per_week,
            Granularity::Month => self.per_month,
        }
    }

    pub(super) fn outcome(&self, outcome: Outcome) -> &'static str {
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

pub(super) static NL: Labels = Labels {
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

pub(super) static EN: Labels = Labels {
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
