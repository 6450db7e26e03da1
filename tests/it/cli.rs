//! The `referral-desk` command line as HRD and engineers use it: classify, check and eval.

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

const FIXTURE: &str = "tests/fixtures/catalogue-small";

fn run_json(args: &[&str]) -> Vec<Value> {
    let output = cargo_bin_cmd!("referral-desk").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn classify_shows_the_route_in_the_question_language() {
    cargo_bin_cmd!("referral-desk")
        .args([
            "classify",
            "--catalogue",
            FIXTURE,
            "hoeveel opleidingsbudget heb ik nog over?",
        ])
        .assert()
        .success()
        .stdout(contains("[nl]"))
        .stdout(contains("decision: routed   intent: training_budget"))
        .stdout(contains(
            "knowledge: Regeling opleidingsbudget <https://intranet.example.org/budget>",
        ))
        // the route's only specialist is away: not offered, and classify says why
        .stdout(contains("not offered: Bert Budget [away until 2099-01-01]"))
        .stdout(contains("specialist:").not());
    cargo_bin_cmd!("referral-desk")
        .args([
            "classify",
            "--catalogue",
            FIXTURE,
            "how much training budget is left?",
        ])
        .assert()
        .success()
        .stdout(contains("knowledge: Training budget policy"));
}

/// `classify`, `check`, `eval` and `embed` read `--config` as `serve` does (they used to load
/// the defaults whatever the flag said): the catalogue folder, the model and the model folder
/// come from the file unless a flag overrides them.
#[test]
fn every_command_reads_the_settings_file_given_with_config() {
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("desk.toml");
    let no_model = temp.path().join("no-model");
    fs::write(
        &config,
        format!(
            "[catalogue]\ndir = \"{FIXTURE}\"\n[classifier]\nmodel = \"hybrid\"\nmodel_dir = \"{}\"\n",
            no_model.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    // the file's model folder is used, and named in the refusal
    for command in [
        vec![
            "classify",
            "--config",
            config,
            "who can help with Power BI?",
        ],
        vec!["check", "--config", config],
    ] {
        cargo_bin_cmd!("referral-desk")
            .args(&command)
            .assert()
            .failure()
            .stderr(contains(
                "classifier.model = \"hybrid\" needs a sentence-embedding model",
            ))
            .stderr(contains(no_model.to_str().unwrap()));
    }
    cargo_bin_cmd!("referral-desk")
        .args(["embed", "--config", config, "a text"])
        .assert()
        .failure()
        .stderr(contains(format!(
            "no embedding model at {}",
            no_model.display()
        )));
    // the file's catalogue (the small fixture, not intents/), with the model given by flag
    cargo_bin_cmd!("referral-desk")
        .args(["classify", "--config", config, "--model", "lexical"])
        .arg("hoeveel opleidingsbudget heb ik nog over?")
        .assert()
        .success()
        .stdout(contains("not offered: Bert Budget"));
    cargo_bin_cmd!("referral-desk")
        .args(["check", "--config", config, "--model", "lexical"])
        .assert()
        .success()
        .stdout(contains(format!("{FIXTURE}: ok")));
    let missing = temp.path().join("missing.toml");
    cargo_bin_cmd!("referral-desk")
        .args(["eval", "--config", missing.to_str().unwrap()])
        .args(["--catalogue", FIXTURE, "--test", "tests/data/heldout.jsonl"])
        .assert()
        .failure()
        .stderr(contains("cannot read the configuration file"))
        .stderr(contains("missing.toml"));
}

#[test]
fn classify_json_gives_one_object_per_question() {
    let rows = run_json(&[
        "classify",
        "--catalogue",
        FIXTURE,
        "--json",
        "wie kan me helpen met power bi?",
        "what's the weather like tomorrow in Paris",
    ]);
    assert_eq!(rows.len(), 2);
    let routed = &rows[0];
    assert_eq!(routed["decision"], "routed");
    assert_eq!(routed["intent"], "data_skills");
    assert_eq!(routed["language"], "nl");
    assert_eq!(routed["alternatives"].as_array().unwrap().len(), 3);
    // the reply the server would give (catalogue order: the rotation is in its database)
    assert_eq!(routed["reply"]["specialists"][0]["name"], "Anna Data");
    assert_eq!(routed["reply"]["specialists"][0]["role"], "primary");
    assert_eq!(routed["reply"]["decision"], "routed");
    let fallback = &rows[1];
    assert_eq!(fallback["decision"], "out_of_scope");
    assert_eq!(fallback["intent"], Value::Null);
    assert_eq!(fallback["language"], "en");
    assert_eq!(fallback["reply"]["desk"]["id"], "hrd_desk");
    assert_eq!(fallback["reply"]["desk"]["name"], "HRD desk");
}

#[test]
fn classify_without_text_explains_usage() {
    cargo_bin_cmd!("referral-desk")
        .args(["classify", "--catalogue", FIXTURE])
        .assert()
        .failure()
        .stderr(contains("TEXT"));
}

#[test]
fn the_shipped_catalogue_is_the_default() {
    let rows = run_json(&["classify", "--json", "wie kan me helpen met Power BI?"]);
    assert_eq!(rows[0]["intent"], "data_skills");
    assert!(
        !rows[0]["reply"]["specialists"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

fn write_jsonl(path: &Path, rows: &[(&str, &str)]) {
    let text: String = rows
        .iter()
        .map(|(text, intent)| {
            format!(
                "{}\n",
                serde_json::json!({"text": text, "intent": intent, "id": 1})
            )
        })
        .collect();
    fs::write(path, text).unwrap();
}

fn small_benchmark(dir: &Path) {
    let mut train = Vec::new();
    for (intent, words) in [
        (
            "balance",
            ["balance", "how much money", "account total", "funds left"],
        ),
        (
            "transfer",
            ["transfer", "send money", "wire funds", "move money"],
        ),
        (
            "card_lost",
            ["lost card", "card stolen", "block my card", "missing card"],
        ),
    ] {
        for w in words {
            train.push((format!("{w} please"), intent));
            train.push((format!("can you tell me {w}"), intent));
            train.push((format!("i need {w} now"), intent));
        }
    }
    for oos in [
        "weather today",
        "tell a joke",
        "recipe for soup",
        "who won the match",
    ] {
        train.push((oos.to_string(), "oos"));
    }
    let train: Vec<(&str, &str)> = train.iter().map(|(t, i)| (t.as_str(), *i)).collect();
    write_jsonl(&dir.join("train.jsonl"), &train);
    write_jsonl(
        &dir.join("val.jsonl"),
        &[
            ("what is my balance", "balance"),
            ("send money to mum", "transfer"),
            ("my card was stolen", "card_lost"),
            ("joke please", "oos"),
            ("weather tomorrow", "oos"),
        ],
    );
    write_jsonl(
        &dir.join("test.jsonl"),
        &[
            ("how much money is in my account", "balance"),
            ("please wire funds to bob", "transfer"),
            ("i lost my card", "card_lost"),
            ("soup recipe", "oos"),
        ],
    );
}

/// `referral-desk eval` with `args`, where every `*.jsonl` argument names a file in `dir`.
fn eval_in(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut command = cargo_bin_cmd!("referral-desk");
    command.arg("eval");
    for arg in args {
        if arg.ends_with(".jsonl") {
            command.arg(dir.join(arg));
        } else {
            command.arg(arg);
        }
    }
    command
}

fn eval_json_in(dir: &Path, args: &[&str]) -> Value {
    let output = eval_in(dir, args).arg("--json").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn eval_json_reports_every_figure() {
    let temp = tempfile::tempdir().unwrap();
    small_benchmark(temp.path());
    let report = eval_json_in(
        temp.path(),
        &[
            "--train",
            "train.jsonl",
            "--val",
            "val.jsonl",
            "--test",
            "test.jsonl",
        ],
    );
    for key in [
        "accuracy",
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "macro_f1",
        "ece",
        "threshold",
        "train_seconds",
        "latency_us_p50",
        "latency_us_p99",
        "per_intent",
        "confusions",
    ] {
        assert!(report.get(key).is_some(), "missing {key} in {report}");
    }
    assert_eq!(report["test_examples"], 4);
    assert_eq!(report["intents"], 3);
    let source = report["threshold_source"].as_str().unwrap();
    assert!(source.contains("on --val"), "{source}");
    let labels: Vec<&str> = report["per_intent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["intent"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"oos") && labels.contains(&"balance"),
        "{labels:?}"
    );
    assert!(report["latency_us_p50"].as_f64().unwrap() > 0.0);
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!(
        (0.5..=1.0).contains(&accuracy),
        "a trivially easy set: {accuracy}"
    );
}

#[test]
fn eval_text_output_and_a_fixed_threshold() {
    let temp = tempfile::tempdir().unwrap();
    small_benchmark(temp.path());
    eval_in(
        temp.path(),
        &[
            "--train",
            "train.jsonl",
            "--test",
            "test.jsonl",
            "--threshold",
            "0.5",
        ],
    )
    .assert()
    .success()
    .stdout(contains("threshold          0.500 (given)"))
    .stdout(contains("in-scope accuracy"))
    .stdout(contains("per intent:"))
    .stdout(contains("latency            p50"));
}

#[test]
fn eval_without_val_cross_validates_on_the_training_data() {
    let temp = tempfile::tempdir().unwrap();
    small_benchmark(temp.path());
    let report = eval_json_in(
        temp.path(),
        &[
            "--train",
            "train.jsonl",
            "--test",
            "test.jsonl",
            "--folds",
            "3",
        ],
    );
    let source = report["threshold_source"].as_str().unwrap();
    assert!(source.contains("3-fold cross-validation"), "{source}");
    assert!(report["tuned"]["ambiguity_margin"].is_number());
}

#[test]
fn eval_on_the_catalogue_uses_its_examples() {
    let temp = tempfile::tempdir().unwrap();
    write_jsonl(
        &temp.path().join("test.jsonl"),
        &[
            ("mijn laptop doet het niet meer", "it_support"),
            ("weather in rome", "oos"),
        ],
    );
    let test = temp.path().join("test.jsonl");
    cargo_bin_cmd!("referral-desk")
        .args(["eval", "--catalogue", FIXTURE, "--test"])
        .arg(&test)
        .assert()
        .success()
        .stdout(contains("trained on 56 examples (4 intents"));
}

#[test]
fn eval_rejects_bad_input_with_a_clear_message() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    small_benchmark(dir);
    eval_in(
        dir,
        &[
            "--train",
            "train.jsonl",
            "--test",
            "test.jsonl",
            "--threshold",
            "2",
        ],
    )
    .assert()
    .failure()
    .stderr(contains(
        "expected `auto` or a number between 0 and 1, got `2`",
    ));
    eval_in(dir, &["--train", "missing.jsonl", "--test", "test.jsonl"])
        .assert()
        .failure()
        .stderr(contains("cannot read").and(contains("missing.jsonl")));
    fs::write(
        dir.join("bad.jsonl"),
        "{\"text\": \"a\", \"intent\": \"b\"}\nnot json\n",
    )
    .unwrap();
    eval_in(dir, &["--train", "train.jsonl", "--test", "bad.jsonl"])
        .assert()
        .failure()
        .stderr(contains("bad.jsonl:2: not a labelled example"));
    eval_in(dir, &["--test", "test.jsonl"])
        .assert()
        .failure()
        .stderr(contains("--train"));
}

/// A load figure means nothing without the model and database it was measured with (lexical
/// and hybrid differ about fivefold), so `bench` names both, in text and in JSON.
#[test]
fn bench_names_the_model_and_database_it_measured() {
    for endpoint in ["ask", "teams-webhook"] {
        let output = cargo_bin_cmd!("referral-desk")
            .args([
                "bench",
                "--endpoint",
                endpoint,
                "--requests",
                "40",
                "--concurrency",
                "4",
            ])
            .env("REFERRAL_DESK__CLASSIFIER__MODEL", "lexical")
            .env("REFERRAL_DESK__CATALOGUE__DIR", FIXTURE)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            said.contains("model: lexical; database: SQLite (a fresh temporary file)"),
            "{said}"
        );
        assert!(said.contains("40 requests (0 errors)"), "{said}");
    }
    let output = cargo_bin_cmd!("referral-desk")
        .args(["bench", "--requests", "20", "--concurrency", "2", "--json"])
        .env("REFERRAL_DESK__CLASSIFIER__MODEL", "lexical")
        .env("REFERRAL_DESK__CATALOGUE__DIR", FIXTURE)
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["model"], "lexical");
    assert_eq!(report["database"], "SQLite (a fresh temporary file)");
    assert_eq!(report["requests"], 20);
}
