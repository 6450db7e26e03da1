//! TF-IDF features: word n-grams plus character n-grams within word boundaries.
//!
//! Word uni- and bigrams carry meaning ("power bi", "verlof aanvragen"); character n-grams
//! (2 to 5 characters of each space-padded word) make the model robust to typos, Dutch
//! compounds and inflections (`opleidingsbudget` shares most of its n-grams with
//! `opleidingsbudgt` and `budget`). Each block is weighted with sublinear tf (1 + ln tf) and a
//! smoothed idf, then L2-normalised on its own, so short and long questions score alike.
//!
//! Terms are identified by a 64-bit hash of their text and mapped to dense column indices
//! learnt from the training data; unseen terms are ignored at prediction. Extraction reuses
//! buffers and never allocates a string per n-gram, which keeps single-query classification
//! in the microseconds.

use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};

use crate::text::{normalise, tokens};

/// How text becomes features. The defaults were chosen on the CLINC150 validation split and
/// by cross-validation on the catalogue (see README "Measured").
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSettings {
    /// Longest word n-gram (1 = unigrams only).
    pub max_word_ngram: usize,
    /// Shortest and longest character n-gram, counted on the space-padded word.
    pub char_ngrams: (usize, usize),
    /// Terms seen in fewer training texts than this are dropped.
    pub min_df: u32,
    /// Weight of the word block relative to the character block.
    pub word_weight: f32,
    pub char_weight: f32,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        Self {
            max_word_ngram: 2,
            char_ngrams: (2, 5),
            min_df: 1,
            word_weight: 1.0,
            char_weight: 1.0,
        }
    }
}

/// A sparse feature vector with strictly increasing indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.indices
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }
}

const WORD_BLOCK: u8 = 0;
const CHAR_BLOCK: u8 = 1;

/// A term: its hash and the block it belongs to.
type Term = (u64, u8);

/// Reusable scratch space for extraction.
#[derive(Default)]
struct Scratch {
    terms: Vec<Term>,
    chars: Vec<char>,
    word_hashes: Vec<u64>,
}

/// The fitted vocabulary and idf weights.
#[derive(Debug, Clone)]
pub struct Vectorizer {
    settings: FeatureSettings,
    columns: FxHashMap<u64, u32>,
    idf: Vec<f32>,
    blocks: Vec<u8>,
}

impl Vectorizer {
    /// Learns the vocabulary and idf from `texts` and returns the fitted vectorizer together
    /// with the training texts' vectors (computed once, not twice).
    pub fn fit_transform(
        settings: FeatureSettings,
        texts: &[&str],
    ) -> (Vectorizer, Vec<SparseVector>) {
        let mut scratch = Scratch::default();
        let mut doc_terms: Vec<Vec<(Term, u32)>> = Vec::with_capacity(texts.len());
        let mut df: FxHashMap<Term, u32> = FxHashMap::default();
        for text in texts {
            extract_terms(&settings, text, &mut scratch);
            let counted = count_sorted(&mut scratch.terms);
            for (term, _) in &counted {
                *df.entry(*term).or_insert(0) += 1;
            }
            doc_terms.push(counted);
        }
        let mut kept: Vec<(Term, u32)> = df
            .into_iter()
            .filter(|(_, count)| *count >= settings.min_df)
            .collect();
        kept.sort_unstable();
        let n = texts.len() as f32;
        let mut columns = FxHashMap::default();
        columns.reserve(kept.len());
        let mut idf = Vec::with_capacity(kept.len());
        let mut blocks = Vec::with_capacity(kept.len());
        for (column, ((hash, block), count)) in kept.into_iter().enumerate() {
            columns.insert(hash, column as u32);
            idf.push(((1.0 + n) / (1.0 + count as f32)).ln() + 1.0);
            blocks.push(block);
        }
        let vectorizer = Vectorizer {
            settings,
            columns,
            idf,
            blocks,
        };
        let vectors = doc_terms
            .into_iter()
            .map(|terms| vectorizer.weigh(terms.into_iter().map(|((h, _), c)| (h, c))))
            .collect();
        (vectorizer, vectors)
    }

    pub fn dimension(&self) -> usize {
        self.idf.len()
    }

    pub fn settings(&self) -> &FeatureSettings {
        &self.settings
    }

    /// The feature vector of one text; terms not seen in training are ignored.
    pub fn transform(&self, text: &str) -> SparseVector {
        let mut scratch = Scratch::default();
        extract_terms(&self.settings, text, &mut scratch);
        let counted = count_sorted(&mut scratch.terms);
        self.weigh(counted.into_iter().map(|((h, _), c)| (h, c)))
    }

    fn weigh(&self, counts: impl Iterator<Item = (u64, u32)>) -> SparseVector {
        let mut entries: Vec<(u32, f32)> = counts
            .filter_map(|(hash, count)| {
                let column = *self.columns.get(&hash)?;
                let tf = 1.0 + (count as f32).ln();
                Some((column, tf * self.idf[column as usize]))
            })
            .collect();
        entries.sort_unstable_by_key(|(column, _)| *column);
        let mut norms = [0.0f32; 2];
        for (column, value) in &entries {
            norms[self.blocks[*column as usize] as usize] += value * value;
        }
        let scale = [
            block_scale(norms[0], self.settings.word_weight),
            block_scale(norms[1], self.settings.char_weight),
        ];
        let mut vector = SparseVector {
            indices: Vec::with_capacity(entries.len()),
            values: Vec::with_capacity(entries.len()),
        };
        for (column, value) in entries {
            vector.indices.push(column);
            vector
                .values
                .push(value * scale[self.blocks[column as usize] as usize]);
        }
        vector
    }
}

fn block_scale(squared_norm: f32, weight: f32) -> f32 {
    if squared_norm > 0.0 {
        weight / squared_norm.sqrt()
    } else {
        0.0
    }
}

/// Sorts the terms and collapses repeats into counts.
fn count_sorted(terms: &mut [Term]) -> Vec<(Term, u32)> {
    terms.sort_unstable();
    let mut out: Vec<(Term, u32)> = Vec::with_capacity(terms.len());
    for term in terms.iter() {
        match out.last_mut() {
            Some((last, count)) if last == term => *count += 1,
            _ => out.push((*term, 1)),
        }
    }
    out
}

fn hash_str(kind: u8, text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write_u8(kind);
    hasher.write(text.as_bytes());
    hasher.finish()
}

fn extract_terms(settings: &FeatureSettings, text: &str, scratch: &mut Scratch) {
    scratch.terms.clear();
    scratch.word_hashes.clear();
    let text = normalise(text);
    let (min_char, max_char) = settings.char_ngrams;
    for token in tokens(&text) {
        let word_hash = hash_str(b'w', token);
        scratch.word_hashes.push(word_hash);
        if max_char == 0 {
            continue;
        }
        scratch.chars.clear();
        scratch.chars.push(' ');
        scratch.chars.extend(token.chars());
        scratch.chars.push(' ');
        let chars = &scratch.chars;
        for n in min_char..=max_char.min(chars.len()) {
            for window in chars.windows(n) {
                let mut hasher = FxHasher::default();
                hasher.write_u8(b'c');
                for c in window {
                    hasher.write_u32(*c as u32);
                }
                scratch.terms.push((hasher.finish(), CHAR_BLOCK));
            }
        }
    }
    let words = &scratch.word_hashes;
    for n in 1..=settings.max_word_ngram.min(words.len()) {
        for window in words.windows(n) {
            let hash = if n == 1 {
                window[0]
            } else {
                let mut hasher = FxHasher::default();
                hasher.write_u8(b'n');
                for h in window {
                    hasher.write_u64(*h);
                }
                hasher.finish()
            };
            scratch.terms.push((hash, WORD_BLOCK));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(texts: &[&str]) -> (Vectorizer, Vec<SparseVector>) {
        Vectorizer::fit_transform(FeatureSettings::default(), texts)
    }

    fn norm(v: &SparseVector) -> f32 {
        v.values.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    #[test]
    fn each_block_is_unit_length() {
        let (_, vectors) = fit(&["power bi dashboard", "verlof aanvragen"]);
        for v in &vectors {
            // two blocks of length 1 each
            assert!((norm(v) - 2f32.sqrt()).abs() < 1e-5, "norm {}", norm(v));
        }
    }

    #[test]
    fn term_counts_for_a_short_text() {
        let settings = FeatureSettings {
            max_word_ngram: 2,
            char_ngrams: (2, 3),
            ..FeatureSettings::default()
        };
        let (vectorizer, vectors) = Vectorizer::fit_transform(settings, &["ab cd"]);
        // words: ab, cd, "ab cd" = 3; chars of " ab ": " a","ab","b "," ab","ab " = 5, same for cd
        assert_eq!(vectorizer.dimension(), 13);
        assert_eq!(vectors[0].len(), 13);
    }

    #[test]
    fn spelling_variants_share_most_features() {
        let (vectorizer, _) = fit(&["opleidingsbudget aanvragen", "cursus excel"]);
        let a = vectorizer.transform("opleidingsbudget");
        let b = vectorizer.transform("opleidingsbudgt");
        let shared = a.indices.iter().filter(|i| b.indices.contains(i)).count();
        assert!(shared * 10 >= a.len() * 7, "{shared} of {}", a.len());
        assert_eq!(
            vectorizer.transform("Ideeën").indices,
            vectorizer.transform("ideeen").indices
        );
    }

    #[test]
    fn unseen_text_gives_an_empty_vector_and_rare_terms_are_dropped() {
        let settings = FeatureSettings {
            min_df: 2,
            ..FeatureSettings::default()
        };
        let (vectorizer, _) = Vectorizer::fit_transform(settings, &["verlof", "verlof nu", "x"]);
        assert!(vectorizer.transform("qqq zzz").is_empty());
        // "nu" and "x" occur once: none of their word features survive min_df 2
        let v = vectorizer.transform("verlof");
        assert_eq!(v.indices, vectorizer.transform("verlof nu").indices);
    }

    #[test]
    fn rarer_terms_weigh_more() {
        let (vectorizer, _) = fit(&["verlof", "verlof", "verlof", "budget"]);
        let v = vectorizer.transform("verlof budget");
        // the word-block entries: the max value belongs to the rarer term
        let words: Vec<f32> = v
            .iter()
            .filter(|(i, _)| vectorizer.blocks[*i as usize] == WORD_BLOCK)
            .map(|(_, x)| x)
            .collect();
        assert_eq!(words.len(), 2);
        let budget = vectorizer.columns[&hash_str(b'w', "budget")];
        let budget_value = v.iter().find(|(i, _)| *i == budget).unwrap().1;
        assert!(words.iter().all(|x| *x <= budget_value));
        assert!(words.iter().any(|x| *x < budget_value));
    }
}
