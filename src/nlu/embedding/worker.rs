//! [`EmbeddingWorker`]: the async face of an [`Embedder`].
//!
//! A forward pass is milliseconds of CPU work, which must not run on the async runtime's
//! threads (it would stall every other request on them). One dedicated OS thread owns the
//! embedder; callers send their texts over a channel and await the vectors on a oneshot.
//! Requests that arrive while the thread is busy are drained together (up to
//! [`MAX_BATCH_TEXTS`] texts) into one forward pass, which costs far less than one pass each:
//! under a burst of questions the desk gets faster per question, not slower.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use tokio::sync::oneshot;

use super::{Embedder, EmbeddingError};

/// Texts gathered into one forward pass at most (a single larger request still goes whole).
pub const MAX_BATCH_TEXTS: usize = 64;

type Reply = Result<Vec<Vec<f32>>, EmbeddingError>;

struct Job {
    texts: Vec<String>,
    reply: oneshot::Sender<Reply>,
}

/// A cloneable handle to the embedding thread. The thread stops when the last handle is
/// dropped.
#[derive(Clone)]
pub struct EmbeddingWorker {
    jobs: Sender<Job>,
    dimension: usize,
    fingerprint: Arc<str>,
}

impl std::fmt::Debug for EmbeddingWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingWorker")
            .field("dimension", &self.dimension)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl EmbeddingWorker {
    /// Starts the thread that owns `embedder`. Should the OS refuse a thread, the error is
    /// logged and every call answers [`EmbeddingError::WorkerGone`].
    pub fn spawn(embedder: Arc<dyn Embedder>) -> Self {
        let (jobs, queue) = mpsc::channel();
        let dimension = embedder.dimension();
        let fingerprint: Arc<str> = Arc::from(embedder.fingerprint());
        if let Err(err) = std::thread::Builder::new()
            .name("embedding-worker".into())
            .spawn(move || run(embedder.as_ref(), &queue))
        {
            tracing::error!(error = %err, "could not start the embedding worker thread");
        }
        Self {
            jobs,
            dimension,
            fingerprint,
        }
    }

    /// L2-normalised vectors for `texts`, in order. Never blocks the runtime: the work runs on
    /// the worker thread, possibly in one pass with other callers' texts.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { texts, reply })
            .map_err(|_| EmbeddingError::WorkerGone)?;
        answer.await.map_err(|_| EmbeddingError::WorkerGone)?
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// The embedder's weights fingerprint, for cache keys.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// The worker thread: wait for a job, take whatever else is already queued (up to the batch
/// limit), embed it all in one call and hand each caller its share.
fn run(embedder: &dyn Embedder, queue: &Receiver<Job>) {
    let mut pending: Option<Job> = None;
    loop {
        let first = match pending.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return, // every handle dropped
            },
        };
        let mut count = first.texts.len();
        let mut batch = vec![first];
        while count < MAX_BATCH_TEXTS {
            match queue.try_recv() {
                Ok(job) if count + job.texts.len() <= MAX_BATCH_TEXTS => {
                    count += job.texts.len();
                    batch.push(job);
                }
                Ok(job) => {
                    // Too big to join this batch: it starts the next one.
                    pending = Some(job);
                    break;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let span = tracing::debug_span!("embedding_batch", requests = batch.len(), texts = count);
        let _entered = span.enter();
        serve(embedder, batch);
    }
}

fn serve(embedder: &dyn Embedder, batch: Vec<Job>) {
    if batch.len() == 1 {
        for job in batch {
            let result = embed_guarded(embedder, &job.texts);
            let _ = job.reply.send(result); // the caller may have given up: fine
        }
        return;
    }
    let texts: Vec<String> = batch
        .iter()
        .flat_map(|job| job.texts.iter().cloned())
        .collect();
    match embed_guarded(embedder, &texts) {
        Ok(vectors) if vectors.len() == texts.len() => {
            let mut vectors = vectors.into_iter();
            for job in batch {
                let share: Vec<Vec<f32>> = vectors.by_ref().take(job.texts.len()).collect();
                let _ = job.reply.send(Ok(share));
            }
        }
        // One bad request must not fail the others batched with it: redo them one by one so
        // each caller gets its own result.
        _ => {
            for job in batch {
                let result = embed_guarded(embedder, &job.texts);
                let _ = job.reply.send(result);
            }
        }
    }
}

/// `embed_batch`, with a panic turned into an error so the worker thread survives it.
fn embed_guarded(embedder: &dyn Embedder, texts: &[String]) -> Reply {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| embedder.embed_batch(&refs)))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(EmbeddingError::Inference(format!(
                "the embedder panicked: {what}"
            )))
        });
    match result {
        Ok(vectors) if vectors.len() != texts.len() => Err(EmbeddingError::Inference(format!(
            "the embedder returned {} vectors for {} texts",
            vectors.len(),
            texts.len()
        ))),
        other => other,
    }
}
