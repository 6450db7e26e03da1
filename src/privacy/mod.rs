//! Privacy: what Referral Desk keeps about the people who ask questions, and how it makes
//! sure that is never more than HRD needs to see demand.
//!
//! Everything that is stored or logged about a conversation passes through this module first:
//! - **Who asked** is stored only as a pseudonymous key from [`Pseudonymiser::pseudonymise`]:
//!   a keyed hash of the platform user id within its channel and workspace. It lets reports
//!   count distinct askers and follow-up questions, but cannot be turned back into a user
//!   without the key, which lives in a separate key file, never in the database.
//! - **What was asked** is stored only after [`redact`] has replaced e-mail addresses, IBANs,
//!   payment cards, BSNs, phone numbers, Dutch addresses and postcodes, dates of birth, names
//!   after cue words ("collega Jan", "dhr. Jansen") and other long numbers with typed
//!   placeholders.
//! - Never stored or logged: raw user ids (Slack/Teams ids, AAD object ids), display names,
//!   unredacted question text, and the pseudonymisation key itself. Handlers pseudonymise and
//!   redact at the edge, before anything reaches the store, a log line or a trace span, and
//!   pass only the results on. [`PrivacyError`] messages name files, never key material.
//!
//! - **Web chat visitors** have no platform id: their identity is a session the server issues
//!   and signs ([`SessionSigner`]), never an id the client chooses.
//!
//! The original text may be used in memory while a question is answered (classification);
//! only the redacted form outlives the request.

mod pseudonym;
mod redact;
pub mod session;

use std::path::PathBuf;

pub use pseudonym::Pseudonymiser;
pub use redact::redact;
pub use session::{IssuedSession, SessionSigner};

/// Errors from setting up pseudonymisation. None of them carries the key or the secret: they
/// end up in logs and on the console.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(
        "the pseudonymisation secret is too short ({len} bytes); it needs at least {min} bytes, or exactly 64 hex characters\n  hint: generate one with `openssl rand -hex 32`"
    )]
    SecretTooShort { len: usize, min: usize },
    #[error(
        "{path} is not a pseudonymisation key file: it must hold exactly 64 hex characters\n  hint: restore the file from a backup; only if the key is lost, move the file away and a new key is created (pseudonyms then no longer match earlier conversations)"
    )]
    InvalidKeyFile { path: PathBuf },
    #[error(
        "{path} is accessible by group or others (mode {mode:03o}); the pseudonymisation key must be private to the service user\n  hint: chmod 600 {path}"
    )]
    KeyFilePermissions { path: PathBuf, mode: u32 },
    #[error("cannot {action} the pseudonymisation key file {path}: {source}")]
    KeyFileIo {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the operating system's random source failed while generating a key: {0}")]
    Randomness(String),
}
