//! The demand report as HRD reads it: the `GET /reports` dashboard, a self-contained HTML
//! file to mail, CSV and JSON. Every output is made from the one [`DemandReport`], which is
//! already k-anonymous; the renderers only format it.
//!
//! Rules every renderer keeps:
//! - A hidden [`Cell`](super::Cell) is shown as its mark and nothing else: `< k` (`k` =
//!   [`DemandReport::min_group_size`]) when fewer than k people asked, `•` when it is hidden
//!   to protect other figures, `…` for a total over months that includes a hidden month, each
//!   with a legend, so a large hidden figure never reads as "almost none". No bar, no point,
//!   no difference that could reveal it (no "other" rows, no shares computed here: shares
//!   and changes are the model's).
//! - Numbers are plain integers everywhere (no thousands separators), so the HTML, the CSV
//!   and the JSON show the very same figures. Ratios are the model's `f64`: the CSV writes
//!   them as JSON does, the HTML as whole percentages.
//!
//! The HTML is rendered with [askama] templates (`templates/`, compiled into the binary and
//! checked at build time, HTML-escaped by default) and its charts are SVG drawn by
//! [plotters]' SVG backend and inlined in the page. The page has no script, no external
//! resource and no `style` attribute; its one inline `<style>` element is the same on every
//! page, so [`content_security_policy`] can allow it by hash instead of `'unsafe-inline'`.

mod charts;
mod csv;
mod html;
mod labels;

use super::DemandReport;

pub use crate::catalogue::Lang;
pub use csv::to_csv;
pub use html::{LoginError, content_security_policy, disabled_page, login_page, to_html};

/// How [`to_html`] renders the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtmlOptions {
    pub lang: Lang,
    pub mode: HtmlMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtmlMode {
    /// `GET /reports`: the dashboard page served by the app, with a period selector form
    /// (`GET /reports` with `from`, `to`, `granularity`, `by_department=true` when ticked,
    /// `lang`) that works without JavaScript, and a "log out" form (`POST /reports/logout`).
    /// `by_department` is the checkbox's current state.
    Dashboard { by_department: bool },
    /// `referral-desk report --format html`: one self-contained file that can be mailed
    /// (inline CSS, inline SVG, no external references, no forms).
    Standalone,
}

/// The report as pretty-printed JSON (the model's own serde form, so it reads back with
/// `serde_json::from_str::<DemandReport>`).
pub fn to_json(report: &DemandReport) -> String {
    // The model is plain data (strings, numbers, dates, finite ratios): serialising it cannot
    // fail, and a non-finite ratio becomes `null` rather than an error.
    serde_json::to_string_pretty(report).unwrap_or_else(|_| String::from("{}"))
}

/// `< k`: how the charts mark a figure they cannot draw.
pub(crate) fn suppressed_text(report: &DemandReport) -> String {
    format!("< {}", report.min_group_size)
}

#[cfg(test)]
mod tests;
