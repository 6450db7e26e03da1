//! `referral-desk serve`: builds the application from [`Settings`] (catalogue, classifier,
//! store, privacy keys, pipeline workers) and serves HTTP with axum.
//!
//! [`router`] takes the state, so tests can drive it with `oneshot`; [`Application::build`]
//! binds the configured address (port 0 in tests) and [`Application::run_until`] serves until
//! a shutdown signal, then stops accepting, lets in-flight work finish and leaves unfinished
//! inbox items for the next start.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::analytics::web::{self as reports, ReportAccess};
use crate::catalogue::{Catalogue, CatalogueError};
use crate::channels::slack::{self, SlackChannel, SlackClient, SlackSender, SlackVerifier};
use crate::channels::teams::auth::{AuthConfig, BotAuthenticator};
use crate::channels::teams::connector::ConnectorClient;
use crate::channels::teams::{self, TeamsBot, TeamsChannel, TeamsSender, WebhookVerifier};
use crate::channels::web;
use crate::config::Settings;
use crate::nlu::ClassifierError;
use crate::nlu::embedding::EmbeddingWorker;
use crate::nlu::model::{ModelError, build_for_catalogue};
use crate::pipeline::outbox::{Backoff, OutboxWorker, ReplySender};
use crate::pipeline::{Pipeline, PipelineError, now_ms, read_departments};
use crate::privacy::{PrivacyError, Pseudonymiser};
use crate::store::{self, StoreError};
use crate::telemetry::Metrics;

/// Why the application could not start; each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Catalogue(#[from] CatalogueError),
    #[error("the classifier cannot be trained: {0}")]
    Classifier(#[from] ClassifierError),
    #[error("the classifier model: {0}")]
    Model(#[from] ModelError),
    #[error("{0}")]
    Internal(String),
    #[error("the database ({database}) is not usable: {source}")]
    Store {
        database: String,
        source: StoreError,
    },
    #[error("pseudonymisation key: {0}")]
    Privacy(#[from] PrivacyError),
    #[error(
        "privacy.pseudonym_key must be set when the database is PostgreSQL, so that every replica computes the same pseudonymous keys\n  hint: set REFERRAL_DESK__PRIVACY__PSEUDONYM_KEY to 64 hex characters (e.g. `openssl rand -hex 32`)"
    )]
    MissingKey,
    #[error("{0}")]
    Departments(#[from] PipelineError),
    #[error("Microsoft Teams: {0}")]
    Teams(String),
    #[error(
        "cannot listen on {address}: {source}\n  hint: set server.bind (REFERRAL_DESK__SERVER__BIND) to a free address, e.g. 127.0.0.1:8081"
    )]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// Errors as HTTP answers: a JSON `{"error": ...}` body the page can show. Unexpected errors
/// are logged once here; clients get no internals.
#[derive(Debug)]
pub enum AppError {
    BadRequest(String),
    PayloadTooLarge(usize),
    NotFound(String),
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            AppError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request is larger than {} KiB", limit / 1024),
            ),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong on our side; please try again".to_string(),
                )
            }
        };
        (status, axum::Json(json!({ "error": message }))).into_response()
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    /// Present when Slack is configured.
    pub slack: Option<Arc<SlackChannel>>,
    /// Present when the Teams bot or outgoing webhook is configured.
    pub teams: Option<Arc<TeamsChannel>>,
    /// Demand reports (403 while analytics are off).
    pub reports: Arc<ReportAccess>,
}

/// All routes, for the server and for `oneshot` tests.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    if state.slack.is_some() {
        // Slack's payloads carry whole messages with their blocks: allow more than the web API.
        let limit = DefaultBodyLimit::max(slack::MAX_BODY_BYTES);
        app = app
            .route("/slack/events", post(slack::events).layer(limit))
            .route(
                "/slack/commands",
                post(slack::commands::commands).layer(limit),
            )
            .route(
                "/slack/interactivity",
                post(slack::interactivity::interactivity).layer(limit),
            );
    }
    if let Some(channel) = &state.teams {
        let limit = DefaultBodyLimit::max(teams::MAX_BODY_BYTES);
        if channel.bot.is_some() {
            app = app.route("/teams/messages", post(teams::messages).layer(limit));
        }
        if channel.webhook.is_some() {
            app = app.route("/teams/webhook", post(teams::webhook::webhook).layer(limit));
        }
    }
    app.route("/reports", get(reports::dashboard))
        .route("/reports/login", post(reports::login))
        .route("/reports/logout", post(reports::logout))
        .route("/api/v1/reports/demand", get(reports::demand))
        .route("/", get(web::index))
        .route("/assets/app.js", get(web::app_js))
        .route("/assets/style.css", get(web::style_css))
        .route("/api/v1/ask", post(web::ask))
        .route("/api/v1/feedback", post(web::feedback))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(web::MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = state.pipeline.metrics();
    metrics
        .requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    metrics
        .request_seconds
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.pipeline.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({
                "status": "ready",
                "intents": state.pipeline.catalogue.intents.len(),
            })),
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({
                    "status": "not ready",
                    "reason": "the database is not reachable",
                })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = state.pipeline.metrics();
    if let Ok(stats) = state.pipeline.store().inbox_stats().await {
        metrics.inbox_depth.set(stats.depth);
        let age = stats
            .oldest_received_ms
            .map_or(0, |oldest| ((now_ms() - oldest) / 1000).max(0));
        metrics.inbox_oldest_age_seconds.set(age);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

/// A built application: listening, with its workers running.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    grace: Duration,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
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
        let classifier = built.classifier;
        let database = settings.database.describe();
        let store =
            store::connect(&settings.database)
                .await
                .map_err(|source| StartError::Store {
                    database: database.clone(),
                    source,
                })?;
        let ids: Vec<String> = catalogue.specialists.iter().map(|s| s.id.clone()).collect();
        store
            .register_specialists(&ids)
            .await
            .map_err(|source| StartError::Store {
                database: database.clone(),
                source,
            })?;
        if settings.database.is_sqlite() {
            // One process per SQLite file: whatever was leased belonged to a previous run.
            let released = store
                .release_leases()
                .await
                .map_err(|source| StartError::Store {
                    database: database.clone(),
                    source,
                })?;
            if released > 0 {
                tracing::info!(
                    released,
                    "unfinished inbox items from the previous run will be processed"
                );
            }
        }
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
        let metrics = Arc::new(Metrics::new());
        let slack = SlackClient::new(&settings.slack, metrics.clone())
            .filter(|_| settings.slack.is_enabled())
            .map(Arc::new);
        let mut senders: HashMap<String, Arc<dyn ReplySender>> = HashMap::new();
        if let Some(client) = &slack {
            senders.insert(
                "slack".into(),
                Arc::new(SlackSender {
                    client: client.clone(),
                }),
            );
        }
        let teams = teams_channel(&settings, metrics.clone())?;
        if let Some(bot) = teams.as_ref().and_then(|t| t.bot.as_ref()) {
            senders.insert(
                teams::CHANNEL.into(),
                Arc::new(TeamsSender {
                    client: bot.connector.clone(),
                }),
            );
        }
        let mut pipeline = Pipeline::new(
            catalogue,
            classifier,
            store.clone(),
            pseudonymiser,
            departments,
            settings.log.clone(),
            metrics.clone(),
            senders.keys().cloned().collect(),
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
        let pipeline = Arc::new(pipeline);
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
                lease: Duration::from_secs(60),
            };
            workers.push(tokio::spawn(outbox.run(stop_rx.clone())));
        }
        let slack = match (slack, &settings.slack.signing_secret) {
            (Some(client), Some(secret)) => Some(Arc::new(SlackChannel {
                verifier: SlackVerifier::new(secret.expose_secret()),
                team_id: settings.slack.team_id.clone(),
                client,
            })),
            _ => None,
        };
        for worker in 0..settings.server.workers {
            workers.push(tokio::spawn(
                pipeline.clone().run_worker(worker, stop_rx.clone()),
            ));
        }
        workers.push(tokio::spawn(retention_task(pipeline.clone(), stop_rx)));
        let listener = TcpListener::bind(settings.server.bind)
            .await
            .map_err(|source| StartError::Bind {
                address: settings.server.bind,
                source,
            })?;
        tracing::info!(database = %database, address = %listener.local_addr().map_or(settings.server.bind, |a| a), "referral desk ready");
        Ok(Application {
            listener,
            state: AppState {
                pipeline,
                slack,
                teams,
                reports: Arc::new(ReportAccess::new(settings.analytics.clone())),
            },
            stop,
            workers,
            grace: Duration::from_secs(settings.server.shutdown_grace_seconds),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until SIGTERM or SIGINT.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests and workers
    /// finish (up to the grace period) and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            listener,
            state,
            stop,
            workers,
            grace,
        } = self;
        let app = router(state);
        let stop_for_server = stop.clone();
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight work");
            let _ = stop_for_server.send(true);
        })
        .await?;
        let _ = stop.send(true);
        let all = futures::future::join_all(workers);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                "workers did not finish within the grace period; their items will be processed at the next start"
            );
        }
        Ok(())
    }
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

async fn retention_task(pipeline: Arc<Pipeline>, mut stop: watch::Receiver<bool>) {
    loop {
        match pipeline.apply_retention().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "question texts past retention deleted"),
            Err(err) => tracing::warn!(error = %err, "retention run failed"),
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
