// Streamed responses: a lambda_http handler served by `run_with_streaming_response` (the
// same handler also compiles for `run`), and a lambda_runtime `StreamResponse`.
use lambda_http::{Body, Error, Request, Response, service_fn};
use serverless_sdk_http::serverless_handler;

#[serverless_handler]
async fn stream(req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from(req.uri().path().to_owned())))
}

#[serverless_sdk::serverless_handler]
async fn numbers(
    _event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<lambda_runtime::StreamResponse<lambda_runtime::streaming::Body>, Error> {
    let (_tx, body) = lambda_runtime::streaming::channel();
    Ok(lambda_runtime::StreamResponse::from(body))
}

async fn serve() -> Result<(), Error> {
    serverless_sdk_http::run_with_streaming_response(service_fn(stream)).await?;
    serverless_sdk_http::run(service_fn(stream)).await?;
    lambda_http::run_with_streaming_response(service_fn(stream)).await?;
    serverless_sdk::run(lambda_runtime::service_fn(numbers)).await
}

fn main() {
    let _ = serve;
}
