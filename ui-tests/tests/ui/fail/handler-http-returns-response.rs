// A lambda_http handler that forgot the `Result`.
use lambda_http::{Body, Request, Response};
use serverless_sdk_http::serverless_handler;

#[serverless_handler]
async fn handler(req: Request) -> Response<Body> {
    Response::new(Body::from(req.uri().path().to_owned()))
}

fn main() {}
