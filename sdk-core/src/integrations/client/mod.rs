//! CLIENT spans for the calls a function makes: outgoing HTTP requests and AWS SDK
//! operations, each a child of the span that is current when the call starts.
//!
//! | integration | for | cargo feature | dependencies it adds |
//! |---|---|---|---|
//! | [`HttpClientLayer`] | any tower `Service<http::Request<B>>`: `hyper_util`'s client, tower stacks | none | none (tower comes with `lambda_runtime`) |
//! | `HttpClientMiddleware` | `reqwest` through `reqwest-middleware` | `reqwest` | `reqwest` (no default features), `reqwest-middleware`, `async-trait` |
//! | `AwsSdkInterceptor` | AWS SDK for Rust clients (`aws-sdk-*`) | `aws-sdk` | `aws-smithy-runtime-api`, `aws-smithy-types`, `aws-types`: crates every AWS SDK client already uses |
//!
//! An HTTP request becomes a span named `"{METHOD} {host}"` with `http.request.method`,
//! `server.address`, `server.port`, `url.full` (without userinfo, query string or fragment)
//! and `http.response.status_code`. A status of 400 or more, or a transport failure, sets
//! `error.type` (`"404"`, `"timeout"`, `"ConnectionRefused"`, …) and status ERROR. The
//! request carries a W3C `traceparent` header naming the span, and an X-Ray
//! `X-Amzn-Trace-Id` header too when [`ClientOptions::propagate_xray`] is on.
//!
//! An AWS SDK operation becomes a span named `"{Service}.{Operation}"` (`S3.PutObject`,
//! `DynamoDB.GetItem`), with `rpc.system = "aws-api"`, `rpc.service`, `rpc.method`,
//! `cloud.region`, `aws.request_id`, and on failure `error.type` set to the service's error
//! code (`NoSuchKey`, `ResourceNotFoundException`). Retries stay inside the one span.
//!
//! Headers, bodies, query strings and credentials are never recorded.
//!
//! ## Configuration
//!
//! | variable | effect | default |
//! |---|---|---|
//! | `SERVERLESS_SDK_IGNORE_HOSTS` | comma-separated hosts that get no span and no trace headers | |
//! | `SERVERLESS_SDK_CAPTURE_HOSTS` | when set, only these hosts are traced | every host |
//! | `SERVERLESS_SDK_PROPAGATE_XRAY` | `true`: also send `X-Amzn-Trace-Id` | `false` |
//!
//! A host entry is a host name or IP address (`api.example.com`, `10.0.0.7`), optionally
//! with a port (`localhost:8080`) or a leading `*.` (`*.example.com`: the domain and every
//! subdomain). The same lists can be set in code with [`ClientOptions`].
//!
//! ```
//! use lambda_runtime::tower::Layer;
//! use serverless_sdk::integrations::client::{ClientOptions, HttpClientLayer};
//!
//! # #[derive(Clone)] struct MyClient;
//! let options = ClientOptions::from_env()
//!     .ignore_hosts(["169.254.169.254"])
//!     .propagate_xray(true);
//! let traced = HttpClientLayer::with_options(options).layer(MyClient);
//! # let _ = traced;
//! ```

mod http_span;
mod layer;
mod options;

#[cfg(feature = "aws-sdk")]
mod aws;
#[cfg(feature = "reqwest")]
mod middleware;

#[cfg(feature = "aws-sdk")]
pub use aws::AwsSdkInterceptor;
pub use layer::{HttpClientLayer, HttpClientService, ResponseFuture};
#[cfg(feature = "reqwest")]
pub use middleware::HttpClientMiddleware;

/// Renamed [`HttpClientMiddleware`].
#[cfg(feature = "reqwest")]
#[doc(hidden)]
#[deprecated(note = "renamed `HttpClientMiddleware`")]
pub type TracingMiddleware = HttpClientMiddleware;

pub use options::ClientOptions;
