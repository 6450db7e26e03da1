//! Skipping a test that cannot run here, visibly.
//!
//! A test that needs something this machine lacks (PostgreSQL, a browser, the model folder, the
//! benchmark data) calls [`skip`] and returns. The line `SKIPPED <test>: <reason>: <detail>` is
//! written straight to the process's stderr, so it shows without `--nocapture`, and appended to
//! a ledger that `tests/zz_skip_summary.rs`, the last test binary of `cargo test`, counts into
//! one closing line such as `skipped: 7 (no PostgreSQL: 5, no browser: 2)`.
//!
//! With `CI` set (and not `false`/`0`), a skip is a failure: CI must run everything.
//!
//! The ledger is `$CARGO_TARGET_TMPDIR/skipped/<pid of cargo>.tsv`: every test binary of one
//! `cargo test` is a child of the same cargo process, so the parent's pid names the run.

use std::io::Write;
use std::path::PathBuf;

/// Whether this run is CI's, where nothing may be skipped.
pub fn under_ci() -> bool {
    std::env::var("CI")
        .map(|value| !matches!(value.trim(), "" | "0" | "false"))
        .unwrap_or(false)
}

/// The folder of skip ledgers, one file per `cargo test` run.
pub fn ledger_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped")
}

/// The ledger of the `cargo test` run this process belongs to.
pub fn ledger_for(cargo_pid: u32) -> PathBuf {
    ledger_dir().join(format!("{cargo_pid}.tsv"))
}

/// Records that the calling test cannot run, for `reason` (a short category such as
/// "no PostgreSQL", which the closing line counts) and `detail` (what was missing and how to
/// get it). Panics instead under CI. The caller returns after this.
pub fn skip(reason: &str, detail: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string();
    if under_ci() {
        panic!(
            "{test} cannot run: {reason}: {detail} (CI is set, so a test that cannot run fails \
             instead of skipping)"
        );
    }
    let line = format!("SKIPPED {test}: {reason}: {detail}");
    // straight to the file descriptor: libtest captures only the print macros
    let _ = writeln!(std::io::stderr(), "{line}");
    record_for(std::os::unix::process::parent_id(), reason, &test, detail);
}

/// Appends one skip to the ledger of the run of `cargo_pid`.
pub fn record_for(cargo_pid: u32, reason: &str, test: &str, detail: &str) {
    let record = format!(
        "{}\t{}\t{}\n",
        one_field(reason),
        one_field(test),
        one_field(detail)
    );
    let ledger = ledger_for(cargo_pid);
    let written = std::fs::create_dir_all(ledger_dir()).and_then(|()| {
        // one short append per skip: O_APPEND keeps lines from parallel tests whole
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&ledger)?
            .write_all(record.as_bytes())
    });
    if let Err(error) = written {
        let _ = writeln!(
            std::io::stderr(),
            "(the skip could not be recorded in {}: {error}; the closing count misses it)",
            ledger.display()
        );
    }
}

fn one_field(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}
