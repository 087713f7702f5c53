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
//! * a response body keeps streaming: served by [`run_with_streaming_response`], the
//!   invocation lasts until the last byte, and a body that fails halfway is recorded and
//!   ends cleanly.
//!
//! The API of `serverless_sdk` is re-exported here, so this crate alone is enough.
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

use std::{fmt::Debug, future::Future};

use lambda_http::{Adapter, IntoResponse, Request, Response, Service, StreamAdapter};
use lambda_runtime::Runtime;
use serverless_sdk::__private::{ensure_init, with_layers};

pub use body::{ProxyResponse, SdkBody};
/// Batches with partial failures (feature `batch`); see [`serverless_sdk::batch`].
#[cfg(feature = "batch")]
pub use serverless_sdk::batch;
/// Dev mode (feature `dev`, on by default): each invocation's trace drawn on stderr; see
/// [`serverless_sdk::dev`].
///
/// ```
/// use serverless_sdk_http::{Config, dev};
///
/// // `SERVERLESS_SDK_DEV=true`, set in code: on with this crate's default features.
/// assert!(Config::from_env().with_dev_mode(true).dev_mode());
/// assert_eq!(dev::render(&[], false), "(no spans)\n");
/// ```
#[cfg(feature = "dev")]
pub use serverless_sdk::dev;
/// At-most-once runs backed by DynamoDB (feature `idempotency`); see
/// [`serverless_sdk::idempotency`].
#[cfg(feature = "idempotency")]
pub use serverless_sdk::idempotency;
/// Starts a span around the code that follows; see [`serverless_sdk::span`](fn@serverless_sdk::span).
pub use serverless_sdk::spans::span;
pub use serverless_sdk::{
    Config, ContextExt, Error, ErrorType, FutureExt, attributes, capture_exception,
    capture_message, config, context, errors, export, init, integrations, runtime, set_endpoint,
    set_endpoint_with_method, spans, tag_event, try_tag_event,
};
pub use service::{HttpInvocationFuture, HttpInvocationLayer, HttpInvocationService, Streamed};
pub use trigger::{PayloadErrorExt, REQUEST_ID_HEADER};

/// Wraps a handler; see [`serverless_sdk::serverless_handler`]. Re-exported here so that
/// crates depending on `serverless_sdk_http` alone can use it.
pub use serverless_sdk_macros::serverless_handler_via_http as serverless_handler;

/// Wraps a function in a span; see [`serverless_sdk::span`](macro@serverless_sdk::span).
pub use serverless_sdk_macros::span_via_http as span;

/// Sets the endpoint; see [`serverless_sdk::route`].
pub use serverless_sdk_macros::route_via_http as route;

/// Maps an error to an HTTP response; see [`serverless_sdk::HttpError`](trait@serverless_sdk::HttpError).
pub use serverless_sdk::errors::HttpError;

/// Derives `HttpError`; see [`serverless_sdk::HttpError`](derive@serverless_sdk::HttpError).
pub use serverless_sdk_macros::HttpErrorViaHttp as HttpError;

#[cfg(feature = "axum")]
pub mod axum;
mod body;
mod service;
mod trigger;

/// Runs a `lambda_http` service under the real runtime loop, with the SDK set up at cold
/// start, each request inside its own invocation (so any service, an axum `Router` or a
/// plain `service_fn`, gets a root span, caught panics and proxy 500s), and each
/// invocation's telemetry exported after its response is sent.
///
/// A drop-in for `lambda_http::run`: it accepts the same services, a handler borrowing
/// state from `main` included.
///
/// ```no_run
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// struct Db { greeting: String }
///
/// #[serverless_sdk_http::serverless_handler]
/// async fn hello(_req: Request, db: &Db) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from(db.greeting.clone())))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     let db = Db { greeting: "hello".into() };
///     serverless_sdk_http::run(service_fn(|req| hello(req, &db))).await
/// }
/// ```
///
/// # Errors
///
/// What stops the runtime loop (the Runtime API going away).
pub async fn run<'a, R, S, E>(handler: S) -> Result<(), Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: Debug,
{
    ensure_init();
    let runtime = Runtime::new(Adapter::from(HttpInvocationService::new(handler)));
    with_layers(runtime).run().await
}

/// [`run`] for Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` above 1, that
/// many requests run at once in this process, each in its own invocation. The service must
/// be `Clone + Send + 'static`, as `lambda_http::run_concurrent` asks.
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
///
/// # Errors
///
/// What stops the runtime loop.
pub async fn run_concurrent<R, S, E>(handler: S) -> Result<(), Error>
where
    S: Service<Request, Response = R, Error = E> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: IntoResponse + Send + 'static,
    E: Debug + Send + 'static,
{
    ensure_init();
    let runtime = Runtime::new(Adapter::from(HttpInvocationService::new(handler)));
    with_layers(runtime).run_concurrent().await
}

/// [`run`], after running the function's initialisation under the SDK's reporting: an
/// error or panic in `init` reaches Lambda's init-error endpoint and telemetry (outcome
/// `init_error`), and the returned error makes `main` exit non-zero. See
/// [`serverless_sdk::run_with_init`]; to lend what `init` built to the handler, use
/// [`serverless_sdk::runtime::initialize`] and [`run`].
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
///
/// # Errors
///
/// The initialisation's error, or what stops the runtime loop.
pub async fn run_with_init<'a, I, Fut, St, IE, M, R, S, E>(
    init: I,
    make_handler: M,
) -> Result<(), Error>
where
    I: FnOnce() -> Fut,
    Fut: Future<Output = Result<St, IE>>,
    IE: Into<Error>,
    M: FnOnce(St) -> S,
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: Debug,
{
    let state = serverless_sdk::runtime::initialize(init()).await?;
    run(make_handler(state)).await
}

/// Runs a `lambda_http` service whose responses stream (Lambda response streaming, Function
/// URLs with `InvokeMode: RESPONSE_STREAM`), with the SDK set up: the same as
/// `lambda_http::run_with_streaming_response`, plus an invocation per request that lasts
/// until the last byte of the body. A failure before the first byte answers the proxy
/// `500`; an `Err` or panic while the body streams is recorded on the invocation and the
/// stream ends cleanly. The telemetry leaves after the stream completed.
///
/// ```no_run
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// #[serverless_sdk_http::serverless_handler]
/// async fn stream(_req: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("streamed")))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     serverless_sdk_http::run_with_streaming_response(service_fn(stream)).await
/// }
/// ```
///
/// # Errors
///
/// What stops the runtime loop.
pub async fn run_with_streaming_response<'a, S, B, E>(handler: S) -> Result<(), Error>
where
    S: Service<Request, Response = Response<B>, Error = E>,
    S::Future: Send + 'a,
    E: Debug,
    B: http_body::Body + Unpin + Send + 'static,
    B::Data: Into<bytes::Bytes> + Send,
    B::Error: Into<Error> + Send + Debug,
{
    ensure_init();
    let runtime = Runtime::new(StreamAdapter::from(HttpInvocationService::streaming(
        handler,
    )));
    with_layers(runtime).run().await
}

/// Renamed [`HttpInvocationService`].
#[doc(hidden)]
#[deprecated(note = "renamed `serverless_sdk_http::HttpInvocationService`")]
pub type Instrumented<S> = HttpInvocationService<S>;

#[doc(hidden)]
pub mod __private {
    pub use serverless_sdk::__private::*;

    pub use crate::trigger::{Http as ViaFacade, HttpResponse};

    /// What a handler annotated through this crate returns; see the core's `Output`.
    pub type Output<Event, Return> = <Event as Trigger<
        ViaFacade,
        Result<<Return as HandlerResult>::Ok, <Return as HandlerResult>::Err>,
    >>::Output;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
