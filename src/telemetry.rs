//! Logging and metrics. Logs go through `tracing` (pretty for people, JSON for collectors);
//! `GET /metrics` serves the Prometheus text format from [`Metrics`].

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::config::{LogFormat, TelemetrySettings};

/// Installs the global tracing subscriber; later calls are ignored (tests start many apps).
pub fn init_tracing(settings: &TelemetrySettings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match settings.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The service's Prometheus metrics, on a registry of their own.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route template and status code.
    pub requests: IntCounterVec,
    /// Routing outcomes by intent and decision.
    pub decisions: IntCounterVec,
    pub classify_seconds: prometheus::Histogram,
    /// Time to embed one question (queueing on the model thread included).
    pub embed_seconds: prometheus::Histogram,
    pub inbox_depth: IntGauge,
    pub inbox_oldest_age_seconds: IntGauge,
    /// Replies that could not be sent (each failed attempt), by channel.
    pub reply_failures: IntCounterVec,
    pub request_seconds: HistogramVec,
    /// Errors answered by a platform's API (`ok: false` from Slack), by channel and error code.
    pub channel_api_errors: IntCounterVec,
    /// Demand reports computed (web and API).
    pub reports: prometheus::IntCounter,
    pub report_seconds: prometheus::Histogram,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("referral_desk".into()), None)
            .expect("static registry prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["route", "status"],
        )
        .expect("static metric");
        let decisions = IntCounterVec::new(
            Opts::new("decisions_total", "Routed questions by intent and outcome"),
            &["intent", "outcome"],
        )
        .expect("static metric");
        let classify_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new("classify_seconds", "Time to classify one question").buckets(vec![
                0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005,
                0.01, 0.025, 0.1,
            ]),
        )
        .expect("static metric");
        let embed_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "embed_seconds",
                "Time to embed one question with the sentence-embedding model",
            )
            .buckets(vec![
                0.001, 0.002, 0.004, 0.006, 0.008, 0.012, 0.025, 0.05, 0.1, 0.5,
            ]),
        )
        .expect("static metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("http_request_seconds", "HTTP request duration by route").buckets(
                vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0],
            ),
            &["route"],
        )
        .expect("static metric");
        let inbox_depth = IntGauge::new("inbox_depth", "Questions received, not yet processed")
            .expect("static metric");
        let inbox_oldest_age_seconds = IntGauge::new(
            "inbox_oldest_age_seconds",
            "Age of the oldest unprocessed question",
        )
        .expect("static metric");
        let reply_failures = IntCounterVec::new(
            Opts::new("reply_failures_total", "Failed reply attempts by channel"),
            &["channel"],
        )
        .expect("static metric");
        let channel_api_errors = IntCounterVec::new(
            Opts::new(
                "channel_api_errors_total",
                "Platform API errors by channel and code",
            ),
            &["channel", "error"],
        )
        .expect("static metric");
        let reports = prometheus::IntCounter::new("reports_total", "Demand reports computed")
            .expect("static metric");
        let report_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new("report_seconds", "Time to compute one demand report")
                .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0]),
        )
        .expect("static metric");
        for collector in [
            Box::new(reports.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(report_seconds.clone()),
            Box::new(channel_api_errors.clone()),
            Box::new(requests.clone()),
            Box::new(decisions.clone()),
            Box::new(classify_seconds.clone()),
            Box::new(embed_seconds.clone()),
            Box::new(request_seconds.clone()),
            Box::new(inbox_depth.clone()),
            Box::new(inbox_oldest_age_seconds.clone()),
            Box::new(reply_failures.clone()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        Metrics {
            registry,
            requests,
            decisions,
            classify_seconds,
            embed_seconds,
            inbox_depth,
            inbox_oldest_age_seconds,
            reply_failures,
            request_seconds,
            channel_api_errors,
            reports,
            report_seconds,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding of gathered metrics");
        String::from_utf8(buffer).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
