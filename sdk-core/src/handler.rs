//! Running a handler inside an invocation: the engine behind `#[serverless_handler]`.
//!
//! The macro turns the user's function into a call to [`handle`], passing the event, the
//! body as a closure and a classifier for the body's error type. Which triggers exist and
//! what a failure becomes (a Lambda error, a proxy 500) is decided by the [`Trigger`]
//! implementation of the event type: trait dispatch, not names.

use std::{
    borrow::Cow,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use lambda_runtime::{Diagnostic, LambdaEvent};
use opentelemetry::{KeyValue, trace::SpanKind};

use crate::{
    api::record_exception,
    attributes as attr, config,
    current::{self, CatchUnwindIn, Current, PanicPayload},
    export,
    report::{self, ErrorReport},
    runtime,
    scope::{Begin, Invocation, Outcome, TriggerKind},
};

/// Facts about the annotated function, fixed at compile time.
#[derive(Debug)]
pub struct HandlerMeta {
    /// The function's name.
    pub name: &'static str,
    /// `module_path!()` at the function.
    pub module: &'static str,
    /// `#[serverless_handler(name = "...")]`.
    pub span_name: Option<&'static str>,
}

/// `Result<R, E>`, seen through its parts.
#[diagnostic::on_unimplemented(
    message = "`#[serverless_handler]` functions must return `Result<_, _>`, not `{Self}`",
    label = "the handler's return type",
    note = "return `Ok(response)` on success and `Err(error)` on failure; the SDK turns errors into the trigger's failure form"
)]
pub trait HandlerResult {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;
    /// Back to a plain `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<R, E> HandlerResult for Result<R, E> {
    type Ok = R;
    type Err = E;
    fn into_result(self) -> Result<R, E> {
        self
    }
}

/// What the trigger knows when the invocation starts.
#[derive(Default)]
pub struct Start<'a> {
    pub(crate) context: Option<&'a lambda_runtime::Context>,
    pub(crate) trigger: Option<TriggerKind>,
    pub(crate) kind: Option<SpanKind>,
    pub(crate) traceparent: Option<&'a str>,
    pub(crate) http_method: Option<&'a str>,
    pub(crate) url_path: Option<&'a str>,
    /// The route template of the event (API Gateway `resource` / `routeKey`).
    pub(crate) route: Option<(Option<&'a str>, &'a str)>,
}

/// How the handler's body ended.
pub enum HandlerOutcome<R> {
    /// It returned `Ok`.
    Ok(R),
    /// It returned `Err`, classified.
    Err(ErrorInfo),
    /// It panicked.
    Panic(ErrorReport),
}

/// Where the trigger records what it decided.
pub struct Finish<'a> {
    pub(crate) root: &'a Current,
}

impl Finish<'_> {
    /// Records a failure that escaped the handler as an `exception` event on the root span,
    /// with the invocation's outcome.
    pub(crate) fn capture(&self, report: &ErrorReport, outcome: Outcome) {
        record_exception(self.root, report, false, outcome);
    }

    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn set_outcome(&self, outcome: Outcome) {
        Invocation::raise_outcome(&mut self.root.inv.state(), outcome);
    }
}

/// A value now, or a boxed future for triggers whose completion is asynchronous.
pub enum Completion<O> {
    /// Ready.
    Ready(Option<O>),
    /// Still to be awaited.
    Pending(Pin<Box<dyn Future<Output = O> + Send + 'static>>),
}

// The value is never pinned: it is moved out whole.
impl<O> Unpin for Completion<O> {}

impl<O> Future for Completion<O> {
    type Output = O;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        match self.get_mut() {
            Self::Ready(value) => match value.take() {
                Some(v) => Poll::Ready(v),
                None => Poll::Pending,
            },
            Self::Pending(fut) => fut.as_mut().poll(cx),
        }
    }
}

/// An event type `#[serverless_handler]` can wrap, for a handler returning `Ret`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event type `#[serverless_handler]` supports",
    label = "the handler's argument",
    note = "take `lambda_runtime::LambdaEvent<T>`, `(event: T, context: Context)`, or a `lambda_http::Request` (with the `serverless_sdk_http` crate)"
)]
pub trait Trigger<Ret: HandlerResult>: Sized {
    /// What the wrapped function returns.
    type Output;
    /// What the invocation starts from.
    fn start(&self) -> Start<'_>;
    /// Turns the body's outcome into the wrapped function's result, recording failures.
    fn complete(outcome: HandlerOutcome<Ret::Ok>, finish: &Finish<'_>) -> Completion<Self::Output>;
}

impl<T, R, E> Trigger<Result<R, E>> for LambdaEvent<T> {
    type Output = Result<R, Diagnostic>;

    fn start(&self) -> Start<'_> {
        Start {
            context: Some(&self.context),
            trigger: Some(trigger_from_type::<T>()),
            ..Start::default()
        }
    }

    fn complete(outcome: HandlerOutcome<R>, finish: &Finish<'_>) -> Completion<Self::Output> {
        Completion::Ready(Some(match outcome {
            HandlerOutcome::Ok(r) => Ok(r),
            HandlerOutcome::Err(info) => {
                finish.capture(&info.report, Outcome::ErrorUnhandled);
                Err(Diagnostic {
                    error_type: info.lambda_error_type().into_owned(),
                    error_message: info.display,
                })
            }
            HandlerOutcome::Panic(report) => {
                finish.capture(&report, Outcome::ErrorUnhandled);
                Err(Diagnostic {
                    error_type: report.type_name,
                    error_message: report.message,
                })
            }
        }))
    }
}

/// The trigger an event type implies, for the `aws_lambda_events` types.
fn trigger_from_type<T>() -> TriggerKind {
    let name = std::any::type_name::<T>();
    let short = name.rsplit("::").next().unwrap_or(name);
    match short {
        s if s.starts_with("Sqs") || s.starts_with("Sns") || s.starts_with("Kinesis") => {
            TriggerKind::PubSub
        }
        s if s.starts_with("EventBridge") || s.starts_with("CloudWatchEvent") => {
            TriggerKind::PubSub
        }
        s if s.starts_with("S3") || s.starts_with("Dynamo") => TriggerKind::Datasource,
        _ => runtime::detected_trigger().unwrap_or(TriggerKind::Other),
    }
}

/// What the SDK knows of a handler's error value.
pub struct ErrorInfo {
    /// The report for telemetry (redacted).
    pub report: ErrorReport,
    /// The error's own `Display` text, for Lambda's `errorMessage`.
    pub display: String,
    /// The `errorType` the error chose through [`ErrorType`](crate::ErrorType).
    pub error_type: Option<Cow<'static, str>>,
    /// The status and public message the error chose through [`HttpError`](crate::HttpError).
    pub http: Option<(u16, Cow<'static, str>)>,
}

impl ErrorInfo {
    /// Lambda's `errorType`: the error's choice, else its short type name.
    pub(crate) fn lambda_error_type(&self) -> Cow<'_, str> {
        match &self.error_type {
            Some(t) => Cow::Borrowed(t),
            None => Cow::Borrowed(&self.report.type_name),
        }
    }
}

/// Pins the output type of the body's future, so `?` inside it knows its error type.
#[inline]
pub fn typed_future<T, F: Future<Output = T>>(fut: F) -> F {
    fut
}

static TIMERS_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// A tokio timer, if this runtime has a time driver.
fn timer(after: Duration) -> Option<tokio::time::Sleep> {
    if TIMERS_UNAVAILABLE.load(Ordering::Relaxed) || tokio::runtime::Handle::try_current().is_err()
    {
        return None;
    }
    match catch_unwind(|| tokio::time::sleep(after)) {
        Ok(sleep) => Some(sleep),
        Err(_) => {
            TIMERS_UNAVAILABLE.store(true, Ordering::Relaxed);
            export::diagnostic(
                "config",
                "the tokio runtime has no timer (enable_time); timeouts will not be reported",
            );
            None
        }
    }
}

/// Runs the handler's future; if it is still running shortly before the deadline, reports
/// a timeout and exports the invocation's telemetry, then keeps waiting for the handler.
async fn with_watchdog<F: Future>(fut: F, inv: &Arc<Invocation>) -> F::Output {
    let mut fut = pin!(fut);
    let margin = config::settings().timeout_margin;
    let sleep = inv
        .remaining()
        .filter(|_| inv.deadline_ms > 0)
        .and_then(|left| timer(left.saturating_sub(margin)));
    let Some(sleep) = sleep else {
        return fut.await;
    };
    let mut sleep = pin!(sleep);
    let fired = std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        sleep.as_mut().poll(cx).map(|()| None)
    })
    .await;
    match fired {
        Some(out) => out,
        None => {
            report_timeout(inv).await;
            fut.await
        }
    }
}

/// Records the timeout and pushes the invocation's telemetry out before Lambda stops the
/// process.
async fn report_timeout(inv: &Arc<Invocation>) {
    let now = SystemTime::now();
    let elapsed = now.duration_since(inv.started).unwrap_or_default();
    let budget = (SystemTime::UNIX_EPOCH + Duration::from_millis(inv.deadline_ms))
        .duration_since(inv.started)
        .unwrap_or_default();
    let report = ErrorReport::new(
        "TimeoutError".to_owned(),
        format!(
            "invocation timed out: {} ms elapsed of {} ms",
            elapsed.as_millis(),
            budget.as_millis()
        ),
        Vec::new(),
        None,
        None,
    );
    let root = inv.root();
    record_exception(&root, &report, false, Outcome::Timeout);
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    inv.with_span(0, |s| {
        if let Some(event) = s.events.last_mut() {
            event.attributes.extend([
                KeyValue::new(attr::TIMEOUT_BUDGET_MS, millis(budget)),
                KeyValue::new(attr::TIMEOUT_ELAPSED_MS, millis(elapsed)),
            ]);
        }
    });
    Invocation::raise_outcome(&mut inv.state(), Outcome::Timeout);
    if let Some(spans) = inv.finish() {
        export::export_guarded(spans).await;
    }
}

/// Runs one invocation of a `#[serverless_handler]` function.
pub async fn handle<T, Ret, F, Fut, C>(
    event: T,
    meta: &'static HandlerMeta,
    body: F,
    classify: C,
) -> T::Output
where
    T: Trigger<Ret>,
    Ret: HandlerResult,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = Ret>,
    C: FnOnce(&Ret::Err) -> ErrorInfo,
{
    report::install_panic_hook();
    // A handler wrapped again (a `#[serverless_handler]` fn served by a runtime that opens
    // the invocation itself) joins the invocation already open for its request.
    let (owned, root) = {
        let start = event.start();
        match joined_invocation(&start, meta) {
            Some(root) => (false, root),
            None => (true, begin(start, meta).root()),
        }
    };
    let inv = Arc::clone(&root.inv);

    // Panics are caught both when the body is called and while it is polled.
    let called = {
        let previous = current::replace(Some(root.clone()));
        let called = catch_unwind(AssertUnwindSafe(|| body(event)));
        drop(current::replace(previous));
        called
    };
    let result: Result<Ret, PanicPayload> = match called {
        Ok(fut) if owned => with_watchdog(CatchUnwindIn::new(fut, Some(root.clone())), &inv).await,
        Ok(fut) => CatchUnwindIn::new(fut, Some(root.clone())).await,
        Err(payload) => Err(payload),
    };
    let outcome = match result {
        Ok(ret) => match ret.into_result() {
            Ok(r) => HandlerOutcome::Ok(r),
            Err(e) => HandlerOutcome::Err(classify(&e)),
        },
        Err(payload) => HandlerOutcome::Panic(ErrorReport::from_panic(&*payload)),
    };
    let output = {
        let finish = Finish { root: &root };
        T::complete(outcome, &finish).await
    };
    drop(root);
    if !owned {
        return output;
    }
    // A failure in the SDK's own work never reaches the handler's result.
    let finished = catch_unwind(AssertUnwindSafe(|| inv.finish())).unwrap_or_else(|_| {
        export::diagnostic(
            "panic",
            "the SDK panicked while closing an invocation; its telemetry is lost",
        );
        None
    });
    if let Some(spans) = finished {
        if let Some(spans) = runtime::defer_export(spans) {
            export::export_guarded(spans).await;
        }
    }
    output
}

/// The invocation this event belongs to, if it is already open and current.
fn joined_invocation(start: &Start<'_>, meta: &'static HandlerMeta) -> Option<Current> {
    let request_id = start.context.map(|c| c.request_id.as_str())?;
    let root = current::with(|c| {
        c.filter(|c| &*c.inv.request_id == request_id)
            .map(|c| c.inv.root())
    })?;
    // The annotated function, not the wrapper that opened the invocation, names the root.
    let mut state = root.inv.state();
    if let Some(span) = state.spans.first_mut() {
        for kv in &mut span.attributes {
            match kv.key.as_str() {
                attr::CODE_FUNCTION => kv.value = meta.name.into(),
                attr::CODE_NAMESPACE => kv.value = meta.module.into(),
                _ => {}
            }
        }
        if let Some(name) = meta.span_name {
            span.name = Cow::Borrowed(name);
        }
    }
    if meta.span_name.is_some() {
        state.name_fixed = true;
    }
    drop(state);
    Some(root)
}

fn begin(start: Start<'_>, meta: &'static HandlerMeta) -> Arc<Invocation> {
    let ctx = start.context;
    let function_name = ctx
        .map(|c| c.env_config.function_name.as_str())
        .filter(|n| !n.is_empty());
    let name: Cow<'static, str> = match (meta.span_name, function_name) {
        (Some(n), _) => Cow::Borrowed(n),
        (None, Some(f)) => Cow::Owned(f.to_owned()),
        (None, None) => Cow::Borrowed(meta.name),
    };
    let trigger = start
        .trigger
        .or_else(runtime::detected_trigger)
        .unwrap_or(TriggerKind::Other);
    let kind = start.kind.unwrap_or(match trigger {
        TriggerKind::Http => SpanKind::Server,
        TriggerKind::PubSub => SpanKind::Consumer,
        _ => SpanKind::Server,
    });
    let generated_id;
    let request_id = match ctx.map(|c| c.request_id.as_str()).filter(|r| !r.is_empty()) {
        Some(id) => id,
        None => {
            generated_id = format!("local-{:016x}", fastrand::u64(..));
            &generated_id
        }
    };
    let inv = Invocation::begin(Begin {
        request_id,
        deadline_ms: ctx.map_or(0, |c| c.deadline),
        invoked_arn: ctx.map_or("", |c| c.invoked_function_arn.as_str()),
        xray_trace_id: ctx.and_then(|c| c.xray_trace_id.as_deref()),
        traceparent: start.traceparent,
        name,
        trigger,
        kind,
    });
    {
        let mut state = inv.state();
        state.name_fixed = meta.span_name.is_some();
        state.http_method = start.http_method.map(str::to_owned);
        state.url_path = start
            .url_path
            .map(|p| crate::redact::strip_query(p).to_owned());
        state.spans[0].attributes.extend([
            KeyValue::new(attr::CODE_FUNCTION, meta.name),
            KeyValue::new(attr::CODE_NAMESPACE, meta.module),
        ]);
    }
    if let Some((method, path)) = start.route {
        crate::api::set_endpoint_in(
            &inv.root(),
            method,
            path,
            crate::scope::EndpointSource::Event,
        );
    }
    inv
}
