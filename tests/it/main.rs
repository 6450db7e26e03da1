//! The integration tests, one binary: each module drives the real `referral-desk` (in process
//! through `Application::build`, or as the `serve`/CLI child process) against real SQLite,
//! PostgreSQL and loopback HTTP fakes of Slack and Microsoft. One binary links the crate once
//! (20 binaries did before); `tests/zz_skip_summary.rs` runs after it and counts the skips.

mod api;
mod benchmarks;
mod browser;
mod catalogue_check;
mod classifier;
mod cli;
mod default_catalogue;
mod demo;
mod embedding;
mod hardening;
mod hybrid;
mod outbox;
mod privacy;
mod redaction;
mod reports;
mod skip_reporting;
mod slack;
mod storage_faults;
mod store;
mod support;
mod teams;
