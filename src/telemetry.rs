//! Logging and metrics. Logs go through `tracing` (pretty for people, JSON for collectors);
//! the metrics listener (`metrics.bind`) serves the Prometheus text format from [`Metrics`].
//!
//! Log fields carry values clients chose (a rejected intent id, a reason quoting a header), so
//! a value must never be able to start a log line of its own: `"x\n2099-01-01T00:00:00Z INFO
//! forged"` would otherwise forge an entry. Every event therefore passes [`OneLine`], which
//! escapes line breaks and other control characters inside the event and keeps only its final
//! newline; with colours on, the field formatter ([`EscapingFields`]) escapes a client's ESC
//! before the formatter adds its own colour codes. JSON lines are escaped by the encoder.

use std::fmt;
use std::io::{self, Write};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{DefaultFields, DefaultVisitor, Writer};

use crate::config::{LogFormat, TelemetrySettings};

/// Installs the global tracing subscriber; later calls are ignored (tests start many apps).
/// `RUST_LOG`, when set and valid, takes precedence over `telemetry.level`.
pub fn init_tracing(settings: &TelemetrySettings) {
    use std::io::IsTerminal;
    let filter = settings
        .rust_log
        .as_deref()
        .ok_or(())
        .and_then(|filter| tracing_subscriber::EnvFilter::try_new(filter).map_err(|_| ()))
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = subscriber(
        settings.format,
        filter,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
    // also routes `log` records (from dependencies that use the log crate) into it
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber.try_init();
}

/// The service's subscriber writing to `writer`: the one [`init_tracing`] installs, and what
/// tests install with a buffer to see exactly what would reach the log.
pub fn subscriber<W>(
    format: LogFormat,
    filter: tracing_subscriber::EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_writer(OneLine::new(writer, false))
                .finish(),
        ),
        LogFormat::Pretty => Box::new(
            builder
                .fmt_fields(EscapingFields)
                .with_writer(OneLine::new(writer, ansi))
                .finish(),
        ),
    }
}

/// Writes `text` with every character that could break or disguise a log line escaped:
/// control characters (line feed, carriage return, tab, ESC, the C1 range), the Unicode line
/// and paragraph separators and the bidirectional overrides. ESC is left alone when
/// `keep_escape` (the formatter's own colour codes).
fn escape_into(out: &mut String, text: &str, keep_escape: bool) {
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x1b' if keep_escape => out.push(c),
            c if needs_escape(c) => {
                use fmt::Write as _;
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with [`escape_into`] applied; borrowed when nothing needs escaping.
fn escaped(text: &str, keep_escape: bool) -> std::borrow::Cow<'_, str> {
    if text
        .chars()
        .any(|c| needs_escape(c) && !(keep_escape && c == '\x1b'))
    {
        let mut out = String::with_capacity(text.len() + 16);
        escape_into(&mut out, text, keep_escape);
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A [`MakeWriter`] whose writers hold one event and write it as one line: everything the
/// formatter wrote, escaped by [`escape_into`], except the event's final newline.
#[derive(Debug)]
pub struct OneLine<M> {
    inner: M,
    keep_escape: bool,
}

impl<M> OneLine<M> {
    /// `keep_escape`: the formatter writes ANSI colours, so ESC is its own (clients' ESC
    /// characters are escaped earlier, by [`EscapingFields`]).
    pub fn new(inner: M, keep_escape: bool) -> OneLine<M> {
        OneLine { inner, keep_escape }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for OneLine<M> {
    type Writer = OneLineWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        OneLineWriter {
            inner: self.inner.make_writer(),
            keep_escape: self.keep_escape,
            event: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        OneLineWriter {
            inner: self.inner.make_writer_for(meta),
            keep_escape: self.keep_escape,
            event: Vec::new(),
        }
    }
}

/// Collects one event; writes it, escaped, when dropped (the formatter drops its writer after
/// each event), so however the formatter splits its writes the line is judged whole.
#[derive(Debug)]
pub struct OneLineWriter<W: Write> {
    inner: W,
    keep_escape: bool,
    event: Vec<u8>,
}

impl<W: Write> Write for OneLineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.event.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for OneLineWriter<W> {
    fn drop(&mut self) {
        if self.event.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.event);
        let (body, newline) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        let mut line = escaped(body, self.keep_escape).into_owned();
        line.push_str(newline);
        // nowhere to report a failed log write
        let _ = self.inner.write_all(line.as_bytes());
        let _ = self.inner.flush();
    }
}

/// The pretty formatter's fields ([`DefaultFields`]) with every value escaped by
/// [`escape_into`] (ESC included) before it is written, so a client's value cannot carry
/// colour codes or line breaks whatever the writer does.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapingFields;

impl<'a> MakeVisitor<Writer<'a>> for EscapingFields {
    type Visitor = EscapingVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        EscapingVisitor(DefaultFields::new().make_visitor(target))
    }
}

/// See [`EscapingFields`].
#[derive(Debug)]
pub struct EscapingVisitor<'a>(DefaultVisitor<'a>);

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.record_str(field, &escaped(value, false));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.record_debug(field, &format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        self.0
            .record_debug(field, &format_args!("{}", escaped(&text, false)));
    }
}

impl VisitOutput<fmt::Result> for EscapingVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.0.finish()
    }
}

impl VisitFmt for EscapingVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        self.0.writer()
    }
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
        let metrics = Metrics {
            registry,
            requests: define_counter_vec(
                "http_requests_total",
                "HTTP requests by route and status",
                &["route", "status"],
            ),
            decisions: define_counter_vec(
                "decisions_total",
                "Routed questions by intent and outcome",
                &["intent", "outcome"],
            ),
            classify_seconds: define_histogram(
                "classify_seconds",
                "Time to classify one question",
                vec![
                    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001,
                    0.005, 0.01, 0.025, 0.1,
                ],
            ),
            embed_seconds: define_histogram(
                "embed_seconds",
                "Time to embed one question with the sentence-embedding model",
                vec![
                    0.001, 0.002, 0.004, 0.006, 0.008, 0.012, 0.025, 0.05, 0.1, 0.5,
                ],
            ),
            inbox_depth: define_gauge("inbox_depth", "Questions received, not yet processed"),
            inbox_oldest_age_seconds: define_gauge(
                "inbox_oldest_age_seconds",
                "Age of the oldest unprocessed question",
            ),
            reply_failures: define_counter_vec(
                "reply_failures_total",
                "Failed reply attempts by channel",
                &["channel"],
            ),
            request_seconds: HistogramVec::new(
                HistogramOpts::new("http_request_seconds", "HTTP request duration by route")
                    .buckets(vec![
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
                    ]),
                &["route"],
            )
            .expect("static metric"),
            channel_api_errors: define_counter_vec(
                "channel_api_errors_total",
                "Platform API errors by channel and code",
                &["channel", "error"],
            ),
            reports: prometheus::IntCounter::new("reports_total", "Demand reports computed")
                .expect("static metric"),
            report_seconds: define_histogram(
                "report_seconds",
                "Time to compute one demand report",
                vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0],
            ),
        };
        metrics.register_all();
        metrics
    }

    /// The registry renders only what is registered on it, so every metric is, once.
    fn register_all(&self) {
        for collector in [
            Box::new(self.reports.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(self.report_seconds.clone()),
            Box::new(self.channel_api_errors.clone()),
            Box::new(self.requests.clone()),
            Box::new(self.decisions.clone()),
            Box::new(self.classify_seconds.clone()),
            Box::new(self.embed_seconds.clone()),
            Box::new(self.request_seconds.clone()),
            Box::new(self.inbox_depth.clone()),
            Box::new(self.inbox_oldest_age_seconds.clone()),
            Box::new(self.reply_failures.clone()),
        ] {
            self.registry
                .register(collector)
                .expect("unique metric names");
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

/// Metric names, help texts and labels are fixed in code, so a failure to define one is a bug:
/// one `expect` here rather than one per metric in [`Metrics::new`].
fn define_counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("static metric")
}

/// As [`define_counter_vec`]: a failure is a bug. The histograms differ only in their buckets.
fn define_histogram(name: &str, help: &str, buckets: Vec<f64>) -> prometheus::Histogram {
    prometheus::Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("static metric")
}

/// As [`define_counter_vec`]: a failure is a bug.
fn define_gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("static metric")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_text_and_breaks_lines_apart() {
        assert_eq!(escaped("plain text, é ü", false), "plain text, é ü");
        assert_eq!(
            escaped("a\nb\r\tc\x1b[31m\u{85}\u{2028}\u{202e}", false),
            "a\\nb\\r\\tc\\u{1b}[31m\\u{85}\\u{2028}\\u{202e}"
        );
        assert_eq!(escaped("\x1b[1mbold\n", true), "\x1b[1mbold\\n");
    }

    #[test]
    fn one_event_is_one_line_whatever_the_writes() {
        let mut out = Vec::new();
        {
            let mut writer = OneLineWriter {
                inner: &mut out,
                keep_escape: false,
                event: Vec::new(),
            };
            writer.write_all(b"2026-01-01 WARN x=a\n").unwrap();
            writer.write_all(b"2099-01-01 INFO forged\n").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-01-01 WARN x=a\\n2099-01-01 INFO forged\n"
        );
    }
}
