//! `tag_event`: tags with custom JSON on the invocation, behind REST and HTTP APIs, and none
//! for a rejected sign-up.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::{Value, json};
use serverless_sdk_tests::prelude::*;

/// Asserts the root span of a `POST /customers` sent through `api` and answered `status`.
fn assert_sign_up(trace: &Trace, api: Source, status: i64) {
    let path = "/customers";
    trace.assert_http_request("tag_event", "POST", Some(path), &api.url_path(path), status);
}

#[tokio::test]
async fn tag_event_tags_the_invocation_with_custom_json() {
    let function = example_function!("tag_event").await;
    let body = r#"{"customerId": "42", "plan": "free-trial"}"#;
    let rest_api = function
        .invoke(&events::apigw_v1(
            "POST",
            "/customers",
            "/customers",
            Some(body),
        ))
        .await;
    let http_api = function
        .invoke(&events::apigw_v2(
            "POST",
            "/customers",
            "POST /customers",
            Some(r#"{"customerId": "7", "plan": "pro"}"#),
        ))
        .await;
    let documented = function.invoke(&events::fixture("tag-event.json")).await;
    let malformed = function
        .invoke(&events::apigw_v2(
            "POST",
            "/customers",
            "POST /customers",
            Some("{\"customerId\": 42}"),
        ))
        .await;

    let created = |api, id: &str, plan: &str| {
        proxy::parsed_response(
            api,
            201,
            &[("content-type", "application/json")],
            &json!({ "customerId": id, "plan": plan, "welcome": true }).to_string(),
        )
    };
    assert_eq!(
        function.proxy_response(&rest_api),
        created(Source::RestApi, "42", "free-trial")
    );
    assert_eq!(
        function.proxy_response(&http_api),
        created(Source::HttpApi, "7", "pro")
    );
    assert_eq!(
        function.proxy_response(&documented),
        created(Source::RestApi, "42", "free-trial")
    );
    let no_body = function
        .invoke(&events::apigw_v2(
            "POST",
            "/customers",
            "POST /customers",
            None,
        ))
        .await;
    let response = function.response(&malformed);
    assert_eq!(response["statusCode"], 400, "{response}");
    let message: Value =
        serde_json::from_str(response["body"].as_str().unwrap_or_default()).expect("a JSON body");
    assert!(
        message["message"]
            .as_str()
            .is_some_and(|text| text.starts_with("Invalid JSON body: invalid type: integer `42`")),
        "{message}"
    );
    assert_eq!(
        function.response(&no_body),
        proxy::response(Source::HttpApi, 400, &[], "a JSON body is required")
    );

    let spans = function
        .wait_for_traces(&[&rest_api, &http_api, &documented, &malformed, &no_body])
        .await;
    for (outcome, api, id, plan) in [
        (&rest_api, Source::RestApi, "42", "free-trial"),
        (&http_api, Source::HttpApi, "7", "pro"),
        (&documented, Source::RestApi, "42", "free-trial"),
    ] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_sign_up(&trace, api, 201);
        let root = &trace.root;
        assert_eq!(root.attr_str("serverless.tag.customer-id"), Some(id));
        assert_eq!(
            root.attr_str("serverless.tag.customer-id.custom")
                .map(|custom| serde_json::from_str::<Value>(custom).expect("custom JSON")),
            Some(json!({ "demoUser": "true", "freeTrialExpires": "2020-09-01" }))
        );
        assert_eq!(root.attr_str("serverless.tag.plan"), Some(plan));
        assert_eq!(root.attr("serverless.tag.plan.custom"), None);
        assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
        assert!(root.events.is_empty(), "{}", trace.render());
    }
    // The JSON exactly as exported.
    assert_eq!(
        Trace::of(&spans, &rest_api.request_id)
            .root
            .attr_str("serverless.tag.customer-id.custom"),
        Some(r#"{"demoUser":"true","freeTrialExpires":"2020-09-01"}"#)
    );
    // No sign-up, no tags.
    for outcome in [&malformed, &no_body] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_sign_up(&trace, Source::HttpApi, 400);
        assert!(
            trace
                .root
                .attributes
                .keys()
                .all(|key| !key.starts_with("serverless.tag.")),
            "{}",
            trace.render()
        );
    }
    function.stop().await;
}
