//! The `referral-desk` command line: one file per subcommand, sharing the catalogue loading
//! so every command refuses a broken catalogue with the same messages as `check`.

mod bench;
mod check;
mod classify;
mod embed;
mod eval;
mod report;
mod seed_demo;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::catalogue::Catalogue;
use crate::config::Settings;

/// Referral Desk: routes employees' questions to the right specialist, knowledge item or desk.
#[derive(Debug, Parser)]
#[command(name = "referral-desk", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify questions and show where the desk would send them.
    Classify(classify::ClassifyArgs),
    /// Print the sentence vectors the embedding model gives texts (checks a model folder).
    Embed(embed::EmbedArgs),
    /// Validate the routing catalogue and list every problem with file:line and a fix.
    Check(check::CheckArgs),
    /// Measure the classifier on labelled data (accuracy, out-of-scope detection, latency).
    Eval(Box<eval::EvalArgs>),
    /// Run the chat server: web chat, JSON API, health and metrics.
    Serve(serve::ServeArgs),
    /// Load-test the server on loopback: web questions, Slack events or Teams webhook messages
    /// (starts its own server unless --url is given; prints the model and database).
    Bench(bench::BenchArgs),
    /// The anonymised demand report (HTML, CSV or JSON) for a range, from the conversation log.
    Report(report::ReportArgs),
    /// Draft YAML of new intents from the emerging topics in a range, for HRD to review.
    SuggestIntents(report::SuggestArgs),
    /// Fill the configured database with synthetic conversations, for a populated dashboard
    /// and for benchmarking the reports.
    SeedDemo(seed_demo::SeedDemoArgs),
}

/// Runs a parsed command line. Errors are for the user to read: what went wrong and how to
/// fix it; the exit code says whether the command succeeded.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Classify(args) => classify::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Check(args) => check::run(args),
        Command::Eval(args) => eval::run(*args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Report(args) => report::run(args),
        Command::SuggestIntents(args) => report::run_suggest(args),
        Command::SeedDemo(args) => seed_demo::run(args),
    }
}

/// `--config FILE`, taken the same way by every command, so `classify`, `check` and `eval`
/// see the settings `serve` runs with (model folder, embedding cache, catalogue folder).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML settings file; environment variables REFERRAL_DESK__SECTION__KEY override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<Settings> {
        Ok(Settings::load(self.config.as_deref())?)
    }
}

/// `--catalogue DIR`, else `catalogue.dir` of the settings (`intents/` by default).
fn catalogue_dir(flag: Option<&Path>, settings: &Settings) -> PathBuf {
    flag.map_or_else(|| settings.catalogue.dir.clone(), Path::to_path_buf)
}

/// `--model` and `--model-dir`, for the commands that classify.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Which model: lexical, embedding or hybrid. Default: classifier.model from the
    /// configuration, else hybrid when the model folder is present, lexical otherwise.
    #[arg(long, value_enum)]
    pub model: Option<crate::nlu::ModelKind>,
    /// The sentence-embedding model folder (default: classifier.model_dir).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
}

impl ModelArgs {
    /// Trains the catalogue's classifier as these flags and the configuration say.
    fn build(
        &self,
        settings: &Settings,
        catalogue: &Catalogue,
    ) -> anyhow::Result<crate::nlu::model::BuiltModel> {
        let mut settings = settings.classifier.clone();
        if let Some(dir) = &self.model_dir {
            settings.model_dir = dir.clone();
        }
        Ok(crate::nlu::model::build_for_catalogue(
            catalogue, &settings, self.model,
        )?)
    }
}

/// Loads the catalogue, printing its warnings to stderr; a broken catalogue is an error
/// carrying every problem.
fn load_catalogue(dir: &Path) -> anyhow::Result<Catalogue> {
    let catalogue = Catalogue::load(dir)?;
    for warning in &catalogue.warnings {
        eprintln!("{warning}");
    }
    Ok(catalogue)
}
