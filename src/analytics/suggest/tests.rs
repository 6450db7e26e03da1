use std::path::{Path, PathBuf};

use super::*;
use crate::analytics::topics::cluster_unmet;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("intents")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn q(asker: u32, text: &str) -> UnmetQuestion {
    UnmetQuestion {
        asker,
        period: 0,
        text: text.to_string(),
    }
}

const TRICKY_NL: &str = "parkeervergunning: hoe zit dat? #dringend \"snel\" graag";
const TRICKY_EN: &str = "parking permit - what's the 'rule' \\ policy: #1?";

fn planted() -> Vec<UnmetQuestion> {
    let topics: [&[&str]; 2] = [
        &[
            TRICKY_NL,
            TRICKY_EN,
            "hoe vraag ik een parkeervergunning aan?",
            "parkeervergunning aanvragen voor de parking bij kantoor",
            "waar regel ik een parkeervergunning",
            "how do I get a parking permit",
            "parking permit for the office parking garage",
            "can I renew my parking permit online",
            "parkeervergunning verlengen",
            "parking permit parkeervergunning",
        ],
        &[
            // an out-of-scope example of the shipped catalogue: must not be proposed
            "wat staat er vandaag op het menu in de kantine",
            "wat is het menu van de kantine deze week",
            "menu kantine vandaag",
            "heeft de kantine ook een vegetarisch menu",
            "canteen menu this week",
            "where can I find the canteen menu",
            "is there a vegetarian menu in the canteen",
            "canteen menu kantine",
        ],
    ];
    let mut questions = Vec::new();
    let mut asker = 100;
    for texts in topics {
        for (i, text) in texts.iter().enumerate() {
            for _ in 0..if i < 2 { 5 } else { 1 } {
                asker += 1;
                questions.push(q(asker, text));
            }
        }
    }
    questions
}

#[test]
fn drafts_pass_the_catalogue_check() {
    let catalogue = Catalogue::load(shipped()).expect("the shipped catalogue loads");
    let questions = planted();
    let clusters = cluster_unmet(&questions, 5);
    // parking (possibly split into its Dutch and English phrasings) and canteen
    assert!((2..=3).contains(&clusters.len()), "{clusters:#?}");
    // a second proposal with the same keywords must get its own id
    let mut twice = clusters.clone();
    twice.push(clusters[0].clone());
    let yaml = suggest_intents(&twice, &questions, &catalogue, 5);
    eprintln!("{yaml}");
    assert!(yaml.contains("# keywords: "));
    assert!(yaml.contains("HRD: replace the fallback desk"));

    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shipped(), dir.path());
    std::fs::write(dir.path().join("suggested.yaml"), &yaml).unwrap();
    let loaded = match Catalogue::load(dir.path()) {
        Ok(loaded) => loaded,
        Err(err) => panic!("{err}\n{yaml}"),
    };
    let suggested: Vec<_> = loaded
        .intents
        .iter()
        .filter(|i| i.id.starts_with("suggested_"))
        .collect();
    // the repeated cluster has no examples left: written as a comment only
    assert_eq!(suggested.len(), clusters.len(), "{yaml}");
    assert!(yaml.contains("# Not proposed"));
    let ids: FxHashSet<&str> = loaded.intents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), loaded.intents.len());
    for intent in &suggested {
        assert_eq!(
            intent.route.desk.as_deref(),
            Some(catalogue.settings.fallback_desk.as_str())
        );
        assert!(!intent.examples.is_empty() && intent.examples.len() <= MAX_EXAMPLES);
        assert!(intent.description.contains("at least 5 people"));
        assert!(!intent.title.is_empty());
    }
    // texts with `:`, `#`, quotes and backslashes survive, in the right language
    let in_language = |lang: Lang, text: &str| {
        suggested
            .iter()
            .find(|i| i.examples.get(lang).iter().any(|t| t == text))
            .copied()
    };
    let parking = in_language(Lang::Nl, TRICKY_NL).expect("the Dutch text is an nl example");
    assert!(in_language(Lang::En, TRICKY_EN).is_some(), "{yaml}");
    assert!(parking.id.contains("parkeervergunning"), "{}", parking.id);
    // a text that already is a catalogue example is not proposed again
    let all: Vec<&str> = suggested
        .iter()
        .flat_map(|i| i.examples.iter().map(|(_, t)| t))
        .collect();
    assert!(!all.contains(&"wat staat er vandaag op het menu in de kantine"));
    // and the whole catalogue still trains, as `check` does
    crate::nlu::Classifier::from_catalogue(&loaded).unwrap();
}

/// Issue 13, item 4: a text that fewer than k people asked never appears, not even
/// inside a topic that many asked about; a spelling one person used neither.
#[test]
fn item4_only_texts_k_askers_used_are_proposed() {
    let catalogue = Catalogue::load(shipped()).unwrap();
    let mut questions = Vec::new();
    let mut asker = 0;
    let mut ask = |text: &str, times: usize, questions: &mut Vec<UnmetQuestion>| {
        for _ in 0..times {
            asker += 1;
            questions.push(q(asker, text));
        }
    };
    ask("waar is de fietsenstalling bij kantoor", 6, &mut questions);
    ask(
        "fietsenstalling kapot, mijn fiets van Jan is gestolen",
        3,
        &mut questions,
    );
    ask("fietsenstalling op kantoor vol", 1, &mut questions);
    // the same words as the common text, in a spelling only one person used
    ask("WAAR is de FietsenStalling bij kantoor", 1, &mut questions);
    let clusters = cluster_unmet(&questions, 5);
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    let yaml = suggest_intents(&clusters, &questions, &catalogue, 5);
    assert!(
        yaml.contains("\"waar is de fietsenstalling bij kantoor\""),
        "{yaml}"
    );
    for private in ["gestolen", "Jan", "vol", "FietsenStalling"] {
        assert!(!yaml.contains(private), "{private} in {yaml}");
    }
    // no count that two drafts over two ranges could be subtracted from
    for count in ["11", "10", "7", "6"] {
        assert!(!yaml.contains(count), "{count} in {yaml}");
    }
}

#[test]
fn no_clusters_is_an_empty_section() {
    let catalogue = Catalogue::load(shipped()).unwrap();
    let yaml = suggest_intents(&[], &[], &catalogue, 5);
    assert!(yaml.ends_with("intents: []\n"));
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shipped(), dir.path());
    std::fs::write(dir.path().join("suggested.yaml"), &yaml).unwrap();
    assert!(Catalogue::load(dir.path()).is_ok());
}

#[test]
fn a_topic_of_catalogue_examples_only_is_a_comment() {
    let catalogue = Catalogue::load(shipped()).unwrap();
    let questions: Vec<UnmetQuestion> = (0..6)
        .map(|a| q(a, "Wat staat er vandaag op het menu in de KANTINE"))
        .collect();
    let clusters = cluster_unmet(&questions, 5);
    assert_eq!(clusters.len(), 1);
    let yaml = suggest_intents(&clusters, &questions, &catalogue, 5);
    assert!(yaml.contains("intents: []\n# Not proposed"), "{yaml}");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shipped(), dir.path());
    std::fs::write(dir.path().join("suggested.yaml"), &yaml).unwrap();
    let loaded = Catalogue::load(dir.path()).unwrap();
    assert_eq!(loaded.intents.len(), catalogue.intents.len());
}

#[test]
#[should_panic(expected = "may not be proposed")]
fn small_clusters_are_refused() {
    let catalogue = Catalogue::load(shipped()).unwrap();
    let questions: Vec<UnmetQuestion> = (0..3).map(|a| q(a, "fietslease")).collect();
    let cluster = TopicCluster {
        members: vec![0, 1, 2],
        keywords: vec!["fietslease".into()],
        askers: 3,
    };
    suggest_intents(&[cluster], &questions, &catalogue, 5);
}

#[test]
fn quoted_texts_read_back_unchanged() {
    for text in [
        "plain",
        "key: value # not a comment",
        "\"double\" and 'single' quotes",
        "back\\slash \\n not a newline",
        "- starts like a list",
        "? starts like a key",
        "tab\there, newline\nthere, bell\u{7} and nel\u{85}",
        "line\u{2028}separator and bom\u{feff}",
        "ideeën – “quotes” 😀",
        "yes",
        "null",
        "123",
        "",
    ] {
        let yaml = format!("value: {}\n", quote(text));
        let parsed: FxHashMap<String, String> =
            serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(parsed["value"], text, "{yaml}");
    }
}

#[test]
fn ids_are_valid_and_unique() {
    let mut taken: FxHashSet<String> = ["suggested_fiets_lease".to_string()].into_iter().collect();
    let keywords = vec!["fiets".to_string(), "lease".to_string()];
    assert_eq!(unique_id(&keywords, &mut taken), "suggested_fiets_lease_2");
    assert_eq!(unique_id(&keywords, &mut taken), "suggested_fiets_lease_3");
    assert_eq!(
        unique_id(&["zo'n".into(), "ideeën".into(), "日本".into()], &mut taken),
        "suggested_zo_n_ideeen"
    );
    assert_eq!(unique_id(&[], &mut taken), "suggested_topic");
    assert_eq!(title(&keywords), "Fiets, lease");
}
