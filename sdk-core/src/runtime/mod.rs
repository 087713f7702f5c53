//! Running a function: the SDK's set-up at cold start, the `lambda_runtime` loop with an
//! invocation per event ([`InvocationLayer`]), decoding each event for the handler, and
//! reporting failures before the first event ([`initialize`]).

mod decode;
mod init_error;
pub(crate) mod layer;
mod runtime_api;
mod setup;

use std::{fmt::Debug, future::Future};

use lambda_runtime::{Diagnostic, IntoFunctionResponse, LambdaEvent, Runtime, Service};

pub use decode::InInvocation;
use serde::{Deserialize, Serialize};

pub use decode::UNMARSHAL_ERROR_TYPE;
pub use init_error::{INIT_ERROR_TYPE, initialize};
use layer::with_layers;
pub use layer::{InvocationFuture, InvocationLayer, InvocationService};

use decode::Decode;
pub(crate) use setup::ensure_init;
pub use setup::{Error, init};

/// Runs a handler for any trigger under the real `lambda_runtime` loop, with the SDK set up
/// at cold start and each invocation's telemetry exported after its response is sent and
/// before the next event is requested (so Lambda can never freeze the process with
/// telemetry still inside).
///
/// Accepts what `lambda_runtime::run` accepts, usually `service_fn(handler)` around a
/// `#[serverless_handler]` function.
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
/// use serde_json::Value;
/// use serverless_sdk::serverless_handler;
///
/// #[serverless_handler]
/// async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
///     Ok(event.payload)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), serverless_sdk::Error> {
///     serverless_sdk::run(service_fn(handler)).await
/// }
/// ```
pub async fn run<A, F, R, B, S, D, E>(handler: F) -> Result<(), Error>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> Deserialize<'de>,
    R: IntoFunctionResponse<B, S>,
    B: Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    ensure_init();
    let runtime = Runtime::new(Decode::<_, A, B, S>::new(handler));
    with_layers(runtime).run().await
}

/// [`run`], after running the function's initialisation under the SDK's reporting: an
/// error or panic in `init` reaches Lambda's init-error endpoint (`Runtime.InitError`) and
/// telemetry (outcome `init_error`), and the returned error makes `main` exit non-zero.
/// `make_handler` builds the handler from what `init` produced.
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
/// use serde_json::Value;
///
/// struct Settings { table: String }
///
/// #[serverless_sdk::serverless_handler]
/// async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
///     Ok(event.payload)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), serverless_sdk::Error> {
///     serverless_sdk::run_with_init(
///         || async {
///             let table = std::env::var("TABLE_NAME")?;
///             Ok::<_, std::env::VarError>(Settings { table })
///         },
///         |settings| {
///             let _table = settings.table;
///             service_fn(handler)
///         },
///     )
///     .await
/// }
/// ```
pub async fn run_with_init<I, Fut, St, IE, M, A, F, R, B, S, D, E>(
    init: I,
    make_handler: M,
) -> Result<(), Error>
where
    I: FnOnce() -> Fut,
    Fut: Future<Output = Result<St, IE>>,
    IE: Into<Error>,
    M: FnOnce(St) -> F,
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> Deserialize<'de>,
    R: IntoFunctionResponse<B, S>,
    B: Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    let state = initialize(init()).await?;
    run(make_handler(state)).await
}

/// [`run`] for Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` above 1 it runs
/// that many invocations at once in this process (each keeps its own spans, tags and
/// errors); otherwise it behaves like [`run`].
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
///
/// #[serverless_sdk::serverless_handler]
/// async fn handler(event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, std::io::Error> {
///     Ok(event.payload)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), serverless_sdk::Error> {
///     serverless_sdk::run_concurrent(service_fn(handler)).await
/// }
/// ```
pub async fn run_concurrent<A, F, R, B, S, D, E>(handler: F) -> Result<(), Error>
where
    F: Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
    F::Future: Future<Output = Result<R, F::Error>> + Send + 'static,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> Deserialize<'de> + Send + 'static,
    R: IntoFunctionResponse<B, S> + Send + 'static,
    B: Serialize + Send + 'static,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send + 'static,
    E: Into<Error> + Send + Debug + 'static,
{
    ensure_init();
    let runtime = Runtime::new(Decode::<_, A, B, S>::new(handler));
    with_layers(runtime).run_concurrent().await
}
