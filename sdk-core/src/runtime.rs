//! Running a function: pipeline set-up at cold start, the lambda_runtime loop, and the
//! layer that exports each invocation's telemetry after its response is sent.

use std::{
    cell::RefCell,
    fmt::Debug,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use lambda_runtime::{
    Diagnostic, IntoFunctionResponse, LambdaEvent, LambdaInvocation, Runtime, Service, tower::Layer,
};
use opentelemetry_sdk::trace::SpanData;
use serde::{Deserialize, Serialize};

use crate::{
    config::Config,
    export,
    failures::{self, Decode},
    scope::TriggerKind,
};

/// The error type of the runtime loop.
pub type Error = lambda_runtime::Error;

/// Installs the SDK's configuration and exporter. Call it once at cold start, before the
/// first invocation; [`run`] calls it with [`Config::from_env`] when you have not. Makes no
/// network call. Returns `false` (and changes nothing) if the SDK was configured already.
///
/// ```
/// use serverless_sdk::{Config, Exporter};
///
/// serverless_sdk::init(Config::from_env().with_exporter(Exporter::None));
/// ```
pub fn init(config: Config) -> bool {
    let settings = crate::config::install(&config);
    let pipeline = export::install(&config);
    crate::report::install_panic_hook();
    settings && pipeline
}

/// Runs a handler for any trigger under the real `lambda_runtime` loop, with the SDK set up
/// at cold start and each invocation's telemetry exported after its response is sent and
/// before the next event is requested (so Lambda can never freeze the process with
/// telemetry still inside).
///
/// Accepts what `lambda_runtime::run` accepts, usually `service_fn(handler)` around a
/// `#[serverless_handler]` function.
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
/// use serde_json::Value;
/// use serverless_sdk::serverless_handler;
///
/// #[serverless_handler]
/// async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
///     Ok(event.payload)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), serverless_sdk::Error> {
///     serverless_sdk::run(service_fn(handler)).await
/// }
/// ```
pub async fn run<A, F, R, B, S, D, E>(handler: F) -> Result<(), Error>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> Deserialize<'de>,
    R: IntoFunctionResponse<B, S>,
    B: Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    ensure_init();
    Runtime::new(Decode::new(handler))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .layer(ExportLayer::new())
        .run()
        .await
}

/// [`run`], after running the function's initialisation under the SDK's reporting: an
/// error or panic in `init` reaches Lambda's init-error endpoint (`Runtime.InitError`) and
/// telemetry (outcome `init_error`), and the returned error makes `main` exit non-zero.
/// `make_handler` builds the handler from what `init` produced.
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
/// use serde_json::Value;
///
/// struct Settings { table: String }
///
/// #[serverless_sdk::serverless_handler]
/// async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
///     Ok(event.payload)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), serverless_sdk::Error> {
///     serverless_sdk::run_with_init(
///         || async {
///             let table = std::env::var("TABLE_NAME")?;
///             Ok::<_, std::env::VarError>(Settings { table })
///         },
///         |settings| {
///             let _table = settings.table;
///             service_fn(handler)
///         },
///     )
///     .await
/// }
/// ```
pub async fn run_with_init<I, Fut, St, IE, M, A, F, R, B, S, D, E>(
    init: I,
    make_handler: M,
) -> Result<(), Error>
where
    I: FnOnce() -> Fut,
    Fut: Future<Output = Result<St, IE>>,
    IE: Into<Error>,
    M: FnOnce(St) -> F,
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> Deserialize<'de>,
    R: IntoFunctionResponse<B, S>,
    B: Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    let state = crate::failures::initialize(init()).await?;
    run(make_handler(state)).await
}

/// [`run`] for Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` above 1 it runs
/// that many invocations at once in this process (each keeps its own spans, tags and
/// errors); otherwise it behaves like [`run`].
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
///
/// #[serverless_sdk::serverless_handler]
/// async fn handler(event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, std::io::Error> {
///     Ok(event.payload)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), serverless_sdk::Error> {
///     serverless_sdk::run_concurrent(service_fn(handler)).await
/// }
/// ```
pub async fn run_concurrent<A, F, R, B, S, D, E>(handler: F) -> Result<(), Error>
where
    F: Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
    F::Future: Future<Output = Result<R, F::Error>> + Send + 'static,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> Deserialize<'de> + Send + 'static,
    R: IntoFunctionResponse<B, S> + Send + 'static,
    B: Serialize + Send + 'static,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send + 'static,
    E: Into<Error> + Send + Debug + 'static,
{
    ensure_init();
    Runtime::new(Decode::new(handler))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .layer(ExportLayer::new())
        .run_concurrent()
        .await
}

/// Sets the SDK up from the environment unless [`init`] already did.
pub(crate) fn ensure_init() {
    let _ = init(Config::from_env());
    #[cfg(feature = "tracing")]
    crate::tracing_layer::init_tracing();
}

/// What the export layer tells the handler running under it.
#[derive(Clone)]
struct LayerScope {
    batch: Arc<Mutex<Vec<SpanData>>>,
    trigger: TriggerKind,
}

thread_local! {
    static LAYER_SCOPE: RefCell<Option<LayerScope>> = const { RefCell::new(None) };
}

fn with_layer_scope<R>(f: impl FnOnce(Option<&LayerScope>) -> R) -> R {
    LAYER_SCOPE.with(|s| match s.try_borrow() {
        Ok(s) => f(s.as_ref()),
        Err(_) => f(None),
    })
}

/// Hands finished spans to the export layer when the handler runs under one; otherwise
/// gives them back to be exported right away.
pub(crate) fn defer_export(spans: Vec<SpanData>) -> Option<Vec<SpanData>> {
    let mut spans = Some(spans);
    with_layer_scope(|scope| {
        if let Some(scope) = scope {
            if let Some(s) = spans.take() {
                scope
                    .batch
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(s);
            }
        }
    });
    spans
}

/// The trigger the export layer read off the raw event, if the handler runs under one.
pub(crate) fn detected_trigger() -> Option<TriggerKind> {
    with_layer_scope(|s| s.map(|s| s.trigger))
}

/// A `lambda_runtime` layer that exports each invocation's telemetry after the runtime has
/// sent its response, and before it asks for the next event. [`run`] adds it; add it
/// yourself when you build a `lambda_runtime::Runtime` by hand.
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent, Runtime};
/// use serverless_sdk::ExportLayer;
///
/// #[serverless_sdk::serverless_handler]
/// async fn handler(event: LambdaEvent<serde_json::Value>) -> Result<(), std::io::Error> {
///     Ok(())
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     serverless_sdk::init(serverless_sdk::Config::from_env());
///     Runtime::new(service_fn(handler)).layer(ExportLayer::new()).run().await
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ExportLayer {
    _private: (),
}

impl ExportLayer {
    /// A new layer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ExportLayer {
    type Service = ExportService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ExportService { inner }
    }
}

/// The service [`ExportLayer`] wraps around the runtime's.
#[derive(Clone, Debug)]
pub struct ExportService<S> {
    inner: S,
}

impl<S> Service<LambdaInvocation> for ExportService<S>
where
    S: Service<LambdaInvocation, Response = ()>,
{
    type Response = ();
    type Error = S::Error;
    type Future = ExportFuture<S::Future, Result<(), S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let scope = LayerScope {
            batch: Arc::new(Mutex::new(Vec::new())),
            trigger: detect_trigger(&invocation.body),
        };
        let inner = enter_layer_scope(Some(scope.clone()), || self.inner.call(invocation));
        ExportFuture {
            state: ExportState::Running {
                inner,
                scope: Some(scope),
            },
        }
    }
}

fn enter_layer_scope<R>(scope: Option<LayerScope>, f: impl FnOnce() -> R) -> R {
    /// Puts back what was there before, if anything was replaced.
    struct Restore(Option<Option<LayerScope>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(prev) = self.0.take() {
                let _ = LAYER_SCOPE.try_with(|s| {
                    if let Ok(mut s) = s.try_borrow_mut() {
                        *s = prev;
                    }
                });
            }
        }
    }
    let prev = LAYER_SCOPE
        .try_with(|s| {
            s.try_borrow_mut()
                .ok()
                .map(|mut s| std::mem::replace(&mut *s, scope))
        })
        .ok()
        .flatten();
    let _restore = Restore(prev);
    f()
}

pin_project_lite::pin_project! {
    /// The future of [`ExportService`]: the runtime's own work, then the export.
    pub struct ExportFuture<F, O> {
        #[pin]
        state: ExportState<F, O>,
    }
}

pin_project_lite::pin_project! {
    #[project = ExportStateProj]
    enum ExportState<F, O> {
        Running { #[pin] inner: F, scope: Option<LayerScope> },
        Exporting { export: Pin<Box<dyn Future<Output = ()> + Send>>, result: Option<O> },
        Done,
    }
}

impl<F: Future> Future for ExportFuture<F, F::Output> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                ExportStateProj::Running { inner, scope } => {
                    let Poll::Ready(result) = enter_layer_scope(scope.clone(), || inner.poll(cx))
                    else {
                        return Poll::Pending;
                    };
                    let mut spans = scope
                        .take()
                        .map(|s| {
                            std::mem::take(
                                &mut *s.batch.lock().unwrap_or_else(PoisonError::into_inner),
                            )
                        })
                        .unwrap_or_default();
                    if spans.is_empty() {
                        this.state.set(ExportState::Done);
                        return Poll::Ready(result);
                    }
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        failures::after_response(&mut spans);
                    }))
                    .is_err()
                    {
                        export::diagnostic(
                            "panic",
                            "the SDK panicked reading memory after a response",
                        );
                    }
                    this.state.set(ExportState::Exporting {
                        export: Box::pin(export::export_guarded(spans)),
                        result: Some(result),
                    });
                }
                ExportStateProj::Exporting { export, result } => {
                    if export.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let result = result.take();
                    this.state.set(ExportState::Done);
                    if let Some(result) = result {
                        return Poll::Ready(result);
                    }
                }
                ExportStateProj::Done => return Poll::Pending,
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TriggerProbe {
    #[serde(rename = "Records")]
    records: Option<Vec<RecordProbe>>,
    #[serde(rename = "requestContext")]
    request_context: Option<serde::de::IgnoredAny>,
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordProbe {
    #[serde(rename = "eventSource", alias = "EventSource")]
    event_source: Option<String>,
}

/// Reads which kind of event source sent a raw event: API Gateway, ALB and Function URLs
/// are `http`; SQS, SNS, Kinesis and EventBridge `pubsub`; S3 and DynamoDB streams
/// `datasource`; scheduled events `timer`; anything else, including JSON that does not
/// parse, `other`.
///
/// ```
/// use serverless_sdk::{detect_trigger, TriggerKind};
///
/// assert_eq!(detect_trigger(br#"{"Records":[{"eventSource":"aws:sqs"}]}"#), TriggerKind::PubSub);
/// assert_eq!(detect_trigger(br#"{"requestContext":{"http":{}}}"#), TriggerKind::Http);
/// assert_eq!(detect_trigger(b"not json"), TriggerKind::Other);
/// ```
#[must_use]
pub fn detect_trigger(payload: &[u8]) -> TriggerKind {
    // Only objects are events of a known source (serde would also read a struct from an
    // array).
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return TriggerKind::Other;
    }
    let Ok(probe) = serde_json::from_slice::<TriggerProbe>(payload) else {
        return TriggerKind::Other;
    };
    if probe.request_context.is_some() {
        return TriggerKind::Http;
    }
    if let Some(source) = probe
        .records
        .as_ref()
        .and_then(|r| r.first())
        .and_then(|r| r.event_source.as_deref())
    {
        return match source {
            "aws:sqs" | "aws:sns" | "aws:kinesis" => TriggerKind::PubSub,
            "aws:s3" | "aws:dynamodb" => TriggerKind::Datasource,
            _ => TriggerKind::Other,
        };
    }
    match (probe.source.as_deref(), probe.detail_type.as_deref()) {
        (Some("aws.events" | "aws.scheduler"), Some("Scheduled Event")) => TriggerKind::Timer,
        (Some(_), Some(_)) => TriggerKind::PubSub,
        _ => TriggerKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_of_the_sample_events() {
        let fixture = |name: &str| {
            std::fs::read(format!(
                "{}/../tests/fixtures/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("fixture")
        };
        for (name, kind) in [
            ("apigw-v1.json", TriggerKind::Http),
            ("apigw-v2.json", TriggerKind::Http),
            ("alb.json", TriggerKind::Http),
            ("function-url.json", TriggerKind::Http),
            ("sqs.json", TriggerKind::PubSub),
            ("eventbridge-schedule.json", TriggerKind::Timer),
        ] {
            assert_eq!(detect_trigger(&fixture(name)), kind, "{name}");
        }
    }

    /// Found by the `detect_trigger` fuzz target: serde reads a struct from an array too.
    #[test]
    fn arrays_are_not_http_events() {
        assert_eq!(detect_trigger(b"[[],2]"), TriggerKind::Other);
        assert_eq!(detect_trigger(b" [null, {}]"), TriggerKind::Other);
        assert_eq!(detect_trigger(b"{}"), TriggerKind::Other);
    }
}
