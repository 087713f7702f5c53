// A crate that depends on `serverless_sdk_http` alone: the macros come from it and the
// generated code reaches the runtime through it.
use lambda_http::{Body, Error, Request, Response, service_fn};
use serverless_sdk_http::{route, serverless_handler, span};

#[span("render")]
fn render(name: &str) -> String {
    format!("hello {name}")
}

#[serverless_handler(name = "greeter")]
#[route(GET, "/hello/{name}")]
async fn hello(req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from(render(req.uri().path()))))
}

// Type-checked, never called.
async fn serve() -> Result<(), Error> {
    serverless_sdk_http::run(service_fn(hello)).await
}

fn main() {
    let _ = serve;
}
