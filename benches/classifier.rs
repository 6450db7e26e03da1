//! Speed of the lexical classifier: training (start-up cost of `serve` and every CLI command)
//! and single-query classification (the latency every chat question pays).
//!
//! `cargo bench --bench classifier`. The CLINC150 cases read `../shared/eval/data/clinc150`
//! (or `$REFERRAL_DESK_EVAL_DATA/clinc150`) and are skipped with a message when it is absent.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use referral_desk::catalogue::{Catalogue, ClassifierSettings};
use referral_desk::nlu::dataset::read_jsonl;
use referral_desk::nlu::{Classifier, FeatureSettings, TrainSettings};

const QUERIES: [&str; 6] = [
    "wie kan me helpen met Power BI?",
    "hoe vraag ik opleidingsbudget aan?",
    "my laptop won't start after the update",
    "is there a mentoring programme for new managers",
    "wat voor weer wordt het morgen",
    "ik wil een heisessie organiseren met mijn team, wie helpt daarbij",
];

fn eval_data_dir() -> PathBuf {
    std::env::var_os("REFERRAL_DESK_EVAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/eval/data"))
}

fn shipped_catalogue(c: &mut Criterion) {
    let catalogue = Catalogue::load("intents").expect("the shipped catalogue loads");
    let mut group = c.benchmark_group("train");
    group.sample_size(20);
    group.bench_function("shipped_catalogue", |b| {
        b.iter(|| Classifier::from_catalogue(black_box(&catalogue)).unwrap())
    });
    group.finish();
    let classifier = Classifier::from_catalogue(&catalogue).unwrap();
    let mut i = 0;
    c.bench_function("classify/shipped_catalogue", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES.len();
            classifier.predict(black_box(QUERIES[i]))
        })
    });
}

fn clinc150(c: &mut Criterion) {
    let dir = eval_data_dir().join("clinc150");
    let (Ok(train), Ok(test)) = (
        read_jsonl(&dir.join("train.jsonl")),
        read_jsonl(&dir.join("test.jsonl")),
    ) else {
        eprintln!(
            "skipping CLINC150 benchmarks: no data at {} (set REFERRAL_DESK_EVAL_DATA)",
            dir.display()
        );
        return;
    };
    let examples: Vec<(&str, Option<&str>)> = train
        .iter()
        .map(|e| {
            (
                e.text.as_str(),
                (e.intent != "oos").then_some(e.intent.as_str()),
            )
        })
        .collect();
    let train_once = || {
        Classifier::train(
            &examples,
            FeatureSettings::default(),
            &TrainSettings::default(),
            ClassifierSettings::default(),
            |_, _| {},
        )
        .unwrap()
    };
    let mut group = c.benchmark_group("clinc150");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("train", |b| b.iter(train_once));
    group.finish();
    let classifier = train_once();
    let mut i = 0;
    c.bench_function("clinc150/classify", |b| {
        b.iter(|| {
            i = (i + 1) % test.len();
            classifier.predict(black_box(&test[i].text))
        })
    });
}

criterion_group!(benches, shipped_catalogue, clinc150);
criterion_main!(benches);
