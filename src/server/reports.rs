//! The reports over HTTP: `GET /reports` (the HTML dashboard; asks for a token once and keeps
//! a session cookie) and `GET /api/v1/reports/demand` (JSON or CSV, bearer token). Both are
//! 403 while `analytics.enabled` is false, and compute nothing then.
//!
//! Tokens come from `analytics.tokens` and are compared in constant time. The session cookie
//! is stateless, so it works across replicas: `expiry.index.mac`, where `mac` is an HMAC of
//! the expiry keyed with token `index`; removing a token from the config ends its sessions.
//! Its `Secure` flag follows `server.secure_cookies`, not the `Host` header (behind a proxy
//! the Host may well be `127.0.0.1`).
//!
//! Wrong tokens are limited per client address (behind a trusted proxy, the address it
//! forwards): after [`MAX_FAILURES`] within [`FAILURE_WINDOW`] further wrong tokens get 429.
//! The token is checked first, so the right token is always accepted: a stranger sending
//! wrong tokens from the same address (everyone behind one proxy, say) cannot lock HRD out.
//! A request without a token is a 401 but no failure.

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

use super::AppState;
use crate::analytics::release;
use crate::analytics::render::{self, HtmlMode, HtmlOptions};
use crate::analytics::{AnalyticsError, Granularity, ReportPolicy, ReportRequest, compute};
use crate::catalogue::Lang;
use crate::config::AnalyticsSettings;
use crate::net::limit_key;

pub const SESSION_COOKIE: &str = "rd_reports";
/// How long a dashboard session lasts.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// Failed token attempts allowed per client address within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(300);
/// The range shown when none is asked for: the current month and the five before it (the
/// current one is listed as not published yet).
const DEFAULT_MONTHS: usize = 6;

/// Clients whose failures are remembered at most; beyond this (after dropping expired ones)
/// new clients are not counted, so the table cannot grow without bound.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// What the report routes need besides the pipeline.
pub struct ReportAccess {
    pub settings: AnalyticsSettings,
    /// The `Secure` flag on the session cookie (`server.secure_cookies`).
    secure_cookies: bool,
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
    /// Secure cookies unless [`ReportAccess::with_secure_cookies`] says otherwise.
    pub fn new(settings: AnalyticsSettings) -> ReportAccess {
        ReportAccess {
            settings,
            secure_cookies: true,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `server.secure_cookies`: whether the session cookie is sent over HTTPS only.
    pub fn with_secure_cookies(mut self, secure: bool) -> ReportAccess {
        self.secure_cookies = secure;
        self
    }

    /// `; Secure` when cookies are secure.
    fn secure_attribute(&self) -> &'static str {
        if self.secure_cookies { "; Secure" } else { "" }
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

    /// `Some(wait)` when `client` sent too many wrong tokens recently.
    fn blocked(&self, client: Option<IpAddr>) -> Option<Duration> {
        let client = limit_key(client?);
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

    /// A wrong token from `client` (only wrong tokens count: a missing one is no guess).
    fn record_failure(&self, client: Option<IpAddr>) {
        tracing::warn!(client = ?client, "a report request with a wrong token");
        let Some(client) = client.map(limit_key) else {
            return;
        };
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_TRACKED_CLIENTS && !failures.contains_key(&client) {
            failures.retain(|_, times| times.back().is_some_and(|t| t.elapsed() < FAILURE_WINDOW));
            if failures.len() >= MAX_TRACKED_CLIENTS {
                return;
            }
        }
        let times = failures.entry(client).or_default();
        times.push_back(Instant::now());
        // only the last MAX_FAILURES decide
        while times.len() > MAX_FAILURES {
            times.pop_front();
        }
    }

    /// The outcome of presenting `token` (`None`: none presented) from `client`.
    fn check(&self, token: Option<&str>, client: Option<IpAddr>) -> Check {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Check::Missing;
        };
        if let Some(index) = self.token_index(token) {
            return Check::Accepted(index);
        }
        if let Some(wait) = self.blocked(client) {
            return Check::Blocked(wait);
        }
        self.record_failure(client);
        Check::Wrong
    }
}

/// What a presented token earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The index of the matching token.
    Accepted(usize),
    Missing,
    Wrong,
    /// Wrong, and too many wrong ones came from this client recently.
    Blocked(Duration),
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
    /// `true` (or `on`, `1`, `yes`): add the demo data (`seed-demo`) to the real figures; the
    /// report then says so. Left out otherwise.
    pub include_demo: Option<String>,
    pub lang: Option<String>,
    pub format: Option<String>,
}

/// A checkbox or flag parameter: `true`, `on` (what a ticked box sends), `1` or `yes`.
fn is_set(value: Option<&str>) -> bool {
    matches!(value, Some("true" | "on" | "1" | "yes"))
}

impl ReportQuery {
    /// The request; without a range, the last [`DEFAULT_MONTHS`] months up to today.
    fn request(&self) -> ReportRequest {
        let to = self.to.unwrap_or_else(|| Utc::now().date_naive());
        let from = self.from.unwrap_or_else(|| {
            let mut start = release::month_start(to);
            for _ in 1..DEFAULT_MONTHS {
                start = release::previous_month(start);
            }
            start
        });
        ReportRequest {
            from,
            to,
            granularity: self.granularity.unwrap_or_default(),
            by_department: is_set(self.by_department.as_deref()),
            include_demo: is_set(self.include_demo.as_deref()),
        }
    }

    fn lang(&self) -> Lang {
        Lang::from_code(self.lang.as_deref().unwrap_or("nl"))
    }
}

/// The client's address when the server knows it (absent in `oneshot` tests): the peer, or
/// behind a trusted proxy the client it names.
fn client_of(
    state: &AppState,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = connect.map(|Extension(ConnectInfo(address))| address);
    state.web.client(peer, headers)
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

async fn report(
    state: &AppState,
    query: &ReportQuery,
) -> Result<crate::analytics::DemandReport, AnalyticsError> {
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
        let client = client_of(&state, connect, &headers);
        // the right token still works: say that wrong ones are refused, not that all are
        let error = access.blocked(client).map(|wait| match lang {
            Lang::Nl => format!(
                "Te veel onjuiste toegangscodes vanaf dit adres: de komende {} s wordt een onjuiste code geweigerd.",
                wait.as_secs().max(1)
            ),
            Lang::En => format!(
                "Too many wrong tokens from this address: for the next {} s a wrong token is refused.",
                wait.as_secs().max(1)
            ),
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
        Err(err) => (error_status(&err), client_message(&err, lang)).into_response(),
    }
}

/// What the reader is told about a failed report: the reason when it is theirs to fix, a
/// generic sentence for store and internal errors (already logged by [`report`]).
fn client_message(err: &AnalyticsError, lang: Lang) -> String {
    match err {
        AnalyticsError::Store(_) | AnalyticsError::Internal(_) => match lang {
            Lang::Nl => "Er ging iets mis aan onze kant; probeer het later opnieuw.".into(),
            Lang::En => "Something went wrong on our side; please try again later.".into(),
        },
        other => other.to_string(),
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
    if let Some(d) = &query.include_demo {
        pairs.push(("include_demo", d.clone()));
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
    let client = client_of(&state, connect, &headers);
    // only paths on this dashboard: no open redirect
    let next = if form.next.starts_with("/reports") && !form.next.contains("//") {
        form.next.clone()
    } else {
        "/reports".to_string()
    };
    let index = match access.check(Some(&form.token), client) {
        Check::Accepted(index) => index,
        Check::Blocked(wait) => return too_many(wait),
        refused => {
            let message = match (refused, lang) {
                (Check::Missing, Lang::Nl) => "Vul je toegangscode in.",
                (Check::Missing, Lang::En) => "Enter your access token.",
                (_, Lang::Nl) => "Onjuiste toegangscode.",
                (_, Lang::En) => "Wrong access token.",
            };
            return html(
                StatusCode::UNAUTHORIZED,
                render::login_page(lang, Some(message), &next),
            );
        }
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Strict{}",
        access.new_session(index),
        access.secure_attribute()
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

/// `POST /reports/logout`.
pub async fn logout(State(state): State<AppState>) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!(
                    "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
                    state.reports.secure_attribute()
                ),
            ),
            (header::LOCATION, "/reports".to_string()),
        ],
    )
        .into_response()
}

/// `GET /api/v1/reports/demand?from=&to=&granularity=&by_department=&include_demo=&format=json|csv`.
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
    let client = client_of(&state, connect, &headers);
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match access.check(presented, client) {
        Check::Accepted(_) => {}
        Check::Blocked(wait) => return too_many(wait),
        Check::Missing | Check::Wrong => {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "",
            )
                .into_response();
        }
    }
    let Ok(Query(query)) = query else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "unknown or malformed report parameters: use from, to (YYYY-MM-DD), granularity (month), by_department, include_demo, format (json, csv)"})),
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
            axum::Json(serde_json::json!({"error": client_message(&err, Lang::En)})),
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
    fn wrong_tokens_block_a_client_for_the_window_but_never_the_right_token() {
        const RIGHT: &str = "first-token-0123456789abcdef";
        let a = access(&[RIGHT]);
        let client = Some("10.0.0.7".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(a.check(None, client), Check::Missing);
            assert_eq!(a.check(Some("  "), client), Check::Missing);
        }
        for _ in 0..MAX_FAILURES {
            assert_eq!(
                a.check(Some("wrong-token-0123456789abcdef"), client),
                Check::Wrong
            );
        }
        match a.check(Some("wrong-token-0123456789abcdef"), client) {
            Check::Blocked(wait) => {
                assert!(wait <= FAILURE_WINDOW && wait > Duration::from_secs(250))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.check(Some(RIGHT), client), Check::Accepted(0));
        assert_eq!(a.check(None, client), Check::Missing);
        let other = Some("10.0.0.8".parse().unwrap());
        assert_eq!(
            a.check(Some("wrong-token-0123456789abcdef"), other),
            Check::Wrong
        );
        // blocked attempts are not stored: the record stays at MAX_FAILURES per client
        let failures = a.failures.lock().unwrap();
        assert!(failures.values().all(|times| times.len() <= MAX_FAILURES));
    }
}
