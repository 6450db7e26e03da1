//! [`CandleEmbedder`]: a sentence-transformers BERT model on candle, CPU only.
//!
//! The encoder is BERT written out here rather than taken from candle-transformers: that crate
//! brings every architecture candle knows (minutes of compile time) and its BERT pays for
//! generality on every call (Q, K and V as three products, permuted copies for the heads,
//! padded batches, unfused bias / residual / layer-norm passes). Here each layer is four
//! linear products (Q|K|V fused into one, GELU fused into the feed-forward one) on weights
//! packed once at load time, attention and two residual + layer norms: the candle custom ops
//! of `kernels`, over the tokens of all texts packed without padding, on a small thread pool
//! of the embedder's own.

use std::collections::HashMap;
use std::num::NonZero;
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::config::{EncoderConfig, ModelFiles, Pooling, io_error};
use super::kernels::{Attention, Linear, LinearOp, ResidualNorm, layer_norm};
use super::{Embedder, EmbeddingError, MAX_TOKENS};

/// Texts per forward pass inside [`Embedder::embed_batch`]: enough rows for the matrix
/// products to run near full speed, few enough to bound memory for a long list.
const CHUNK_TEXTS: usize = 64;

/// Threads for one forward pass at most: a dozen-token question has too little work per
/// matrix product to share among more.
const MAX_THREADS: usize = 8;

/// A sentence-transformers BERT model loaded for CPU inference.
pub struct CandleEmbedder {
    tokenizer: Tokenizer,
    encoder: Encoder,
    /// The threads a forward pass is split over (one per core, up to [`MAX_THREADS`]).
    pool: rayon::ThreadPool,
    pooling: Pooling,
    max_tokens: usize,
    fingerprint: String,
}

impl std::fmt::Debug for CandleEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandleEmbedder")
            .field("config", &self.encoder.config)
            .field("pooling", &self.pooling)
            .field("max_tokens", &self.max_tokens)
            .field("threads", &self.pool.current_num_threads())
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

fn inference(err: candle_core::Error) -> EmbeddingError {
    EmbeddingError::Inference(err.to_string())
}

impl CandleEmbedder {
    /// Loads a model folder: checks the files and the configuration, reads and fingerprints
    /// the weights (about 0.2 s for all-MiniLM-L6-v2), and checks every weight's shape.
    pub fn load(dir: &Path) -> Result<Self, EmbeddingError> {
        let span = tracing::info_span!("embedding_load", dir = %dir.display());
        let _entered = span.enter();
        let started = Instant::now();
        let files = ModelFiles::locate(dir)?;
        let config = EncoderConfig::from_file(&files.config)?;
        let pooling = Pooling::from_file(&files.pooling, config.hidden_size)?;
        let max_tokens = MAX_TOKENS.min(config.max_position_embeddings);
        let tokenizer = load_tokenizer(&files.tokenizer, max_tokens)?;

        // Read into memory rather than mmap: no `unsafe`, and the bytes are hashed anyway.
        let bytes = std::fs::read(&files.weights).map_err(|err| io_error(&files.weights, err))?;
        let fingerprint = hex::encode(Sha256::digest(&bytes));
        let tensors =
            candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|err| {
                EmbeddingError::InvalidFile {
                    path: files.weights.clone(),
                    detail: err.to_string(),
                }
            })?;
        drop(bytes);
        let threads = std::thread::available_parallelism()
            .map_or(1, NonZero::get)
            .min(MAX_THREADS);
        let encoder = Encoder::new(config, Weights::new(tensors, &files.weights), threads)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("embedding-{i}"))
            .build()
            .map_err(|err| {
                EmbeddingError::Inference(format!("cannot start the embedding threads: {err}"))
            })?;
        tracing::info!(
            threads,
            layers = encoder.config.num_hidden_layers,
            dimension = encoder.config.hidden_size,
            ?pooling,
            fingerprint = %&fingerprint[..12],
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedding model loaded"
        );
        Ok(Self {
            tokenizer,
            encoder,
            pool,
            pooling,
            max_tokens,
            fingerprint,
        })
    }

    /// The encoder's dimensions as read from `config.json`.
    pub fn config(&self) -> &EncoderConfig {
        &self.encoder.config
    }

    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The token ids the encoder sees for `text`, `[CLS]` and `[SEP]` included, after
    /// truncation: for checking the tokenizer against the reference implementation.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbeddingError> {
        let encoding = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// One forward pass over `texts` (at most a few dozen), packed without padding.
    fn embed_chunk(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let mut ids = Vec::new();
        let mut lens = Vec::with_capacity(texts.len());
        for text in texts {
            let encoding = self
                .tokenizer
                .encode_fast(*text, true)
                .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;
            let text_ids = encoding.get_ids();
            // The truncation set at load time guarantees this; the check keeps a changed
            // tokenizer from indexing past the position table.
            if text_ids.is_empty() || text_ids.len() > self.max_tokens {
                return Err(EmbeddingError::Tokenizer(format!(
                    "{} tokens for one text, expected 1 to {}",
                    text_ids.len(),
                    self.max_tokens
                )));
            }
            ids.extend_from_slice(text_ids);
            lens.push(text_ids.len());
        }
        let span = tracing::debug_span!("embed_forward", texts = texts.len(), tokens = ids.len());
        let _entered = span.enter();
        let hidden = self.pool.install(|| self.encoder.forward(&ids, &lens))?;
        Ok(pool_and_normalise(
            &hidden,
            &lens,
            self.encoder.config.hidden_size,
            self.pooling,
        ))
    }
}

impl Embedder for CandleEmbedder {
    fn dimension(&self) -> usize {
        self.encoder.config.hidden_size
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(CHUNK_TEXTS) {
            out.extend(self.embed_chunk(chunk)?);
        }
        Ok(out)
    }
}

/// The tokenizer from `tokenizer.json` with the file's own padding and truncation replaced:
/// no padding (the encoder packs texts instead) and truncation at `max_tokens` counting the
/// special tokens, which stay (`[CLS] … [SEP]`), as sentence-transformers does.
fn load_tokenizer(path: &Path, max_tokens: usize) -> Result<Tokenizer, EmbeddingError> {
    let invalid = |detail: String| EmbeddingError::InvalidFile {
        path: path.to_path_buf(),
        detail,
    };
    let mut tokenizer = Tokenizer::from_file(path).map_err(|err| invalid(err.to_string()))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            direction: TruncationDirection::Right,
            max_length: max_tokens,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
        }))
        .map_err(|err| invalid(err.to_string()))?;
    Ok(tokenizer)
}

/// Mean or CLS pooling of each text's rows, then L2 normalisation (as torch's `normalize`,
/// with its 1e-12 floor so an all-zero vector stays finite).
fn pool_and_normalise(
    hidden: &[f32],
    lens: &[usize],
    width: usize,
    pooling: Pooling,
) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(lens.len());
    let mut first = 0;
    for &len in lens {
        let rows = &hidden[first * width..(first + len) * width];
        let mut vector = match pooling {
            Pooling::Cls => rows[..width].to_vec(),
            Pooling::Mean => {
                let mut sum = vec![0f32; width];
                for row in rows.chunks_exact(width) {
                    for (s, v) in sum.iter_mut().zip(row) {
                        *s += v;
                    }
                }
                let inv = 1.0 / len as f32;
                sum.iter_mut().for_each(|s| *s *= inv);
                sum
            }
        };
        let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        vector.iter_mut().for_each(|v| *v /= norm);
        out.push(vector);
        first += len;
    }
    out
}

/// The safetensors file's tensors, looked up by their Hugging Face names with the shapes that
/// `config.json` implies.
struct Weights<'a> {
    tensors: HashMap<String, Tensor>,
    /// `"bert."` when the checkpoint was saved from a task model (BertForX), else empty.
    prefix: &'static str,
    path: &'a Path,
}

impl<'a> Weights<'a> {
    fn new(tensors: HashMap<String, Tensor>, path: &'a Path) -> Self {
        let prefix = if !tensors.contains_key("embeddings.word_embeddings.weight")
            && tensors.contains_key("bert.embeddings.word_embeddings.weight")
        {
            "bert."
        } else {
            ""
        };
        Self {
            tensors,
            prefix,
            path,
        }
    }

    /// The tensor `name` as f32 values (row-major), refused unless its shape is `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbeddingError> {
        let full = format!("{}{name}", self.prefix);
        let tensor = self
            .tensors
            .get(&full)
            .ok_or_else(|| EmbeddingError::MissingTensor {
                tensor: full.clone(),
                path: self.path.to_path_buf(),
            })?;
        if tensor.dims() != shape {
            return Err(EmbeddingError::ShapeMismatch {
                tensor: full,
                expected: shape.to_vec(),
                found: tensor.dims().to_vec(),
            });
        }
        tensor
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1())
            .map_err(inference)
    }

    /// The linear layer `prefix.weight` / `prefix.bias`, packed for the kernel.
    fn linear(
        &self,
        prefix: &str,
        out_features: usize,
        in_features: usize,
    ) -> Result<Linear, EmbeddingError> {
        let weight = self.get(&format!("{prefix}.weight"), &[out_features, in_features])?;
        let bias = self.get(&format!("{prefix}.bias"), &[out_features])?;
        Ok(Linear::new(&weight, &bias, out_features, in_features))
    }
}

struct Layer {
    /// Q, K and V projections as one layer of `3 * hidden` outputs: one product, not three.
    qkv: Linear,
    attn_out: Linear,
    attn_norm_gamma: Vec<f32>,
    attn_norm_beta: Vec<f32>,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm_gamma: Vec<f32>,
    ffn_norm_beta: Vec<f32>,
}

struct Encoder {
    config: EncoderConfig,
    /// `[vocab, hidden]`, row per token id.
    word_embeddings: Vec<f32>,
    /// Position embeddings with token type 0 already added (single-text inputs only).
    position_embeddings: Vec<f32>,
    norm_gamma: Vec<f32>,
    norm_beta: Vec<f32>,
    layers: Vec<Layer>,
    /// Tasks each product is split into (the pool's thread count).
    threads: usize,
}

impl Encoder {
    fn new(
        config: EncoderConfig,
        weights: Weights<'_>,
        threads: usize,
    ) -> Result<Self, EmbeddingError> {
        let (h, inter) = (config.hidden_size, config.intermediate_size);
        let word_embeddings =
            weights.get("embeddings.word_embeddings.weight", &[config.vocab_size, h])?;
        let token_type = weights.get(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?;
        let mut position_embeddings = weights.get(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, h],
        )?;
        for row in position_embeddings.chunks_exact_mut(h) {
            for (p, t) in row.iter_mut().zip(&token_type[..h]) {
                *p += t;
            }
        }
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let name = |suffix: &str| format!("encoder.layer.{i}.{suffix}");
            let mut qkv_weight = Vec::with_capacity(3 * h * h);
            let mut qkv_bias = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                qkv_weight
                    .extend(weights.get(&name(&format!("attention.self.{part}.weight")), &[h, h])?);
                qkv_bias.extend(weights.get(&name(&format!("attention.self.{part}.bias")), &[h])?);
            }
            layers.push(Layer {
                qkv: Linear::new(&qkv_weight, &qkv_bias, 3 * h, h),
                attn_out: weights.linear(&name("attention.output.dense"), h, h)?,
                attn_norm_gamma: weights.get(&name("attention.output.LayerNorm.weight"), &[h])?,
                attn_norm_beta: weights.get(&name("attention.output.LayerNorm.bias"), &[h])?,
                ffn_in: weights.linear(&name("intermediate.dense"), inter, h)?,
                ffn_out: weights.linear(&name("output.dense"), h, inter)?,
                ffn_norm_gamma: weights.get(&name("output.LayerNorm.weight"), &[h])?,
                ffn_norm_beta: weights.get(&name("output.LayerNorm.bias"), &[h])?,
            });
        }
        Ok(Self {
            word_embeddings,
            position_embeddings,
            norm_gamma: weights.get("embeddings.LayerNorm.weight", &[h])?,
            norm_beta: weights.get("embeddings.LayerNorm.bias", &[h])?,
            layers,
            config,
            threads,
        })
    }

    /// The last layer's token vectors, `[tokens, hidden]` row-major, for packed texts: `ids`
    /// holds every text's token ids one after another, `lens` how many belong to each. Runs
    /// its parallel parts on the current rayon pool.
    fn forward(&self, ids: &[u32], lens: &[usize]) -> Result<Vec<f32>, EmbeddingError> {
        let h = self.config.hidden_size;
        let eps = self.config.layer_norm_eps as f32;
        let tokens = ids.len();
        let mut x = vec![0f32; tokens * h];
        let mut row = 0;
        for &len in lens {
            for position in 0..len {
                let id = ids[row] as usize;
                if id >= self.config.vocab_size {
                    return Err(EmbeddingError::Inference(format!(
                        "token id {id} is outside the model's vocabulary of {}: tokenizer.json \
                         does not belong to these weights",
                        self.config.vocab_size
                    )));
                }
                let word = &self.word_embeddings[id * h..(id + 1) * h];
                let pos = &self.position_embeddings[position * h..(position + 1) * h];
                for ((d, w), p) in x[row * h..(row + 1) * h].iter_mut().zip(word).zip(pos) {
                    *d = w + p;
                }
                row += 1;
            }
        }
        layer_norm(&mut x, None, &self.norm_gamma, &self.norm_beta, eps);
        let mut x = Tensor::from_vec(x, (tokens, h), &Device::Cpu).map_err(inference)?;
        for layer in &self.layers {
            x = self.layer(layer, &x, lens).map_err(inference)?;
        }
        x.flatten_all().and_then(|t| t.to_vec1()).map_err(inference)
    }

    fn layer(&self, layer: &Layer, x: &Tensor, lens: &[usize]) -> candle_core::Result<Tensor> {
        let eps = self.config.layer_norm_eps as f32;
        let threads = self.threads;
        let linear = |linear, gelu| LinearOp {
            linear,
            gelu,
            threads,
        };
        let qkv = x.apply_op1_no_bwd(&linear(&layer.qkv, false))?;
        let context = qkv.apply_op1_no_bwd(&Attention {
            lens,
            heads: self.config.num_attention_heads,
            hidden: self.config.hidden_size,
        })?;
        let attended = context.apply_op1_no_bwd(&linear(&layer.attn_out, false))?;
        attended.inplace_op2(
            x,
            &ResidualNorm {
                gamma: &layer.attn_norm_gamma,
                beta: &layer.attn_norm_beta,
                eps,
            },
        )?;
        let inner = attended.apply_op1_no_bwd(&linear(&layer.ffn_in, true))?;
        let out = inner.apply_op1_no_bwd(&linear(&layer.ffn_out, false))?;
        out.inplace_op2(
            &attended,
            &ResidualNorm {
                gamma: &layer.ffn_norm_gamma,
                beta: &layer.ffn_norm_beta,
                eps,
            },
        )?;
        Ok(out)
    }
}
