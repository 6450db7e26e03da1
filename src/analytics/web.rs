//! The reports over HTTP: `GET /reports` (the HTML dashboard; asks for a token once and keeps
//! a session cookie) and `GET /api/v1/reports/demand` (JSON or CSV, bearer token). Both are
//! 403 while `analytics.enabled` is false, and compute nothing then.
//!
//! Tokens come from `analytics.tokens` and are compared in constant time. The session cookie
//! is stateless, so it works across replicas: `expiry.index.mac`, where `mac` is an HMAC of
//! the expiry keyed with token `index`; removing a token from the config ends its sessions.
//! Failed attempts are limited per client address.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use chrono::{NaiveDate, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

use super::render::{self, HtmlMode, HtmlOptions};
use super::{AnalyticsError, Granularity, ReportPolicy, ReportRequest, compute};
use crate::catalogue::Lang;
use crate::config::AnalyticsSettings;
use crate::server::AppState;

pub const SESSION_COOKIE: &str = "rd_reports";
/// How long a dashboard session lasts.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// Failed token attempts allowed per client address within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(300);
/// The range shown when none is asked for: the current month and the five before it (the
/// current one is listed as not published yet).
const DEFAULT_MONTHS: usize = 6;

/// What the report routes need besides the pipeline.
pub struct ReportAccess {
    pub settings: AnalyticsSettings,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl std::fmt::Debug for ReportAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportAccess")
            .field("enabled", &self.settings.enabled)
            .field("tokens", &self.settings.tokens.len())
            .finish_non_exhaustive()
    }
}

impl ReportAccess {
    pub fn new(settings: AnalyticsSettings) -> ReportAccess {
        ReportAccess {
            settings,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The index of the matching token; every token is compared, in constant time each.
    fn token_index(&self, presented: &str) -> Option<usize> {
        let mut found = None;
        for (i, token) in self.settings.tokens.iter().enumerate() {
            if constant_time_eq(
                token.expose_secret().trim().as_bytes(),
                presented.as_bytes(),
            ) {
                found = Some(i);
            }
        }
        found
    }

    fn session_mac(token: &SecretString, expiry: i64, index: usize) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(token.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(format!("referral-desk-reports-session:{expiry}:{index}").as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn new_session(&self, index: usize) -> String {
        let expiry = Utc::now().timestamp() + SESSION_SECONDS;
        let mac = Self::session_mac(&self.settings.tokens[index], expiry, index);
        format!("{expiry}.{index}.{}", hex::encode(mac))
    }

    fn session_is_valid(&self, value: &str) -> bool {
        let mut parts = value.split('.');
        let (Some(expiry), Some(index), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let (Ok(expiry), Ok(index), Ok(mac)) = (
            expiry.parse::<i64>(),
            index.parse::<usize>(),
            hex::decode(mac),
        ) else {
            return false;
        };
        let Some(token) = self.settings.tokens.get(index) else {
            return false;
        };
        expiry > Utc::now().timestamp()
            && constant_time_eq(&Self::session_mac(token, expiry, index), &mac)
    }

    /// `Some(wait)` when `client` failed too often recently.
    fn blocked(&self, client: Option<IpAddr>) -> Option<Duration> {
        let client = client?;
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = failures.get_mut(&client)?;
        while recent
            .front()
            .is_some_and(|t| t.elapsed() >= FAILURE_WINDOW)
        {
            recent.pop_front();
        }
        (recent.len() >= MAX_FAILURES).then(|| {
            FAILURE_WINDOW.saturating_sub(recent.front().map_or(Duration::ZERO, |t| t.elapsed()))
        })
    }

    fn record_failure(&self, client: Option<IpAddr>) {
        tracing::warn!(client = ?client, "a report request with a wrong or missing token");
        if let Some(client) = client {
            let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            if failures.len() > 10_000 {
                failures
                    .retain(|_, times| times.back().is_some_and(|t| t.elapsed() < FAILURE_WINDOW));
            }
            failures
                .entry(client)
                .or_default()
                .push_back(Instant::now());
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // HMAC both sides with a fixed key so lengths and contents compare in constant time
    let digest = |v: &[u8]| {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"referral-desk-compare")
            .expect("HMAC accepts keys of any length");
        mac.update(v);
        mac.finalize().into_bytes()
    };
    let (da, db) = (digest(a), digest(b));
    let mut diff = 0u8;
    for (x, y) in da.iter().zip(db.iter()) {
        diff |= x ^ y;
    }
    diff == 0
}

/// The query of every report route: a range and a granularity, nothing else (unknown
/// parameters are refused, so no filter can single a person out).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub granularity: Option<Granularity>,
    pub by_department: Option<String>,
    pub lang: Option<String>,
    pub format: Option<String>,
}

impl ReportQuery {
    /// The request; without a range, the last [`DEFAULT_MONTHS`] months up to today.
    fn request(&self) -> ReportRequest {
        let to = self.to.unwrap_or_else(|| Utc::now().date_naive());
        let from = self.from.unwrap_or_else(|| {
            let mut start = super::release::month_start(to);
            for _ in 1..DEFAULT_MONTHS {
                start = super::release::previous_month(start);
            }
            start
        });
        ReportRequest {
            from,
            to,
            granularity: self.granularity.unwrap_or_default(),
            by_department: matches!(
                self.by_department.as_deref(),
                Some("true" | "on" | "1" | "yes")
            ),
        }
    }

    fn lang(&self) -> Lang {
        Lang::from_code(self.lang.as_deref().unwrap_or("nl"))
    }
}

/// The client's address when the server knows it (absent in `oneshot` tests).
fn client_of(connect: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<IpAddr> {
    connect.map(|Extension(ConnectInfo(address))| address.ip())
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(render::content_security_policy()),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

fn too_many(wait: Duration) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
        "too many failed attempts; try again later",
    )
        .into_response()
}

fn error_status(err: &AnalyticsError) -> StatusCode {
    match err {
        AnalyticsError::Disabled => StatusCode::FORBIDDEN,
        AnalyticsError::EmptyRange { .. }
        | AnalyticsError::TooManyPeriods { .. }
        | AnalyticsError::GranularityNotOffered(_) => StatusCode::BAD_REQUEST,
        AnalyticsError::NothingPublished { .. } => StatusCode::NOT_FOUND,
        AnalyticsError::Store(_) | AnalyticsError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a client may read of an error: the reason for its own mistakes, nothing of ours.
fn client_message(err: &AnalyticsError) -> String {
    match err {
        AnalyticsError::Store(_) | AnalyticsError::Internal(_) => {
            "something went wrong on our side; please try again".to_string()
        }
        other => other.to_string(),
    }
}

async fn report(
    state: &AppState,
    query: &ReportQuery,
) -> Result<super::DemandReport, AnalyticsError> {
    let settings = &state.reports.settings;
    if !settings.enabled {
        return Err(AnalyticsError::Disabled);
    }
    let pipeline = &state.pipeline;
    let started = Instant::now();
    let report = compute(
        pipeline.store().as_ref(),
        &pipeline.catalogue,
        &ReportPolicy::from_settings(settings),
        &query.request(),
        Utc::now().date_naive(),
    )
    .await;
    let metrics = pipeline.metrics();
    metrics.reports.inc();
    metrics
        .report_seconds
        .observe(started.elapsed().as_secs_f64());
    if let Err(err @ (AnalyticsError::Store(_) | AnalyticsError::Internal(_))) = &report {
        tracing::error!(error = %err, "computing a report failed");
    }
    report
}

/// `GET /reports`.
pub async fn dashboard(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let access = &state.reports;
    let Ok(Query(query)) = query else {
        return (
            StatusCode::BAD_REQUEST,
            "unknown or malformed report parameters",
        )
            .into_response();
    };
    let lang = query.lang();
    if !access.settings.enabled {
        return html(StatusCode::FORBIDDEN, render::disabled_page(lang));
    }
    if !cookie(&headers, SESSION_COOKIE).is_some_and(|v| access.session_is_valid(v)) {
        let client = client_of(connect);
        let error = access.blocked(client).map(|wait| match lang {
            Lang::Nl => format!("Te veel pogingen; wacht {} s.", wait.as_secs().max(1)),
            Lang::En => format!("Too many attempts; wait {} s.", wait.as_secs().max(1)),
        });
        let next = headers_path(&query);
        return html(
            StatusCode::UNAUTHORIZED,
            render::login_page(lang, error.as_deref(), &next),
        );
    }
    match report(&state, &query).await {
        Ok(report) => html(
            StatusCode::OK,
            render::to_html(
                &report,
                &HtmlOptions {
                    lang,
                    mode: HtmlMode::Dashboard {
                        by_department: query.request().by_department,
                    },
                },
            ),
        ),
        Err(err) => (error_status(&err), client_message(&err)).into_response(),
    }
}

/// Where to return after logging in: the dashboard with the same query.
fn headers_path(query: &ReportQuery) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(from) = query.from {
        pairs.push(("from", from.to_string()));
    }
    if let Some(to) = query.to {
        pairs.push(("to", to.to_string()));
    }
    if let Some(g) = query.granularity {
        pairs.push(("granularity", g.as_str().to_string()));
    }
    if let Some(d) = &query.by_department {
        pairs.push(("by_department", d.clone()));
    }
    if let Some(l) = &query.lang {
        pairs.push(("lang", l.clone()));
    }
    let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if encoded.is_empty() {
        "/reports".into()
    } else {
        format!("/reports?{encoded}")
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub token: String,
    #[serde(default)]
    pub next: String,
}

/// `POST /reports/login`: the token from the login form; a session cookie on success.
pub async fn login(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let access = &state.reports;
    let lang = Lang::from_code(
        form.next
            .split("lang=")
            .nth(1)
            .map(|rest| rest.split('&').next().unwrap_or("nl"))
            .unwrap_or("nl"),
    );
    if !access.settings.enabled {
        return html(StatusCode::FORBIDDEN, render::disabled_page(lang));
    }
    let client = client_of(connect);
    if let Some(wait) = access.blocked(client) {
        return too_many(wait);
    }
    // only paths on this dashboard: no open redirect
    let next = if form.next.starts_with("/reports") && !form.next.contains("//") {
        form.next.clone()
    } else {
        "/reports".to_string()
    };
    let Some(index) = access.token_index(form.token.trim()) else {
        access.record_failure(client);
        let message = match lang {
            Lang::Nl => "Onjuiste toegangscode.",
            Lang::En => "Wrong access token.",
        };
        return html(
            StatusCode::UNAUTHORIZED,
            render::login_page(lang, Some(message), &next),
        );
    };
    let secure = if is_loopback(&headers) {
        ""
    } else {
        "; Secure"
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Strict{secure}",
        access.new_session(index)
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, next),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

/// Browsers refuse `Secure` cookies over plain http except on loopback; everywhere else the
/// dashboard is expected behind TLS.
fn is_loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// `POST /reports/logout`.
pub async fn logout() -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
            ),
            (header::LOCATION, "/reports".to_string()),
        ],
    )
        .into_response()
}

/// `GET /api/v1/reports/demand?from=&to=&granularity=&by_department=&format=json|csv`.
pub async fn demand(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let access = &state.reports;
    if !access.settings.enabled {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": AnalyticsError::Disabled.to_string()})),
        )
            .into_response();
    }
    let client = client_of(connect);
    if let Some(wait) = access.blocked(client) {
        return too_many(wait);
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented
        .and_then(|t| access.token_index(t.trim()))
        .is_none()
    {
        access.record_failure(client);
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "",
        )
            .into_response();
    }
    let Ok(Query(query)) = query else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "unknown or malformed report parameters: use from, to (YYYY-MM-DD), granularity (month), by_department, format (json, csv)"})),
        )
            .into_response();
    };
    let format = query.format.clone().unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv") {
        return (StatusCode::BAD_REQUEST, "format must be json or csv").into_response();
    }
    match report(&state, &query).await {
        Ok(report) if format == "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            render::to_csv(&report),
        )
            .into_response(),
        Ok(report) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            render::to_json(&report),
        )
            .into_response(),
        Err(err) => (
            error_status(&err),
            axum::Json(serde_json::json!({"error": client_message(&err)})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(tokens: &[&str]) -> ReportAccess {
        ReportAccess::new(AnalyticsSettings {
            enabled: true,
            tokens: tokens
                .iter()
                .map(|t| SecretString::from(t.to_string()))
                .collect(),
            ..AnalyticsSettings::default()
        })
    }

    #[test]
    fn sessions_are_bound_to_a_configured_token_and_expire() {
        let a = access(&[
            "first-token-0123456789abcdef",
            "second-token-0123456789abcdef",
        ]);
        assert_eq!(a.token_index("second-token-0123456789abcdef"), Some(1));
        assert_eq!(a.token_index("second-token-0123456789abcde"), None);
        let session = a.new_session(1);
        assert!(a.session_is_valid(&session));
        // the same session is worthless once its token is removed from the config
        let without = access(&["first-token-0123456789abcdef"]);
        assert!(!without.session_is_valid(&session));
        let (expiry, rest) = session.split_once('.').unwrap();
        let forged = format!("{}.{rest}", expiry.parse::<i64>().unwrap() + 3600);
        assert!(!a.session_is_valid(&forged));
        let past = Utc::now().timestamp() - 1;
        let mac = ReportAccess::session_mac(&a.settings.tokens[0], past, 0);
        assert!(!a.session_is_valid(&format!("{past}.0.{}", hex::encode(mac))));
        for junk in ["", "1.2", "x.y.z", "1.0.zz", "99999999999.7.00"] {
            assert!(!a.session_is_valid(junk), "{junk}");
        }
    }

    #[test]
    fn failures_block_a_client_for_the_window() {
        let a = access(&["first-token-0123456789abcdef"]);
        let client = Some("10.0.0.7".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert!(a.blocked(client).is_none());
            a.record_failure(client);
        }
        let wait = a.blocked(client).unwrap();
        assert!(wait <= FAILURE_WINDOW && wait > Duration::from_secs(250));
        assert!(a.blocked(Some("10.0.0.8".parse().unwrap())).is_none());
    }
}
