//! # serverless_sdk
//!
//! Error capture, spans, tags and endpoints for Rust functions on AWS Lambda, exported as
//! OpenTelemetry: the Rust twin of the Serverless SDK for Python and Node.
//!
//! * [`#[serverless_handler]`](macro@serverless_handler) wraps a handler: it opens the
//!   invocation (one trace, one root span), catches panics and `Err` values, and reports
//!   them: as a Lambda error whose `errorType` is the error's short type name for most
//!   triggers, or as a proxy `500` response for API Gateway (with `serverless_sdk_http`).
//! * [`#[span("label")]`](macro@span) and [`span()`](fn@span) put spans around any code, sync
//!   or async.
//! * [`#[route("/api/foo")]`](macro@route) and [`set_endpoint`] record the routed endpoint.
//! * [`capture_exception`], [`capture_message`], [`tag_event`] work anywhere inside an
//!   invocation, and from the Lambda context through [`ContextExt`]:
//!   `ctx.serverless_sdk().capture_exception(&err)`.
//!
//! Telemetry leaves as one OTLP/JSON line per invocation on stdout by default, or over
//! OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see [`Config`]).
//!
//! ## Modules
//!
//! | module | what is in it |
//! |---|---|
//! | [`config`] | [`Config`] and the size [`Limits`](config::Limits) |
//! | [`errors`] | how errors are captured and reported: [`ErrorType`], [`HttpError`], fingerprints, `anyhow` |
//! | [`spans`] | the span guard and the futures that carry spans |
//! | [`context`] | the operations bound to one invocation, from its Lambda context |
//! | [`export`] | where telemetry goes: exporters, outcomes, statistics |
//! | [`runtime`] | the runtime layer that opens an invocation per event, init errors |
//! | [`integrations`] | `tracing`, and CLIENT spans for HTTP and AWS SDK calls |
//! | [`attributes`] | the attribute and event names of the telemetry contract |
//! | `batch` | SQS, Kinesis and DynamoDB batches with partial failures, a span per record (feature `batch`, on by default) |
//! | `dev` | dev mode: each invocation's trace as a waterfall on stderr (`SERVERLESS_SDK_DEV=true`; feature `dev`, on by default) |
//! | `idempotency` | run a handler or record handler at most once per key, replaying the stored response; DynamoDB and in-memory stores (feature `idempotency`) |
//!
//! ```no_run
//! use lambda_runtime::{service_fn, LambdaEvent};
//! use serde_json::{json, Value};
//! use serverless_sdk::{serverless_handler, span, tag_event};
//!
//! #[derive(Debug)]
//! struct AccountAlreadyExistsException;
//! impl std::fmt::Display for AccountAlreadyExistsException {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("Account is in use!")
//!     }
//! }
//! impl std::error::Error for AccountAlreadyExistsException {}
//!
//! #[serverless_handler]
//! async fn create_account(event: LambdaEvent<Value>) -> Result<Value, AccountAlreadyExistsException> {
//!     tag_event("username", event.payload["username"].as_str().unwrap_or(""), None);
//!     let taken = check_username(&event.payload).await;
//!     if taken {
//!         // Lambda reports {"errorType": "AccountAlreadyExistsException", ...}
//!         return Err(AccountAlreadyExistsException);
//!     }
//!     Ok(json!({ "created": true }))
//! }
//!
//! #[span("db.check_username")]
//! async fn check_username(payload: &Value) -> bool {
//!     payload["username"] == "taken"
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), serverless_sdk::Error> {
//!     serverless_sdk::run(service_fn(create_account)).await
//! }
//! ```
//!
//! ## Panics
//!
//! Panics are caught with `catch_unwind`, which needs `panic = "unwind"` (Rust's default).
//! A release profile with `panic = "abort"` ends the process on the first panic and no SDK
//! can report it.

pub mod attributes;
#[cfg(feature = "batch")]
pub mod batch;
pub mod config;
#[cfg(feature = "dev")]
pub mod dev;
pub mod export;
mod handler;
#[cfg(feature = "idempotency")]
pub mod idempotency;
mod installed;
pub mod integrations;
mod internal_error;
mod invocation;
mod record;
pub mod runtime;

pub use config::Config;
pub use handler::errors::{ErrorType, HttpError};
pub use record::{
    capture::capture_exception,
    capture::capture_message,
    context::ContextExt,
    endpoint::{set_endpoint, set_endpoint_with_method},
    span::{FutureExt, span},
    tag::{tag_event, try_tag_event},
};
pub use runtime::{Error, init, run, run_concurrent, run_with_init};

/// How errors are captured and reported: what [`capture_exception`] accepts, how an error
/// chooses its Lambda `errorType` ([`ErrorType`]) or HTTP status ([`HttpError`]), and the
/// names the SDK gives failures.
pub mod errors {
    #[cfg(feature = "anyhow")]
    pub use crate::record::capture::capture_anyhow;
    pub use crate::{
        handler::errors::{ErrorType, HttpError, reason_phrase},
        record::{
            capture::{Capture, capture_exception_with_fingerprint},
            redact::MASK,
            report::short_type_name,
            tag::TagError,
        },
        runtime::{INIT_ERROR_TYPE, UNMARSHAL_ERROR_TYPE},
    };
}

/// Spans: the guard [`span()`](fn@crate::span) returns and the futures that carry a span.
pub mod spans {
    pub use crate::{
        invocation::current::WithCurrent,
        record::span::{FutureExt, InSpan, SpanGuard, span},
    };
}

/// The SDK's operations bound to one invocation, reached from its Lambda context.
pub mod context {
    pub use crate::record::{
        capture::in_invocation,
        context::{ContextExt, Sdk},
    };
}

/// Wraps a Lambda handler: one invocation scope and root span per call, panics and `Err`
/// values caught and reported.
///
/// The handler keeps its signature (visibility, generics, arguments), so it plugs into
/// `service_fn(handler)`, `service_fn(|ev| handler(ev, &client))` or
/// `service_fn(move |ev| handler(ev, state.clone()))` as before. Its arguments are the event
/// and any state it takes; the event is found by this rule:
///
/// 1. the argument marked `#[event]` (and `#[context]` marks the context);
/// 2. else the argument whose type is written `LambdaEvent<T>` or `Request` (a
///    `lambda_http::Request`, through `serverless_sdk_http::serverless_handler`, which owns
///    the HTTP trigger);
/// 3. else, with an argument typed `Context`, the argument right before it: the
///    `(event: T, ctx: Context)` shape, which the wrapped function takes as one
///    `LambdaEvent<T>` in their place;
/// 4. else the only argument.
///
/// Every other argument is state, passed through unchanged, before or after the event. Two
/// arguments that both look like the event, a `Context` before its event or beside a
/// `LambdaEvent`, or several arguments with nothing to tell the event apart are compile
/// errors that say what to write; so are `unsafe`, `extern` and `const` handlers, methods,
/// and handlers that are not `async` or do not return a `Result`.
///
/// Options: `name = "..."` fixes the root span's name; `crate = "..."` names the path of
/// this crate when it is re-exported under another name.
///
/// An `Err` from a non-HTTP handler reaches Lambda with `errorType` set to the error's
/// short type name (or [`ErrorType`]) and `errorMessage` its `Display` text. A
/// `StreamResponse` returned under [`run`] streams inside its invocation.
///
/// ```
/// use std::sync::Arc;
///
/// use lambda_runtime::{Context, LambdaEvent};
/// use serde_json::Value;
/// use serverless_sdk::serverless_handler;
///
/// #[serverless_handler]
/// async fn echo(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
///     Ok(event.payload)
/// }
///
/// #[serverless_handler(name = "orders")]
/// async fn orders(event: Value, ctx: Context) -> Result<String, std::io::Error> {
///     Ok(format!("{} for {}", event, ctx.request_id))
/// }
///
/// struct Db;
///
/// #[serverless_handler]
/// async fn save(db: &Db, event: LambdaEvent<Value>, limits: Arc<Vec<u32>>) -> Result<usize, std::io::Error> {
///     let _ = db;
///     Ok(event.payload.to_string().len().min(limits.len()))
/// }
///
/// # let _ = lambda_runtime::service_fn(echo);
/// # let _ = lambda_runtime::service_fn(orders);
/// let db = Db;
/// let limits = Arc::new(vec![1, 2]);
/// let _service = lambda_runtime::service_fn(|event| save(&db, event, Arc::clone(&limits)));
/// ```
pub use serverless_sdk_macros::serverless_handler;

/// Wraps a function, sync or async, in a span named by its label (default: the function's
/// name). A function returning `Err` marks its span as failed (status ERROR and an
/// `exception` event) without failing the invocation.
///
/// ```
/// use serverless_sdk::span;
///
/// #[span("pricing")]
/// async fn price(qty: u64) -> Result<u32, std::num::TryFromIntError> {
///     u32::try_from(qty * 3)
/// }
///
/// #[span]
/// fn checksum(data: &[u8]) -> u32 {
///     data.iter().map(|b| u32::from(*b)).sum()
/// }
/// assert_eq!(checksum(b"a"), 97);
/// ```
pub use serverless_sdk_macros::span;

/// Sets the invocation's endpoint when the function runs: `#[route("/api/foo")]` or
/// `#[route(GET, "/api/users/{id}")]`. The path is checked at compile time. Stacks with
/// `#[serverless_handler]` and works on the functions of a hand-written router.
///
/// ```
/// use serverless_sdk::route;
///
/// #[route(GET, "/api/users/{id}")]
/// fn get_user(id: u64) -> String {
///     format!("user {id}")
/// }
/// assert_eq!(get_user(7), "user 7");
/// ```
pub use serverless_sdk_macros::route;

/// Derives [`HttpError`](trait@HttpError) from an `#[http(..)]` attribute on each variant:
/// the status, and optionally the public message, which may name the variant's fields as
/// `format!` does (`{0}` for a tuple field, `{id}` for a named one). A variant without a
/// message answers the status's reason phrase; an `#[http(..)]` on the enum is the default
/// of the variants without one.
///
/// ```
/// use serverless_sdk::HttpError;
///
/// #[derive(Debug, HttpError)]
/// enum ApiError {
///     #[http(404, "order {0} not found")]
///     NotFound(u64),
///     #[http(409, "{name} is taken")]
///     Taken { name: String },
///     #[http(500)]
///     Database,
/// }
///
/// assert_eq!(ApiError::NotFound(7).status_code(), 404);
/// assert_eq!(ApiError::NotFound(7).public_message(), "order 7 not found");
/// assert_eq!(ApiError::Taken { name: "bob".into() }.public_message(), "bob is taken");
/// assert_eq!(ApiError::Database.public_message(), "Internal Server Error");
/// ```
pub use serverless_sdk_macros::HttpError;

/// Renamed [`integrations::tracing::ServerlessTracingLayer`].
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[deprecated(note = "renamed `serverless_sdk::integrations::tracing::ServerlessTracingLayer`")]
pub type TracingLayer = integrations::tracing::ServerlessTracingLayer;

/// Renamed [`integrations::tracing::install`].
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[deprecated(note = "renamed `serverless_sdk::integrations::tracing::install`")]
#[must_use]
pub fn init_tracing() -> bool {
    integrations::tracing::install()
}

/// Renamed [`runtime::InvocationLayer`].
#[doc(hidden)]
#[deprecated(note = "renamed `serverless_sdk::runtime::InvocationLayer`")]
pub type ExportLayer = runtime::InvocationLayer;

#[doc(hidden)]
pub mod __private;
