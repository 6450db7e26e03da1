//! A test that cannot run here says so without flags, the run ends with a count of the skips
//! and why, and under `CI` a skip fails; PostgreSQL tests start a throwaway server from the
//! machine's binaries when none answers.
//!
//! These tests run this test binary again (the newest `it-*` in `target/.../deps`), filtered
//! to one module, with parts of the machine hidden (an empty `PATH`, a model folder or a
//! PostgreSQL URL that is not there), as this process's children: to them this process is
//! "cargo", so the summary binary counts exactly their skips.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use crate::support;

/// The newest test binary `name` of this build.
fn test_binary(name: &str) -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let prefix = format!("{name}-");
    std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .filter(|entry| {
            let file = entry.file_name();
            let file = file.to_string_lossy();
            file.starts_with(&prefix)
                && !file.contains('.')
                && file[prefix.len()..].chars().all(|c| c.is_ascii_hexdigit())
        })
        .max_by_key(|entry| entry.metadata().unwrap().modified().unwrap())
        .unwrap_or_else(|| panic!("no test binary {name} in {}", deps.display()))
        .path()
}

/// Runs test binary `name` with `args`, `CI` as given and the extra environment.
fn run(name: &str, args: &[&str], ci: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(test_binary(name));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CI")
        .env_remove("REFERRAL_DESK_TEST_POSTGRES")
        .env_remove("REFERRAL_DESK_TEST_PG_BINDIR");
    if let Some(ci) = ci {
        command.env("CI", ci);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// One test at a time: they all write the ledger of this process (their children's "cargo").
/// Starts each with an empty ledger.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let _ = std::fs::remove_file(support::skip::ledger_for(std::process::id()));
    guard
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn empty_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn skips_are_shown_without_flags_and_counted_in_one_closing_line() {
    let _serial = one_at_a_time();
    let no_path = empty_dir();
    let browser = run(
        "it",
        &["browser::", "--test-threads=1"],
        None,
        &[("PATH", no_path.path().to_str().unwrap())],
    );
    assert!(browser.status.success(), "{}", text(&browser.stderr));
    let said = text(&browser.stderr);
    assert!(
        said.contains(
            "SKIPPED browser::the_web_chat_page_shows_a_referral_in_a_real_browser: no browser: "
        ) && said.contains("chromium and chromedriver not found"),
        "the skip is visible without --nocapture:\n{said}"
    );

    let no_model = empty_dir();
    let hybrid = run(
        "it",
        &["hybrid::", "--test-threads=1"],
        None,
        &[("REFERRAL_DESK_MODEL_DIR", no_model.path().to_str().unwrap())],
    );
    assert!(hybrid.status.success(), "{}", text(&hybrid.stderr));
    let hybrid_skips = text(&hybrid.stderr).matches("SKIPPED ").count();
    assert!(hybrid_skips >= 1, "{}", text(&hybrid.stderr));

    let nothing_there = "postgres://postgres@127.0.0.1:1/test";
    let store = run(
        "it",
        &["store::postgres", "--test-threads=1"],
        None,
        &[("REFERRAL_DESK_TEST_POSTGRES", nothing_there)],
    );
    assert!(store.status.success(), "{}", text(&store.stderr));
    let said = text(&store.stderr);
    assert!(
        said.contains("SKIPPED store::postgres_store: no PostgreSQL: nothing answers at postgres://postgres@127.0.0.1:1/test (REFERRAL_DESK_TEST_POSTGRES) within 3 s"),
        "the message names the URL tried:\n{said}"
    );
    let store_skips = said.matches("SKIPPED ").count();
    assert!(store_skips >= 2, "{said}");

    let summary = run("zz_skip_summary", &[], None, &[]);
    assert!(summary.status.success());
    let printed = text(&summary.stdout);
    let last = printed.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "skipped: {} (no PostgreSQL: {store_skips}, no browser: 2, no model: {hybrid_skips})",
            2 + store_skips + hybrid_skips
        ),
        "{printed}"
    );
    assert!(printed.contains("postgres_replicas_never_claim_the_same_item: no PostgreSQL"));

    // the ledger is consumed: the next summary of this "run" counts nothing
    let again = run("zz_skip_summary", &[], None, &[]);
    assert_eq!(
        text(&again.stdout).lines().last(),
        Some("skipped: 0 (every test ran)")
    );
}

#[test]
fn under_ci_a_test_that_cannot_run_fails_naming_what_is_missing() {
    let _serial = one_at_a_time();
    let no_path = empty_dir();
    let browser = run(
        "it",
        &["browser::", "--test-threads=1"],
        Some("true"),
        &[("PATH", no_path.path().to_str().unwrap())],
    );
    assert!(!browser.status.success());
    let said = text(&browser.stdout) + &text(&browser.stderr);
    assert!(
        said.contains("cannot run: no browser: chromium and chromedriver not found")
            && said.contains("CI is set"),
        "{said}"
    );

    let store = run(
        "it",
        &["store::postgres_store", "--test-threads=1"],
        Some("true"),
        &[(
            "REFERRAL_DESK_TEST_POSTGRES",
            "postgres://postgres@127.0.0.1:1/test",
        )],
    );
    assert!(!store.status.success());
    let said = text(&store.stdout) + &text(&store.stderr);
    assert!(
        said.contains("no PostgreSQL: nothing answers at postgres://postgres@127.0.0.1:1/test"),
        "{said}"
    );

    // and the summary refuses a run with skips even if a skipping test did not fail
    support::skip::record_for(
        std::process::id(),
        "no browser",
        "a_test",
        "chromium not found",
    );
    let summary = run("zz_skip_summary", &[], Some("true"), &[]);
    assert!(!summary.status.success());
    assert!(text(&summary.stdout).contains("skipped: 1 (no browser: 1)"));
}

#[test]
fn postgres_tests_start_a_throwaway_server_when_none_answers_and_skip_without_binaries() {
    let _serial = one_at_a_time();
    let started = run(
        "it",
        &["store::postgres", "--test-threads=1"],
        None,
        &[("REFERRAL_DESK_TEST_POSTGRES", "throwaway")],
    );
    let said = text(&started.stderr);
    if said.contains("no throwaway server") {
        // this machine has no PostgreSQL binaries: say so (and fail under CI)
        support::skip::skip(
            "no PostgreSQL",
            "no initdb/pg_ctl to start a throwaway server",
        );
        return;
    }
    assert!(started.status.success(), "{said}");
    assert!(
        said.contains("started a throwaway PostgreSQL at 127.0.0.1:"),
        "{said}"
    );
    assert!(!said.contains("SKIPPED"), "{said}");
    let stdout = text(&started.stdout);
    assert!(
        stdout.contains("test store::postgres_store ... ok"),
        "{stdout}"
    );
    assert!(stdout.contains("test store::postgres_replicas_never_claim_the_same_item ... ok"));

    let no_binaries = empty_dir();
    let skipped = run(
        "it",
        &["store::postgres_store", "--test-threads=1"],
        None,
        &[
            ("REFERRAL_DESK_TEST_POSTGRES", "throwaway"),
            (
                "REFERRAL_DESK_TEST_PG_BINDIR",
                no_binaries.path().to_str().unwrap(),
            ),
        ],
    );
    assert!(skipped.status.success());
    let said = text(&skipped.stderr);
    assert!(
        said.contains("SKIPPED store::postgres_store: no PostgreSQL: no throwaway server")
            && said.contains("no initdb and pg_ctl in"),
        "{said}"
    );
    // this process stands for cargo: consume the ledger its children wrote
    let _ = std::fs::remove_file(support::skip::ledger_for(std::process::id()));
}
