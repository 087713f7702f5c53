//! Shared pieces of the `serverless_sdk` benchmarks (see `BENCHMARKS.md` at the repository
//! root): the Lambda context every benchmark invokes with, a runtime like the one
//! `#[tokio::main]` builds, the SDK set up with the default (OTLP/JSON) exporter writing to a
//! sink, and an error with a deep `source()` chain.
//!
//! The benchmarks themselves live in `benches/*.rs`; the cold-start pair in `src/bin/`.
//!
//! Everything here needs the `sdk` feature (on by default); without it the package builds
//! only `hello_plain`, with the dependencies of a plain `lambda_http` function.

#[cfg(feature = "sdk")]
mod kit;

#[cfg(feature = "sdk")]
pub use kit::*;
