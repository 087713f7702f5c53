// A `lambda_http` handler, through `serverless_sdk_http`'s macro (the facade that owns the
// HTTP trigger), with `lambda_http::service_fn` and `serverless_sdk_http::run`.
use lambda_http::{Body, Error, Request, Response, service_fn};
use serverless_sdk_http::serverless_handler;

#[serverless_handler]
async fn hello(req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from(format!(
        "hello {}",
        req.uri().path()
    ))))
}

// Type-checked, never called.
async fn serve() -> Result<(), Error> {
    serverless_sdk_http::run(service_fn(hello)).await
}

fn main() {
    let _service = service_fn(hello);
    let _ = serve;
}
