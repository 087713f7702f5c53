//! lambda_http handlers called directly with real API Gateway sample events: the proxy
//! responses the wrapper builds and the telemetry it exports.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use lambda_http::{Body, IntoResponse, Request, RequestExt, RequestPayloadExt, Response};
use serde_json::{Value, json};
use serverless_sdk_http::{Config, HttpError, export::Exporter, serverless_handler, set_endpoint};
use serverless_sdk_tests::{events::fixture, otlp::FlatSpan, recorder::Recorder};

/// What the SDK of this process exports.
fn recorder() -> Recorder {
    Recorder::global(|recorder| {
        serverless_sdk_http::init(
            Config::from_env().with_exporter(Exporter::Writer(recorder.writer())),
        );
    })
}

/// The root span of each invocation exported since the last call.
fn root_spans() -> Vec<FlatSpan> {
    recorder()
        .take_exports()
        .into_iter()
        .map(|spans| spans.into_iter().next().unwrap())
        .collect()
}

fn request(mut event: Value, body: Option<&str>) -> Request {
    if let Some(body) = body {
        event["body"] = json!(body);
        event["isBase64Encoded"] = json!(false);
        event["headers"]["content-type"] = json!("application/json");
    }
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = "req-123".into();
    lambda_http::request::from_str(&event.to_string())
        .unwrap()
        .with_lambda_context(ctx)
}

#[derive(Debug, thiserror::Error, HttpError)]
enum ApiError {
    #[error("database password=hunter2 rejected the query")]
    #[http(500)]
    Database,
    #[error("order {0} not found")]
    #[http(404, "order {0} not found")]
    NotFound(u64),
}

#[derive(serde::Deserialize)]
struct Order {
    items: u32,
}

#[serverless_handler]
async fn orders(req: Request) -> Result<Response<Body>, ApiError> {
    match req.uri().path() {
        p if p.ends_with("/missing") => Err(ApiError::NotFound(7)),
        p if p.ends_with("/db") => Err(ApiError::Database),
        p if p.ends_with("/panic") => panic!("secret=abc leaked in a panic"),
        p if p.ends_with("/explicit") => {
            set_endpoint("/custom/{thing}");
            Ok(Response::new(Body::from("ok")))
        }
        _ => Ok(Response::builder()
            .status(201)
            .body(Body::from("created"))
            .unwrap()),
    }
}

#[serverless_handler]
async fn create(req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let order: Order = req.payload()?.ok_or("missing body")?;
    Ok(Response::new(Body::from(format!("{} items", order.items))))
}

async fn parts(response: impl IntoResponse) -> (u16, http::HeaderMap, String) {
    let response = response.into_response().await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = match response.into_body() {
        Body::Text(t) => t,
        Body::Binary(b) => String::from_utf8(b).unwrap(),
        _ => String::new(),
    };
    (status, headers, body)
}

/// Calls `handler` with the request of `event` and `body`; returns its response's status,
/// headers and body.
async fn call<F, R, E>(
    handler: impl FnOnce(Request) -> F,
    event: Value,
    body: Option<&str>,
) -> (u16, http::HeaderMap, String)
where
    F: std::future::Future<Output = Result<R, E>>,
    R: IntoResponse,
    E: std::fmt::Debug,
{
    parts(handler(request(event, body)).await.unwrap()).await
}

fn with_path(mut event: Value, path: &str) -> Value {
    event["path"] = json!(path);
    event
}

#[tokio::test]
async fn proxy_responses_and_endpoints() {
    // One test: both parts read the process's single exporter output.
    failures_become_proxy_responses_and_telemetry().await;
    endpoints_come_from_the_event_unless_set_explicitly().await;
}

async fn failures_become_proxy_responses_and_telemetry() {
    let _ = root_spans();
    let v1 = fixture("apigw-v1.json");

    let (status, _, body) = call(orders, with_path(v1.clone(), "/orders/1"), None).await;
    assert_eq!((status, body.as_str()), (201, "created"));

    let (status, headers, body) = call(orders, with_path(v1.clone(), "/orders/db"), None).await;
    assert_eq!(status, 500);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-request-id"], "req-123");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"message": "Internal Server Error", "requestId": "req-123"})
    );

    let (status, _, body) = call(orders, with_path(v1.clone(), "/orders/panic"), None).await;
    assert_eq!(status, 500);
    assert!(
        !body.contains("secret") && !body.contains("abc") && !body.contains("panic"),
        "{body}"
    );

    let (status, _, body) = call(orders, with_path(v1.clone(), "/orders/missing"), None).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["message"],
        "order 7 not found"
    );

    let (status, _, body) = call(create, v1.clone(), Some("{not json")).await;
    assert_eq!(status, 400);
    assert!(body.contains("Invalid JSON body"), "{body}");

    let (status, _, body) = parts(
        create(request(v1.clone(), Some(r#"{"items": 3}"#)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "3 items"));

    let roots = root_spans();
    assert_eq!(roots.len(), 6);
    let outcomes: Vec<Option<&str>> = roots
        .iter()
        .map(|s| s.attr_str("serverless.outcome"))
        .collect();
    assert_eq!(
        outcomes,
        [
            Some("success"),
            Some("error:handled"),
            Some("error:handled"),
            Some("success"),
            Some("success"),
            Some("success")
        ]
    );
    let statuses: Vec<Option<i64>> = roots
        .iter()
        .map(|s| s.attr_i64("http.response.status_code"))
        .collect();
    assert_eq!(
        statuses,
        [
            Some(201),
            Some(500),
            Some(500),
            Some(404),
            Some(400),
            Some(200)
        ]
    );
    // The 500's error went to telemetry, redacted; the 404 was not captured as an exception.
    let db_event = &roots[1].events[0];
    assert_eq!(db_event.name, "exception");
    assert_eq!(
        db_event.attr_str("exception.message"),
        Some("database password=[REDACTED] rejected the query")
    );
    assert_eq!(roots[1].status_code, 2);
    assert!(roots[3].events.iter().all(|e| e.name != "exception"));
    // The v1 sample's resource `/{proxy+}` is a catch-all: no route from the event.
    assert_eq!(roots[0].attr_str("http.request.method"), Some("POST"));
}

async fn endpoints_come_from_the_event_unless_set_explicitly() {
    recorder();
    let mut v1 = fixture("apigw-v1.json");
    v1["resource"] = json!("/orders/{id}");
    v1["requestContext"]["resourcePath"] = json!("/orders/{id}");
    let mut v2 = fixture("apigw-v2.json");
    v2["routeKey"] = json!("GET /v2/orders/{id}");
    v2["requestContext"]["routeKey"] = json!("GET /v2/orders/{id}");
    let _ = orders(request(with_path(v1.clone(), "/orders/1"), None)).await;
    let _ = orders(request(v2, None)).await;
    let _ = orders(request(with_path(v1, "/orders/explicit"), None)).await;
    let roots: Vec<FlatSpan> = root_spans()
        .into_iter()
        .filter(|s| s.attr_str("faas.invocation_id") == Some("req-123"))
        .collect();
    let routes: Vec<Option<&str>> = roots.iter().map(|s| s.attr_str("http.route")).collect();
    assert!(routes.contains(&Some("/orders/{id}")), "{routes:?}");
    assert!(routes.contains(&Some("/v2/orders/{id}")), "{routes:?}");
    assert!(routes.contains(&Some("/custom/{thing}")), "{routes:?}");
    let names: Vec<&str> = roots.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"POST /orders/{id}"), "{names:?}");
    assert!(names.contains(&"GET /v2/orders/{id}"), "{names:?}");
}
