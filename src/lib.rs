//! Referral Desk: a Slack and Microsoft Teams chatbot that turns an organisation's HR
//! development team into a referral desk. Employees ask a question in chat; the bot works out
//! what they need (the *intent*), refers them to the right specialist, knowledge item or desk,
//! and logs the conversation pseudonymised so HRD can see what the organisation needs.
//!
//! # Layout
//! - [`catalogue`]: the routing catalogue that HRD edits (YAML in `intents/`): intents with
//!   example questions, the specialist directory, knowledge items, desks and settings. Loading
//!   validates everything and reports each problem with `file:line` and a fix hint.
//! - [`nlu`]: language understanding. Text normalisation, TF-IDF features, a softmax
//!   regression intent classifier trained from the catalogue at start-up, language detection,
//!   and the evaluation metrics behind `referral-desk eval`.
//! - [`routing`]: from a decision to the specialists, knowledge items or desk to offer, in the
//!   asker's language; the fallback desk for out-of-scope questions.
//! - [`cli`]: one file per subcommand of the `referral-desk` binary; `main.rs` only dispatches.
//!
//! The classifier is pure (catalogue in, model out, no I/O), so the server, the CLI and the
//! tests all share one implementation.

pub mod analytics;
pub mod catalogue;
pub mod channels;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod net;
pub mod nlu;
pub mod pipeline;
pub mod privacy;
pub mod routing;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod text;
