//! The classifier's decisions as the desk's users notice them: routed to the right intent,
//! honest "out of scope" for what the catalogue does not cover, and a question back when two
//! intents are equally likely.

use referral_desk::catalogue::{Catalogue, ClassifierSettings, Lang};
use referral_desk::nlu::{Classifier, Decision, FeatureSettings, LanguageDetector, TrainSettings};

fn fixture() -> (Catalogue, Classifier) {
    let catalogue = Catalogue::load("tests/fixtures/catalogue-small").unwrap();
    let classifier = Classifier::from_catalogue(&catalogue).unwrap();
    (catalogue, classifier)
}

#[test]
fn routes_unseen_dutch_and_english_questions() {
    let (_, classifier) = fixture();
    for (text, intent) in [
        ("Wie kan mij helpen met Power BI?", "data_skills"),
        ("hoeveel opleidingsbudget heb ik over", "training_budget"),
        ("my laptop broke down", "it_support"),
        ("I'd like to request parental leave", "leave"),
    ] {
        let prediction = classifier.predict(text);
        assert_eq!(
            prediction.decision,
            Decision::Routed,
            "{text}: {prediction:?}"
        );
        assert_eq!(prediction.intent.as_deref(), Some(intent), "{text}");
        assert_eq!(prediction.alternatives[0].intent, intent);
        assert_eq!(prediction.alternatives.len(), 3);
    }
}

#[test]
fn out_of_scope_questions_go_to_the_fallback() {
    let (_, classifier) = fixture();
    for text in [
        "what will the weather be like in Rome",
        "geef me een recept voor pannenkoeken",
    ] {
        let prediction = classifier.predict(text);
        assert_eq!(
            prediction.decision,
            Decision::OutOfScope,
            "{text}: {prediction:?}"
        );
        assert_eq!(prediction.intent, None);
    }
}

#[test]
fn text_with_no_known_words_is_out_of_scope() {
    let (_, classifier) = fixture();
    let prediction = classifier.predict("qwxz zzkq");
    assert_eq!(prediction.decision, Decision::OutOfScope, "{prediction:?}");
}

#[test]
fn two_equally_likely_intents_make_the_question_ambiguous() {
    // Two intents that differ only in one word each: a question with neither word is an
    // exact tie, and the desk must ask rather than guess.
    let examples = [
        ("ik wil graag advies over mijn pensioen", Some("pension")),
        ("vraag over pensioen opbouw", Some("pension")),
        ("ik wil graag advies over mijn hypotheek", Some("mortgage")),
        ("vraag over hypotheek opbouw", Some("mortgage")),
        ("wat is het weer", None),
    ];
    let settings = ClassifierSettings {
        threshold: 0.1,
        ambiguity_margin: 0.1,
    };
    let classifier = Classifier::train(
        &examples,
        FeatureSettings::default(),
        &TrainSettings::default(),
        settings,
        |_, _| {},
    )
    .unwrap();
    let prediction = classifier.predict("ik wil graag advies");
    assert_eq!(prediction.decision, Decision::Ambiguous, "{prediction:?}");
    let top_two: Vec<&str> = prediction.alternatives[..2]
        .iter()
        .map(|a| a.intent.as_str())
        .collect();
    assert!(top_two.contains(&"pension") && top_two.contains(&"mortgage"));
    let clear = classifier.predict("advies over mijn pensioen");
    assert_eq!(clear.decision, Decision::Routed);
    assert_eq!(clear.intent.as_deref(), Some("pension"));
}

#[test]
fn the_threshold_decides_out_of_scope() {
    let (_, mut classifier) = fixture();
    let text = "how much do i have left";
    let prediction = classifier.predict(text);
    // what the threshold is held against: how far the best intent beats "out of scope"
    let margin = prediction.confidence - prediction.out_of_scope_probability;
    assert!(margin > 0.02 && margin < 1.0, "{prediction:?}");
    assert!(
        prediction.out_of_scope_probability > 0.02,
        "the fixture has out-of-scope examples: {prediction:?}"
    );
    let decide = |classifier: &mut Classifier, threshold: f32| {
        classifier.set_settings(ClassifierSettings {
            threshold,
            ambiguity_margin: 0.0,
        });
        classifier.predict(text).decision
    };
    assert_eq!(decide(&mut classifier, margin - 0.01), Decision::Routed);
    assert_eq!(decide(&mut classifier, margin + 0.01), Decision::OutOfScope);
    // a best intent above the threshold is not enough when "out of scope" is close behind it
    let between = (margin + prediction.confidence) / 2.0;
    assert!(prediction.confidence > between);
    assert_eq!(decide(&mut classifier, between), Decision::OutOfScope);
}

#[test]
fn training_is_deterministic() {
    let (catalogue, first) = fixture();
    let second = Classifier::from_catalogue(&catalogue).unwrap();
    for text in ["budget", "power bi", "weer", "verlof"] {
        assert_eq!(
            first.probabilities(text),
            second.probabilities(text),
            "{text}"
        );
    }
}

#[test]
fn the_language_of_short_questions_is_detected() {
    let (catalogue, _) = fixture();
    let detector = LanguageDetector::from_catalogue(&catalogue);
    assert_eq!(
        detector.detect("wie weet er iets van dashboards?"),
        Lang::Nl
    );
    assert_eq!(detector.detect("who knows about dashboards?"), Lang::En);
    assert_eq!(detector.detect("mijn wachtwoord werkt niet"), Lang::Nl);
    assert_eq!(detector.detect("my password does not work"), Lang::En);
}
