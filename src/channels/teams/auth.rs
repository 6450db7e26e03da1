//! Checks that a request to `POST /teams/messages` really comes from the Microsoft Bot
//! Framework connector, following Bot Framework's "authenticate requests from the Bot
//! Connector service" protocol.
//!
//! The connector sends every activity with `Authorization: Bearer <JWT>`. The token is
//! accepted only if all of these hold (each failure is its own [`AuthError`]):
//! - there is exactly one `Authorization` header, and it is `Bearer` followed by one token;
//! - the JWT header says `alg: RS256` (decided from the header before anything is verified,
//!   so `none`, HMAC and other RSA variants never reach a verifier) and names a `kid`;
//! - the `kid` is a key in the JWKS that the OpenID metadata document points to
//!   (`jwks_uri`), and the RS256 signature verifies with that key;
//! - `iss` is the Bot Framework issuer, `aud` is our app id, and `exp`/`nbf` hold within the
//!   configured clock skew (five minutes);
//! - the token's `serviceurl` claim equals the activity's `serviceUrl`, so a token issued for
//!   one connector endpoint cannot be replayed with replies sent somewhere else;
//! - if the key carries `endorsements`, they include the activity's `channelId` (`msteams`),
//!   so a key endorsed only for another channel cannot speak for Teams.
//!
//! Signing keys are fetched lazily, cached, and refreshed when older than
//! [`AuthConfig::max_key_age`]. A token with an unknown `kid` (Microsoft rotated its keys)
//! triggers one refresh, but at most one per [`AuthConfig::min_refresh_interval`], shared by
//! all concurrent callers, so forged tokens with random key ids cannot make us hammer the
//! metadata endpoint. A failed refresh keeps the previous keys.
//!
//! The Teams handler parses the activity (it needs `serviceUrl` and `channelId`), calls
//! [`BotAuthenticator::authenticate`] and acts on the activity only if that succeeds. The HTTP
//! layer answers every [`AuthError`] with a bare 401 and logs the error; the messages are
//! written for that log and never contain the token.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tracing::Instrument;

/// Where Bot Framework publishes its OpenID metadata (which in turn names the JWKS).
pub const DEFAULT_OPENID_METADATA_URL: &str =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";

/// The `iss` of tokens the Bot Framework connector sends to bots.
pub const BOT_FRAMEWORK_ISSUER: &str = "https://api.botframework.com";

/// Bot Framework's documented tolerance for clock differences on `exp` and `nbf`.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Microsoft asks bots to refresh the signing keys at least daily.
pub const DEFAULT_MAX_KEY_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Floor between refreshes triggered by unknown key ids, so forged tokens cannot turn us into
/// a request amplifier against the metadata endpoint.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// How soon a failed key fetch may be tried again.
const RETRY_AFTER_FAILED_FETCH: Duration = Duration::from_secs(10);

/// Per-request limit on the metadata and JWKS fetches. A caller waiting on a refresh holds up
/// every other caller that needs one, so a hung endpoint must not block them for long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The only signature algorithm Bot Framework uses for connector tokens.
const RS256: &str = "RS256";

/// Longest header-supplied value (`alg`, `kid`) copied into an error message; these are
/// attacker-controlled and only there to help read the log.
const MAX_ECHOED_LEN: usize = 64;

/// What to accept and where to find the keys. [`AuthConfig::bot_framework`] gives the values
/// Bot Framework documents; tests point `openid_metadata_url` at a fake and shorten the
/// intervals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The bot's Microsoft app id: the expected `aud`.
    pub app_id: String,
    /// The OpenID metadata document whose `jwks_uri` lists the signing keys.
    pub openid_metadata_url: String,
    /// The expected `iss`.
    pub issuer: String,
    /// Leeway on `exp` and `nbf`.
    pub clock_skew: Duration,
    /// Keys older than this are refetched before use (kept if the refetch fails).
    pub max_key_age: Duration,
    /// Minimum time between two key fetches triggered by unknown key ids or failed refreshes.
    pub min_refresh_interval: Duration,
}

impl AuthConfig {
    /// The Bot Framework defaults: issuer `https://api.botframework.com`, five minutes of clock
    /// skew, keys refreshed daily and at most every five minutes on an unknown `kid`.
    /// `openid_metadata_url` is normally [`DEFAULT_OPENID_METADATA_URL`].
    pub fn bot_framework(app_id: String, openid_metadata_url: String) -> AuthConfig {
        AuthConfig {
            app_id,
            openid_metadata_url,
            issuer: BOT_FRAMEWORK_ISSUER.to_string(),
            clock_skew: DEFAULT_CLOCK_SKEW,
            max_key_age: DEFAULT_MAX_KEY_AGE,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
        }
    }
}

/// What a verified token tells us, for the handler to use instead of anything unverified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotClaims {
    /// The connector endpoint the token was issued for (the token's `serviceurl` claim, which
    /// equals the activity's `serviceUrl` up to a trailing `/`). Replies go here.
    pub service_url: String,
    /// The audience the token was issued to: our app id.
    pub app_id: String,
    /// The token's `exp`, unix seconds.
    pub expires_at: i64,
}

/// Why a request was not accepted as coming from the Bot Framework connector. Meant for the
/// server log: the caller only ever sees a 401. No variant carries the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header: not a connector request.
    #[error("missing Authorization header")]
    MissingAuthorization,
    /// More than one `Authorization` header. The connector sends one; picking one of several
    /// would let a forger add a header next to the real one.
    #[error("Authorization header appears more than once")]
    MultipleAuthorizationHeaders,
    /// The header uses a scheme other than `Bearer` (e.g. `Basic`).
    #[error("unsupported authorization scheme (only Bearer is accepted)")]
    UnsupportedScheme,
    /// The header is not exactly `Bearer <token>`: no token, several tokens, extra spaces or
    /// non-ASCII bytes.
    #[error("malformed Authorization header: {0}")]
    MalformedAuthorization(&'static str),
    /// The token is not a well-formed JWT (not three base64url parts, header or payload not
    /// JSON).
    #[error("malformed token: {0}")]
    MalformedToken(&'static str),
    /// The JWT header names an algorithm other than RS256 (`none`, HS256 signed with our public
    /// key, RS384, ...).
    #[error("token algorithm {0:?} is not allowed (only RS256)")]
    AlgorithmNotAllowed(String),
    /// The JWT header has no `kid`, so no key can be chosen.
    #[error("token header has no key id (kid)")]
    MissingKeyId,
    /// The `kid` is not among the published keys, even after a refresh.
    #[error("no Bot Framework signing key with key id {0:?}")]
    UnknownKeyId(String),
    /// No keys have ever been fetched successfully, so nothing can be verified.
    #[error("Bot Framework signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// The signature does not verify with the key the token names: forged or tampered.
    #[error("token signature is invalid")]
    InvalidSignature,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not the Bot Framework issuer")]
    InvalidIssuer,
    /// `aud` is not our app id: a token for another bot.
    #[error("token audience is not this bot's app id")]
    InvalidAudience,
    /// `exp` is further in the past than the clock skew allows.
    #[error("token expired")]
    Expired,
    /// `nbf` is further in the future than the clock skew allows.
    #[error("token not yet valid (nbf in the future)")]
    NotYetValid,
    /// A claim that must be present (`exp`, `iss`, `aud`) is absent.
    #[error("token lacks the {0} claim")]
    MissingClaim(String),
    /// A claim has the wrong type (e.g. `exp` not a number).
    #[error("token claim {0} has an invalid format")]
    InvalidClaim(String),
    /// The token has no `serviceurl` claim to bind it to the activity.
    #[error("token has no serviceurl claim")]
    MissingServiceUrl,
    /// The token was issued for another connector endpoint than the activity's `serviceUrl`.
    #[error("token serviceurl does not match the activity's serviceUrl")]
    ServiceUrlMismatch,
    /// The signing key lists endorsements and the activity's channel is not among them.
    #[error("signing key is not endorsed for channel {0:?}")]
    ChannelNotEndorsed(String),
    /// No app id is configured, so no audience could ever match; refused rather than matching
    /// an empty `aud`.
    #[error("no Microsoft app id configured")]
    AppIdNotConfigured,
}

/// One published signing key.
struct SigningKey {
    key: DecodingKey,
    /// `None` when the JWK has no `endorsements` field (no channel restriction).
    endorsements: Option<Vec<String>>,
}

/// The cached JWKS and when it was fetched.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<SigningKey>>,
    /// When the current keys were fetched; `None` until the first successful fetch.
    fetched_at: Option<Instant>,
}

impl KeySet {
    fn is_fresh(&self, max_age: Duration) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < max_age)
    }
}

/// Bookkeeping owned by whoever holds the refresh lock.
#[derive(Default)]
struct RefreshState {
    /// When the last fetch started, successful or not; spaces fetches by the minimum interval.
    last_attempt: Option<Instant>,
    /// Why the last fetch failed, if it did (for [`AuthError::KeysUnavailable`]).
    last_error: Option<String>,
}

/// Why a key refresh failed. Logged; the old keys stay in use.
#[derive(Debug, thiserror::Error)]
enum RefreshError {
    #[error("fetching {what} failed: {source}")]
    Http {
        what: &'static str,
        source: reqwest::Error,
    },
    #[error("{what} is not JSON: {source}")]
    Json {
        what: &'static str,
        source: reqwest::Error,
    },
    #[error("OpenID metadata has no jwks_uri")]
    NoJwksUri,
    #[error("JWKS has no usable RSA signing keys")]
    NoUsableKeys,
}

/// Validates Bot Framework connector tokens. Cheap to share: keep one behind an `Arc` for the
/// whole server so all requests share the key cache.
pub struct BotAuthenticator {
    config: AuthConfig,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    /// Held across a key fetch so concurrent callers wait for it instead of fetching too.
    refresh: tokio::sync::Mutex<RefreshState>,
    metadata_fetches: AtomicU64,
}

impl fmt::Debug for BotAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("BotAuthenticator")
            .field("config", &self.config)
            .field("cached_keys", &keys.keys.len())
            .field("metadata_fetches", &self.metadata_fetches())
            .finish_non_exhaustive()
    }
}

impl BotAuthenticator {
    /// Fetches nothing yet: keys are loaded on the first request, so the server starts even
    /// when the metadata endpoint is briefly unreachable.
    pub fn new(config: AuthConfig, http: reqwest::Client) -> BotAuthenticator {
        BotAuthenticator {
            config,
            http,
            keys: RwLock::new(KeySet::default()),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
            metadata_fetches: AtomicU64::new(0),
        }
    }

    /// How many times the OpenID metadata document was requested (each key refresh requests
    /// it once), for metrics and for tests that check refreshes are rate limited.
    pub fn metadata_fetches(&self) -> u64 {
        self.metadata_fetches.load(Ordering::Relaxed)
    }

    /// Checks the request's bearer token against every Bot Framework rule (see the module
    /// docs). `service_url` and `channel_id` come from the parsed activity; they are what the
    /// token must vouch for.
    #[tracing::instrument(level = "debug", name = "teams_auth", skip_all, fields(%channel_id))]
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        service_url: &str,
        channel_id: &str,
    ) -> Result<BotClaims, AuthError> {
        if self.config.app_id.is_empty() {
            return Err(AuthError::AppIdNotConfigured);
        }
        let token = bearer_token(headers)?;
        let kid = check_header(token)?;
        let signing_key = self.signing_key(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = self.config.clock_skew.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.app_id]);
        let data = jsonwebtoken::decode::<Value>(token, &signing_key.key, &validation)
            .map_err(map_jwt_error)?;
        let claims = data.claims;

        let token_service_url = claims
            .get("serviceurl")
            .or_else(|| claims.get("serviceUrl"))
            .and_then(Value::as_str)
            .ok_or(AuthError::MissingServiceUrl)?;
        if trim_one_slash(token_service_url) != trim_one_slash(service_url) {
            return Err(AuthError::ServiceUrlMismatch);
        }

        if let Some(endorsements) = &signing_key.endorsements
            && !endorsements.iter().any(|e| e == channel_id)
        {
            return Err(AuthError::ChannelNotEndorsed(echo(channel_id)));
        }

        let expires_at = claims
            .get("exp")
            .and_then(|exp| exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64)))
            .ok_or_else(|| AuthError::InvalidClaim("exp".into()))?;
        Ok(BotClaims {
            service_url: token_service_url.to_string(),
            app_id: self.config.app_id.clone(),
            expires_at,
        })
    }

    /// The key for `kid`, refreshing the cache first if it is stale or does not know `kid`
    /// (subject to the minimum refresh interval).
    async fn signing_key(&self, kid: &str) -> Result<Arc<SigningKey>, AuthError> {
        if let Some(key) = self.cached_key(kid, true) {
            return Ok(key);
        }

        let mut state = self.refresh.lock().await;
        // Another caller may have refreshed while we waited for the lock.
        if let Some(key) = self.cached_key(kid, true) {
            return Ok(key);
        }
        // After a failed fetch (the metadata endpoint down at start, say) try again sooner,
        // still at most once per interval, so an outage heals without a restart.
        let interval = if state.last_error.is_some() {
            self.config
                .min_refresh_interval
                .min(RETRY_AFTER_FAILED_FETCH)
        } else {
            self.config.min_refresh_interval
        };
        let may_fetch = state.last_attempt.is_none_or(|at| at.elapsed() >= interval);
        if may_fetch {
            state.last_attempt = Some(Instant::now());
            match self.fetch_keys().await {
                Ok(keys) => {
                    *self.keys.write().unwrap_or_else(PoisonError::into_inner) = KeySet {
                        keys,
                        fetched_at: Some(Instant::now()),
                    };
                    state.last_error = None;
                }
                Err(error) => {
                    tracing::warn!(%error, "Bot Framework key refresh failed; keeping the previous keys");
                    state.last_error = Some(error.to_string());
                }
            }
        }
        let last_error = state.last_error.clone();
        drop(state);

        // Stale keys are still better than none: Microsoft announces rotations well ahead.
        if let Some(key) = self.cached_key(kid, false) {
            return Ok(key);
        }
        let loaded = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .fetched_at
            .is_some();
        if loaded {
            Err(AuthError::UnknownKeyId(echo(kid)))
        } else {
            Err(AuthError::KeysUnavailable(
                last_error.unwrap_or_else(|| "not fetched yet".into()),
            ))
        }
    }

    /// The cached key for `kid`; with `fresh_only`, only if the cache is younger than
    /// `max_key_age`.
    fn cached_key(&self, kid: &str, fresh_only: bool) -> Option<Arc<SigningKey>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        if fresh_only && !keys.is_fresh(self.config.max_key_age) {
            return None;
        }
        keys.keys.get(kid).cloned()
    }

    /// Fetches the OpenID metadata, then the JWKS it names, and parses the RSA keys.
    #[tracing::instrument(
        name = "bot_framework_key_refresh",
        skip(self),
        fields(metadata_url = %self.config.openid_metadata_url)
    )]
    async fn fetch_keys(&self) -> Result<HashMap<String, Arc<SigningKey>>, RefreshError> {
        self.metadata_fetches.fetch_add(1, Ordering::Relaxed);
        let metadata = self
            .get_json(&self.config.openid_metadata_url, "OpenID metadata")
            .await?;
        let jwks_uri = metadata
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or(RefreshError::NoJwksUri)?;
        let jwks = self
            .get_json(jwks_uri, "JWKS")
            .instrument(tracing::info_span!("jwks_fetch", %jwks_uri))
            .await?;
        let keys = parse_jwks(&jwks);
        if keys.is_empty() {
            return Err(RefreshError::NoUsableKeys);
        }
        tracing::info!(keys = keys.len(), "Bot Framework signing keys refreshed");
        Ok(keys)
    }

    async fn get_json(&self, url: &str, what: &'static str) -> Result<Value, RefreshError> {
        let response = self
            .http
            .get(url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|source| RefreshError::Http { what, source })?;
        response
            .json::<Value>()
            .await
            .map_err(|source| RefreshError::Json { what, source })
    }
}

/// The token from the single `Authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthError::MissingAuthorization)?;
    if values.next().is_some() {
        return Err(AuthError::MultipleAuthorizationHeaders);
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::MalformedAuthorization("not visible ASCII"))?;
    let mut parts = value.split(' ');
    let scheme = parts.next().unwrap_or_default();
    // Auth schemes are case-insensitive (RFC 9110 section 11.1).
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(if scheme.is_empty() {
            AuthError::MalformedAuthorization("leading space")
        } else {
            AuthError::UnsupportedScheme
        });
    }
    let token = parts
        .next()
        .ok_or(AuthError::MalformedAuthorization("no token"))?;
    if token.is_empty() {
        return Err(AuthError::MalformedAuthorization("extra space or no token"));
    }
    if parts.next().is_some() {
        return Err(AuthError::MalformedAuthorization(
            "more than one token or trailing space",
        ));
    }
    Ok(token)
}

/// Reads the JWT header without trusting it: the algorithm must be RS256 and a `kid` must be
/// present. Returns the `kid`. Done before any key lookup so that no other algorithm is ever
/// handed to a verifier.
fn check_header(token: &str) -> Result<String, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::MalformedToken("not three dot-separated parts"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::MalformedToken("header is not base64url"))?;
    let header: Value = serde_json::from_slice(&header)
        .map_err(|_| AuthError::MalformedToken("header is not JSON"))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| AuthError::AlgorithmNotAllowed("(missing)".into()))?;
    if alg != RS256 {
        return Err(AuthError::AlgorithmNotAllowed(echo(alg)));
    }
    match header.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => Ok(kid.to_string()),
        _ => Err(AuthError::MissingKeyId),
    }
}

fn map_jwt_error(error: jsonwebtoken::errors::Error) -> AuthError {
    match error.into_kind() {
        ErrorKind::InvalidSignature => AuthError::InvalidSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::InvalidIssuer,
        ErrorKind::InvalidAudience => AuthError::InvalidAudience,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => AuthError::InvalidClaim(claim),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            AuthError::AlgorithmNotAllowed(RS256.into())
        }
        ErrorKind::Base64(_) => AuthError::MalformedToken("a part is not base64url"),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            AuthError::MalformedToken("header or payload is not valid JSON")
        }
        // The key from the JWKS could not be used (bad modulus/exponent): nothing verifies.
        _ => AuthError::InvalidSignature,
    }
}

/// The usable keys of a JWKS: RSA signing keys with a `kid`, `n` and `e`. Parsed by hand
/// because Bot Framework's `endorsements` field is not part of the standard JWK.
fn parse_jwks(jwks: &Value) -> HashMap<String, Arc<SigningKey>> {
    let mut keys = HashMap::new();
    let Some(entries) = jwks.get("keys").and_then(Value::as_array) else {
        return keys;
    };
    for jwk in entries {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") {
            continue;
        }
        if field("use").is_some_and(|u| u != "sig") || field("alg").is_some_and(|a| a != RS256) {
            continue;
        }
        let (Some(kid), Some(n), Some(e)) = (field("kid"), field("n"), field("e")) else {
            continue;
        };
        let Ok(key) =
            DecodingKey::from_rsa_components(n.trim_end_matches('='), e.trim_end_matches('='))
        else {
            tracing::warn!(kid, "skipping JWK with invalid RSA components");
            continue;
        };
        // An `endorsements` field that is not an array of strings endorses nothing.
        let endorsements = match jwk.get("endorsements") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        };
        keys.entry(kid.to_string())
            .or_insert_with(|| Arc::new(SigningKey { key, endorsements }));
    }
    keys
}

/// `url` without one trailing `/`: the connector and the activity disagree on it at times.
fn trim_one_slash(url: &str) -> &str {
    url.strip_suffix('/').unwrap_or(url)
}

/// A header- or activity-supplied value, shortened for the log.
fn echo(value: &str) -> String {
    value.chars().take(MAX_ECHOED_LEN).collect()
}

#[cfg(test)]
mod tests;
