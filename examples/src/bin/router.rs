//! `#[route]` and `set_endpoint`: the seed's custom-router case. One function serves a whole
//! API behind a catch-all API Gateway route (`/{proxy+}` or `$default`), and a hand-written
//! router dispatches on method and path. Without help, telemetry would only see the
//! catch-all or the raw path (`/users/42`); `#[route(GET, "/users/{id}")]` on each route
//! function records the routed endpoint instead, so invocations group by route.
//!
//! `#[route]` checks the template at compile time. One legacy route calls
//! `set_endpoint("/api/foo")` itself, as the seed does: that is the way when the endpoint is
//! only known at run time.
//!
//! | request | route function | endpoint |
//! |---|---|---|
//! | `GET /users/{id}` | `get_user` | `GET /users/{id}` |
//! | `POST /users` | `create_user` | `POST /users` |
//! | `GET /users/{id}/orders` | `list_orders` | `GET /users/{id}/orders` |
//! | `GET /api/foo/…` | `legacy_foo` | `/api/foo` via `set_endpoint` (method from the request) |
//! | anything else | none: 404 | none (the root span keeps the function's name) |
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root
//! cargo lambda invoke router --data-file tests/fixtures/router-get-user.json
//! cargo lambda invoke router --data-file tests/fixtures/router-api-foo.json
//! curl http://localhost:9000/lambda-url/router/users/42/orders
//! ```
//!
//! `GET /users/42` answers `{"id":"42","name":"user 42"}`; `GET /users/7` answers
//! `404 {"message":"user 7 not found","requestId":"…"}` through [`HttpError`].
//!
//! # Telemetry
//!
//! The root span is named `"{method} {route}"` (`GET /users/{id}`) and carries
//! `http.route` and `serverless.endpoint` with the template, `url.path` with the real path,
//! `http.request.method` and `http.response.status_code`. A 404 from `UserNotFound` is a
//! client error: a `serverless.client_error` event, outcome still `success`.
//!
//! Build it for Lambda with `cargo lambda build --release --bin router`.

use std::borrow::Cow;

use lambda_http::{
    Body, Request, RequestExt, RequestPayloadExt, Response, ext::PayloadError,
    http::header::CONTENT_TYPE,
};
use serde_json::{Value, json};
use serverless_sdk_http::{HttpError, PayloadErrorExt, route, serverless_handler, set_endpoint};

#[derive(Debug, thiserror::Error)]
enum RouterError {
    #[error("user {0} not found")]
    UserNotFound(String),
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("invalid body: {0}")]
    Body(#[from] PayloadError),
    #[error("could not build the response: {0}")]
    Response(#[from] lambda_http::http::Error),
}

impl HttpError for RouterError {
    fn status_code(&self) -> u16 {
        match self {
            Self::UserNotFound(_) | Self::NoRoute(_) => 404,
            Self::Body(error) => error.status_code(),
            Self::Response(_) => 500,
        }
    }

    fn public_message(&self) -> Cow<'static, str> {
        match self {
            Self::UserNotFound(id) => format!("user {id} not found").into(),
            Self::Body(error) => error.public_message(),
            Self::NoRoute(_) | Self::Response(_) => {
                serverless_sdk_http::errors::reason_phrase(self.status_code()).into()
            }
        }
    }
}

type RouteResult = Result<Response<Body>, RouterError>;

/// The router: method and path segments to a route function.
#[serverless_handler]
async fn router(req: Request) -> RouteResult {
    let path = req.raw_http_path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method().as_str(), segments.as_slice()) {
        ("GET", ["users", id]) => get_user(id),
        ("POST", ["users"]) => create_user(&req),
        ("GET", ["users", id, "orders"]) => list_orders(id).await,
        ("GET", ["api", "foo", ..]) => legacy_foo(&path),
        (method, _) => Err(RouterError::NoRoute(format!("{method} {path}"))),
    }
}

#[route(GET, "/users/{id}")]
fn get_user(id: &str) -> RouteResult {
    if id == "7" {
        return Err(RouterError::UserNotFound(id.to_owned()));
    }
    json_response(200, &json!({ "id": id, "name": format!("user {id}") }))
}

#[route(POST, "/users")]
fn create_user(req: &Request) -> RouteResult {
    let user: Value = req.payload()?.unwrap_or_else(|| json!({}));
    json_response(201, &json!({ "created": user }))
}

#[route(GET, "/users/{id}/orders")]
async fn list_orders(id: &str) -> RouteResult {
    json_response(200, &json!({ "user": id, "orders": ["o-1", "o-2"] }))
}

/// A route whose endpoint is set at run time, as with the seed's `set_endpoint('/api/foo')`.
fn legacy_foo(path: &str) -> RouteResult {
    set_endpoint("/api/foo");
    json_response(200, &json!({ "legacy": path }))
}

fn json_response(status: u16, body: &Value) -> RouteResult {
    Ok(Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serverless_sdk_http::run(lambda_http::service_fn(router)).await
}
