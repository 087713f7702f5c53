//! The runtime layer that gives every event its invocation: it reads the raw event, opens
//! the invocation before anything else runs, makes it current for everything the runtime
//! does with the event, watches the deadline, and exports the invocation after the response
//! was sent and before the next event is requested.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use lambda_runtime::{
    Diagnostic, LambdaInvocation, Runtime, Service, layers::TracingLayer, tower::Layer,
};

use super::{decode::unmarshal_failure, runtime_api};
use crate::{
    export::When,
    handler::{close_and_export, watchdog::Watched},
    installed, internal_error,
    invocation::{
        Invocation, Opening,
        current::WithCurrent,
        source::{self, BadPayload},
    },
    record::report,
};

/// A `lambda_runtime` layer that opens an invocation per event: root span, trace context,
/// what the event says about its source, the timeout watchdog, and export after the
/// response. [`run`](crate::run) adds it; add it yourself when you compose a
/// `lambda_runtime::Runtime` with layers of your own. Handlers annotated with
/// `#[serverless_handler]` join the invocation it opened; any other handler's errors and
/// panics are recorded by [`run`](crate::run)'s decoding step.
///
/// An event that is not JSON at all never reaches the handler: the layer answers it with
/// `errorType` `Runtime.UnmarshalError` and the process goes on to the next event.
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent, Runtime};
/// use serverless_sdk::runtime::InvocationLayer;
///
/// #[serverless_sdk::serverless_handler]
/// async fn handler(event: LambdaEvent<serde_json::Value>) -> Result<(), std::io::Error> {
///     Ok(())
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     serverless_sdk::init(serverless_sdk::Config::from_env());
///     Runtime::new(service_fn(handler))
///         .layer(lambda_runtime::layers::TracingLayer::new())
///         .layer(InvocationLayer::new())
///         .run()
///         .await
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct InvocationLayer {
    _private: (),
}

impl InvocationLayer {
    /// A new layer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for InvocationLayer {
    type Service = InvocationService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InvocationService { inner }
    }
}

/// The service [`InvocationLayer`] wraps around the runtime's.
#[derive(Clone, Debug)]
pub struct InvocationService<S> {
    inner: S,
}

impl<S> Service<LambdaInvocation> for InvocationService<S>
where
    S: Service<LambdaInvocation, Response = ()>,
{
    type Response = ();
    type Error = S::Error;
    type Future = InvocationFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        report::install_panic_hook();
        let settings = &installed::get().settings;
        let source = source::read_delivered(&invocation.body, &invocation.context.request_id);
        let (source, bad) = match source {
            Ok(source) => (source, None),
            Err(bad) => (Default::default(), Some(bad)),
        };
        let inv = Invocation::open(
            Opening::new(&invocation.context).with_source(source),
            settings,
        );
        if let Some(bad) = bad {
            return InvocationFuture::rejected(inv, &invocation, &bad);
        }
        let root = inv.root();
        let inner =
            crate::invocation::current::scoped(Some(root.clone()), || self.inner.call(invocation));
        InvocationFuture {
            state: State::Running {
                inner: Watched::new(WithCurrent::new(inner, Some(root)), Arc::clone(&inv), true),
                inv,
            },
        }
    }
}

type Pending = Pin<Box<dyn Future<Output = ()> + Send>>;

pin_project_lite::pin_project! {
    /// The future of [`InvocationService`]: the runtime's own work on the event, then the
    /// export.
    pub struct InvocationFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        Running { #[pin] inner: Watched<WithCurrent<F>>, inv: Arc<Invocation> },
        Exporting { export: Pending, result: Option<Result<(), E>> },
        Done,
    }
}

impl<F, E> fmt::Debug for InvocationFuture<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationFuture").finish_non_exhaustive()
    }
}

impl<F, E> InvocationFuture<F, E> {
    /// Answers an event that is not JSON without running the runtime on it: Lambda gets
    /// `Runtime.UnmarshalError`, telemetry the invocation.
    fn rejected(inv: Arc<Invocation>, invocation: &LambdaInvocation, bad: &BadPayload) -> Self {
        let size = invocation.body.len();
        let message = format!("the event ({size} bytes) cannot be read: {bad}");
        let diagnostic: Diagnostic = unmarshal_failure(Some(&inv.root()), size, message);
        let path = format!(
            "/2018-06-01/runtime/invocation/{}/error",
            invocation.context.request_id
        );
        let invocation_id = invocation
            .parts
            .headers
            .get(runtime_api::INVOCATION_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let export = Box::pin(async move {
            if let Err(e) =
                runtime_api::post_error(&path, "unhandled", &diagnostic, invocation_id.as_deref())
                    .await
            {
                internal_error::report(
                    "runtime",
                    &format!("could not answer an event that is not JSON: {e}"),
                );
            }
            close_and_export(&inv, When::AfterResponse).await;
        });
        Self {
            state: State::Exporting {
                export,
                result: Some(Ok(())),
            },
        }
    }
}

impl<F, E> Future for InvocationFuture<F, E>
where
    F: Future<Output = Result<(), E>>,
{
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Running { inner, inv } => {
                    let Poll::Ready(result) = inner.poll(cx) else {
                        return Poll::Pending;
                    };
                    let inv = Arc::clone(inv);
                    this.state.set(State::Exporting {
                        export: Box::pin(async move {
                            close_and_export(&inv, When::AfterResponse).await;
                        }),
                        result: Some(result),
                    });
                }
                StateProj::Exporting { export, result } => {
                    if export.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let result = result.take();
                    this.state.set(State::Done);
                    if let Some(result) = result {
                        return Poll::Ready(result);
                    }
                }
                StateProj::Done => return Poll::Pending,
            }
        }
    }
}

/// A runtime service wrapped in `lambda_runtime`'s tracing layer and the SDK's
/// [`InvocationLayer`].
pub type Layered<S> = InvocationService<<TracingLayer as Layer<S>>::Service>;

/// `runtime` with the SDK's layers on: `lambda_runtime`'s tracing span, then an invocation
/// per event.
pub fn with_layers<S>(runtime: Runtime<S>) -> Runtime<Layered<S>>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
{
    runtime
        .layer(TracingLayer::new())
        .layer(InvocationLayer::new())
}
