//! `throw_error`: three ways to answer 400, and what each records.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::{Value, json};
use serverless_sdk_tests::prelude::*;

#[tokio::test]
async fn throw_error_answers_400_three_ways() {
    let function = example_function!("throw_error").await;
    let valid = function
        .invoke(&events::apigw_v1(
            "POST",
            "/throw",
            "/throw",
            Some(r#"{"blah": "blah1"}"#),
        ))
        .await;
    let invalid = function
        .invoke(&events::apigw_v1(
            "POST",
            "/throw",
            "/throw",
            Some(r#"{"blah": "#),
        ))
        .await;
    let empty = function
        .invoke(&events::apigw_v1("POST", "/throw", "/throw", None))
        .await;

    // The seed's own answer.
    assert_eq!(
        function.proxy_response(&valid),
        proxy::parsed_response(
            Source::RestApi,
            400,
            &[
                ("content-type", "application/json"),
                ("context.aws_request_id", valid.request_id.as_str()),
            ],
            "Bad Request"
        )
    );
    // The SDK's mapping of the parse error.
    let parse_error = serde_json::from_str::<Value>(r#"{"blah": "#)
        .expect_err("not JSON")
        .to_string();
    // And the `HttpError` type's default message, the reason phrase.
    for (outcome, message) in [
        (&invalid, format!("Invalid JSON body: {parse_error}")),
        (&empty, "Bad Request".to_owned()),
    ] {
        let headers = [
            ("content-type", "application/json"),
            ("x-request-id", outcome.request_id.as_str()),
        ];
        assert_eq!(
            function.proxy_response(outcome),
            proxy::parsed_response(
                Source::RestApi,
                400,
                &headers,
                &proxy::sdk_error_body(&message, &outcome.request_id)
            )
        );
    }

    let spans = function.wait_for_traces(&[&valid, &invalid, &empty]).await;
    for outcome in [&valid, &invalid, &empty] {
        let trace = Trace::of(&spans, &outcome.request_id);
        trace.assert_http_request(
            "throw_error",
            "POST",
            Some("/throw"),
            &Source::RestApi.url_path("/throw"),
            400,
        );
        assert_eq!(
            trace.root.attr_str("serverless.outcome"),
            Some("success"),
            "{}",
            trace.render()
        );
        assert!(!trace.root.is_error());
    }
    assert!(Trace::of(&spans, &valid.request_id).root.events.is_empty());
    for (outcome, message) in [
        (&invalid, parse_error.as_str()),
        (&empty, "POST /throw needs a JSON body"),
    ] {
        let root = Trace::of(&spans, &outcome.request_id).root;
        assert_eq!(root.event_names(), ["serverless.client_error"]);
        assert_eq!(
            root.events[0].attr_str("exception.type"),
            Some("ThrowError")
        );
        assert!(
            root.events[0]
                .attr_str("exception.message")
                .is_some_and(|text| text.contains(message)),
            "{:?}",
            root.events[0]
        );
    }

    let documented = function.invoke(&events::fixture("throw-error.json")).await;
    let response = function.response(&documented);
    assert_eq!(
        (&response["statusCode"], &response["body"]),
        (&json!(400), &json!("Bad Request"))
    );
    let documented = function
        .invoke(&events::fixture("throw-error-invalid-json.json"))
        .await;
    let response = function.response(&documented);
    assert_eq!(response["statusCode"], 400);
    assert!(
        response["body"]
            .as_str()
            .is_some_and(|body| body.contains("Invalid JSON body")),
        "{response}"
    );
    function.stop().await;
}
