//! `referral-desk report` and `referral-desk suggest-intents`: the demand report from the
//! configured database as HTML (one self-contained file), CSV or JSON, computed by the same
//! code as the dashboard; and a draft YAML of new intents from the emerging topics.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;

use super::{catalogue_dir, load_catalogue};
use crate::analytics::render::{self, HtmlMode, HtmlOptions};
use crate::analytics::{Granularity, ReportPolicy, ReportRequest, compute};
use crate::catalogue::Lang;
use crate::config::Settings;
use crate::store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day (YYYY-MM-DD); widened to the start of its month.
    #[arg(long)]
    pub from: NaiveDate,
    /// Last day (YYYY-MM-DD), inclusive; widened to the end of its month. Months not
    /// published yet (the running month) are listed, not shown.
    #[arg(long)]
    pub to: NaiveDate,
    /// Only `month`: figures are published per calendar month (see the README).
    #[arg(long, value_enum, default_value_t = Granularity::Month)]
    pub granularity: Granularity,
    /// Add the breakdown per department (small departments mostly show "< k").
    #[arg(long)]
    pub by_department: bool,
    /// Add the demo data (synthetic conversations from `seed-demo`) to the real figures; the
    /// report then says so. Without it demo data is left out.
    #[arg(long)]
    pub include_demo: bool,
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// Labels of the HTML report: nl or en.
    #[arg(long, default_value = "nl")]
    pub lang: String,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub config: super::ConfigArgs,
    /// The catalogue the log was routed with, for topic titles and specialist names
    /// (default: catalogue.dir, `intents`).
    #[arg(long, value_name = "DIR")]
    pub catalogue: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    #[arg(long)]
    pub from: NaiveDate,
    #[arg(long)]
    pub to: NaiveDate,
    /// Write the YAML here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also propose topics from the demo data (`seed-demo`), clustered apart from the real
    /// questions. Without it demo data is left out.
    #[arg(long)]
    pub include_demo: bool,
    #[command(flatten)]
    pub config: super::ConfigArgs,
    /// The catalogue the log was routed with (default: catalogue.dir, `intents`).
    #[arg(long, value_name = "DIR")]
    pub catalogue: Option<PathBuf>,
}

fn analytics_settings(config: &super::ConfigArgs) -> anyhow::Result<Settings> {
    let settings = config.load()?;
    if !settings.analytics.enabled {
        bail!(
            "reports are switched off: set analytics.enabled = true (REFERRAL_DESK__ANALYTICS__ENABLED=true)\n  hint: in the Netherlands the works council (ondernemingsraad) must consent first (WOR art. 27); see the README, section Demand reports"
        );
    }
    Ok(settings)
}

fn write_out(out: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let settings = analytics_settings(&args.config)?;
    crate::telemetry::init_tracing(&settings.telemetry);
    let catalogue = load_catalogue(&catalogue_dir(args.catalogue.as_deref(), &settings))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(async {
        let store = store::connect(&settings.database).await.with_context(|| {
            format!("cannot open the database {}", settings.database.describe())
        })?;
        let report = compute(
            store.as_ref(),
            &catalogue,
            &ReportPolicy::from_settings(&settings.analytics),
            &ReportRequest {
                from: args.from,
                to: args.to,
                granularity: args.granularity,
                by_department: args.by_department,
                include_demo: args.include_demo,
            },
            chrono::Utc::now().date_naive(),
        )
        .await?;
        anyhow::Ok(report)
    })?;
    let text = match args.format {
        Format::Html => render::to_html(
            &report,
            &HtmlOptions {
                lang: Lang::from_code(&args.lang),
                mode: HtmlMode::Standalone,
            },
        ),
        Format::Csv => render::to_csv(&report),
        Format::Json => render::to_json(&report),
    };
    write_out(args.out.as_ref(), &text)?;
    if let Some(path) = &args.out {
        eprintln!(
            "wrote {} ({} to {}, {} months, {} figures hidden as fewer than {} askers, {} more hidden to protect them{})",
            path.display(),
            report.from,
            report.to,
            report.periods.len(),
            report.suppressed_small,
            report.min_group_size,
            report.suppressed_complementary,
            if report.includes_demo {
                "; includes demo data"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_suggest(args: SuggestArgs) -> anyhow::Result<ExitCode> {
    let settings = analytics_settings(&args.config)?;
    let catalogue = load_catalogue(&catalogue_dir(args.catalogue.as_deref(), &settings))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let yaml = runtime.block_on(async {
        let store = store::connect(&settings.database).await.with_context(|| {
            format!("cannot open the database {}", settings.database.describe())
        })?;
        crate::analytics::suggest_from_log(
            store.as_ref(),
            &catalogue,
            settings.analytics.min_group_size,
            settings.analytics.low_confidence,
            args.from,
            args.to,
            args.include_demo,
        )
        .await
        .map_err(anyhow::Error::from)
    })?;
    write_out(args.out.as_ref(), &yaml)?;
    Ok(ExitCode::SUCCESS)
}
