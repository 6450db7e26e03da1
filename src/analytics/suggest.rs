//! Draft intents for HRD: one proposed intent per emerging topic, as a catalogue file that
//! HRD reviews, completes and copies into `intents/`.
//!
//! The draft passes `referral-desk check` as it is (no errors) so HRD can try it right away:
//! - ids are `suggested_` plus the topic's keywords, made valid and unique;
//! - the route is the catalogue's fallback desk, with a comment asking HRD to replace it with
//!   specialists or knowledge items;
//! - the keywords are a comment (intents have no keywords field, and unknown keys are errors);
//! - the examples are the cluster's most asked texts (by distinct askers), split into Dutch
//!   and English by the catalogue-trained [`LanguageDetector`], without texts that already are
//!   an example anywhere in the catalogue (after the check's normalisation), since the check
//!   rejects a text that trains two intents. A topic left without examples is written as a
//!   comment only (an intent without examples is an error). Fewer than five examples in a
//!   language is only a warning.
//! - **nothing one person wrote**: a text is proposed only when at least `min_group_size`
//!   distinct askers asked it (after normalisation), in the spelling that many of them used
//!   or else in its normalised form; the keywords are used by that many askers too, and no
//!   count is written (a count per range would let two drafts be subtracted).
//!
//! Every text is written as a double-quoted YAML scalar with escapes, so `:`, `#`, quotes,
//! backslashes and control characters survive.

use std::cell::OnceCell;
use std::fmt::Write as _;

use rustc_hash::{FxHashMap, FxHashSet};

use super::topics::{TopicCluster, UnmetQuestion};
use crate::catalogue::{Catalogue, Lang};
use crate::nlu::LanguageDetector;
use crate::text::normalise;

/// Examples proposed per intent at most.
const MAX_EXAMPLES: usize = 8;
/// Longer texts are not proposed as examples (they rarely read like a typical question).
const MAX_EXAMPLE_CHARS: usize = 200;

/// A YAML document with an `intents:` section proposing one new intent per cluster, for HRD
/// to review and merge into the catalogue.
///
/// # Panics
/// When a cluster has fewer than `min_group_size` distinct askers: only clusters from
/// [`super::topics::cluster_unmet`] with the same minimum may be shown to HRD.
pub fn suggest_intents(
    clusters: &[TopicCluster],
    questions: &[UnmetQuestion],
    catalogue: &Catalogue,
    min_group_size: usize,
) -> String {
    let mut out = String::new();
    out.push_str(
        "# Draft intents proposed by Referral Desk from unmet demand: questions the desk could\n\
         # not answer well, grouped into topics that several people asked about.\n\
         # Before copying this file into the catalogue folder, per intent:\n\
         #   - rename the id and write a proper title and description;\n\
         #   - replace the route (now the fallback desk) with specialists and/or knowledge;\n\
         #   - check the examples and add more, 15 or more per language works best.\n\
         # Then run `referral-desk check`.\n",
    );
    // Intents, and comments on topics that could not be proposed.
    let mut intents = String::new();
    let mut skipped = String::new();
    let mut taken_ids: FxHashSet<String> = catalogue.intents.iter().map(|i| i.id.clone()).collect();
    let mut taken_examples: FxHashSet<String> = catalogue
        .intents
        .iter()
        .flat_map(|i| i.examples.iter())
        .chain(catalogue.out_of_scope.iter())
        .map(|(_, text)| normalise(text))
        .collect();
    let detector = OnceCell::new();
    let desk = catalogue.settings.fallback_desk.as_str();

    for cluster in clusters {
        let askers = distinct_askers(cluster, questions);
        assert!(
            askers >= min_group_size.max(1) && cluster.askers >= min_group_size.max(1),
            "a cluster with {askers} askers may not be proposed (minimum group size {min_group_size})"
        );
        let id = unique_id(&cluster.keywords, &mut taken_ids);
        let mut examples: Vec<(Lang, String)> = Vec::new();
        for text in ranked_texts(cluster, questions, min_group_size.max(1)) {
            if examples.len() == MAX_EXAMPLES {
                break;
            }
            let key = normalise(&text);
            if key.trim().is_empty() || taken_examples.contains(&key) {
                continue;
            }
            taken_examples.insert(key);
            let detector = detector.get_or_init(|| LanguageDetector::from_catalogue(catalogue));
            examples.push((detector.detect(&text), text));
        }
        let keywords = cluster.keywords.join(", ");
        if examples.is_empty() {
            let _ = writeln!(
                skipped,
                "# Not proposed: the topic \"{}\" has no question that at least {} people asked\n\
                 # in the same words and that is not already an example (in the catalogue or\n\
                 # above); add examples for it by hand if HRD wants it.",
                comment_safe(&keywords),
                min_group_size.max(1)
            );
            continue;
        }
        let title = title(&cluster.keywords);
        let _ = writeln!(intents, "  - id: {}", quote(&id));
        let _ = writeln!(intents, "    # keywords: {}", comment_safe(&keywords));
        let _ = writeln!(intents, "    title:");
        let _ = writeln!(intents, "      nl: {}", quote(&title));
        let _ = writeln!(intents, "      en: {}", quote(&title));
        let _ = writeln!(
            intents,
            "    description: {}",
            quote(&format!(
                "Proposed from unmet demand (asked by at least {} people).",
                min_group_size.max(1)
            ))
        );
        let _ = writeln!(intents, "    route:");
        let _ = writeln!(
            intents,
            "      # HRD: replace the fallback desk with `specialists: [...]` and/or `knowledge: [...]`."
        );
        let _ = writeln!(intents, "      desk: {}", quote(desk));
        let _ = writeln!(intents, "    examples:");
        for lang in Lang::ALL {
            let texts: Vec<&str> = examples
                .iter()
                .filter(|(l, _)| *l == lang)
                .map(|(_, t)| t.as_str())
                .collect();
            if texts.is_empty() {
                continue;
            }
            let _ = writeln!(intents, "      {}:", lang.code());
            for text in texts {
                let _ = writeln!(intents, "        - {}", quote(text));
            }
        }
    }
    // `intents:` with nothing under it would be null, not an empty list.
    if intents.is_empty() {
        out.push_str("intents: []\n");
    } else {
        out.push_str("intents:\n");
        out.push_str(&intents);
    }
    out.push_str(&skipped);
    out
}

fn distinct_askers(cluster: &TopicCluster, questions: &[UnmetQuestion]) -> usize {
    let askers: FxHashSet<u32> = cluster
        .members
        .iter()
        .map(|m| questions[*m].asker)
        .collect();
    askers.len()
}

/// The cluster's texts that at least `min_askers` distinct askers asked (trimmed, one
/// spelling per normalised form), most distinct askers first, then most questions, then
/// alphabetically. The spelling is one at least `min_askers` askers used, else the
/// normalised form itself: a spelling only one person used could point at them.
fn ranked_texts(
    cluster: &TopicCluster,
    questions: &[UnmetQuestion],
    min_askers: usize,
) -> Vec<String> {
    struct Form<'a> {
        askers: FxHashSet<u32>,
        questions: usize,
        spellings: FxHashMap<&'a str, FxHashSet<u32>>,
    }
    let mut forms: FxHashMap<String, Form> = FxHashMap::default();
    for m in &cluster.members {
        let question = &questions[*m];
        let text = question.text.trim();
        if text.is_empty() || text.chars().count() > MAX_EXAMPLE_CHARS {
            continue;
        }
        let form = forms.entry(normalise(text)).or_insert_with(|| Form {
            askers: FxHashSet::default(),
            questions: 0,
            spellings: FxHashMap::default(),
        });
        form.askers.insert(question.asker);
        form.questions += 1;
        form.spellings
            .entry(text)
            .or_default()
            .insert(question.asker);
    }
    let mut ranked: Vec<(usize, usize, String, String)> = forms
        .into_iter()
        .filter(|(_, form)| form.askers.len() >= min_askers)
        .map(|(key, form)| {
            let spelling = form
                .spellings
                .iter()
                .filter(|(_, askers)| askers.len() >= min_askers)
                .max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)))
                .map_or_else(|| key.clone(), |(s, _)| s.to_string());
            (form.askers.len(), form.questions, key, spelling)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    ranked.into_iter().map(|(_, _, _, s)| s).collect()
}

/// `suggested_` plus the keywords, limited to the id charset, unique among `taken`.
fn unique_id(keywords: &[String], taken: &mut FxHashSet<String>) -> String {
    let mut base = String::from("suggested");
    for keyword in keywords {
        let mut part = String::new();
        for c in normalise(keyword).chars() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                part.push(c);
            } else if !part.is_empty() && !part.ends_with('_') {
                part.push('_');
            }
        }
        let part = part.trim_end_matches('_');
        if !part.is_empty() {
            base.push('_');
            base.push_str(part);
        }
    }
    if base == "suggested" {
        base.push_str("_topic");
    }
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}_{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
}

/// The first three keywords, the first one capitalised: "Parkeervergunning, parking, permit".
fn title(keywords: &[String]) -> String {
    let joined = keywords
        .iter()
        .take(3)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Suggested topic".to_string(),
    }
}

/// Text for a YAML comment: on one line.
fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` as a YAML double-quoted scalar: `"` and `\` escaped, and every character YAML does
/// not allow (or could read as a line break) written as an escape.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
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
        let mut taken: FxHashSet<String> =
            ["suggested_fiets_lease".to_string()].into_iter().collect();
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
}
