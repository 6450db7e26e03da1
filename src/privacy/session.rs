//! Signed sessions for the web chat, whose visitors have no platform identity.
//!
//! The web chat's asker is whoever holds a session the server issued: a random 128-bit id in
//! an HttpOnly cookie, signed with HMAC-SHA256 so that a client can neither choose an id (and
//! with it someone else's asker key) nor change one. The id is the "raw id" the pseudonymiser
//! hashes into the stored asker key; the cookie value is never stored or logged.
//!
//! The signing key is derived from the pseudonymisation key with a label of its own, so every
//! replica that shares `privacy.pseudonym_key` accepts the others' sessions, no second secret
//! has to be configured, and a session token reveals nothing about asker keys (and the
//! reverse).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};
use sha2::Sha256;

use super::Pseudonymiser;
use crate::config::SameSite;

/// The derivation label: the pseudonymiser's HMAC over this "namespace" and an empty id is the
/// session key. No channel namespace looks like it (they are `web`, `slack:<team>` and
/// `teams:<tenant>`), so no stored asker key can equal the session key.
const KEY_LABEL: &str = "referral-desk/web-chat-session-signing-key/v1";
/// Hashed in before the id, so a MAC made for a session can be used for nothing else.
const MAC_CONTEXT: &[u8] = b"rd_chat\x1f";
/// Hex characters of a session id (128 bits).
const ID_HEX: usize = 32;
/// Base64url characters of an HMAC-SHA256 without padding.
const MAC_B64: usize = 43;

/// The cookie's name. With `Secure`, the `__Host-` prefix makes browsers refuse the cookie
/// from anywhere but this host over HTTPS, with `Path=/` and no `Domain`: a sibling subdomain
/// cannot plant its own session in the visitor's browser. Without `Secure` the prefix is not
/// allowed, so the plain name is used.
const COOKIE_SECURE: &str = "__Host-rd_chat";
const COOKIE_PLAIN: &str = "rd_chat";

/// Issues and checks web chat sessions. `Debug` never shows the key.
pub struct SessionSigner {
    key: SecretBox<[u8; 32]>,
    secure: bool,
    same_site: SameSite,
}

impl std::fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SessionSigner([key redacted], secure: {}, same_site: {})",
            self.secure,
            self.same_site.as_str()
        )
    }
}

/// A newly issued session: its id (the asker's raw id, memory only) and the signed token that
/// goes into the cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedSession {
    pub id: String,
    pub token: String,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedSession([redacted])")
    }
}

impl SessionSigner {
    /// The signer for `pseudonymiser`'s key, with secure cookie defaults (`Secure`,
    /// `SameSite=Strict`) until [`SessionSigner::with_cookie_policy`] says otherwise.
    pub fn derive(pseudonymiser: &Pseudonymiser) -> SessionSigner {
        let derived = SecretString::from(pseudonymiser.pseudonymise(KEY_LABEL, ""));
        let mut key = SecretBox::<[u8; 32]>::default();
        // the pseudonymiser always answers 64 lowercase hex characters
        hex::decode_to_slice(derived.expose_secret(), key.expose_secret_mut())
            .expect("a pseudonym is 32 bytes of hex");
        SessionSigner {
            key,
            secure: true,
            same_site: SameSite::Strict,
        }
    }

    /// `secure`: the cookie only travels over HTTPS (`server.secure_cookies`); `same_site`:
    /// `web.cookie_same_site`.
    pub fn with_cookie_policy(mut self, secure: bool, same_site: SameSite) -> SessionSigner {
        self.secure = secure;
        self.same_site = same_site;
        self
    }

    fn mac(&self, id: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(MAC_CONTEXT);
        mac.update(id.as_bytes());
        mac
    }

    /// A new session with a random 128-bit id.
    pub fn issue(&self) -> IssuedSession {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&id).finalize().into_bytes());
        IssuedSession {
            token: format!("{id}.{tag}"),
            id,
        }
    }

    /// The session id in `token` when this server (or a replica with the same key) issued
    /// it; `None` for anything else. The MAC is compared in constant time.
    pub fn verify(&self, token: &str) -> Option<String> {
        let (id, tag) = token.split_once('.')?;
        if id.len() != ID_HEX
            || tag.len() != MAC_B64
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(id).verify_slice(&tag).ok()?;
        Some(id.to_string())
    }

    /// The cookie's name under this policy.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure {
            COOKIE_SECURE
        } else {
            COOKIE_PLAIN
        }
    }

    /// The verified session in a `Cookie` request header (`a=1; b=2`), if any. A header may
    /// carry the name more than once (cookies set for other paths or by other hosts); the
    /// first one that verifies counts.
    pub fn session_in(&self, cookie_header: &str) -> Option<String> {
        let name = self.cookie_name();
        cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(key, _)| *key == name)
            .find_map(|(_, value)| self.verify(value.trim().trim_matches('"')))
    }

    /// The `Set-Cookie` value for `session`: HttpOnly (scripts on the page cannot read it),
    /// `Path=/`, the configured `SameSite` and, unless switched off, `Secure`. No `Max-Age`:
    /// the session ends with the browser session, so the id does not follow a visitor for
    /// longer than a conversation needs (follow-ups on an answer, repeated deliveries).
    pub fn set_cookie(&self, session: &IssuedSession) -> String {
        let mut cookie = format!(
            "{}={}; HttpOnly; Path=/; SameSite={}",
            self.cookie_name(),
            session.token,
            self.same_site.as_str()
        );
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &str) -> SessionSigner {
        SessionSigner::derive(&Pseudonymiser::from_secret(&SecretString::from(key)).unwrap())
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const OTHER: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    #[test]
    fn issued_sessions_verify_here_and_on_replicas_with_the_same_key_only() {
        let one = signer(KEY);
        let session = one.issue();
        assert_eq!(session.id.len(), 32);
        assert_eq!(
            one.verify(&session.token).as_deref(),
            Some(session.id.as_str())
        );
        // another replica: same configured key, same answer
        assert_eq!(
            signer(KEY).verify(&session.token).as_deref(),
            Some(session.id.as_str())
        );
        assert_eq!(signer(OTHER).verify(&session.token), None);
        assert_ne!(one.issue().id, session.id, "ids are random");
    }

    #[test]
    fn chosen_forged_or_altered_tokens_are_refused() {
        let signer = signer(KEY);
        let session = signer.issue();
        let (id, tag) = session.token.split_once('.').unwrap();
        let other_id = format!("{:032x}", 42u128);
        let flipped_last = {
            let mut t = session.token.clone();
            let last = t.pop().unwrap();
            t.push(if last == 'A' { 'B' } else { 'A' });
            t
        };
        for forged in [
            String::new(),
            id.to_string(),
            "s".to_string(),
            format!("{other_id}.{tag}"),
            format!("{}.{tag}", id.to_uppercase()),
            format!("{id}.{tag}="),
            format!("{id}..{tag}"),
            format!("{id}.{}", "A".repeat(43)),
            flipped_last,
            format!(" {}", session.token),
        ] {
            assert_eq!(signer.verify(&forged), None, "{forged:?}");
        }
    }

    #[test]
    fn the_session_key_is_not_an_asker_key() {
        let pseudonymiser = Pseudonymiser::from_secret(&SecretString::from(KEY)).unwrap();
        let signer = SessionSigner::derive(&pseudonymiser);
        let session = signer.issue();
        // what the store keeps for this visitor
        let asker_key = pseudonymiser.pseudonymise("web", &session.id);
        assert!(!session.token.contains(&asker_key[..16]));
        assert!(!asker_key.contains(&session.id));
    }

    #[test]
    fn cookies_are_http_only_with_the_configured_flags_and_read_back() {
        let secure = signer(KEY);
        let session = secure.issue();
        let set = secure.set_cookie(&session);
        assert_eq!(
            set,
            format!(
                "__Host-rd_chat={}; HttpOnly; Path=/; SameSite=Strict; Secure",
                session.token
            )
        );
        let plain = signer(KEY).with_cookie_policy(false, SameSite::Lax);
        assert_eq!(
            plain.set_cookie(&session),
            format!("rd_chat={}; HttpOnly; Path=/; SameSite=Lax", session.token)
        );
        let header = format!(
            "theme=dark; __Host-rd_chat=forged.value; __Host-rd_chat={}",
            session.token
        );
        assert_eq!(
            secure.session_in(&header).as_deref(),
            Some(session.id.as_str())
        );
        // the plain name is not read under the secure policy, and the reverse
        assert_eq!(
            secure.session_in(&format!("rd_chat={}", session.token)),
            None
        );
        assert_eq!(plain.session_in(&header), None);
        assert_eq!(secure.session_in("__Host-rd_chat=forged.value"), None);
        assert!(!format!("{secure:?}").contains(&session.token));
        assert_eq!(format!("{session:?}"), "IssuedSession([redacted])");
    }
}
