//! `spans`: spans nesting across guards, `#[span]` functions, futures and spawned tasks, in an
//! EventBridge scheduled invocation.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::json;
use serverless_sdk_tests::prelude::*;

#[tokio::test]
async fn spans_nest_across_guards_macros_futures_and_spawned_tasks() {
    let function = example_function!("spans").await;
    let scheduled = function.invoke(&events::eventbridge_schedule()).await;
    let documented = function
        .invoke(&events::fixture("eventbridge-schedule.json"))
        .await;

    for outcome in [&scheduled, &documented] {
        assert_eq!(
            function.response(outcome),
            json!({
                "reportDate": "2015-10-08",
                "orders": 3,
                "totalCents": 5774,
                "receipt": "s3://reports/2015-10-08.csv",
            })
        );
    }

    let spans = function.wait_for_traces(&[&scheduled, &documented]).await;
    for outcome in [&scheduled, &documented] {
        let trace = Trace::of(&spans, &outcome.request_id);
        let root = &trace.root;
        assert_eq!(root.name, "spans");
        assert_eq!(root.attr_str("faas.trigger"), Some("timer"));
        assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
        assert!(!root.is_error());
        assert_eq!(
            trace.edges(),
            edges(&[
                ("load-rates", "spans"),
                ("parse_rates", "load-rates"),
                ("db.fetch_orders", "spans"),
                ("db.query", "db.fetch_orders"),
                ("checksum", "db.fetch_orders"),
                ("pricing", "spans"),
                ("publish", "spans"),
                ("render", "publish"),
                ("upload", "publish"),
            ]),
            "{}",
            trace.render()
        );
        for (child, parent) in [
            ("load-rates", root.name.as_str()),
            ("parse_rates", "load-rates"),
            ("db.fetch_orders", root.name.as_str()),
            ("db.query", "db.fetch_orders"),
            ("checksum", "db.fetch_orders"),
            ("pricing", root.name.as_str()),
            ("publish", root.name.as_str()),
            ("render", "publish"),
            ("upload", "publish"),
        ] {
            let parent = if parent == root.name {
                root
            } else {
                trace.named(parent)
            };
            trace.assert_child_of(trace.named(child), parent);
        }
        // `#[span]` functions say where they are.
        for (span, function_name) in [
            ("parse_rates", "parse_rates"),
            ("db.fetch_orders", "fetch_orders"),
            ("db.query", "query_orders"),
            ("checksum", "checksum"),
            ("upload", "upload"),
        ] {
            assert_eq!(
                trace.named(span).attr_str("code.function"),
                Some(function_name)
            );
        }
        assert_eq!(trace.named("pricing").attr("code.function"), None);
        assert!(trace.spans.iter().all(|span| span.events.is_empty()));
    }
    function.stop().await;
}
