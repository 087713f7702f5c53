//! The export pipeline: finished invocations become OTLP, written to stdout as one
//! OTLP/JSON line per invocation (the default), sent to a collector over OTLP/HTTP, or
//! dropped.
//!
//! Export never fails the function: an exporter error, a hung collector or a write error is
//! bounded by a timeout and reported as one structured line on stderr.

use std::{
    borrow::Cow,
    env, fmt,
    io::{self, Write},
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::{
    common::tonic::ResourceAttributesWithSchema, trace::tonic::group_spans_by_resource_and_scope,
};
use opentelemetry_sdk::{
    Resource,
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter},
};

use crate::{attributes as attr, config};

/// A destination for the OTLP/JSON lines, shared with the code that reads them.
pub type SharedWriter = Arc<Mutex<dyn Write + Send>>;

/// Where telemetry goes.
///
/// ```
/// use serverless_sdk::Exporter;
/// use std::sync::{Arc, Mutex};
///
/// let console = Exporter::Console;                                   // the default
/// let sink = Exporter::Writer(Arc::new(Mutex::new(std::io::sink())));
/// let collector = Exporter::Otlp { endpoint: Some("http://localhost:4318".into()) };
/// # let _ = (console, sink, collector);
/// ```
#[non_exhaustive]
pub enum Exporter {
    /// One OTLP/JSON `ExportTraceServiceRequest` line per invocation on stdout.
    Console,
    /// The same lines, written to a writer of your choice.
    Writer(SharedWriter),
    /// OTLP over HTTP (protobuf) to a collector. With `endpoint: None`, the standard
    /// `OTEL_EXPORTER_OTLP_*` variables decide.
    Otlp {
        /// Base URL of the collector, e.g. `http://localhost:4318`.
        endpoint: Option<String>,
    },
    /// Nothing is exported.
    None,
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Console => f.write_str("Console"),
            Self::Writer(_) => f.write_str("Writer"),
            Self::Otlp { endpoint } => f.debug_struct("Otlp").field("endpoint", endpoint).finish(),
            Self::None => f.write_str("None"),
        }
    }
}

impl Exporter {
    /// Chooses the exporter from `OTEL_TRACES_EXPORTER` and `OTEL_EXPORTER_OTLP_ENDPOINT`.
    ///
    /// ```
    /// // With no configuration, telemetry goes to stdout.
    /// # if std::env::var_os("OTEL_TRACES_EXPORTER").is_none() && std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
    /// assert!(matches!(serverless_sdk::Exporter::from_env(), serverless_sdk::Exporter::Console));
    /// # }
    /// ```
    #[must_use]
    pub fn from_env() -> Self {
        let endpoint_set = [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]
        .iter()
        .any(|v| env::var(v).is_ok_and(|s| !s.trim().is_empty()));
        let choice = env::var("OTEL_TRACES_EXPORTER").unwrap_or_default();
        match choice.trim().to_ascii_lowercase().as_str() {
            "none" => Self::None,
            "console" | "stdout" | "logging" => Self::Console,
            "otlp" => Self::Otlp { endpoint: None },
            "" if endpoint_set => Self::Otlp { endpoint: None },
            "" => Self::Console,
            other => {
                diagnostic(
                    "config",
                    &format!(
                        "OTEL_TRACES_EXPORTER={other:?} is not supported (use otlp, console or none); using console"
                    ),
                );
                Self::Console
            }
        }
    }
}

/// Writes one structured line to stderr: how the SDK reports its own failures.
pub(crate) fn diagnostic(kind: &str, message: &str) {
    let line = serde_json::json!({
        "level": "ERROR",
        "source": "serverless_sdk",
        "kind": kind,
        "message": message,
    });
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// A [`SpanExporter`] that writes each batch as one OTLP/JSON `ExportTraceServiceRequest`
/// line, the format CloudWatch log pipelines and any OTLP/JSON reader take. Lines longer
/// than the configured limit keep the root span and every failed span, dropping the rest
/// and counting them on the root span as `serverless.export.dropped_spans`.
///
/// ```
/// use opentelemetry_sdk::trace::SpanExporter;
/// use serverless_sdk::OtlpJsonExporter;
///
/// let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
/// let exporter = OtlpJsonExporter::new(buffer.clone());
/// # let _ = exporter;
/// ```
pub struct OtlpJsonExporter {
    writer: SharedWriter,
    resource: ResourceAttributesWithSchema,
    max_line_bytes: usize,
}

impl fmt::Debug for OtlpJsonExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpJsonExporter").finish_non_exhaustive()
    }
}

impl OtlpJsonExporter {
    /// An exporter writing to `writer`.
    pub fn new(writer: SharedWriter) -> Self {
        Self {
            writer,
            resource: ResourceAttributesWithSchema::default(),
            max_line_bytes: config::limits().max_line_bytes,
        }
    }

    /// An exporter writing to stdout.
    #[must_use]
    pub fn stdout() -> Self {
        Self::new(Arc::new(Mutex::new(io::stdout())))
    }

    /// Serialises a batch as one line (without the newline), within the size limit.
    pub(crate) fn encode(&self, batch: Vec<SpanData>) -> Result<Vec<u8>, String> {
        use opentelemetry_proto::tonic::{
            common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value::Value as ProtoValue},
            trace::v1::{Span, status::StatusCode},
        };

        let mut request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let encode = |request: &ExportTraceServiceRequest| {
            serde_json::to_vec(request).map_err(|e| e.to_string())
        };
        let line = encode(&request)?;
        if line.len() <= self.max_line_bytes {
            return Ok(line);
        }
        fn spans(request: &mut ExportTraceServiceRequest) -> impl Iterator<Item = &mut Vec<Span>> {
            request
                .resource_spans
                .iter_mut()
                .flat_map(|r| r.scope_spans.iter_mut())
                .map(|s| &mut s.spans)
        }
        let is_root = |s: &Span| s.attributes.iter().any(|kv| kv.key == attr::OUTCOME);
        let failed = |s: &Span| {
            s.status
                .as_ref()
                .is_some_and(|st| st.code == StatusCode::Error as i32)
        };
        let int = |key: &str, n: i64| ProtoKeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(ProtoValue::IntValue(n)),
            }),
            ..ProtoKeyValue::default()
        };
        // Too large for one log line: keep the roots and the spans that failed.
        let mut dropped = 0usize;
        for list in spans(&mut request) {
            let before = list.len();
            list.retain(|s| is_root(s) || failed(s));
            dropped += before - list.len();
        }
        for list in spans(&mut request) {
            for span in list.iter_mut().filter(|s| is_root(s)) {
                span.attributes.push(int(
                    attr::EXPORT_DROPPED_SPANS,
                    i64::try_from(dropped).unwrap_or(i64::MAX),
                ));
            }
        }
        let line = encode(&request)?;
        if line.len() <= self.max_line_bytes {
            return Ok(line);
        }
        // Still too large (huge attributes): keep each span's identity and status only.
        for list in spans(&mut request) {
            for span in list.iter_mut() {
                span.attributes.retain(|kv| kv.key == attr::OUTCOME);
                span.attributes.push(ProtoKeyValue {
                    key: attr::EXPORT_TRUNCATED.to_owned(),
                    value: Some(AnyValue {
                        value: Some(ProtoValue::BoolValue(true)),
                    }),
                    ..ProtoKeyValue::default()
                });
                span.events.truncate(1);
                for event in &mut span.events {
                    event.attributes.retain(|kv| kv.key == attr::EXCEPTION_TYPE);
                }
            }
        }
        let line = encode(&request)?;
        if line.len() <= self.max_line_bytes {
            Ok(line)
        } else {
            Err(format!(
                "an invocation's telemetry is {} bytes even after truncation (limit {})",
                line.len(),
                self.max_line_bytes
            ))
        }
    }
}

impl SpanExporter for OtlpJsonExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let mut line = self.encode(batch).map_err(OTelSdkError::InternalFailure)?;
        line.push(b'\n');
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer
            .write_all(&line)
            .and_then(|()| writer.flush())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = ResourceAttributesWithSchema::from(resource);
    }
}

enum Backend {
    Json(OtlpJsonExporter),
    #[cfg(feature = "otlp")]
    Otlp(opentelemetry_otlp::SpanExporter),
    None,
}

/// The process's exporter, built once at cold start.
pub(crate) struct Pipeline {
    backend: Backend,
    resource: Resource,
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    timeout: Duration,
    exported_spans: AtomicU64,
    failed_exports: AtomicU64,
}

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

/// The instrumentation scope of every span the SDK records.
pub(crate) fn scope() -> &'static InstrumentationScope {
    static SCOPE: OnceLock<InstrumentationScope> = OnceLock::new();
    SCOPE.get_or_init(|| {
        InstrumentationScope::builder("serverless_sdk")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build()
    })
}

/// The resource describing this function, from Lambda's environment variables.
pub(crate) fn build_resource(service_name: Option<&str>) -> Resource {
    let var = |name: &str| env::var(name).ok().filter(|v| !v.is_empty());
    let function_name = var("AWS_LAMBDA_FUNCTION_NAME");
    let service = service_name
        .map(str::to_owned)
        .or_else(|| function_name.clone())
        .unwrap_or_else(|| "unknown_service".to_owned());
    let mut attrs = vec![
        KeyValue::new("cloud.provider", "aws"),
        KeyValue::new("cloud.platform", "aws_lambda"),
        KeyValue::new("telemetry.distro.name", "serverless_sdk"),
        KeyValue::new("telemetry.distro.version", env!("CARGO_PKG_VERSION")),
    ];
    if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
        attrs.push(KeyValue::new("cloud.region", region));
    }
    if let Some(name) = function_name {
        attrs.push(KeyValue::new("faas.name", name));
    }
    if let Some(version) = var("AWS_LAMBDA_FUNCTION_VERSION") {
        attrs.push(KeyValue::new("faas.version", version));
    }
    if let Some(mb) = var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.parse::<i64>().ok()) {
        attrs.push(KeyValue::new(
            "faas.max_memory",
            mb.saturating_mul(1024 * 1024),
        ));
    }
    if let Some(stream) = var("AWS_LAMBDA_LOG_STREAM_NAME") {
        attrs.push(KeyValue::new("faas.instance", stream));
    }
    Resource::builder()
        .with_attributes(attrs)
        .with_service_name(service)
        .build()
}

impl Pipeline {
    fn build(config: &config::Config) -> Self {
        let resource = build_resource(config.service_name.as_deref());
        let backend = match &config.exporter {
            Exporter::Console => Backend::Json(OtlpJsonExporter::stdout()),
            Exporter::Writer(w) => Backend::Json(OtlpJsonExporter::new(w.clone())),
            Exporter::None => Backend::None,
            #[cfg(feature = "otlp")]
            Exporter::Otlp { endpoint } => match build_otlp(endpoint.as_deref()) {
                Ok(exporter) => Backend::Otlp(exporter),
                Err(e) => {
                    diagnostic(
                        "config",
                        &format!("cannot build the OTLP exporter ({e}); using console"),
                    );
                    Backend::Json(OtlpJsonExporter::stdout())
                }
            },
            #[cfg(not(feature = "otlp"))]
            Exporter::Otlp { .. } => {
                diagnostic(
                    "config",
                    "OTLP export needs the `otlp` feature of serverless_sdk; using console",
                );
                Backend::Json(OtlpJsonExporter::stdout())
            }
        };
        let mut pipeline = Self {
            backend,
            resource,
            timeout: config.export_timeout,
            exported_spans: AtomicU64::new(0),
            failed_exports: AtomicU64::new(0),
        };
        let resource = pipeline.resource.clone();
        match &mut pipeline.backend {
            Backend::Json(e) => e.set_resource(&resource),
            #[cfg(feature = "otlp")]
            Backend::Otlp(e) => e.set_resource(&resource),
            Backend::None => {}
        }
        pipeline
    }

    /// Sends one invocation's spans, within the export timeout.
    pub(crate) async fn export(&self, spans: Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        let count = spans.len() as u64;
        let result: Result<(), Cow<'static, str>> = match &self.backend {
            Backend::None => Ok(()),
            Backend::Json(e) => e.export(spans).await.map_err(|e| e.to_string().into()),
            #[cfg(feature = "otlp")]
            Backend::Otlp(e) => with_timeout(self.timeout, e.export(spans)).await,
        };
        match result {
            Ok(()) => {
                self.exported_spans.fetch_add(count, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed_exports.fetch_add(1, Ordering::Relaxed);
                diagnostic("export", &format!("export of {count} spans failed: {e}"));
            }
        }
    }
}

#[cfg(feature = "otlp")]
async fn with_timeout(
    timeout: Duration,
    export: impl Future<Output = OTelSdkResult>,
) -> Result<(), Cow<'static, str>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return export.await.map_err(|e| e.to_string().into());
    }
    match tokio::time::timeout(timeout, export).await {
        Ok(result) => result.map_err(|e| e.to_string().into()),
        Err(_) => Err(format!("the collector did not answer within {timeout:?}").into()),
    }
}

#[cfg(feature = "otlp")]
fn build_otlp(endpoint: Option<&str>) -> Result<opentelemetry_otlp::SpanExporter, String> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

    let protocol = env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_default();
    match protocol.trim() {
        "" | "http/protobuf" => {}
        other => diagnostic(
            "config",
            &format!("OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not built in; using http/protobuf"),
        ),
    }
    let client = Http1Client {
        client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http(),
        timeout: Duration::from_secs(10),
    };
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(client);
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')));
    }
    builder.build().map_err(|e| e.to_string())
}

/// The OTLP exporter's HTTP client: HTTP/1.1 only (OTLP/HTTP needs nothing more, and
/// opentelemetry-http's hyper client would bring HTTP/2 into every function binary), with a
/// timeout and a cap on the collector's answer.
#[cfg(feature = "otlp")]
#[derive(Debug)]
struct Http1Client {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    timeout: Duration,
}

#[cfg(feature = "otlp")]
#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Http1Client {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        use http_body_util::BodyExt;

        /// A collector's answer is a small protobuf; anything larger is not read.
        const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, http_body_util::Full::new(body));
        let response = tokio::time::timeout(self.timeout, self.client.request(request)).await??;
        let (parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

/// Exports through the pipeline; a panic inside the exporter is caught and reported, never
/// passed on to the function.
pub(crate) async fn export_guarded(spans: Vec<SpanData>) {
    let export = crate::current::CatchUnwindIn::new(pipeline().export(spans), None);
    if export.await.is_err() {
        diagnostic(
            "panic",
            "the exporter panicked; this invocation's telemetry is lost",
        );
    }
}

/// Installs the pipeline; `false` if one was installed already.
pub(crate) fn install(config: &config::Config) -> bool {
    let mut installed = false;
    PIPELINE.get_or_init(|| {
        installed = true;
        Pipeline::build(config)
    });
    installed
}

/// The pipeline, built from the environment on first use if nothing was installed.
pub(crate) fn pipeline() -> &'static Pipeline {
    PIPELINE.get_or_init(|| Pipeline::build(&config::Config::from_env()))
}

/// Spans successfully exported and failed exports so far in this process.
///
/// ```
/// let (spans, failures) = serverless_sdk::export_stats();
/// assert!(spans >= 0 && failures >= 0);
/// ```
#[must_use]
pub fn export_stats() -> (u64, u64) {
    PIPELINE.get().map_or((0, 0), |p| {
        (
            p.exported_spans.load(Ordering::Relaxed),
            p.failed_exports.load(Ordering::Relaxed),
        )
    })
}
