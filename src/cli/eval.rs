//! `referral-desk eval`: measures the classifier on labelled data, the way HRD and engineers
//! decide whether a catalogue or model change is an improvement. The measuring itself is
//! `nlu::evaluation`; this file reads the files, drives the progress bar and prints.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::catalogue::ClassifierSettings;
use crate::config::ModelSettings;
use crate::nlu::dataset::{LabelledText, read_jsonl};
use crate::nlu::embedding::cache::EmbeddingCache;
use crate::nlu::embedding::{Embedder, EmbeddingError};
use crate::nlu::evaluation::{
    EvalEmbeddings, EvalError, EvalOptions, EvalReport, Labelled, Progress, ThresholdChoice,
    evaluate,
};
use crate::nlu::model::{choose_kind, load_embedder};
use crate::nlu::{Classifier, FeatureSettings, LanguageDetector, ModelKind, TrainSettings};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("training").required(true).args(["catalogue", "train"])))]
pub struct EvalArgs {
    /// Train on this catalogue folder.
    #[arg(long, value_name = "DIR")]
    pub catalogue: Option<PathBuf>,
    /// Train on this JSONL file ({"text": ..., "intent": ...} per line).
    #[arg(long, value_name = "FILE.jsonl")]
    pub train: Option<PathBuf>,
    /// Score on this JSONL file. Never used to choose anything.
    #[arg(long, value_name = "FILE.jsonl")]
    pub test: PathBuf,
    /// Choose the threshold on this JSONL file.
    #[arg(long, value_name = "FILE.jsonl")]
    pub val: Option<PathBuf>,
    /// The label that marks out-of-scope lines in the JSONL files.
    #[arg(long, default_value = "oos", value_name = "LABEL")]
    pub oos_label: String,
    /// Out-of-scope threshold: `auto` or a number between 0 and 1.
    #[arg(long, default_value = "auto", value_name = "auto|NUMBER")]
    pub threshold: ThresholdChoice,
    /// Folds for cross-validation when `--threshold auto` has no `--val`.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub folds: usize,
    /// Write every validation and test example's class scores (logits) to this JSONL file,
    /// for studying decision rules offline.
    #[arg(long, value_name = "FILE.jsonl", hide = true)]
    pub dump_scores: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Which model: lexical, embedding or hybrid. Default: hybrid when the model folder is
    /// present, lexical otherwise.
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// The sentence-embedding model folder (default: classifier.model_dir).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Weight of the embedding against the words, hybrid (default: classifier.embedding_weight).
    #[arg(long, value_name = "W")]
    pub embedding_weight: Option<f32>,
    #[command(flatten)]
    pub config: super::ConfigArgs,

    /// Model option: one-vs-rest sigmoids instead of one softmax.
    #[arg(long, help_heading = "Model options")]
    pub one_vs_rest: bool,
    /// Model option: training epochs.
    #[arg(long, help_heading = "Model options")]
    pub epochs: Option<usize>,
    /// Model option: initial learning rate.
    #[arg(long, help_heading = "Model options")]
    pub learning_rate: Option<f32>,
    /// Model option: seed of the training order (to see how much figures vary with it).
    #[arg(long, help_heading = "Model options")]
    pub seed: Option<u64>,
    /// Model option: at least this many example updates in training (small catalogues make
    /// more passes).
    #[arg(long, help_heading = "Model options")]
    pub min_updates: Option<usize>,
    /// Model option: L2 penalty per example.
    #[arg(long, help_heading = "Model options")]
    pub l2: Option<f32>,
    /// Model option: drop terms seen in fewer training texts.
    #[arg(long, help_heading = "Model options")]
    pub min_df: Option<u32>,
    /// Model option: longest character n-gram (0 turns character features off).
    #[arg(long, help_heading = "Model options")]
    pub max_char_ngram: Option<usize>,
    /// Model option: shortest character n-gram.
    #[arg(long, help_heading = "Model options")]
    pub min_char_ngram: Option<usize>,
    /// Model option: longest word n-gram.
    #[arg(long, help_heading = "Model options")]
    pub max_word_ngram: Option<usize>,
    /// Model option: weight of word features against character features.
    #[arg(long, help_heading = "Model options")]
    pub word_weight: Option<f32>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let TrainingData {
        examples: training,
        settings: base_settings,
        detector,
    } = read_training(&args)?;
    let test = to_training(read_jsonl(&args.test)?, &args.oos_label);
    let val = match &args.val {
        Some(path) => Some(to_training(read_jsonl(path)?, &args.oos_label)),
        None => None,
    };
    let (options, settings) = configure_model(&args, base_settings)?;
    let (embedder, vectors) = embed_splits(
        options.model,
        &settings,
        detector.as_ref(),
        !args.json,
        &training,
        val.as_deref(),
        &test,
    )?
    .map_or((None, None), |(embedder, vectors)| {
        (Some(embedder), Some(vectors))
    });
    let embeddings = embedder
        .as_deref()
        .zip(vectors)
        .map(|(embedder, (train, val, test))| EvalEmbeddings {
            train,
            val,
            test,
            embedder,
        });
    let (report, classifier) = evaluate_with_bars(
        &training,
        val.as_deref(),
        &test,
        &options,
        embeddings.as_ref(),
    )?;
    if let Some(path) = &args.dump_scores {
        dump_scores(path, &classifier, val.as_deref().unwrap_or(&[]), &test)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// What `--catalogue` or `--train` gives to train on.
struct TrainingData {
    examples: Vec<Labelled>,
    /// The catalogue's decision settings, or the defaults for a JSONL file.
    settings: ClassifierSettings,
    /// With a catalogue: the detector of its languages.
    detector: Option<LanguageDetector>,
}

/// Reads the training examples; a catalogue also brings its decision settings and languages,
/// so the figures are those of the classifier the server would build from it.
fn read_training(args: &EvalArgs) -> anyhow::Result<TrainingData> {
    match (&args.catalogue, &args.train) {
        (Some(dir), _) => {
            let catalogue = super::load_catalogue(dir)?;
            let detector = Some(LanguageDetector::from_catalogue(&catalogue));
            let examples = catalogue
                .training_examples()
                .into_iter()
                .map(|(t, l)| (t.to_string(), l.map(str::to_string)))
                .collect();
            Ok(TrainingData {
                examples,
                settings: catalogue.settings.classifier,
                detector,
            })
        }
        (None, Some(file)) => Ok(TrainingData {
            examples: to_training(read_jsonl(file)?, &args.oos_label),
            settings: ClassifierSettings::default(),
            detector: None,
        }),
        (None, None) => bail!("give --catalogue DIR or --train FILE.jsonl to train on"),
    }
}

/// Settles the model from the flags over the configuration file, so that `eval` measures
/// the model `serve` would run unless told otherwise; refuses `--dump-scores` for the kinds
/// whose logits it cannot write.
fn configure_model(
    args: &EvalArgs,
    base_settings: ClassifierSettings,
) -> anyhow::Result<(EvalOptions, ModelSettings)> {
    let configured = args.config.load()?.classifier;
    let model_dir = args
        .model_dir
        .clone()
        .unwrap_or(configured.model_dir.clone());
    let embedding_weight = args.embedding_weight.unwrap_or(configured.embedding_weight);
    let (kind, why) = choose_kind(args.model, &model_dir)?;
    if !args.json {
        eprintln!("model: {} ({why})", kind.as_str());
    }
    if args.dump_scores.is_some() && kind != ModelKind::Lexical {
        bail!("--dump-scores writes the lexical model's logits: add --model lexical");
    }
    let options = EvalOptions {
        features: feature_settings(args),
        training: train_settings(args),
        base: base_settings,
        threshold: args.threshold,
        folds: args.folds,
        model: kind,
        embedding_weight,
    };
    let settings = ModelSettings {
        model: Some(kind),
        model_dir,
        embedding_weight,
        ..configured
    };
    Ok((options, settings))
}

/// Each split's sentence embeddings: the train, val and test vectors, in that order.
type SplitVectors = (Vec<Vec<f32>>, Option<Vec<Vec<f32>>>, Vec<Vec<f32>>);
/// The embedding model and what it made of each split.
type EmbeddedSplits = (Arc<dyn Embedder>, SplitVectors);

/// Embeds every split once, up front and through the on-disk cache, so evaluation (which
/// trains a model per fold) never waits on the embedding model. `None` for the lexical kind.
fn embed_splits(
    kind: ModelKind,
    settings: &ModelSettings,
    detector: Option<&LanguageDetector>,
    show_bars: bool,
    training: &[Labelled],
    val: Option<&[Labelled]>,
    test: &[Labelled],
) -> anyhow::Result<Option<EmbeddedSplits>> {
    Ok(match load_embedder(kind, settings)? {
        None => None,
        Some(mut cache) => {
            let train_vectors = embed_rows(&mut cache, training, "embedding train", show_bars)?;
            let val_vectors = match val {
                Some(rows) => Some(gate(
                    detector,
                    settings,
                    rows,
                    embed_rows(&mut cache, rows, "embedding val", show_bars)?,
                )),
                None => None,
            };
            let test_vectors = gate(
                detector,
                settings,
                test,
                embed_rows(&mut cache, test, "embedding test", show_bars)?,
            );
            Some((
                cache.embedder().clone(),
                (train_vectors, val_vectors, test_vectors),
            ))
        }
    })
}

/// Embeds `rows` through the cache, with a progress bar when `show_bar`: a cold cache takes
/// minutes on a large data set.
fn embed_rows(
    cache: &mut EmbeddingCache,
    rows: &[Labelled],
    stage: &'static str,
    show_bar: bool,
) -> Result<Vec<Vec<f32>>, EmbeddingError> {
    let texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    let bar = show_bar.then(|| progress_bar(texts.len() as u64, stage));
    let result = cache.embed_all(&texts, &mut |done, _| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result.map(|(vectors, _)| vectors)
}

/// With a catalogue, questions are treated as the server treats them: only those in a
/// language the embedding model knows are embedded (an empty vector means "words only").
fn gate(
    detector: Option<&LanguageDetector>,
    settings: &ModelSettings,
    rows: &[Labelled],
    vectors: Vec<Vec<f32>>,
) -> Vec<Vec<f32>> {
    match detector {
        Some(detector) => rows
            .iter()
            .zip(vectors)
            .map(|((text, _), vector)| {
                if settings
                    .embedding_languages
                    .contains(&detector.detect(text))
                {
                    vector
                } else {
                    Vec::new()
                }
            })
            .collect(),
        None => vectors,
    }
}

/// Runs the evaluation with a progress bar per stage, since training, cross-validation and
/// scoring each take a while on a large data set.
fn evaluate_with_bars(
    training: &[Labelled],
    val: Option<&[Labelled]>,
    test: &[Labelled],
    options: &EvalOptions,
    embeddings: Option<&EvalEmbeddings<'_>>,
) -> Result<(EvalReport, Classifier), EvalError> {
    let mut bar: Option<ProgressBar> = None;
    evaluate(
        training,
        val,
        test,
        options,
        embeddings,
        &mut |event| match event {
            Progress::Started { stage, total } => bar = Some(progress_bar(total, stage)),
            Progress::Advanced { position, message } => {
                if let Some(bar) = &bar {
                    bar.set_position(position);
                    if let Some(message) = message {
                        bar.set_message(message);
                    }
                }
            }
            Progress::Finished => {
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
            }
        },
    )
}

fn dump_scores(
    path: &std::path::Path,
    classifier: &Classifier,
    val: &[(String, Option<String>)],
    test: &[(String, Option<String>)],
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let truth_index = |t: &Option<String>| match t {
        Some(t) => classifier
            .intents()
            .iter()
            .position(|i| i == t)
            .map_or(-2, |i| i as i64),
        None => -1,
    };
    for (split, rows) in [("val", val), ("test", test)] {
        for (text, truth) in rows {
            let line = serde_json::json!({
                "split": split,
                "truth": truth_index(truth),
                "logits": classifier.logits(text),
            });
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

fn to_training(lines: Vec<LabelledText>, oos_label: &str) -> Vec<(String, Option<String>)> {
    lines
        .into_iter()
        .map(|l| {
            let label = (l.intent != oos_label).then_some(l.intent);
            (l.text, label)
        })
        .collect()
}

fn feature_settings(args: &EvalArgs) -> FeatureSettings {
    let mut settings = FeatureSettings::default();
    if let Some(min_df) = args.min_df {
        settings.min_df = min_df;
    }
    if let Some(max) = args.max_char_ngram {
        settings.char_ngrams.1 = max;
    }
    if let Some(min) = args.min_char_ngram {
        settings.char_ngrams.0 = min;
    }
    if let Some(max) = args.max_word_ngram {
        settings.max_word_ngram = max;
    }
    if let Some(weight) = args.word_weight {
        settings.word_weight = weight;
    }
    settings
}

fn train_settings(args: &EvalArgs) -> TrainSettings {
    let mut settings = TrainSettings::default();
    if args.one_vs_rest {
        settings.loss = crate::nlu::linear::Loss::OneVsRest;
    }
    if let Some(epochs) = args.epochs {
        settings.epochs = epochs;
    }
    if let Some(rate) = args.learning_rate {
        settings.learning_rate = rate;
    }
    if let Some(seed) = args.seed {
        settings.seed = seed;
    }
    if let Some(l2) = args.l2 {
        settings.l2 = l2;
    }
    if let Some(updates) = args.min_updates {
        settings.min_updates = updates;
    }
    settings
}

fn progress_bar(length: u64, label: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>16} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label);
    bar
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"))
}

fn render_text(r: &EvalReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trained on {} examples ({} intents, {} features) in {:.2} s; tested on {} examples",
        r.train_examples, r.intents, r.features, r.train_seconds, r.test_examples
    );
    let _ = writeln!(
        out,
        "threshold          {:.3} ({})",
        r.threshold, r.threshold_source
    );
    if let Some(t) = &r.tuned {
        let _ = writeln!(
            out,
            "tuned settings     threshold {:.3}, ambiguity_margin {:.3} (for the catalogue's settings.classifier)",
            t.threshold, t.ambiguity_margin
        );
    }
    let _ = writeln!(out, "accuracy           {:.4}", r.accuracy);
    let _ = writeln!(
        out,
        "in-scope accuracy  {:.4} (argmax, no threshold: {:.4})",
        r.in_scope_accuracy, r.in_scope_accuracy_argmax
    );
    let _ = writeln!(out, "oos recall         {}", optional(r.oos_recall));
    let _ = writeln!(out, "oos precision      {}", optional(r.oos_precision));
    let _ = writeln!(out, "macro-F1           {:.4}", r.macro_f1);
    let _ = writeln!(out, "ECE                {:.4}", r.ece);
    let _ = writeln!(
        out,
        "latency            p50 {:.1} µs, p99 {:.1} µs (single query, in-process)",
        r.latency_us_p50, r.latency_us_p99
    );
    let _ = writeln!(
        out,
        "\nper intent:        precision  recall      f1  support"
    );
    for m in &r.per_intent {
        let _ = writeln!(
            out,
            "  {:<30} {:>6.3} {:>7.3} {:>7.3} {:>8}",
            m.intent, m.precision, m.recall, m.f1, m.support
        );
    }
    if !r.confusions.is_empty() {
        let _ = writeln!(out, "\nmost frequent confusions (truth -> predicted):");
        for c in &r.confusions {
            let _ = writeln!(out, "  {:>4}  {} -> {}", c.count, c.truth, c.predicted);
        }
    }
    out
}
