// A lambda_http handler with state from `main`, served by `serverless_sdk_http::run` as by
// `lambda_http::run`, and an `Arc` moved into each call.
use std::sync::Arc;

use lambda_http::{Body, Error, Request, Response, service_fn};
use serverless_sdk_http::serverless_handler;

struct AppState {
    greeting: String,
}

#[serverless_handler]
async fn hello(req: Request, state: &AppState) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from(format!("{} {}", state.greeting, req.uri().path()))))
}

#[serverless_handler]
async fn shared(state: Arc<AppState>, req: Request) -> Result<String, Error> {
    Ok(format!("{} {}", state.greeting, req.uri().path()))
}

async fn serve() -> Result<(), Error> {
    let state = AppState { greeting: "hello".into() };
    serverless_sdk_http::run(service_fn(|req| hello(req, &state))).await?;
    let state = Arc::new(AppState { greeting: "hi".into() });
    serverless_sdk_http::run(service_fn(move |req| shared(Arc::clone(&state), req))).await
}

fn main() {
    let _ = serve;
}
