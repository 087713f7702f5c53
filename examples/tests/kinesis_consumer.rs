//! `kinesis_consumer`: the stream rule. Processing stops at the first failure, whose sequence
//! number is reported, and Lambda's delivery of the rest again is recognised as a redelivery.
//!
//! The example runs as its own process against the test kit's local Runtime API, with its
//! documented event file (`tests/fixtures/kinesis-clicks.json`, the AWS Kinesis sample's
//! records) and the sample itself.

use serde_json::json;
use serverless_sdk_tests::prelude::*;

const FAILED: &str = "49590338271490256608559692538361571095921575989136588802";

#[tokio::test]
async fn kinesis_consumer_stops_at_the_bad_record_and_sees_the_retry() {
    let function = example_function!("kinesis_consumer").await;
    let clicks = events::fixture("kinesis-clicks.json");
    let first = function.invoke(&clicks).await;
    let response = function.response(&first);
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": FAILED }] })
    );

    let trace = function.trace(&first).await;
    trace.assert_kinesis_root("clickstream", 3, 1, 1);

    let records = trace.records();
    assert_eq!(
        records.len(),
        2,
        "the record after the failure does not run"
    );
    assert_eq!(
        trace.child_names(records[0]),
        ["parse_view", "search.index"]
    );
    assert!(!records[0].is_error());
    assert_eq!(records[1].attr_str("messaging.message.id"), Some(FAILED));
    assert_eq!(records[1].exception_types(), ["ViewError"]);
    assert_eq!(trace.child_names(records[1]), ["parse_view"]);
    assert_eq!(
        trace.child(records[1], "parse_view").exception_types(),
        ["ViewError"]
    );

    // Lambda delivers the stream again from the failed record.
    let mut retry = clicks.clone();
    if let Some(records) = retry["Records"].as_array_mut() {
        records.remove(0);
        records[0]["kinesis"]["data"] = json!("eyJwYWdlIjogIi9hYm91dCIsICJ1c2VyIjogInUtMyJ9");
    }
    let again = function.invoke(&retry).await;
    let response = function.response(&again);
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let root = function.trace(&again).await.root;
    root.assert_attrs([
        ("serverless.redelivered", true.into()),
        ("serverless.redelivery.reason", "batch_seen".into()),
        ("serverless.batch.failed_count", 0.into()),
    ]);

    // The AWS sample's data ("Hello World") is no page view.
    let sample = function.invoke(&events::fixture("kinesis")).await;
    let response = function.response(&sample);
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{
            "itemIdentifier": "49568167373333333333333333333333333333333333333333333333"
        }] })
    );
    function.stop().await;
}
