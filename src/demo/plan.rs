//! The tables the demo data follows: departments and their sizes, seasons and office hours,
//! intent profiles, confusable pairs, phrasings, and the planted topics the catalogue does
//! not cover. Data, not logic.

use chrono::{Datelike, NaiveDate, Weekday};
use sha2::{Digest, Sha256};

use crate::catalogue::Catalogue;

/// An out-of-scope cluster as seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantedTopic {
    pub name: &'static str,
    /// Lower-case words of which every question of the topic contains at least one, and no
    /// other seeded question contains any.
    pub keywords: &'static [&'static str],
    /// Distinct askers of the topic's questions.
    pub askers: usize,
}

/// An out-of-scope cluster the generator plants: HR-adjacent demand the shipped catalogue has
/// no intent for, so HRD can discover it in the unmet-demand report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlantedCluster {
    pub name: &'static str,
    /// Lower-case; every template contains at least one (`{place}` aside), and no intent
    /// example, noise question or other cluster contains any (tested).
    pub keywords: &'static [&'static str],
    /// Question templates; `{place}` is replaced by an office location.
    pub nl: &'static [&'static str],
    pub en: &'static [&'static str],
    /// Share of the out-of-scope questions outside peak months (the rest is noise).
    pub share: f64,
    /// `(month, factor)`: months in which the cluster is asked about more (or less).
    pub season: &'static [(u32, f64)],
    /// Asked by at most this many distinct askers, whatever the number of conversations:
    /// the tiny cluster a report must drop (fewer than 5 askers).
    pub max_askers: Option<usize>,
}

/// The out-of-scope clusters the generator plants, each with its own question templates in nl
/// and en. `lactation_room` is the deliberately tiny one: asked by at most 3 distinct askers.
pub const PLANTED_TOPICS: &[PlantedCluster] = &[
    PlantedCluster {
        name: "parking",
        keywords: &["parkeer", "parkeren", "parking"],
        nl: &[
            "waar kan ik parkeren bij kantoor {place}",
            "hoe krijg ik een parkeervergunning",
            "kan ik een parkeerplek reserveren voor morgen",
            "is de parkeergarage in het weekend open",
            "krijg ik mijn parkeerkosten vergoed bij een klantbezoek",
            "zijn er parkeerplaatsen met een laadpaal",
            "mijn parkeerpas werkt niet meer",
            "parkeren in {place}, hoe zit dat",
            "mag ik als parttimer ook een parkeerkaart",
        ],
        en: &[
            "is there parking at the {place} office",
            "how do i get a parking permit",
            "can i book a parking spot for tomorrow",
            "is the parking garage open at weekends",
            "are parking costs reimbursed for client visits",
            "are there parking spaces with ev chargers",
            "my parking card stopped working",
            "parking in {place}, how does it work",
        ],
        share: 0.24,
        season: &[(1, 1.2), (9, 1.5), (10, 1.3)],
        max_askers: None,
    },
    PlantedCluster {
        name: "childcare",
        keywords: &["kinderopvang", "childcare", "daycare"],
        nl: &[
            "vergoedt de werkgever een deel van de kinderopvang",
            "is er een regeling voor kinderopvang",
            "heeft het bedrijf afspraken met een kinderopvang in {place}",
            "krijg ik korting op kinderopvang via het werk",
            "kinderopvang in de zomervakantie, kan het werk helpen",
            "mijn kinderopvang sluit om zes uur, mag ik eerder weg",
        ],
        en: &[
            "does the company contribute to childcare costs",
            "is there a childcare scheme for employees",
            "daycare discount through work?",
            "help finding childcare near the {place} office",
            "childcare during the school holidays, any support",
            "does the company have a deal with a daycare centre",
        ],
        share: 0.16,
        season: &[(5, 1.5), (6, 1.7), (8, 1.4)],
        max_askers: None,
    },
    PlantedCluster {
        name: "expat_relocation",
        keywords: &[
            "visum",
            "visa",
            "relocation",
            "relocatie",
            "verblijfsvergunning",
            "residence permit",
        ],
        nl: &[
            "hoe regel ik een visum voor mijn partner",
            "wie helpt met de verblijfsvergunning voor een nieuwe collega",
            "is er een relocatievergoeding",
            "relocatie naar {place}, wat regelt het bedrijf",
            "mijn verblijfsvergunning verloopt, wat moet ik doen",
        ],
        en: &[
            "who handles visa applications for new hires",
            "is there a relocation package",
            "my residence permit expires next month, who can help",
            "relocation allowance when moving to {place}?",
            "does the company sponsor a visa for my spouse",
            "need help with the 30% ruling and my residence permit",
            "who do i talk to about my visa extension",
        ],
        share: 0.13,
        season: &[(8, 1.6), (9, 1.8), (1, 1.3)],
        max_askers: None,
    },
    PlantedCluster {
        name: "christmas_hamper",
        keywords: &[
            "kerstpakket",
            "christmas hamper",
            "christmas package",
            "christmas gift",
        ],
        nl: &[
            "wanneer komt het kerstpakket",
            "kan ik mijn kerstpakket ook op kantoor {place} ophalen",
            "ik heb geen kerstpakket ontvangen",
            "kan ik het kerstpakket omruilen voor een goed doel",
            "is er dit jaar een kerstpakket of een cadeaukaart",
        ],
        en: &[
            "when will the christmas hamper be delivered",
            "i didn't receive my christmas package",
            "can i donate my christmas gift to charity",
            "can i pick up the christmas hamper at the {place} office",
            "is there a christmas gift for part-timers too",
        ],
        share: 0.01,
        season: &[(10, 3.0), (11, 14.0), (12, 24.0), (1, 4.0)],
        max_askers: None,
    },
    PlantedCluster {
        name: "lactation_room",
        keywords: &["kolfruimte", "kolven", "lactation"],
        nl: &[
            "is er een kolfruimte op kantoor {place}",
            "waar kan ik rustig kolven",
            "moet ik de kolfruimte reserveren",
        ],
        en: &[
            "is there a lactation room in the {place} office",
            "where is the lactation room on the third floor",
            "do i need to book the lactation room",
        ],
        share: 0.0,
        season: &[],
        max_askers: Some(3),
    },
];

/// The cluster a seeded question belongs to, by its keywords (case-insensitive).
pub fn planted_topic_of(question: &str) -> Option<&'static PlantedCluster> {
    let lower = question.to_lowercase();
    PLANTED_TOPICS
        .iter()
        .find(|t| t.keywords.iter().any(|k| lower.contains(k)))
}

/// Intents that make a good rising topic, first match wins.
pub const RISING_CANDIDATES: &[&str] = &["ai_automation", "data_skills", "digital_workplace"];

/// The intent whose share grows steadily over the seeded range: the first of
/// [`RISING_CANDIDATES`] in the catalogue, else its last intent.
pub fn rising_intent(catalogue: &Catalogue) -> Option<&str> {
    RISING_CANDIDATES
        .iter()
        .find_map(|id| catalogue.intent(id).map(|i| i.id.as_str()))
        .or_else(|| catalogue.intents.last().map(|i| i.id.as_str()))
}

/// Asker departments and their share of the askers (the rest: [`SMALL_DEPARTMENT`] and none).
pub(super) const DEPARTMENTS: &[(&str, f64)] = &[
    ("Operations", 0.25),
    ("Customer Service", 0.21),
    ("Sales", 0.15),
    ("IT", 0.13),
    ("Finance", 0.10),
    ("Marketing", 0.08),
    ("HR", 0.08),
];
/// A department of a handful of askers, whatever the pool size, so its figures are suppressed.
pub(super) const SMALL_DEPARTMENT: &str = "Legal";
pub(super) const SMALL_DEPARTMENT_ASKERS: usize = 7;
/// Askers not in the departments CSV.
pub(super) const NO_DEPARTMENT: f64 = 0.04;

/// Share of askers who write Dutch (they switch language now and then).
pub(super) const DUTCH_ASKERS: f64 = 0.61;
pub(super) const CHANNELS: &[(&str, f64)] = &[("teams", 0.50), ("slack", 0.30), ("web", 0.20)];

pub(super) const PLACES: &[&str] = &["Utrecht", "Amsterdam", "Zwolle", "Eindhoven", "Rotterdam"];

/// Shares of the decisions; out of scope is the rest.
pub(super) const ROUTED: f64 = 0.80;
pub(super) const DIRECTORY: f64 = 0.05;
pub(super) const AMBIGUOUS: f64 = 0.05;
pub(super) const OUT_OF_SCOPE: f64 = 0.10;

/// Per intent of the shipped catalogue: how often it is asked, its seasonal peaks and how often
/// its answer is "not helpful". Other catalogues' intents get [`DEFAULT_PROFILE`].
pub(super) struct IntentProfile {
    pub(super) id: &'static str,
    pub(super) weight: f64,
    pub(super) season: &'static [(u32, f64)],
    pub(super) not_helpful: f64,
}

pub(super) const DEFAULT_PROFILE: IntentProfile = IntentProfile {
    id: "",
    weight: 4.0,
    season: &[],
    not_helpful: 0.14,
};

pub(super) const INTENT_PROFILES: &[IntentProfile] = &[
    IntentProfile {
        id: "training_budget",
        weight: 9.0,
        season: &[(1, 1.8), (7, 0.6), (8, 0.7), (9, 1.9), (10, 1.4), (12, 1.3)],
        not_helpful: 0.11,
    },
    IntentProfile {
        id: "course_offer",
        weight: 8.0,
        season: &[(1, 1.4), (7, 0.5), (8, 0.6), (9, 1.6), (10, 1.2)],
        not_helpful: 0.10,
    },
    IntentProfile {
        id: "compliance_training",
        weight: 4.0,
        season: &[(3, 1.2), (11, 1.7), (12, 1.9)],
        not_helpful: 0.13,
    },
    IntentProfile {
        id: "knowledge_sharing",
        weight: 3.0,
        season: &[],
        not_helpful: 0.15,
    },
    IntentProfile {
        id: "onboarding",
        weight: 4.0,
        season: &[(1, 1.3), (2, 1.1), (8, 1.4), (9, 2.2)],
        not_helpful: 0.09,
    },
    IntentProfile {
        id: "mentoring_coaching",
        weight: 4.0,
        season: &[(1, 1.2), (9, 1.2)],
        not_helpful: 0.12,
    },
    IntentProfile {
        id: "career_development",
        weight: 6.0,
        season: &[(1, 1.3), (6, 1.1)],
        not_helpful: 0.17,
    },
    IntentProfile {
        id: "performance_review",
        weight: 5.0,
        season: &[(1, 1.6), (2, 1.3), (6, 1.5), (12, 1.4)],
        not_helpful: 0.15,
    },
    IntentProfile {
        id: "wellbeing",
        weight: 5.0,
        season: &[(1, 1.3), (2, 1.4), (11, 1.3)],
        not_helpful: 0.12,
    },
    IntentProfile {
        id: "leave_and_absence",
        weight: 9.0,
        season: &[(4, 1.2), (5, 1.6), (6, 1.5), (7, 0.9), (11, 1.3), (12, 1.6)],
        not_helpful: 0.13,
    },
    IntentProfile {
        id: "pay_and_benefits",
        weight: 7.0,
        season: &[(1, 1.6), (5, 1.4), (12, 1.5)],
        not_helpful: 0.18,
    },
    // clearly worse: the policy is unclear and the desk gets the complaints
    IntentProfile {
        id: "hybrid_work",
        weight: 5.0,
        season: &[(1, 1.2), (9, 1.3)],
        not_helpful: 0.41,
    },
    IntentProfile {
        id: "ai_automation",
        weight: 4.0,
        season: &[],
        not_helpful: 0.16,
    },
    IntentProfile {
        id: "data_skills",
        weight: 4.0,
        season: &[(9, 1.2), (10, 1.2)],
        not_helpful: 0.10,
    },
    IntentProfile {
        id: "digital_workplace",
        weight: 6.0,
        season: &[],
        not_helpful: 0.14,
    },
    IntentProfile {
        id: "leadership_development",
        weight: 3.0,
        season: &[(9, 1.3), (1, 1.2)],
        not_helpful: 0.12,
    },
    IntentProfile {
        id: "team_development",
        weight: 3.0,
        season: &[(6, 1.4), (9, 1.3)],
        not_helpful: 0.11,
    },
    IntentProfile {
        id: "agile_ways_of_working",
        weight: 3.0,
        season: &[],
        not_helpful: 0.15,
    },
    IntentProfile {
        id: "change_management",
        weight: 3.0,
        season: &[(3, 1.3), (10, 1.3)],
        not_helpful: 0.19,
    },
    IntentProfile {
        id: "strategy_workforce_planning",
        weight: 2.0,
        season: &[(10, 1.5), (11, 1.4)],
        not_helpful: 0.17,
    },
    // clearly worse: the specialists are rarely available
    IntentProfile {
        id: "supplier_management",
        weight: 1.5,
        season: &[(11, 1.3)],
        not_helpful: 0.52,
    },
    IntentProfile {
        id: "it_support",
        weight: 8.0,
        season: &[(1, 1.2), (9, 1.3)],
        not_helpful: 0.21,
    },
];

/// `(department, intent, factor)`: what a department asks about more (or less) than others.
pub(super) const DEPARTMENT_FOCUS: &[(&str, &str, f64)] = &[
    ("Finance", "data_skills", 2.2),
    ("Finance", "pay_and_benefits", 1.3),
    ("IT", "ai_automation", 1.8),
    ("IT", "agile_ways_of_working", 1.7),
    ("IT", "digital_workplace", 0.5),
    ("IT", "it_support", 0.5),
    ("Sales", "training_budget", 1.3),
    ("Sales", "career_development", 1.4),
    ("Sales", "leadership_development", 1.3),
    ("Operations", "compliance_training", 1.7),
    ("Operations", "leave_and_absence", 1.2),
    ("Operations", "it_support", 1.3),
    ("Customer Service", "wellbeing", 1.7),
    ("Customer Service", "leave_and_absence", 1.3),
    ("Customer Service", "course_offer", 1.2),
    ("HR", "strategy_workforce_planning", 3.0),
    ("HR", "change_management", 2.0),
    ("HR", "supplier_management", 2.5),
    ("Marketing", "ai_automation", 1.5),
    ("Marketing", "digital_workplace", 1.2),
    ("Legal", "compliance_training", 1.6),
];

/// Intents a classifier confuses: the second "did you mean" option of an ambiguous question.
pub(super) const CONFUSABLE: &[(&str, &str)] = &[
    ("training_budget", "course_offer"),
    ("course_offer", "compliance_training"),
    ("career_development", "mentoring_coaching"),
    ("performance_review", "career_development"),
    ("leadership_development", "team_development"),
    ("team_development", "agile_ways_of_working"),
    ("ai_automation", "data_skills"),
    ("digital_workplace", "it_support"),
    ("leave_and_absence", "hybrid_work"),
    ("wellbeing", "leave_and_absence"),
    ("change_management", "strategy_workforce_planning"),
    ("knowledge_sharing", "course_offer"),
    ("onboarding", "mentoring_coaching"),
    ("pay_and_benefits", "leave_and_absence"),
    ("supplier_management", "training_budget"),
];

/// "Who knows about X" phrasings (the directory's own patterns recognise them).
pub(super) const DIRECTORY_NL: &[&str] = &[
    "wie weet er veel van {t}?",
    "wie heeft er ervaring met {t}",
    "wie is de expert op het gebied van {t}?",
    "is er een specialist in {t}?",
    "wie kent er iets van {t}",
];
pub(super) const DIRECTORY_EN: &[&str] = &[
    "who knows about {t}?",
    "anyone here who knows about {t}?",
    "is there an expert on {t}",
    "who has experience with {t}",
    "someone who knows a lot about {t}?",
];
/// Directory topics nobody in the shipped directory covers.
pub(super) const UNKNOWN_TOPICS: &[&str] =
    &["origami", "beekeeping", "kitesurfing", "mandarin chinese"];

/// Out-of-scope noise beyond the catalogue's own out-of-scope examples.
pub(super) const NOISE_NL: &[&str] = &[
    "test",
    "werkt dit?",
    "wat kun jij eigenlijk",
    "hallo??",
    "asdf",
];
pub(super) const NOISE_EN: &[&str] = &["test 123", "what can you do", "are you a bot", "hello??"];

pub(super) const PREFIX_NL: &[&str] = &["hoi, ", "hallo, ", "vraagje: ", "goedemorgen, ", "hey "];
pub(super) const PREFIX_EN: &[&str] = &["hi, ", "hello, ", "quick question: ", "hey, "];
pub(super) const SUFFIX_NL: &[&str] = &[" alvast bedankt", " groetjes", " thanks!"];
pub(super) const SUFFIX_EN: &[&str] = &[" thanks", " thx", " cheers"];
pub(super) const EMAIL_NL: &[&str] = &[" (mijn mail is [email])", ", graag antwoord naar [email]"];
pub(super) const EMAIL_EN: &[&str] = &[" (my email is [email])", ", please reply to [email]"];
pub(super) const PHONE_NL: &[&str] = &[", bel me even op [phone]"];
pub(super) const PHONE_EN: &[&str] = &[", call me on [phone]"];

/// Local hour weights (Dutch time) on working days and in weekends.
pub(super) const WEEKDAY_HOURS: [f64; 24] = [
    0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.3, 1.5, 4.5, 8.0, 9.5, 8.5, 5.5, 6.5, 8.5, 8.0, 6.5, 4.0,
    2.0, 1.3, 1.1, 0.8, 0.4, 0.1,
];
pub(super) const WEEKEND_HOURS: [f64; 24] = [
    0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.1, 0.3, 0.8, 1.5, 2.0, 2.0, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3,
    1.3, 1.5, 1.6, 1.3, 0.8, 0.3,
];

pub(super) fn month_factor(season: &[(u32, f64)], month: u32, otherwise: f64) -> f64 {
    season
        .iter()
        .find(|(m, _)| *m == month)
        .map_or(otherwise, |(_, f)| *f)
}

/// How busy a day is, before the slow growth in use.
pub(super) fn day_factor(date: NaiveDate) -> f64 {
    let weekday = match date.weekday() {
        Weekday::Mon => 1.0,
        Weekday::Tue => 1.08,
        Weekday::Wed => 0.97,
        Weekday::Thu => 1.0,
        Weekday::Fri => 0.72,
        Weekday::Sat => 0.07,
        Weekday::Sun => 0.05,
    };
    let season = match (date.month(), date.day()) {
        (12, 24) => 0.5,
        (12, 25) | (12, 26) | (1, 1) | (4, 27) => 0.05,
        (12, 27..=31) => 0.35,
        (7, _) => 0.72,
        (8, _) => 0.65,
        _ => 1.0,
    };
    weekday * season
}

/// Hours Dutch local time is ahead of UTC (summer time from the last Sunday of March to the
/// last Sunday of October).
pub(super) fn utc_offset_hours(date: NaiveDate) -> i64 {
    let last_sunday = |month: u32| {
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(date.year(), month + 1, 1)
        }
        .expect("valid first of month");
        let last = next.pred_opt().expect("a day before");
        last - chrono::Duration::days(i64::from(last.weekday().num_days_from_sunday()))
    };
    if date >= last_sunday(3) && date < last_sunday(10) {
        2
    } else {
        1
    }
}

/// 64 hex characters, like a real pseudonym, derived from the seed and the asker's number.
pub(super) fn asker_key(seed: u64, asker: usize) -> String {
    hex::encode(Sha256::digest(format!(
        "referral-desk seed-demo {seed} asker {asker}"
    )))
}
