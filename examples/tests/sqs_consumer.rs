//! `sqs_consumer`: one CONSUMER span per SQS record linked to its producer, exact partial
//! batch failures, and a bad configuration reported at init.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::{Value, json};
use serverless_sdk_tests::{prelude::*, runtime_api::generate_trace_header};

/// The AWS sample batch with one record per body, the first one sent by a traced producer.
fn orders(bodies: &[&str], producer: &str) -> Value {
    let mut event = events::sqs(bodies);
    event["Records"][0]["attributes"]["AWSTraceHeader"] = json!(producer);
    for record in event["Records"].as_array_mut().into_iter().flatten() {
        record["attributes"]["ApproximateReceiveCount"] = json!("1");
    }
    event
}

#[tokio::test]
async fn sqs_consumer_spans_each_record_and_reports_the_bad_one() {
    let function = example_function!("sqs_consumer", &[("ORDERS_TABLE", "orders-test")]).await;
    let producer = generate_trace_header();
    let batch = function
        .invoke(&orders(
            &[
                r#"{"orderId": "o-1", "amountCents": 1250}"#,
                r#"{"orderId": "o-2", "amountCents": 990}"#,
                "not an order",
            ],
            &producer,
        ))
        .await;
    assert_eq!(
        function.response(&batch),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_3" }] })
    );

    let trace = function.trace(&batch).await;
    // One record of three failed: the invocation itself succeeded.
    trace.assert_batch_root("aws_sqs", "SQSQueue", 3, 1);
    let root = &trace.root;
    assert!(
        root.events.is_empty(),
        "the failure is the record's, not the invocation's"
    );

    let records = trace.records();
    let ids: Vec<&str> = records
        .iter()
        .filter_map(|span| span.attr_str("messaging.message.id"))
        .collect();
    assert_eq!(ids, ["MessageID_1", "MessageID_2", "MessageID_3"]);
    let producer_trace = producer
        .split(';')
        .next()
        .and_then(|root| root.strip_prefix("Root=1-"))
        .map(|id| id.replace('-', ""))
        .unwrap_or_default();
    assert_eq!(records[0].links.len(), 1);
    assert_eq!(records[0].links[0].trace_id, producer_trace);
    for record in &records[..2] {
        assert_eq!(record.name, "process SQSQueue");
        trace.assert_child_of(record, root);
        assert!(!record.is_error());
        assert_eq!(trace.child_names(record), ["db.put_item", "parse_order"]);
        let put = trace.child(record, "db.put_item");
        assert_eq!(put.attr_str("db.collection.name"), Some("orders-test"));
    }
    let broken = records[2];
    assert!(broken.is_error());
    assert_eq!(broken.exception_types(), ["RecordError"]);
    assert!(
        broken.events[0]
            .attr_str("exception.message")
            .is_some_and(|message| message.starts_with("record MessageID_3 is not an order")),
        "{:?}",
        broken.events[0]
    );
    assert_eq!(trace.child_names(broken), ["parse_order"]);
    assert_eq!(
        trace.child(broken, "parse_order").exception_types(),
        ["RecordError"]
    );

    // The AWS sample's body is no order: a batch where every record failed.
    let sample = function.invoke(&events::fixture("sqs")).await;
    assert_eq!(
        function.response(&sample),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_1" }] })
    );
    let root = function.trace(&sample).await.root;
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
    // The sample says ApproximateReceiveCount = 2: a redelivery.
    assert_eq!(
        root.attr_str("serverless.redelivery.reason"),
        Some("receive_count")
    );

    let good = function
        .invoke(&orders(
            &[r#"{"orderId": "o-3", "amountCents": 1}"#],
            &producer,
        ))
        .await;
    assert_eq!(function.response(&good), json!({ "batchItemFailures": [] }));
    let trace = function.trace(&good).await;
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    assert!(trace.spans.iter().all(|span| !span.is_error()));

    for (file, failed) in [
        ("sqs-orders.json", "MessageID_3"),
        ("sqs.json", "MessageID_1"),
    ] {
        let documented = function.invoke(&events::fixture(file)).await;
        assert_eq!(
            function.response(&documented),
            json!({ "batchItemFailures": [{ "itemIdentifier": failed }] }),
            "{file}"
        );
    }
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
        trace
            .child(trace.records()[0], "db.put_item")
            .attr_str("db.collection.name"),
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
