//! The shipped catalogue (`intents/`): complete enough for the rest of the product to rely on,
//! and good at routing questions it has never seen (`tests/data/heldout.jsonl`, written
//! separately from the catalogue's examples).

use referral_desk::catalogue::{Catalogue, Lang};
use referral_desk::nlu::dataset::read_jsonl;
use referral_desk::nlu::{Classifier, Decision, LanguageDetector};
use referral_desk::routing;

const REQUIRED_INTENTS: [&str; 22] = [
    "training_budget",
    "course_offer",
    "onboarding",
    "mentoring_coaching",
    "career_development",
    "performance_review",
    "leadership_development",
    "team_development",
    "ai_automation",
    "data_skills",
    "digital_workplace",
    "agile_ways_of_working",
    "knowledge_sharing",
    "change_management",
    "wellbeing",
    "leave_and_absence",
    "pay_and_benefits",
    "hybrid_work",
    "strategy_workforce_planning",
    "supplier_management",
    "it_support",
    "compliance_training",
];

fn shipped() -> Catalogue {
    Catalogue::load("intents").expect("the shipped catalogue is valid")
}

#[test]
fn has_every_intent_the_product_relies_on_with_enough_examples() {
    let catalogue = shipped();
    for id in REQUIRED_INTENTS {
        let intent = catalogue
            .intent(id)
            .unwrap_or_else(|| panic!("intent {id} missing"));
        for lang in Lang::ALL {
            let n = intent.examples.get(lang).len();
            assert!(n >= 15, "{id} has only {n} {lang} examples");
        }
    }
    assert!(catalogue.specialists.len() >= 15);
    assert!(catalogue.knowledge.len() >= 20);
    assert!(catalogue.out_of_scope.nl.len() >= 15 && catalogue.out_of_scope.en.len() >= 15);
    assert_eq!(catalogue.fallback_desk().id, "hrd_desk");
}

#[test]
fn routes_held_out_questions_and_recognises_out_of_scope_ones() {
    let catalogue = shipped();
    let classifier = Classifier::from_catalogue(&catalogue).unwrap();
    let heldout = read_jsonl("tests/data/heldout.jsonl".as_ref()).unwrap();
    let (mut in_scope, mut in_scope_right, mut oos, mut oos_right) = (0, 0, 0, 0);
    for example in &heldout {
        let prediction = classifier.predict(&example.text);
        if example.intent == "oos" {
            oos += 1;
            oos_right += usize::from(prediction.decision == Decision::OutOfScope);
        } else {
            in_scope += 1;
            in_scope_right += usize::from(prediction.intent.as_deref() == Some(&example.intent));
        }
    }
    let accuracy = in_scope_right as f64 / in_scope as f64;
    let recall = oos_right as f64 / oos as f64;
    assert!(in_scope >= 80 && oos >= 20);
    // Measured 0.88 / 0.975 (README "Measured"); the floor leaves room for catalogue edits.
    assert!(accuracy >= 0.82, "in-scope accuracy {accuracy:.3}");
    assert!(recall >= 0.90, "out-of-scope recall {recall:.3}");
}

#[test]
fn power_bi_questions_reach_data_specialists_in_either_language() {
    let catalogue = shipped();
    let classifier = Classifier::from_catalogue(&catalogue).unwrap();
    let languages = LanguageDetector::from_catalogue(&catalogue);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    for (text, lang) in [
        ("wie kan me helpen met Power BI?", Lang::Nl),
        ("who can help me with Power BI?", Lang::En),
    ] {
        let prediction = classifier.predict(text);
        assert_eq!(prediction.intent.as_deref(), Some("data_skills"), "{text}");
        assert_eq!(languages.detect(text), lang);
        let decided = routing::Decided::Classified {
            prediction: &prediction,
            choice: None,
        };
        let route = routing::route(&catalogue, &decided, lang, today, None);
        assert!(
            route.specialists.iter().any(|s| catalogue
                .specialist(&s.id)
                .unwrap()
                .expertise
                .contains("Power BI")),
            "{route:?}"
        );
    }
}

#[test]
fn out_of_scope_questions_get_the_hrd_desk_in_their_language() {
    let catalogue = shipped();
    let classifier = Classifier::from_catalogue(&catalogue).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let prediction = classifier.predict("wat is een goed recept voor erwtensoep?");
    assert_eq!(prediction.decision, Decision::OutOfScope);
    let decided = routing::Decided::Classified {
        prediction: &prediction,
        choice: None,
    };
    let route = routing::route(&catalogue, &decided, Lang::Nl, today, None);
    assert_eq!(
        route.desk.unwrap().name,
        catalogue.fallback_desk().name.get(Lang::Nl)
    );
    assert!(route.specialists.is_empty() && route.knowledge.is_empty());
}
