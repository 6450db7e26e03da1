use chrono::NaiveDate;

use super::*;
use crate::nlu::ScoredIntent;

fn catalogue() -> Catalogue {
    Catalogue::load(std::path::Path::new("tests/fixtures/catalogue-small")).unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn predicted(decision: Decision, best: &[(&str, f32)]) -> Prediction {
    Prediction {
        intent: (decision != Decision::OutOfScope).then(|| best[0].0.to_string()),
        confidence: best[0].1,
        alternatives: best
            .iter()
            .map(|(intent, confidence)| ScoredIntent {
                intent: intent.to_string(),
                confidence: *confidence,
            })
            .collect(),
        out_of_scope_probability: 0.0,
        decision,
    }
}

fn specialists(reply: &Reply) -> Vec<(&str, SpecialistRole)> {
    reply
        .specialists
        .iter()
        .map(|s| (s.id.as_str(), s.role))
        .collect()
}

#[test]
fn a_routed_question_offers_whose_turn_it_is_first_and_one_alternative() {
    let catalogue = catalogue();
    let prediction = predicted(Decision::Routed, &[("data_skills", 0.8), ("leave", 0.1)]);
    let decided = Decided::Classified {
        prediction: &prediction,
        choice: None,
    };
    let candidates = specialists_to_rotate(&catalogue, &decided, day());
    assert_eq!(candidates, ["anna_data", "carla_charts"]);
    // without an order: catalogue order
    let reply = route(&catalogue, &decided, Lang::En, day(), None);
    assert_eq!(reply.decision, ReplyKind::Routed);
    assert_eq!(reply.intent.as_deref(), Some("data_skills"));
    assert_eq!(
        specialists(&reply),
        [
            ("anna_data", SpecialistRole::Primary),
            ("carla_charts", SpecialistRole::Alternative)
        ]
    );
    // the store's order decides who is first
    let turn = ["carla_charts".to_string(), "anna_data".to_string()];
    let reply = route(&catalogue, &decided, Lang::Nl, day(), Some(&turn));
    assert_eq!(
        specialists(&reply),
        [
            ("carla_charts", SpecialistRole::Primary),
            ("anna_data", SpecialistRole::Alternative)
        ]
    );
    assert_eq!(reply.language, Lang::Nl);
    assert!(reply.text.starts_with(&reply.intro) && reply.text.contains("Carla Charts"));
}

#[test]
fn a_specialist_who_is_away_is_not_offered_nor_rotated() {
    let catalogue = catalogue();
    // bert_budget, the budget intent's only specialist, is away until 2099
    let prediction = predicted(Decision::Routed, &[("training_budget", 0.9)]);
    let decided = Decided::Classified {
        prediction: &prediction,
        choice: None,
    };
    assert!(specialists_to_rotate(&catalogue, &decided, day()).is_empty());
    let reply = route(&catalogue, &decided, Lang::Nl, day(), None);
    assert!(reply.specialists.is_empty());
    assert!(
        !reply.knowledge.is_empty(),
        "the knowledge item still answers"
    );
}

#[test]
fn out_of_scope_goes_to_the_fallback_desk_in_the_askers_language() {
    let catalogue = catalogue();
    let prediction = predicted(Decision::OutOfScope, &[("leave", 0.2)]);
    let decided = Decided::Classified {
        prediction: &prediction,
        choice: None,
    };
    assert!(specialists_to_rotate(&catalogue, &decided, day()).is_empty());
    let reply = route(&catalogue, &decided, Lang::Nl, day(), None);
    assert_eq!(reply.decision, ReplyKind::OutOfScope);
    assert_eq!(reply.intent, None);
    let desk = reply.desk.as_ref().unwrap();
    assert_eq!(desk.id, catalogue.fallback_desk().id);
    assert_eq!(desk.name, catalogue.fallback_desk().name.get(Lang::Nl));
    assert!(reply.intro.contains(&desk.name), "{}", reply.intro);
}

#[test]
fn an_ambiguous_question_asks_and_a_pick_routes_with_the_picked_intents_confidence() {
    let catalogue = catalogue();
    let prediction = predicted(
        Decision::Ambiguous,
        &[("data_skills", 0.45), ("leave", 0.40), ("it_support", 0.1)],
    );
    let asked = Decided::Classified {
        prediction: &prediction,
        choice: None,
    };
    let reply = route(&catalogue, &asked, Lang::En, day(), None);
    assert_eq!(reply.decision, ReplyKind::Ambiguous);
    let options: Vec<&str> = reply.options.iter().map(|o| o.intent.as_str()).collect();
    assert_eq!(options, ["data_skills", "leave"]);
    assert!(reply.specialists.is_empty());
    assert!(specialists_to_rotate(&catalogue, &asked, day()).is_empty());

    let picked = Decided::Classified {
        prediction: &prediction,
        choice: Some("leave"),
    };
    let reply = route(&catalogue, &picked, Lang::En, day(), None);
    assert_eq!(reply.decision, ReplyKind::Routed);
    assert_eq!(reply.intent.as_deref(), Some("leave"));
    assert_eq!(reply.confidence, 0.40);
}

#[test]
fn a_directory_question_quotes_the_topic_and_falls_back_to_the_desk_without_matches() {
    let catalogue = catalogue();
    let matches = [DirectoryMatch {
        specialist_id: "anna_data".into(),
        score: 0.7,
        matched: vec!["power".into(), "bi".into()],
    }];
    let reply = route(
        &catalogue,
        &Decided::Directory { matches: &matches },
        Lang::En,
        day(),
        None,
    );
    assert_eq!(reply.decision, ReplyKind::Directory);
    assert_eq!(specialists(&reply), [("anna_data", SpecialistRole::Match)]);
    assert_eq!(reply.specialists[0].reason, "expertise: power, bi");
    assert_eq!(reply.confidence, 0.7);
    assert!(reply.intro.contains(QUOTE_MARK));
    let quoted = reply.quoting(Some("Power BI"));
    assert!(quoted.intro.contains("Power BI") && !quoted.text.contains(QUOTE_MARK));

    let none = route(
        &catalogue,
        &Decided::Directory { matches: &[] },
        Lang::Nl,
        day(),
        None,
    );
    assert!(none.specialists.is_empty());
    assert_eq!(none.desk.unwrap().id, catalogue.fallback_desk().id);
}
