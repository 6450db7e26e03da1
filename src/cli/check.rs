//! `referral-desk check`: validates the catalogue for HRD and says how to fix each problem.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use crate::catalogue::Catalogue;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Folder with the catalogue's YAML files (default: catalogue.dir, `intents`).
    #[arg(long, value_name = "DIR")]
    pub catalogue: Option<PathBuf>,
    #[command(flatten)]
    pub config: super::ConfigArgs,
    #[command(flatten)]
    pub model: super::ModelArgs,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let settings = args.config.load()?;
    let dir = super::catalogue_dir(args.catalogue.as_deref(), &settings);
    let catalogue = match Catalogue::load(&dir) {
        Ok(catalogue) => catalogue,
        Err(err) => {
            println!("{err}");
            return Ok(ExitCode::FAILURE);
        }
    };
    for warning in &catalogue.warnings {
        println!("{warning}");
    }
    let started = Instant::now();
    let built = args.model.build(&settings, &catalogue)?;
    let classifier = &built.classifier;
    let embedded_ms = built.embedded.map_or(0.0, |r| r.seconds * 1000.0);
    let train_ms = started.elapsed().as_secs_f64() * 1000.0 - embedded_ms;
    let examples: usize = catalogue.intents.iter().map(|i| i.examples.len()).sum();
    println!(
        "{}: ok ({} warning{}): {} intents with {} examples ({} nl, {} en), {} out-of-scope examples, \
         {} specialists, {} knowledge items, {} desks; {} classifier trained in {:.0} ms on {} features{}",
        dir.display(),
        catalogue.warnings.len(),
        if catalogue.warnings.len() == 1 {
            ""
        } else {
            "s"
        },
        catalogue.intents.len(),
        examples,
        catalogue
            .intents
            .iter()
            .map(|i| i.examples.nl.len())
            .sum::<usize>(),
        catalogue
            .intents
            .iter()
            .map(|i| i.examples.en.len())
            .sum::<usize>(),
        catalogue.out_of_scope.len(),
        catalogue.specialists.len(),
        catalogue.knowledge.len(),
        catalogue.desks.len(),
        built.kind.as_str(),
        train_ms,
        classifier.feature_count(),
        match built.embedded {
            Some(r) => format!(
                "; catalogue embedded in {:.0} ms ({} of {} texts computed, the rest from the cache)",
                r.seconds * 1000.0,
                r.embedded,
                r.texts
            ),
            None => String::new(),
        },
    );
    Ok(ExitCode::SUCCESS)
}
