//! `lambda_http` functions served by `serverless_sdk_http::run` through the real runtime
//! loop, with every HTTP event kind (API Gateway REST and HTTP APIs, ALB, Function URLs):
//! the exact proxy responses for success, errors, panics and client errors, bodies and
//! headers passing through untouched, and the endpoint each source gives the telemetry.
//!
//! Each test re-executes this binary as the function process (`function_child`); the mode
//! picks what it serves: `api` (one `#[serverless_handler]`), `payload` (a handler reading
//! a JSON body), `axum` (an axum `Router` with `EndpointLayer`) or `plain` (the echo
//! handler under `lambda_http::run`, without the SDK, to compare against).
#![allow(clippy::unwrap_used)]

use axum::{Router, extract::Path, routing::get, routing::post};
use lambda_http::{Body, Request, RequestPayloadExt, Response, service_fn};
use serde_json::{Value, json};
use serverless_sdk_http::{HttpError, route, serverless_handler, set_endpoint};
use serverless_sdk_tests::{
    events,
    function::{Function, run_function_child},
    proxy::{self, Source},
    trace_view::Trace,
};

const FUNCTION: &str = "e2e-http";

/* ----------------------------------- the function ----------------------------------- */

/// `500` unless a variant says otherwise.
#[derive(Debug, thiserror::Error, HttpError)]
#[http(500)]
enum ApiError {
    #[error("database password=hunter2 rejected the query")]
    Database,
    #[error("order {0} not found")]
    #[http(404, "order {0} not found")]
    NotFound(u64),
}

/// One handler; the last path segment picks the behaviour.
#[serverless_handler]
async fn api(req: Request) -> Result<Response<Body>, ApiError> {
    let action = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    match action.as_str() {
        "ok" => Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("x-custom", "1")
            .body(Body::from(r#"{"ok":true}"#))
            .unwrap()),
        "fail" => Err(ApiError::Database),
        "unavailable" => Ok(Response::builder()
            .status(503)
            .header("content-type", "text/plain")
            .body(Body::from("try again later"))
            .unwrap()),
        "panic" => panic!("boom: secret=hunter2 leaked by the handler"),
        "missing" => Err(ApiError::NotFound(7)),
        "explicit" => {
            set_endpoint("/custom/{thing}");
            Ok(Response::new(Body::from("explicit")))
        }
        "routed" => Ok(Response::new(Body::from(routed()))),
        "echo" => Ok(echo_response(&req)),
        other => Ok(Response::builder()
            .status(200)
            .body(Body::from(format!("unknown {other}")))
            .unwrap()),
    }
}

/// A function of a hand-written router.
#[route(GET, "/routed/{id}")]
fn routed() -> &'static str {
    "routed"
}

/// Echoes the request's body (bytes), multi-value header and cookies, and sets cookies.
fn echo_response(req: &Request) -> Response<Body> {
    let mut response = Response::builder()
        .status(200)
        .header("content-type", "application/octet-stream");
    for value in req.headers().get_all("x-multi") {
        response = response.header("x-multi", value);
    }
    if let Some(cookie) = req.headers().get("cookie") {
        response = response.header("x-seen-cookie", cookie);
    }
    response
        .header("set-cookie", "a=1; Path=/")
        .header("set-cookie", "b=2; HttpOnly")
        .body(Body::Binary(req.body().to_vec()))
        .unwrap()
}

/// The echo handler without the SDK.
async fn plain_echo(req: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(echo_response(&req))
}

#[derive(Debug, serde::Deserialize)]
struct Order {
    items: u32,
}

/// Reads a JSON body with `req.payload()`.
#[serverless_handler]
async fn create_order(req: Request) -> Result<Response<Body>, lambda_http::Error> {
    if req.uri().path().ends_with("/db") {
        // A typed error behind `lambda_http::Error`, as `?` produces it.
        return Err(ApiError::Database.into());
    }
    let order: Order = req.payload()?.ok_or("missing body")?;
    Ok(Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .body(Body::from(json!({ "items": order.items }).to_string()))?)
}

/// An axum app: three routes with no SDK code, one that sets its endpoint itself and one
/// that panics.
fn app() -> Router {
    Router::new()
        .route(
            "/users/{user_id}",
            get(|Path(id): Path<String>| async move { format!("user {id}") }),
        )
        .route(
            "/orders/{order_id}/items",
            post(|Path(id): Path<u64>| async move { format!("items of {id}") }),
        )
        .route("/health", get(|| async { "ok" }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("axum handler exploded: token=abc123");
                }
                "unreachable"
            }),
        )
        .route(
            "/override/{x}",
            get(|| async {
                set_endpoint("/explicit/override");
                "overridden"
            }),
        )
        .layer(serverless_sdk_http::axum::EndpointLayer::new())
}

/// Not a test: the entry point of the function process the tests start.
#[test]
fn function_child() {
    run_function_child(|mode| async move {
        match mode.as_str() {
            "payload" => serverless_sdk_http::run(service_fn(create_order)).await,
            "axum" => serverless_sdk_http::run(app()).await,
            "plain" => lambda_http::run(service_fn(plain_echo)).await,
            _ => serverless_sdk_http::run(service_fn(api)).await,
        }
    });
}

/* -------------------------------------- helpers ------------------------------------- */

/// The event's own route template, where the event kind has one.
fn event_route(kind: Source, template: &str) -> Option<&str> {
    matches!(kind, Source::RestApi | Source::HttpApi).then_some(template)
}

/// A request body that is not UTF-8, base64 as the event carries it.
const BINARY_BODY_BASE64: &str = "AJ+Slv9oaQo=";

/// An `echo` request with a base64 body, a two-valued header and two cookies, in the
/// shape each event kind carries them.
fn echo_event(kind: Source) -> Value {
    let mut event = kind.event("POST", "/orders/echo", "/orders/{action}", None);
    event["body"] = json!(BINARY_BODY_BASE64);
    event["isBase64Encoded"] = json!(true);
    match kind {
        Source::RestApi | Source::Alb => {
            event["multiValueHeaders"]["x-multi"] = json!(["a", "b"]);
            event["multiValueHeaders"]["cookie"] = json!(["session=abc; theme=dark"]);
        }
        Source::HttpApi | Source::FunctionUrl => {
            event["headers"]["x-multi"] = json!("a,b");
            event["cookies"] = json!(["session=abc", "theme=dark"]);
        }
    }
    event
}

/* --------------------------------------- tests -------------------------------------- */

#[tokio::test]
async fn proxy_responses_are_exact_for_every_event_kind() {
    let function = Function::test_child(FUNCTION, "api", &[]).await;

    for kind in Source::ALL {
        let event = |action: &str| {
            kind.event(
                "GET",
                &format!("/orders/{action}"),
                "/orders/{action}",
                None,
            )
        };
        let ok = function.invoke(&event("ok")).await;
        let fail = function.invoke(&event("fail")).await;
        let panicked = function.invoke(&event("panic")).await;
        let missing = function.invoke(&event("missing")).await;
        // Still serving after the panic.
        let again = function.invoke(&event("ok")).await;
        let unavailable = function.invoke(&event("unavailable")).await;

        // The handler's own 5xx passes through as it is.
        let text_headers = [("content-type", "text/plain")];
        assert_eq!(
            function.response(&unavailable),
            proxy::response(kind, 503, &text_headers, "try again later"),
            "{kind:?}"
        );
        let ok_headers = [("content-type", "application/json"), ("x-custom", "1")];
        for outcome in [&ok, &again] {
            assert_eq!(
                function.response(outcome),
                proxy::response(kind, 200, &ok_headers, r#"{"ok":true}"#),
                "{kind:?}"
            );
        }
        for (outcome, status, message) in [
            (&fail, 500, "Internal Server Error"),
            (&panicked, 500, "Internal Server Error"),
            (&missing, 404, "order 7 not found"),
        ] {
            let id = outcome.request_id.as_str();
            let body = format!(r#"{{"message":"{message}","requestId":"{id}"}}"#);
            let headers = [("content-type", "application/json"), ("x-request-id", id)];
            let response = function.response(outcome);
            assert_eq!(
                response,
                proxy::response(kind, status, &headers, &body),
                "{kind:?} {status}"
            );
            // Nothing of the error or the panic leaks into the response.
            let text = response.to_string();
            for secret in [
                "secret", "hunter2", "boom", "password", "panick", "Database",
            ] {
                assert!(!text.contains(secret), "{kind:?}: {secret} in {text}");
            }
        }

        let ids = [
            ok.request_id.as_str(),
            &fail.request_id,
            &panicked.request_id,
            &missing.request_id,
            &again.request_id,
            &unavailable.request_id,
        ];
        let spans = function.wait_for_traces(&ids).await;
        let route = event_route(kind, "/orders/{action}");
        for (outcome, status, action) in [
            (&ok, 200, "ok"),
            (&fail, 500, "fail"),
            (&panicked, 500, "panic"),
            (&missing, 404, "missing"),
        ] {
            let trace = Trace::of(&spans, &outcome.request_id);
            assert_eq!(trace.spans.len(), 1, "{}", trace.render());
            trace.assert_http_root("GET", status);
            trace.assert_endpoint(FUNCTION, "GET", route);
            // The request path as the client sent it (REST APIs include the stage).
            let stage = if kind == Source::RestApi {
                "/testStage"
            } else {
                ""
            };
            assert_eq!(
                trace.root.attr_str("url.path"),
                Some(&*format!("{stage}/orders/{action}"))
            );
        }

        for trace in [
            Trace::of(&spans, &ok.request_id),
            Trace::of(&spans, &again.request_id),
        ] {
            let root = &trace.root;
            assert!(root.events.is_empty(), "{kind:?}: {:?}", root.events);
            assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
            assert!(!root.is_error());
        }
        assert_eq!(
            Trace::of(&spans, &again.request_id)
                .root
                .attr_bool("faas.coldstart"),
            Some(false)
        );

        // An `Err` and a panic: the response was well-formed, the invocation still failed.
        for (outcome, type_name, message) in [
            (
                &fail,
                "ApiError",
                "database password=[REDACTED] rejected the query",
            ),
            (
                &panicked,
                "Panic",
                "boom: secret=[REDACTED] leaked by the handler",
            ),
        ] {
            let root = Trace::of(&spans, &outcome.request_id).root;
            assert_eq!(root.event_names(), ["exception"], "{kind:?}");
            root.assert_one_exception(type_name, message, false);
            assert!(root.is_error());
            assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
        }

        // A client error is not an exception.
        let root = Trace::of(&spans, &missing.request_id).root;
        assert_eq!(root.event_names(), ["serverless.client_error"], "{kind:?}");
        let event = root.event("serverless.client_error").unwrap();
        assert_eq!(event.attr_str("exception.type"), Some("ApiError"));
        assert_eq!(
            event.attr_str("exception.message"),
            Some("order 7 not found")
        );
        assert!(!root.is_error());

        // A 5xx the handler answered itself fails the invocation, without an exception.
        let trace = Trace::of(&spans, &unavailable.request_id);
        trace.assert_http_root("GET", 503);
        assert!(trace.root.events.is_empty(), "{:?}", trace.root.events);
        assert!(trace.root.is_error());
        assert_eq!(
            trace.root.attr_str("serverless.outcome"),
            Some("error:handled")
        );
    }
    assert_eq!(function.api.stats().answers(), (24, 0));
}

#[tokio::test]
async fn malformed_json_bodies_are_client_errors() {
    let function = Function::test_child(FUNCTION, "payload", &[]).await;
    let parse_error = serde_json::from_str::<Order>("{not json")
        .unwrap_err()
        .to_string();

    for kind in Source::ALL {
        let event = |body: Option<&str>| {
            events::with_header(
                kind.event("POST", "/orders", "/orders", body),
                "content-type",
                "application/json",
            )
        };
        let created = function.invoke(&event(Some(r#"{"items": 3}"#))).await;
        let malformed = function.invoke(&event(Some("{not json"))).await;
        let wrong_shape = function.invoke(&event(Some(r#"{"items": "three"}"#))).await;

        let json_headers = [("content-type", "application/json")];
        assert_eq!(
            function.response(&created),
            proxy::response(kind, 201, &json_headers, r#"{"items":3}"#),
            "{kind:?}"
        );
        let id = malformed.request_id.as_str();
        let body = json!({
            "message": format!("Invalid JSON body: {parse_error}"),
            "requestId": id,
        })
        .to_string();
        assert_eq!(
            function.response(&malformed),
            proxy::response(
                kind,
                400,
                &[("content-type", "application/json"), ("x-request-id", id)],
                &body
            ),
            "{kind:?}"
        );
        let response = function.response(&wrong_shape);
        assert_eq!(response["statusCode"], 400, "{kind:?}: {response}");
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid JSON body: invalid type: string \"three\""),
            "{body}"
        );

        let spans = function
            .wait_for_traces(&[&created, &malformed, &wrong_shape])
            .await;
        let trace = Trace::of(&spans, &created.request_id);
        trace.assert_http_root("POST", 201);
        assert!(trace.root.events.is_empty());
        for outcome in [&malformed, &wrong_shape] {
            let trace = Trace::of(&spans, &outcome.request_id);
            trace.assert_http_root("POST", 400);
            assert_eq!(trace.root.event_names(), ["serverless.client_error"]);
            assert!(!trace.root.is_error());
            assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
        }
    }
}

#[tokio::test]
async fn bodies_headers_and_cookies_pass_through_untouched() {
    let sdk_function = Function::test_child(FUNCTION, "api", &[]).await;
    let plain_function = Function::test_child("e2e-http-plain", "plain", &[]).await;

    for kind in Source::ALL {
        let event = echo_event(kind);
        let with_sdk = sdk_function.invoke(&event).await;
        let without = plain_function.invoke(&event).await;
        let response = sdk_function.response(&with_sdk);
        // Exactly what lambda_http alone answers.
        assert_eq!(response, plain_function.response(&without), "{kind:?}");

        assert_eq!(response["statusCode"], 200);
        assert_eq!(response["isBase64Encoded"], true, "{kind:?}: {response}");
        assert_eq!(response["body"], BINARY_BODY_BASE64, "{kind:?}: {response}");
        match kind {
            Source::RestApi | Source::Alb => {
                let headers = &response["multiValueHeaders"];
                assert_eq!(
                    headers["x-multi"],
                    json!(["a", "b"]),
                    "{kind:?}: {response}"
                );
                assert_eq!(headers["x-seen-cookie"], json!(["session=abc; theme=dark"]));
                assert_eq!(
                    headers["set-cookie"],
                    json!(["a=1; Path=/", "b=2; HttpOnly"]),
                    "{kind:?}: {response}"
                );
            }
            Source::HttpApi | Source::FunctionUrl => {
                let headers = &response["headers"];
                assert_eq!(headers["x-multi"], "a,b", "{kind:?}: {response}");
                assert_eq!(headers["x-seen-cookie"], "session=abc; theme=dark");
                assert_eq!(
                    response["cookies"],
                    json!(["a=1; Path=/", "b=2; HttpOnly"]),
                    "{kind:?}: {response}"
                );
            }
        }

        let trace = sdk_function.trace(&with_sdk).await;
        trace.assert_http_root("POST", 200);
        assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    }
}

#[tokio::test]
async fn endpoints_come_from_the_event_unless_set_explicitly() {
    let function = Function::test_child(FUNCTION, "api", &[]).await;

    // (event, method, expected route)
    let mut cases = Vec::new();
    for kind in Source::ALL {
        for (path, route) in [
            ("/orders/ok", event_route(kind, "/orders/{action}")),
            // `set_endpoint` and `#[route]` win over the event's template.
            ("/orders/explicit", Some("/custom/{thing}")),
            ("/orders/routed", Some("/routed/{id}")),
        ] {
            let event = kind.event("GET", path, "/orders/{action}", None);
            cases.push((event, "GET", route));
        }
    }
    // Catch-all templates are no endpoint.
    let event = events::apigw_v1("DELETE", "/orders/ok", "/{proxy+}", None);
    cases.push((event, "DELETE", None));
    for (method, route_key, route) in [
        ("GET", "ANY /{proxy+}", None),
        ("GET", "$default", None),
        // `ANY` is no method: the request's is used.
        ("PUT", "ANY /orders/{action}", Some("/orders/{action}")),
    ] {
        let event = events::apigw_v2(method, "/orders/ok", route_key, None);
        cases.push((event, method, route));
    }

    let mut sent = Vec::new();
    for (event, method, route) in &cases {
        let outcome = function.invoke(event).await;
        let response = function.response(&outcome);
        assert_eq!(response["statusCode"], 200, "{event}\n{response}");
        sent.push((outcome.request_id, *method, *route));
    }
    let ids: Vec<&str> = sent.iter().map(|(id, _, _)| id.as_str()).collect();
    let spans = function.wait_for_traces(&ids).await;
    for (id, method, route) in &sent {
        let trace = Trace::of(&spans, id);
        trace.assert_http_root(method, 200);
        trace.assert_endpoint(FUNCTION, method, *route);
    }
}

#[tokio::test]
async fn axum_matched_paths_are_endpoints_without_per_route_code() {
    let function = Function::test_child(
        FUNCTION,
        "axum",
        // Axum routes see the path without the REST API stage.
        &[("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")],
    )
    .await;

    // (kind, event, method, response body, expected route)
    let cases = [
        // The matched path beats the API Gateway resource.
        (
            Source::RestApi,
            events::apigw_v1("GET", "/users/42", "/users/{id}", None),
            "GET",
            "user 42",
            Some("/users/{user_id}"),
        ),
        (
            Source::HttpApi,
            events::apigw_v2("POST", "/orders/7/items", "POST /orders/{id}/items", None),
            "POST",
            "items of 7",
            Some("/orders/{order_id}/items"),
        ),
        (
            Source::Alb,
            events::alb("GET", "/health", None),
            "GET",
            "ok",
            Some("/health"),
        ),
        (
            Source::FunctionUrl,
            events::function_url("GET", "/users/9", None),
            "GET",
            "user 9",
            Some("/users/{user_id}"),
        ),
        // `set_endpoint` in a route beats the matched path.
        (
            Source::RestApi,
            events::apigw_v1("GET", "/override/1", "/override/{x}", None),
            "GET",
            "overridden",
            Some("/explicit/override"),
        ),
    ];
    let mut sent = Vec::new();
    for (kind, event, method, body, route) in &cases {
        let outcome = function.invoke(event).await;
        // What axum sets for a `&str` / `String` body.
        let length = body.len().to_string();
        let headers = [
            ("content-length", length.as_str()),
            ("content-type", "text/plain; charset=utf-8"),
        ];
        assert_eq!(
            function.response(&outcome),
            proxy::response(*kind, 200, &headers, body),
            "{kind:?} {event}"
        );
        sent.push((outcome.request_id, *method, *route));
    }
    // A panic in a plain axum handler: the SDK's proxy 500, and the process keeps serving.
    let panicked = function
        .invoke(&events::apigw_v2("GET", "/panic", "GET /panic", None))
        .await;
    let id = panicked.request_id.as_str();
    assert_eq!(
        function.response(&panicked),
        proxy::response(
            Source::HttpApi,
            500,
            &[("content-type", "application/json"), ("x-request-id", id)],
            &format!(r#"{{"message":"Internal Server Error","requestId":"{id}"}}"#)
        )
    );
    // No route matched: axum's 404, and no endpoint.
    let unmatched = function
        .invoke(&events::apigw_v2("GET", "/nowhere", "$default", None))
        .await;
    assert_eq!(
        function.response(&unmatched),
        proxy::response(Source::HttpApi, 404, &[], "")
    );

    let mut ids: Vec<&str> = sent.iter().map(|(id, _, _)| id.as_str()).collect();
    ids.push(&unmatched.request_id);
    ids.push(&panicked.request_id);
    let spans = function.wait_for_traces(&ids).await;
    let mut routes = std::collections::BTreeSet::new();
    for (id, method, route) in &sent {
        let trace = Trace::of(&spans, id);
        assert_eq!(trace.spans.len(), 1, "{}", trace.render());
        trace.assert_http_root(method, 200);
        trace.assert_endpoint(FUNCTION, method, *route);
        assert!(trace.root.events.is_empty());
        routes.insert(trace.root.attr_str("http.route").unwrap().to_owned());
    }
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        [
            "/explicit/override",
            "/health",
            "/orders/{order_id}/items",
            "/users/{user_id}"
        ]
    );
    let trace = Trace::of(&spans, &unmatched.request_id);
    trace.assert_http_root("GET", 404);
    trace.assert_endpoint(FUNCTION, "GET", None);

    let trace = Trace::of(&spans, &panicked.request_id);
    trace.assert_http_root("GET", 500);
    trace.assert_endpoint(FUNCTION, "GET", Some("/panic"));
    assert_eq!(trace.root.event_names(), ["exception"]);
    let event = trace.root.event("exception").unwrap();
    assert_eq!(event.attr_str("exception.type"), Some("Panic"));
    assert_eq!(
        event.attr_str("exception.message"),
        Some("axum handler exploded: token=[REDACTED]")
    );
    assert!(trace.root.is_error());
}

#[tokio::test]
async fn w3c_traceparent_continues_the_callers_trace() {
    let function = Function::test_child(FUNCTION, "api", &[]).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut sent = Vec::new();
    for kind in Source::ALL {
        let event = events::with_header(
            kind.event("GET", "/orders/ok", "/orders/{action}", None),
            "traceparent",
            traceparent,
        );
        let outcome = function.invoke(&event).await;
        function.response(&outcome);
        sent.push(outcome.request_id);
    }
    let ids: Vec<&str> = sent.iter().map(String::as_str).collect();
    let spans = function.wait_for_traces(&ids).await;
    for id in &ids {
        // Same trace id for all four: pick the root by request id among all spans.
        let root = spans
            .iter()
            .find(|span| span.attr_str("faas.invocation_id") == Some(id))
            .unwrap();
        assert_eq!(root.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(root.parent_span_id, "00f067aa0ba902b7");
    }
}

/// `lambda_http::Error` (a `Box<dyn Error>`) is the error type of most `lambda_http`
/// handlers. Behind the box only the error's `Debug` output tells its type, and for an
/// enum that output starts with the variant: the documented limitation is that a boxed
/// enum is reported under its variant's name (a handler returning the concrete type gets
/// the type's name, see `proxy_responses_are_exact_for_every_event_kind`).
#[tokio::test]
async fn boxed_enum_errors_are_reported_under_their_variant_name() {
    let function = Function::test_child(FUNCTION, "payload", &[]).await;
    let outcome = function
        .invoke(&events::apigw_v1("POST", "/orders/db", "/orders/db", None))
        .await;
    let response = function.response(&outcome);
    assert_eq!(response["statusCode"], 500, "{response}");
    let spans = function.wait_for_traces(&[&outcome.request_id]).await;
    let root = Trace::of(&spans, &outcome.request_id).root;
    let event = root.event("exception").unwrap();
    assert_eq!(
        event.attr_str("exception.message"),
        Some("database password=[REDACTED] rejected the query")
    );
    assert_eq!(event.attr_str("exception.type"), Some("Database"));
}

/// The root span names the annotated handler in `code.function` / `code.namespace`, as it
/// does under `serverless_sdk::run` (see e2e_macros.rs), also when `serverless_sdk_http::run`
/// opened the invocation and the handler joined it.
#[tokio::test]
async fn the_root_span_names_the_annotated_handler() {
    let function = Function::test_child(FUNCTION, "api", &[]).await;
    let outcome = function
        .invoke(&Source::HttpApi.event("GET", "/orders/ok", "/orders/{action}", None))
        .await;
    function.response(&outcome);
    let spans = function.wait_for_traces(&[&outcome.request_id]).await;
    let root = Trace::of(&spans, &outcome.request_id).root;
    assert_eq!(root.attr_str("code.function"), Some("api"));
    assert_eq!(root.attr_str("code.namespace"), Some("e2e_http"));
}
