//! Running a handler inside an invocation: the engine behind `#[serverless_handler]` and the
//! facades' services.
//!
//! [`handle`] opens the invocation (or joins the one a runtime layer opened for the same
//! request), runs the handler's body with panics caught when it is called and while it is
//! polled, classifies how it ended, and lets the event's [`Trigger`] turn that into what its
//! runtime expects (a Lambda error, a proxy `500`). The invocation's opener closes and
//! exports it.
//!
//! * [`classify`]: what an error value becomes (report, `errorType`, HTTP status);
//! * [`errors`]: the traits an error type implements to choose that;
//! * [`watchdog`]: the timeout report shortly before the deadline.

pub(crate) mod classify;
mod close;
pub(crate) mod errors;
pub(crate) mod watchdog;

pub(crate) use close::close_and_export;

use std::{
    borrow::Cow,
    future::Future,
    marker::PhantomData,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::SystemTime,
};

use lambda_runtime::{Diagnostic, LambdaEvent};
use opentelemetry::{
    KeyValue,
    trace::{Event, Status},
};

use crate::{
    attributes as attr,
    export::When,
    installed, internal_error,
    invocation::{
        Current, Invocation, Opening, Outcome,
        current::{self, CatchUnwindIn},
        source::EventSource,
    },
    record::{
        capture::{push_event, record_exception},
        redact,
        report::{self, ErrorReport},
    },
};
use classify::{Core, ErrorInfo};

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

/// What an event tells the engine before the handler runs.
#[derive(Debug)]
pub struct Start<'a> {
    pub(crate) context: Option<&'a lambda_runtime::Context>,
    pub(crate) source: EventSource<'a>,
}

impl<'a> Start<'a> {
    /// The invocation of `context`, from an event `source` describes.
    #[must_use]
    pub fn new(context: Option<&'a lambda_runtime::Context>, source: EventSource<'a>) -> Self {
        Self { context, source }
    }
}

/// How the handler's body ended.
#[derive(Debug)]
pub enum HandlerOutcome<R> {
    /// It returned `Ok`.
    Ok(R),
    /// It returned `Err`, classified.
    Err(ErrorInfo),
    /// It panicked.
    Panic(ErrorInfo),
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

/// An event type a facade `F` can run a handler returning `Ret` for: what the event says
/// about its invocation, and how the handler's outcome becomes what the runtime expects.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event type `#[serverless_handler]` supports",
    label = "the handler's event argument",
    note = "take `lambda_runtime::LambdaEvent<T>` or `(event: T, ctx: Context)`; for a `lambda_http::Request`, use `serverless_sdk_http::serverless_handler`"
)]
pub trait Trigger<F, Ret: HandlerResult>: Sized {
    /// What the wrapped function returns.
    type Output;
    /// What the event says about its invocation.
    fn start(&self) -> Start<'_>;
    /// Turns the body's outcome into the wrapped function's result, recording failures on
    /// the invocation's root span.
    fn complete(outcome: HandlerOutcome<Ret::Ok>, root: &Root) -> Completion<Self::Output>;
}

impl<T, R, E> Trigger<Core, Result<R, E>> for LambdaEvent<T> {
    type Output = Result<R, Diagnostic>;

    fn start(&self) -> Start<'_> {
        Start::new(Some(&self.context), EventSource::default())
    }

    fn complete(outcome: HandlerOutcome<R>, root: &Root) -> Completion<Self::Output> {
        Completion::Ready(Some(match outcome {
            HandlerOutcome::Ok(r) => Ok(r),
            HandlerOutcome::Err(info) | HandlerOutcome::Panic(info) => {
                root.capture(info.report(), Outcome::ErrorUnhandled);
                Err(root.lambda_error(&info))
            }
        }))
    }
}

/// The root span of the invocation a handler runs in: where a [`Trigger`] records what it
/// decided.
pub struct Root {
    current: Current,
    owned: bool,
    held: AtomicBool,
}

/// What a handle on an invocation shows of itself.
fn debug_handle(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    current: &Current,
    owned: bool,
) -> std::fmt::Result {
    f.debug_struct(name)
        .field("request_id", &current.inv.request_id)
        .field("owned", &owned)
        .finish_non_exhaustive()
}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_handle(f, "Root", &self.current, self.owned)
    }
}

impl Root {
    /// Opens the invocation for `start`, or joins the one already current for its request.
    pub(crate) fn open_or_join(start: Start<'_>, meta: &'static HandlerMeta) -> Self {
        let Start { context, source } = start;
        let joined = context.and_then(|ctx| {
            current::with(|c| {
                c.filter(|c| *c.inv.request_id == *ctx.request_id)
                    .map(|c| c.inv.root())
            })
        });
        if let Some(current) = joined {
            join(&current, meta, &source);
            return Self {
                current,
                owned: false,
                held: AtomicBool::new(false),
            };
        }
        let opening = match context {
            Some(ctx) => Opening::new(ctx),
            None => Opening::detached(),
        }
        .with_source(source)
        .with_code(meta.name, meta.module, meta.span_name);
        let inv = Invocation::open(opening, &installed::get().settings);
        Self {
            current: inv.root(),
            owned: true,
            held: AtomicBool::new(false),
        }
    }

    /// A handle on the same root span that can record but never closes the invocation, for
    /// work that completes after the handler returned (converting its response).
    #[must_use]
    pub fn recorder(&self) -> Self {
        Self {
            current: self.current.clone(),
            owned: false,
            held: AtomicBool::new(false),
        }
    }

    /// The request id of the invocation.
    #[must_use]
    pub fn request_id(&self) -> &str {
        &self.current.inv.request_id
    }

    /// Records a failure that escaped the handler as an `exception` event on the root span,
    /// with the invocation's outcome.
    pub fn capture(&self, report: &ErrorReport, outcome: Outcome) {
        record_exception(&self.current, report, false, outcome);
    }

    /// Records an error as an event named `name` without failing the invocation (a client
    /// error answered with a 4xx).
    pub fn note(&self, name: &'static str, report: &ErrorReport) {
        let settings = self.current.inv.settings;
        let event = Event::new(
            name,
            SystemTime::now(),
            vec![
                KeyValue::new(attr::EXCEPTION_TYPE, report.type_name.clone()),
                KeyValue::new(
                    attr::EXCEPTION_MESSAGE,
                    redact::clean_text(&report.message, settings),
                ),
            ],
            0,
        );
        push_event(&self.current, event);
    }

    /// Raises the invocation's outcome to at least `outcome`.
    pub fn set_outcome(&self, outcome: Outcome) {
        self.current.inv.state().raise_outcome(outcome);
    }

    /// Records the response's status code.
    pub fn set_status_code(&self, status: u16) {
        self.current.inv.state().status_code = Some(status);
    }

    /// Marks the invocation as failed with `outcome`; the root span's status says `why`
    /// unless a captured error already named the failure.
    pub fn mark_failed(&self, outcome: Outcome, why: impl Into<Cow<'static, str>>) {
        let mut state = self.current.inv.state();
        state.raise_outcome(outcome);
        if let Some(root) = state.root()
            && matches!(root.status, Status::Unset)
        {
            root.status = Status::error(why);
        }
    }

    /// Whether 500 responses may carry the error's text (`SERVERLESS_SDK_EXPOSE_ERRORS`).
    #[must_use]
    pub fn exposes_errors(&self) -> bool {
        self.current.inv.settings.expose_errors
    }

    /// Whether client errors are captured as exceptions (`SERVERLESS_SDK_CAPTURE_CLIENT_ERRORS`).
    #[must_use]
    pub fn captures_client_errors(&self) -> bool {
        self.current.inv.settings.capture_client_errors
    }

    /// The Lambda error for a failure: its `errorType` and message (masked, for a panic).
    #[must_use]
    pub fn lambda_error(&self, info: &ErrorInfo) -> Diagnostic {
        let message = if info.report.type_name == report::PANIC_TYPE {
            redact::clean_text(info.display(), self.current.inv.settings)
        } else {
            info.display().to_owned()
        };
        Diagnostic {
            error_type: info.lambda_error_type().to_owned(),
            error_message: message,
        }
    }

    /// Keeps the invocation open after the handler returns, until the response's body has
    /// been sent: for streamed responses, whose body outlives the handler.
    #[must_use]
    pub fn hold(&self) -> Held {
        self.held.store(true, Ordering::Relaxed);
        Held {
            current: self.current.clone(),
            owned: self.owned,
            closing: None,
            done: false,
        }
    }
}

/// The annotated function, not the wrapper that opened the invocation, names the root; a
/// typed request refines what the raw event said.
fn join(root: &Current, meta: &'static HandlerMeta, source: &EventSource<'_>) {
    let mut state = root.inv.state();
    if let Some(http) = source.http_request() {
        state.apply_http(http);
    }
    if let Some(span) = state.root() {
        span.code = Some((meta.name, meta.module));
        if let Some(name) = meta.span_name {
            span.name = Cow::Borrowed(name);
        }
    }
    if meta.span_name.is_some() {
        state.name_fixed = true;
    }
}

type Closing = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An invocation held open past its handler, for a streamed response body; see
/// [`Root::hold`]. Closing it exports the invocation when this handle opened it.
pub struct Held {
    current: Current,
    owned: bool,
    closing: Option<Closing>,
    done: bool,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_handle(f, "Held", &self.current, self.owned)
    }
}

impl Held {
    /// Runs `f` inside the invocation (as its current span), catching a panic.
    ///
    /// # Errors
    ///
    /// What the panic was, as an error.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> Result<R, Box<ErrorInfo>> {
        current::scoped(Some(self.current.clone()), || {
            catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
                Box::new(ErrorInfo::from_panic(ErrorReport::from_panic(&*payload)))
            })
        })
    }

    /// Records a failure of the body after the response started: an `exception` event on
    /// the root span and outcome `error:unhandled`, since the client saw a cut response.
    pub fn fail(&self, info: &ErrorInfo) {
        record_exception(&self.current, info.report(), false, Outcome::ErrorUnhandled);
    }

    /// Closes the invocation and exports it, when this handle opened it; `Ready` once done.
    /// Called when the body has sent its last byte.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.done || !self.owned {
            self.done = true;
            return Poll::Ready(());
        }
        let inv = Arc::clone(&self.current.inv);
        let closing = self.closing.get_or_insert_with(|| {
            Box::pin(async move { close_and_export(&inv, When::BeforeResponse).await })
        });
        let poll = closing.as_mut().poll(cx);
        if poll.is_ready() {
            self.done = true;
            self.closing = None;
        }
        poll
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.done || !self.owned {
            return;
        }
        // The body was dropped before its end (the client went away, or the caller only
        // looked at the status): close now. An export that needs no I/O wait finishes right
        // here; one that does goes on as a task of the runtime, if there is one.
        let inv = Arc::clone(&self.current.inv);
        let mut closing = self.closing.take().unwrap_or_else(|| {
            Box::pin(async move { close_and_export(&inv, When::BeforeResponse).await })
        });
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if closing.as_mut().poll(&mut cx).is_ready() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(closing);
            }
            Err(_) => internal_error::report(
                "export",
                "a response body was dropped outside a tokio runtime; its telemetry is lost",
            ),
        }
    }
}

/// Pins the output type of the body's future, so `?` inside it knows its error type.
#[inline]
pub fn typed_future<T, F: Future<Output = T>>(fut: F) -> F {
    fut
}

/// Runs one invocation of a `#[serverless_handler]` function (or of a facade's service):
/// the one entry point of the generated code.
///
/// The invocation is opened (or joined) and the body called right away, with panics caught
/// and the invocation current; the returned future drives the body under the timeout
/// watchdog, then completes it through the event's [`Trigger`].
pub fn handle<F, T, Ret, B, Fut, C>(
    event: T,
    meta: &'static HandlerMeta,
    body: B,
    classify: C,
) -> Handled<F, T, Ret, Fut, C>
where
    T: Trigger<F, Result<Ret::Ok, Ret::Err>>,
    Ret: HandlerResult,
    B: FnOnce(T) -> Fut,
    Fut: Future<Output = Ret>,
    C: FnOnce(&Ret::Err) -> ErrorInfo,
{
    report::install_panic_hook();
    let root = Root::open_or_join(event.start(), meta);
    let inv = Arc::clone(&root.current.inv);
    // The root span is current while the body is called, and then on every poll of its
    // future: the same reference moves in and out of the current-span slot.
    let mut current = Some(root.current.clone());
    let called = current::run_in(&mut current, || {
        catch_unwind(AssertUnwindSafe(|| body(event)))
    });
    if !current
        .as_ref()
        .is_some_and(|c| c.span == 0 && Arc::ptr_eq(&c.inv, &inv))
    {
        // The body left another span current (a guard it forgot): its future still starts
        // in the root span.
        current = Some(root.current.clone());
    }
    let state = match called {
        Ok(fut) => HandledState::Running {
            fut: watchdog::Watched::new(CatchUnwindIn::new(fut, current), inv, root.owned),
            classify: Some(classify),
        },
        Err(payload) => HandledState::Panicked {
            info: Some(ErrorInfo::from_panic(ErrorReport::from_panic(&*payload))),
        },
    };
    Handled {
        root,
        state,
        _facade: PhantomData,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`handle`].
    pub struct Handled<F, T, Ret, Fut, C>
    where
        T: Trigger<F, Result<Ret::Ok, Ret::Err>>,
        Ret: HandlerResult,
    {
        root: Root,
        #[pin]
        state: HandledState<T::Output, Fut, C>,
        _facade: PhantomData<fn() -> (F, T, Ret)>,
    }
}

pin_project_lite::pin_project! {
    #[project = HandledProj]
    enum HandledState<O, Fut, C> {
        Running {
            #[pin]
            fut: watchdog::Watched<CatchUnwindIn<Fut>>,
            classify: Option<C>,
        },
        Panicked { info: Option<ErrorInfo> },
        Completing { completion: Completion<O> },
        Closing { closing: Pin<Box<dyn Future<Output = ()> + Send>>, output: Option<O> },
        Done,
    }
}

impl<F, T, Ret, Fut, C> Future for Handled<F, T, Ret, Fut, C>
where
    T: Trigger<F, Result<Ret::Ok, Ret::Err>>,
    Ret: HandlerResult,
    Fut: Future<Output = Ret>,
    C: FnOnce(&Ret::Err) -> ErrorInfo,
{
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let mut this = self.project();
        loop {
            let outcome = match this.state.as_mut().project() {
                HandledProj::Running { fut, classify } => {
                    let Poll::Ready(result) = fut.poll(cx) else {
                        return Poll::Pending;
                    };
                    match result {
                        Ok(ret) => match ret.into_result() {
                            Ok(r) => HandlerOutcome::Ok(r),
                            Err(e) => match classify.take() {
                                Some(classify) => HandlerOutcome::Err(classify(&e)),
                                None => return Poll::Pending,
                            },
                        },
                        Err(payload) => HandlerOutcome::Panic(ErrorInfo::from_panic(
                            ErrorReport::from_panic(&*payload),
                        )),
                    }
                }
                HandledProj::Panicked { info } => match info.take() {
                    Some(info) => HandlerOutcome::Panic(info),
                    None => return Poll::Pending,
                },
                HandledProj::Completing { completion } => {
                    let Poll::Ready(output) = Pin::new(completion).poll(cx) else {
                        return Poll::Pending;
                    };
                    if this.root.owned && !this.root.held.load(Ordering::Relaxed) {
                        let inv = Arc::clone(&this.root.current.inv);
                        this.state.set(HandledState::Closing {
                            closing: Box::pin(async move {
                                close_and_export(&inv, When::BeforeResponse).await;
                            }),
                            output: Some(output),
                        });
                        continue;
                    }
                    this.state.set(HandledState::Done);
                    return Poll::Ready(output);
                }
                HandledProj::Closing { closing, output } => {
                    if closing.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let output = output.take();
                    this.state.set(HandledState::Done);
                    match output {
                        Some(output) => return Poll::Ready(output),
                        None => return Poll::Pending,
                    }
                }
                HandledProj::Done => return Poll::Pending,
            };
            this.root.current.inv.state().handler_reported = true;
            let completion = T::complete(outcome, this.root);
            this.state.set(HandledState::Completing { completion });
        }
    }
}
