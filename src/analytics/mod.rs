//! Anonymised demand reports for HRD: what the organisation asks about, how demand moves,
//! what the desk cannot answer yet, and how referrals load the specialists, computed from the
//! conversation log only and k-anonymous before they leave [`compute`].

pub mod compute;
pub mod model;
pub mod render;
pub mod seed;
pub mod suggest;
pub mod suppress;
pub mod topics;
pub mod web;

pub use compute::{AnalyticsError, ReportPolicy, ReportRequest, compute, suggest_from_log};
pub use model::*;
