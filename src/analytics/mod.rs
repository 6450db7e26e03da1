//! Anonymised demand reports for HRD: what the organisation asks about, how demand moves,
//! what the desk cannot answer yet, and how referrals load the specialists.
//!
//! - [`release`]: the published monthly tables, counted from the conversation log,
//!   k-anonymised ([`suppress`], with an exact disclosure audit) and frozen in the store;
//! - [`compute`]: a report for a range, as a view of those tables ([`model`]);
//! - [`render`]: the dashboard, HTML file, CSV and JSON (the HTTP routes are in
//!   `server::reports`);
//! - [`topics`]: emerging topics (clusters of unmet demand), on the generic clustering in
//!   `cluster`; [`suggest`]: draft intents from them.
//!
//! Computation and rendering only: the report routes are in `server::reports`, and the
//! synthetic demo conversations in `demo`.

mod cluster;
pub mod compute;
pub mod model;
pub mod release;
pub mod render;
pub mod suggest;
pub mod suppress;
pub mod topics;

pub use compute::{AnalyticsError, ReportPolicy, ReportRequest, compute, suggest_from_log};
pub use model::*;
