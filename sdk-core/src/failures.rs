//! Failures outside the handler's own code: errors while the function initialises, events
//! that do not deserialise, memory running out, and the CloudWatch metrics that make
//! handled failures visible.

use std::{
    borrow::Cow,
    fmt,
    future::Future,
    marker::PhantomData,
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll},
    time::SystemTime,
};

use lambda_runtime::{Diagnostic, LambdaEvent, Service};
use opentelemetry::{
    KeyValue, Value,
    trace::{Event, SpanKind},
};
use opentelemetry_sdk::trace::SpanData;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{
    api::record_exception,
    attributes as attr,
    current::CatchUnwindIn,
    export,
    report::ErrorReport,
    runtime::{self, Error},
    scope::{Begin, Invocation, Outcome, TriggerKind},
};

/// The `errorType` of an event that does not deserialise into the handler's type, after
/// AWS's own `Runtime.UnmarshalError`.
pub const UNMARSHAL_ERROR_TYPE: &str = "Runtime.UnmarshalError";

/// The `errorType` of a failure before the first invocation, as AWS names it.
pub const INIT_ERROR_TYPE: &str = "Runtime.InitError";

/* ------------------------------------ init errors ------------------------------------ */

/// Runs the function's initialisation (reading configuration, building clients) with its
/// failures reported: an `Err` or a panic is exported to telemetry with outcome
/// `init_error`, posted to the Runtime API's `/runtime/init/error` endpoint with
/// `errorType` `Runtime.InitError` and the error's message, and returned, so `main` exits
/// non-zero. The Rust form of the seed's "failed to import module".
///
/// [`run_with_init`](crate::run_with_init) and `serverless_sdk_http::run_with_init` use it.
pub async fn initialize<St, E, Fut>(init: Fut) -> Result<St, Error>
where
    Fut: Future<Output = Result<St, E>>,
    E: Into<Error>,
{
    runtime::ensure_init();
    let outcome = CatchUnwindIn::new(init, None).await;
    let report = match outcome {
        Ok(Ok(state)) => return Ok(state),
        Ok(Err(error)) => {
            let error: Error = error.into();
            let report = ErrorReport::from_error(&*error, None, None);
            report_init_failure(&report).await;
            return Err(error);
        }
        Err(payload) => ErrorReport::from_panic(&*payload),
    };
    report_init_failure(&report).await;
    Err(format!("initialisation panicked: {}", report.message).into())
}

async fn report_init_failure(report: &ErrorReport) {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let inv = Invocation::begin(Begin {
        request_id: "init",
        deadline_ms: 0,
        invoked_arn: "",
        xray_trace_id: None,
        traceparent: None,
        name: Cow::Owned(if function.is_empty() {
            "init".to_owned()
        } else {
            format!("{function} init")
        }),
        trigger: TriggerKind::Other,
        kind: SpanKind::Internal,
    });
    record_exception(&inv.root(), report, false, Outcome::InitError);
    if let Some(spans) = inv.finish() {
        export::export_guarded(spans).await;
    }
    post_init_error(report).await;
}

/// Tells Lambda the function could not start.
async fn post_init_error(report: &ErrorReport) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        export::diagnostic(
            "init",
            &format!(
                "initialisation failed ({}: {}); AWS_LAMBDA_RUNTIME_API is not set, so Lambda was not told",
                report.type_name, report.message
            ),
        );
        return;
    };
    let diagnostic = Diagnostic {
        error_type: INIT_ERROR_TYPE.to_owned(),
        error_message: format!("{}: {}", report.type_name, report.message),
    };
    let result = async {
        let uri: http::Uri = api.parse()?;
        let client = lambda_runtime_api_client::PooledClient::builder()
            .with_endpoint(uri)
            .build();
        let body = serde_json::to_vec(&diagnostic)?;
        let request = lambda_runtime_api_client::build_request()
            .method(http::Method::POST)
            .uri("/2018-06-01/runtime/init/error")
            .header("lambda-runtime-function-error-type", INIT_ERROR_TYPE)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(lambda_runtime_api_client::body::Body::from(body))?;
        client.call(request).await.map(drop)
    }
    .await;
    if let Err(e) = result {
        export::diagnostic(
            "init",
            &format!("could not report the init error to Lambda: {e}"),
        );
    }
}

/* ----------------------------------- bad events ------------------------------------ */

/// Deserialises events itself so that one that does not fit the handler's type is
/// reported with `errorType` `Runtime.UnmarshalError`, its size and serde's message (with
/// the path to the field), to Lambda and to telemetry, instead of as
/// `lambda_runtime::deserializer::DeserializeError`.
pub(crate) struct Decode<F, A> {
    inner: F,
    _payload: PhantomData<fn() -> A>,
}

impl<F: Clone, A> Clone for Decode<F, A> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _payload: PhantomData,
        }
    }
}

impl<F, A> Decode<F, A> {
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner,
            _payload: PhantomData,
        }
    }
}

/// Why an event did not deserialise.
#[derive(Debug)]
struct UnmarshalError {
    message: String,
}

impl fmt::Display for UnmarshalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UnmarshalError {}

impl<F, A, R> Service<LambdaEvent<Box<RawValue>>> for Decode<F, A>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Error: Into<Diagnostic>,
    A: for<'de> Deserialize<'de>,
{
    type Response = R;
    type Error = Diagnostic;
    type Future = DecodeFuture<F::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Diagnostic>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, event: LambdaEvent<Box<RawValue>>) -> Self::Future {
        let raw = event.payload.get();
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        match serde_path_to_error::deserialize::<_, A>(&mut deserializer) {
            Ok(payload) => DecodeFuture::Inner {
                fut: self.inner.call(LambdaEvent::new(payload, event.context)),
            },
            Err(error) => {
                let path = error.path().to_string();
                let message = if path == "." {
                    format!(
                        "the event ({} bytes) does not fit the handler's payload type: {}",
                        raw.len(),
                        error.inner()
                    )
                } else {
                    format!(
                        "the event ({} bytes) does not fit the handler's payload type at `{path}`: {}",
                        raw.len(),
                        error.inner()
                    )
                };
                report_unmarshal(&event.context, raw.len(), &message);
                DecodeFuture::Failed {
                    diagnostic: Some(Diagnostic {
                        error_type: UNMARSHAL_ERROR_TYPE.to_owned(),
                        error_message: message,
                    }),
                }
            }
        }
    }
}

fn report_unmarshal(ctx: &lambda_runtime::Context, size: usize, message: &str) {
    let inv = Invocation::begin(Begin {
        request_id: &ctx.request_id,
        deadline_ms: ctx.deadline,
        invoked_arn: &ctx.invoked_function_arn,
        xray_trace_id: ctx.xray_trace_id.as_deref(),
        traceparent: None,
        name: Cow::Owned(ctx.env_config.function_name.clone()),
        trigger: runtime::detected_trigger().unwrap_or(TriggerKind::Other),
        kind: SpanKind::Server,
    });
    let report = ErrorReport::from_error(
        &UnmarshalError {
            message: message.to_owned(),
        },
        None,
        None,
    );
    let mut report = report;
    UNMARSHAL_ERROR_TYPE.clone_into(&mut report.type_name);
    let root = inv.root();
    record_exception(&root, &report, false, Outcome::ErrorUnhandled);
    inv.with_span(0, |span| {
        span.attributes.push(KeyValue::new(
            attr::EVENT_SIZE_BYTES,
            i64::try_from(size).unwrap_or(i64::MAX),
        ));
    });
    if let Some(spans) = inv.finish() {
        if let Some(spans) = runtime::defer_export(spans) {
            // Not under the export layer: export from a task, never blocking the runtime.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(export::export_guarded(spans));
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Decode`].
    #[project = DecodeProj]
    pub(crate) enum DecodeFuture<Fut> {
        Inner { #[pin] fut: Fut },
        Failed { diagnostic: Option<Diagnostic> },
    }
}

impl<Fut, R, E> Future for DecodeFuture<Fut>
where
    Fut: Future<Output = Result<R, E>>,
    E: Into<Diagnostic>,
{
    type Output = Result<R, Diagnostic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            DecodeProj::Inner { fut } => fut.poll(cx).map(|r| r.map_err(Into::into)),
            DecodeProj::Failed { diagnostic } => match diagnostic.take() {
                Some(d) => Poll::Ready(Err(d)),
                None => Poll::Pending,
            },
        }
    }
}

/* ------------------------------- memory and metrics -------------------------------- */

/// The process's peak resident memory in bytes (`VmHWM`), on Linux.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn memory_limit_bytes() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|mb| mb * 1024 * 1024)
    })
}

fn is_root(span: &SpanData) -> bool {
    span.parent_span_id == opentelemetry::trace::SpanId::INVALID || span.parent_span_is_remote
}

/// Adds what is known only after the response: the process's peak memory next to the
/// configured memory (with a warning event past 90%), and the metrics line when enabled.
/// Runs after the response is sent, off the response path.
pub(crate) fn after_response(spans: &mut [SpanData]) {
    let peak = peak_rss_bytes();
    let limit = memory_limit_bytes();
    let Some(root) = spans.iter_mut().find(|s| is_root(s)) else {
        return;
    };
    if let Some(peak) = peak {
        let as_i64 = |b: u64| i64::try_from(b).unwrap_or(i64::MAX);
        root.attributes
            .push(KeyValue::new(attr::MEMORY_PEAK_BYTES, as_i64(peak)));
        if let Some(limit) = limit {
            root.attributes
                .push(KeyValue::new(attr::MEMORY_LIMIT_BYTES, as_i64(limit)));
            if peak * 10 > limit * 9 {
                root.events.events.push(Event::new(
                    attr::WARNING_EVENT,
                    SystemTime::now(),
                    vec![
                        KeyValue::new(
                            attr::MESSAGE,
                            format!(
                                "peak memory {} MB is over 90% of the configured {} MB: the function is close to being killed for running out of memory",
                                peak / (1024 * 1024),
                                limit / (1024 * 1024)
                            ),
                        ),
                        KeyValue::new(attr::LEVEL, "warn"),
                    ],
                    0,
                ));
            }
        }
    }
    if crate::config::settings().emf_metrics {
        emit_metrics(root);
    }
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// One CloudWatch Embedded Metric Format line: errors, cold starts and duration by
/// function and endpoint, so handled 500s still show in a metric.
fn emit_metrics(root: &SpanData) {
    let function =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "unknown".to_owned());
    let endpoint = attribute(root, attr::HTTP_ROUTE)
        .map_or_else(|| "none".to_owned(), |v| v.as_str().into_owned());
    let outcome = attribute(root, attr::OUTCOME)
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default();
    let errors = u8::from(outcome != Outcome::Success.as_str());
    let cold = matches!(
        attribute(root, attr::FAAS_COLDSTART),
        Some(Value::Bool(true))
    );
    let duration_ms = root
        .end_time
        .duration_since(root.start_time)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let timestamp = root
        .end_time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": u64::try_from(timestamp).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{
                "Namespace": "ServerlessSDK",
                "Dimensions": [["FunctionName"], ["FunctionName", "Endpoint"]],
                "Metrics": [
                    { "Name": "Errors", "Unit": "Count" },
                    { "Name": "ColdStart", "Unit": "Count" },
                    { "Name": "Duration", "Unit": "Milliseconds" }
                ]
            }]
        },
        "FunctionName": function,
        "Endpoint": endpoint,
        "Outcome": outcome,
        "Errors": errors,
        "ColdStart": u8::from(cold),
        "Duration": duration_ms,
    });
    println!("{line}");
}
