//! # serverless_sdk_http
//!
//! [`serverless_sdk`] for `lambda_http` handlers behind API Gateway (REST and HTTP APIs),
//! Application Load Balancers and Function URLs.
//!
//! With `#[serverless_handler]` on a `lambda_http` handler:
//!
//! * an `Err` or a panic becomes a well-formed proxy response, `500` with
//!   `{"message":"Internal Server Error","requestId":"…"}` and an `x-request-id` header,
//!   instead of API Gateway's `502`; the error text stays out of the body (unless
//!   `SERVERLESS_SDK_EXPOSE_ERRORS=true`) and goes to telemetry, where the invocation still
//!   shows as failed;
//! * an error implementing [`HttpError`] picks its own status and public message (a `4xx`),
//!   and a body that fails to parse with `req.payload()` gives `400` (also inside a boxed
//!   `lambda_http::Error`; other errors keep their status only when returned as their own
//!   type, since a box hides it);
//! * the endpoint comes from the API Gateway `resource` / `routeKey` when it is a real route
//!   template, unless `set_endpoint` or `#[route]` says otherwise; the root span is named
//!   `"{method} {route}"`.
//!
//! Everything in `serverless_sdk` is re-exported here, so this crate alone is enough.
//!
//! ```no_run
//! use lambda_http::{Body, Error, Request, RequestPayloadExt, Response};
//! use serverless_sdk_http::{serverless_handler, tag_event};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { customer_id: String, items: u32 }
//!
//! #[serverless_handler]
//! async fn create_order(req: Request) -> Result<Response<Body>, Error> {
//!     // A body that is not valid JSON answers 400 {"message": "Invalid JSON body: …"};
//!     // a missing body is an error of ours (500): map it to a 4xx with `HttpError`.
//!     let order: Order = req.payload()?.ok_or("missing body")?;
//!     tag_event("customer-id", &order.customer_id, None);
//!     Ok(Response::new(Body::from(format!("{} items", order.items))))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     serverless_sdk_http::run(lambda_http::service_fn(create_order)).await
//! }
//! ```

use std::{fmt::Debug, future::Future, pin::Pin};

use lambda_http::{Adapter, IntoResponse, Request, Service};
use lambda_runtime::{Diagnostic, Runtime, layers::TracingLayer as RuntimeTracingLayer};
use serverless_sdk::__private::HandlerMeta;

pub use serverless_sdk::*;

/// Wraps a handler; see [`serverless_sdk::serverless_handler`]. Re-exported here so that
/// crates depending on `serverless_sdk_http` alone can use it.
pub use serverless_sdk_macros::serverless_handler_via_http as serverless_handler;

/// Wraps a function in a span; see [`serverless_sdk::span`](macro@serverless_sdk::span).
pub use serverless_sdk_macros::span_via_http as span;

/// Sets the endpoint; see [`serverless_sdk::route`].
pub use serverless_sdk_macros::route_via_http as route;

#[cfg(feature = "axum")]
pub mod axum;

/// Runs a `lambda_http` service under the real runtime loop, with the SDK set up at cold
/// start, each request inside its own invocation (so any service, an axum `Router` or a
/// plain `service_fn`, gets a root span, caught panics and proxy 500s), and each
/// invocation's telemetry exported after its response is sent.
///
/// A drop-in for `lambda_http::run` (the service must be `Clone`, as routers and
/// `service_fn`s are).
///
/// ```no_run
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// #[serverless_sdk_http::serverless_handler]
/// async fn hello(_req: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("hello")))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     serverless_sdk_http::run(service_fn(hello)).await
/// }
/// ```
pub async fn run<R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: IntoResponse + Send + 'static,
    E: Debug + Send + 'static,
{
    serverless_sdk::__private::ensure_init();
    Runtime::new(Adapter::from(Instrumented::new(handler)))
        .layer(RuntimeTracingLayer::new())
        .layer(ExportLayer::new())
        .run()
        .await
}

/// [`run`] for Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` above 1, that
/// many requests run at once in this process, each in its own invocation.
///
/// ```no_run
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// #[serverless_sdk_http::serverless_handler]
/// async fn hello(_req: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("hello")))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     serverless_sdk_http::run_concurrent(service_fn(hello)).await
/// }
/// ```
pub async fn run_concurrent<R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: IntoResponse + Send + 'static,
    E: Debug + Send + 'static,
{
    serverless_sdk::__private::ensure_init();
    Runtime::new(Adapter::from(Instrumented::new(handler)))
        .layer(RuntimeTracingLayer::new())
        .layer(ExportLayer::new())
        .run_concurrent()
        .await
}

/// [`run`], after running the function's initialisation under the SDK's reporting: an
/// error or panic in `init` reaches Lambda's init-error endpoint and telemetry (outcome
/// `init_error`), and the returned error makes `main` exit non-zero. See
/// [`serverless_sdk::run_with_init`].
///
/// ```no_run
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// #[serverless_sdk_http::serverless_handler]
/// async fn hello(_req: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("hello")))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     serverless_sdk_http::run_with_init(
///         || async { std::env::var("GREETING").map_err(Error::from) },
///         |_greeting| service_fn(hello),
///     )
///     .await
/// }
/// ```
pub async fn run_with_init<I, Fut, St, IE, M, R, S, E>(
    init: I,
    make_handler: M,
) -> Result<(), lambda_http::Error>
where
    I: FnOnce() -> Fut,
    Fut: Future<Output = Result<St, IE>>,
    IE: Into<lambda_http::Error>,
    M: FnOnce(St) -> S,
    S: Service<Request, Response = R, Error = E> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: IntoResponse + Send + 'static,
    E: Debug + Send + 'static,
{
    let state = serverless_sdk::initialize(init()).await?;
    run(make_handler(state)).await
}

static SERVICE_META: HandlerMeta = HandlerMeta {
    name: "handler",
    module: module_path!(),
    span_name: None,
};

/// A `lambda_http` service run inside an invocation: what [`run`] wraps every service in.
/// A `#[serverless_handler]` function inside joins the invocation instead of opening a
/// second one.
///
/// ```
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// async fn plain(_req: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("not annotated, still instrumented")))
/// }
/// let service = serverless_sdk_http::Instrumented::new(service_fn(plain));
/// # let _ = service;
/// ```
#[derive(Clone, Debug)]
pub struct Instrumented<S> {
    inner: S,
}

impl<S> Instrumented<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, R, E> Service<Request> for Instrumented<S>
where
    S: Service<Request, Response = R, Error = E> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: IntoResponse + Send + 'static,
    E: Debug + Send + 'static,
{
    type Response = ProxyResponse;
    type Error = Diagnostic;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyResponse, Diagnostic>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Diagnostic>> {
        self.inner.poll_ready(cx).map_err(|e| Diagnostic {
            error_type: "ServiceNotReady".to_owned(),
            error_message: format!("{e:?}"),
        })
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The ready service handles this request; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(serverless_sdk::__private::handle::<
            Request,
            Result<R, E>,
            _,
            _,
            _,
        >(
            request,
            &SERVICE_META,
            move |request| inner.call(request),
            serverless_sdk::__private::classify_debug::<E>,
        ))
    }
}

#[doc(hidden)]
pub mod __private {
    pub use serverless_sdk::__private::*;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
