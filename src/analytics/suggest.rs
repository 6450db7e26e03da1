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
/// The comment on top of every draft: what HRD has to do before the draft is a catalogue.
const DRAFT_HEADER: &str = "\
     # Draft intents proposed by Referral Desk from unmet demand: questions the desk could\n\
     # not answer well, grouped into topics that several people asked about.\n\
     # Before copying this file into the catalogue folder, per intent:\n\
     #   - rename the id and write a proper title and description;\n\
     #   - replace the route (now the fallback desk) with specialists and/or knowledge;\n\
     #   - check the examples and add more, 15 or more per language works best.\n\
     # Then run `referral-desk check`.\n";

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
    out.push_str(DRAFT_HEADER);
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
        let examples = pick_examples(
            cluster,
            questions,
            min_group_size.max(1),
            &mut taken_examples,
            &detector,
            catalogue,
        );
        if examples.is_empty() {
            let keywords = cluster.keywords.join(", ");
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
        write_intent(
            &mut intents,
            &id,
            &cluster.keywords,
            &examples,
            desk,
            min_group_size.max(1),
        );
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

/// Picks the cluster's most asked texts as examples, skipping any text already an example
/// (the check rejects a text that trains two intents). The language detector is trained on
/// first use only, so a run that proposes nothing does not pay for it.
fn pick_examples(
    cluster: &TopicCluster,
    questions: &[UnmetQuestion],
    min_askers: usize,
    taken_examples: &mut FxHashSet<String>,
    detector: &OnceCell<LanguageDetector>,
    catalogue: &Catalogue,
) -> Vec<(Lang, String)> {
    let mut examples: Vec<(Lang, String)> = Vec::new();
    for text in ranked_texts(cluster, questions, min_askers) {
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
    examples
}

/// Writes one proposed intent so that it passes `referral-desk check` as it is, with
/// comments telling HRD what to replace.
fn write_intent(
    intents: &mut String,
    id: &str,
    keywords: &[String],
    examples: &[(Lang, String)],
    desk: &str,
    min_askers: usize,
) {
    let title = title(keywords);
    let _ = writeln!(intents, "  - id: {}", quote(id));
    let _ = writeln!(
        intents,
        "    # keywords: {}",
        comment_safe(&keywords.join(", "))
    );
    let _ = writeln!(intents, "    title:");
    let _ = writeln!(intents, "      nl: {}", quote(&title));
    let _ = writeln!(intents, "      en: {}", quote(&title));
    let _ = writeln!(
        intents,
        "    description: {}",
        quote(&format!(
            "Proposed from unmet demand (asked by at least {min_askers} people)."
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
mod tests;
