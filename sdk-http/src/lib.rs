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
//!   and a body that fails to parse with `req.payload()` gives `400`;
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
//!     // A body that is not valid JSON answers 400 {"message": "Invalid JSON body: …"}.
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

use std::fmt::Debug;

use lambda_http::{Adapter, IntoResponse, Request, Service};
use lambda_runtime::{Diagnostic, Runtime, layers::TracingLayer};

pub use serverless_sdk::*;

/// Wraps a handler; see [`serverless_sdk::serverless_handler`]. Re-exported here so that
/// crates depending on `serverless_sdk_http` alone can use it.
pub use serverless_sdk_macros::serverless_handler_via_http as serverless_handler;

/// Wraps a function in a span; see [`serverless_sdk::span`](macro@serverless_sdk::span).
pub use serverless_sdk_macros::span_via_http as span;

/// Sets the endpoint; see [`serverless_sdk::route`].
pub use serverless_sdk_macros::route_via_http as route;

/// Runs a `lambda_http` handler (a `#[serverless_handler]` function, or any
/// `Service<Request>`) under the real runtime loop, with the SDK set up at cold start and
/// each invocation's telemetry exported after its response is sent.
///
/// A drop-in for `lambda_http::run`.
///
/// ```no_run
/// use lambda_http::{Body, Error, Request, Response};
///
/// #[serverless_sdk_http::serverless_handler]
/// async fn hello(_req: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("hello")))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     serverless_sdk_http::run(lambda_http::service_fn(hello)).await
/// }
/// ```
pub async fn run<'a, R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: Debug + Into<Diagnostic>,
{
    serverless_sdk::__private::ensure_init();
    Runtime::new(Adapter::from(handler))
        .layer(TracingLayer::new())
        .layer(ExportLayer::new())
        .run()
        .await
}

#[doc(hidden)]
pub mod __private {
    pub use serverless_sdk::__private::*;
}
