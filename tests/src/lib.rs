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
//! * [`trace_view`]: grouping spans into traces and rendering a trace as a terminal waterfall.
//! * [`events`]: real AWS sample events (API Gateway v1/v2, ALB, function URL, SQS, EventBridge)
//!   with builders that override the parts a test cares about.
//! * [`client`]: a minimal HTTP/1 client for poking at the servers above.
//!
//! ```no_run
//! use serverless_sdk_tests::{otlp::OtlpReceiver, runtime_api::RuntimeApi};
//! use std::{path::Path, time::Duration};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let api = RuntimeApi::start().await?;
//! let otlp = OtlpReceiver::start().await?;
//! let mut command = api.function_command(Path::new("target/debug/my-function"), "my-function");
//! command.env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint());
//! let function = serverless_sdk_tests::runtime_api::FunctionProcess::spawn(command)?;
//!
//! let outcome = api.invoke(r#"{"hello":"world"}"#).await;
//! assert!(outcome.json().is_some(), "{outcome:?}");
//! let spans = otlp.wait_for_spans(1, Duration::from_secs(5)).await;
//! println!("{}", serverless_sdk_tests::trace_view::render_tree(&spans, false));
//! function.kill().await?;
//! # Ok(())
//! # }
//! ```
//!
//! [AWS Lambda Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

pub mod client;
pub mod events;
pub mod moto;
pub mod otlp;
pub mod runtime_api;
pub mod server;
pub mod trace_view;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex guarding plain data. A panic while it was held (only possible in a test's own
/// code, e.g. a failing predicate) leaves the data consistent, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
