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
//!
//! Layout: this file holds the state, the router that merges the channels' own routers
//! ([`crate::channels`]) with the report and health routes, and the middleware every request
//! passes; `app` builds and runs the [`Application`]; `connections` is the accept loop;
//! `reports` the demand-report routes for HRD.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::body::{Frame, SizeHint};
use serde_json::json;
use tokio::time::Sleep;

use crate::catalogue::CatalogueError;
use crate::channels::slack::SlackState;
use crate::channels::slack::{self, SlackChannel};
use crate::channels::teams::TeamsState;
use crate::channels::teams::{self, TeamsChannel};
use crate::channels::web;
use crate::channels::web::{WebPolicy, WebState};
use crate::config::Settings;
use crate::error::AppError;
use crate::nlu::ClassifierError;
use crate::nlu::model::ModelError;
use crate::pipeline::{Pipeline, PipelineError, now_ms};
use crate::privacy::PrivacyError;
use crate::store::StoreError;

mod app;
mod connections;
mod reports;

pub use app::Application;
pub use connections::ConnectionLimits;
pub use reports::ReportAccess;

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

/// What the HTTP layer holds: the pipeline, each configured channel (each channel's router
/// gets only its own part), the report access and the request deadlines.
#[derive(Clone, Debug)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    /// Present when Slack is configured.
    pub slack: Option<Arc<SlackChannel>>,
    /// Present when the Teams bot or outgoing webhook is configured.
    pub teams: Option<Arc<TeamsChannel>>,
    /// Demand reports (403 while analytics are off).
    pub reports: Arc<ReportAccess>,
    /// Who the client is, the question limit and the chat page's headers.
    pub web: Arc<WebPolicy>,
    /// The deadlines every request gets.
    pub http: HttpPolicy,
}

/// The request-level deadlines the middleware applies (connection-level ones are in
/// [`ConnectionLimits`]).
#[derive(Clone, Copy, Debug)]
pub struct HttpPolicy {
    pub request_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl HttpPolicy {
    pub fn from_settings(settings: &Settings) -> HttpPolicy {
        HttpPolicy {
            request_timeout: Duration::from_secs(settings.server.request_timeout_seconds),
            body_read_timeout: Duration::from_secs(settings.server.body_read_timeout_seconds),
        }
    }
}

/// All public routes, for the server and for `oneshot` tests: each channel's own router
/// (only those configured), the reports and the health checks, each group with its body limit,
/// then the deadlines, request metrics and security headers every route gets. Metrics are not
/// among them: see [`metrics_router`].
pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    if let Some(slack) = &state.slack {
        // Slack's payloads carry whole messages with their blocks: allow more than the web API.
        let channel = slack::router(SlackState {
            pipeline: state.pipeline.clone(),
            slack: slack.clone(),
        });
        app = app.merge(with_body_limit(channel, slack::MAX_BODY_BYTES));
    }
    if let Some(teams) = &state.teams {
        let channel = teams::router(TeamsState {
            pipeline: state.pipeline.clone(),
            teams: teams.clone(),
        });
        app = app.merge(with_body_limit(channel, teams::MAX_BODY_BYTES));
    }
    let chat = web::router(WebState {
        pipeline: state.pipeline.clone(),
        policy: state.web.clone(),
    });
    let own = Router::new()
        .route("/reports", get(reports::dashboard))
        .route("/reports/login", post(reports::login))
        .route("/reports/logout", post(reports::logout))
        .route("/api/v1/reports/demand", get(reports::demand))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state.clone());
    app.merge(with_body_limit(chat.merge(own), web::MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), body_deadline))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_deadline,
        ))
        .layer(middleware::from_fn_with_state(state, count_requests))
        .layer(middleware::from_fn(security_headers))
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
fn with_body_limit(routes: Router, limit: usize) -> Router {
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
