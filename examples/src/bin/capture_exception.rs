//! `capture_exception`: the seed's `hello`. The handler catches an error, records it, and
//! still answers with its own JSON `500` instead of failing: API Gateway gets a proper
//! response, and the invocation still shows as failed in telemetry.
//!
//! Both forms of the seed are here: the free function `capture_exception(&exc)` (Python's
//! `from serverless_sdk import capture_exception`), and the Lambda context's
//! `ctx.serverless_sdk().capture_exception(&exc)` (Python's
//! `context.serverless_sdk.capture_exception(exc)`), used when the request has `?via=context`.
//! For a `lambda_http` handler the context is `req.lambda_context_ref()`.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root
//! cargo lambda invoke capture_exception --data-file tests/fixtures/capture-exception.json
//! cargo lambda invoke capture_exception --data-file tests/fixtures/capture-exception-via-context.json
//! curl -i http://localhost:9000/lambda-url/capture_exception/hello   # through the function URL emulator
//! ```
//!
//! The response, either way (API Gateway HTTP API):
//!
//! ```json
//! {"statusCode": 500, "headers": {"content-type": "application/json"}, "body": "{\"name\": \"bob\"}", …}
//! ```
//!
//! # Telemetry
//!
//! One OTLP/JSON line per invocation on stdout (CloudWatch Logs on Lambda), holding one span:
//!
//! * the root span `GET /hello` (the HTTP API route `GET /hello` is the endpoint, so also
//!   `http.route = /hello`; through the function URL emulator, which has no routes, it keeps
//!   the function's name), `http.response.status_code = 500`, status ERROR;
//! * `serverless.outcome = error:handled`: the error was captured, the handler did not fail;
//! * one `exception` event with `exception.type = RealStuffError`,
//!   `exception.message = aa`, `exception.handled = true`, and where it was captured
//!   (`code.file.path`, `code.line.number`).
//!
//! Build it for Lambda with `cargo lambda build --release --bin capture_exception`.

use lambda_http::{Body, Error, Request, RequestExt, Response, http::header::CONTENT_TYPE};
use serverless_sdk_http::{ContextExt, capture_exception, serverless_handler};

/// What "some real stuff" fails with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RealStuffError(&'static str);

/// Does some real stuff, but it throws an error, oh no!
fn do_some_real_stuff() -> Result<(), RealStuffError> {
    Err(RealStuffError("aa"))
}

/// Whether the request asked for the context form (`?via=context`).
fn via_context(req: &Request) -> bool {
    req.query_string_parameters_ref()
        .and_then(|query| query.first("via"))
        == Some("context")
}

/// The seed's `hello`.
#[serverless_handler]
async fn hello(req: Request) -> Result<Response<Body>, Error> {
    if let Err(exc) = do_some_real_stuff() {
        match req.lambda_context_ref() {
            // `context.serverless_sdk.capture_exception(exc)`
            Some(context) if via_context(&req) => {
                context.serverless_sdk().capture_exception(&exc);
            }
            // `from serverless_sdk import capture_exception`
            _ => capture_exception(&exc),
        }
    }
    Ok(Response::builder()
        .status(500)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"name": "bob"}"#))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    serverless_sdk_http::run(lambda_http::service_fn(hello)).await
}
