//! A fake Bot Framework login service for integration tests: it serves the OpenID metadata
//! document and a JWKS with one RSA key (kid `key-1`, endorsed for `msteams`), and mints
//! tokens signed with that key, valid or deliberately broken. Point
//! `AuthConfig::bot_framework(app_id, fake.metadata_url())` at it.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The issuer Bot Framework puts in connector tokens.
pub const ISSUER: &str = "https://api.botframework.com";

/// The key id of the one key the fake serves.
pub const KID: &str = "key-1";

/// Where the fake serves its metadata document and keys.
const METADATA_PATH: &str = "/.well-known/openidconfiguration";
const KEYS_PATH: &str = "/keys";

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

struct SigningKey {
    private: EncodingKey,
    public: RsaPublicKey,
}

/// RSA key generation is slow: one key serves every fake in the test binary.
static KEY: LazyLock<SigningKey> = LazyLock::new(|| {
    let private = RsaPrivateKey::new(&mut Rng(rand::rng()), 2048).expect("RSA key generation");
    let der = private.to_pkcs1_der().expect("PKCS#1 encoding");
    SigningKey {
        private: EncodingKey::from_rsa_der(der.as_bytes()),
        public: private.to_public_key(),
    }
});

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A running fake; `server` is exposed for tests that mount extra mocks or count requests.
pub struct FakeBotFramework {
    pub server: MockServer,
    key: &'static SigningKey,
}

impl FakeBotFramework {
    /// Serves the metadata document and a JWKS with key `key-1`, endorsed for `msteams`.
    pub async fn start() -> FakeBotFramework {
        let key = &*KEY;
        let server = MockServer::start().await;
        let metadata = json!({
            "issuer": ISSUER,
            "jwks_uri": format!("{}{KEYS_PATH}", server.uri()),
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let jwks = json!({ "keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": KID,
            "n": URL_SAFE_NO_PAD.encode(key.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.public.e().to_bytes_be()),
            "endorsements": ["msteams"],
        }]});
        Mock::given(method("GET"))
            .and(path(METADATA_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(metadata))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(KEYS_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
            .mount(&server)
            .await;
        FakeBotFramework { server, key }
    }

    /// The OpenID metadata URL to configure the authenticator with.
    pub fn metadata_url(&self) -> String {
        format!("{}{METADATA_PATH}", self.server.uri())
    }

    /// The claims of a valid connector token for `app_id` and `service_url`, to modify.
    pub fn claims(app_id: &str, service_url: &str) -> Value {
        json!({
            "iss": ISSUER,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": now() - 60,
            "exp": now() + 3600,
        })
    }

    /// A valid RS256 connector token for `app_id` and `service_url`, signed with `key-1`.
    pub fn token(&self, app_id: &str, service_url: &str) -> String {
        self.token_with(Self::claims(app_id, service_url), KID)
    }

    /// An RS256 token with any claims and `kid`, signed with `key-1`'s private key.
    pub fn token_with(&self, claims: Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, &claims, &self.key.private).expect("RS256 signing")
    }

    /// The classic key-confusion forgery: HS256 with the public key's PEM text as the secret.
    pub fn hs256_with_public_key(&self, claims: Value) -> String {
        let pem = self
            .key
            .public
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM encoding");
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(KID.to_string());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(pem.as_bytes()))
            .expect("HS256 signing")
    }

    /// An unsigned token: `alg: none`, kid `key-1`, empty signature.
    pub fn alg_none(&self, claims: Value) -> String {
        let header = json!({ "alg": "none", "typ": "JWT", "kid": KID });
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
        )
    }

    /// How many requests reached the JWKS endpoint so far.
    pub async fn key_fetches(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|request| request.url.path() == KEYS_PATH)
            .count()
    }
}
