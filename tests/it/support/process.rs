//! The real binary as a child process (`referral-desk serve`), for what only a process shows:
//! its own log lines on stderr, a SIGKILL with nothing cleaned up.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use super::FIXTURE;

pub struct ServeProcess {
    pub child: Child,
    /// `host:port` from the server's "listening on" line.
    pub address: String,
    /// The server's stderr, a line at a time, read by a thread of its own.
    pub lines: Receiver<String>,
    /// The lines read up to the "listening on" line.
    pub log: Vec<String>,
}

impl ServeProcess {
    /// Starts `serve` in `dir` on a free loopback port, without metrics, with the fixture
    /// catalogue, the lexical model and pretty `info` logs (RUST_LOG unset), plus `env`, and
    /// waits up to 60 s for it to listen.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> ServeProcess {
        let fixture = std::fs::canonicalize(FIXTURE).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_referral-desk"))
            .arg("serve")
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env("REFERRAL_DESK__SERVER__BIND", "127.0.0.1:0")
            .env("REFERRAL_DESK__METRICS__ENABLED", "false")
            .env("REFERRAL_DESK__CATALOGUE__DIR", &fixture)
            .env("REFERRAL_DESK__CLASSIFIER__MODEL", "lexical")
            .env("REFERRAL_DESK__TELEMETRY__FORMAT", "pretty")
            .env("REFERRAL_DESK__TELEMETRY__LEVEL", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let address = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("the server did not start:\n{}", log.join("\n")));
            log.push(line.clone());
            if let Some((_, rest)) = line.split_once("listening on http://") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        ServeProcess {
            child,
            address,
            lines,
            log,
        }
    }
}
