//! The `referral-desk` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator: under load the server's threads allocate and free
/// small JSON values and strings all the time, and glibc's arenas cost about a fifth of the CPU
/// (profiled with `bench --endpoint slack-events`; see the README's performance table).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = referral_desk::cli::Cli::parse();
    match referral_desk::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
