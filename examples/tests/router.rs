//! `router`: a hand-written router behind a catch-all route records each route template as
//! the endpoint, behind REST and HTTP APIs.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serverless_sdk_tests::prelude::*;

/// One request to the router example and what it must answer.
#[derive(Debug)]
struct RouterCase {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    status: u16,
    /// `Ok(JSON body)` from a route, or `Err(public message)` of a `RouterError`.
    answer: Result<&'static str, &'static str>,
    /// The route template recorded as the endpoint.
    endpoint: Option<&'static str>,
}

const ROUTER_CASES: [RouterCase; 6] = [
    RouterCase {
        method: "GET",
        path: "/users/42",
        body: None,
        status: 200,
        answer: Ok(r#"{"id":"42","name":"user 42"}"#),
        endpoint: Some("/users/{id}"),
    },
    RouterCase {
        method: "POST",
        path: "/users",
        body: Some(r#"{"name":"carol"}"#),
        status: 201,
        answer: Ok(r#"{"created":{"name":"carol"}}"#),
        endpoint: Some("/users"),
    },
    RouterCase {
        method: "GET",
        path: "/users/42/orders",
        body: None,
        status: 200,
        answer: Ok(r#"{"orders":["o-1","o-2"],"user":"42"}"#),
        endpoint: Some("/users/{id}/orders"),
    },
    RouterCase {
        method: "GET",
        path: "/api/foo/bar",
        body: None,
        status: 200,
        answer: Ok(r#"{"legacy":"/api/foo/bar"}"#),
        endpoint: Some("/api/foo"),
    },
    RouterCase {
        method: "GET",
        path: "/users/7",
        body: None,
        status: 404,
        answer: Err("user 7 not found"),
        endpoint: Some("/users/{id}"),
    },
    RouterCase {
        method: "DELETE",
        path: "/nowhere",
        body: None,
        status: 404,
        answer: Err("Not Found"),
        endpoint: None,
    },
];

#[tokio::test]
async fn router_records_each_route_template_behind_a_catch_all() {
    let function = example_function!("router").await;
    for api in [Source::RestApi, Source::HttpApi] {
        let mut outcomes = Vec::new();
        for case in ROUTER_CASES {
            // Behind the catch-all resource, or the catch-all route.
            let event = if api == Source::RestApi {
                events::apigw_v1(case.method, case.path, "/{proxy+}", case.body)
            } else {
                events::apigw_v2(case.method, case.path, "ANY /{proxy+}", case.body)
            };
            outcomes.push(function.invoke(&event).await);
        }
        let spans = function.wait_for_traces(&outcomes).await;
        for (case, outcome) in ROUTER_CASES.iter().zip(&outcomes) {
            let (headers, body) = match case.answer {
                Ok(body) => (vec![("content-type", "application/json")], body.to_owned()),
                // The SDK's client-error response for `RouterError`.
                Err(message) => (
                    vec![
                        ("content-type", "application/json"),
                        ("x-request-id", outcome.request_id.as_str()),
                    ],
                    proxy::sdk_error_body(message, &outcome.request_id),
                ),
            };
            assert_eq!(
                function.proxy_response(outcome),
                proxy::parsed_response(api, case.status, &headers, &body),
                "{api:?} {case:?}"
            );
            let trace = Trace::of(&spans, &outcome.request_id);
            trace.assert_http_request(
                "router",
                case.method,
                case.endpoint,
                &api.url_path(case.path),
                i64::from(case.status),
            );
            assert_eq!(trace.spans.len(), 1, "{}", trace.render());
            let root = &trace.root;
            assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
            if case.answer.is_err() {
                assert_eq!(root.event_names(), ["serverless.client_error"]);
                assert_eq!(
                    root.events[0].attr_str("exception.type"),
                    Some("RouterError")
                );
            } else {
                assert!(root.events.is_empty(), "{}", trace.render());
            }
        }
    }

    for (file, route) in [
        ("router-get-user.json", "/users/{id}"),
        ("router-api-foo.json", "/api/foo"),
    ] {
        let outcome = function.invoke(&events::fixture(file)).await;
        assert_eq!(function.response(&outcome)["statusCode"], 200, "{file}");
        let trace = function.trace(&outcome).await;
        assert_eq!(trace.root.attr_str("http.route"), Some(route), "{file}");
    }
    function.stop().await;
}
