//! Integrations with the libraries Rust Lambda code already uses: `tracing` (spans and
//! events join the invocation, logs carry its ids) and the clients it calls other services
//! with (CLIENT spans for HTTP requests and AWS SDK operations).

pub mod client;
#[cfg(feature = "tracing")]
pub mod tracing;
