//! `referral-desk bench`: a load test of `POST /api/v1/ask` on loopback, bounded in requests
//! and time. Without `--url` it starts the server in-process on a temporary SQLite database,
//! so the figure includes durable inbox writes and conversation logging.
//!
//! `--endpoint slack-events` and `--endpoint teams-messages` measure what a user gets, not
//! only the acknowledgement: the in-process server replies to the bench's own fake platform
//! API (Slack's Web API, or Microsoft's login, signing keys and Bot Connector), which answers
//! after `--api-latency-ms`, and a message counts as fully handled when its reply was accepted
//! there. The report gives the fully handled rate and how long after the last acknowledgement
//! the last reply arrived.
//!
//! All requests come from one address, which the per-client question limit
//! (`web.rate_limit_per_minute`) exists to stop: the in-process server runs with the limit
//! off, and against a real server the operator must raise it (429s are counted apart and
//! come with a hint).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::server::Application;

mod drive;

use drive::{TeamsTarget, drive};

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
    #[command(flatten)]
    pub config: super::ConfigArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// What to load: web chat questions, signed Slack events or Bot Framework activities
    /// (acknowledged, then answered through the bench's fake platform API), or signed Teams
    /// outgoing-webhook messages (answered synchronously).
    #[arg(long, value_enum, default_value_t = Endpoint::Ask)]
    pub endpoint: Endpoint,
    /// `--endpoint slack-events|teams-messages`: how long the fake platform API takes to
    /// answer each call (Slack's answers in about 100 ms).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub api_latency_ms: u64,
    /// `--endpoint slack-events|teams-messages`: distinct askers, each in their own DM channel
    /// or personal chat (default: one per message). Slack takes about one message a second
    /// per channel, so few channels make replies wait their turn.
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
    /// `--endpoint slack-events|teams-messages`: how long to wait for the last replies after
    /// the load.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub drain_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Endpoint {
    /// `POST /api/v1/ask`: answered questions per second.
    Ask,
    /// `POST /slack/events`: signed DM events, acknowledged, then answered with
    /// `chat.postMessage`.
    SlackEvents,
    /// `POST /teams/messages`: Bot Framework activities in personal chats with a signed
    /// connector token, acknowledged, then answered through the Bot Connector.
    TeamsMessages,
    /// `POST /teams/webhook`: HMAC-signed outgoing-webhook messages, answered in the response
    /// (Teams allows 5 seconds).
    TeamsWebhook,
}

/// The outgoing-webhook security token of the in-process bench server.
const BENCH_TEAMS_WEBHOOK_KEY: &[u8] = b"bench-outgoing-webhook-token-32b";

/// The signing secret of the in-process bench server's Slack app.
const BENCH_SLACK_SECRET: &str = "bench-signing-secret";

/// The in-process bench server's Azure Bot (its app id is the audience of the bench's tokens).
const BENCH_TEAMS_APP_ID: &str = "00000000-bench-4000-8000-000000000001";

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
    /// Slack events, Teams activities: replies the fake platform API accepted (each
    /// message's reply, once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies_delivered: Option<usize>,
    /// Slack events, Teams activities: messages acknowledged and answered (reply accepted)
    /// per second, from the first request to the last reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handled_per_second: Option<f64>,
    /// Slack events, Teams activities: the last reply's arrival after the last
    /// acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_lag_ms: Option<f64>,
    /// Slack events, Teams activities: the fake API's answer time and the distinct chats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    check_args(&args)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(measure(&args))?;
    if report.rate_limited > 0 {
        eprintln!(
            "hint: {} requests were refused with 429 (too many from one address): raise the server's web.rate_limit_per_minute and web.rate_limit_burst (REFERRAL_DESK__WEB__RATE_LIMIT_PER_MINUTE=0 switches the limit off) on a test server",
            report.rate_limited
        );
    }
    print_report(&args, &report)?;
    Ok(if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Refuses flag combinations that cannot measure anything before a server is started, and
/// says when only the acknowledgements will be measured.
fn check_args(args: &BenchArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.requests == 0 {
        bail!("--concurrency and --requests must be at least 1");
    }
    if args.channels == Some(0) {
        bail!("--channels must be at least 1");
    }
    if args.endpoint == Endpoint::TeamsMessages && args.url.is_some() {
        bail!(
            "--endpoint teams-messages runs its own server: only it trusts the bench's Bot Framework signing key (drop --url)"
        );
    }
    if args.endpoint == Endpoint::SlackEvents && args.url.is_some() && args.replies_from.is_none() {
        eprintln!(
            "note: against --url the replies go to that server's Slack API, not the bench's: only acknowledgements are measured"
        );
    }
    Ok(())
}

/// Starts the in-process server (unless `--url`), runs the load, waits for the replies where
/// the endpoint has them, and stops the server: the whole bench on the runtime.
async fn measure(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    let mut in_process = match &args.url {
        Some(_) => None,
        None => Some(start_in_process(args).await?),
    };
    let (url, model, database) = match (&args.url, &in_process) {
        (Some(url), _) => (
            url.trim_end_matches('/').to_string(),
            "as configured on that server (its log line `classifier trained` names it)".to_string(),
            "as configured on that server".to_string(),
        ),
        (None, Some(server)) => (
            server.url.clone(),
            server.model.clone(),
            server.database.clone(),
        ),
        (None, None) => unreachable!("started above"),
    };
    let fake_api = in_process
        .as_mut()
        .and_then(|server| server.fake_api.take());
    let counter = match &args.replies_from {
        Some(from) => Some(RepliesCounter::new(from).await?),
        None => None,
    };
    let started = Instant::now();
    // one connector token for every activity, as Bot Framework reuses its tokens
    let teams = fake_api
        .as_ref()
        .filter(|_| args.endpoint == Endpoint::TeamsMessages)
        .map(|fake| TeamsTarget {
            authorization: format!("Bearer {}", fake.connector_token()),
            service_url: fake.url.clone(),
        });
    let (mut report, last_ack) = drive(&url, args, teams.as_ref()).await?;
    let acked = (started, last_ack);
    if let Some(counter) = &counter {
        wait_for_counted_replies(counter, args, acked, &mut report).await?;
    }
    report.model = model;
    report.database = database;
    if let Some(fake) = &fake_api {
        wait_for_fake_replies(fake, args, acked, &mut report).await;
    }
    if let Some(server) = in_process {
        let _ = server.stop.send(());
        let _ = server.handle.await;
    }
    Ok(report)
}

/// `--replies-from`: waits up to `--drain-seconds` for the external fake API to count a
/// reply to every acknowledged message, and reports the replies, as they are what a user
/// waits for. `acked` is when the load started and when its last acknowledgement came.
async fn wait_for_counted_replies(
    counter: &RepliesCounter,
    args: &BenchArgs,
    (started, last_ack): (Instant, Instant),
    report: &mut BenchReport,
) -> anyhow::Result<()> {
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
    Ok(())
}

/// The bench's own fake platform API: waits up to `--drain-seconds` for a reply to every
/// acknowledged message, and reports the replies, as they are what a user waits for.
/// `acked` is when the load started and when its last acknowledgement came.
async fn wait_for_fake_replies(
    fake: &FakePlatformApi,
    args: &BenchArgs,
    (started, last_ack): (Instant, Instant),
    report: &mut BenchReport,
) {
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

/// The server a bench runs against when no `--url` is given: built in this process on a
/// fresh database, with the bench's own fake platform API when the endpoint needs one.
struct InProcess {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
    model: String,
    database: String,
    fake_api: Option<FakePlatformApi>,
    /// Holds the temporary database folder until the bench ends.
    _temp: tempfile::TempDir,
}

async fn start_in_process(args: &BenchArgs) -> anyhow::Result<InProcess> {
    let mut fake_api = None;
    let temp = tempfile::tempdir().context("creating a temporary database folder")?;
    let mut settings = args.config.load()?;
    settings.server.bind = "127.0.0.1:0".parse().expect("static address");
    settings.metrics.bind = "127.0.0.1:0".parse().expect("static address");
    // every request comes from this one address: the limit would refuse nearly all
    settings.web.rate_limit_per_minute = 0;
    // and they all share few connections, kept open between bursts
    settings.server.max_connections = settings.server.max_connections.max(args.concurrency + 16);
    if matches!(
        args.endpoint,
        Endpoint::SlackEvents | Endpoint::TeamsMessages
    ) {
        let fake = FakePlatformApi::start(Duration::from_millis(args.api_latency_ms)).await?;
        if args.endpoint == Endpoint::SlackEvents {
            settings.slack.signing_secret = Some(BENCH_SLACK_SECRET.to_string().into());
            settings.slack.bot_token = Some("xoxb-bench".to_string().into());
            settings.slack.team_id = Some("TBENCH".into());
            settings.slack.api_base_url = fake.url.clone();
        } else {
            settings.teams.app_id = Some(BENCH_TEAMS_APP_ID.into());
            settings.teams.app_password = Some("bench-app-password".to_string().into());
            settings.teams.app_type = crate::config::TeamsAppType::MultiTenant;
            settings.teams.openid_metadata_url = format!("{}{BENCH_METADATA_PATH}", fake.url);
            settings.teams.token_url = Some(format!("{}/token", fake.url));
            settings.teams.service_url_allowlist = vec![fake.url.clone()];
        }
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
            if !settings.database.is_sqlite() && settings.privacy.pseudonym_key.is_none() {
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
    Ok(InProcess {
        url,
        stop: stop_tx,
        handle,
        model,
        database,
        fake_api,
        _temp: temp,
    })
}

/// The report as JSON (`--json`) or as the lines the README quotes.
fn print_report(args: &BenchArgs, report: &BenchReport) -> anyhow::Result<()> {
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
                Endpoint::TeamsMessages => "acknowledged Teams activities",
                Endpoint::TeamsWebhook => "answered Teams webhook messages",
            },
            report.latency_ms_p50,
            report.latency_ms_p90,
            report.latency_ms_p99,
            report.latency_ms_max
        );
        if let Some(delivered) = report.replies_delivered {
            println!(
                "replies accepted by the fake {} ({}, {} {}): {delivered}; fully handled {:.0} messages/s; last reply {} after the last acknowledgement",
                match args.endpoint {
                    Endpoint::TeamsMessages => "Bot Connector",
                    _ => "Slack Web API",
                },
                match report.api_latency_ms {
                    Some(ms) => format!("the bench's own, answering in {ms} ms"),
                    None => "the external one of --replies-from".to_string(),
                },
                report.channels.unwrap_or(0),
                match args.endpoint {
                    Endpoint::TeamsMessages => "personal chats",
                    _ => "DM channels",
                },
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
    Ok(())
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

/// Where the fake platform API serves the Bot Framework's OpenID metadata document.
const BENCH_METADATA_PATH: &str = "/.well-known/openidconfiguration";

/// A local stand-in for the platforms' APIs, answering after `latency`: Slack's Web API
/// (`chat.postMessage` and the rest), and Microsoft's side of a Teams bot (the OpenID metadata
/// and signing keys of the Bot Framework, the token endpoint, the Bot Connector). It counts
/// the replies it accepted and when the last one came. Its RSA key signs the connector tokens
/// the bench sends; the server under test trusts it through the metadata document.
struct FakePlatformApi {
    url: String,
    seen: Arc<ApiSeen>,
    signing_key: jsonwebtoken::EncodingKey,
}

#[derive(Default)]
struct ApiSeen {
    delivered: AtomicUsize,
    last: std::sync::Mutex<Option<Instant>>,
}

impl ApiSeen {
    fn count_reply(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

impl FakePlatformApi {
    async fn start(latency: Duration) -> anyhow::Result<FakePlatformApi> {
        use axum::http::Method;
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
            .context("making the bench's Bot Framework signing key")?;
        let signing_key = jsonwebtoken::EncodingKey::from_rsa_der(
            private
                .to_pkcs1_der()
                .context("encoding the bench's signing key")?
                .as_bytes(),
        );
        let metadata = Arc::new(serde_json::json!({
            "issuer": BOT_FRAMEWORK_ISSUER,
            "jwks_uri": format!("{url}/keys"),
            "id_token_signing_alg_values_supported": ["RS256"],
        }));
        let keys = Arc::new(serde_json::json!({"keys": [{
            "kty": "RSA", "use": "sig", "kid": BENCH_KEY_ID, "endorsements": ["msteams"],
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }]}));
        let seen = Arc::new(ApiSeen::default());
        let counted = seen.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: axum::http::Uri| {
            let (seen, metadata, keys) = (counted.clone(), metadata.clone(), keys.clone());
            async move {
                let path = uri.path();
                let answer = match (method, path) {
                    (Method::GET, BENCH_METADATA_PATH) => (*metadata).clone(),
                    (Method::GET, "/keys") => (*keys).clone(),
                    (Method::POST, "/token") => serde_json::json!({
                        "token_type": "Bearer", "expires_in": 3600, "access_token": "bench-bot-token",
                    }),
                    (Method::POST, "/chat.postMessage") => {
                        sleep_unless_zero(latency).await;
                        seen.count_reply();
                        serde_json::json!({"ok": true, "ts": "1.2"})
                    }
                    (Method::POST, path)
                        if path.starts_with("/v3/conversations/") && path.contains("/activities") =>
                    {
                        sleep_unless_zero(latency).await;
                        seen.count_reply();
                        serde_json::json!({"id": "bench-reply"})
                    }
                    // other Slack methods (the lookups of an unsure reply): nothing found
                    _ => {
                        sleep_unless_zero(latency).await;
                        serde_json::json!({"ok": true, "messages": []})
                    }
                };
                axum::Json(answer)
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakePlatformApi {
            url,
            seen,
            signing_key,
        })
    }

    /// A connector token for the bench's bot and this API as `serviceUrl`, valid for an hour.
    fn connector_token(&self) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({
            "iss": BOT_FRAMEWORK_ISSUER, "aud": BENCH_TEAMS_APP_ID, "serviceurl": self.url,
            "nbf": now - 60, "exp": now + 3600,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(BENCH_KEY_ID.to_string());
        jsonwebtoken::encode(&header, &claims, &self.signing_key)
            .expect("RS256 signing with a key made above")
    }

    fn delivered(&self) -> usize {
        self.seen.delivered.load(Ordering::Relaxed)
    }

    fn last_reply(&self) -> Option<Instant> {
        *self.seen.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The issuer Bot Framework puts in connector tokens, and the key id of the bench's key.
const BOT_FRAMEWORK_ISSUER: &str = "https://api.botframework.com";
const BENCH_KEY_ID: &str = "bench-key";

async fn sleep_unless_zero(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}
