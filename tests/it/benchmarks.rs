//! Accuracy floors on public intent benchmarks, measured exactly as `referral-desk eval` does
//! (threshold chosen on the validation split, the test split only scored). A change that makes
//! the classifier worse for employees fails here.
//!
//! The data is not part of the repository: it is read from `../shared/eval/data` (or
//! `$REFERRAL_DESK_EVAL_DATA`); each test is skipped visibly when it is absent (see
//! tests/it/support/skip.rs; under CI that fails). Speed is not asserted here (shared machines
//! are noisy): see `benches/` and `referral-desk eval`.

use std::path::PathBuf;

use crate::support;

use referral_desk::nlu::ModelKind;
use referral_desk::nlu::dataset::read_jsonl;
use referral_desk::nlu::embedding::cache::EmbeddingCache;
use referral_desk::nlu::embedding::{CandleEmbedder, Embedder};
use referral_desk::nlu::evaluation::{EvalEmbeddings, EvalOptions, EvalReport, Labelled, evaluate};
use referral_desk::nlu::model::model_present;

fn data_dir() -> PathBuf {
    std::env::var_os("REFERRAL_DESK_EVAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/eval/data"))
}

fn load(dataset: &str, split: &str) -> Option<Vec<Labelled>> {
    let path = data_dir().join(dataset).join(format!("{split}.jsonl"));
    if !path.exists() {
        support::skip::skip(
            "no benchmark data",
            &format!(
                "{} is absent; set REFERRAL_DESK_EVAL_DATA to the benchmark data folder",
                path.display()
            ),
        );
        return None;
    }
    let rows = read_jsonl(&path).unwrap();
    Some(
        rows.into_iter()
            .map(|r| {
                let label = (r.intent != "oos").then_some(r.intent);
                (r.text, label)
            })
            .collect(),
    )
}

/// CLINC150's train, val and test splits (oos lines unlabelled).
fn clinc150() -> Option<(Vec<Labelled>, Vec<Labelled>, Vec<Labelled>)> {
    Some((
        load("clinc150", "train")?,
        load("clinc150", "val")?,
        load("clinc150", "test")?,
    ))
}

fn run(train: &[Labelled], val: Option<&[Labelled]>, test: &[Labelled]) -> EvalReport {
    evaluate(train, val, test, &EvalOptions::default(), None, &mut |_| {})
        .unwrap()
        .0
}

/// The sentence-embedding model, or `None` (with a message) when it is not fetched.
fn embedding_model() -> Option<CandleEmbedder> {
    let dir = std::env::var_os("REFERRAL_DESK_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models/all-MiniLM-L6-v2"));
    if !model_present(&dir) {
        support::skip::skip(
            "no model",
            &format!(
                "no sentence-embedding model in {}; run models/fetch",
                dir.display()
            ),
        );
        return None;
    }
    Some(CandleEmbedder::load(&dir).unwrap())
}

/// As `referral-desk eval --model hybrid`: the texts are embedded through the on-disk cache
/// (`$REFERRAL_DESK_EMBEDDING_CACHE`), so only a cold run pays for the model.
fn run_hybrid(
    embedder: CandleEmbedder,
    train: &[Labelled],
    val: Option<&[Labelled]>,
    test: &[Labelled],
) -> EvalReport {
    let embedder: std::sync::Arc<dyn Embedder> = std::sync::Arc::new(embedder);
    // the cache the settings name ($REFERRAL_DESK_EMBEDDING_CACHE in CI)
    let cache_dir = referral_desk::config::Settings::load(None)
        .unwrap()
        .classifier
        .embedding_cache;
    let mut cache = EmbeddingCache::open(embedder.clone(), cache_dir.as_deref());
    let mut embed = |rows: &[Labelled]| {
        let texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
        cache.embed_all(&texts, &mut |_, _| {}).unwrap().0
    };
    let embeddings = EvalEmbeddings {
        train: embed(train),
        val: val.map(&mut embed),
        test: embed(test),
        embedder: embedder.as_ref(),
    };
    let options = EvalOptions {
        model: ModelKind::Hybrid,
        ..EvalOptions::default()
    };
    evaluate(train, val, test, &options, Some(&embeddings), &mut |_| {})
        .unwrap()
        .0
}

/// Floors for one CLINC150 run, asserted the same way for every model: where the threshold
/// came from, argmax in-scope accuracy, in-scope accuracy and oos recall at the threshold.
struct ClincFloors {
    threshold_from: &'static str,
    argmax: f64,
    in_scope: f64,
    oos_recall: f64,
}

fn assert_clinc150(name: &str, report: &EvalReport, floors: ClincFloors) {
    eprintln!(
        "{name}: in-scope {:.4} (argmax {:.4}), oos recall {:?}, threshold {} ({})",
        report.in_scope_accuracy,
        report.in_scope_accuracy_argmax,
        report.oos_recall,
        report.threshold,
        report.threshold_source
    );
    assert!(
        report.threshold_source.contains(floors.threshold_from),
        "{}",
        report.threshold_source
    );
    assert!(
        report.in_scope_accuracy_argmax >= floors.argmax,
        "argmax in-scope accuracy {}",
        report.in_scope_accuracy_argmax
    );
    assert!(
        report.in_scope_accuracy >= floors.in_scope,
        "in-scope accuracy {}",
        report.in_scope_accuracy
    );
    let recall = report.oos_recall.unwrap();
    assert!(recall >= floors.oos_recall, "oos recall {recall}");
}

#[test]
fn clinc150_in_scope_accuracy_and_out_of_scope_recall() {
    let Some((train, val, test)) = clinc150() else {
        return;
    };
    let report = run(&train, Some(&val), &test);
    // Measured (README "Measured"): argmax 0.924; at the val-chosen threshold in-scope 0.836
    // and oos recall 0.937. The in-scope target of 0.90 at that threshold is not met by
    // the lexical model (README explains why); these floors catch regressions.
    let floors = ClincFloors {
        threshold_from: "--val",
        argmax: 0.92,
        in_scope: 0.80,
        oos_recall: 0.85,
    };
    assert_clinc150("CLINC150", &report, floors);
}

#[test]
fn banking77_accuracy() {
    let (Some(train), Some(test)) = (load("banking77", "train"), load("banking77", "test")) else {
        return;
    };
    let report = run(&train, None, &test);
    eprintln!("BANKING77: accuracy {:.4}", report.accuracy);
    assert!(report.accuracy >= 0.915, "accuracy {}", report.accuracy);
}

#[test]
fn clinc150_hybrid_in_scope_accuracy_and_out_of_scope_recall() {
    let Some((train, val, test)) = clinc150() else {
        return;
    };
    let Some(embedder) = embedding_model() else {
        return;
    };
    let report = run_hybrid(embedder, &train, Some(&val), &test);
    // Measured (README "Measured"): argmax 0.963; at the val-chosen threshold in-scope 0.913
    // and oos recall 0.930. Trained on train only, the 0.93 in-scope target is not reached at
    // the threshold val chooses (see the next test for train + val).
    let floors = ClincFloors {
        threshold_from: "--val",
        argmax: 0.955,
        in_scope: 0.905,
        oos_recall: 0.92,
    };
    assert_clinc150("CLINC150 hybrid", &report, floors);
}

/// As the desk trains on a catalogue: every labelled example (train and val, 200 of them out
/// of scope) goes into the model and the threshold is chosen by 5-fold cross-validation on
/// them; the test split is only scored. `eval --train train+val.jsonl --test test.jsonl`.
#[test]
fn clinc150_hybrid_on_train_and_val_with_a_cross_validated_threshold() {
    let Some((mut train, val, test)) = clinc150() else {
        return;
    };
    let Some(embedder) = embedding_model() else {
        return;
    };
    train.extend(val);
    let report = run_hybrid(embedder, &train, None, &test);
    // Measured 0.936 and 0.907 (the targets: 0.93 and 0.90); argmax 0.964.
    let floors = ClincFloors {
        threshold_from: "cross-validation",
        argmax: 0.0,
        in_scope: 0.93,
        oos_recall: 0.90,
    };
    assert_clinc150("CLINC150 hybrid, train + val", &report, floors);
}

#[test]
fn banking77_hybrid_accuracy() {
    let (Some(train), Some(test)) = (load("banking77", "train"), load("banking77", "test")) else {
        return;
    };
    let Some(embedder) = embedding_model() else {
        return;
    };
    let report = run_hybrid(embedder, &train, None, &test);
    eprintln!("BANKING77 hybrid: accuracy {:.4}", report.accuracy);
    // measured 0.9409 (the target is 0.94)
    assert!(report.accuracy >= 0.94, "accuracy {}", report.accuracy);
}
