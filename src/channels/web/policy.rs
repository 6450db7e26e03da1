//! Who a web client is and what the chat page may do: the client address behind trusted
//! proxies, the per-client question limit on `POST /api/v1/ask`, and the chat page's
//! `Content-Security-Policy` and framing headers. The reports' login limit asks the same
//! [`WebPolicy::client`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::WebState;
use crate::config::Settings;
use crate::error::AppError;
use crate::net::{RateLimiter, TrustedProxies};

/// The web channel's request policy, from `[server]` and `[web]`.
#[derive(Debug)]
pub struct WebPolicy {
    /// Whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    proxies: TrustedProxies,
    /// Questions per client on `POST /api/v1/ask`; `None` when `web.rate_limit_*` is 0.
    ask_limit: Option<RateLimiter>,
    /// The chat page's `Content-Security-Policy`, with `web.frame_ancestors`.
    chat_csp: HeaderValue,
    /// `X-Frame-Options` for browsers without `frame-ancestors`, when it can say the same.
    frame_options: Option<HeaderValue>,
}

/// A setting the policy cannot use: the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration key `{key}`: {problem}")]
pub struct PolicyError {
    pub key: &'static str,
    pub problem: String,
}

impl WebPolicy {
    pub fn from_settings(settings: &Settings) -> Result<WebPolicy, PolicyError> {
        let proxies =
            TrustedProxies::parse(&settings.server.trusted_proxies).map_err(|e| PolicyError {
                key: "server.trusted_proxies",
                problem: e.to_string(),
            })?;
        let ancestors = &settings.web.frame_ancestors;
        let chat_csp =
            HeaderValue::from_str(&chat_page_csp(ancestors)).map_err(|_| PolicyError {
                key: "web.frame_ancestors",
                problem: "a source is not printable ASCII".into(),
            })?;
        let frame_options = match ancestors.as_slice() {
            [only] if only == "'none'" => Some(HeaderValue::from_static("DENY")),
            [only] if only == "'self'" => Some(HeaderValue::from_static("SAMEORIGIN")),
            _ => None,
        };
        Ok(WebPolicy {
            proxies,
            ask_limit: RateLimiter::new(
                settings.web.rate_limit_per_minute,
                settings.web.rate_limit_burst,
            ),
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

/// The chat page's CSP and framing policy.
pub(super) async fn chat_page_headers(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        state.policy.chat_csp.clone(),
    );
    if let Some(frame_options) = &state.policy.frame_options {
        headers.insert(header::X_FRAME_OPTIONS, frame_options.clone());
    }
    response
}

/// `POST /api/v1/ask` per client: every question is classified and stored, so one address
/// must not ask hundreds a second. Refused questions are not stored.
pub(super) async fn limit_questions(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limiter) = &state.policy.ask_limit {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer);
        if let Some(client) = state.policy.client(peer, request.headers())
            && let Err(wait) = limiter.check(client)
        {
            return AppError::TooManyRequests(wait).into_response();
        }
    }
    next.run(request).await
}
