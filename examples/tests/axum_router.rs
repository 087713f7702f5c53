//! `axum_router`: the routes an axum `Router` matched become the endpoints.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serverless_sdk_tests::prelude::*;

#[tokio::test]
async fn axum_router_endpoints_come_from_the_matched_route() {
    // Behind a REST API the request path starts with the stage, which axum's routes do not
    // know: this `lambda_http` setting leaves it out (the example's documentation says so).
    let function = example_function!(
        "axum_router",
        &[("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")]
    )
    .await;
    for api in [Source::HttpApi, Source::RestApi] {
        // Every request on the HTTP API's `$default` route, or behind the REST API's
        // catch-all resource.
        let event = |method: &str, path: &str, body: Option<&str>| {
            if api == Source::HttpApi {
                events::apigw_v2(method, path, "$default", body)
            } else {
                events::apigw_v1(method, path, "/{proxy+}", body)
            }
        };
        let user = function.invoke(&event("GET", "/users/42", None)).await;
        let order = function
            .invoke(&event(
                "POST",
                "/orders",
                Some(r#"{"customerId": "42", "items": 3}"#),
            ))
            .await;
        let health = function.invoke(&event("GET", "/health", None)).await;
        let missing = function.invoke(&event("GET", "/nowhere", None)).await;

        // axum's own responses, passed through untouched.
        let user_body = r#"{"id":42,"name":"user 42"}"#;
        let order_body = r#"{"items":3,"orderId":"o-42-3"}"#;
        for (outcome, status, body) in [(&user, 200, user_body), (&order, 201, order_body)] {
            let length = body.len().to_string();
            let headers = [
                ("content-length", length.as_str()),
                ("content-type", "application/json"),
            ];
            assert_eq!(
                function.proxy_response(outcome),
                proxy::parsed_response(api, status, &headers, body),
                "{api:?}"
            );
        }
        assert_eq!(
            function.proxy_response(&health),
            proxy::parsed_response(
                api,
                200,
                &[
                    ("content-length", "2"),
                    ("content-type", "text/plain; charset=utf-8")
                ],
                "ok"
            ),
            "{api:?}"
        );
        assert_eq!(
            function.proxy_response(&missing),
            proxy::parsed_response(api, 404, &[], ""),
            "{api:?}"
        );

        let spans = function
            .wait_for_traces(&[&user, &order, &health, &missing])
            .await;
        let trace = Trace::of(&spans, &user.request_id);
        trace.assert_http_request("axum_router", "GET", Some("/users/{id}"), "/users/42", 200);
        assert_eq!(trace.spans.len(), 1);

        let trace = Trace::of(&spans, &order.request_id);
        trace.assert_http_request("axum_router", "POST", Some("/orders"), "/orders", 201);
        assert_eq!(
            trace.root.attr_str("serverless.tag.customer-id"),
            Some("42")
        );
        assert_eq!(trace.edges(), edges(&[("db.insert_order", "POST /orders")]));
        trace.assert_child_of(trace.named("db.insert_order"), &trace.root);

        let trace = Trace::of(&spans, &health.request_id);
        trace.assert_http_request("axum_router", "GET", Some("/health"), "/health", 200);
        let trace = Trace::of(&spans, &missing.request_id);
        trace.assert_http_request("axum_router", "GET", None, "/nowhere", 404);
        for outcome in [&user, &order, &health, &missing] {
            let root = Trace::of(&spans, &outcome.request_id).root;
            assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
            assert!(root.events.is_empty(), "{root:?}");
        }
    }

    for (file, route) in [
        ("axum-get-user.json", "GET /users/{id}"),
        ("axum-create-order.json", "POST /orders"),
    ] {
        let outcome = function.invoke(&events::fixture(file)).await;
        let status = function.response(&outcome)["statusCode"].clone();
        assert!(status == 200 || status == 201, "{file}: {status}");
        assert_eq!(function.trace(&outcome).await.root.name, route, "{file}");
    }
    function.stop().await;
}
