//! [`Application`]: everything `serve` starts, from [`Settings`] (catalogue, classifier,
//! store, privacy keys, channels, workers), and its orderly stop.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant as Deadline;

use super::connections::{ConnectionLimits, serve};
use super::{AppState, HttpPolicy, ReportAccess, StartError, metrics_router, router};
use crate::catalogue::Catalogue;
use crate::channels::slack::{SlackChannel, SlackClient, SlackSender, SlackVerifier};
use crate::channels::teams::auth::{AuthConfig, BotAuthenticator};
use crate::channels::teams::connector::ConnectorClient;
use crate::channels::teams::{self, TeamsBot, TeamsChannel, TeamsSender, WebhookVerifier};
use crate::channels::web::WebPolicy;
use crate::config::{ServerSettings, Settings};
use crate::nlu::embedding::EmbeddingWorker;
use crate::nlu::model::{BuiltModel, build_for_catalogue};
use crate::pipeline::outbox::{Backoff, OutboxWorker, ReplySender};
use crate::pipeline::{Pipeline, now_ms, read_departments};
use crate::privacy::Pseudonymiser;
use crate::store::{self};
use crate::telemetry::Metrics;

/// A built application: listening, with its workers running.
pub struct Application {
    listener: TcpListener,
    /// `None` when `metrics.enabled` is false.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    /// Tells replicas sharing the database that this process holds its leases; stopped
    /// after the workers, when the process retires them.
    heartbeat: JoinHandle<()>,
    grace: Duration,
    limits: ConnectionLimits,
}

impl Application {
    /// Everything `serve` runs, from `settings`, in the order that fails fastest: the
    /// catalogue and model, the database, the keys, the channels; then the listeners (a
    /// taken port stops the start before any worker runs) and the workers.
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        // Refused before anything slow: reports switched on for nobody is a setup mistake that
        // would otherwise only show as 401s on the dashboard.
        if settings.analytics.enabled && settings.analytics.tokens.is_empty() {
            return Err(StartError::ReportsWithoutReaders);
        }
        let (catalogue, built) = train(&settings).await?;
        let database = settings.database.describe();
        let store = open_store(&settings, &catalogue).await?;
        let metrics = Arc::new(Metrics::new());
        let slack = build_slack_client(&settings, metrics.clone());
        let teams = teams_channel(&settings, metrics.clone())?;
        let senders = reply_senders(slack.as_ref(), teams.as_deref());
        let pipeline = Arc::new(build_pipeline(
            &settings,
            catalogue,
            built,
            store.clone(),
            metrics.clone(),
            senders.keys().cloned().collect(),
        )?);
        let web = Arc::new(build_web_policy(&settings)?);
        // Listen before any worker starts, so a taken port stops the start cleanly.
        let (listener, metrics_listener) = bind_listeners(&settings).await?;
        let heartbeat = tokio::spawn(beat(store.clone()));
        let (stop, workers) = spawn_workers(&settings, &pipeline, store, senders, metrics);
        let slack = build_slack_channel(&settings, slack);
        log_ready(
            &database,
            &listener,
            metrics_listener.as_ref(),
            settings.server.bind,
        );
        let server = &settings.server;
        Ok(Application {
            listener,
            metrics_listener,
            state: AppState {
                pipeline,
                slack,
                teams,
                reports: Arc::new(
                    ReportAccess::new(settings.analytics.clone())
                        .with_secure_cookies(server.secure_cookies),
                ),
                web,
                http: HttpPolicy::from_settings(&settings),
            },
            stop,
            workers,
            heartbeat,
            grace: Duration::from_secs(server.shutdown_grace_seconds),
            limits: build_connection_limits(server),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `GET /metrics` is served; `None` when `metrics.enabled` is false.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until SIGTERM or SIGINT.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests and workers
    /// finish and returns, at the latest `server.shutdown_grace_seconds` after the signal:
    /// connections still open then are closed, whatever a client is still sending, and
    /// workers are stopped (their inbox items are processed at the next start).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            listener,
            metrics_listener,
            state,
            stop,
            workers,
            heartbeat,
            grace,
            limits,
        } = self;
        let store = state.pipeline.store().clone();
        let (stopping, stopping_rx) = watch::channel(None);
        let public = serve(listener, router(state.clone()), limits, stopping_rx.clone());
        let metrics = async move {
            if let Some(listener) = metrics_listener {
                serve(listener, metrics_router(state), limits, stopping_rx).await;
            }
        };
        let stop_and_wait = async move {
            shutdown.await;
            let deadline = Deadline::now() + grace;
            tracing::info!(
                grace_seconds = grace.as_secs(),
                "shutting down: finishing in-flight work"
            );
            let _ = stopping.send(Some(deadline));
            let _ = stop.send(true);
            let aborts: Vec<_> = workers.iter().map(JoinHandle::abort_handle).collect();
            let all = futures::future::join_all(workers);
            if tokio::time::timeout_at(deadline, all).await.is_err() {
                tracing::warn!(
                    "workers did not finish within the grace period; their items will be processed at the next start"
                );
                for worker in aborts {
                    worker.abort();
                }
            }
            // what this process still holds is free for the other replicas at once
            heartbeat.abort();
            if let Err(err) = store.retire().await {
                tracing::warn!(error = %err, "could not tell the database this replica stopped; its leases free up in a few seconds");
            }
            // the servers are told through `stopping`, which lives until here
            drop(stopping);
        };
        tokio::join!(public, metrics, stop_and_wait);
        Ok(())
    }
}

/// The Slack client when Slack is switched on: it sends the replies (see [`reply_senders`]),
/// so it exists before the pipeline; the channel that verifies requests comes later.
fn build_slack_client(settings: &Settings, metrics: Arc<Metrics>) -> Option<Arc<SlackClient>> {
    SlackClient::new(&settings.slack, metrics)
        .filter(|_| settings.slack.is_enabled())
        .map(Arc::new)
}

/// The Slack routes need the signing secret as well as the client: without either, Slack
/// stays off.
fn build_slack_channel(
    settings: &Settings,
    client: Option<Arc<SlackClient>>,
) -> Option<Arc<SlackChannel>> {
    match (client, &settings.slack.signing_secret) {
        (Some(client), Some(secret)) => Some(Arc::new(SlackChannel {
            verifier: SlackVerifier::new(secret.expose_secret()),
            team_id: settings.slack.team_id.clone(),
            client,
        })),
        _ => None,
    }
}

/// A web setting the policy cannot use fails the start with its key, like any other setting.
fn build_web_policy(settings: &Settings) -> Result<WebPolicy, StartError> {
    WebPolicy::from_settings(settings).map_err(|e| StartError::Setting {
        key: e.key,
        problem: e.problem,
    })
}

/// The public listener and, when `metrics.enabled`, the metrics one: bound before any worker
/// starts, so a taken port stops the start cleanly.
async fn bind_listeners(
    settings: &Settings,
) -> Result<(TcpListener, Option<TcpListener>), StartError> {
    let listener = bind(
        settings.server.bind,
        "server.bind",
        "REFERRAL_DESK__SERVER__BIND",
        "127.0.0.1:8081",
    )
    .await?;
    let metrics_listener = if settings.metrics.enabled {
        Some(
            bind(
                settings.metrics.bind,
                "metrics.bind",
                "REFERRAL_DESK__METRICS__BIND",
                "127.0.0.1:9092",
            )
            .await?,
        )
    } else {
        None
    };
    Ok((listener, metrics_listener))
}

/// Operators (and scripts waiting for the start) look for this line: the database and the
/// addresses actually bound (port 0 picks one).
fn log_ready(
    database: &str,
    listener: &TcpListener,
    metrics_listener: Option<&TcpListener>,
    configured: SocketAddr,
) {
    let metrics_address = metrics_listener
        .and_then(|l| l.local_addr().ok())
        .map_or_else(|| "off".to_string(), |a| a.to_string());
    tracing::info!(
        database = %database,
        address = %listener.local_addr().map_or(configured, |a| a),
        metrics = %metrics_address,
        "referral desk ready"
    );
}

/// The connection-level limits from `[server]`; at least one connection, whatever is set.
fn build_connection_limits(server: &ServerSettings) -> ConnectionLimits {
    ConnectionLimits {
        header_read: Duration::from_secs(server.header_read_timeout_seconds),
        idle: Duration::from_secs(server.idle_timeout_seconds),
        max_connections: server.max_connections.max(1),
    }
}

/// Loads the catalogue and trains its classifier (loading the embedding model and embedding
/// the catalogue for the kinds that use one), off the async runtime.
async fn train(settings: &Settings) -> Result<(Arc<Catalogue>, BuiltModel), StartError> {
    let catalogue = Arc::new(Catalogue::load(&settings.catalogue.dir)?);
    for warning in &catalogue.warnings {
        tracing::warn!("{warning}");
    }
    let started = Instant::now();
    // model loading, embedding the catalogue and training are blocking work
    let built = {
        let catalogue = catalogue.clone();
        let model = settings.classifier.clone();
        tokio::task::spawn_blocking(move || build_for_catalogue(&catalogue, &model, None))
            .await
            .map_err(|join| {
                StartError::Internal(format!("training the classifier failed: {join}"))
            })??
    };
    tracing::info!(
        intents = catalogue.intents.len(),
        model = built.kind.as_str(),
        catalogue_embedding_ms = built.embedded.map(|r| (r.seconds * 1000.0) as u64),
        millis = started.elapsed().as_millis() as u64,
        "classifier trained"
    );
    Ok((catalogue, built))
}

/// Connects (and migrates) the database, registers the catalogue's specialists for the
/// rotation and, on SQLite (one process per file), frees what a previous run held.
async fn open_store(
    settings: &Settings,
    catalogue: &Catalogue,
) -> Result<Arc<dyn store::ConversationStore>, StartError> {
    let database = settings.database.describe();
    let failed = |source| StartError::Store {
        database: database.clone(),
        source,
    };
    let store = store::connect(&settings.database).await.map_err(failed)?;
    let ids: Vec<String> = catalogue.specialists.iter().map(|s| s.id.clone()).collect();
    store.register_specialists(&ids).await.map_err(failed)?;
    if settings.database.is_sqlite() {
        let released = store.release_leases().await.map_err(failed)?;
        if released > 0 {
            tracing::info!(
                released,
                "unfinished inbox items and replies from the previous run will be processed"
            );
        }
    }
    Ok(store)
}

/// Who sends replies on each configured channel (for the outbox dispatcher).
fn reply_senders(
    slack: Option<&Arc<SlackClient>>,
    teams: Option<&TeamsChannel>,
) -> HashMap<String, Arc<dyn ReplySender>> {
    let mut senders: HashMap<String, Arc<dyn ReplySender>> = HashMap::new();
    if let Some(client) = slack {
        senders.insert(
            "slack".into(),
            Arc::new(SlackSender {
                client: client.clone(),
            }),
        );
    }
    if let Some(bot) = teams.and_then(|t| t.bot.as_ref()) {
        senders.insert(
            teams::CHANNEL.into(),
            Arc::new(TeamsSender {
                client: bot.connector.clone(),
            }),
        );
    }
    senders
}

/// The pipeline with its keys (pseudonyms), departments, sessions and, for the embedding
/// kinds, the embedding worker thread.
fn build_pipeline(
    settings: &Settings,
    catalogue: Arc<Catalogue>,
    built: BuiltModel,
    store: Arc<dyn store::ConversationStore>,
    metrics: Arc<Metrics>,
    channels: Vec<String>,
) -> Result<Pipeline, StartError> {
    let pseudonymiser = match (
        &settings.privacy.pseudonym_key,
        settings.database.sqlite_dir(),
    ) {
        (Some(secret), _) => Pseudonymiser::from_secret(secret)?,
        (None, Some(dir)) => Pseudonymiser::load_or_create(&dir.join("pseudonym.key"))?,
        (None, None) if settings.database.is_sqlite() => Pseudonymiser::generate(),
        (None, None) => return Err(StartError::MissingKey),
    };
    let departments = match &settings.privacy.departments_csv {
        Some(path) => read_departments(path)?,
        None => HashMap::new(),
    };
    let mut pipeline = Pipeline::new(
        catalogue,
        built.classifier,
        store,
        pseudonymiser,
        departments,
        settings.log.clone(),
        metrics,
        channels,
    )
    .with_session_cookies(
        settings.server.secure_cookies,
        settings.web.cookie_same_site,
    );
    if let Some(embedder) = built.embedder {
        pipeline = pipeline.with_embeddings(
            EmbeddingWorker::spawn(embedder),
            built.specialist_vectors,
            settings.classifier.embedding_languages.clone(),
        );
    }
    Ok(pipeline)
}

/// The outbox dispatcher (when a channel sends replies), the inbox workers and the daily
/// retention task, all stopped through the returned sender.
fn spawn_workers(
    settings: &Settings,
    pipeline: &Arc<Pipeline>,
    store: Arc<dyn store::ConversationStore>,
    senders: HashMap<String, Arc<dyn ReplySender>>,
    metrics: Arc<Metrics>,
) -> (watch::Sender<bool>, Vec<JoinHandle<()>>) {
    let (stop, stop_rx) = watch::channel(false);
    let mut workers = Vec::new();
    if !senders.is_empty() {
        let outbox = OutboxWorker {
            store,
            senders,
            metrics,
            backoff: Backoff {
                base: Duration::from_millis(settings.outbox.retry_base_ms),
                max: Duration::from_secs(settings.outbox.retry_max_seconds),
                max_attempts: settings.outbox.max_attempts,
            },
            // the clients give up after 10 s; a crashed replica's replies wait this long
            lease: Duration::from_secs(30),
            wake: pipeline.replies_queued(),
        };
        workers.push(tokio::spawn(outbox.run(stop_rx.clone())));
    }
    for worker in 0..settings.server.workers {
        workers.push(tokio::spawn(
            pipeline.clone().run_worker(worker, stop_rx.clone()),
        ));
    }
    let reports = settings
        .analytics
        .enabled
        .then(|| crate::analytics::ReportPolicy::from_settings(&settings.analytics));
    workers.push(tokio::spawn(retention_task(
        pipeline.clone(),
        reports,
        stop_rx,
    )));
    (stop, workers)
}

pub(super) async fn bind(
    address: SocketAddr,
    key: &'static str,
    env: &'static str,
    example: &'static str,
) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind {
            key,
            env,
            example,
            address,
            source,
        })
}

/// The Teams bot and/or outgoing webhook, as configured.
fn teams_channel(
    settings: &Settings,
    metrics: Arc<Metrics>,
) -> Result<Option<Arc<TeamsChannel>>, StartError> {
    let config = &settings.teams;
    let bot = match (
        ConnectorClient::new(config, metrics).map_err(StartError::Teams)?,
        &config.app_id,
    ) {
        (Some(connector), Some(app_id)) => {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| StartError::Teams(e.to_string()))?;
            Some(TeamsBot {
                auth: BotAuthenticator::new(
                    AuthConfig::bot_framework(app_id.clone(), config.openid_metadata_url.clone()),
                    http,
                ),
                connector: Arc::new(connector),
                tenant_id: config.tenant_id.clone(),
                retention_days: settings
                    .log
                    .store_text
                    .then_some(settings.log.retention_days),
            })
        }
        _ => None,
    };
    let webhook = config
        .webhook_hmac_key
        .as_ref()
        .map(|key| WebhookVerifier::new(key.expose_secret()))
        .transpose()
        .map_err(StartError::Teams)?;
    if bot.is_some() {
        tracing::info!(
            app_type = ?config.app_type,
            "Microsoft Teams bot enabled at /teams/messages"
        );
    }
    if webhook.is_some() {
        tracing::info!("Microsoft Teams outgoing webhook enabled at /teams/webhook");
    }
    Ok((bot.is_some() || webhook.is_some()).then(|| Arc::new(TeamsChannel { bot, webhook })))
}

/// Writes this process's heartbeat every [`store::HEARTBEAT`] until aborted.
async fn beat(store: Arc<dyn store::ConversationStore>) {
    let mut every = tokio::time::interval(store::HEARTBEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(err) = store.heartbeat(now_ms()).await {
            tracing::warn!(error = %err, "writing this replica's heartbeat failed");
        }
    }
}

/// Daily: deletes what retention allows no longer, and (with reports switched on) publishes
/// the demand tables of months that are due, so a month is frozen while the texts behind its
/// emerging topics are still kept, whether or not anyone opens a report.
async fn retention_task(
    pipeline: Arc<Pipeline>,
    reports: Option<crate::analytics::ReportPolicy>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match pipeline.apply_retention().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "question texts past retention deleted"),
            Err(err) => tracing::warn!(error = %err, "retention run failed"),
        }
        if let Some(policy) = &reports {
            let today = chrono::Utc::now().date_naive();
            match crate::analytics::release::publish_due(
                pipeline.store().as_ref(),
                &pipeline.catalogue,
                policy,
                today,
            )
            .await
            {
                Ok(0) => {}
                Ok(published) => tracing::info!(published, "months of demand figures published"),
                Err(err) => tracing::warn!(error = %err, "publishing demand figures failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(24 * 3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
