//! The load itself: connections that send the endpoint's requests (signed as the platform
//! signs them) until the request budget or the time is used up, and the figures they add up
//! to.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

use super::{
    BENCH_SLACK_SECRET, BENCH_TEAMS_APP_ID, BENCH_TEAMS_WEBHOOK_KEY, BenchArgs, BenchReport,
    Endpoint,
};

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

/// Where Teams activities go and the token they carry.
#[derive(Clone)]
pub(super) struct TeamsTarget {
    pub(super) authorization: String,
    pub(super) service_url: String,
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

/// A message activity in asker `n % chats`'s personal chat with the bench's bot, with the
/// connector token Teams would send.
fn signed_activity(
    client: &reqwest::Client,
    endpoint: &str,
    (run, n): (u32, usize),
    chats: usize,
    teams: &TeamsTarget,
) -> reqwest::RequestBuilder {
    let asker = n % chats;
    let body = serde_json::json!({
        "type": "message", "id": format!("bench-{run:08x}-{n}"), "channelId": "msteams",
        "serviceUrl": teams.service_url,
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "from": {"id": format!("29:bench-{asker}"), "name": "Bench",
                 "aadObjectId": format!("00000000-bench-4000-8000-{asker:012}")},
        "recipient": {"id": format!("28:{BENCH_TEAMS_APP_ID}"), "name": "Referral Desk"},
        "conversation": {"id": format!("a:bench-chat-{asker}"), "conversationType": "personal",
                         "tenantId": "bench-tenant"},
        "channelData": {"tenant": {"id": "bench-tenant"}},
        "text": QUESTIONS[n % QUESTIONS.len()],
    })
    .to_string();
    client
        .post(endpoint)
        .header("Authorization", &teams.authorization)
        .header("content-type", "application/json")
        .body(body)
}

/// Runs the load; the report and when the last answer (acknowledgement) came.
pub(super) async fn drive(
    url: &str,
    args: &BenchArgs,
    teams: Option<&TeamsTarget>,
) -> anyhow::Result<(BenchReport, Instant)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(10))
        .build()?;
    let mode = args.endpoint;
    let endpoint = match mode {
        Endpoint::Ask => format!("{url}/api/v1/ask"),
        Endpoint::SlackEvents => format!("{url}/slack/events"),
        Endpoint::TeamsWebhook => format!("{url}/teams/webhook"),
        Endpoint::TeamsMessages => format!("{url}/teams/messages"),
    };
    let teams = match (mode, teams) {
        (Endpoint::TeamsMessages, Some(teams)) => Some(Arc::new(teams.clone())),
        (Endpoint::TeamsMessages, None) => bail!("teams-messages needs the bench's own server"),
        _ => None,
    };
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let load = Load {
        client,
        endpoint,
        mode,
        teams,
        issued: Arc::new(AtomicUsize::new(0)),
        limit: args.requests,
        deadline,
        started,
        channels: args.channels.unwrap_or(args.requests),
        run: rand::random(),
    };
    let mut tasks = Vec::new();
    for connection in 0..args.concurrency {
        tasks.push(tokio::spawn(load.clone().send_all(connection)));
    }
    let mut all = Tally::new(started);
    for task in tasks {
        all.add(task.await?);
    }
    let seconds = started.elapsed().as_secs_f64();
    let last_answer = all.last;
    Ok((summarise(all, args.concurrency, seconds), last_answer))
}

/// What every connection of one load shares: where and what to send, and the request
/// budget they draw on together.
#[derive(Clone)]
struct Load {
    client: reqwest::Client,
    endpoint: String,
    mode: Endpoint,
    /// `--endpoint teams-messages`: the fake Bot Connector and its token.
    teams: Option<Arc<TeamsTarget>>,
    /// Requests taken so far, by all connections.
    issued: Arc<AtomicUsize>,
    /// `--requests`.
    limit: usize,
    deadline: Instant,
    started: Instant,
    /// Distinct askers (Slack DM channels, Teams personal chats).
    channels: usize,
    /// Makes this run's event and activity ids unique, as a server answers a repeated id as
    /// a repeated delivery.
    run: u32,
}

impl Load {
    /// One connection's share of the load: it sends requests one after another, so the
    /// connections together keep `--concurrency` requests in flight until the budget or the
    /// time is used up.
    async fn send_all(self, connection: usize) -> Tally {
        let mut tally = Tally::new(self.started);
        let session = format!("bench-{connection}");
        loop {
            let n = self.issued.fetch_add(1, Ordering::Relaxed);
            if n >= self.limit || Instant::now() >= self.deadline {
                break;
            }
            let request = self.build_request(n, &session);
            let sent = Instant::now();
            let (ok, refused) = send(request).await;
            tally.rate_limited += usize::from(refused);
            tally.latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            tally.errors += usize::from(!ok);
            tally.last = tally.last.max(Instant::now());
        }
        tally
    }

    /// The `n`th request in the endpoint's own format, signed where the platform signs, so
    /// the server does all the work a real message costs it.
    fn build_request(&self, n: usize, session: &str) -> reqwest::RequestBuilder {
        let (client, endpoint) = (&self.client, &self.endpoint);
        match self.mode {
            Endpoint::Ask => client.post(endpoint).json(&serde_json::json!({
                "text": QUESTIONS[n % QUESTIONS.len()],
                "session": session,
            })),
            Endpoint::SlackEvents => signed_event(client, endpoint, (self.run, n), self.channels),
            Endpoint::TeamsWebhook => signed_webhook_message(client, endpoint, n, session),
            Endpoint::TeamsMessages => signed_activity(
                client,
                endpoint,
                (self.run, n),
                self.channels,
                self.teams.as_deref().expect("checked above"),
            ),
        }
    }
}

/// Sends one request and reads the whole answer, as a client would, so the latency includes
/// the body: whether it succeeded, and whether the server refused it with 429 (counted
/// apart, as the hint about the per-client limit needs).
async fn send(request: reqwest::RequestBuilder) -> (bool, bool) {
    match request.send().await {
        Ok(response) => {
            let refused = response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS;
            let ok = response.status().is_success() && response.bytes().await.is_ok();
            (ok, refused)
        }
        Err(_) => (false, false),
    }
}

/// What one connection (or, added up, the whole load) saw.
struct Tally {
    /// Each request's latency, in ms.
    latencies: Vec<f64>,
    /// Failed requests, the refused ones included.
    errors: usize,
    /// Requests refused with 429.
    rate_limited: usize,
    /// When the last answer came (the start when none did).
    last: Instant,
}

impl Tally {
    /// An empty tally; its last answer starts at the load's start, where the report counts
    /// from when nothing was answered.
    fn new(started: Instant) -> Tally {
        Tally {
            latencies: Vec::new(),
            errors: 0,
            rate_limited: 0,
            last: started,
        }
    }

    /// Adds a connection's tally, so the percentiles are over every request of the load.
    fn add(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.rate_limited += other.rate_limited;
        self.last = self.last.max(other.last);
    }
}

/// The report's load figures (rate and latency percentiles); `run` adds the model, the
/// database and the replies, which only it knows.
fn summarise(all: Tally, concurrency: usize, seconds: f64) -> BenchReport {
    let mut latencies = all.latencies;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len().saturating_sub(1)) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    BenchReport {
        model: String::new(),
        database: String::new(),
        requests: latencies.len(),
        errors: all.errors,
        rate_limited: all.rate_limited,
        concurrency,
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
    }
}
