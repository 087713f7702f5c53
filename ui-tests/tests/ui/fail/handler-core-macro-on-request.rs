// A lambda_http handler through `serverless_sdk`'s macro: the HTTP trigger is
// `serverless_sdk_http`'s.
use lambda_http::{Body, Error, Request, Response};
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn hello(req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from(req.uri().path().to_owned())))
}

fn main() {}
