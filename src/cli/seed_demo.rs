//! `referral-desk seed-demo`: fills the configured database with synthetic conversations, so a
//! newcomer sees a populated dashboard and the reports can be benchmarked; `--remove` takes
//! them out again. The generating and writing is `crate::demo`; this file reads the
//! options, drives the progress bar and prints the one-line summary.
//!
//! Seeded rows are marked as demo data and left out of every report unless it is asked to
//! include them; a database holding real conversations is refused unless `--force`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::demo::{SeedOptions, SeedSummary, remove_demo, seed_demo};

#[derive(Debug, Args)]
pub struct SeedDemoArgs {
    /// How many conversations to add (each with its inbox row).
    #[arg(long, value_name = "N", required_unless_present = "remove")]
    pub conversations: Option<usize>,
    /// Spread them over this many days before --end.
    #[arg(long, default_value_t = 182, value_name = "D")]
    pub days: u32,
    /// The day after the last seeded day (default: today, so up to yesterday).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub end: Option<NaiveDate>,
    /// Seed of the generator: the same seed gives the same conversations. A seed already in
    /// the database is refused; use another one to add more.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub config: super::ConfigArgs,
    /// Folder with the catalogue's YAML files: the intents, specialists and desks to route to
    /// (default: catalogue.dir, `intents`).
    #[arg(long, value_name = "DIR")]
    pub catalogue: Option<PathBuf>,
    /// Seed even though the database holds real conversations. The demo rows are marked,
    /// left out of reports unless they ask for demo data, and `--remove` deletes them.
    #[arg(long, conflicts_with = "remove")]
    pub force: bool,
    /// Delete every seeded row (and the published demo tables) instead of seeding; real
    /// conversations are not touched. Prints how many rows per table.
    #[arg(long, conflicts_with_all = ["conversations", "end", "seed"])]
    pub remove: bool,
}

pub fn run(args: SeedDemoArgs) -> anyhow::Result<ExitCode> {
    let line = if args.remove {
        remove(&args)?
    } else {
        seed(&args, true)?
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    Ok(ExitCode::SUCCESS)
}

/// Seeds and returns the summary line; `show_progress` draws a bar on stderr (only when it is
/// a terminal).
fn seed(args: &SeedDemoArgs, show_progress: bool) -> anyhow::Result<String> {
    let conversations = args.conversations.unwrap_or(0);
    if conversations == 0 {
        bail!("--conversations must be at least 1");
    }
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let settings = args.config.load()?;
    let catalogue =
        super::load_catalogue(&super::catalogue_dir(args.catalogue.as_deref(), &settings))?;
    let options = SeedOptions {
        conversations,
        days: args.days,
        end: args
            .end
            .unwrap_or_else(|| chrono::Local::now().date_naive()),
        seed: args.seed,
        force: args.force,
    };
    let bar = show_progress.then(|| {
        let bar = ProgressBar::new(conversations as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>10} [{bar:30}] {pos}/{len} conversations ({per_sec}, {eta} left)",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_prefix("seeding");
        bar
    });
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(seed_demo(&settings, &catalogue, &options, bar.as_ref()));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    Ok(summary_line(
        &summary,
        &options,
        &settings.database.describe(),
    ))
}

/// `--remove`: deletes the demo data and returns one line with the rows deleted per table.
fn remove(args: &SeedDemoArgs) -> anyhow::Result<String> {
    let settings = args.config.load()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let removed = runtime.block_on(remove_demo(&settings))?;
    Ok(removal_line(&removed, &settings.database.describe()))
}

/// `removed demo data from DB: 5000 conversations, 5000 inbox, 0 outbox, 2 report_releases`.
pub fn removal_line(removed: &[(&str, u64)], database: &str) -> String {
    let order = ["conversations", "inbox", "outbox", "report_releases"];
    let mut parts: Vec<String> = Vec::new();
    for table in order {
        if let Some((_, n)) = removed.iter().find(|(t, _)| *t == table) {
            parts.push(format!("{n} {table}"));
        }
    }
    format!(
        "removed the demo data from {database}: {} rows deleted (real conversations untouched)",
        parts.join(", ")
    )
}

/// One line: how many, by how many askers, where, how fast, and the planted topics.
pub fn summary_line(summary: &SeedSummary, options: &SeedOptions, database: &str) -> String {
    let first = options.end - chrono::Duration::days(i64::from(options.days));
    let last = options.end.pred_opt().unwrap_or(options.end);
    let planted: Vec<String> = summary
        .planted
        .iter()
        .map(|t| format!("{} ({} askers)", t.name, t.askers))
        .collect();
    format!(
        "seeded {} conversations from {} askers into {database} in {:.2} s ({:.0} per second); \
         {first} to {last}, seed {}; planted out-of-scope topics: {}",
        summary.conversations,
        summary.askers,
        summary.seconds,
        summary.conversations as f64 / summary.seconds.max(1e-9),
        options.seed,
        planted.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(extra: &[&str]) -> SeedDemoArgs {
        let mut line = vec!["referral-desk", "seed-demo"];
        line.extend(extra);
        match Cli::try_parse_from(line)
            .expect("a valid command line")
            .command
        {
            Command::SeedDemo(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn prints_a_one_line_summary_with_count_askers_and_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("desk.db");
        let config = dir.path().join("desk.toml");
        std::fs::write(
            &config,
            format!("[database]\nurl = \"sqlite://{}\"\n", db.display()),
        )
        .unwrap();
        let args = args(&[
            "--conversations",
            "400",
            "--days",
            "30",
            "--end",
            "2026-11-27",
            "--seed",
            "9",
            "--config",
            config.to_str().unwrap(),
        ]);
        assert_eq!(args.catalogue, None);
        let line = seed(&args, false).expect("seeding works");
        let pattern = regex::Regex::new(
            r"^seeded 400 conversations from (\d+) askers into sqlite://\S+desk\.db in (\d+\.\d\d) s \(\d+ per second\); 2026-10-28 to 2026-11-26, seed 9; planted out-of-scope topics: parking \(\d+ askers\), childcare \(\d+ askers\), expat_relocation \(\d+ askers\), christmas_hamper \(\d+ askers\), lactation_room \(\d askers\)$",
        )
        .unwrap();
        let captures = pattern.captures(&line).unwrap_or_else(|| panic!("{line}"));
        let askers: i64 = captures[1].parse().unwrap();
        assert!(captures[2].parse::<f64>().unwrap() > 0.0);

        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (rows, distinct): (i64, i64) = runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT asker_key) FROM conversations")
                .fetch_one(&pool)
                .await
                .unwrap()
        });
        assert_eq!((rows, distinct), (400, askers));

        let again = seed(&args, false).expect_err("the same seed twice");
        assert!(
            again.downcast_ref::<crate::demo::SeedError>().is_some(),
            "{again:#}"
        );
        assert!(format!("{again:#}").contains("--seed 9"), "{again:#}");
    }

    #[test]
    fn defaults_and_refusals() {
        let parsed = args(&["--conversations", "10"]);
        assert_eq!(
            (
                parsed.days,
                parsed.seed,
                parsed.end,
                parsed.config.config,
                parsed.force
            ),
            (182, 42, None, None, false)
        );
        assert!(args(&["--remove"]).remove);
        assert!(
            Cli::try_parse_from(["referral-desk", "seed-demo", "--remove", "--force"]).is_err()
        );
        assert!(
            Cli::try_parse_from([
                "referral-desk",
                "seed-demo",
                "--remove",
                "--conversations",
                "5"
            ])
            .is_err()
        );
        assert!(Cli::try_parse_from(["referral-desk", "seed-demo"]).is_err());
        assert!(
            Cli::try_parse_from([
                "referral-desk",
                "seed-demo",
                "--conversations",
                "5",
                "--end",
                "27-11-2026"
            ])
            .is_err()
        );
        let error = seed(&args(&["--conversations", "0"]), false).unwrap_err();
        assert_eq!(error.to_string(), "--conversations must be at least 1");
    }
}
