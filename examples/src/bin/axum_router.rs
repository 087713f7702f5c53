//! An axum `Router` on Lambda: the Rust form of the seed's "automatic route instrumentation"
//! for Flask. Three routes and no per-route SDK code: `EndpointLayer` records the route
//! template axum matched (`/users/{id}`) as the endpoint, and `serverless_sdk_http::run`
//! serves the router with each request in its own invocation (root span, caught panics,
//! proxy `500`s instead of `502`s).
//!
//! Needs `serverless_sdk_http` with the `axum` feature and axum's `matched-path` feature.
//! Behind an API Gateway REST API, whose request paths start with the stage
//! (`/prod/users/42`), set `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true` so that axum sees
//! `/users/42`; HTTP APIs with the `$default` stage and function URLs need nothing.
//!
//! | route | answers |
//! |---|---|
//! | `GET /users/{id}` | `{"id":42,"name":"user 42"}` |
//! | `POST /orders` | `201 {"orderId":"o-42-3","items":3}`, tags `customer-id`, span `db.insert_order` |
//! | `GET /health` | `ok` |
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root
//! cargo lambda invoke axum_router --data-file tests/fixtures/axum-get-user.json
//! cargo lambda invoke axum_router --data-file tests/fixtures/axum-create-order.json
//! curl http://localhost:9000/lambda-url/axum_router/health
//! ```
//!
//! # Telemetry
//!
//! The events come through an HTTP API `$default` route, which says nothing about the route;
//! the root span is still named `GET /users/{id}` with `http.route = /users/{id}`, because
//! axum matched that route. `POST /orders` adds `serverless.tag.customer-id` and a child span
//! `db.insert_order`. A path no route matches answers axum's `404` and records no endpoint
//! (the root span keeps the function's name).
//!
//! Build it for Lambda with `cargo lambda build --release --bin axum_router`.

use std::time::Duration;

use axum::{
    Json, Router,
    extract::Path,
    http::StatusCode,
    routing::{get, post},
};
use serde_json::{Value, json};
use serverless_sdk_http::{axum::EndpointLayer, span, tag_event};

/// The body of `POST /orders`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewOrder {
    customer_id: String,
    items: u32,
}

async fn get_user(Path(id): Path<u64>) -> Json<Value> {
    Json(json!({ "id": id, "name": format!("user {id}") }))
}

async fn create_order(Json(order): Json<NewOrder>) -> (StatusCode, Json<Value>) {
    tag_event("customer-id", &order.customer_id, None);
    let order_id = insert_order(&order).await;
    (
        StatusCode::CREATED,
        Json(json!({ "orderId": order_id, "items": order.items })),
    )
}

#[span("db.insert_order")]
async fn insert_order(order: &NewOrder) -> String {
    tokio::time::sleep(Duration::from_millis(1)).await;
    format!("o-{}-{}", order.customer_id, order.items)
}

async fn health() -> &'static str {
    "ok"
}

/// The application: plain axum, plus `EndpointLayer` (added last, so it runs after routing).
fn app() -> Router {
    Router::new()
        .route("/users/{id}", get(get_user))
        .route("/orders", post(create_order))
        .route("/health", get(health))
        .layer(EndpointLayer::new())
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serverless_sdk_http::run(app()).await
}
