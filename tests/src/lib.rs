//! Test kit for `serverless_sdk`.
//!
//! Everything needed to run a Rust Lambda function locally, exactly as AWS would, and look at the
//! OpenTelemetry data it exports:
//!
//! * [`runtime_api`]: a local [AWS Lambda Runtime API] server. The real `lambda_runtime` client
//!   polls it for events and posts responses and errors to it, so a function binary (or a test
//!   re-executing itself, see
//!   [`RuntimeApi::function_test_command`](runtime_api::RuntimeApi::function_test_command)) runs unmodified.
//! * [`otlp`]: an OTLP/HTTP trace receiver with fault injection, and [`otlp::FlatSpan`], a flat,
//!   assertion-friendly view of exported spans. [`otlp::parse_json_lines`] reads OTLP/JSON from
//!   a function's stdout.
//! * [`function`]: the harness of the end-to-end tests: [`function::Function`] starts a function
//!   process (an example binary, or the test binary re-executed as the function) with its own
//!   Runtime API, and waits, for at most [`function::WAIT`] and always asserting, for its
//!   telemetry on stdout or at an [`otlp::OtlpReceiver`].
//! * [`trace_view`]: [`trace_view::Trace`], one invocation's spans with the assertions the tests
//!   make on them; grouping spans into traces and rendering a trace as a terminal waterfall.
//! * [`recorder`]: an in-memory exporter destination for tests calling handlers in their own
//!   process, read back as [`otlp::FlatSpan`]s.
//! * [`events`]: real AWS sample events (API Gateway v1/v2, ALB, function URL, SQS, EventBridge)
//!   with builders that override the parts a test cares about, and the examples' event files,
//!   all in `tests/fixtures/`.
//! * [`proxy`]: the HTTP event sources and the proxy responses `lambda_http` answers them with.
//! * [`moto`]: the AWS emulator moto in server mode, installed on first use if need be.
//! * [`client`] and [`server`]: a minimal HTTP/1 client and server.
//! * [`prelude`]: the names the suites use most, for a glob import.
//!
//! ```no_run
//! use serverless_sdk_tests::{function::Function, otlp::OtlpReceiver};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let otlp = OtlpReceiver::start().await?;
//! let endpoint = otlp.endpoint();
//! let function = Function::binary(
//!     "target/debug/my-function",
//!     "my-function",
//!     &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
//! )
//! .await;
//!
//! let outcome = function.invoke(&serde_json::json!({ "hello": "world" })).await;
//! function.response(&outcome);
//! let spans = function.wait_for_received_traces(&otlp, &[&outcome]).await;
//! println!("{}", serverless_sdk_tests::trace_view::render_tree(&spans, false));
//! function.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! [AWS Lambda Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

pub mod client;
pub mod events;
pub mod function;
pub mod moto;
pub mod otlp;
pub mod prelude;
pub mod proxy;
pub mod recorder;
pub mod runtime_api;
pub mod server;
pub mod tls;
pub mod trace_view;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex guarding plain data. A panic while it was held (only possible in a test's own
/// code, e.g. a failing predicate) leaves the data consistent, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
