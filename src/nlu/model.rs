//! Which intent model the desk runs, and building it for a catalogue: the one place that
//! decides between lexical, embedding and hybrid, loads the sentence-embedding model, embeds
//! the catalogue's examples (through the on-disk cache) and trains the classifier. `serve`,
//! `classify`, `check` and `eval` all come through here, so they cannot disagree.
//!
//! Default (no `classifier.model` set): hybrid when the model folder is complete, lexical
//! otherwise; one log line says which and why. Asking for `embedding` or `hybrid` without the
//! folder is an error at start-up, not a silent fallback.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::embedding::cache::{CacheReport, EmbeddingCache};
use super::embedding::{CandleEmbedder, Embedder, EmbeddingError};
use super::{
    Classifier, ClassifierError, EmbeddingFeatures, FeatureSettings, ModelKind, TrainSettings,
};
use crate::catalogue::{Catalogue, Lang};
use crate::config::ModelSettings;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "classifier.model = \"{kind}\" needs a sentence-embedding model, but {} holds none: \
         run `models/fetch`, set classifier.model_dir to a model folder, or use \
         classifier.model = \"lexical\"",
        dir.display()
    )]
    NoModel { kind: &'static str, dir: PathBuf },
    #[error(transparent)]
    Embedding(#[from] EmbeddingError),
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
}

/// Whether `dir` looks like a complete model folder (the loader checks the rest).
pub fn model_present(dir: &Path) -> bool {
    ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .all(|f| dir.join(f).is_file())
}

/// The kind to run and why, from the setting and what is on disk.
pub fn choose_kind(
    requested: Option<ModelKind>,
    dir: &Path,
) -> Result<(ModelKind, String), ModelError> {
    let present = model_present(dir);
    match requested {
        Some(ModelKind::Lexical) => Ok((ModelKind::Lexical, "classifier.model = lexical".into())),
        Some(kind) if present => Ok((kind, format!("classifier.model = {}", kind.as_str()))),
        Some(kind) => Err(ModelError::NoModel {
            kind: kind.as_str(),
            dir: dir.to_path_buf(),
        }),
        None if present => Ok((
            ModelKind::Hybrid,
            format!("a sentence-embedding model is in {}", dir.display()),
        )),
        None => Ok((
            ModelKind::Lexical,
            format!(
                "no sentence-embedding model in {} (run models/fetch for the hybrid model)",
                dir.display()
            ),
        )),
    }
}

/// Loads the embedder for `kind` (none for lexical), with its cache.
pub fn load_embedder(
    kind: ModelKind,
    settings: &ModelSettings,
) -> Result<Option<EmbeddingCache>, ModelError> {
    if !kind.uses_embeddings() {
        return Ok(None);
    }
    let started = Instant::now();
    let embedder: Arc<dyn Embedder> = Arc::new(CandleEmbedder::load(&settings.model_dir)?);
    let cache = EmbeddingCache::open(embedder, settings.embedding_cache.as_deref());
    tracing::info!(
        dir = %settings.model_dir.display(),
        millis = started.elapsed().as_millis() as u64,
        cached = cache.len(),
        "sentence-embedding model loaded"
    );
    Ok(Some(cache))
}

/// A classifier for the catalogue, and what it took.
pub struct BuiltModel {
    pub classifier: Classifier,
    /// The embedder the classifier needs at question time (for the embedding kinds).
    pub embedder: Option<Arc<dyn Embedder>>,
    pub kind: ModelKind,
    pub why: String,
    /// Embedding the catalogue's examples (and specialists' expertise), for the kinds that do.
    pub embedded: Option<CacheReport>,
    /// Specialists' expertise texts, embedded, in catalogue order (directory lookups).
    pub specialist_vectors: Option<Vec<Vec<f32>>>,
    /// Questions in these languages are embedded (`classifier.embedding_languages`).
    pub embedding_languages: Vec<Lang>,
}

/// Trains the catalogue's classifier as `settings` ask (`requested` overrides
/// `settings.model`, for `--model`). Blocking: model loading, embedding and training run here,
/// so call it before the runtime serves, or from `spawn_blocking`.
pub fn build_for_catalogue(
    catalogue: &Catalogue,
    settings: &ModelSettings,
    requested: Option<ModelKind>,
) -> Result<BuiltModel, ModelError> {
    let (kind, why) = choose_kind(requested.or(settings.model), &settings.model_dir)?;
    tracing::info!(model = kind.as_str(), why = %why, "classifier model chosen");
    let examples = catalogue.training_examples();
    let Some(mut cache) = load_embedder(kind, settings)? else {
        return Ok(BuiltModel {
            classifier: Classifier::from_catalogue(catalogue)?,
            embedder: None,
            kind,
            why,
            embedded: None,
            specialist_vectors: None,
            embedding_languages: Vec::new(),
        });
    };
    let profiles: Vec<String> = catalogue
        .specialists
        .iter()
        .map(crate::catalogue::Specialist::expertise_text)
        .collect();
    let mut texts: Vec<&str> = examples.iter().map(|(t, _)| *t).collect();
    texts.extend(profiles.iter().map(String::as_str));
    let (mut vectors, report) = cache.embed_all(&texts, &mut |_, _| {})?;
    let specialist_vectors = vectors.split_off(examples.len());
    tracing::info!(
        texts = report.texts,
        embedded = report.embedded,
        millis = (report.seconds * 1000.0) as u64,
        "catalogue embedded"
    );
    let classifier = Classifier::train_with(
        &examples,
        Some(EmbeddingFeatures {
            kind,
            weight: settings.embedding_weight,
            vectors: &vectors,
        }),
        FeatureSettings::default(),
        &TrainSettings::default(),
        catalogue.settings.classifier,
        |_, _| {},
    )?;
    Ok(BuiltModel {
        classifier,
        embedder: Some(cache.embedder().clone()),
        kind,
        why,
        embedded: Some(report),
        specialist_vectors: Some(specialist_vectors),
        embedding_languages: settings.embedding_languages.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_follows_the_model_folder_and_an_explicit_embedding_kind_needs_one() {
        let empty = tempfile::tempdir().unwrap();
        let (kind, why) = choose_kind(None, empty.path()).unwrap();
        assert_eq!(kind, ModelKind::Lexical);
        assert!(why.contains("models/fetch"), "{why}");
        let err = choose_kind(Some(ModelKind::Hybrid), empty.path()).unwrap_err();
        assert!(err.to_string().contains("models/fetch"), "{err}");
        assert_eq!(
            choose_kind(Some(ModelKind::Lexical), empty.path())
                .unwrap()
                .0,
            ModelKind::Lexical
        );

        let folder = tempfile::tempdir().unwrap();
        for file in ["config.json", "tokenizer.json", "model.safetensors"] {
            std::fs::write(folder.path().join(file), "{}").unwrap();
        }
        let (kind, why) = choose_kind(None, folder.path()).unwrap();
        assert_eq!(kind, ModelKind::Hybrid);
        assert!(why.contains("sentence-embedding model is in"), "{why}");
        assert_eq!(
            choose_kind(Some(ModelKind::Embedding), folder.path())
                .unwrap()
                .0,
            ModelKind::Embedding
        );
    }
}
