//! The sentence embedder: the same vectors as the reference implementation, clear refusals of
//! model folders it cannot run, and a worker that batches bursts without blocking the runtime.
//!
//! The reference checks need the real model (`models/fetch` installs it in
//! `models/all-MiniLM-L6-v2`, or set `REFERRAL_DESK_MODEL_DIR`) and
//! `tests/fixtures/embeddings/golden.json` (made by `make_golden.py` beside it with
//! sentence-transformers); without them they are skipped visibly (see tests/it/support/skip.rs;
//! under CI that fails). Everything else runs on tiny synthetic model folders written to a
//! temporary directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;
use candle_core::{Device, Tensor};
use predicates::str::contains;
use referral_desk::nlu::embedding::{
    CandleEmbedder, Embedder, EmbeddingError, EmbeddingWorker, Pooling,
};
use serde_json::{Value, json};

use crate::support;

// ---------------------------------------------------------------------------------------------
// The real model against the reference vectors

fn model_dir() -> PathBuf {
    std::env::var_os("REFERRAL_DESK_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"))
}

fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embeddings/golden.json")
}

/// The real model, loaded once for all tests of this file; `None` (with a message saying why
/// and how to get it) when the folder is absent.
fn real_model() -> Option<Arc<CandleEmbedder>> {
    static MODEL: OnceLock<Option<Arc<CandleEmbedder>>> = OnceLock::new();
    let model = MODEL.get_or_init(|| {
        let dir = model_dir();
        if !dir.join("model.safetensors").is_file() {
            return None;
        }
        Some(Arc::new(
            CandleEmbedder::load(&dir).expect("the model folder loads"),
        ))
    });
    if model.is_none() {
        support::skip::skip(
            "no model",
            &format!(
                "no model at {} (run models/fetch or set REFERRAL_DESK_MODEL_DIR)",
                model_dir().display()
            ),
        );
    }
    model.clone()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("an array of numbers")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect()
}

#[test]
fn vectors_match_sentence_transformers() {
    let Some(model) = real_model() else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(golden_path()) else {
        support::skip::skip(
            "no reference vectors",
            &format!("no {} (see make_golden.py)", golden_path().display()),
        );
        return;
    };
    let golden: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        model.fingerprint(),
        golden["weights_sha256"].as_str().unwrap()
    );
    assert_eq!(model.dimension(), 384);
    assert_eq!(model.pooling(), Pooling::Mean);
    assert_eq!(golden["max_seq_length"], 128);

    let sentences = golden["sentences"].as_array().unwrap();
    let texts: Vec<&str> = sentences
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let batched = model.embed_batch(&texts).unwrap();
    let mut worst = 1f32;
    let mut truncated = false;
    for (sentence, batch_vector) in sentences.iter().zip(&batched) {
        let text = sentence["text"].as_str().unwrap();
        let ids = model.token_ids(text).unwrap();
        let expected_ids: Vec<u32> = sentence["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(
            ids.len(),
            sentence["tokens"].as_u64().unwrap() as usize,
            "{text}"
        );
        assert_eq!(&ids[..expected_ids.len()], &expected_ids[..], "{text}");
        truncated |= ids.len() == 128;

        let expected = floats(&sentence["embedding"]);
        let alone = model.embed_batch(&[text]).unwrap().remove(0);
        let norm: f32 = alone.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm} for {text:?}");
        let (c_alone, c_batch) = (cosine(&alone, &expected), cosine(batch_vector, &expected));
        eprintln!(
            "cosine {c_alone:.7} alone, {c_batch:.7} in a batch: {} tokens, {:?}",
            ids.len(),
            text.chars().take(40).collect::<String>()
        );
        assert!(c_alone >= 0.9999, "cosine {c_alone} for {text:?}");
        assert!(
            c_batch >= 0.9999,
            "cosine {c_batch} in a batch for {text:?}"
        );
        worst = worst.min(c_alone).min(c_batch);
    }
    assert!(truncated, "the golden file has a text over 128 tokens");
    eprintln!("worst cosine against the reference: {worst:.7}");
}

#[test]
fn worker_gives_the_same_vectors_for_a_burst_as_one_by_one() {
    let Some(model) = real_model() else {
        return;
    };
    let texts: Vec<String> = (0..50)
        .map(|i| format!("question number {i}: who can help me with a course in Excel?"))
        .collect();
    let one_by_one: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| model.embed_batch(&[t.as_str()]).unwrap().remove(0))
        .collect();
    let worker = EmbeddingWorker::spawn(model.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let burst = runtime.block_on(async {
        let calls = texts.iter().map(|t| {
            let worker = worker.clone();
            let text = t.clone();
            async move { worker.embed(vec![text]).await }
        });
        futures::future::join_all(calls).await
    });
    for (got, want) in burst.into_iter().zip(&one_by_one) {
        let got = got.unwrap().remove(0);
        let diff = got
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "max difference {diff}");
    }
}

#[test]
fn cli_prints_one_json_object_per_text() {
    let Some(_) = real_model() else {
        return;
    };
    let output = cargo_bin_cmd!("referral-desk")
        .args(["embed", "--json", "--model-dir"])
        .arg(model_dir())
        .args(["hoe vraag ik opleidingsbudget aan?", "my laptop is dead"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["text"], "my laptop is dead");
    assert_eq!(lines[1]["embedding"].as_array().unwrap().len(), 384);

    cargo_bin_cmd!("referral-desk")
        .args(["embed", "--model-dir"])
        .arg(model_dir())
        .arg("my laptop is dead")
        .assert()
        .success()
        .stdout(contains("\"my laptop is dead\""))
        .stdout(contains("dimension: 384   norm: 1.0000"));
}

#[test]
fn cli_says_how_to_get_a_missing_model() {
    let dir = tempfile::tempdir().unwrap();
    cargo_bin_cmd!("referral-desk")
        .args(["embed", "--model-dir"])
        .arg(dir.path().join("all-MiniLM-L6-v2"))
        .arg("hallo")
        .assert()
        .failure()
        .stderr(contains("models/fetch"));
}

// ---------------------------------------------------------------------------------------------
// Synthetic model folders: loading, refusals, the whole pipeline without the real model

const TINY_VOCAB: [&str; 8] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "help", "me",
];

/// A WordPiece tokenizer.json in the layout Hugging Face writes for BERT, over `TINY_VOCAB`.
fn tiny_tokenizer() -> Value {
    let vocab: serde_json::Map<String, Value> = TINY_VOCAB
        .iter()
        .enumerate()
        .map(|(i, t)| ((*t).to_string(), json!(i)))
        .collect();
    let added: Vec<Value> = TINY_VOCAB[..4]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 512}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    })
}

/// A BERT of width 8 (2 heads, 1 layer) with random weights.
fn tiny_config() -> Value {
    json!({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
        "intermediate_size": 16, "max_position_embeddings": 16, "type_vocab_size": 2,
        "vocab_size": TINY_VOCAB.len(), "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute"
    })
}

fn mean_pooling() -> Value {
    json!({"word_embedding_dimension": 8, "pooling_mode_cls_token": false,
           "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
           "pooling_mode_mean_sqrt_len_tokens": false})
}

fn tiny_weights(config: &Value) -> HashMap<String, Tensor> {
    let dim = |key: &str| config[key].as_u64().unwrap() as usize;
    let (h, inter) = (dim("hidden_size"), dim("intermediate_size"));
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![dim("vocab_size"), h],
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![dim("max_position_embeddings"), h],
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![dim("type_vocab_size"), h],
        ),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for i in 0..dim("num_hidden_layers") {
        let p = format!("encoder.layer.{i}.");
        for (name, shape) in [
            ("attention.self.query.weight", vec![h, h]),
            ("attention.self.query.bias", vec![h]),
            ("attention.self.key.weight", vec![h, h]),
            ("attention.self.key.bias", vec![h]),
            ("attention.self.value.weight", vec![h, h]),
            ("attention.self.value.bias", vec![h]),
            ("attention.output.dense.weight", vec![h, h]),
            ("attention.output.dense.bias", vec![h]),
            ("attention.output.LayerNorm.weight", vec![h]),
            ("attention.output.LayerNorm.bias", vec![h]),
            ("intermediate.dense.weight", vec![inter, h]),
            ("intermediate.dense.bias", vec![inter]),
            ("output.dense.weight", vec![h, inter]),
            ("output.dense.bias", vec![h]),
            ("output.LayerNorm.weight", vec![h]),
            ("output.LayerNorm.bias", vec![h]),
        ] {
            shapes.push((format!("{p}{name}"), shape));
        }
    }
    shapes
        .into_iter()
        .map(|(name, shape)| {
            let tensor = Tensor::randn(0f32, 0.5, shape, &Device::Cpu).unwrap();
            (name, tensor)
        })
        .collect()
}

/// Writes a complete synthetic model folder and returns its path (inside `root`).
fn write_model(
    root: &Path,
    config: &Value,
    pooling: &Value,
    weights: &HashMap<String, Tensor>,
) -> PathBuf {
    let dir = root.join("tiny-model");
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("1_Pooling/config.json"), pooling.to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tiny_tokenizer().to_string()).unwrap();
    candle_core::safetensors::save(weights, dir.join("model.safetensors")).unwrap();
    dir
}

fn load_error(
    config: &Value,
    pooling: &Value,
    weights: &HashMap<String, Tensor>,
) -> EmbeddingError {
    let root = tempfile::tempdir().unwrap();
    let dir = write_model(root.path(), config, pooling, weights);
    CandleEmbedder::load(&dir).expect_err("the folder must be refused")
}

#[test]
fn a_synthetic_model_loads_and_embeds() {
    let root = tempfile::tempdir().unwrap();
    let config = tiny_config();
    let dir = write_model(
        root.path(),
        &config,
        &mean_pooling(),
        &tiny_weights(&config),
    );
    let model = CandleEmbedder::load(&dir).unwrap();
    assert_eq!(model.dimension(), 8);
    assert_eq!(model.fingerprint().len(), 64);
    assert_eq!(model.token_ids("Hello world").unwrap(), vec![2, 4, 5, 3]);

    let long = "help me ".repeat(40); // 80 words: truncated to 16 positions
    assert_eq!(model.token_ids(&long).unwrap().len(), 16);
    let vectors = model
        .embed_batch(&["hello world", "", "help me", &long, "hello world"])
        .unwrap();
    assert_eq!(vectors.len(), 5);
    for v in &vectors {
        assert_eq!(v.len(), 8);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
    assert_eq!(vectors[0], vectors[4], "same text, same vector");
    assert_ne!(vectors[0], vectors[2]);
    assert_eq!(model.embed_batch(&["help me"]).unwrap()[0], vectors[2]);
    assert!(model.embed_batch(&[]).unwrap().is_empty());
}

#[test]
fn a_missing_file_is_named_with_the_fix() {
    let root = tempfile::tempdir().unwrap();
    let err = CandleEmbedder::load(&root.path().join("nowhere")).unwrap_err();
    assert!(matches!(err, EmbeddingError::MissingFile { .. }), "{err:?}");
    assert!(err.to_string().contains("models/fetch"), "{err}");

    let config = tiny_config();
    let dir = write_model(
        root.path(),
        &config,
        &mean_pooling(),
        &tiny_weights(&config),
    );
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let err = CandleEmbedder::load(&dir).unwrap_err();
    match &err {
        EmbeddingError::MissingFile { path, .. } => assert!(path.ends_with("model.safetensors")),
        other => panic!("expected MissingFile, got {other:?}"),
    }
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn unsupported_configurations_are_refused() {
    let config = tiny_config();
    let weights = tiny_weights(&config);

    let mut max_pooling = mean_pooling();
    max_pooling["pooling_mode_mean_tokens"] = json!(false);
    max_pooling["pooling_mode_max_tokens"] = json!(true);
    let err = load_error(&config, &max_pooling, &weights);
    match &err {
        EmbeddingError::UnsupportedConfig { path, detail } => {
            assert!(path.ends_with("1_Pooling/config.json"), "{path:?}");
            assert!(detail.contains("pooling_mode_max_tokens"), "{detail}");
        }
        other => panic!("expected UnsupportedConfig, got {other:?}"),
    }

    let mut relu = config.clone();
    relu["hidden_act"] = json!("relu");
    let err = load_error(&relu, &mean_pooling(), &weights);
    match &err {
        EmbeddingError::UnsupportedConfig { path, detail } => {
            assert!(path.ends_with("config.json"), "{path:?}");
            assert!(detail.contains("relu"), "{detail}");
        }
        other => panic!("expected UnsupportedConfig, got {other:?}"),
    }
    assert!(err.to_string().contains("hidden_act"), "{err}");

    let mut roberta = config.clone();
    roberta["model_type"] = json!("roberta");
    let err = load_error(&roberta, &mean_pooling(), &weights);
    assert!(
        matches!(&err, EmbeddingError::UnsupportedConfig { detail, .. } if detail.contains("roberta")),
        "{err:?}"
    );

    let mut cls = mean_pooling();
    cls["pooling_mode_mean_tokens"] = json!(false);
    cls["pooling_mode_cls_token"] = json!(true);
    let root = tempfile::tempdir().unwrap();
    let dir = write_model(root.path(), &config, &cls, &weights);
    assert_eq!(CandleEmbedder::load(&dir).unwrap().pooling(), Pooling::Cls);
}

#[test]
fn a_weight_of_the_wrong_shape_is_named() {
    let config = tiny_config();
    let mut weights = tiny_weights(&config);
    weights.insert(
        "encoder.layer.0.intermediate.dense.weight".into(),
        Tensor::zeros((12, 8), candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    let err = load_error(&config, &mean_pooling(), &weights);
    match &err {
        EmbeddingError::ShapeMismatch {
            tensor,
            expected,
            found,
        } => {
            assert_eq!(tensor, "encoder.layer.0.intermediate.dense.weight");
            assert_eq!(expected, &vec![16, 8]);
            assert_eq!(found, &vec![12, 8]);
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("encoder.layer.0.intermediate.dense.weight"),
        "{err}"
    );

    let mut weights = tiny_weights(&config);
    weights.remove("encoder.layer.0.output.LayerNorm.bias");
    let err = load_error(&config, &mean_pooling(), &weights);
    assert!(
        matches!(&err, EmbeddingError::MissingTensor { tensor, .. } if tensor == "encoder.layer.0.output.LayerNorm.bias"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The worker, with stand-in embedders whose behaviour the tests control

/// Vectors that identify their text (its length and first byte), after a delay standing for
/// the forward pass; records the size of every call.
struct SlowEmbedder {
    delay: Duration,
    calls: Mutex<Vec<usize>>,
}

impl SlowEmbedder {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            calls: Mutex::new(Vec::new()),
        })
    }
}

impl Embedder for SlowEmbedder {
    fn dimension(&self) -> usize {
        2
    }

    fn fingerprint(&self) -> &str {
        "slow"
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        self.calls.lock().unwrap().push(texts.len());
        std::thread::sleep(self.delay); // blocking, like real inference
        texts
            .iter()
            .map(|t| match *t {
                "boom" => Err(EmbeddingError::Inference("boom".into())),
                "panic" => panic!("kaput"),
                t => Ok(vec![
                    t.len() as f32,
                    f32::from(t.bytes().next().unwrap_or(0)),
                ]),
            })
            .collect()
    }
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_burst_of_requests_is_batched_and_answered_in_order() {
    let embedder = SlowEmbedder::new(Duration::from_millis(30));
    let worker = EmbeddingWorker::spawn(embedder.clone());
    assert_eq!(worker.dimension(), 2);
    assert_eq!(worker.fingerprint(), "slow");
    let texts: Vec<String> = (0..50)
        .map(|i| format!("{}{}", (b'a' + i % 26) as char, "x".repeat(i as usize)))
        .collect();
    let results = current_thread_runtime().block_on(async {
        let calls = texts.iter().map(|t| worker.embed(vec![t.clone()]));
        futures::future::join_all(calls).await
    });
    for (text, result) in texts.iter().zip(results) {
        let vector = result.unwrap().remove(0);
        assert_eq!(
            vector,
            vec![text.len() as f32, f32::from(text.as_bytes()[0])]
        );
    }
    let calls = embedder.calls.lock().unwrap().clone();
    assert_eq!(calls.iter().sum::<usize>(), 50);
    assert!(
        calls.len() <= 3,
        "50 requests took {} forward passes: {calls:?}",
        calls.len()
    );
    assert!(calls.iter().all(|&n| n <= 64), "{calls:?}");
}

#[test]
fn embedding_does_not_block_the_runtime() {
    let worker = EmbeddingWorker::spawn(SlowEmbedder::new(Duration::from_millis(300)));
    let ticks = Arc::new(AtomicUsize::new(0));
    let runtime = current_thread_runtime();
    let during = runtime.block_on(async {
        let counter = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        let vectors = worker.embed(vec!["hello".into()]).await.unwrap();
        assert_eq!(vectors, vec![vec![5.0, f32::from(b'h')]]);
        ticker.abort();
        ticks.load(Ordering::Relaxed)
    });
    // 300 ms of blocking work on the worker; the single runtime thread kept ticking meanwhile.
    assert!(during >= 20, "only {during} ticks while embedding");
}

#[test]
fn one_failing_request_does_not_fail_those_batched_with_it() {
    let embedder = SlowEmbedder::new(Duration::from_millis(20));
    let worker = EmbeddingWorker::spawn(embedder);
    let (ok, boom, panicked, after) = current_thread_runtime().block_on(async {
        let first = worker.embed(vec!["first".into()]);
        let ok = worker.embed(vec!["ok".into(), "fine".into()]);
        let boom = worker.embed(vec!["boom".into()]);
        let panicked = worker.embed(vec!["panic".into()]);
        let (_, ok, boom, panicked) = tokio::join!(first, ok, boom, panicked);
        let after = worker.embed(vec!["still alive".into()]).await;
        (ok, boom, panicked, after)
    });
    assert_eq!(ok.unwrap().len(), 2);
    assert!(
        matches!(boom, Err(EmbeddingError::Inference(_))),
        "{boom:?}"
    );
    match panicked {
        Err(EmbeddingError::Inference(message)) => assert!(message.contains("kaput"), "{message}"),
        other => panic!("expected an inference error, got {other:?}"),
    }
    assert_eq!(after.unwrap()[0][0], 11.0, "the worker survives a panic");
    assert!(
        current_thread_runtime()
            .block_on(worker.embed(Vec::new()))
            .unwrap()
            .is_empty()
    );
}
