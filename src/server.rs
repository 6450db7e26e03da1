//! `referral-desk serve`: builds the application from [`Settings`] (catalogue, classifier,
//! store, privacy keys, pipeline workers) and serves HTTP with axum on hyper.
//!
//! [`router`] takes the state, so tests can drive it with `oneshot`; [`Application::build`]
//! binds the configured addresses (port 0 in tests) and [`Application::run_until`] serves until
//! a shutdown signal, then stops accepting, lets in-flight work finish within
//! `server.shutdown_grace_seconds` and leaves unfinished inbox items for the next start.
//!
//! The accept loop is our own (axum's `serve` has no timeouts and no connection cap), because
//! a client that opens connections and sends nothing, or sends slowly, must not hold the
//! server: a connection has `header_read_timeout_seconds` to send a request's headers,
//! `idle_timeout_seconds` between requests on a kept-alive connection, and a reader that stops
//! reading its response is cut off after `idle_timeout_seconds` without progress. At most
//! `max_connections` are open; further ones wait in the listen queue. Within a request, the
//! body must arrive within `body_read_timeout_seconds` (408) and the answer within
//! `request_timeout_seconds` (503); a declared body over the route's limit is refused (413)
//! before it is read. Prometheus metrics, whose per-intent counters show what people ask,
//! are served on a listener of their own (`metrics.bind`, loopback by default), never on the
//! public port.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant as Deadline, Sleep};

use crate::analytics::web::{self as reports, ReportAccess};
use crate::catalogue::{Catalogue, CatalogueError};
use crate::channels::slack::{self, SlackChannel, SlackClient, SlackSender, SlackVerifier};
use crate::channels::teams::auth::{AuthConfig, BotAuthenticator};
use crate::channels::teams::connector::ConnectorClient;
use crate::channels::teams::{self, TeamsBot, TeamsChannel, TeamsSender, WebhookVerifier};
use crate::channels::web;
use crate::config::Settings;
use crate::net::{RateLimiter, TrustedProxies};
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
    #[error(
        "analytics.enabled is true but analytics.tokens is empty, so nobody could open the demand reports\n  hint: set REFERRAL_DESK__ANALYTICS__TOKENS to one token per reader, comma-separated (e.g. `openssl rand -hex 32`), or set analytics.enabled = false"
    )]
    ReportsWithoutReaders,
    #[error("{0}")]
    Departments(#[from] PipelineError),
    #[error("Microsoft Teams: {0}")]
    Teams(String),
    #[error(
        "cannot listen on {address} ({key}): {source}\n  hint: set {key} ({env}) to a free address, e.g. {example}"
    )]
    Bind {
        /// The setting that names the address.
        key: &'static str,
        env: &'static str,
        example: &'static str,
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("configuration key `{key}`: {problem}")]
    Setting { key: &'static str, problem: String },
}

/// Errors as HTTP answers: a JSON `{"error": ...}` body the page can show. Unexpected errors
/// are logged once here; clients get no internals.
#[derive(Debug)]
pub enum AppError {
    BadRequest(String),
    PayloadTooLarge(usize),
    NotFound(String),
    Internal(String),
    /// The client's bucket is empty (`web.rate_limit_*`); `Retry-After` says when to retry.
    TooManyRequests(Duration),
    /// The request body did not arrive within `server.body_read_timeout_seconds`.
    BodyTimeout(Duration),
    /// No answer within `server.request_timeout_seconds`.
    TookTooLong,
    /// The database cannot be reached or written just now; nothing was acknowledged.
    StorageUnavailable(String),
}

/// `Retry-After` for a request refused while the database is unavailable.
pub const STORAGE_RETRY_AFTER_SECONDS: u64 = 2;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
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
            AppError::TooManyRequests(wait) => {
                let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
                retry_after = Some(seconds);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many questions from your address; please wait {seconds} s"),
                )
            }
            AppError::BodyTimeout(limit) => (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s",
                    limit.as_secs()
                ),
            ),
            AppError::TookTooLong => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the answer is taking too long; please try again".to_string(),
            ),
            AppError::StorageUnavailable(detail) => {
                tracing::warn!(error = %detail, "database unavailable: request refused with 503");
                retry_after = Some(STORAGE_RETRY_AFTER_SECONDS);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the desk cannot store questions right now; please try again in a moment"
                        .to_string(),
                )
            }
        };
        let mut response = (status, axum::Json(json!({ "error": message }))).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
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
    /// Who the client is, and the limits and headers every request gets.
    pub http: Arc<HttpPolicy>,
}

/// The request-level settings the middleware applies (connection-level ones are in
/// [`ConnectionLimits`]).
#[derive(Debug)]
pub struct HttpPolicy {
    /// Whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    pub proxies: TrustedProxies,
    /// Questions per client on `POST /api/v1/ask`; `None` when `web.rate_limit_*` is 0.
    pub ask_limit: Option<RateLimiter>,
    pub request_timeout: Duration,
    pub body_read_timeout: Duration,
    /// The chat page's `Content-Security-Policy`, with `web.frame_ancestors`.
    chat_csp: HeaderValue,
    /// `X-Frame-Options` for browsers without `frame-ancestors`, when it can say the same.
    frame_options: Option<HeaderValue>,
}

impl HttpPolicy {
    pub fn from_settings(settings: &Settings) -> Result<HttpPolicy, StartError> {
        let proxies = TrustedProxies::parse(&settings.server.trusted_proxies).map_err(|e| {
            StartError::Setting {
                key: "server.trusted_proxies",
                problem: e.to_string(),
            }
        })?;
        let ancestors = &settings.web.frame_ancestors;
        let chat_csp =
            HeaderValue::from_str(&chat_page_csp(ancestors)).map_err(|_| StartError::Setting {
                key: "web.frame_ancestors",
                problem: "a source is not printable ASCII".into(),
            })?;
        let frame_options = match ancestors.as_slice() {
            [only] if only == "'none'" => Some(HeaderValue::from_static("DENY")),
            [only] if only == "'self'" => Some(HeaderValue::from_static("SAMEORIGIN")),
            _ => None,
        };
        Ok(HttpPolicy {
            proxies,
            ask_limit: RateLimiter::new(
                settings.web.rate_limit_per_minute,
                settings.web.rate_limit_burst,
            ),
            request_timeout: Duration::from_secs(settings.server.request_timeout_seconds),
            body_read_timeout: Duration::from_secs(settings.server.body_read_timeout_seconds),
            chat_csp,
            frame_options,
        })
    }

    /// The client's address: the peer, or behind a trusted proxy the address it forwards.
    /// `None` without a connection (requests driven by `oneshot`).
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        peer.map(|peer| self.proxies.client_address(peer.ip(), headers))
    }
}

/// The chat page's policy: its script and stylesheet come from `/assets` (no inline code or
/// style), it talks only to this server, and only `frame_ancestors` may frame it.
pub fn chat_page_csp(frame_ancestors: &[String]) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {}",
        frame_ancestors.join(" ")
    )
}

/// All public routes, for the server and for `oneshot` tests. Metrics are not among them:
/// see [`metrics_router`].
pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    if state.slack.is_some() {
        // Slack's payloads carry whole messages with their blocks: allow more than the web API.
        app = app.merge(with_body_limit(
            Router::new()
                .route("/slack/events", post(slack::events))
                .route("/slack/commands", post(slack::commands::commands))
                .route(
                    "/slack/interactivity",
                    post(slack::interactivity::interactivity),
                ),
            slack::MAX_BODY_BYTES,
        ));
    }
    if let Some(channel) = &state.teams {
        let mut routes = Router::new();
        if channel.bot.is_some() {
            routes = routes.route("/teams/messages", post(teams::messages));
        }
        if channel.webhook.is_some() {
            routes = routes.route("/teams/webhook", post(teams::webhook::webhook));
        }
        app = app.merge(with_body_limit(routes, teams::MAX_BODY_BYTES));
    }
    let web_routes = Router::new()
        .route("/reports", get(reports::dashboard))
        .route("/reports/login", post(reports::login))
        .route("/reports/logout", post(reports::logout))
        .route("/api/v1/reports/demand", get(reports::demand))
        .route(
            "/",
            get(web::index).layer(middleware::from_fn_with_state(
                state.clone(),
                chat_page_headers,
            )),
        )
        .route("/assets/app.js", get(web::app_js))
        .route("/assets/style.css", get(web::style_css))
        .route(
            "/api/v1/ask",
            post(web::ask).layer(middleware::from_fn_with_state(
                state.clone(),
                limit_questions,
            )),
        )
        .route("/api/v1/feedback", post(web::feedback))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    app.merge(with_body_limit(web_routes, web::MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), body_deadline))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_deadline,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// `GET /metrics` alone, for the metrics listener.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// `routes` with a body limit: a declared `Content-Length` over `limit` is refused before
/// anything is read, and a body that turns out longer while streaming is refused too.
fn with_body_limit(routes: Router<AppState>, limit: usize) -> Router<AppState> {
    routes
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            limit,
            refuse_declared_oversize,
        ))
}

async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        // the body is never read, so the connection cannot carry another request
        return closing(AppError::PayloadTooLarge(limit).into_response());
    }
    next.run(request).await
}

/// `response` with `Connection: close`.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Every response: no MIME sniffing, no referrer to other sites (the page's URLs and the
/// links it shows are nobody else's business).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// The chat page's CSP and framing policy.
async fn chat_page_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, state.http.chat_csp.clone());
    if let Some(frame_options) = &state.http.frame_options {
        headers.insert(header::X_FRAME_OPTIONS, frame_options.clone());
    }
    response
}

/// `POST /api/v1/ask` per client: every question is classified and stored, so one address
/// must not ask hundreds a second. Refused questions are not stored.
async fn limit_questions(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(limiter) = &state.http.ask_limit {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer);
        if let Some(client) = state.http.client(peer, request.headers())
            && let Err(wait) = limiter.check(client)
        {
            return AppError::TooManyRequests(wait).into_response();
        }
    }
    next.run(request).await
}

/// The answer within `server.request_timeout_seconds`, whatever the handler waits for.
async fn request_deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let limit = state.http.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                route,
                seconds = limit.as_secs(),
                "a request was not answered in time"
            );
            closing(AppError::TookTooLong.into_response())
        }
    }
}

/// The request body within `server.body_read_timeout_seconds` of the headers: a client that
/// trickles its body gets 408 and the connection is closed.
async fn body_deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use hyper::body::Body as _;
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let limit = state.http.body_read_timeout;
    let expired = Arc::new(AtomicBool::new(false));
    let timer = Box::pin(tokio::time::sleep(limit));
    let request = request.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            timer,
            expired: expired.clone(),
        })
    });
    let response = next.run(request).await;
    if expired.load(Ordering::Relaxed) {
        tracing::info!(
            seconds = limit.as_secs(),
            "a request body did not arrive in time"
        );
        return closing(AppError::BodyTimeout(limit).into_response());
    }
    response
}

/// A request body that fails once its timer runs out while waiting for data.
struct DeadlineBody {
    inner: Body,
    timer: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    this.expired.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
                }
                Poll::Pending
            }
            ready => ready,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
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

/// How long `/readyz` waits for the database: a load balancer must learn of an outage at once,
/// not after the connection timeout. The check writes (see
/// [`crate::store::ConversationStore::check_writable`]): a database that answers but cannot
/// store a question is not ready either.
const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

async fn readyz(State(state): State<AppState>) -> Response {
    let checked =
        tokio::time::timeout(READINESS_TIMEOUT, state.pipeline.store().check_writable()).await;
    let problem = match checked {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(err.to_string()),
        Err(_) => Some(format!(
            "no answer within {} s",
            READINESS_TIMEOUT.as_secs()
        )),
    };
    match problem {
        None => (
            StatusCode::OK,
            axum::Json(json!({
                "status": "ready",
                "intents": state.pipeline.catalogue.intents.len(),
            })),
        )
            .into_response(),
        Some(err) => {
            tracing::warn!(error = %err, "readiness: the database cannot be written");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({
                    "status": "not ready",
                    "reason": "the database is not reachable or cannot write",
                })),
            )
                .into_response()
        }
    }
}

/// How long `/metrics` waits for the inbox figures; a stuck database must not stop the scrape
/// (the inbox gauges then keep their last values).
const INBOX_STATS_TIMEOUT: Duration = Duration::from_secs(2);

async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = state.pipeline.metrics();
    let stats = tokio::time::timeout(INBOX_STATS_TIMEOUT, state.pipeline.store().inbox_stats());
    if let Ok(Ok(stats)) = stats.await {
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
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        // Refused before anything slow: reports switched on for nobody is a setup mistake that
        // would otherwise only show as 401s on the dashboard.
        if settings.analytics.enabled && settings.analytics.tokens.is_empty() {
            return Err(StartError::ReportsWithoutReaders);
        }
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
                    "unfinished inbox items and replies from the previous run will be processed"
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
        let http = Arc::new(HttpPolicy::from_settings(&settings)?);
        // Listen before any worker starts, so a taken port stops the start cleanly.
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
        let heartbeat = tokio::spawn(beat(store.clone()));
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
        let reports = settings
            .analytics
            .enabled
            .then(|| crate::analytics::ReportPolicy::from_settings(&settings.analytics));
        workers.push(tokio::spawn(retention_task(
            pipeline.clone(),
            reports,
            stop_rx,
        )));
        let metrics_address = metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map_or_else(|| "off".to_string(), |a| a.to_string());
        tracing::info!(
            database = %database,
            address = %listener.local_addr().map_or(settings.server.bind, |a| a),
            metrics = %metrics_address,
            "referral desk ready"
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
                http,
            },
            stop,
            workers,
            heartbeat,
            grace: Duration::from_secs(server.shutdown_grace_seconds),
            limits: ConnectionLimits {
                header_read: Duration::from_secs(server.header_read_timeout_seconds),
                idle: Duration::from_secs(server.idle_timeout_seconds),
                max_connections: server.max_connections.max(1),
            },
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

async fn bind(
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

/// How long a connection may take, and how many there may be (`[server]`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// To send a request's headers: from the connection's start, or from the first byte of a
    /// further request on a kept-alive connection.
    pub header_read: Duration,
    /// Between requests on a kept-alive connection; also how long a response may make no
    /// progress because the client does not read it.
    pub idle: Duration,
    pub max_connections: usize,
}

/// The deadline `serve` was told to finish by; now when the sender is gone.
async fn stop_deadline(stopping: &mut watch::Receiver<Option<Deadline>>) -> Deadline {
    match stopping.wait_for(Option::is_some).await {
        Ok(deadline) => deadline.unwrap_or_else(Deadline::now),
        Err(_) => Deadline::now(),
    }
}

/// Accepts connections on `listener` (at most `limits.max_connections` at once; further ones
/// wait in the listen queue) and serves `app` on each, until `stopping` carries a deadline:
/// then stops accepting, lets open connections finish their requests, and closes what is
/// still open at the deadline.
async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<Option<Deadline>>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let deadline = loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            deadline = stop_deadline(&mut stopping) => break deadline,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    // e.g. out of file descriptors: wait rather than spin
                    tracing::warn!(error = %err, "accepting a connection failed; retrying in a second");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        deadline = stop_deadline(&mut stopping) => break deadline,
                    }
                }
            },
            deadline = stop_deadline(&mut stopping) => break deadline,
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(
            stream,
            peer,
            app.clone(),
            limits,
            stopping.clone(),
            slot,
        ));
    };
    drop(listener);
    let drained = tokio::time::timeout_at(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "connections still open at the end of the grace period were closed"
        );
        connections.shutdown().await;
    }
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection: HTTP/1.1 with keep-alive, the connection clock of [`TimedStream`], the
/// peer address for `ConnectInfo<SocketAddr>` (as `into_make_service_with_connect_info`
/// gives it), and a graceful end when the server stops.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<Option<Deadline>>,
    _slot: OwnedSemaphorePermit,
) {
    let clock = Arc::new(ConnectionClock::new());
    let io = TokioIo::new(TimedStream::new(stream, clock.clone(), limits));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        clock.request_started();
        let guard = RequestGuard(clock.clone());
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move {
            let response = tower::Service::call(&mut app, request.map(Body::new))
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response.map(|inner| TrackedBody {
                inner,
                _guard: guard,
            }))
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = async { stop_deadline(&mut stopping).await; } => {
            // finish the request in progress (if any), then close
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "a connection ended with an error");
    }
}

/// What one connection is doing, shared by its socket ([`TimedStream`]) and its requests:
/// which deadline the socket is held to.
#[derive(Debug)]
struct ConnectionClock {
    state: std::sync::Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    /// Requests handed to the router whose response is not yet written.
    in_flight: usize,
    /// Waiting for a request's headers (from the start, or since its first byte), rather
    /// than idle between requests.
    awaiting_head: bool,
    /// When the current wait began.
    since: Deadline,
    /// The connection's task, parked on a read without a deadline while a request was in
    /// flight: woken when the request finishes, so the read is held to the idle deadline.
    reader: Option<std::task::Waker>,
}

impl ConnectionClock {
    fn new() -> ConnectionClock {
        ConnectionClock {
            state: std::sync::Mutex::new(ClockState {
                in_flight: 0,
                awaiting_head: true,
                since: Deadline::now(),
                reader: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When a read that finds no data gives up: `None` while a request is being handled (its
    /// body and answer have deadlines of their own; `waker` is woken when it finishes).
    fn read_deadline(
        &self,
        limits: &ConnectionLimits,
        waker: &std::task::Waker,
    ) -> Option<Deadline> {
        let mut state = self.lock();
        if state.in_flight > 0 {
            if !state.reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
                state.reader = Some(waker.clone());
            }
            None
        } else if state.awaiting_head {
            Some(state.since + limits.header_read)
        } else {
            Some(state.since + limits.idle)
        }
    }

    /// Bytes arrived: on an idle connection, a request has begun and its headers are due.
    fn bytes_arrived(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && !state.awaiting_head {
            state.awaiting_head = true;
            state.since = Deadline::now();
        }
    }

    fn request_started(&self) {
        let mut state = self.lock();
        state.in_flight += 1;
        state.awaiting_head = false;
    }

    fn request_finished(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.awaiting_head = false;
            state.since = Deadline::now();
            // hyper may not read again before data arrives: make it, so the idle timer starts
            if let Some(reader) = state.reader.take() {
                drop(state);
                reader.wake();
            }
        }
    }
}

/// Marks its request finished when dropped: hyper drops the response body once it is
/// written (or the connection is gone).
struct RequestGuard(Arc<ConnectionClock>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that carries its request's [`RequestGuard`].
struct TrackedBody {
    inner: Body,
    _guard: RequestGuard,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket under one connection, held to its [`ConnectionClock`]: a read that waits past
/// the header or idle deadline fails (hyper then closes the connection), and so does a write
/// the client has not accepted a byte of for `limits.idle`.
///
/// This is not hyper's `header_read_timeout`: hyper (1.x) starts that timer whenever it waits
/// for a request's head, idle time on a kept-alive connection included, so it would close
/// idle connections after the header timeout and leave `idle_timeout_seconds` meaningless.
/// Here the two waits are told apart.
struct TimedStream {
    stream: TcpStream,
    clock: Arc<ConnectionClock>,
    limits: ConnectionLimits,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
    write_stalled: bool,
}

impl TimedStream {
    fn new(stream: TcpStream, clock: Arc<ConnectionClock>, limits: ConnectionLimits) -> Self {
        TimedStream {
            stream,
            clock,
            limits,
            read_timer: Box::pin(tokio::time::sleep(limits.header_read)),
            write_timer: Box::pin(tokio::time::sleep(limits.idle)),
            write_stalled: false,
        }
    }

    /// A write made no progress: fails once it has made none for `limits.idle`.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.write_stalled {
            self.write_stalled = true;
            let deadline = Deadline::now() + self.limits.idle;
            self.write_timer.as_mut().reset(deadline);
        }
        match self.write_timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client does not read the response",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote<T>(
        &mut self,
        result: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Pending => self.stalled(cx),
            ready => {
                self.write_stalled = false;
                ready
            }
        }
    }
}

impl AsyncRead for TimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                let Some(deadline) = this.clock.read_deadline(&this.limits, cx.waker()) else {
                    return Poll::Pending;
                };
                if this.read_timer.deadline() != deadline {
                    this.read_timer.as_mut().reset(deadline);
                }
                match this.read_timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent no complete request in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(result, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_flush(cx);
        this.wrote(result, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
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

/// Daily: deletes what retention allows no longer, and (with reports switched on) publishes
/// the demand tables of months that are due, so a month is frozen while the texts behind its
/// emerging topics are still kept, whether or not anyone opens a report.
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
