//! The export pipeline: closed invocations become OTLP, written to stdout as one OTLP/JSON
//! line per invocation (the default) or as the envelope serverless-otlp-forwarder reads
//! (`envelope.rs`), sent to a collector over OTLP/HTTP (SigV4-signed for AWS X-Ray,
//! `sigv4.rs`), or dropped.
//!
//! [`Exporter`] chooses where telemetry goes ([`Config::with_exporter`](crate::Config::with_exporter));
//! [`stats`] counts what left, [`sampling_stats`] what sampling kept and dropped.
//!
//! Sampling (`OTEL_TRACES_SAMPLER`, [`Config::with_sampler`](crate::Config::with_sampler))
//! is decided at the end of each invocation (`sampling.rs`): failed invocations are always
//! exported. `OTEL_SDK_DISABLED=true` exports nothing.
//!
//! Export never fails the function: an exporter error, a hung collector or a write error is
//! reported as one structured line on stderr, and the function's result is unchanged. An
//! OTLP/HTTP request and a `SpanExporter` call are bounded by the export timeout; a line
//! written to stdout or to an `Exporter::Writer` is a synchronous write, which the writer
//! itself must not block on for long (stdout on Lambda does not).

pub(crate) mod convert;
pub(crate) mod enrich;
#[cfg(feature = "otlp-stdout")]
pub(crate) mod envelope;
#[cfg(any(feature = "otlp", feature = "otlp-stdout"))]
pub(crate) mod gzip;
pub(crate) mod json;
#[cfg(feature = "otlp")]
pub(crate) mod otlp_http;
pub(crate) mod otlp_json;
#[cfg(any(feature = "otlp", feature = "otlp-stdout"))]
pub(crate) mod proto;
pub(crate) mod records;
pub(crate) mod resource;
pub(crate) mod reuse;
pub(crate) mod sampling;
#[cfg(feature = "xray")]
pub(crate) mod sigv4;
#[cfg(feature = "otlp")]
pub(crate) mod transport;

use std::{
    borrow::Cow,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

pub use crate::config::{BoxedSpanExporter, Exporter, OtlpSigning, SharedWriter};
pub use crate::invocation::{Outcome, TriggerKind};
pub use otlp_json::OtlpJsonExporter;
pub use sampling::sampling_stats;

use crate::{
    config::Config,
    internal_error,
    invocation::{Finished, current::CatchUnwindIn},
};
use records::{InvocationView, Plan};
use reuse::Reused;

enum Backend {
    /// One line per invocation on a writer (stdout unless the user gave one).
    Line {
        writer: SharedWriter,
        format: LineFormat,
        max_line_bytes: usize,
    },
    #[cfg(feature = "otlp")]
    Otlp(Box<otlp_http::OtlpHttp>),
    /// A user's OpenTelemetry exporter, fed `SpanData`.
    Spans(BoxedSpanExporter),
    None,
}

/// What an invocation's line is.
enum LineFormat {
    /// An OTLP/JSON `ExportTraceServiceRequest`.
    OtlpJson,
    /// The envelope of `otlp-stdout-span-exporter`.
    #[cfg(feature = "otlp-stdout")]
    Envelope(Box<envelope::Envelope>),
}

/// When an invocation is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// After its response was sent: the time to add what only the end knows (memory).
    AfterResponse,
    /// Before its response, because nothing runs after it.
    BeforeResponse,
}

/// The process's exporter, built once when the SDK is installed.
pub(crate) struct Pipeline {
    backend: Backend,
    timeout: Duration,
    emf_metrics: bool,
    /// Which successful invocations are exported; `None`: all of them.
    sampler: Option<Box<dyn opentelemetry_sdk::trace::ShouldSample>>,
    /// Dev mode: each invocation's waterfall on stderr too.
    #[cfg(feature = "dev")]
    dev_mode: bool,
    json: json::JsonPrelude,
    #[cfg(any(feature = "otlp", feature = "otlp-stdout"))]
    proto: proto::ProtoPrelude,
    /// The buffer every invocation is encoded into.
    buffer: Reused<Vec<u8>>,
}

static EXPORTED_SPANS: AtomicU64 = AtomicU64::new(0);
static FAILED_EXPORTS: AtomicU64 = AtomicU64::new(0);

/// Spans successfully exported and failed exports so far in this process.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use lambda_runtime::{Context, LambdaEvent};
/// use serverless_sdk::{Config, export::Exporter, serverless_handler, span};
///
/// #[serverless_handler]
/// async fn handler(event: LambdaEvent<u32>) -> Result<u32, std::io::Error> {
///     let _work = span("double");
///     Ok(event.payload * 2)
/// }
///
/// /// A log destination that refuses every write after the first.
/// struct FullAfterOne(bool);
/// impl std::io::Write for FullAfterOne {
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
///         if std::mem::replace(&mut self.0, true) {
///             return Err(std::io::Error::other("disk full"));
///         }
///         Ok(buf.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// serverless_sdk::init(
///     Config::from_env().with_exporter(Exporter::Writer(Arc::new(Mutex::new(FullAfterOne(false))))),
/// );
/// for n in [1, 2] {
///     let _ = handler(LambdaEvent::new(n, Context::default())).await;
/// }
/// let (spans, failures) = serverless_sdk::export::stats();
/// assert_eq!(spans, 2, "the first invocation's root and its span");
/// assert_eq!(failures, 1, "the second invocation's write was refused");
/// # });
/// ```
#[must_use]
pub fn stats() -> (u64, u64) {
    (
        EXPORTED_SPANS.load(Ordering::Relaxed),
        FAILED_EXPORTS.load(Ordering::Relaxed),
    )
}

impl Pipeline {
    /// Builds the exporter `config` chooses. Makes no network call.
    pub(crate) fn build(config: &mut Config) -> Self {
        let resource =
            resource::build_resource(config.service_name.as_deref(), &config.resource_attributes);
        let scope = resource::scope();
        let max_line_bytes = config.limits.max_line_bytes;
        let line = |writer: Option<SharedWriter>, format| Backend::Line {
            writer: writer.unwrap_or_else(|| std::sync::Arc::new(Mutex::new(std::io::stdout()))),
            format,
            max_line_bytes,
        };
        let stdout = || line(None, LineFormat::OtlpJson);
        let backend = match std::mem::replace(&mut config.exporter, Exporter::None) {
            Exporter::Console => stdout(),
            Exporter::Writer(writer) => line(Some(writer), LineFormat::OtlpJson),
            Exporter::None => Backend::None,
            Exporter::SpanExporter(mut exporter) => {
                exporter.set_resource(&resource);
                Backend::Spans(exporter)
            }
            #[cfg(feature = "otlp-stdout")]
            exporter @ (Exporter::OtlpStdout | Exporter::OtlpStdoutWriter(_)) => line(
                match exporter {
                    Exporter::OtlpStdoutWriter(writer) => Some(writer),
                    _ => None,
                },
                LineFormat::Envelope(Box::new(envelope::Envelope::new(
                    &service_name(&resource),
                    config.otlp_stdout_level,
                    config.otlp_stdout_log_level,
                ))),
            ),
            #[cfg(not(feature = "otlp-stdout"))]
            Exporter::OtlpStdout | Exporter::OtlpStdoutWriter(_) => {
                internal_error::report(
                    "config",
                    "the otlp-stdout envelope needs the `otlp-stdout` feature of serverless_sdk; using console",
                );
                stdout()
            }
            #[cfg(feature = "otlp")]
            Exporter::Otlp { endpoint } => {
                match otlp_http::OtlpHttp::build(
                    endpoint.as_deref(),
                    &config.otlp,
                    config.otlp_signing,
                ) {
                    Ok(exporter) => Backend::Otlp(Box::new(exporter)),
                    Err(e) => {
                        internal_error::report(
                            "config",
                            &format!("cannot build the OTLP exporter ({e}); using console"),
                        );
                        stdout()
                    }
                }
            }
            #[cfg(not(feature = "otlp"))]
            Exporter::Otlp { .. } => {
                internal_error::report(
                    "config",
                    "OTLP export needs the `otlp` feature of serverless_sdk; using console",
                );
                stdout()
            }
        };
        Self {
            backend,
            timeout: config.export_timeout,
            emf_metrics: config.emf_metrics,
            sampler: config.sampler.take(),
            #[cfg(feature = "dev")]
            dev_mode: config.dev_mode,
            json: json::prelude(&resource, scope),
            #[cfg(any(feature = "otlp", feature = "otlp-stdout"))]
            proto: proto::prelude(&resource, scope),
            buffer: Reused::new(Vec::new, reuse::oversized_buffer),
        }
    }

    /// Exports one closed invocation, within the export timeout. A panic in an exporter is
    /// caught and reported, never passed on to the function.
    pub(crate) async fn export(&self, mut finished: Finished, when: When) {
        #[cfg(feature = "dev")]
        let draw = self.dev_mode;
        #[cfg(not(feature = "dev"))]
        let draw = false;
        // Nothing to send, draw or count: `OTEL_SDK_DISABLED` ends up here, its exporter,
        // dev mode and metrics turned off by the installer.
        if matches!(self.backend, Backend::None) && !draw && !self.emf_metrics {
            return;
        }
        let keep = sampling::keep(self.sampler.as_deref(), &finished);
        if when == When::AfterResponse
            && std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                enrich::after_response(&mut finished, self.emf_metrics, keep);
            }))
            .is_err()
        {
            internal_error::report("panic", "the SDK panicked reading memory after a response");
        }
        // A developer sees every invocation, the ones sampling drops included.
        if !(keep || draw) || finished.spans.is_empty() {
            return;
        }
        // Off the response path now (or with nothing after it): the time to symbolise.
        finished.resolve_backtraces();
        #[cfg(feature = "dev")]
        let waterfall = self.dev_mode.then(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::dev::waterfall(&finished)
            }))
            .unwrap_or_else(|_| {
                internal_error::report("panic", "the SDK panicked drawing a dev-mode waterfall");
                String::new()
            })
        });
        if keep {
            // What is exported was recorded and kept: its spans say so in their trace flags,
            // also where the caller had not sampled the trace and a failure kept it.
            finished.sampled = true;
            self.send_counted(finished).await;
        }
        #[cfg(feature = "dev")]
        if let Some(waterfall) = waterfall {
            crate::dev::print(&waterfall);
        }
    }

    /// Sends one invocation and counts the outcome.
    async fn send_counted(&self, finished: Finished) {
        let count = finished.spans.len() as u64;
        let Ok(result) = CatchUnwindIn::new(self.send(finished), None).await else {
            FAILED_EXPORTS.fetch_add(1, Ordering::Relaxed);
            internal_error::report(
                "panic",
                "the exporter panicked; this invocation's telemetry is lost",
            );
            return;
        };
        match result {
            Ok(()) => {
                EXPORTED_SPANS.fetch_add(count, Ordering::Relaxed);
            }
            Err(e) => {
                FAILED_EXPORTS.fetch_add(1, Ordering::Relaxed);
                internal_error::report("export", &format!("export of {count} spans failed: {e}"));
            }
        }
    }

    async fn send(&self, finished: Finished) -> Result<(), Cow<'static, str>> {
        match &self.backend {
            Backend::None => Ok(()),
            Backend::Line {
                writer,
                format,
                max_line_bytes,
            } => self.buffer.with(|buf| {
                fit_line(&finished, *max_line_bytes, buf, |view, line| {
                    self.write_line(format, view, line)
                })?;
                let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
                writer
                    .write_all(buf)
                    .and_then(|()| writer.flush())
                    .map_err(|e| Cow::Owned(e.to_string()))
            }),
            #[cfg(feature = "otlp")]
            Backend::Otlp(exporter) => {
                let view = InvocationView::new(&finished, Plan::All);
                let body =
                    exporter.body(|buf| proto::encode(&self.proto, &view, buf), &self.buffer)?;
                drop(finished);
                within(self.timeout, exporter.send(body)).await
            }
            Backend::Spans(exporter) => {
                let spans = convert::to_span_data(finished, resource::scope());
                within(self.timeout, async {
                    exporter.export(spans).await.map_err(|e| e.to_string())
                })
                .await
            }
        }
    }

    /// Appends one invocation's line, its newline included, to `line`.
    fn write_line(
        &self,
        format: &LineFormat,
        view: &InvocationView<'_>,
        line: &mut Vec<u8>,
    ) -> Result<(), String> {
        match format {
            LineFormat::OtlpJson => {
                json::write_request(&self.json, view, line);
                line.push(b'\n');
                Ok(())
            }
            #[cfg(feature = "otlp-stdout")]
            LineFormat::Envelope(envelope) => envelope.write(&self.proto, view, line),
        }
    }
}

/// The `service.name` of `resource`.
#[cfg(feature = "otlp-stdout")]
fn service_name(resource: &opentelemetry_sdk::Resource) -> String {
    resource
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// Writes `finished` into `line` (cleared first) with `write`, within `max_line_bytes`
/// (the newline included): a line that would be longer keeps the root span and every
/// failed span, counting the others on the root (`serverless.export.dropped_spans`); if
/// that is still too long, each span keeps its identity and status only
/// (`serverless.export.truncated`).
pub(crate) fn fit_line(
    finished: &Finished,
    max_line_bytes: usize,
    line: &mut Vec<u8>,
    mut write: impl FnMut(&InvocationView<'_>, &mut Vec<u8>) -> Result<(), String>,
) -> Result<(), Cow<'static, str>> {
    let mut plan = Plan::All;
    loop {
        line.clear();
        write(&InvocationView::new(finished, plan), line).map_err(Cow::Owned)?;
        if line.len() <= max_line_bytes {
            return Ok(());
        }
        match plan.smaller(finished) {
            Some(smaller) => plan = smaller,
            None => {
                return Err(format!(
                    "an invocation's line is {} bytes even after truncation (limit {max_line_bytes})",
                    line.len(),
                )
                .into());
            }
        }
    }
}

/// [`fit_line`] for the OTLP/JSON line.
#[cfg(test)]
pub(crate) fn encode_line(
    prelude: &json::JsonPrelude,
    finished: &Finished,
    max_line_bytes: usize,
    line: &mut Vec<u8>,
) -> Result<(), Cow<'static, str>> {
    fit_line(finished, max_line_bytes, line, |view, line| {
        json::write_request(prelude, view, line);
        line.push(b'\n');
        Ok(())
    })
}

/// Runs one export within `timeout`, when a tokio timer is available: the one bound on an
/// export, whatever the backend.
async fn within(
    timeout: Duration,
    export: impl Future<Output = Result<(), String>>,
) -> Result<(), Cow<'static, str>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return export.await.map_err(Cow::Owned);
    }
    match tokio::time::timeout(timeout, export).await {
        Ok(result) => result.map_err(Cow::Owned),
        Err(_) => Err(format!("the export did not finish within {timeout:?}").into()),
    }
}

#[cfg(test)]
mod tests;
