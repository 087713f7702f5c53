//! `capture_exception`: the captured error on the root span and the seed's 500 answer, through
//! the free function and the context, behind REST and HTTP APIs.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serverless_sdk_tests::prelude::*;

#[tokio::test]
async fn capture_exception_records_the_error_and_answers_500() {
    let function = example_function!("capture_exception").await;
    let free_fn = function
        .invoke(&events::apigw_v2("GET", "/hello", "GET /hello", None))
        .await;
    let via_context = function
        .invoke(&events::apigw_v2(
            "GET",
            "/hello?via=context",
            "GET /hello",
            None,
        ))
        .await;
    let rest_api = function
        .invoke(&events::apigw_v1("GET", "/hello", "/hello", None))
        .await;
    let documented = function
        .invoke(&events::fixture("capture-exception.json"))
        .await;
    let documented_via_context = function
        .invoke(&events::fixture("capture-exception-via-context.json"))
        .await;

    let seed_answer = |api| {
        proxy::response(
            api,
            500,
            &[("content-type", "application/json")],
            r#"{"name": "bob"}"#,
        )
    };
    for outcome in [&free_fn, &via_context, &documented, &documented_via_context] {
        assert_eq!(function.response(outcome), seed_answer(Source::HttpApi));
    }
    assert_eq!(function.response(&rest_api), seed_answer(Source::RestApi));

    let spans = function
        .wait_for_traces(&[
            &free_fn,
            &via_context,
            &rest_api,
            &documented,
            &documented_via_context,
        ])
        .await;
    for (outcome, api) in [
        (&free_fn, Source::HttpApi),
        (&via_context, Source::HttpApi),
        (&rest_api, Source::RestApi),
        (&documented, Source::HttpApi),
        (&documented_via_context, Source::HttpApi),
    ] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_eq!(trace.spans.len(), 1, "{}", trace.render());
        trace.assert_http_request(
            "capture_exception",
            "GET",
            Some("/hello"),
            &api.url_path("/hello"),
            500,
        );
        let root = &trace.root;
        assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
        assert!(root.is_error(), "{}", trace.render());
        assert_eq!(root.event_names(), ["exception"], "{}", trace.render());
        let exception = root.assert_one_exception("RealStuffError", "aa", true);
        exception.assert_code_location("capture_exception.rs", None);
    }
    function.stop().await;
}
