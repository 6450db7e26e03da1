//! Sentence embeddings: a chat question in, a unit-length vector out, so that questions with
//! the same meaning land close together whatever their wording or language.
//!
//! The model is a sentence-transformers folder (default `models/all-MiniLM-L6-v2`, put there by
//! `models/fetch`; weights are never committed): `config.json`, `tokenizer.json`,
//! `model.safetensors` and `1_Pooling/config.json`. It runs on the CPU in pure Rust:
//!
//! - `config`: reads and checks the folder's JSON files, refusing what the encoder cannot run
//!   (another architecture, activation or pooling) instead of computing wrong vectors.
//! - `candle`: [`CandleEmbedder`], the tokenizer (truncation at [`MAX_TOKENS`] keeping `[CLS]`
//!   and `[SEP]`, like sentence-transformers with `max_seq_length` 128) and a compact BERT
//!   encoder on candle tensors, followed by mean or CLS pooling and L2 normalisation.
//! - `kernels`: the encoder's operations as candle custom ops (linear products on packed
//!   weights with GELU fused, attention, residual + layer norm), vectorised for the CPU found
//!   at run time and split over the cores.
//! - `cache`: [`cache::EmbeddingCache`], embeddings of catalogue (and benchmark) texts kept on
//!   disk between runs, keyed by the weights' sha256.
//! - `worker`: [`EmbeddingWorker`], the async handle that the server uses: a dedicated thread
//!   owns the embedder and batches requests that arrive together into one forward pass.
//!
//! A batch is not padded to its longest text: the texts' tokens are packed one after another
//! and attention is computed within each text, which gives exactly what padding plus an
//! attention mask gives (the golden test checks texts alone and batched) without computing
//! the padding.
//!
//! Embedding is blocking CPU work (milliseconds per question): async code goes through the
//! worker, never calls [`Embedder::embed_batch`] on the runtime.

pub mod cache;
mod candle;
mod config;
mod kernels;
mod worker;

use std::path::PathBuf;

pub use candle::CandleEmbedder;
pub use config::{EncoderConfig, Pooling};
pub use worker::EmbeddingWorker;

/// Longest input the encoder sees, in tokens including `[CLS]` and `[SEP]`: longer texts are
/// cut, as sentence-transformers does with `max_seq_length` 128. Chat questions are far shorter;
/// the cap bounds the cost of a pasted e-mail.
pub const MAX_TOKENS: usize = 128;

pub use crate::config::DEFAULT_MODEL_DIR;

/// Something that turns texts into sentence vectors.
///
/// Implementations are shared between threads (`Arc<dyn Embedder>`); the server reaches one
/// only through an [`EmbeddingWorker`].
pub trait Embedder: Send + Sync + 'static {
    /// Length of every vector returned.
    fn dimension(&self) -> usize;
    /// sha256 (hex) of the weights file: keys caches so a new model never reuses old vectors.
    fn fingerprint(&self) -> &str;
    /// L2-normalised vectors, one per text, same order. Blocking CPU work: call from a worker
    /// thread, never on the async runtime.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError>;
}

/// Why a model could not be loaded or a text not embedded. Each message says what went wrong,
/// where, and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    #[error(
        "{} is missing: {hint}. Run `models/fetch` to install the default model, or point \
         --model-dir / REFERRAL_DESK_MODEL_DIR at a sentence-transformers folder",
        path.display()
    )]
    MissingFile { path: PathBuf, hint: &'static str },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is not a valid model file: {detail}. Fetch the model folder again with `models/fetch`",
        path.display()
    )]
    InvalidFile { path: PathBuf, detail: String },
    #[error(
        "{} asks for something this encoder does not support: {detail}. Use a BERT-family \
         sentence-transformers model with exact GELU and mean or CLS pooling (such as \
         all-MiniLM-L6-v2)",
        path.display()
    )]
    UnsupportedConfig { path: PathBuf, detail: String },
    #[error(
        "weight `{tensor}` has shape {found:?} but config.json implies {expected:?}: the weights \
         do not belong to this config.json; fetch the model folder again"
    )]
    ShapeMismatch {
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error(
        "weight `{tensor}` is not in {}: the file is not a BERT model or is incomplete; fetch \
         the model folder again",
        path.display()
    )]
    MissingTensor { tensor: String, path: PathBuf },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("embedding inference failed: {0}")]
    Inference(String),
    #[error(
        "cannot write the embedding cache {}: {source}; check the folder's permissions or set \
         classifier.embedding_cache",
        path.display()
    )]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the embedding worker thread has stopped (it panicked or was shut down); restart the \
         process"
    )]
    WorkerGone,
}
