//! Cold-start baseline: a plain `lambda_http` hello function, no SDK.
//!
//! Its twin `hello_sdk` differs only by `#[serverless_handler]` and `serverless_sdk_http::run`.
//! `benches/cold_start.rs` starts both against a local Runtime API.

use lambda_http::{Body, Error, Request, Response, service_fn};

async fn hello(_req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from("hello")))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(hello)).await
}
