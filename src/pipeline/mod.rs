//! The channel-independent pipeline: a [`Question`] in, a [`Reply`] out, and a log row for HRD.
//!
//! ```text
//! accept:  pseudonymise the asker, look up the department, write the inbox item (unique
//!          delivery id)                                   -> the channel may acknowledge now
//! process: claim the item, embed and classify (or search the directory), ask the store
//!          whose turn it is among the intent's available specialists, build the reply with
//!          `routing::route`, redact, log + finish the item in one transaction, and queue the
//!          reply in the outbox for channels that send asynchronously
//! ```
//! The asynchronous steps are here; where a question goes is decided only by
//! [`crate::routing::route`], which `classify` and the demo generator call too.
//! Workers claim items with a lease, so an item acknowledged but not finished before a crash is
//! processed after the restart, and a repeated delivery (the same delivery id from the same
//! asker) is acknowledged and ignored. The web channel runs the same steps inline and returns
//! the reply in its HTTP response; with the lexical model, Slack and Teams questions are also
//! answered inline, before the acknowledgement ([`Pipeline::accept`]): inbox row, log row and
//! queued reply in one transaction, the reply sent from the outbox as usual.
//!
//! Follow-ups on an answer (feedback, a "did you mean" pick, a handoff to a specialist) go
//! through [`follow_up`], which takes them only from the person who asked, for every channel.
//!
//! Nothing here knows Slack or Teams; only `privacy` sees raw user ids. Where to reply (a
//! channel's conversation and context, which carry platform ids) is kept only until the reply
//! is in the outbox, and the outbox payload only until the reply is sent or given up.

pub mod follow_up;
pub mod outbox;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

pub use crate::routing::reply::{
    DeskCard, IntentOption, KnowledgeLink, Phrases, QUOTE_MARK, Reply, ReplyKind, SpecialistCard,
    SpecialistRole,
};
pub use follow_up::{Chosen, FollowUpError, FollowedUp};

use crate::catalogue::{Catalogue, Lang};
use crate::config::{ConversationLogSettings, SameSite};
use crate::nlu::embedding::EmbeddingWorker;
use crate::nlu::{Classifier, LanguageDetector};
use crate::privacy::{Pseudonymiser, SessionSigner, redact};
use crate::routing::{self, Decided, Directory, directory_topic};
use crate::store::{
    Answered, Completion, ConversationRecord, ConversationStore, Enqueued, InboxItem, NewInboxItem,
    StoreError,
};
use crate::telemetry::Metrics;

/// Longest text the classifier looks at; longer questions are cut (never refused).
pub const MAX_CLASSIFIED_CHARS: usize = 2_000;
/// How long a worker may hold an item before another may take it over.
pub const LEASE: Duration = Duration::from_secs(60);

/// Most inbox items one worker claims and processes at once.
const WORKER_BATCH: i64 = 32;
/// Attempts before an item that keeps failing is parked as `failed`.
pub const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("cannot read the departments file {path}: {detail}")]
    Departments { path: String, detail: String },
}

impl PipelineError {
    /// The database is unreachable or cannot write just now (see
    /// [`StoreError::is_unavailable`]): answer 503 and let the sender try again.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, PipelineError::Store(error) if error.is_unavailable())
    }
}

/// Who asked, as the channel knows them. Held in memory only: the pipeline stores and logs a
/// pseudonymous key instead.
#[derive(Clone, PartialEq, Eq)]
pub struct AskerRef {
    /// Channel plus workspace or tenant, so equal ids in two workspaces stay apart.
    pub namespace: String,
    pub raw_id: String,
}

impl std::fmt::Debug for AskerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AskerRef({}, [redacted])", self.namespace)
    }
}

/// An incoming question, the one type every channel adapter produces.
#[derive(Debug, Clone)]
pub struct Question {
    pub channel: String,
    /// Where to reply, in the channel's terms.
    pub conversation: String,
    /// Unique per delivery within the channel (retries repeat it).
    pub delivery_id: String,
    pub asker: AskerRef,
    pub text: String,
    pub received_at: DateTime<Utc>,
    /// Channel reply context, kept with the item until the reply is sent.
    pub context: serde_json::Value,
}

/// The channel-specific part of a reply that is sent later (Slack, Teams).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingReply {
    pub conversation: String,
    pub context: serde_json::Value,
    pub reply: Reply,
    /// The question as asked (cut to [`HANDOFF_QUESTION_CHARS`]), for a handoff button that
    /// passes it on when the asker clicks; gone from the outbox once the reply is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}

/// Longest question a handoff passes on.
pub const HANDOFF_QUESTION_CHARS: usize = 1_000;

/// The parts of the pipeline that do not change while it runs.
#[derive(Debug)]
pub struct Pipeline {
    pub catalogue: Arc<Catalogue>,
    classifier: Classifier,
    /// The sentence-embedding model on its own thread, when the classifier or the directory
    /// uses embeddings.
    embedder: Option<EmbeddingWorker>,
    /// Languages the embedding model understands (see `classifier.embedding_languages`).
    embedding_languages: Vec<Lang>,
    languages: LanguageDetector,
    directory: Directory,
    store: Arc<dyn ConversationStore>,
    pseudonymiser: Pseudonymiser,
    /// Signs the web chat's sessions, with a key derived from the pseudonymiser's.
    sessions: SessionSigner,
    departments: HashMap<String, String>,
    log: ConversationLogSettings,
    metrics: Arc<Metrics>,
    /// Wakes workers when an item arrives.
    arrivals: Notify,
    /// Channels whose replies go through the outbox (not answered inline).
    outbox_channels: Vec<String>,
    /// Wakes the outbox dispatcher when a reply is queued.
    replies: Arc<Notify>,
}

/// Milliseconds since the epoch, the store's time unit.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

impl Pipeline {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        catalogue: Arc<Catalogue>,
        classifier: Classifier,
        store: Arc<dyn ConversationStore>,
        pseudonymiser: Pseudonymiser,
        departments: HashMap<String, String>,
        log: ConversationLogSettings,
        metrics: Arc<Metrics>,
        outbox_channels: Vec<String>,
    ) -> Pipeline {
        Pipeline {
            languages: LanguageDetector::from_catalogue(&catalogue),
            directory: Directory::new(&catalogue),
            catalogue,
            classifier,
            embedder: None,
            embedding_languages: Vec::new(),
            store,
            sessions: SessionSigner::derive(&pseudonymiser),
            pseudonymiser,
            departments,
            log,
            metrics,
            arrivals: Notify::new(),
            outbox_channels,
            replies: Arc::new(Notify::new()),
        }
    }

    /// How the web chat's session cookie is sent: `secure` from `server.secure_cookies`,
    /// `same_site` from `web.cookie_same_site` (the defaults are `Secure` and `Strict`).
    pub fn with_session_cookies(mut self, secure: bool, same_site: SameSite) -> Pipeline {
        self.sessions = self.sessions.with_cookie_policy(secure, same_site);
        self
    }

    /// Gives the pipeline the embedding model the classifier was trained with, and the
    /// embeddings of the specialists' expertise (catalogue order) for directory lookups.
    pub fn with_embeddings(
        mut self,
        worker: EmbeddingWorker,
        specialist_vectors: Option<Vec<Vec<f32>>>,
        languages: Vec<Lang>,
    ) -> Pipeline {
        self.embedding_languages = languages;
        if let Some(vectors) = specialist_vectors {
            self.directory = self.directory.with_embeddings(vectors);
        }
        self.embedder = Some(worker);
        self
    }

    /// The embedding of `text`, or `None` without a model, for a language the model does not
    /// know, or when embedding fails: the question is then answered on its words alone,
    /// never dropped.
    async fn embed(&self, text: &str, lang: Lang) -> Option<Vec<f32>> {
        let worker = self
            .embedder
            .as_ref()
            .filter(|_| self.embedding_languages.contains(&lang))?;
        let started = Instant::now();
        let result = worker.embed(vec![text.to_string()]).await;
        self.metrics
            .embed_seconds
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(mut vectors) => vectors.pop(),
            Err(err) => {
                tracing::warn!(error = %err, "embedding a question failed; classifying on its words");
                None
            }
        }
    }

    /// Which classifier model answers, for `bench` and logs to name what was measured.
    pub fn model(&self) -> crate::nlu::ModelKind {
        self.classifier.kind()
    }

    /// Notified whenever a reply is queued in the outbox, for the dispatcher
    /// ([`outbox::OutboxWorker::wake`]): replies go out at once, without polling.
    pub fn replies_queued(&self) -> Arc<Notify> {
        self.replies.clone()
    }

    pub fn store(&self) -> &Arc<dyn ConversationStore> {
        &self.store
    }

    pub fn log_settings(&self) -> &ConversationLogSettings {
        &self.log
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Issues and checks the web chat's sessions (the identity of an asker without a
    /// platform account).
    pub fn sessions(&self) -> &SessionSigner {
        &self.sessions
    }

    /// The pseudonymous key the store knows `asker` by.
    fn asker_key(&self, asker: &AskerRef) -> String {
        self.pseudonymiser
            .pseudonymise(&asker.namespace, &asker.raw_id)
    }

    /// Records the question durably; after this the channel may acknowledge it. With the
    /// lexical model, which classifies in microseconds, a question for a channel that replies
    /// later is answered on arrival ([`Pipeline::answer_on_arrival`]); otherwise (the hybrid
    /// model embeds every question, which must not hold the acknowledgement) it waits in the
    /// inbox for a worker.
    pub async fn accept(&self, question: &Question) -> Result<Accepted, PipelineError> {
        let item = self.inbox_item(question)?;
        if !self.model().uses_embeddings() && self.outbox_channels.contains(&item.channel) {
            return self.answer_on_arrival(item).await;
        }
        self.enqueue(&item).await
    }

    async fn enqueue(&self, item: &NewInboxItem) -> Result<Accepted, PipelineError> {
        match self.store.enqueue(item, None).await? {
            Enqueued::New(_) => {
                self.arrivals.notify_one();
                Ok(Accepted::Queued)
            }
            Enqueued::Duplicate(_) => Ok(Accepted::Repeated),
        }
    }

    /// Answers a question before it is acknowledged: the delivery (done), its log row and the
    /// queued reply are written in one transaction, so the inbox round trip (claim, then
    /// finish) is skipped and the reply goes out at once; a repeated delivery writes nothing
    /// and sends nothing. When answering fails for a reason other than storage (which the
    /// channel answers with 503, so the platform delivers again), the question waits in the
    /// inbox for a worker instead, as with the hybrid model.
    async fn answer_on_arrival(&self, item: NewInboxItem) -> Result<Accepted, PipelineError> {
        let answer = match self.answer(&item, true).await {
            Ok(answer) => answer,
            Err(err) if err.is_unavailable() => return Err(err),
            Err(err) => {
                tracing::warn!(error = %err, "answering on arrival failed; the question waits in the inbox");
                return self.enqueue(&item).await;
            }
        };
        let reply = answer.reply();
        let outgoing = serde_json::to_value(OutgoingReply {
            question: Some(item.text.chars().take(HANDOFF_QUESTION_CHARS).collect()),
            conversation: item.conversation.clone(),
            context: item.context.clone(),
            reply: reply.clone(),
        })
        .map_err(StoreError::from)?;
        let stored = serde_json::to_value(&answer.stored).map_err(StoreError::from)?;
        match self
            .store
            .log_answered(&item, &answer.record, &stored, Some(&outgoing), now_ms())
            .await?
        {
            Answered::Logged(id) => {
                self.count_decision(&reply);
                self.replies.notify_one();
                Ok(Accepted::Answered(id))
            }
            Answered::Duplicate(_) => Ok(Accepted::Repeated),
        }
    }

    #[tracing::instrument(skip_all, fields(channel = %question.channel, delivery_id = %question.delivery_id))]
    fn inbox_item(&self, question: &Question) -> Result<NewInboxItem, PipelineError> {
        if question.text.trim().is_empty() {
            return Err(PipelineError::EmptyQuestion);
        }
        let asker_key = self.asker_key(&question.asker);
        Ok(NewInboxItem {
            // A delivery is repeated only by the same asker: the same id from someone else
            // (a web client's `message_id`, which the client chooses) is a question of their
            // own, never an answer to someone else's.
            delivery_id: format!(
                "{}:{}:{}",
                question.channel, asker_key, question.delivery_id
            ),
            channel: question.channel.clone(),
            conversation: question.conversation.clone(),
            asker_key,
            department: self.departments.get(&question.asker.raw_id).cloned(),
            text: question.text.clone(),
            context: question.context.clone(),
            received_ms: question.received_at.timestamp_millis(),
        })
    }

    /// Accepts and answers at once (web chat): same inbox and log path as the workers. A
    /// repeated delivery (same id, same asker) gets the stored reply, not a second answer; the
    /// stored reply keeps no quote of the question, the repeat quotes its own words.
    pub async fn ask(&self, question: &Question) -> Result<Reply, PipelineError> {
        let item = self.inbox_item(question)?;
        let answer = self.answer(&item, true).await?;
        let stored = serde_json::to_value(&answer.stored).map_err(StoreError::from)?;
        match self
            .store
            .log_answered(&item, &answer.record, &stored, None, now_ms())
            .await?
        {
            Answered::Logged(id) => {
                let mut reply = answer.reply();
                self.count_decision(&reply);
                reply.conversation_id = Some(id);
                Ok(reply)
            }
            Answered::Duplicate(delivery) => match (delivery.reply, delivery.conversation_id) {
                (Some(stored_reply), Some(id)) => {
                    let stored_reply: Reply =
                        serde_json::from_value(stored_reply).map_err(StoreError::from)?;
                    let mut reply = stored_reply.quoting(answer.quote.as_deref());
                    reply.conversation_id = Some(id);
                    Ok(reply)
                }
                // Still in the inbox, or past retention (the stored reply is purged with the
                // rest): answer, log nothing twice.
                _ => Ok(answer.reply()),
            },
        }
    }

    /// Classifies, routes, logs and finishes one claimed item.
    #[tracing::instrument(skip_all, fields(inbox_id = item.id, channel = %item.channel))]
    pub async fn process(&self, item: InboxItem) -> Result<Reply, PipelineError> {
        let new = NewInboxItem {
            delivery_id: item.delivery_id.clone(),
            channel: item.channel.clone(),
            conversation: item.conversation.clone(),
            asker_key: item.asker_key.clone(),
            department: item.department.clone(),
            text: item.text.clone(),
            context: item.context.clone(),
            received_ms: item.received_ms,
        };
        let answer = match self.answer(&new, true).await {
            Ok(done) => done,
            Err(err) => {
                self.store
                    .fail(item.id, &err.to_string(), MAX_ATTEMPTS)
                    .await?;
                return Err(err);
            }
        };
        let mut reply = answer.reply();
        let outgoing = self
            .outbox_channels
            .contains(&item.channel)
            .then(|| OutgoingReply {
                conversation: item.conversation.clone(),
                context: item.context.clone(),
                reply: reply.clone(),
                question: Some(item.text.chars().take(HANDOFF_QUESTION_CHARS).collect()),
            });
        let outgoing = outgoing
            .map(serde_json::to_value)
            .transpose()
            .map_err(StoreError::from)?;
        let stored = serde_json::to_value(&answer.stored).map_err(StoreError::from)?;
        let completion = self
            .store
            .complete(
                item.id,
                &answer.record,
                &stored,
                outgoing.as_ref(),
                now_ms(),
            )
            .await?;
        if let Completion::Logged(_) = completion {
            self.count_decision(&reply);
        }
        if outgoing.is_some() {
            self.replies.notify_one();
        }
        reply.conversation_id = Some(completion.conversation_id());
        Ok(reply)
    }

    fn count_decision(&self, reply: &Reply) {
        self.metrics
            .decisions
            .with_label_values(&[
                reply.intent.as_deref().unwrap_or("-"),
                reply.decision.as_str(),
            ])
            .inc();
    }

    /// Classifies and routes one question: the reply and its (redacted) log row, not yet
    /// written.
    async fn answer(
        &self,
        item: &NewInboxItem,
        record_referral: bool,
    ) -> Result<Answer, PipelineError> {
        let started = Instant::now();
        let text: String = item.text.chars().take(MAX_CLASSIFIED_CHARS).collect();
        let choice = item.context.get("choice").and_then(|c| c.as_str());
        // `/whoknows TOPIC`: the whole text is a directory topic
        let topic = if item.context["directory"].as_bool() == Some(true) {
            Some(text.trim().to_string())
        } else {
            None
        };
        // a follow-up (e.g. an option picked) keeps the language of the conversation
        let lang = match item.context["language"].as_str() {
            Some("nl") => Lang::Nl,
            Some("en") => Lang::En,
            _ => self.languages.detect(&text),
        };
        let (reply, quote) = self
            .compose(&text, choice, topic, lang, record_referral)
            .await?;
        let record = ConversationRecord {
            received_ms: item.received_ms,
            channel: item.channel.clone(),
            asker_key: item.asker_key.clone(),
            department: item.department.clone(),
            language: lang.code().to_string(),
            question: self.log.store_text.then(|| redact(&item.text)),
            intent: reply.intent.clone(),
            confidence: reply.confidence,
            decision: reply.decision.as_str().to_string(),
            route: reply.route_ids(),
            latency_us: started.elapsed().as_micros() as i64,
        };
        Ok(Answer {
            stored: reply,
            quote,
            record,
        })
    }

    /// Builds the reply for `text`: for `choice` the chosen intent, for a directory `topic` (or
    /// a "who knows about X" text) the directory; with `record_referral` the chosen
    /// specialist's referral is recorded (load balancing). The asynchronous steps are here
    /// (embedding, classifying, asking the store whose turn it is); where the question goes is
    /// decided by [`routing::route`]. Where the reply quotes the asker's words it says
    /// [`QUOTE_MARK`] instead; the words are returned beside it.
    async fn compose(
        &self,
        text: &str,
        choice: Option<&str>,
        topic: Option<String>,
        lang: Lang,
        record_referral: bool,
    ) -> Result<(Reply, Option<String>), PipelineError> {
        let catalogue = &self.catalogue;
        let today = today();
        if choice.is_none()
            && let Some(topic) = topic.or_else(|| directory_topic(text))
        {
            let topic_embedding = if self.directory.uses_embeddings() {
                self.embed(&topic, lang).await
            } else {
                None
            };
            let matches =
                self.directory
                    .search_with(catalogue, &topic, today, 3, topic_embedding.as_deref());
            let decided = Decided::Directory { matches: &matches };
            let reply = routing::route(catalogue, &decided, lang, today, None);
            return Ok((reply, Some(topic)));
        }
        let classify_started = Instant::now();
        let embedding = if self.classifier.needs_embedding() {
            self.embed(text, lang).await
        } else {
            None
        };
        let prediction = self.classifier.predict_with(text, embedding.as_deref());
        self.metrics
            .classify_seconds
            .observe(classify_started.elapsed().as_secs_f64());
        let decided = Decided::Classified {
            prediction: &prediction,
            choice,
        };
        let candidates = routing::specialists_to_rotate(catalogue, &decided, today);
        let in_turn = if record_referral && !candidates.is_empty() {
            Some(self.store.assign_specialist(&candidates, now_ms()).await?)
        } else {
            None
        };
        let reply = routing::route(catalogue, &decided, lang, today, in_turn.as_deref());
        Ok((reply, None))
    }

    /// Processes inbox items until `stop` turns true; an item in hand is finished first.
    pub async fn run_worker(self: Arc<Self>, worker: usize, mut stop: watch::Receiver<bool>) {
        let span = tracing::info_span!("inbox_worker", worker);
        async move {
            loop {
                if *stop.borrow() {
                    break;
                }
                let now = now_ms();
                let claimed = self
                    .store
                    .claim_batch(now, now + LEASE.as_millis() as i64, WORKER_BATCH)
                    .await;
                match claimed {
                    Ok(items) if !items.is_empty() => {
                        // processed together, so their log writes share transactions (SQLite
                        // group commit); each item's steps stay in order
                        let done =
                            futures::future::join_all(items.into_iter().map(|item| self.process(item)))
                                .await;
                        for err in done.into_iter().filter_map(Result::err) {
                            tracing::warn!(error = %err, "processing an inbox item failed; it will be retried");
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "claiming inbox items failed"),
                }
                tokio::select! {
                    _ = self.arrivals.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Deletes what retention covers (question texts, stored replies, anything kept about an
    /// item that was never answered or sent) for questions older than the retention period.
    pub async fn apply_retention(&self) -> Result<u64, PipelineError> {
        let cutoff = now_ms() - i64::from(self.log.retention_days) * 86_400_000;
        Ok(self.store.purge_question_texts(cutoff).await?)
    }
}

/// What became of an accepted question; in every case it is stored and may be acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Answered on arrival: logged as this conversation, its reply queued.
    Answered(i64),
    /// In the inbox, for a worker.
    Queued,
    /// A delivery seen before: nothing new stored, nothing sent again.
    Repeated,
}

/// A question answered but not yet written.
struct Answer {
    /// The reply as stored for repeated deliveries: quotes of the question as [`QUOTE_MARK`].
    stored: Reply,
    /// The asker's words the reply quotes, for this answer only.
    quote: Option<String>,
    /// The (redacted) log row.
    record: ConversationRecord,
}

impl Answer {
    /// The reply as the asker sees it.
    fn reply(&self) -> Reply {
        self.stored.clone().quoting(self.quote.as_deref())
    }
}

/// Reads `user_id,department` lines (a header line `user_id,department` is allowed).
pub fn read_departments(path: &Path) -> Result<HashMap<String, String>, PipelineError> {
    let error = |detail: String| PipelineError::Departments {
        path: path.display().to_string(),
        detail,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| error(e.to_string()))?;
    let mut map = HashMap::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| error(e.to_string()))?;
        let (Some(user), Some(department)) = (record.get(0), record.get(1)) else {
            return Err(error(format!(
                "line {}: expected `user_id,department`",
                line + 1
            )));
        };
        if line == 0 && user.eq_ignore_ascii_case("user_id") {
            continue;
        }
        map.insert(user.to_string(), department.to_string());
    }
    Ok(map)
}
