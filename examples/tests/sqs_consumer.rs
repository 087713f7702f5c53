//! `sqs_consumer`, end to end: the binary as a Lambda function against a local Runtime API,
//! with the AWS SQS sample event and the event files its documentation names. Exact
//! partial-failure responses, one CONSUMER span per record linked to its producer, and the
//! configuration step under `run_with_init`.

mod support;

use serde_json::{Value, json};
use serverless_sdk_tests::{events, otlp::parse_json_lines, runtime_api::generate_trace_header};
use support::{Example, WAIT, event_file, exceptions};

const EXE: &str = env!("CARGO_BIN_EXE_sqs_consumer");

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
    let function = Example::start(EXE, "sqs_consumer", &[("ORDERS_TABLE", "orders-test")]).await;
    let producer = generate_trace_header();
    let (batch, response) = function
        .call(&orders(
            &[
                r#"{"orderId": "o-1", "amountCents": 1250}"#,
                r#"{"orderId": "o-2", "amountCents": 990}"#,
                "not an order",
            ],
            &producer,
        ))
        .await;
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_3" }] })
    );

    let trace = function.trace(&batch).await;
    let root = &trace.root;
    assert_eq!(root.name, "process SQSQueue", "{}", trace.render());
    assert_eq!(root.kind_name(), "consumer");
    assert_eq!(root.attr_str("faas.trigger"), Some("pubsub"));
    assert_eq!(root.attr_str("messaging.system"), Some("aws_sqs"));
    assert_eq!(
        root.attr_str("messaging.destination.name"),
        Some("SQSQueue")
    );
    assert_eq!(root.attr_i64("messaging.batch.message_count"), Some(3));
    assert_eq!(root.attr_i64("serverless.batch.failed_count"), Some(1));
    assert_eq!(
        root.attr_str("serverless.outcome"),
        Some("success"),
        "one record of three"
    );
    assert!(
        root.events.is_empty(),
        "the failure is the record's, not the invocation's"
    );

    let records = trace.records();
    let ids: Vec<&str> = records
        .iter()
        .filter_map(|s| s.attr_str("messaging.message.id"))
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
        assert_eq!(record.parent_span_id, root.span_id);
        assert!(!record.is_error());
        assert_eq!(trace.children(record), ["db.put_item", "parse_order"]);
        let put = trace.child(record, "db.put_item");
        assert_eq!(put.attr_str("db.collection.name"), Some("orders-test"));
    }
    let broken = records[2];
    assert!(broken.is_error());
    assert_eq!(exceptions(broken), ["RecordError"]);
    assert!(
        broken.events[0]
            .attr_str("exception.message")
            .is_some_and(|m| m.starts_with("record MessageID_3 is not an order")),
        "{:?}",
        broken.events[0]
    );
    assert_eq!(trace.children(broken), ["parse_order"]);
    assert_eq!(
        exceptions(trace.child(broken, "parse_order")),
        ["RecordError"]
    );

    // The AWS sample's body is no order: a batch where every record failed.
    let (sample, response) = function.call(&events::fixture("sqs")).await;
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_1" }] })
    );
    let root = function.trace(&sample).await.root;
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
    // The sample says ApproximateReceiveCount = 2: a redelivery.
    assert_eq!(
        root.attr_str("serverless.redelivery.reason"),
        Some("receive_count")
    );

    let (good, response) = function
        .call(&orders(
            &[r#"{"orderId": "o-3", "amountCents": 1}"#],
            &producer,
        ))
        .await;
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let trace = function.trace(&good).await;
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    assert!(trace.spans.iter().all(|span| !span.is_error()));

    for (file, failed) in [
        ("sqs-orders.json", "MessageID_3"),
        ("sqs.json", "MessageID_1"),
    ] {
        let (_, response) = function.call(&event_file(file)).await;
        assert_eq!(
            response,
            json!({ "batchItemFailures": [{ "itemIdentifier": failed }] }),
            "{file}"
        );
    }
    function.stop().await;
}

#[tokio::test]
async fn sqs_consumer_reads_its_defaults_and_reports_a_bad_config_at_init() {
    // No ORDERS_TABLE: the default table.
    let function = Example::start(EXE, "sqs_consumer", &[]).await;
    let (outcome, response) = function
        .call(&events::sqs(&[r#"{"orderId": "o-1", "amountCents": 5}"#]))
        .await;
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let trace = function.trace(&outcome).await;
    let record = trace.records()[0];
    assert_eq!(
        trace
            .child(record, "db.put_item")
            .attr_str("db.collection.name"),
        Some("orders")
    );
    function.stop().await;

    // A bad MAX_BODY_BYTES: the cold start fails, Lambda and telemetry are told.
    let function = Example::start(EXE, "sqs_consumer", &[("MAX_BODY_BYTES", "lots")]).await;
    let report = function
        .api
        .wait_init_error(WAIT)
        .await
        .expect("an init error");
    assert_eq!(report.error_type, "Runtime.InitError");
    assert!(
        report
            .error_message
            .contains(r#"MAX_BODY_BYTES="lots" is not a number of bytes"#),
        "{report:?}"
    );
    let status = function
        .process
        .wait_exit(WAIT)
        .await
        .expect("the process exits");
    assert!(!status.success(), "{status:?}");
    let spans = parse_json_lines(&function.process.stdout_text());
    assert_eq!(spans.len(), 1);
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
