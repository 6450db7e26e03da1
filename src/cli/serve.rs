//! `referral-desk serve`: the chat server (web chat, Slack, Teams, reports), until SIGTERM or
//! Ctrl-C.

use std::process::ExitCode;

use clap::Args;

use crate::server::Application;
use crate::telemetry::init_tracing;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: super::ConfigArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = args.config.load()?;
    init_tracing(&settings.telemetry);
    let grace = std::time::Duration::from_secs(settings.server.shutdown_grace_seconds);
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(async {
        let app = Application::build(settings).await?;
        let address = app.local_addr();
        eprintln!(
            "Referral Desk is listening on http://{address} (web chat at /, health at /healthz)"
        );
        app.run_until_stopped().await?;
        Ok(ExitCode::SUCCESS)
    });
    // blocking work still running (a report being computed) must not hold the exit past the
    // grace period: run_until has already spent it
    runtime.shutdown_timeout(grace.min(std::time::Duration::from_secs(1)));
    outcome
}
