//! The closing line of `cargo test`: how many tests were skipped, and why.
//!
//! Cargo runs test binaries in name order, so this one (`harness = false` in Cargo.toml) runs
//! after all the others of the same `cargo test` and reads the ledger they wrote
//! (`tests/it/support/skip.rs`). It prints every skipped test, then one line such as
//! `skipped: 7 (no PostgreSQL: 5, no browser: 2)`, and removes the ledger. Under `CI` any skip
//! fails the run (the skipping tests already failed there; this is the second net).
//!
//! Run alone (`cargo test --test zz_skip_summary`) it reports the skips of that run only: none.

use std::collections::BTreeMap;
use std::process::ExitCode;

#[path = "it/support/skip.rs"]
#[allow(dead_code)] // the summary reads the ledger; it records nothing
mod skip;

use skip::{ledger_dir, ledger_for, under_ci};

fn main() -> ExitCode {
    let cargo = std::os::unix::process::parent_id();
    let ledger = ledger_for(cargo);
    let text = std::fs::read_to_string(&ledger).unwrap_or_default();
    let _ = std::fs::remove_file(&ledger);
    remove_ledgers_of_finished_runs();

    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    let mut lines = Vec::new();
    for record in text.lines().filter(|line| !line.trim().is_empty()) {
        let mut fields = record.splitn(3, '\t');
        let reason = fields.next().unwrap_or("unknown");
        let test = fields.next().unwrap_or("?");
        let detail = fields.next().unwrap_or("");
        *by_reason.entry(reason).or_default() += 1;
        lines.push(format!("  {test}: {reason}: {detail}"));
    }
    let total: usize = by_reason.values().sum();
    println!();
    if total == 0 {
        println!("skipped: 0 (every test ran)");
        return ExitCode::SUCCESS;
    }
    println!("Skipped tests:");
    for line in &lines {
        println!("{line}");
    }
    let reasons: Vec<String> = by_reason
        .iter()
        .map(|(reason, count)| format!("{reason}: {count}"))
        .collect();
    println!("skipped: {total} ({})", reasons.join(", "));
    if under_ci() {
        eprintln!("CI is set: every test must run here, so skipped tests fail the run");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Ledgers of `cargo test` runs that ended before their summary (a failing binary stops cargo).
fn remove_ledgers_of_finished_runs() {
    let Ok(entries) = std::fs::read_dir(ledger_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|name| name.strip_suffix(".tsv")) else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
