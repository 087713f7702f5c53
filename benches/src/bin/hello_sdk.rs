//! Cold-start subject: `hello_plain` with `#[serverless_handler]` and
//! `serverless_sdk_http::run` (default configuration: one OTLP/JSON line per invocation on
//! stdout).

use lambda_http::{Body, Error, Request, Response, service_fn};
use serverless_sdk_http::serverless_handler;

#[serverless_handler]
async fn hello(_req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from("hello")))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    serverless_sdk_http::run(service_fn(hello)).await
}
