//! Emerging topics: groups of questions the desk could not meet (out of scope, low confidence,
//! or marked "not helpful"), so HRD sees what employees ask for that the catalogue lacks.
//!
//! # Method
//!
//! 1. **Normalise and deduplicate.** Each (already redacted) text is normalised the way the
//!    classifier does it ([`crate::text::normalise`]: NFKC, lowercase, accents folded),
//!    placeholders such as `[email]` are removed, and Dutch and English stop words are dropped.
//!    Questions with the same remaining words become one *text* that keeps its questions and
//!    its distinct askers. A log with heavy repetition (200,000 questions, 2,000 distinct
//!    texts) costs little more than its distinct texts.
//! 2. **Features.** TF-IDF with the project's [`Vectorizer`] (sublinear tf, smoothed idf, L2)
//!    over two blocks of equal weight: the content words, and the same words truncated to
//!    their first five letters. Truncation is a crude but language-independent stemmer (a
//!    known alternative to rule-based stemming in multilingual retrieval): `leasen`/`lease`,
//!    `parkeervergunningen`/`parkeervergunning`, the head of a compound (`fietslease` →
//!    `fiets`) and typos after the fifth letter all meet. Unlike the classifier, no word
//!    bigrams or character n-grams: in short chat questions bigrams rarely recur, so they only
//!    make rephrasings look less alike (on the planted test data they split topics), and
//!    character n-grams make the similarity matrix several times more expensive for what the
//!    truncated block mostly already gives. Vectors have unit length, so a dot product is the
//!    cosine similarity.
//! 3. **Average-linkage (UPGMA) agglomerative clustering** of the texts on cosine similarity,
//!    each text weighted by its distinct askers, with the nearest-neighbour-chain algorithm
//!    (exact, O(n²) time on one similarity matrix). Average linkage suits this data better
//!    than k-means: unmet questions are mostly noise (one-off questions that resemble nothing
//!    else). K-means would force each of them into some topic and needs the number of topics
//!    up front; in the dendrogram, noise stays a singleton, and a merge's height means
//!    something (the average similarity between the two groups' questions).
//! 4. **Automatic cut.** The dendrogram is cut at a similarity threshold from a grid (0.10 to
//!    0.90 in steps of 0.025) chosen by the mean silhouette (Rousseeuw 1987; cosine distance;
//!    a singleton's silhouette is 0), computed for a deterministic systematic sample of at
//!    most 1,000 texts against all clustered texts. Among cuts whose silhouette is within 5%
//!    of the best, the coarsest wins: on short texts the silhouette curve is flat near its
//!    top (differences there are within the sampling noise), and a topic split into its
//!    Dutch and English phrasings is less useful to HRD and more often falls below the
//!    minimum group size in both halves.
//! 5. **No forced members.** Each cluster gets a centroid (asker-weighted mean of its texts);
//!    texts whose cosine similarity to it is below 0.30 are dropped as outliers. Clusters
//!    that then have fewer than `min_group_size` distinct askers are dropped, as are clusters
//!    without a keyword that enough askers used.
//! 6. **Keywords** by class-based TF-IDF (c-TF-IDF, as in BERTopic): a word scores by the share
//!    of the cluster's askers who used it, times `ln(1 + W / f)`, where `f` counts the askers
//!    behind all texts with the word and `W` those behind all texts. Only words used by at
//!    least `min_group_size` distinct askers in the cluster qualify, so a keyword never
//!    points at one person.
//!
//! # Cost
//!
//! Agglomeration is limited to the 3,000 texts with the most askers (a 36 MB matrix); texts
//! beyond that (the rarest phrasings, mostly asked once) join the most similar centroid when
//! they are similar enough, as in the Buckshot scheme (agglomerate a sample, then assign).
//! The similarity matrix is computed through an inverted index (pairs without a common word
//! cost nothing); the agglomeration retires clusters that are not similar enough to anything
//! for the lowest cut, which is exact for every cut (UPGMA merges are monotone) and skips
//! most of the work on noise; the silhouette only visits the sample's nonzero similarities.
//! Similarity rows and silhouettes run on up to four threads; results do not depend on the
//! thread count. Measured in release on a 2-core machine that was compiling at the same time
//! (test `large_logs_cluster`, printed): 200,000 questions with 2,000 distinct texts in
//! 155-170 ms, 50,000 questions with 5,000 distinct texts in 280-290 ms (up to 290 and
//! 530 ms with two compilers running).
//!
//! Everything is deterministic: no random numbers, ties broken by position, stable ordering.

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::{FxHashMap, FxHashSet};

use super::cluster::*;
use crate::nlu::{FeatureSettings, SparseVector, Vectorizer};
use crate::text::{normalise, tokens};

/// A question the desk could not meet, already redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmetQuestion {
    /// Pseudonymous asker number.
    pub asker: u32,
    /// Index of the report period the question was asked in.
    pub period: usize,
    pub text: String,
}

/// One emerging topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCluster {
    /// Indices into the input slice, ascending.
    pub members: Vec<usize>,
    /// Top keywords (at most 5), most characteristic first, each used by at least
    /// `min_group_size` distinct askers in the cluster; no stop words or placeholders.
    pub keywords: Vec<String>,
    /// Distinct askers in the cluster.
    pub askers: usize,
}

/// Texts agglomerated at most; the rest is assigned to the nearest centroid.
const AGGLOMERATION_CAP: usize = 3000;
/// Texts whose silhouette is computed per candidate cut.
const SILHOUETTE_SAMPLE: usize = 1000;
/// A text less similar than this to its cluster's centroid is not part of the topic.
pub(super) const MIN_CENTROID_SIMILARITY: f32 = 0.30;
/// Letters kept of each word in the truncated (stem) block.
const STEM_LETTERS: usize = 5;
const MAX_KEYWORDS: usize = 5;

const NO_TEXT: u32 = u32::MAX;

/// Groups unmet questions into topics: clusters with at least `min_group_size` distinct
/// askers, largest (by askers) first. See the module docs for the method.
pub fn cluster_unmet(questions: &[UnmetQuestion], min_group_size: usize) -> Vec<TopicCluster> {
    let min_group_size = min_group_size.max(1);
    let prepared = Prepared::new(questions);
    let n = prepared.keys.len();
    if n == 0 {
        return Vec::new();
    }
    let vectors = prepared.vectors();
    let dimension = vectors
        .iter()
        .flat_map(|v| v.indices.last())
        .max()
        .map_or(0, |d| *d as usize + 1);

    // The texts with the most askers are agglomerated; the rest may join a centroid later.
    let order = order_by_askers(&prepared);
    let h = n.min(AGGLOMERATION_CAP);
    let (agglomerated, leftovers) = order.split_at(h);
    let labels = cut_dendrogram(&prepared, &vectors, agglomerated, dimension);
    let groups = select_groups(&prepared, agglomerated, &labels, min_group_size);
    let (centroids, mut members) = centre_groups(&prepared, &vectors, &groups);
    assign_leftovers(leftovers, &vectors, &centroids, &mut members);
    rank_topics(&prepared, &members, min_group_size)
}

/// Orders the texts most askers first (ties by text), since only the head of the order is
/// agglomerated and the rest may only join a centroid later.
fn order_by_askers(prepared: &Prepared) -> Vec<u32> {
    let mut order: Vec<u32> = (0..prepared.keys.len() as u32).collect();
    order.sort_by(|a, b| {
        let (a, b) = (*a as usize, *b as usize);
        prepared.weight[b]
            .cmp(&prepared.weight[a])
            .then_with(|| prepared.keys[a].cmp(&prepared.keys[b]))
    });
    order
}

/// Agglomerates the texts of `agglomerated` and cuts the dendrogram where the silhouette is
/// best, returning a label per text. One step, so the similarity matrix (the largest
/// allocation) is freed before anything else is built.
fn cut_dendrogram(
    prepared: &Prepared,
    vectors: &[SparseVector],
    agglomerated: &[u32],
    dimension: usize,
) -> Vec<u32> {
    let h = agglomerated.len();
    let rows: Vec<&SparseVector> = agglomerated.iter().map(|t| &vectors[*t as usize]).collect();
    let weights: Vec<f64> = agglomerated
        .iter()
        .map(|t| f64::from(prepared.weight[*t as usize]))
        .collect();

    let mut matrix = similarity_matrix(&rows, dimension);
    // The sample's similarities (the nonzero ones) for the silhouette, before the
    // agglomeration overwrites the matrix.
    let sample: Vec<SampleRow> = systematic_sample(h, SILHOUETTE_SAMPLE)
        .into_iter()
        .map(|i| SampleRow {
            point: i,
            similar: matrix[i * h..(i + 1) * h]
                .iter()
                .enumerate()
                .filter(|(j, s)| *j != i && **s > 0.0)
                .map(|(j, s)| (j as u32, *s))
                .collect(),
        })
        .collect();
    let merges = average_linkage(&mut matrix, h, &weights);
    drop(matrix);
    let labels = best_cut(&merges, h, &sample);
    drop(sample);
    labels
}

/// Keeps the groups that can still become a topic: two or more texts, or one with enough
/// askers. The rest is noise and gets no centroid, so no leftover text can join it.
fn select_groups(
    prepared: &Prepared,
    agglomerated: &[u32],
    labels: &[u32],
    min_group_size: usize,
) -> Vec<Vec<u32>> {
    let h = agglomerated.len();
    let mut size = vec![0u32; h];
    let mut weight = vec![0u64; h];
    for (i, label) in labels.iter().enumerate() {
        size[*label as usize] += 1;
        weight[*label as usize] += u64::from(prepared.weight[agglomerated[i] as usize]);
    }
    let mut group_of = vec![u32::MAX; h];
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let label = *label as usize;
        if size[label] < 2 && weight[label] < min_group_size as u64 {
            continue;
        }
        if group_of[label] == u32::MAX {
            group_of[label] = groups.len() as u32;
            groups.push(Vec::new());
        }
        groups[group_of[label] as usize].push(agglomerated[i]);
    }
    groups
}

/// Computes each group's centroid and keeps the group's texts close enough to it: a text far
/// from its centroid is an outlier, not part of the topic (no forced members).
fn centre_groups(
    prepared: &Prepared,
    vectors: &[SparseVector],
    groups: &[Vec<u32>],
) -> (Vec<SparseVector>, Vec<Vec<u32>>) {
    let centroids: Vec<SparseVector> = groups
        .iter()
        .map(|g| {
            centroid(g.iter().map(|t| {
                (
                    &vectors[*t as usize],
                    f64::from(prepared.weight[*t as usize]),
                )
            }))
        })
        .collect();
    let members: Vec<Vec<u32>> = groups
        .iter()
        .zip(&centroids)
        .map(|(g, c)| {
            g.iter()
                .copied()
                .filter(|t| dot(&vectors[*t as usize], c) >= MIN_CENTROID_SIMILARITY)
                .collect()
        })
        .collect();
    (centroids, members)
}

/// Keeps the groups that make a topic and orders them largest first (ties by size, then by
/// first question), so the largest topics come first wherever the list is cut short.
fn rank_topics(
    prepared: &Prepared,
    members: &[Vec<u32>],
    min_group_size: usize,
) -> Vec<TopicCluster> {
    let by_text = prepared.questions_by_text();
    let mut stamps = Stamps::new(prepared.askers);
    let mut clusters: Vec<TopicCluster> = members
        .iter()
        .filter_map(|texts| prepared.topic(texts, &by_text, min_group_size, &mut stamps))
        .collect();
    clusters.sort_by(|a, b| {
        b.askers
            .cmp(&a.askers)
            .then_with(|| b.members.len().cmp(&a.members.len()))
            .then_with(|| a.members.first().cmp(&b.members.first()))
    });
    clusters
}

// ---------------------------------------------------------------------------------------------
// Text preparation

/// Words that say nothing about the topic of a question, normalised (no accents).
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    // Dutch
    "aan", "al", "alle", "alles", "alsjeblieft", "alstublieft", "alvast", "als", "ander",
    "andere", "ben", "bent", "bij", "bedankt", "ca", "daar", "dan", "dank", "dat", "de",
    "deze", "die", "dit", "doe", "doen", "doet", "door", "dus", "echt", "een", "eens",
    "eigenlijk", "elk", "elke", "en", "er", "even", "ga", "gaan", "gaat", "geen", "graag",
    "had", "heb", "hebben", "hebt", "heeft", "hem", "hen", "het", "hier", "hij", "hoe",
    "hoeveel", "hoi", "hallo", "hoor", "hun", "ik", "in", "info", "informatie", "is", "ja",
    "je", "jij", "jou", "jouw", "jullie", "kan", "kon", "kun", "kunnen", "kunt", "maar", "me",
    "meer", "men", "met", "mij", "mijn", "m'n", "mag", "mogen", "moet", "moeten", "na", "naar",
    "nee", "niet", "niets", "niks", "nog", "nu", "of", "om", "omdat", "ons", "onze", "ook",
    "op", "over", "s", "t", "te", "toch", "tot", "u", "uit", "uw", "van", "veel", "voor",
    "vraag", "vragen", "waar", "waarom", "wanneer", "was", "wat", "we", "weet", "weten", "wel",
    "welk", "welke", "werd", "wie", "wij", "wil", "wilt", "willen", "word", "wordt", "worden",
    "z'n", "ze", "zal", "zelf", "zich", "zij", "zijn", "zit", "zo", "zo'n", "zoals", "zou",
    "zouden", "zullen", "iemand", "iets", "help", "helpen", "hulp", "hey", "hi", "hee", "via",
    "per", "vandaag", "morgen", "gisteren", "staat", "staan", "sta",
    // English
    "a", "about", "all", "also", "am", "an", "and", "any", "anybody", "anyone", "anything",
    "are", "as", "at", "be", "been", "being", "but", "by", "can", "can't", "cant", "could",
    "did", "do", "does", "doing", "don't", "dont", "each", "for", "from", "get", "gets",
    "getting", "got", "has", "have", "having", "he", "hello", "her", "here", "his", "how", "i",
    "i'd", "i'm", "im", "if", "information", "into", "it", "it's", "its", "just", "know",
    "let", "many", "may", "me", "might", "more", "most", "much", "must", "my", "need", "no",
    "not", "now", "of", "ok", "okay", "on", "only", "or", "other", "our", "out", "please",
    "question", "shall", "she", "should", "so", "some", "somebody", "someone", "something",
    "than", "thank", "thanks", "that", "the", "their", "them", "then", "there", "there's",
    "these", "they", "this", "those", "to", "too", "up", "us", "very", "want", "was", "we",
    "were", "what", "what's", "when", "through", "where", "which", "who", "whom", "whose",
    "why", "will", "with", "would", "yes", "you", "your", "yours", "today", "tomorrow",
    "yesterday",
];

static STOP_SET: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| STOP_WORDS.iter().copied().collect());

/// Redaction placeholders (`[email]`, `[phone]`, `[name]`, ...) after normalisation.
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[[a-z][a-z_]*\]").expect("placeholder pattern is valid"));

/// Whether a normalised token carries no topic (Dutch or English stop word).
pub(crate) fn is_stop_word(token: &str) -> bool {
    STOP_SET.contains(token)
}

/// The topic-bearing words of `text`: normalised, without placeholders, stop words and
/// one-letter tokens, in order.
pub(crate) fn content_words(text: &str) -> Vec<String> {
    let normalised = normalise(text);
    let stripped = PLACEHOLDER.replace_all(&normalised, " ");
    tokens(&stripped)
        .filter(|t| t.chars().count() >= 2 && !is_stop_word(t))
        .map(str::to_string)
        .collect()
}

/// The distinct texts behind the questions.
struct Prepared {
    /// Per text: its content words joined by spaces (also the deduplication key).
    keys: Vec<String>,
    /// Per text: its distinct words (term ids).
    terms: Vec<Vec<u32>>,
    /// Per text: its distinct askers (dense asker ids), as ranges into `asker_list`.
    asker_ranges: Vec<(u32, u32)>,
    asker_list: Vec<u32>,
    /// Per text: the number of its distinct askers.
    weight: Vec<u32>,
    /// Distinct askers in the input.
    askers: usize,
    /// Per question: its text, or `NO_TEXT` when it has no content words.
    text_of: Vec<u32>,
    term_names: Vec<String>,
    /// Per term: the askers behind all texts with it (summed per text).
    term_weight: Vec<f64>,
    total_weight: f64,
}

impl Prepared {
    fn new(questions: &[UnmetQuestion]) -> Prepared {
        // Identical raw texts first: normalising is the expensive step.
        let (raw_of, raw_texts) = dedup_raw_texts(questions);
        let Words {
            keys,
            terms,
            term_names,
            raw_to_text,
        } = collect_words(&raw_texts);
        let text_of: Vec<u32> = raw_of.iter().map(|r| raw_to_text[*r as usize]).collect();

        // Distinct askers per text, with askers renumbered densely.
        let (asker_ranges, asker_list, askers) = collect_askers(questions, &text_of, keys.len());
        let weight: Vec<u32> = asker_ranges.iter().map(|(a, b)| b - a).collect();
        let term_weight = weigh_terms(&terms, &weight, term_names.len());
        let total_weight = weight.iter().map(|w| f64::from(*w)).sum();
        Prepared {
            keys,
            terms,
            asker_ranges,
            asker_list,
            weight,
            askers,
            text_of,
            term_names,
            term_weight,
            total_weight,
        }
    }

    fn askers_of(&self, text: u32) -> &[u32] {
        let (start, end) = self.asker_ranges[text as usize];
        &self.asker_list[start as usize..end as usize]
    }

    /// Unit-length TF-IDF vectors of the texts: words and truncated words (see the module
    /// docs), equal weight.
    fn vectors(&self) -> Vec<SparseVector> {
        let settings = FeatureSettings {
            max_word_ngram: 1,
            char_ngrams: (0, 0),
            min_df: 1,
            word_weight: 1.0,
            char_weight: 0.0,
        };
        let texts: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        let (_, mut vectors) = Vectorizer::fit_transform(settings.clone(), &texts);
        let stems: Vec<String> = self
            .keys
            .iter()
            .map(|key| {
                key.split(' ')
                    .map(|w| w.chars().take(STEM_LETTERS).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let stems: Vec<&str> = stems.iter().map(String::as_str).collect();
        let (_, stem_vectors) = Vectorizer::fit_transform(settings, &stems);
        let offset = vectors
            .iter()
            .flat_map(|v| v.indices.last())
            .max()
            .map_or(0, |d| d + 1);
        for (v, stem) in vectors.iter_mut().zip(stem_vectors) {
            v.indices.extend(stem.indices.iter().map(|i| i + offset));
            v.values.extend(stem.values);
            let norm = v.values.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.values.iter_mut().for_each(|x| *x /= norm);
            }
        }
        vectors
    }

    /// Question indices per text (ascending within a text).
    fn questions_by_text(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.keys.len()];
        for (q, t) in self.text_of.iter().enumerate() {
            if *t != NO_TEXT {
                out[*t as usize].push(q as u32);
            }
        }
        out
    }

    /// The topic made of `texts`, when enough askers are behind it and its keywords.
    fn topic(
        &self,
        texts: &[u32],
        by_text: &[Vec<u32>],
        min_group_size: usize,
        stamps: &mut Stamps,
    ) -> Option<TopicCluster> {
        stamps.next();
        let askers: usize = texts
            .iter()
            .map(|t| {
                self.askers_of(*t)
                    .iter()
                    .filter(|a| stamps.mark(**a))
                    .count()
            })
            .sum();
        if askers < min_group_size {
            return None;
        }
        // Per word, the distinct askers of the texts with it.
        let mut term_texts: Vec<(u32, u32)> = texts
            .iter()
            .flat_map(|t| self.terms[*t as usize].iter().map(move |term| (*term, *t)))
            .collect();
        term_texts.sort_unstable();
        let mut scored: Vec<(f64, &str)> = Vec::new();
        for run in term_texts.chunk_by(|a, b| a.0 == b.0) {
            let term = run[0].0 as usize;
            let name = self.term_names[term].as_str();
            if !name.chars().any(char::is_alphabetic) {
                continue;
            }
            stamps.next();
            let users: usize = run
                .iter()
                .map(|(_, t)| {
                    self.askers_of(*t)
                        .iter()
                        .filter(|a| stamps.mark(**a))
                        .count()
                })
                .sum();
            if users >= min_group_size {
                let share = users as f64 / askers as f64;
                let idf = (1.0 + self.total_weight / self.term_weight[term]).ln();
                scored.push((share * idf, name));
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let keywords: Vec<String> = scored
            .into_iter()
            .take(MAX_KEYWORDS)
            .map(|(_, name)| name.to_string())
            .collect();
        if keywords.is_empty() {
            return None;
        }
        let mut members: Vec<usize> = texts
            .iter()
            .flat_map(|t| by_text[*t as usize].iter().map(|q| *q as usize))
            .collect();
        members.sort_unstable();
        Some(TopicCluster {
            members,
            keywords,
            askers,
        })
    }
}

/// Numbers the identical raw texts, since normalising is the expensive step and logs repeat
/// a lot. Returns each question's raw text and the distinct raw texts, in first-seen order.
fn dedup_raw_texts(questions: &[UnmetQuestion]) -> (Vec<u32>, Vec<&str>) {
    let mut raw_ids: FxHashMap<&str, u32> = FxHashMap::default();
    let mut raw_texts: Vec<&str> = Vec::new();
    let raw_of: Vec<u32> = questions
        .iter()
        .map(|q| {
            *raw_ids.entry(q.text.as_str()).or_insert_with(|| {
                raw_texts.push(q.text.as_str());
                raw_texts.len() as u32 - 1
            })
        })
        .collect();
    (raw_of, raw_texts)
}

/// The distinct texts (raw texts with the same content words) and their words, numbered.
struct Words {
    /// Per text: its content words joined by spaces.
    keys: Vec<String>,
    /// Per text: its distinct words (term ids).
    terms: Vec<Vec<u32>>,
    term_names: Vec<String>,
    /// Per distinct raw text: its text, or `NO_TEXT` when it has no content words.
    raw_to_text: Vec<u32>,
}

/// Reduces each distinct raw text to its content words, so that questions with the same
/// remaining words become one text and are vectorised and clustered once.
fn collect_words(raw_texts: &[&str]) -> Words {
    let mut key_ids: FxHashMap<String, u32> = FxHashMap::default();
    let mut term_ids: FxHashMap<String, u32> = FxHashMap::default();
    let mut keys = Vec::new();
    let mut terms = Vec::new();
    let mut term_names = Vec::new();
    let raw_to_text: Vec<u32> = raw_texts
        .iter()
        .map(|raw| {
            let words = content_words(raw);
            if words.is_empty() {
                return NO_TEXT;
            }
            let key = words.join(" ");
            if let Some(id) = key_ids.get(&key) {
                return *id;
            }
            let mut ids: Vec<u32> = words
                .into_iter()
                .map(|w| {
                    let next = term_ids.len() as u32;
                    *term_ids.entry(w).or_insert_with_key(|w| {
                        term_names.push(w.clone());
                        next
                    })
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            terms.push(ids);
            keys.push(key.clone());
            let id = keys.len() as u32 - 1;
            key_ids.insert(key, id);
            id
        })
        .collect();
    Words {
        keys,
        terms,
        term_names,
        raw_to_text,
    }
}

/// Lists each text's distinct askers, renumbered densely so that [`Stamps`] can count them
/// in a plain vector. Returns per text its range into the list, the list, and the number of
/// distinct askers.
fn collect_askers(
    questions: &[UnmetQuestion],
    text_of: &[u32],
    texts: usize,
) -> (Vec<(u32, u32)>, Vec<u32>, usize) {
    let mut dense_askers: FxHashMap<u32, u32> = FxHashMap::default();
    let mut pairs: Vec<u64> = questions
        .iter()
        .zip(text_of)
        .filter(|(_, t)| **t != NO_TEXT)
        .map(|(q, t)| {
            let next = dense_askers.len() as u32;
            let asker = *dense_askers.entry(q.asker).or_insert(next);
            (u64::from(*t) << 32) | u64::from(asker)
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut asker_ranges = vec![(0u32, 0u32); texts];
    let mut asker_list = Vec::with_capacity(pairs.len());
    for (i, pair) in pairs.iter().enumerate() {
        let text = (pair >> 32) as usize;
        if asker_ranges[text].1 == 0 {
            asker_ranges[text].0 = i as u32;
        }
        asker_ranges[text].1 = i as u32 + 1;
        asker_list.push(*pair as u32);
    }
    (asker_ranges, asker_list, dense_askers.len())
}

/// Sums per term the askers behind all texts with it: the keywords' idf weighs words by
/// people, not by texts.
fn weigh_terms(terms: &[Vec<u32>], weight: &[u32], term_count: usize) -> Vec<f64> {
    let mut term_weight = vec![0f64; term_count];
    for (text, ids) in terms.iter().enumerate() {
        for id in ids {
            term_weight[*id as usize] += f64::from(weight[text]);
        }
    }
    term_weight
}

/// Counting distinct askers without sets: an asker counts once per generation.
struct Stamps {
    stamp: Vec<u32>,
    generation: u32,
}

impl Stamps {
    fn new(askers: usize) -> Stamps {
        Stamps {
            stamp: vec![0; askers],
            generation: 0,
        }
    }

    fn next(&mut self) {
        self.generation += 1;
    }

    /// Whether `asker` is new in this generation (and marks it).
    fn mark(&mut self, asker: u32) -> bool {
        let seen = &mut self.stamp[asker as usize];
        if *seen == self.generation {
            false
        } else {
            *seen = self.generation;
            true
        }
    }
}

#[cfg(test)]
mod tests;
