//! The export pipeline: closed invocations become OTLP, written to stdout as one OTLP/JSON
//! line per invocation (the default), sent to a collector over OTLP/HTTP, or dropped.
//!
//! [`Exporter`] chooses where telemetry goes ([`Config::with_exporter`](crate::Config::with_exporter));
//! [`stats`] counts what left.
//!
//! Export never fails the function: an exporter error, a hung collector or a write error is
//! bounded by a timeout and reported as one structured line on stderr.

pub(crate) mod convert;
pub(crate) mod enrich;
#[cfg(feature = "otlp")]
pub(crate) mod otlp_http;
pub(crate) mod otlp_json;
pub(crate) mod resource;

use std::{
    borrow::Cow,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use opentelemetry_sdk::trace::{SpanData, SpanExporter};

pub use crate::config::{Exporter, SharedWriter};
pub use crate::invocation::{Outcome, TriggerKind};
pub use otlp_json::OtlpJsonExporter;

use crate::{
    config::Config,
    internal_error,
    invocation::{Finished, current::CatchUnwindIn},
};

enum Backend {
    Json(OtlpJsonExporter),
    #[cfg(feature = "otlp")]
    Otlp(opentelemetry_otlp::SpanExporter),
    None,
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
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    timeout: Duration,
    emf_metrics: bool,
    /// Dev mode: each invocation's waterfall on stderr too.
    #[cfg(feature = "dev")]
    dev_mode: bool,
}

static EXPORTED_SPANS: AtomicU64 = AtomicU64::new(0);
static FAILED_EXPORTS: AtomicU64 = AtomicU64::new(0);

/// Spans successfully exported and failed exports so far in this process.
///
/// ```
/// let (spans, failures) = serverless_sdk::export::stats();
/// assert_eq!((spans, failures), (0, 0), "nothing exported yet");
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
    pub(crate) fn build(config: &Config) -> Self {
        let resource = resource::build_resource(config.service_name.as_deref());
        let max_line = config.limits.max_line_bytes;
        let json = |exporter: OtlpJsonExporter| {
            let mut exporter = exporter.with_max_line_bytes(max_line);
            exporter.set_resource(&resource);
            Backend::Json(exporter)
        };
        let backend = match &config.exporter {
            Exporter::Console => json(OtlpJsonExporter::stdout()),
            Exporter::Writer(w) => json(OtlpJsonExporter::new(w.clone())),
            Exporter::None => Backend::None,
            #[cfg(feature = "otlp")]
            Exporter::Otlp { endpoint } => match otlp_http::build_otlp(endpoint.as_deref()) {
                Ok(mut exporter) => {
                    exporter.set_resource(&resource);
                    Backend::Otlp(exporter)
                }
                Err(e) => {
                    internal_error::report(
                        "config",
                        &format!("cannot build the OTLP exporter ({e}); using console"),
                    );
                    json(OtlpJsonExporter::stdout())
                }
            },
            #[cfg(not(feature = "otlp"))]
            Exporter::Otlp { .. } => {
                internal_error::report(
                    "config",
                    "OTLP export needs the `otlp` feature of serverless_sdk; using console",
                );
                json(OtlpJsonExporter::stdout())
            }
        };
        Self {
            backend,
            timeout: config.export_timeout,
            emf_metrics: config.emf_metrics,
            #[cfg(feature = "dev")]
            dev_mode: config.dev_mode,
        }
    }

    /// Exports one closed invocation, within the export timeout. A panic in an exporter is
    /// caught and reported, never passed on to the function.
    pub(crate) async fn export(&self, mut finished: Finished, when: When) {
        if when == When::AfterResponse
            && std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                enrich::after_response(&mut finished, self.emf_metrics);
            }))
            .is_err()
        {
            internal_error::report("panic", "the SDK panicked reading memory after a response");
        }
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
        let spans = convert::to_span_data(finished, resource::scope());
        if CatchUnwindIn::new(self.send(spans), None).await.is_err() {
            internal_error::report(
                "panic",
                "the exporter panicked; this invocation's telemetry is lost",
            );
        }
        #[cfg(feature = "dev")]
        if let Some(waterfall) = waterfall {
            crate::dev::print(&waterfall);
        }
    }

    async fn send(&self, spans: Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        let count = spans.len() as u64;
        let result: Result<(), Cow<'static, str>> = match &self.backend {
            Backend::None => Ok(()),
            Backend::Json(e) => e.export(spans).await.map_err(|e| e.to_string().into()),
            #[cfg(feature = "otlp")]
            Backend::Otlp(e) => otlp_http::with_timeout(self.timeout, e.export(spans)).await,
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
}
