//! Failures before the first invocation: configuration that cannot be read, clients that
//! cannot be built. The Rust form of the Python SDK's "failed to import module".

use std::future::Future;

use lambda_runtime::Diagnostic;

use super::{
    runtime_api,
    setup::{Error, ensure_init},
};
use crate::{
    export::When,
    handler::close_and_export,
    installed, internal_error,
    invocation::{Invocation, Opening, Outcome, current::CatchUnwindIn},
    record::{capture::record_exception, redact, report::ErrorReport},
};

/// The `errorType` of a failure before the first invocation, as AWS names it.
pub const INIT_ERROR_TYPE: &str = "Runtime.InitError";

/// Runs the function's initialisation (reading configuration, building clients) with its
/// failures reported: an `Err` or a panic is exported to telemetry with outcome
/// `init_error`, posted to the Runtime API's `/runtime/init/error` endpoint with
/// `errorType` `Runtime.InitError` and the error's message, and returned, so `main` exits
/// non-zero.
///
/// [`run_with_init`](crate::run_with_init) uses it; call it yourself to keep what `init`
/// built in `main` and lend it to the handler:
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
/// use serde_json::Value;
///
/// struct Settings { table: String }
///
/// #[serverless_sdk::serverless_handler]
/// async fn handler(event: LambdaEvent<Value>, settings: &Settings) -> Result<Value, std::io::Error> {
///     Ok(serde_json::json!({ "table": settings.table, "got": event.payload }))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), serverless_sdk::Error> {
///     let settings = serverless_sdk::runtime::initialize(async {
///         Ok::<_, std::env::VarError>(Settings { table: std::env::var("TABLE_NAME")? })
///     })
///     .await?;
///     serverless_sdk::run(service_fn(|event| handler(event, &settings))).await
/// }
/// ```
///
/// # Errors
///
/// The initialisation's own error, or a message saying it panicked.
pub async fn initialize<St, E, Fut>(init: Fut) -> Result<St, Error>
where
    Fut: Future<Output = Result<St, E>>,
    E: Into<Error>,
{
    ensure_init();
    let report = match CatchUnwindIn::new(init, None).await {
        Ok(Ok(state)) => return Ok(state),
        Ok(Err(error)) => {
            let error: Error = error.into();
            report_init_failure(&ErrorReport::from_error(&*error, None, None)).await;
            return Err(error);
        }
        Err(payload) => ErrorReport::from_panic(&*payload),
    };
    report_init_failure(&report).await;
    let message = redact::clean_text(&report.message, &installed::get().settings);
    Err(format!("initialisation panicked: {message}").into())
}

async fn report_init_failure(report: &ErrorReport) {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let name = if function.is_empty() {
        "init".to_owned()
    } else {
        format!("{function} init")
    };
    let inv = Invocation::open(
        Opening::init(&function).with_name(name),
        &installed::get().settings,
    );
    record_exception(&inv.root(), report, false, Outcome::InitError);
    close_and_export(&inv, When::BeforeResponse).await;
    let message = redact::clean_text(&report.message, &installed::get().settings);
    let diagnostic = Diagnostic {
        error_type: INIT_ERROR_TYPE.to_owned(),
        error_message: format!("{}: {message}", report.type_name),
    };
    if let Err(e) = runtime_api::post_error(
        "/2018-06-01/runtime/init/error",
        INIT_ERROR_TYPE,
        &diagnostic,
        None,
    )
    .await
    {
        internal_error::report(
            "init",
            &format!(
                "initialisation failed ({}: {message}); Lambda could not be told: {e}",
                report.type_name
            ),
        );
    }
}
