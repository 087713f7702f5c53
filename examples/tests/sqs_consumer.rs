//! `sqs_consumer`: a span per SQS record, partial batch failures, and a bad configuration
//! reported at init.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::json;
use serverless_sdk_tests::prelude::*;

#[tokio::test]
async fn sqs_consumer_spans_each_record_and_reports_the_bad_one() {
    let function = example_function!("sqs_consumer", &[("ORDERS_TABLE", "orders-test")]).await;
    let batch = function
        .invoke(&events::sqs(&[
            r#"{"orderId": "o-1", "amountCents": 1250}"#,
            r#"{"orderId": "o-2", "amountCents": 990}"#,
            "not an order",
        ]))
        .await;
    let sample = function.invoke(&events::fixture("sqs")).await;
    let good = function
        .invoke(&events::sqs(&[r#"{"orderId": "o-3", "amountCents": 1}"#]))
        .await;

    assert_eq!(
        function.response(&batch),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_3" }] })
    );
    assert_eq!(
        function.response(&sample),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_1" }] })
    );
    assert_eq!(function.response(&good), json!({ "batchItemFailures": [] }));

    let spans = function.wait_for_traces(&[&batch, &sample, &good]).await;
    let trace = Trace::of(&spans, &batch.request_id);
    let root = &trace.root;
    assert_eq!(root.name, "sqs_consumer");
    assert_eq!(root.kind_name(), "consumer");
    assert_eq!(root.attr_str("faas.trigger"), Some("pubsub"));
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
    assert!(root.is_error());
    let records = trace.all_named("process_record");
    let ids: Vec<&str> = records
        .iter()
        .filter_map(|span| span.attr_str("messaging.message.id"))
        .collect();
    assert_eq!(ids, ["MessageID_1", "MessageID_2", "MessageID_3"]);
    for record in &records {
        trace.assert_child_of(record, root);
    }
    assert_eq!(
        trace.edges(),
        edges(&[
            ("process_record", "sqs_consumer"),
            ("process_record", "sqs_consumer"),
            ("process_record", "sqs_consumer"),
            ("parse_order", "process_record"),
            ("parse_order", "process_record"),
            ("parse_order", "process_record"),
            ("db.put_item", "process_record"),
            ("db.put_item", "process_record"),
        ]),
        "{}",
        trace.render()
    );
    for put in trace.all_named("db.put_item") {
        assert_eq!(put.attr_str("db.collection.name"), Some("orders-test"));
    }
    // Only the third record's parse failed, on its own span.
    let failed: Vec<&FlatSpan> = trace
        .all_named("parse_order")
        .into_iter()
        .filter(|span| span.is_error())
        .collect();
    assert_eq!(failed.len(), 1, "{}", trace.render());
    assert_eq!(failed[0].parent_span_id, records[2].span_id);
    let exception = failed[0].event("exception").expect("an exception event");
    assert_eq!(exception.attr_str("exception.type"), Some("RecordError"));
    // And the handler captured it on the invocation.
    assert_eq!(root.event_names(), ["exception"]);
    assert_eq!(
        root.events[0].attr_str("exception.type"),
        Some("RecordError")
    );
    assert!(
        root.events[0]
            .attr_str("exception.message")
            .is_some_and(|message| message.starts_with("record MessageID_3 is not an order")),
        "{:?}",
        root.events[0]
    );

    let trace = Trace::of(&spans, &good.request_id);
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    assert!(trace.spans.iter().all(|span| !span.is_error()));

    let documented = function.invoke(&events::fixture("sqs-orders.json")).await;
    assert_eq!(
        function.response(&documented),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_3" }] })
    );
    let documented = function.invoke(&events::fixture("sqs.json")).await;
    assert_eq!(
        function.response(&documented),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_1" }] })
    );
    function.stop().await;
}

#[tokio::test]
async fn sqs_consumer_reads_its_defaults_and_reports_a_bad_config_at_init() {
    // No ORDERS_TABLE: the default table.
    let function = example_function!("sqs_consumer").await;
    let outcome = function
        .invoke(&events::sqs(&[r#"{"orderId": "o-1", "amountCents": 5}"#]))
        .await;
    assert_eq!(
        function.response(&outcome),
        json!({ "batchItemFailures": [] })
    );
    let trace = function.trace(&outcome).await;
    assert_eq!(
        trace.named("db.put_item").attr_str("db.collection.name"),
        Some("orders")
    );
    function.stop().await;

    // A bad MAX_BODY_BYTES: the cold start fails, Lambda and telemetry are told.
    let function = example_function!("sqs_consumer", &[("MAX_BODY_BYTES", "lots")]).await;
    let report = function.wait_init_error().await;
    assert_eq!(report.error_type, "Runtime.InitError");
    assert!(
        report
            .error_message
            .contains(r#"MAX_BODY_BYTES="lots" is not a number of bytes"#),
        "{report:?}"
    );
    let status = function.wait_exit().await;
    assert!(!status.success(), "{status:?}");
    let spans = parse_json_lines(&function.process.stdout_text());
    assert_eq!(spans.len(), 1, "{}", render_tree(&spans, false));
    assert_eq!(spans[0].attr_str("serverless.outcome"), Some("init_error"));
    assert_eq!(spans[0].name, "sqs_consumer init");
    assert_eq!(
        spans[0]
            .event("exception")
            .and_then(|event| event.attr_str("exception.message")),
        Some(r#"MAX_BODY_BYTES="lots" is not a number of bytes"#)
    );
    function.stop().await;
}
