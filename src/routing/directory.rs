//! The specialist directory as a search engine: "who knows about X" / "wie weet iets van X"
//! questions are answered from the specialists' expertise text and tags, not from an intent
//! route, with the words that made each person match.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use regex::Regex;
use std::sync::LazyLock;

use crate::catalogue::{Catalogue, Specialist};
use crate::nlu::{FeatureSettings, SparseVector, Vectorizer};
use crate::text::{normalise, tokens};

/// Words too common to explain a match.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "de", "een", "en", "for", "het", "in", "met", "of", "on", "over",
    "the", "to", "van", "voor", "with",
];

static DIRECTORY_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            (?:who|(?:anyone|anybody|somebody|someone)\s+(?:here\s+)?(?:who\s+)?)\s*(?:knows?|is\s+(?:an?\s+)?(?:expert|specialist)|has\s+(?:experience|expertise))\s+(?:a\s+lot\s+)?(?:about|on|in|with|of|for)?
          | (?:is\s+there\s+)?(?:an?\s+)?(?:expert|specialist)\s+(?:on|in|for)
          | wie\s+(?:weet|kent|snapt)\s+(?:er\s+)?(?:iets|veel|alles|wat)?\s*(?:af\s+)?(?:van|over|met)?
          | wie\s+(?:is|zijn)\s+(?:er\s+)?(?:de\s+|een\s+)?(?:expert|specialist|deskundige|kenner)s?\s*(?:op\s+het\s+gebied\s+van|in|op|van|voor)?
          | wie\s+heeft\s+(?:er\s+)?(?:ervaring|verstand|kennis)\s+(?:van|met|over)
          | (?:is\s+er\s+)?(?:een\s+)?(?:expert|specialist|deskundige)\s+(?:in|op|voor|van)
        )\s+(?P<topic>.+?)\s*[?.!]*\s*$",
    )
    .expect("static regex")
});

/// The topic of a directory question ("who knows about power bi?" -> "power bi"), or `None`
/// when the text is not one.
pub fn directory_topic(text: &str) -> Option<String> {
    DIRECTORY_QUESTION
        .captures(text)
        .and_then(|c| c.name("topic"))
        .map(|m| m.as_str().trim().to_string())
        .filter(|t| !t.is_empty())
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryMatch {
    pub specialist_id: String,
    pub score: f32,
    /// Words of the question found in the person's expertise or tags.
    pub matched: Vec<String>,
}

/// Below this similarity of sentence embeddings a person matches only on shared words.
/// Measured with all-MiniLM-L6-v2 on the shipped directory (a short topic against a long
/// expertise text): the right person scored 0.30 to 0.53 ("buying software" ~ procurement
/// 0.31, "dashboards" ~ Power BI 0.41, "agile" 0.53), unrelated topics ("gardening",
/// "football", "tax returns", "neural networks") at most 0.21.
const SEMANTIC_MATCH: f32 = 0.28;

/// An index over the specialists' expertise, tags and department.
#[derive(Debug, Clone)]
pub struct Directory {
    vectorizer: Vectorizer,
    people: Vec<(String, SparseVector, BTreeSet<String>)>,
    /// Sentence embeddings of [`Specialist::expertise_text`], in `people` order, when a model is loaded.
    embeddings: Option<Vec<Vec<f32>>>,
}

impl Directory {
    pub fn new(catalogue: &Catalogue) -> Directory {
        let profiles: Vec<String> = catalogue
            .specialists
            .iter()
            .map(Specialist::expertise_text)
            .collect();
        let texts: Vec<&str> = profiles.iter().map(String::as_str).collect();
        let (vectorizer, vectors) = Vectorizer::fit_transform(FeatureSettings::default(), &texts);
        let people = catalogue
            .specialists
            .iter()
            .zip(vectors)
            .zip(&profiles)
            .map(|((s, v), text)| {
                let words = tokens(&normalise(text))
                    .map(|w| w.replace('-', " "))
                    .collect();
                (s.id.clone(), v, words)
            })
            .collect();
        Directory {
            vectorizer,
            people,
            embeddings: None,
        }
    }

    /// Adds the embeddings of the specialists' [`Specialist::expertise_text`] (catalogue order), so
    /// lookups also find people whose expertise says the same in other words.
    pub fn with_embeddings(mut self, vectors: Vec<Vec<f32>>) -> Directory {
        if vectors.len() == self.people.len() {
            self.embeddings = Some(vectors);
        }
        self
    }

    /// Whether [`Self::search_with`] uses a topic embedding.
    pub fn uses_embeddings(&self) -> bool {
        self.embeddings.is_some()
    }

    /// The best `limit` available specialists for `topic`, best first; only people that share
    /// at least one meaningful word or enough of its character n-grams.
    pub fn search(
        &self,
        catalogue: &Catalogue,
        topic: &str,
        today: NaiveDate,
        limit: usize,
    ) -> Vec<DirectoryMatch> {
        self.search_with(catalogue, topic, today, limit, None)
    }

    /// As [`Self::search`]; with the topic's embedding (and the specialists'), a person also
    /// matches on meaning ([`SEMANTIC_MATCH`]), and the ranking averages both similarities.
    pub fn search_with(
        &self,
        catalogue: &Catalogue,
        topic: &str,
        today: NaiveDate,
        limit: usize,
        topic_embedding: Option<&[f32]>,
    ) -> Vec<DirectoryMatch> {
        let semantic = self.embeddings.as_deref().zip(topic_embedding);
        let query = self.vectorizer.transform(topic);
        let normalised = normalise(topic);
        let words: Vec<&str> = tokens(&normalised)
            .filter(|w| !STOP_WORDS.contains(w))
            .collect();
        let mut matches: Vec<DirectoryMatch> = self
            .people
            .iter()
            .enumerate()
            .filter(|(_, (id, _, _))| {
                catalogue
                    .specialist(id)
                    .is_some_and(|s| s.is_available(today))
            })
            .filter_map(|(person, (id, vector, vocabulary))| {
                let lexical = cosine(&query, vector);
                let matched: Vec<String> = words
                    .iter()
                    .filter(|w| vocabulary.contains(**w))
                    .map(|w| w.to_string())
                    .collect();
                let on_words = lexical >= 0.12 && (!matched.is_empty() || lexical >= 0.3);
                let (on_meaning, score) = match semantic {
                    Some((people, topic)) => {
                        let similarity = dot(&people[person], topic);
                        (similarity >= SEMANTIC_MATCH, (lexical + similarity) / 2.0)
                    }
                    None => (false, lexical),
                };
                (on_words || on_meaning).then(|| DirectoryMatch {
                    specialist_id: id.clone(),
                    score,
                    matched,
                })
            })
            .collect();
        matches.sort_by(|a, b| b.score.total_cmp(&a.score));
        matches.truncate(limit);
        matches
    }
}

/// Cosine of two unit-length embeddings.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn cosine(a: &SparseVector, b: &SparseVector) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a.values[i] * b.values[j];
                i += 1;
                j += 1;
            }
        }
    }
    let norm = |v: &SparseVector| v.values.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_directory_questions_in_both_languages() {
        for (text, topic) in [
            ("who knows about Power BI?", "Power BI"),
            ("Who is an expert on agile coaching", "agile coaching"),
            ("anyone who knows a lot about RPA?", "RPA"),
            ("wie weet iets van Power BI?", "Power BI"),
            ("Wie weet er veel over teal organiseren", "teal organiseren"),
            (
                "wie is expert in leveranciersmanagement?",
                "leveranciersmanagement",
            ),
            ("wie heeft ervaring met UiPath", "UiPath"),
            ("expert on OKRs?", "OKRs"),
        ] {
            assert_eq!(directory_topic(text).as_deref(), Some(topic), "{text}");
        }
        for text in [
            "wie kan me helpen met Power BI?",
            "how do I apply for training budget",
            "who",
            "ik weet het niet",
        ] {
            assert_eq!(directory_topic(text), None, "{text}");
        }
    }
}
