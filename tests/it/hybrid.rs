//! The hybrid classifier (sentence embeddings + words) in the running server and on the
//! shipped catalogue's held-out questions, against the lexical model.
//!
//! Needs the model folder (`models/fetch`; CI fetches it). Without it each test is skipped
//! visibly (tests/it/support/skip.rs); under `CI` that fails.

use crate::support;

use std::path::{Path, PathBuf};

use serde_json::json;
use support::{TestApp, sqlite_url, test_settings};

use referral_desk::catalogue::{Catalogue, Lang};
use referral_desk::config::ModelSettings;
use referral_desk::nlu::dataset::read_jsonl;
use referral_desk::nlu::model::{build_for_catalogue, model_present};
use referral_desk::nlu::{LanguageDetector, ModelKind};

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("REFERRAL_DESK_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"));
    if model_present(&dir) {
        Some(dir)
    } else {
        support::skip::skip(
            "no model",
            &format!(
                "no sentence-embedding model in {}; run models/fetch",
                dir.display()
            ),
        );
        None
    }
}

async fn shipped_catalogue_app(dir: &Path, kind: ModelKind, model: &Path) -> TestApp {
    let mut settings = test_settings(&sqlite_url(dir));
    settings.catalogue.dir = PathBuf::from("intents");
    settings.classifier.model = Some(kind);
    settings.classifier.model_dir = model.to_path_buf();
    settings.classifier.embedding_cache = Some(dir.join("embeddings"));
    TestApp::spawn(settings).await
}

#[tokio::test]
async fn the_hybrid_server_routes_paraphrases_the_lexical_one_sends_to_the_desk() {
    let Some(model) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lexical = shipped_catalogue_app(dir.path(), ModelKind::Lexical, &model).await;
    let hybrid_dir = tempfile::tempdir().unwrap();
    let hybrid = shipped_catalogue_app(hybrid_dir.path(), ModelKind::Hybrid, &model).await;
    // no word of these is in the catalogue's it_support / course examples
    for (text, intent) in [
        ("my screen stays black", "it_support"),
        ("I want to get better at presenting", "course_offer"),
    ] {
        let before = lexical
            .ask_json(json!({"text": text, "session": "s1"}))
            .await;
        assert_ne!(before["decision"], "routed", "lexical: {text}: {before}");
        let after = hybrid
            .ask_json(json!({"text": text, "session": "s1"}))
            .await;
        assert_eq!(after["decision"], "routed", "hybrid: {text}: {after}");
        assert_eq!(after["intent"], intent, "hybrid: {text}: {after}");
    }
    // the metric of embedding time is exposed
    let metrics = hybrid.metrics().await;
    assert!(
        metrics.contains("referral_desk_embed_seconds_count 2"),
        "{metrics}"
    );
    lexical.stop().await;
    hybrid.stop().await;
}

#[tokio::test]
async fn directory_lookups_find_people_by_meaning_not_only_by_shared_words() {
    let Some(model) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let app = shipped_catalogue_app(dir.path(), ModelKind::Hybrid, &model).await;
    // Dirk Hofman: "Company social worker: personal and work-related problems, workload..."
    let reply = app
        .ask_json(json!({"text": "who knows about feeling overwhelmed at work?", "session": "s2"}))
        .await;
    assert_eq!(reply["decision"], "directory", "{reply}");
    let names: Vec<&str> = reply["specialists"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"Dirk Hofman"), "{reply}");
    // nothing in the directory is about gardening: the desk says so instead of guessing
    let reply = app
        .ask_json(json!({"text": "who knows about gardening?", "session": "s3"}))
        .await;
    assert_eq!(
        reply["specialists"].as_array().map_or(0, Vec::len),
        0,
        "{reply}"
    );
    app.stop().await;
}

/// Accuracy on one language's held-out questions, with the catalogue's own thresholds (what
/// the server uses) and the server's rule: only questions in the embedding model's
/// languages are embedded.
fn held_out_accuracy(kind: ModelKind, model: &Path, lang: Lang) -> (f64, usize) {
    let catalogue = Catalogue::load(Path::new("intents")).unwrap();
    let settings = ModelSettings {
        model: Some(kind),
        model_dir: model.to_path_buf(),
        embedding_cache: None,
        ..ModelSettings::default()
    };
    let built = build_for_catalogue(&catalogue, &settings, None).unwrap();
    let detector = LanguageDetector::from_catalogue(&catalogue);
    let rows: Vec<_> = read_jsonl(Path::new("tests/data/heldout.jsonl"))
        .unwrap()
        .into_iter()
        .filter(|r| detector.detect(&r.text) == lang)
        .collect();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let vectors = built
        .embedder
        .as_ref()
        .map(|embedder| embedder.embed_batch(&texts).unwrap());
    let mut right = 0;
    for (i, row) in rows.iter().enumerate() {
        let embedding = vectors
            .as_ref()
            .filter(|_| built.embedding_languages.contains(&lang))
            .map(|v| v[i].as_slice());
        let prediction = built.classifier.predict_with(&row.text, embedding);
        let truth = (row.intent != "oos").then_some(row.intent.as_str());
        let predicted = match prediction.decision {
            referral_desk::nlu::Decision::OutOfScope => None,
            _ => prediction.intent.as_deref(),
        };
        right += usize::from(predicted == truth);
    }
    (right as f64 / rows.len() as f64, rows.len())
}

#[test]
fn on_held_out_questions_the_hybrid_is_better_in_english_and_no_worse_in_dutch() {
    let Some(model) = model_dir() else { return };
    let (nl_lexical, nl) = held_out_accuracy(ModelKind::Lexical, &model, Lang::Nl);
    let (nl_hybrid, _) = held_out_accuracy(ModelKind::Hybrid, &model, Lang::Nl);
    let (en_lexical, en) = held_out_accuracy(ModelKind::Lexical, &model, Lang::En);
    let (en_hybrid, _) = held_out_accuracy(ModelKind::Hybrid, &model, Lang::En);
    eprintln!(
        "held-out accuracy: Dutch ({nl}) lexical {nl_lexical:.3}, hybrid {nl_hybrid:.3}; \
         English ({en}) lexical {en_lexical:.3}, hybrid {en_hybrid:.3}"
    );
    assert!(nl > 40 && en > 40, "both languages are represented");
    assert!(nl_hybrid >= nl_lexical, "Dutch: {nl_hybrid} < {nl_lexical}");
    assert!(
        en_hybrid >= en_lexical + 0.03,
        "English: {en_hybrid} vs {en_lexical}"
    );
}

/// The hybrid model embeds every question, which must not hold Slack's acknowledgement: the
/// event is acknowledged from the inbox, and a worker answers it; one reply, once.
#[tokio::test]
async fn a_slack_question_waits_in_the_inbox_and_a_worker_answers_it() {
    use support::slack::{dm, ok_slack, post_event, posted, with_slack};
    let Some(model) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fake_slack = ok_slack().await;
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.catalogue.dir = PathBuf::from("intents");
    settings.classifier.model = Some(ModelKind::Hybrid);
    settings.classifier.model_dir = model.to_path_buf();
    settings.classifier.embedding_cache = Some(dir.path().join("embeddings"));
    let app = TestApp::spawn(with_slack(settings, &fake_slack)).await;
    let event = dm("EvHYBRID", "my screen stays black");
    assert_eq!(post_event(&app, &event).await.status(), 200);
    assert!(
        support::eventually(std::time::Duration::from_secs(20), || async {
            posted(&fake_slack).await.len() == 1
        })
        .await,
        "answered by a worker"
    );
    let logged = app.store().conversations(0, 10).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].record.intent.as_deref(), Some("it_support"));
    let delivery = app
        .store()
        .delivery(&format!("slack:{}:EvHYBRID", logged[0].record.asker_key))
        .await
        .unwrap()
        .expect("the inbox row");
    assert_eq!(delivery.status, "done");
    assert_eq!(delivery.conversation_id, Some(logged[0].id));
    // a retried delivery is not answered twice
    assert_eq!(post_event(&app, &event).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(posted(&fake_slack).await.len(), 1);
    app.stop().await;
}
