//! `referral-desk bench`: a load test of `POST /api/v1/ask` on loopback, bounded in requests
//! and time. Without `--url` it starts the server in-process on a temporary SQLite database,
//! so the figure includes durable inbox writes and conversation logging.
//!
//! `--endpoint slack-events` measures what a Slack user gets, not only the acknowledgement:
//! the in-process server replies to the bench's own fake Web API (answering after
//! `--api-latency-ms`), and an event counts as fully handled when its reply was accepted there.
//! The report gives the fully handled rate and how long after the last acknowledgement the
//! last reply arrived.
//!
//! All requests come from one address, which the per-client question limit
//! (`web.rate_limit_per_minute`) exists to stop: the in-process server runs with the limit
//! off, and against a real server the operator must raise it (429s are counted apart and
//! come with a hint).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::config::Settings;
use crate::server::Application;

/// Questions the load test cycles through, Dutch and English, routed and not.
const QUESTIONS: &[&str] = &[
    "wie kan me helpen met Power BI?",
    "hoe vraag ik opleidingsbudget aan?",
    "my laptop won't start after the update",
    "is there a mentoring programme for new managers",
    "wat voor weer wordt het morgen",
    "ik wil een heisessie organiseren met mijn team",
    "who knows about RPA?",
    "how many holiday hours do I have left",
    "mag ik ChatGPT gebruiken voor mijn werk?",
    "we need a new supplier for our leadership training",
];

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A running server to test (`http://127.0.0.1:8080`); by default one is started
    /// in-process, without the per-client question limit. A real server limits questions per
    /// client address (web.rate_limit_per_minute, rate_limit_burst): for `--endpoint ask`
    /// raise them (or set REFERRAL_DESK__WEB__RATE_LIMIT_PER_MINUTE=0) on a test server, or
    /// most requests are refused with 429.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Stop after this many requests.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Stop after this many seconds at the latest.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Settings for the in-process server (its database is always a fresh temporary SQLite,
    /// its metrics listener a free loopback port, and the per-client question limit is off).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// What to load: web chat questions, signed Slack events (the acknowledge latency; the
    /// in-process server then replies to a local fake Slack), or signed Teams outgoing-webhook
    /// messages (answered synchronously).
    #[arg(long, value_enum, default_value_t = Endpoint::Ask)]
    pub endpoint: Endpoint,
    /// `--endpoint slack-events`: how long the fake Slack Web API takes to answer each call
    /// (the real one answers in about 100 ms).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub api_latency_ms: u64,
    /// `--endpoint slack-events`: distinct askers, each in their own DM channel (default: one
    /// per event). Slack takes about one message a second per channel, so few channels make
    /// replies wait their turn.
    #[arg(long, value_name = "N")]
    pub channels: Option<usize>,
    /// The in-process server's database instead of a fresh temporary SQLite file, e.g. a
    /// PostgreSQL test database (`postgres://...`; the bench's conversations stay in it, so
    /// never point this at production).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// `--endpoint slack-events --url URL`: where to read how many replies the server's Slack
    /// API accepted (`GET` answering `{"delivered": N}`, as `benches/bolt/fake_slack_api.py`
    /// does), to measure any Slack app, Referral Desk or another, against the same fake API.
    #[arg(long, value_name = "URL", requires = "url")]
    pub replies_from: Option<String>,
    /// `--endpoint slack-events`: how long to wait for the last replies after the load.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub drain_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Endpoint {
    /// `POST /api/v1/ask`: answered questions per second.
    Ask,
    /// `POST /slack/events`: how fast deliveries are acknowledged.
    SlackEvents,
    /// `POST /teams/webhook`: HMAC-signed outgoing-webhook messages, answered in the response
    /// (Teams allows 5 seconds).
    TeamsWebhook,
}

/// The outgoing-webhook security token of the in-process bench server.
const BENCH_TEAMS_WEBHOOK_KEY: &[u8] = b"bench-outgoing-webhook-token-32b";

/// The signing secret of the in-process bench server's Slack app.
const BENCH_SLACK_SECRET: &str = "bench-signing-secret";

#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// The classifier model that answered (figures differ about fivefold between them).
    pub model: String,
    /// The database the answers were logged in.
    pub database: String,
    pub requests: usize,
    /// Failed requests, the refused ones (429) included.
    pub errors: usize,
    /// Requests the server refused with 429 (its per-client limit).
    pub rate_limited: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p90: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    /// Slack events: replies the fake Web API accepted (each event's reply, once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies_delivered: Option<usize>,
    /// Slack events: events acknowledged and answered (reply accepted) per second, from the
    /// first request to the last reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handled_per_second: Option<f64>,
    /// Slack events: the last reply's arrival after the last acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_lag_ms: Option<f64>,
    /// Slack events: the fake Web API's answer time and the distinct DM channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.concurrency == 0 || args.requests == 0 {
        bail!("--concurrency and --requests must be at least 1");
    }
    if args.channels == Some(0) {
        bail!("--channels must be at least 1");
    }
    if args.endpoint == Endpoint::SlackEvents && args.url.is_some() && args.replies_from.is_none() {
        eprintln!(
            "note: against --url the replies go to that server's Slack API, not the bench's: only acknowledgements are measured"
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(async {
        let mut _temp = None;
        let mut fake_api = None;
        let (url, server, model, database) = match &args.url {
            Some(url) => (
                url.trim_end_matches('/').to_string(),
                None,
                "as configured on that server (its log line `classifier trained` names it)"
                    .to_string(),
                "as configured on that server".to_string(),
            ),
            None => {
                let temp = tempfile::tempdir().context("creating a temporary database folder")?;
                let mut settings = Settings::load(args.config.as_deref())?;
                settings.server.bind = "127.0.0.1:0".parse().expect("static address");
                settings.metrics.bind = "127.0.0.1:0".parse().expect("static address");
                // every request comes from this one address: the limit would refuse nearly all
                settings.web.rate_limit_per_minute = 0;
                // and they all share few connections, kept open between bursts
                settings.server.max_connections =
                    settings.server.max_connections.max(args.concurrency + 16);
                if args.endpoint == Endpoint::SlackEvents {
                    settings.slack.signing_secret = Some(BENCH_SLACK_SECRET.to_string().into());
                    settings.slack.bot_token = Some("xoxb-bench".to_string().into());
                    settings.slack.team_id = Some("TBENCH".into());
                    let fake =
                        FakeSlackApi::start(Duration::from_millis(args.api_latency_ms)).await?;
                    settings.slack.api_base_url = fake.url.clone();
                    fake_api = Some(fake);
                }
                if args.endpoint == Endpoint::TeamsWebhook {
                    use base64::Engine;
                    settings.teams.webhook_hmac_key = Some(
                        base64::engine::general_purpose::STANDARD
                            .encode(BENCH_TEAMS_WEBHOOK_KEY)
                            .into(),
                    );
                }
                let database = match &args.database_url {
                    Some(url) => {
                        settings.database.url = url.clone().into();
                        if !settings.database.is_sqlite()
                            && settings.privacy.pseudonym_key.is_none()
                        {
                            // PostgreSQL needs a configured key; a bench's conversations need none
                            // that outlives it
                            settings.privacy.pseudonym_key =
                                Some(hex::encode(rand::random::<[u8; 32]>()).into());
                        }
                        settings.database.describe()
                    }
                    None => {
                        settings.database.url =
                            format!("sqlite://{}", temp.path().join("bench.db").display()).into();
                        "SQLite (a fresh temporary file)".to_string()
                    }
                };
                let model_dir = settings.classifier.model_dir.clone();
                let app = Application::build(settings).await?;
                let kind = app.state().pipeline.model();
                let model = if kind.uses_embeddings() {
                    format!("{} ({})", kind.as_str(), model_dir.display())
                } else {
                    kind.as_str().to_string()
                };
                let url = format!("http://{}", app.local_addr());
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let handle = tokio::spawn(app.run_until(async {
                    let _ = stop_rx.await;
                }));
                _temp = Some(temp);
                (url, Some((stop_tx, handle)), model, database)
            }
        };
        let counter = match &args.replies_from {
            Some(from) => Some(RepliesCounter::new(from).await?),
            None => None,
        };
        let started = Instant::now();
        let (mut report, last_ack) = drive(&url, &args).await?;
        if let Some(counter) = &counter {
            let expected = report.requests - report.errors;
            let drain = Instant::now() + Duration::from_secs(args.drain_seconds);
            let mut last_reply = None;
            let mut delivered = counter.delivered().await?;
            while delivered < expected && Instant::now() < drain {
                tokio::time::sleep(Duration::from_millis(5)).await;
                delivered = counter.delivered().await?;
            }
            if delivered >= expected {
                last_reply = Some(Instant::now());
            }
            let end = last_reply.unwrap_or_else(Instant::now);
            report.replies_delivered = Some(delivered);
            report.handled_per_second =
                Some(delivered as f64 / end.max(last_ack).duration_since(started).as_secs_f64());
            report.reply_lag_ms =
                last_reply.map(|at| at.saturating_duration_since(last_ack).as_secs_f64() * 1000.0);
            report.channels = Some(args.channels.unwrap_or(args.requests));
        }
        report.model = model;
        report.database = database;
        if let Some(fake) = &fake_api {
            let expected = report.requests - report.errors;
            let drain = Instant::now() + Duration::from_secs(args.drain_seconds);
            while fake.delivered() < expected && Instant::now() < drain {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let delivered = fake.delivered();
            let last_reply = fake.last_reply().unwrap_or(started);
            report.replies_delivered = Some(delivered);
            report.handled_per_second = Some(
                delivered as f64
                    / last_reply
                        .max(last_ack)
                        .duration_since(started)
                        .as_secs_f64(),
            );
            report.reply_lag_ms = (delivered >= expected)
                .then(|| last_reply.saturating_duration_since(last_ack).as_secs_f64() * 1000.0);
            report.api_latency_ms = Some(args.api_latency_ms);
            report.channels = Some(args.channels.unwrap_or(args.requests));
        }
        if let Some((stop, handle)) = server {
            let _ = stop.send(());
            let _ = handle.await;
        }
        anyhow::Ok(report)
    })?;
    if report.rate_limited > 0 {
        eprintln!(
            "hint: {} requests were refused with 429 (too many from one address): raise the server's web.rate_limit_per_minute and web.rate_limit_burst (REFERRAL_DESK__WEB__RATE_LIMIT_PER_MINUTE=0 switches the limit off) on a test server",
            report.rate_limited
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("model: {}; database: {}", report.model, report.database);
        println!(
            "{} requests ({} errors) over {} connections in {:.2} s: {:.0} {}/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            report.requests,
            report.errors,
            report.concurrency,
            report.seconds,
            report.per_second,
            match args.endpoint {
                Endpoint::Ask => "answered questions",
                Endpoint::SlackEvents => "acknowledged Slack events",
                Endpoint::TeamsWebhook => "answered Teams webhook messages",
            },
            report.latency_ms_p50,
            report.latency_ms_p90,
            report.latency_ms_p99,
            report.latency_ms_max
        );
        if let Some(delivered) = report.replies_delivered {
            println!(
                "replies accepted by the fake Slack API ({}, {} DM channels): {delivered}; fully handled {:.0} events/s; last reply {} after the last acknowledgement",
                match report.api_latency_ms {
                    Some(ms) => format!("the bench's own, answering in {ms} ms"),
                    None => "the external one of --replies-from".to_string(),
                },
                report.channels.unwrap_or(0),
                report.handled_per_second.unwrap_or(0.0),
                match report.reply_lag_ms {
                    Some(lag) => format!("{lag:.0} ms"),
                    None => format!(
                        "never: {} replies missing after --drain-seconds",
                        report.requests - report.errors - delivered
                    ),
                }
            );
        }
    }
    Ok(if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reads an external fake Slack API's count of accepted replies (`--replies-from`), counting
/// from the moment the bench starts.
struct RepliesCounter {
    client: reqwest::Client,
    url: String,
    before: usize,
}

impl RepliesCounter {
    async fn new(url: &str) -> anyhow::Result<RepliesCounter> {
        let mut counter = RepliesCounter {
            client: reqwest::Client::new(),
            url: url.to_string(),
            before: 0,
        };
        counter.before = counter.read().await?;
        Ok(counter)
    }

    async fn read(&self) -> anyhow::Result<usize> {
        let answer: serde_json::Value = self
            .client
            .get(&self.url)
            .send()
            .await
            .with_context(|| format!("reading the reply count at {}", self.url))?
            .json()
            .await
            .with_context(|| format!("{} did not answer JSON", self.url))?;
        answer["delivered"]
            .as_u64()
            .map(|n| n as usize)
            .with_context(|| format!("{} answered no \"delivered\" count", self.url))
    }

    async fn delivered(&self) -> anyhow::Result<usize> {
        Ok(self.read().await?.saturating_sub(self.before))
    }
}

/// A local stand-in for the Slack Web API that accepts every message after `latency`, and
/// counts the `chat.postMessage` calls it accepted and when the last one came.
struct FakeSlackApi {
    url: String,
    seen: Arc<ApiSeen>,
}

#[derive(Default)]
struct ApiSeen {
    delivered: AtomicUsize,
    last: std::sync::Mutex<Option<Instant>>,
}

impl FakeSlackApi {
    async fn start(latency: Duration) -> anyhow::Result<FakeSlackApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let seen = Arc::new(ApiSeen::default());
        let counted = seen.clone();
        let app = axum::Router::new().fallback(axum::routing::post(move |uri: axum::http::Uri| {
            let seen = counted.clone();
            async move {
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                if uri.path() == "/chat.postMessage" {
                    seen.delivered.fetch_add(1, Ordering::Relaxed);
                    *seen.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                }
                axum::Json(serde_json::json!({"ok": true, "ts": "1.2", "messages": []}))
            }
        }));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeSlackApi {
            url: format!("http://{address}"),
            seen,
        })
    }

    fn delivered(&self) -> usize {
        self.seen.delivered.load(Ordering::Relaxed)
    }

    fn last_reply(&self) -> Option<Instant> {
        *self.seen.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A direct message event, signed as Slack signs it, with an event id unique to this bench
/// run (`run`; a server that already saw an id answers it as a repeated delivery), from asker
/// `n % channels` in their own DM channel.
fn signed_event(
    client: &reqwest::Client,
    endpoint: &str,
    (run, n): (u32, usize),
    channels: usize,
) -> reqwest::RequestBuilder {
    let now = chrono::Utc::now().timestamp();
    let asker = n % channels;
    let body = serde_json::json!({
        "type": "event_callback", "team_id": "TBENCH", "event_id": format!("EvBench{run:08x}{n}"),
        "event_time": now,
        "event": {"type": "message", "channel_type": "im", "user": format!("UBENCH{asker}"),
                  "channel": format!("DBENCH{asker}"),
                  "ts": format!("{now}.{n:06}"), "text": QUESTIONS[n % QUESTIONS.len()]}
    })
    .to_string();
    let signature =
        crate::channels::slack::SlackVerifier::new(BENCH_SLACK_SECRET).sign(now, body.as_bytes());
    client
        .post(endpoint)
        .header("X-Slack-Request-Timestamp", now.to_string())
        .header("X-Slack-Signature", signature)
        .header("content-type", "application/json")
        .body(body)
}

/// An outgoing-webhook message (an @mention in a channel), signed as Teams signs it.
fn signed_webhook_message(
    client: &reqwest::Client,
    endpoint: &str,
    n: usize,
    session: &str,
) -> reqwest::RequestBuilder {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let body = serde_json::json!({
        "type": "message", "id": format!("bench-{n}"), "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": format!("29:{session}"), "name": "Bench", "aadObjectId": session},
        "recipient": {"id": "28:bench-webhook", "name": "Referral Desk"},
        "conversation": {"id": "19:bench@thread.tacv2", "conversationType": "channel"},
        "channelData": {"tenant": {"id": "bench-tenant"}},
        "text": format!("<at>Referral Desk</at> {}", QUESTIONS[n % QUESTIONS.len()]),
    })
    .to_string();
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(BENCH_TEAMS_WEBHOOK_KEY)
        .expect("HMAC accepts keys of any length");
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    client
        .post(endpoint)
        .header("Authorization", format!("HMAC {signature}"))
        .header("content-type", "application/json")
        .body(body)
}

/// Runs the load; the report and when the last answer (acknowledgement) came.
async fn drive(url: &str, args: &BenchArgs) -> anyhow::Result<(BenchReport, Instant)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(10))
        .build()?;
    let mode = args.endpoint;
    let endpoint = match mode {
        Endpoint::Ask => format!("{url}/api/v1/ask"),
        Endpoint::SlackEvents => format!("{url}/slack/events"),
        Endpoint::TeamsWebhook => format!("{url}/teams/webhook"),
    };
    let issued = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let channels = args.channels.unwrap_or(args.requests);
    let run: u32 = rand::random();
    let mut tasks = Vec::new();
    for connection in 0..args.concurrency {
        let client = client.clone();
        let endpoint = endpoint.clone();
        let issued = issued.clone();
        let limit = args.requests;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut rate_limited = 0usize;
            let session = format!("bench-{connection}");
            let mut last = started;
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= limit || Instant::now() >= deadline {
                    break;
                }
                let request = match mode {
                    Endpoint::Ask => client.post(&endpoint).json(&serde_json::json!({
                        "text": QUESTIONS[n % QUESTIONS.len()],
                        "session": session,
                    })),
                    Endpoint::SlackEvents => signed_event(&client, &endpoint, (run, n), channels),
                    Endpoint::TeamsWebhook => {
                        signed_webhook_message(&client, &endpoint, n, &session)
                    }
                };
                let sent = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => {
                        rate_limited += usize::from(
                            response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS,
                        );
                        response.status().is_success() && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                errors += usize::from(!ok);
                last = last.max(Instant::now());
            }
            (latencies, errors, rate_limited, last)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut rate_limited = 0;
    let mut last_answer = started;
    for task in tasks {
        let (l, e, r, last) = task.await?;
        latencies.extend(l);
        errors += e;
        rate_limited += r;
        last_answer = last_answer.max(last);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len().saturating_sub(1)) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let report = BenchReport {
        model: String::new(),
        database: String::new(),
        requests: latencies.len(),
        errors,
        rate_limited,
        concurrency: args.concurrency,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        latency_ms_p50: at(0.50),
        latency_ms_p90: at(0.90),
        latency_ms_p99: at(0.99),
        latency_ms_max: latencies.last().copied().unwrap_or(0.0),
        replies_delivered: None,
        handled_per_second: None,
        reply_lag_ms: None,
        api_latency_ms: None,
        channels: None,
    };
    Ok((report, last_answer))
}
