//! Issue 13, "make every privacy and safety promise hold under attack": the promises of the
//! HTTP server, each tested the way an attacker would break it (raw sockets on loopback where
//! the attack is at the connection level). Test names start with the issue's item number.
//! Items 6 and 7 (report tokens and cookie) are in tests/it/reports.rs.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use referral_desk::config::{LogFormat, Settings};
use referral_desk::server::Application;
use serde_json::{Value, json};
use support::{PgSchema, TestApp, sqlite_url, test_settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn app_with(dir: &Path, change: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&sqlite_url(dir));
    change(&mut settings);
    TestApp::spawn(settings).await
}

/// Reads until the server closes the connection (end of stream or reset) or `limit` passes.
/// Returns whether it closed, and what arrived.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (bool, Vec<u8>) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return (false, received),
            Ok(Ok(0)) | Ok(Err(_)) => return (true, received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Reads one response whose body is `Content-Length` long; `None` if none arrives within
/// `limit`.
async fn read_response(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return Some(text);
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => received.extend_from_slice(&buffer[..n]),
            _ => return None,
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: desk\r\n\r\n";

// --- item 5: metrics on a listener of their own ---------------------------------------------

#[tokio::test]
async fn item5_metrics_are_served_on_their_own_listener_and_not_on_the_public_port() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |_| {}).await;
    app.ask_json(json!({"text": "laptop kapot", "session": "s"}))
        .await;
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404, "per-intent counts on the public port");
    let body = public.text().await.unwrap();
    assert!(!body.contains("decisions_total"), "{body}");

    let metrics_address = app.metrics_address.expect("metrics are on by default");
    assert_ne!(metrics_address, app.address);
    assert!(metrics_address.ip().is_loopback());
    let text = app.metrics().await;
    for line in [
        "referral_desk_decisions_total{intent=\"it_support\",outcome=\"routed\"} 1",
        "referral_desk_http_requests_total{route=\"/api/v1/ask\",status=\"200\"} 1",
        "referral_desk_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    // the metrics listener serves nothing else
    let chat = app
        .client
        .get(format!("http://{metrics_address}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(chat.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn item5_the_metrics_listener_names_its_key_when_the_address_is_taken_and_can_be_off() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = test_settings(&sqlite_url(dir.path()));
    settings.metrics.bind = taken.local_addr().unwrap();
    let error = match Application::build(settings).await {
        Ok(_) => panic!("a taken metrics address must stop the start"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("metrics.bind") && error.contains("REFERRAL_DESK__METRICS__BIND"),
        "{error}"
    );
    assert!(!error.contains("server.bind"), "{error}");

    let app = app_with(dir.path(), |s| s.metrics.enabled = false).await;
    assert_eq!(app.metrics_address, None);
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    app.stop().await;
}

// --- item 16: timeouts, body limits, a connection cap, a bounded shutdown -------------------

#[tokio::test]
async fn item16_slow_headers_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.server.header_read_timeout_seconds = 1;
        s.server.idle_timeout_seconds = 30;
    })
    .await;
    let started = Instant::now();
    let stream = TcpStream::connect(app.address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // a header line every 300 ms: never idle, never done
    let trickle = tokio::spawn(async move {
        let _ = writer
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: desk\r\n")
            .await;
        for n in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer
                .write_all(format!("X-Slow-{n}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let mut buffer = [0u8; 1024];
    let outcome = tokio::time::timeout(Duration::from_secs(4), reader.read(&mut buffer)).await;
    let closed = matches!(outcome, Ok(Ok(0)) | Ok(Err(_)));
    assert!(
        closed,
        "still open {:?} after connecting with a 1 s header timeout: {outcome:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    trickle.abort();
    app.stop().await;
}

#[tokio::test]
async fn item16_a_slow_body_gets_408_and_a_closed_connection() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.server.body_read_timeout_seconds = 1;
        s.server.request_timeout_seconds = 30;
    })
    .await;
    let stream = TcpStream::connect(app.address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let _ = writer
            .write_all(
                b"POST /api/v1/ask HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n\
                  Content-Length: 500\r\n\r\n{\"text\": \"",
            )
            .await;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(b"a").await.is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(4), reader.read(&mut buffer)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    };
    let text = String::from_utf8_lossy(&received);
    assert!(
        closed && text.starts_with("HTTP/1.1 408"),
        "closed: {closed}, after {:?}: {text}",
        started.elapsed()
    );
    assert!(text.contains("\"error\""), "{text}");
    trickle.abort();
    app.stop().await;
}

#[tokio::test]
async fn item16_keep_alive_works_and_an_idle_connection_is_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.server.header_read_timeout_seconds = 1;
        s.server.idle_timeout_seconds = 4;
    })
    .await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(HEALTHZ).await.unwrap();
    let first = read_response(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        first.starts_with("HTTP/1.1 200") && first.ends_with("ok"),
        "{first}"
    );
    // idle for longer than the header timeout, shorter than the idle timeout: still open
    tokio::time::sleep(Duration::from_secs(2)).await;
    stream.write_all(HEALTHZ).await.unwrap();
    let second = read_response(&mut stream, Duration::from_secs(5))
        .await
        .expect("the kept-alive connection answers a second request");
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    let idle_from = Instant::now();
    let (closed, rest) = read_until_closed(&mut stream, Duration::from_secs(7)).await;
    assert!(closed, "an idle connection stays open");
    assert!(rest.is_empty());
    assert!(
        idle_from.elapsed() < Duration::from_secs(6),
        "{:?}",
        idle_from.elapsed()
    );
    app.stop().await;
}

#[tokio::test]
async fn item16_a_declared_oversized_body_is_refused_before_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |_| {}).await;
    for path in ["/api/v1/ask", "/api/v1/feedback", "/reports/login"] {
        let mut stream = TcpStream::connect(app.address).await.unwrap();
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n\
                     Content-Length: 100000000\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let response = read_response(&mut stream, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{path}: no answer without the body"));
        assert!(response.starts_with("HTTP/1.1 413"), "{path}: {response}");
        assert!(response.contains("16 KiB"), "{response}");
        let (closed, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(
            closed,
            "{path}: the unread body cannot be followed by a request"
        );
    }
    assert!(app.store().conversations(0, 10).await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn item16_half_open_sockets_are_closed_and_cannot_starve_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.server.max_connections = 8;
        s.server.header_read_timeout_seconds = 1;
    })
    .await;
    let mut half_open = Vec::new();
    for _ in 0..40 {
        let mut stream = TcpStream::connect(app.address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        half_open.push(stream);
    }
    let started = Instant::now();
    let mut client = TcpStream::connect(app.address).await.unwrap();
    client.write_all(HEALTHZ).await.unwrap();
    // 40 sockets, 8 at a time, 1 s each: about 5 s
    let answer = read_response(&mut client, Duration::from_secs(20))
        .await
        .expect("/healthz is answered once the header timeout frees the slots");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // and every half-open socket was closed by the server
    let closes = half_open
        .iter_mut()
        .map(|stream| async move { read_until_closed(stream, Duration::from_secs(10)).await.0 });
    let closed = futures::future::join_all(closes).await;
    assert!(
        closed.iter().all(|c| *c),
        "{} of 40 half-open sockets still open",
        closed.iter().filter(|c| !**c).count()
    );
    app.stop().await;
}

#[tokio::test]
async fn item16_connections_over_the_cap_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.server.max_connections = 2;
        s.server.header_read_timeout_seconds = 30;
    })
    .await;
    let mut first = TcpStream::connect(app.address).await.unwrap();
    first.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let mut second = TcpStream::connect(app.address).await.unwrap();
    second.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = TcpStream::connect(app.address).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    assert_eq!(
        read_response(&mut third, Duration::from_secs(1)).await,
        None,
        "a third connection is served while two hold both slots"
    );
    drop(first);
    let answer = read_response(&mut third, Duration::from_secs(5))
        .await
        .expect("served once a slot is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
    app.stop().await;
}

#[tokio::test]
async fn item16_shutdown_with_a_half_sent_body_ends_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.server.shutdown_grace_seconds = 2;
        s.server.body_read_timeout_seconds = 60;
        s.server.request_timeout_seconds = 60;
    })
    .await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/ask HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"text\": \"half",
        )
        .await
        .unwrap();
    // an idle kept-alive connection as well
    let mut idle = TcpStream::connect(app.address).await.unwrap();
    idle.write_all(HEALTHZ).await.unwrap();
    read_response(&mut idle, Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.stop()).await;
    assert!(stopped.is_ok(), "still running 10 s after the signal");
    assert!(
        started.elapsed() <= Duration::from_secs(3),
        "grace 2 s, stopped after {:?}",
        started.elapsed()
    );
    let (closed, _) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert!(closed);
    let (closed, _) = read_until_closed(&mut idle, Duration::from_secs(2)).await;
    assert!(closed);
}

#[tokio::test]
async fn item16_a_request_that_takes_too_long_gets_503() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let mut settings = schema.settings();
    settings.server.request_timeout_seconds = 1;
    let app = TestApp::spawn(settings).await;
    // another session holds the log's tables: the question waits for the database
    let locker = sqlx::PgPool::connect(&schema.url).await.unwrap();
    // the app's start-up work (retention) may hold a row lock for a moment: PostgreSQL then
    // reports a deadlock for one of the two, so try again
    let mut attempts = 0;
    let lock = loop {
        let mut lock = locker.begin().await.unwrap();
        match sqlx::query("LOCK TABLE inbox, conversations IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *lock)
            .await
        {
            Ok(_) => break lock,
            Err(err) if attempts < 20 => {
                attempts += 1;
                eprintln!("locking the tables failed ({err}); again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("cannot lock the tables: {err}"),
        }
    };
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        app.ask(json!({"text": "laptop kapot", "session": "s"})),
    )
    .await
    .expect("answered while the database still waits");
    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("too long"),
        "{body}"
    );
    lock.rollback().await.unwrap();
    locker.close().await;
    let metrics = app.metrics().await;
    assert!(
        metrics
            .contains("referral_desk_http_requests_total{route=\"/api/v1/ask\",status=\"503\"} 1"),
        "{metrics}"
    );
    app.stop().await;
    schema.drop().await;
}

#[tokio::test]
async fn item16_a_client_that_stops_reading_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.server.idle_timeout_seconds = 1;
        s.server.header_read_timeout_seconds = 10;
    })
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(app.address).await.unwrap();
    // 500 pipelined requests for the 20 KB script, and not a byte read
    const REQUESTS: usize = 500;
    let request = b"GET /assets/app.js HTTP/1.1\r\nHost: desk\r\n\r\n";
    let mut all = Vec::new();
    for _ in 0..REQUESTS {
        all.extend_from_slice(request);
    }
    stream.write_all(&all).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (closed, received) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let answered = String::from_utf8_lossy(&received)
        .matches("HTTP/1.1 200")
        .count();
    assert!(closed, "the connection is still open");
    assert!(
        answered < REQUESTS,
        "every response was delivered to a client that stopped reading"
    );
    app.stop().await;
}

// --- item 17: questions per client ----------------------------------------------------------

#[tokio::test]
async fn item17_questions_are_limited_per_client_and_refused_ones_are_not_stored() {
    const BURST: u32 = 3;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.web.rate_limit_per_minute = 1;
        s.web.rate_limit_burst = BURST;
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let ask = |client: &'static str| {
        app.client
            .post(app.url("/api/v1/ask"))
            .header("x-forwarded-for", client)
            .json(&json!({"text": "hoe vraag ik vakantie aan", "session": client}))
            .send()
    };
    for n in 0..BURST {
        assert_eq!(
            ask("198.51.100.1").await.unwrap().status(),
            200,
            "question {n}"
        );
    }
    let refused = ask("198.51.100.1").await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(
        app.store().conversations(0, 100).await.unwrap().len(),
        BURST as usize,
        "a refused question is not stored"
    );
    // another client behind the same proxy is not affected
    assert_eq!(ask("198.51.100.2").await.unwrap().status(), 200);
    assert_eq!(
        app.store().conversations(0, 100).await.unwrap().len(),
        BURST as usize + 1
    );
    // other routes are not limited
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        200
    );
    app.stop().await;
}

// --- item 18: no client value starts a log line ---------------------------------------------

/// What a client sends: a value with a line break and a forged log line, a carriage return
/// and a terminal escape that would clear the screen.
const FORGED: &str = "nobody\n2099-01-01T00:00:00Z  INFO referral_desk: FORGED entry\r\x1b[2J";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// The events a request handler could log with the forged value, through the project's
/// subscriber configuration, and what came out.
fn log_forged(format: LogFormat, ansi: bool) -> String {
    let buffer = Buffer::default();
    let subscriber = referral_desk::telemetry::subscriber(
        format,
        tracing_subscriber::EnvFilter::new("info"),
        buffer.clone(),
        ansi,
    );
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(reason = %FORGED, "rejected a request");
        tracing::warn!(reason = FORGED, "a string field");
        tracing::error!("a message with {FORGED}");
        let error = std::io::Error::other(FORGED);
        tracing::error!(error = &error as &dyn std::error::Error, "an error field");
        let span = tracing::info_span!("span", channel = %FORGED);
        span.in_scope(|| tracing::info!("inside a span"));
    });
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn item18_a_forged_line_in_a_field_stays_inside_its_event() {
    for (format, ansi) in [
        (LogFormat::Pretty, false),
        (LogFormat::Pretty, true),
        (LogFormat::Json, false),
    ] {
        let output = log_forged(format, ansi);
        let lines: Vec<&str> = output.split('\n').collect();
        assert_eq!(
            lines.len(),
            6,
            "{format:?}, ansi {ansi}: five events, five lines:\n{output}"
        );
        assert_eq!(lines[5], "", "each event ends with its newline");
        for line in &lines[..5] {
            assert!(
                line.contains("FORGED"),
                "{format:?}: the value is kept: {line}"
            );
            assert!(!line.contains('\r'), "{format:?}: {line:?}");
            assert!(
                !line.contains("\x1b[2J"),
                "{format:?}: a client's escape: {line:?}"
            );
            assert!(!line.starts_with("2099"), "{format:?}: {line}");
        }
        if ansi {
            assert!(output.contains('\x1b'), "the formatter's own colours stay");
        }
        if format == LogFormat::Json {
            // the collector gets the value exactly as sent
            let first: Value = serde_json::from_str(lines[0]).unwrap();
            assert_eq!(first["fields"]["reason"], FORGED, "{}", lines[0]);
        }
    }
}

#[test]
fn item18_the_server_log_has_no_line_a_client_wrote() {
    let dir = tempfile::tempdir().unwrap();
    const SECRET: &str = "log-injection-signing-secret";
    let database = sqlite_url(dir.path());
    let support::process::ServeProcess {
        child: mut server,
        address,
        lines,
        mut log,
    } = support::process::ServeProcess::start(
        dir.path(),
        &[
            ("REFERRAL_DESK__DATABASE__URL", &database),
            ("REFERRAL_DESK__SLACK__SIGNING_SECRET", SECRET),
            ("REFERRAL_DESK__SLACK__BOT_TOKEN", "xoxb-test"),
            ("REFERRAL_DESK__SLACK__TEAM_ID", "TDESK"),
            ("REFERRAL_DESK__SLACK__API_BASE_URL", "http://127.0.0.1:9"),
        ],
    );

    // a signed Slack DM from U1 (conversation 1 once a worker has answered it), then U1's own
    // "did you mean" click whose intent is the forged text: the server logs that intent
    let post = |path: &str, body: String, content_type: &str| {
        let now = chrono::Utc::now().timestamp();
        let signature =
            referral_desk::channels::slack::SlackVerifier::new(SECRET).sign(now, body.as_bytes());
        let url = format!("http://{address}{path}");
        let content_type = content_type.to_string();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                reqwest::Client::new()
                    .post(url)
                    .header("X-Slack-Request-Timestamp", now.to_string())
                    .header("X-Slack-Signature", signature)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
    };
    let event = json!({
        "type": "event_callback", "team_id": "TDESK", "event_id": "Ev1", "event_time": 1_700_000_000,
        "event": {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1",
                  "ts": "1.1", "text": "hoe vraag ik verlof aan"},
    });
    assert_eq!(
        post("/slack/events", event.to_string(), "application/json"),
        200
    );
    let value = json!({"conversation_id": 1, "intent": FORGED}).to_string();
    let payload = json!({
        "type": "block_actions",
        "team": {"id": "TDESK"},
        "user": {"id": "U1"},
        "channel": {"id": "D1"},
        "actions": [{"action_id": "choose_intent", "value": value}],
    })
    .to_string();
    let body = serde_urlencoded::to_string([("payload", payload)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert_eq!(
            post(
                "/slack/interactivity",
                body.clone(),
                "application/x-www-form-urlencoded"
            ),
            200
        );
        std::thread::sleep(Duration::from_millis(200));
        log.extend(lines.try_iter());
        if log.iter().any(|l| l.contains("FORGED entry")) || Instant::now() > deadline {
            break;
        }
    }

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    // the reader thread ends at the end of stderr, which the exit closed
    log.extend(lines.iter());
    log.extend(lines.try_iter());
    let text = log.join("\n");
    for line in &log {
        assert!(
            !line.starts_with("2099-01-01"),
            "a line written by a client:\n{text}"
        );
        assert!(
            !line.contains('\r') && !line.contains("\x1b[2J"),
            "{line:?}"
        );
    }
    assert!(
        log.iter()
            .any(|l| l.contains("intent that is not there") && l.contains("FORGED entry")),
        "the forged value reaches the log, escaped, in the line of its event:\n{text}"
    );
}

// --- item 20: browser security headers, no internals in errors ------------------------------

#[tokio::test]
async fn item20_the_chat_page_and_every_response_carry_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.web.frame_ancestors = vec!["'self'".into(), "https://intranet.example.nl".into()];
    })
    .await;
    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self' https://intranet.example.nl",
    ] {
        assert!(csp.contains(directive), "{directive} missing in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    // X-Frame-Options cannot name the intranet: left to frame-ancestors
    assert!(page.headers().get("x-frame-options").is_none());
    // the page needs nothing the policy forbids: no inline script, style or handler
    let html = page.text().await.unwrap();
    let handler = regex::Regex::new(r"(?i)\son[a-z]+\s*=").unwrap();
    let inline = html.contains("<style")
        || html.contains(" style=")
        || handler.is_match(&html)
        || html
            .split("<script")
            .skip(1)
            .any(|tag| !tag.split('>').next().unwrap_or("").contains(" src="));
    assert!(!inline, "inline code or style the CSP would block:\n{html}");

    for (method, path) in [
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/assets/app.js"),
        ("GET", "/no-such-page"),
        ("POST", "/api/v1/ask"),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    app.stop().await;

    // by default only the desk itself may frame the page, old browsers told too
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.analytics.enabled = true;
        s.analytics.tokens = vec!["a-report-token-of-32-characters!".to_string().into()];
    })
    .await;
    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .ends_with("frame-ancestors 'self'")
    );
    assert_eq!(page.headers()["x-frame-options"], "SAMEORIGIN");
    // the dashboard may not be framed at all
    let login = app.client.get(app.url("/reports")).send().await.unwrap();
    assert_eq!(login.status(), 401);
    let csp = login.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(login.headers()["referrer-policy"], "no-referrer");
    app.stop().await;
}

#[tokio::test]
async fn item20_a_failing_report_shows_no_internals() {
    const TOKEN: &str = "report-token-0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |s| {
        s.analytics.enabled = true;
        s.analytics.tokens = vec![TOKEN.to_string().into()];
    })
    .await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = no_redirects
        .post(app.url("/reports/login"))
        .form(&[("token", TOKEN), ("next", "/reports")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let session = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // the store breaks underneath: the conversation log and the published monthly tables are
    // gone (the server publishes due months at start, so October may already be a stored
    // table that needs no log)
    let database = dir.path().join("desk.db");
    tokio::task::spawn_blocking(move || {
        let connection = rusqlite::Connection::open(database).unwrap();
        connection
            .execute_batch(
                "PRAGMA foreign_keys = OFF; DROP TABLE conversations; DROP TABLE report_releases;",
            )
            .unwrap();
    })
    .await
    .unwrap();
    for (path, bearer) in [
        ("/reports?from=2026-10-01&to=2026-10-31&lang=en", false),
        ("/api/v1/reports/demand?from=2026-10-01&to=2026-10-31", true),
    ] {
        let mut request = no_redirects.get(app.url(path)).header("cookie", &session);
        if bearer {
            request = request.bearer_auth(TOKEN);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 500, "{path}");
        let body = response.text().await.unwrap();
        for internal in [
            "conversations",
            "table",
            "sqlite",
            "SQL",
            "database",
            "error returned",
        ] {
            assert!(
                !body.contains(internal),
                "{path} shows {internal:?}: {body}"
            );
        }
        assert!(body.to_lowercase().contains("on our side"), "{body}");
    }
    app.stop().await;
}
