//! Referral Desk: a Slack and Microsoft Teams chatbot that turns an organisation's HR
//! development team into a referral desk. Employees ask a question in chat; the bot works out
//! what they need (the *intent*), refers them to the right specialist, knowledge item or desk,
//! and logs the conversation pseudonymised so HRD can see what the organisation needs.
//!
//! # Layout
//!
//! A question's way through the crate, top to bottom:
//!
//! ```text
//! server (HTTP: Application, router, reports, health)      cli (one file per subcommand)
//!   └─ channels::{slack, teams, web}: verify, parse, present; each its own router
//!        └─ pipeline: inbox -> classify -> route -> log -> outbox; follow-ups
//!             ├─ routing::route: where the question goes, as a Reply (one function)
//!             │    └─ nlu (classifier, embeddings)   catalogue (what HRD edits)
//!             ├─ store (SQLite / PostgreSQL)   privacy (pseudonyms, redaction)
//!             └─ telemetry
//! analytics (demand reports from the log)   demo (synthetic conversations)
//! bottom layer: config, text, phrases, error, net
//! ```
//!
//! Modules only import modules below them; nothing imports `server` or `cli`.
//!
//! - [`server`]: the HTTP layer. [`server::Application`] builds everything from
//!   [`config::Settings`] and serves it; [`server::router`] merges the channels' routers with
//!   the report and health routes and applies the middleware (deadlines, body limits, metrics,
//!   security headers); its own accept loop enforces connection timeouts.
//! - [`cli`]: the `referral-desk` subcommands (`serve`, `classify`, `check`, `eval`, `embed`,
//!   `bench`, `report`, `suggest-intents`, `seed-demo`); `main.rs` only dispatches. Every
//!   command takes `--config` the same way.
//! - [`channels`]: Slack, Teams and the web chat. Each verifies and parses its platform's
//!   requests into a [`pipeline::Question`], hands follow-ups to the pipeline, and presents the
//!   [`routing::Reply`] (Block Kit, Adaptive Cards, JSON); `channels::present` is the neutral
//!   presenter (what a reply shows, trimmed and labelled, and what fits) that Block Kit and
//!   Adaptive Cards only serialise.
//! - [`pipeline`]: the channel-neutral work: the durable, deduplicated inbox, answering
//!   (embed, classify, ask the store whose turn it is, [`routing::route`], log, queue the
//!   reply), the outbox dispatcher, and follow-ups (feedback, "did you mean" picks, handoffs),
//!   each taken only from the person who asked.
//! - [`routing`]: where a question goes, decided in one synchronous function, and the reply
//!   model; the specialist directory for "who knows about X".
//! - [`nlu`]: language understanding: TF-IDF features, the softmax-regression classifier and
//!   its decisions, sentence embeddings on candle, language detection, and the evaluation
//!   behind `referral-desk eval`.
//! - [`catalogue`]: the routing catalogue HRD edits (YAML in `intents/`): loading validates
//!   everything and reports each problem with `file:line` and a fix hint.
//! - [`store`]: the [`store::ConversationStore`] trait and its SQLite and PostgreSQL backends
//!   (inbox, conversation log, outbox, published report tables), and the bulk writer of demo
//!   rows.
//! - [`privacy`]: pseudonymous asker keys, redaction of personal data, web chat sessions.
//! - [`analytics`]: the anonymised demand reports: published monthly tables, k-anonymous
//!   suppression, emerging topics, HTML/CSV/JSON rendering.
//! - [`demo`]: synthetic demo conversations (`seed-demo`), routed by [`routing::route`] and
//!   written through [`store::insert_demo_rows`].
//! - [`telemetry`]: logging and Prometheus metrics.
//! - [`config`]: [`config::Settings`]: defaults, TOML file, environment variables (the only
//!   module that reads the environment); secrets that cannot be printed.
//! - [`text`]: the two languages and text normalisation; [`phrases`]: every fixed sentence and
//!   label in Dutch and English; [`error`]: [`error::AppError`], every handler's error as an
//!   HTTP answer; `net`: client addresses behind proxies and rate limits (crate-internal).

pub mod analytics;
pub mod catalogue;
pub mod channels;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
mod net;
pub mod nlu;
pub mod phrases;
pub mod pipeline;
pub mod privacy;
pub mod routing;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod text;
