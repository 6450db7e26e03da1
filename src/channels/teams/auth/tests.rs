use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderValue;
use jsonwebtoken::{EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const APP_ID: &str = "11111111-2222-3333-4444-555555555555";
const SERVICE_URL: &str = "https://smba.trafficmanager.net/emea/";
const CHANNEL: &str = "msteams";

/// rsa 0.9 wants a `rand_core` 0.6 generator; this adapts rand 0.9's thread generator.
struct Rng(rand::rngs::ThreadRng);

impl rsa::rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        rand::RngCore::next_u32(&mut self.0)
    }
    fn next_u64(&mut self) -> u64 {
        rand::RngCore::next_u64(&mut self.0)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand::RngCore::fill_bytes(&mut self.0, dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        rand::RngCore::fill_bytes(&mut self.0, dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for Rng {}

struct TestKey {
    private: EncodingKey,
    public: RsaPublicKey,
}

impl TestKey {
    fn generate() -> TestKey {
        let private = RsaPrivateKey::new(&mut Rng(rand::rng()), 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        TestKey {
            private: EncodingKey::from_rsa_der(der.as_bytes()),
            public: private.to_public_key(),
        }
    }

    fn jwk(&self, kid: &str, endorsements: Option<&[&str]>) -> Value {
        let mut jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        });
        if let Some(endorsements) = endorsements {
            jwk["endorsements"] = json!(endorsements);
        }
        jwk
    }
}

/// Key generation is slow; two keys serve the whole test binary.
static KEYS: LazyLock<[TestKey; 2]> = LazyLock::new(|| [TestKey::generate(), TestKey::generate()]);

fn key1() -> &'static TestKey {
    &KEYS[0]
}

fn key2() -> &'static TestKey {
    &KEYS[1]
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> Value {
    json!({
        "iss": BOT_FRAMEWORK_ISSUER,
        "aud": APP_ID,
        "serviceurl": SERVICE_URL,
        "nbf": now() - 60,
        "exp": now() + 3600,
    })
}

fn sign_with(key: &TestKey, alg: Algorithm, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key.private).unwrap()
}

fn sign(kid: &str, claims: &Value) -> String {
    sign_with(key1(), Algorithm::RS256, kid, claims)
}

fn bearer(token: &str) -> HeaderMap {
    auth_header(&format!("Bearer {token}"))
}

fn auth_header(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    headers
}

/// A fake Bot Framework login endpoint: metadata at `/.well-known/openidconfiguration`,
/// keys at `/keys`.
struct Fake {
    server: MockServer,
}

impl Fake {
    /// Serves key-1 endorsed for msteams.
    async fn start() -> Fake {
        Fake::with_jwks(json!({ "keys": [key1().jwk("key-1", Some(&["msteams"]))] })).await
    }

    async fn with_jwks(jwks: Value) -> Fake {
        let server = MockServer::start().await;
        let metadata = json!({
            "issuer": BOT_FRAMEWORK_ISSUER,
            "jwks_uri": format!("{}/keys", server.uri()),
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        Mock::given(method("GET"))
            .and(path("/.well-known/openidconfiguration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(metadata))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
            .mount(&server)
            .await;
        Fake { server }
    }

    /// From now on `/keys` serves `jwks` (takes priority over the first mock).
    async fn serve_jwks(&self, jwks: Value) {
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    fn config(&self) -> AuthConfig {
        AuthConfig::bot_framework(
            APP_ID.into(),
            format!("{}/.well-known/openidconfiguration", self.server.uri()),
        )
    }

    fn authenticator(&self) -> BotAuthenticator {
        BotAuthenticator::new(self.config(), reqwest::Client::new())
    }

    async fn key_fetches(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/keys")
            .count()
    }
}

async fn check(auth: &BotAuthenticator, headers: &HeaderMap) -> Result<BotClaims, AuthError> {
    auth.authenticate(headers, SERVICE_URL, CHANNEL).await
}

async fn check_token(token: &str) -> Result<BotClaims, AuthError> {
    let fake = Fake::start().await;
    check(&fake.authenticator(), &bearer(token)).await
}

/// Replaces the payload part of `token` with `claims`, keeping header and signature.
fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[tokio::test]
async fn valid_token_is_accepted() {
    let fake = Fake::start().await;
    let auth = fake.authenticator();
    let claims = claims();
    let accepted = check(&auth, &bearer(&sign("key-1", &claims)))
        .await
        .unwrap();
    assert_eq!(
        accepted,
        BotClaims {
            service_url: SERVICE_URL.into(),
            app_id: APP_ID.into(),
            expires_at: claims["exp"].as_i64().unwrap(),
        }
    );
    // The cache serves the second request.
    check(&auth, &bearer(&sign("key-1", &claims)))
        .await
        .unwrap();
    assert_eq!(auth.metadata_fetches(), 1);
    assert_eq!(fake.key_fetches().await, 1);
}

#[tokio::test]
async fn lowercase_scheme_and_camel_case_service_url_claim_are_accepted() {
    let fake = Fake::start().await;
    let auth = fake.authenticator();
    let mut claims = claims();
    let url = claims
        .as_object_mut()
        .unwrap()
        .remove("serviceurl")
        .unwrap();
    claims["serviceUrl"] = url;
    let token = sign("key-1", &claims);
    check(&auth, &auth_header(&format!("bearer {token}")))
        .await
        .unwrap();
}

#[tokio::test]
async fn service_url_may_differ_by_one_trailing_slash() {
    let fake = Fake::start().await;
    let auth = fake.authenticator();
    let token = sign("key-1", &claims());
    let without_slash = SERVICE_URL.trim_end_matches('/');
    let accepted = auth
        .authenticate(&bearer(&token), without_slash, CHANNEL)
        .await
        .unwrap();
    assert_eq!(accepted.service_url, SERVICE_URL);
    assert_eq!(
        auth.authenticate(&bearer(&token), &format!("{SERVICE_URL}/"), CHANNEL)
            .await,
        Err(AuthError::ServiceUrlMismatch)
    );
}

#[tokio::test]
async fn missing_header_is_rejected() {
    let fake = Fake::start().await;
    let result = check(&fake.authenticator(), &HeaderMap::new()).await;
    assert_eq!(result, Err(AuthError::MissingAuthorization));
    assert_eq!(
        fake.key_fetches().await,
        0,
        "nothing fetched for a bare request"
    );
}

#[tokio::test]
async fn other_scheme_is_rejected() {
    let fake = Fake::start().await;
    let token = sign("key-1", &claims());
    for value in [format!("Basic {token}"), "Basic dXNlcjpwYXNz".to_string()] {
        let result = check(&fake.authenticator(), &auth_header(&value)).await;
        assert_eq!(result, Err(AuthError::UnsupportedScheme));
    }
}

#[tokio::test]
async fn two_tokens_or_extra_parts_are_rejected() {
    let fake = Fake::start().await;
    let auth = fake.authenticator();
    let token = sign("key-1", &claims());
    for value in [
        format!("Bearer {token} {token}"),
        format!("Bearer {token} extra"),
        format!("Bearer  {token}"),
        format!("Bearer {token} "),
        format!(" Bearer {token}"),
        "Bearer".to_string(),
        "Bearer ".to_string(),
    ] {
        let result = check(&auth, &auth_header(&value)).await;
        assert!(
            matches!(result, Err(AuthError::MalformedAuthorization(_))),
            "{value:?}: {result:?}"
        );
    }

    let mut two_headers = bearer(&token);
    two_headers.append(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    assert_eq!(
        check(&auth, &two_headers).await,
        Err(AuthError::MultipleAuthorizationHeaders)
    );

    let four_parts = format!("{token}.{}", token.rsplit('.').next().unwrap());
    assert!(matches!(
        check(&auth, &bearer(&four_parts)).await,
        Err(AuthError::MalformedToken(_))
    ));
    assert!(matches!(
        check(&auth, &bearer("not-a-jwt")).await,
        Err(AuthError::MalformedToken(_))
    ));
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let mut claims = claims();
    claims["iss"] = json!("https://sts.windows.net/evil/");
    assert_eq!(
        check_token(&sign("key-1", &claims)).await,
        Err(AuthError::InvalidIssuer)
    );
}

#[tokio::test]
async fn missing_issuer_is_rejected() {
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        check_token(&sign("key-1", &claims)).await,
        Err(AuthError::MissingClaim("iss".into()))
    );
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let mut claims = claims();
    claims["aud"] = json!("another-bot");
    assert_eq!(
        check_token(&sign("key-1", &claims)).await,
        Err(AuthError::InvalidAudience)
    );
}

#[tokio::test]
async fn expired_beyond_skew_is_rejected() {
    let mut claims = claims();
    claims["nbf"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 6 * 60);
    assert_eq!(
        check_token(&sign("key-1", &claims)).await,
        Err(AuthError::Expired)
    );
}

#[tokio::test]
async fn expired_within_skew_is_accepted() {
    let mut claims = claims();
    claims["nbf"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 4 * 60);
    check_token(&sign("key-1", &claims)).await.unwrap();
}

#[tokio::test]
async fn not_yet_valid_is_rejected() {
    let mut claims = claims();
    claims["nbf"] = json!(now() + 6 * 60);
    assert_eq!(
        check_token(&sign("key-1", &claims)).await,
        Err(AuthError::NotYetValid)
    );
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"key-1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
    let fake = Fake::start().await;
    for token in [
        format!("{header}.{payload}."),
        format!(
            "{header}.{payload}.{}",
            sign("key-1", &claims()).rsplit('.').next().unwrap()
        ),
    ] {
        assert_eq!(
            check(&fake.authenticator(), &bearer(&token)).await,
            Err(AuthError::AlgorithmNotAllowed("none".into()))
        );
    }
    assert_eq!(
        fake.key_fetches().await,
        0,
        "rejected before any key lookup"
    );
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let pem = key1().public.to_public_key_pem(LineEnding::LF).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-1".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(pem.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        check_token(&token).await,
        Err(AuthError::AlgorithmNotAllowed("HS256".into()))
    );
}

#[tokio::test]
async fn rs384_is_rejected() {
    let token = sign_with(key1(), Algorithm::RS384, "key-1", &claims());
    assert_eq!(
        check_token(&token).await,
        Err(AuthError::AlgorithmNotAllowed("RS384".into()))
    );
}

#[tokio::test]
async fn missing_kid_is_rejected() {
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(), &key1().private).unwrap();
    assert_eq!(check_token(&token).await, Err(AuthError::MissingKeyId));
}

/// Config whose refresh interval a test can wait out.
fn short_interval(fake: &Fake) -> BotAuthenticator {
    let mut config = fake.config();
    config.min_refresh_interval = Duration::from_secs(1);
    BotAuthenticator::new(config, reqwest::Client::new())
}

#[tokio::test]
async fn unknown_kid_refreshes_once_then_rejects() {
    let fake = Fake::start().await;
    let auth = short_interval(&fake);
    check(&auth, &bearer(&sign("key-1", &claims())))
        .await
        .unwrap();
    assert_eq!(fake.key_fetches().await, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let unknown = bearer(&sign("key-9", &claims()));
    assert_eq!(
        check(&auth, &unknown).await,
        Err(AuthError::UnknownKeyId("key-9".into()))
    );
    assert_eq!(
        fake.key_fetches().await,
        2,
        "one refresh for the unknown kid"
    );

    let other = bearer(&sign("key-10", &claims()));
    assert_eq!(
        check(&auth, &other).await,
        Err(AuthError::UnknownKeyId("key-10".into()))
    );
    assert_eq!(
        fake.key_fetches().await,
        2,
        "no refresh within the interval"
    );
    assert_eq!(auth.metadata_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_unknown_kids_causes_one_fetch() {
    let fake = Fake::start().await;
    let auth = Arc::new(short_interval(&fake));
    check(&auth, &bearer(&sign("key-1", &claims())))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let auth = auth.clone();
            let headers = bearer(&sign(&format!("forged-{i}"), &claims()));
            tokio::spawn(async move { check(&auth, &headers).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(
            task.await.unwrap(),
            Err(AuthError::UnknownKeyId(_))
        ));
    }
    assert_eq!(fake.key_fetches().await, 2);
}

#[tokio::test]
async fn rotated_key_is_found_after_refresh() {
    let fake = Fake::start().await;
    let auth = short_interval(&fake);
    check(&auth, &bearer(&sign("key-1", &claims())))
        .await
        .unwrap();

    fake.serve_jwks(json!({ "keys": [
        key1().jwk("key-1", Some(&["msteams"])),
        key2().jwk("key-2", None),
    ]}))
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let token = sign_with(key2(), Algorithm::RS256, "key-2", &claims());
    check(&auth, &bearer(&token)).await.unwrap();
    assert_eq!(fake.key_fetches().await, 2);
}

#[tokio::test]
async fn stale_keys_are_refetched() {
    let fake = Fake::start().await;
    let mut config = fake.config();
    config.max_key_age = Duration::from_millis(200);
    config.min_refresh_interval = Duration::from_millis(100);
    let auth = BotAuthenticator::new(config, reqwest::Client::new());
    let token = bearer(&sign("key-1", &claims()));
    check(&auth, &token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    check(&auth, &token).await.unwrap();
    assert_eq!(fake.key_fetches().await, 2);
}

#[tokio::test]
async fn failed_refresh_keeps_the_old_keys() {
    let fake = Fake::start().await;
    let mut config = fake.config();
    config.max_key_age = Duration::from_millis(200);
    config.min_refresh_interval = Duration::from_millis(100);
    let auth = BotAuthenticator::new(config, reqwest::Client::new());
    check(&auth, &bearer(&sign("key-1", &claims())))
        .await
        .unwrap();

    Mock::given(method("GET"))
        .and(path("/keys"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    check(&auth, &bearer(&sign("key-1", &claims())))
        .await
        .unwrap();
    assert_eq!(fake.key_fetches().await, 2, "the stale keys were refreshed");
    assert_eq!(
        check(&auth, &bearer(&sign("key-2", &claims()))).await,
        Err(AuthError::UnknownKeyId("key-2".into()))
    );
}

#[tokio::test]
async fn unreachable_keys_are_reported() {
    let fake = Fake::with_jwks(json!({ "keys": [] })).await;
    let result = check(&fake.authenticator(), &bearer(&sign("key-1", &claims()))).await;
    assert!(
        matches!(&result, Err(AuthError::KeysUnavailable(reason)) if reason.contains("no usable")),
        "{result:?}"
    );
}

#[tokio::test]
async fn service_url_mismatch_is_rejected() {
    let mut claims = claims();
    claims["serviceurl"] = json!("https://evil.example/");
    assert_eq!(
        check_token(&sign("key-1", &claims)).await,
        Err(AuthError::ServiceUrlMismatch)
    );
}

#[tokio::test]
async fn missing_service_url_claim_is_rejected() {
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("serviceurl");
    assert_eq!(
        check_token(&sign("key-1", &claims)).await,
        Err(AuthError::MissingServiceUrl)
    );
}

#[tokio::test]
async fn key_not_endorsed_for_the_channel_is_rejected() {
    let fake = Fake::with_jwks(json!({ "keys": [
        key1().jwk("key-1", Some(&["skype", "webchat"])),
    ]}))
    .await;
    let token = bearer(&sign("key-1", &claims()));
    assert_eq!(
        check(&fake.authenticator(), &token).await,
        Err(AuthError::ChannelNotEndorsed("msteams".into()))
    );
}

#[tokio::test]
async fn key_without_endorsements_passes_the_channel_check() {
    let fake = Fake::with_jwks(json!({ "keys": [key1().jwk("key-1", None)] })).await;
    let token = bearer(&sign("key-1", &claims()));
    check(&fake.authenticator(), &token).await.unwrap();
}

#[tokio::test]
async fn altered_signature_is_rejected() {
    let token = sign("key-1", &claims());
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let mut signature: Vec<char> = signature.chars().collect();
    // Flip a character in the middle (the last one may only carry padding bits).
    let middle = signature.len() / 2;
    signature[middle] = if signature[middle] == 'A' { 'B' } else { 'A' };
    let altered = format!("{rest}.{}", signature.into_iter().collect::<String>());
    assert_eq!(
        check_token(&altered).await,
        Err(AuthError::InvalidSignature)
    );
}

#[tokio::test]
async fn tampered_payload_is_rejected() {
    let original = claims();
    let token = sign("key-1", &original);
    let fake = Fake::start().await;
    let auth = fake.authenticator();
    let mut other_bot = original.clone();
    other_bot["aud"] = json!("another-bot");
    let mut longer = original.clone();
    longer["exp"] = json!(now() + 7200);
    for tampered in [other_bot, longer] {
        assert_eq!(
            check(&auth, &bearer(&with_payload(&token, &tampered))).await,
            Err(AuthError::InvalidSignature)
        );
    }
}

#[tokio::test]
async fn empty_app_id_is_refused() {
    let fake = Fake::start().await;
    let mut config = fake.config();
    config.app_id = String::new();
    let auth = BotAuthenticator::new(config, reqwest::Client::new());
    let mut claims = claims();
    claims["aud"] = json!("");
    assert_eq!(
        check(&auth, &bearer(&sign("key-1", &claims))).await,
        Err(AuthError::AppIdNotConfigured)
    );
}

#[test]
fn errors_never_contain_the_token() {
    let token = sign("key-1", &claims());
    let headers = auth_header(&format!("Bearer {token} {token}"));
    let error = bearer_token(&headers).unwrap_err();
    assert!(!error.to_string().contains(&token));
}

#[test]
fn authenticator_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BotAuthenticator>();
}
