//! Measuring a classifier on labelled data: the logic behind `referral-desk eval`, shared by
//! the CLI, the benchmark tests and anything else that needs the same figures.
//!
//! Trains on the given examples, tunes the decision thresholds on validation data (or by
//! cross-validation on the training data), never on the test data, scores the test data and
//! times single-query classification in-process.

use std::str::FromStr;
use std::time::Instant;

use serde::Serialize;

use super::embedding::Embedder;
use super::metrics::{self, Confusion, LabelMetrics, Outcome, ThresholdSample, TunedDecision};
use super::{
    Classifier, ClassifierError, DEFAULT_EMBEDDING_WEIGHT, EmbeddingFeatures, FeatureSettings,
    ModelKind, TrainSettings,
};
use crate::catalogue::ClassifierSettings;

/// A labelled text; `None` means out of scope.
pub type Labelled = (String, Option<String>);

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
    #[error("cross-validation needs at least 2 folds (got {0})")]
    Folds(usize),
    #[error("the test data is empty")]
    NoTestData,
    #[error("the {0} model needs the texts' embeddings (a sentence-embedding model)")]
    NoEmbeddings(&'static str),
}

/// Progress of a long evaluation, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Started {
        stage: &'static str,
        total: u64,
    },
    Advanced {
        position: u64,
        message: Option<String>,
    },
    Finished,
}

/// How the out-of-scope threshold is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdChoice {
    /// On `--val`, or by cross-validation on the training data.
    Auto,
    Fixed(f32),
}

impl FromStr for ThresholdChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(ThresholdChoice::Auto);
        }
        match s.parse::<f32>() {
            Ok(t) if (0.0..=1.0).contains(&t) => Ok(ThresholdChoice::Fixed(t)),
            _ => Err(format!(
                "expected `auto` or a number between 0 and 1, got `{s}`"
            )),
        }
    }
}

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub features: FeatureSettings,
    pub training: TrainSettings,
    /// Decision settings of the catalogue (or defaults) used for the trained classifier.
    pub base: ClassifierSettings,
    pub threshold: ThresholdChoice,
    /// Folds for cross-validation when there is no validation data.
    pub folds: usize,
    /// Which features; the embedding kinds need [`EvalEmbeddings`].
    pub model: ModelKind,
    pub embedding_weight: f32,
}

/// Sentence embeddings of the evaluation's texts (computed by the caller, usually through
/// the on-disk cache), one per text of each split, and the embedder itself so that latency
/// is measured end to end.
pub struct EvalEmbeddings<'a> {
    pub train: Vec<Vec<f32>>,
    pub val: Option<Vec<Vec<f32>>>,
    pub test: Vec<Vec<f32>>,
    pub embedder: &'a dyn Embedder,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            features: FeatureSettings::default(),
            training: TrainSettings::default(),
            base: ClassifierSettings::default(),
            threshold: ThresholdChoice::Auto,
            folds: 5,
            model: ModelKind::Lexical,
            embedding_weight: DEFAULT_EMBEDDING_WEIGHT,
        }
    }
}

/// The figures of one evaluation; what `eval --json` prints.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// `lexical`, `embedding` or `hybrid`.
    pub model: ModelKind,
    pub train_examples: usize,
    pub test_examples: usize,
    pub intents: usize,
    pub features: usize,
    pub accuracy: f64,
    pub in_scope_accuracy: f64,
    /// In-scope accuracy when the best intent is always taken (no out-of-scope decision).
    pub in_scope_accuracy_argmax: f64,
    pub oos_recall: Option<f64>,
    pub oos_precision: Option<f64>,
    pub macro_f1: f64,
    pub ece: f64,
    pub threshold: f32,
    /// How the threshold was chosen.
    pub threshold_source: String,
    /// Decision settings chosen on the validation data (or by cross-validation): what to put
    /// in the catalogue's `settings.classifier`.
    pub tuned: Option<TunedDecision>,
    pub train_seconds: f64,
    pub latency_us_p50: f64,
    pub latency_us_p99: f64,
    pub per_intent: Vec<LabelMetrics>,
    pub confusions: Vec<Confusion>,
}

/// Trains on `train`, tunes on `val` (or by cross-validation), scores `test`. Returns the
/// figures and the trained classifier.
pub fn evaluate(
    train: &[Labelled],
    val: Option<&[Labelled]>,
    test: &[Labelled],
    options: &EvalOptions,
    embeddings: Option<&EvalEmbeddings<'_>>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(EvalReport, Classifier), EvalError> {
    if test.is_empty() {
        return Err(EvalError::NoTestData);
    }
    let embeddings = embeddings.filter(|_| options.model.uses_embeddings());
    if options.model.uses_embeddings() && embeddings.is_none() {
        return Err(EvalError::NoEmbeddings(options.model.as_str()));
    }

    let classifier = train_classifier(train, options, embeddings, progress)?;
    let tuned = tune_held_out(&classifier, train, val, options, embeddings, progress)?;
    let (threshold, threshold_source) = choose_threshold(options.threshold, &tuned);
    let (outcomes, argmax_hits) = score_test(&classifier, test, embeddings, threshold, progress);
    let measured = metrics::compute(&outcomes);
    let (p50, p99) = measure_latency(&classifier, embeddings.map(|e| e.embedder), test);
    let report = EvalReport {
        model: classifier.kind(),
        train_examples: train.len(),
        test_examples: test.len(),
        intents: classifier.intents().len(),
        features: classifier.feature_count(),
        accuracy: measured.accuracy,
        in_scope_accuracy: measured.in_scope_accuracy,
        in_scope_accuracy_argmax: if measured.in_scope_examples > 0 {
            argmax_hits as f64 / measured.in_scope_examples as f64
        } else {
            0.0
        },
        oos_recall: measured.oos_recall,
        oos_precision: measured.oos_precision,
        macro_f1: measured.macro_f1,
        ece: measured.ece,
        threshold,
        threshold_source,
        tuned: match tuned {
            Tuning::Tuned { decision, .. } => Some(decision),
            Tuning::Untuned(_) => None,
        },
        train_seconds: classifier.train_seconds(),
        latency_us_p50: p50,
        latency_us_p99: p99,
        per_intent: measured.per_intent,
        confusions: measured.confusions,
    };
    Ok((report, classifier))
}

/// Trains the classifier under evaluation, telling `progress` each epoch's loss: training is
/// the longest wait of an evaluation.
fn train_classifier(
    train: &[Labelled],
    options: &EvalOptions,
    embeddings: Option<&EvalEmbeddings<'_>>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Classifier, EvalError> {
    let epochs = options
        .training
        .epochs
        .max(options.training.min_updates.div_ceil(train.len().max(1)));
    progress(Progress::Started {
        stage: "training",
        total: epochs as u64,
    });
    let classifier = Classifier::train_with(
        &as_pairs(train),
        embeddings.map(|e| EmbeddingFeatures {
            kind: options.model,
            weight: options.embedding_weight,
            vectors: &e.train,
        }),
        options.features.clone(),
        &options.training,
        options.base,
        |epoch, loss| {
            progress(Progress::Advanced {
                position: epoch as u64,
                message: Some(format!("loss {loss:.4}")),
            })
        },
    )?;
    progress(Progress::Finished);
    Ok(classifier)
}

/// Tunes the decision settings on `val`, or without it on out-of-fold predictions, so that
/// the test data never chooses anything.
fn tune_held_out(
    classifier: &Classifier,
    train: &[Labelled],
    val: Option<&[Labelled]>,
    options: &EvalOptions,
    embeddings: Option<&EvalEmbeddings<'_>>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Tuning, EvalError> {
    Ok(match val {
        Some(val) => Tuning::from_samples(
            metrics::tune_decisions(&threshold_samples(
                classifier,
                val,
                embeddings.and_then(|e| e.val.as_deref()),
            )),
            "on --val",
        ),
        None => cross_validated_tuning(
            train,
            embeddings.map(|e| (options.model, options.embedding_weight, &e.train[..])),
            &options.features,
            &options.training,
            options.folds,
            progress,
        )?,
    })
}

/// The threshold the test data is scored at, and how it was chosen, for the report: a given
/// threshold wins over a tuned one, and without either the best intent is always taken.
fn choose_threshold(choice: ThresholdChoice, tuned: &Tuning) -> (f32, String) {
    match (choice, tuned) {
        (ThresholdChoice::Fixed(t), _) => (t, "given".to_string()),
        (ThresholdChoice::Auto, Tuning::Tuned { decision, on }) => (
            decision.threshold,
            format!(
                "chosen {on}: in-scope accuracy {:.4}, oos recall {:.4} there",
                decision.in_scope_accuracy, decision.oos_recall
            ),
        ),
        (ThresholdChoice::Auto, Tuning::Untuned(why)) => (0.0, format!("argmax: {why}")),
    }
}

/// Classifies every test example at `threshold`: the outcomes, and how many examples the best
/// intent alone gets right (the argmax accuracy, which no threshold affects). Progress comes
/// every 256 examples, as a large test set takes a while with embeddings.
fn score_test(
    classifier: &Classifier,
    test: &[Labelled],
    embeddings: Option<&EvalEmbeddings<'_>>,
    threshold: f32,
    progress: &mut dyn FnMut(Progress),
) -> (Vec<Outcome>, usize) {
    progress(Progress::Started {
        stage: "scoring",
        total: test.len() as u64,
    });
    let mut outcomes = Vec::with_capacity(test.len());
    let mut argmax_hits = 0usize;
    for (position, (text, truth)) in test.iter().enumerate() {
        let scores = classifier.scores_with(text, embeddings.map(|e| e.test[position].as_slice()));
        let best = &classifier.intents()[scores.best];
        let predicted = (!scores.is_out_of_scope(threshold)).then(|| best.clone());
        let top_is_oos = scores.out_of_scope_probability > scores.best_probability;
        let top_correct = match truth {
            Some(t) => !top_is_oos && t == best,
            None => top_is_oos,
        };
        argmax_hits += usize::from(truth.as_ref() == Some(best));
        outcomes.push(Outcome {
            truth: truth.clone(),
            predicted,
            confidence: scores.top_probability,
            top_correct,
        });
        if position % 256 == 255 {
            progress(Progress::Advanced {
                position: position as u64 + 1,
                message: None,
            });
        }
    }
    progress(Progress::Finished);
    (outcomes, argmax_hits)
}

fn as_pairs(examples: &[(String, Option<String>)]) -> Vec<(&str, Option<&str>)> {
    examples
        .iter()
        .map(|(t, l)| (t.as_str(), l.as_deref()))
        .collect()
}

/// `embeddings`, when given, holds one embedding per example.
pub fn threshold_samples(
    classifier: &Classifier,
    examples: &[(String, Option<String>)],
    embeddings: Option<&[Vec<f32>]>,
) -> Vec<ThresholdSample> {
    examples
        .iter()
        .enumerate()
        .map(|(i, (text, truth))| {
            let scores = classifier.scores_with(text, embeddings.map(|e| e[i].as_slice()));
            let intents = classifier.intents();
            ThresholdSample {
                is_out_of_scope: truth.is_none(),
                best_correct: truth.as_ref() == Some(&intents[scores.best]),
                second_correct: scores.second != scores.best
                    && truth.as_ref() == Some(&intents[scores.second]),
                scores,
            }
        })
        .collect()
}

/// Decision settings tuned on held-out predictions, or why they could not be.
pub enum Tuning {
    Tuned { decision: TunedDecision, on: String },
    Untuned(String),
}

impl Tuning {
    fn from_samples(decision: Option<TunedDecision>, on: &str) -> Tuning {
        match decision {
            Some(decision) => Tuning::Tuned {
                decision,
                on: on.to_string(),
            },
            None => Tuning::Untuned(format!(
                "no out-of-scope (or no in-scope) examples {on} to tune on"
            )),
        }
    }
}

/// Tunes on out-of-fold predictions: each fold is scored by a model trained on the other
/// folds. Folds are dealt round-robin per label, so each holds every label.
pub fn cross_validated_tuning(
    examples: &[(String, Option<String>)],
    embeddings: Option<(ModelKind, f32, &[Vec<f32>])>,
    features: &FeatureSettings,
    training: &TrainSettings,
    folds: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<Tuning, EvalError> {
    if !examples.iter().any(|(_, l)| l.is_none()) {
        return Ok(Tuning::Untuned(
            "no out-of-scope training examples to tune on".into(),
        ));
    }
    if folds < 2 {
        return Err(EvalError::Folds(folds));
    }
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by(|a, b| examples[*a].1.cmp(&examples[*b].1));
    let mut fold_of = vec![0usize; examples.len()];
    for (position, index) in order.into_iter().enumerate() {
        fold_of[index] = position % folds;
    }
    progress(Progress::Started {
        stage: "cross-validating",
        total: folds as u64,
    });
    let mut samples = Vec::with_capacity(examples.len());
    for fold in 0..folds {
        let (held, kept): (Vec<usize>, Vec<usize>) =
            (0..examples.len()).partition(|i| fold_of[*i] == fold);
        let train: Vec<(String, Option<String>)> =
            kept.iter().map(|i| examples[*i].clone()).collect();
        let test: Vec<(String, Option<String>)> =
            held.iter().map(|i| examples[*i].clone()).collect();
        let pick = |indices: &[usize], all: &[Vec<f32>]| -> Vec<Vec<f32>> {
            indices.iter().map(|i| all[*i].clone()).collect()
        };
        let kept_vectors = embeddings.map(|(_, _, all)| pick(&kept, all));
        let held_vectors = embeddings.map(|(_, _, all)| pick(&held, all));
        let model = Classifier::train_with(
            &as_pairs(&train),
            embeddings
                .zip(kept_vectors.as_deref())
                .map(|((kind, weight, _), vectors)| EmbeddingFeatures {
                    kind,
                    weight,
                    vectors,
                }),
            features.clone(),
            training,
            ClassifierSettings::default(),
            |_, _| {},
        )?;
        samples.extend(threshold_samples(&model, &test, held_vectors.as_deref()));
        progress(Progress::Advanced {
            position: fold as u64 + 1,
            message: None,
        });
    }
    progress(Progress::Finished);
    Ok(Tuning::from_samples(
        metrics::tune_decisions(&samples),
        &format!("by {folds}-fold cross-validation on the training data"),
    ))
}

/// Single-query latency of the full decision (normalise, features, model, decision), in µs;
/// with `embedder`, embedding the question is included (end to end, as the server does it,
/// without the hop to the model thread).
pub fn measure_latency(
    classifier: &Classifier,
    embedder: Option<&dyn Embedder>,
    test: &[(String, Option<String>)],
) -> (f64, f64) {
    let limit = if embedder.is_some() { 300 } else { 2000 };
    let texts: Vec<&str> = test.iter().map(|(t, _)| t.as_str()).take(limit).collect();
    let classify = |text: &str| {
        let embedding = embedder.and_then(|e| e.embed_batch(&[text]).ok()?.pop());
        classifier.predict_with(text, embedding.as_deref())
    };
    for text in texts.iter().take(20) {
        std::hint::black_box(classify(text));
    }
    let mut micros: Vec<f64> = texts
        .iter()
        .map(|text| {
            let started = Instant::now();
            std::hint::black_box(classify(text));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    (percentile(&micros, 0.50), percentile(&micros, 0.99))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}
