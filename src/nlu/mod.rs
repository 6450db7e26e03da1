//! Natural-language understanding: from a chat message to an intent decision.
//!
//! - `features`: TF-IDF over word 1-2 grams and character 2-5 grams within words.
//! - `linear`: sparse softmax regression, trained deterministically at start-up.
//! - `classifier`: features + model + the routed / ambiguous / out-of-scope decision.
//! - `language`: Dutch or English, learnt from the catalogue's examples.
//! - `embedding`: transformer sentence embeddings from a model folder (all-MiniLM-L6-v2 on
//!   candle, CPU), the worker thread that batches them for the server, and their disk cache.
//! - `model`: which classifier runs (lexical, embedding, hybrid) and building it.
//! - `dataset`, `metrics`, `evaluation`: labelled JSONL files, the figures and the procedure
//!   behind `referral-desk eval`.
//!
//! Text normalisation is the bottom layer's ([`crate::text`]); the settings (`[classifier]`,
//! [`ModelKind`]) are [`crate::config`]'s, so nothing here reads the environment.
//!
//! I/O: the classifier, features and metrics are pure computation; `embedding` reads a model
//! folder and keeps catalogue embeddings in an on-disk cache (the folder the settings name),
//! and `dataset` reads JSONL files on request.

pub mod classifier;
pub mod dataset;
pub mod embedding;
pub mod evaluation;
pub mod features;
pub mod language;
pub mod linear;
pub mod metrics;
pub mod model;

pub use crate::config::{DEFAULT_EMBEDDING_WEIGHT, ModelKind};
pub use classifier::{
    Classifier, ClassifierError, Decision, EmbeddingFeatures, Prediction, ScoredIntent, Scores,
};
pub use features::{FeatureSettings, SparseVector, Vectorizer};
pub use language::LanguageDetector;
pub use linear::{SoftmaxModel, TrainSettings};
