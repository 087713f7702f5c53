//! The few calls the SDK makes to the Lambda Runtime API itself: reporting an init error,
//! and answering an event that never reaches the handler because it is not JSON.

use std::sync::OnceLock;

use lambda_runtime::Diagnostic;
use lambda_runtime_api_client::{PooledClient, body::Body, build_request};

/// The header that tells Lambda which kind of failure an error response reports.
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// The header echoing the invocation id Lambda sent with the event.
pub(crate) const INVOCATION_ID_HEADER: &str = "lambda-runtime-invocation-id";

/// A client for `AWS_LAMBDA_RUNTIME_API`, built on first use.
fn client() -> Result<&'static PooledClient, String> {
    static CLIENT: OnceLock<Result<PooledClient, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
                .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set".to_owned())?;
            let uri: http::Uri = api
                .parse()
                .map_err(|e| format!("AWS_LAMBDA_RUNTIME_API={api:?} is not an address: {e}"))?;
            Ok(PooledClient::builder().with_endpoint(uri).build())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Posts `diagnostic` to `path` (`/2018-06-01/runtime/init/error` or an invocation's
/// `/error`), with the error-type header Lambda expects.
///
/// # Errors
///
/// Why Lambda could not be told.
pub(crate) async fn post_error(
    path: &str,
    error_type: &str,
    diagnostic: &Diagnostic,
    invocation_id: Option<&str>,
) -> Result<(), String> {
    let client = client()?;
    let body = serde_json::to_vec(diagnostic).map_err(|e| e.to_string())?;
    let mut request = build_request()
        .method(http::Method::POST)
        .uri(path)
        .header(ERROR_TYPE_HEADER, error_type)
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(id) = invocation_id {
        request = request.header(INVOCATION_ID_HEADER, id);
    }
    let request = request.body(Body::from(body)).map_err(|e| e.to_string())?;
    let response = client.call(request).await.map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the Runtime API answered {}", response.status()))
    }
}
