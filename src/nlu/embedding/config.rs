//! The model folder's JSON files, read into what the encoder needs and checked against what it
//! can run. A model the code cannot run exactly is refused at load time with the file and the
//! setting, instead of producing vectors that are silently wrong.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::EmbeddingError;

/// How the token vectors become one sentence vector (sentence-transformers' `1_Pooling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Average of the token vectors, `[CLS]` and `[SEP]` included (`pooling_mode_mean_tokens`).
    Mean,
    /// The `[CLS]` token's vector (`pooling_mode_cls_token`).
    Cls,
}

/// The encoder's dimensions, from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
}

/// `config.json` as Hugging Face writes it for BERT; unknown keys are ignored.
#[derive(Debug, Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    hidden_act: Option<String>,
    position_embedding_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab_size")]
    type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    layer_norm_eps: f64,
}

fn default_type_vocab_size() -> usize {
    2
}

fn default_layer_norm_eps() -> f64 {
    1e-12
}

/// Model types whose checkpoints are plain BERT encoders (absolute positions, post-norm).
const BERT_FAMILY: [&str; 1] = ["bert"];

pub(super) fn read_json(path: &Path) -> Result<Value, EmbeddingError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|err| EmbeddingError::InvalidFile {
        path: path.to_path_buf(),
        detail: err.to_string(),
    })
}

fn read_text(path: &Path) -> Result<String, EmbeddingError> {
    std::fs::read_to_string(path).map_err(|source| io_error(path, source))
}

/// A missing file is its own error (the usual cause: the model was never fetched).
pub(super) fn io_error(path: &Path, source: std::io::Error) -> EmbeddingError {
    if source.kind() == std::io::ErrorKind::NotFound {
        EmbeddingError::MissingFile {
            path: path.to_path_buf(),
            hint: "the model folder is incomplete or absent",
        }
    } else {
        EmbeddingError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn unsupported(path: &Path, detail: impl Into<String>) -> EmbeddingError {
    EmbeddingError::UnsupportedConfig {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

impl EncoderConfig {
    /// Reads `config.json` and refuses anything but a BERT encoder with exact (erf) GELU.
    pub fn from_file(path: &Path) -> Result<Self, EmbeddingError> {
        let raw: RawConfig =
            serde_json::from_str(&read_text(path)?).map_err(|err| EmbeddingError::InvalidFile {
                path: path.to_path_buf(),
                detail: err.to_string(),
            })?;
        let model_type = raw.model_type.as_deref().unwrap_or("");
        if !BERT_FAMILY.contains(&model_type) {
            return Err(unsupported(
                path,
                format!("model_type {model_type:?} (supported: \"bert\")"),
            ));
        }
        // Hugging Face's "gelu" is the exact erf form; the tanh approximations differ slightly
        // and ReLU-style activations entirely.
        let act = raw.hidden_act.as_deref().unwrap_or("");
        if act != "gelu" {
            return Err(unsupported(
                path,
                format!("hidden_act {act:?} (supported: \"gelu\", the exact erf form)"),
            ));
        }
        if let Some(kind) = raw.position_embedding_type.as_deref()
            && kind != "absolute"
        {
            return Err(unsupported(
                path,
                format!("position_embedding_type {kind:?} (supported: \"absolute\")"),
            ));
        }
        let dims = [
            ("vocab_size", raw.vocab_size),
            ("hidden_size", raw.hidden_size),
            ("num_hidden_layers", raw.num_hidden_layers),
            ("num_attention_heads", raw.num_attention_heads),
            ("intermediate_size", raw.intermediate_size),
            ("max_position_embeddings", raw.max_position_embeddings),
            ("type_vocab_size", raw.type_vocab_size),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, value)| *value == 0) {
            return Err(unsupported(path, format!("{name} is 0")));
        }
        if !raw.hidden_size.is_multiple_of(raw.num_attention_heads) {
            return Err(unsupported(
                path,
                format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    raw.hidden_size, raw.num_attention_heads
                ),
            ));
        }
        if !(raw.layer_norm_eps > 0.0 && raw.layer_norm_eps < 1.0) {
            return Err(unsupported(
                path,
                format!("layer_norm_eps {} is not in (0, 1)", raw.layer_norm_eps),
            ));
        }
        Ok(Self {
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: raw.num_attention_heads,
            intermediate_size: raw.intermediate_size,
            max_position_embeddings: raw.max_position_embeddings,
            type_vocab_size: raw.type_vocab_size,
            layer_norm_eps: raw.layer_norm_eps,
        })
    }
}

impl Pooling {
    /// Reads `1_Pooling/config.json`: exactly one of mean or CLS pooling, over vectors of the
    /// encoder's width.
    pub fn from_file(path: &Path, hidden_size: usize) -> Result<Self, EmbeddingError> {
        let json = read_json(path)?;
        let Some(object) = json.as_object() else {
            return Err(EmbeddingError::InvalidFile {
                path: path.to_path_buf(),
                detail: "expected a JSON object".into(),
            });
        };
        if let Some(width) = object
            .get("word_embedding_dimension")
            .and_then(Value::as_u64)
            && width != hidden_size as u64
        {
            return Err(unsupported(
                path,
                format!(
                    "word_embedding_dimension {width} differs from config.json's hidden_size \
                     {hidden_size}"
                ),
            ));
        }
        let enabled: Vec<&str> = object
            .iter()
            .filter(|(key, value)| key.starts_with("pooling_mode") && value.as_bool() == Some(true))
            .map(|(key, _)| key.as_str())
            .collect();
        match enabled.as_slice() {
            ["pooling_mode_mean_tokens"] => Ok(Pooling::Mean),
            ["pooling_mode_cls_token"] => Ok(Pooling::Cls),
            [] => Err(unsupported(path, "no pooling_mode_* is true")),
            modes => Err(unsupported(
                path,
                format!(
                    "pooling {} (supported: exactly one of pooling_mode_mean_tokens, \
                     pooling_mode_cls_token)",
                    modes.join(" + ")
                ),
            )),
        }
    }
}

/// The four files a model folder must have, in the order they are read.
pub(super) struct ModelFiles {
    pub config: PathBuf,
    pub pooling: PathBuf,
    pub tokenizer: PathBuf,
    pub weights: PathBuf,
}

impl ModelFiles {
    /// Checks that the folder and its files exist before anything is parsed, so a model that
    /// was never fetched gets one clear message.
    pub fn locate(dir: &Path) -> Result<Self, EmbeddingError> {
        if !dir.is_dir() {
            return Err(EmbeddingError::MissingFile {
                path: dir.to_path_buf(),
                hint: "no model folder there",
            });
        }
        let files = Self {
            config: dir.join("config.json"),
            pooling: dir.join("1_Pooling").join("config.json"),
            tokenizer: dir.join("tokenizer.json"),
            weights: dir.join("model.safetensors"),
        };
        for path in [
            &files.config,
            &files.pooling,
            &files.tokenizer,
            &files.weights,
        ] {
            if !path.is_file() {
                return Err(EmbeddingError::MissingFile {
                    path: path.clone(),
                    hint: "the model folder is incomplete",
                });
            }
        }
        Ok(files)
    }
}
