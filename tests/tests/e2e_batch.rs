//! Event sources end to end, through the real `lambda_runtime` loop and the local Runtime
//! API, with the AWS sample events of `tests/fixtures/`: `serverless_sdk::batch`'s exact
//! partial-failure responses (SQS standard and FIFO, Kinesis, DynamoDB streams, a panicking
//! record, a batch where everything failed), one CONSUMER span per record linked to the
//! trace of its producer, the root spans every source gets from its event alone (SNS,
//! EventBridge, S3, schedules), redeliveries, and a soak of 1,000 batches.
//!
//! Each test re-executes this binary as the function process (`function_child`), serving
//! the handler `E2E_MODE` names.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{
    batch::{
        DynamoDbEvent, DynamoDbEventResponse, DynamoDbRecord, KinesisEvent, KinesisEventRecord,
        KinesisEventResponse, SqsBatchResponse, SqsEvent, SqsMessage, SqsProcessor,
        process_dynamodb, process_kinesis, process_sqs,
    },
    serverless_handler, span,
};
use serverless_sdk_tests::{
    prelude::*,
    runtime_api::{XrayHeader, generate_trace_header},
};

const FUNCTION: &str = "e2e-batch";

/* ----------------------------------- the function ----------------------------------- */

/// A record the function cannot take.
#[derive(Debug, thiserror::Error)]
#[error("record {0} is not an order")]
struct NotAnOrder(String);

/// What a record asks its handler to do: its body (SQS), its data (Kinesis) or the end of
/// its event id (DynamoDB) is `fail`, `panic`, `sleep` or anything else (succeed).
async fn act(id: &str, what: &str) -> Result<(), NotAnOrder> {
    // Work of the user's own inside the record's span.
    span("validate").instrument(tokio::task::yield_now()).await;
    match what {
        "fail" => Err(NotAnOrder(id.to_owned())),
        "panic" => panic!("record {id} panicked"),
        "sleep" => {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn save(message: SqsMessage) -> Result<(), NotAnOrder> {
    let id = message.message_id.unwrap_or_default();
    act(&id, message.body.as_deref().unwrap_or_default()).await
}

async fn index(record: KinesisEventRecord) -> Result<(), NotAnOrder> {
    let data = String::from_utf8_lossy(&record.kinesis.data).into_owned();
    act(&record.kinesis.sequence_number, &data).await
}

async fn project(record: DynamoDbRecord) -> Result<(), NotAnOrder> {
    let what = record
        .event_id
        .rsplit('-')
        .next()
        .unwrap_or_default()
        .to_owned();
    act(&record.event_id, &what).await
}

#[serverless_handler]
async fn sqs(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, std::io::Error> {
    Ok(process_sqs(event.payload, save).await)
}

#[serverless_handler]
async fn sqs_concurrent(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, std::io::Error> {
    Ok(SqsProcessor::new()
        .concurrency(4)
        .process(event.payload, save)
        .await)
}

#[serverless_handler]
async fn kinesis(event: LambdaEvent<KinesisEvent>) -> Result<KinesisEventResponse, std::io::Error> {
    Ok(process_kinesis(event.payload, index).await)
}

#[serverless_handler]
async fn dynamodb(
    event: LambdaEvent<DynamoDbEvent>,
) -> Result<DynamoDbEventResponse, std::io::Error> {
    Ok(process_dynamodb(event.payload, project).await)
}

/// Any event: the root span says what it is with no user code.
#[serverless_handler]
async fn plain(_event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(json!({ "ok": true }))
}

/// Not a test: the function process.
#[test]
fn function_child() {
    run_function_child(|mode| async move {
        match mode.as_str() {
            "sqs" => serverless_sdk::run(service_fn(sqs)).await,
            "sqs_concurrent" => serverless_sdk::run(service_fn(sqs_concurrent)).await,
            "kinesis" => serverless_sdk::run(service_fn(kinesis)).await,
            "dynamodb" => serverless_sdk::run(service_fn(dynamodb)).await,
            _ => serverless_sdk::run(service_fn(plain)).await,
        }
    });
}

/* ------------------------------------ the events ------------------------------------ */

/// A fresh W3C `traceparent` and its trace id.
fn traceparent() -> (String, String) {
    let trace = format!("{:032x}", fastrand::u128(1..));
    let header = format!("00-{trace}-{:016x}-01", fastrand::u64(1..));
    (header, trace)
}

/// How a test SQS record names its producer.
#[derive(Clone)]
enum Producer {
    None,
    /// The `AWSTraceHeader` system attribute.
    Xray(String),
    /// A `traceparent` message attribute.
    MessageAttribute(String),
    /// The `traceparent` of an SNS notification the body wraps (SNS → SQS, raw delivery off).
    SnsEnvelope(String),
}

/// An SQS record of the AWS sample (`tests/fixtures/sqs.json`) with its own id, body,
/// receive count and producer.
fn sqs_record(id: &str, body: &str, received: u32, producer: &Producer) -> Value {
    let mut record = events::fixture("sqs")["Records"][0].clone();
    record["messageId"] = json!(id);
    record["body"] = json!(body);
    record["attributes"]["ApproximateReceiveCount"] = json!(received.to_string());
    match producer {
        Producer::None => {}
        Producer::Xray(header) => record["attributes"]["AWSTraceHeader"] = json!(header),
        Producer::MessageAttribute(header) => {
            record["messageAttributes"]["traceparent"] = json!({
                "stringValue": header, "stringListValues": [], "binaryListValues": [],
                "dataType": "String"
            });
        }
        Producer::SnsEnvelope(header) => {
            let mut sns = events::fixture("sns")["Records"][0]["Sns"].clone();
            sns["Message"] = json!(body);
            sns["MessageAttributes"] = json!({
                "traceparent": { "Type": "String", "Value": header }
            });
            record["body"] = json!(sns.to_string());
        }
    }
    record
}

fn batch(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

/// An SQS FIFO record of the AWS documentation's sample (`tests/fixtures/sqs-fifo.json`).
fn fifo_record(id: &str, group: &str, body: &str) -> Value {
    let mut record = events::fixture("sqs-fifo")["Records"][0].clone();
    record["messageId"] = json!(id);
    record["body"] = json!(body);
    record["attributes"]["MessageGroupId"] = json!(group);
    record
}

/// A Kinesis record of the AWS sample with its own sequence number and data.
fn kinesis_record(sequence: &str, data: &str) -> Value {
    let mut record = events::fixture("kinesis")["Records"][0].clone();
    record["kinesis"]["sequenceNumber"] = json!(sequence);
    record["kinesis"]["data"] = json!(BASE64.encode(data));
    record["eventID"] = json!(format!("shardId-000000000000:{sequence}"));
    record
}

/// A DynamoDB stream record of the AWS sample with its own sequence number and event id.
fn dynamodb_record(sequence: &str, event_id: &str, name: &str) -> Value {
    let mut record = events::fixture("dynamodb")["Records"][0].clone();
    record["dynamodb"]["SequenceNumber"] = json!(sequence);
    record["eventID"] = json!(event_id);
    record["eventName"] = json!(name);
    record
}

/* ------------------------------------- helpers -------------------------------------- */

/// Starts the function process serving `mode`, with `env` besides Lambda's.
async fn start(mode: &str, env: &[(&str, &str)]) -> Function {
    Function::test_child(FUNCTION, mode, env).await
}

/// The identifiers a partial-failure response names, in order.
fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn link_traces(span: &FlatSpan) -> Vec<&str> {
    span.links.iter().map(|l| l.trace_id.as_str()).collect()
}

/* -------------------------------------- tests --------------------------------------- */

/// A standard queue: a failing and a panicking record are reported, the others succeed;
/// each record is a CONSUMER span linked to its producer, whichever way it names it.
#[tokio::test]
async fn sqs_batches_report_exactly_the_failed_records_and_link_each_producer() {
    let function = start("sqs", &[]).await;
    let xray = generate_trace_header();
    let (w3c, w3c_trace) = traceparent();
    let (via_sns, sns_trace) = traceparent();
    let event = batch(vec![
        sqs_record("m1", "ok", 1, &Producer::Xray(xray.clone())),
        sqs_record("m2", "fail", 1, &Producer::MessageAttribute(w3c.clone())),
        sqs_record("m3", "panic", 1, &Producer::None),
        sqs_record("m4", "ok", 3, &Producer::SnsEnvelope(via_sns.clone())),
        sqs_record("m5", "ok", 1, &Producer::Xray(xray.clone())),
    ]);
    let outcome = function.invoke(&event).await;
    let response = function.response(&outcome);
    assert_eq!(
        response,
        json!({ "batchItemFailures": [
            { "itemIdentifier": "m2" }, { "itemIdentifier": "m3" }
        ]})
    );

    let trace = function.trace(&outcome).await;
    // A partial failure: the invocation itself succeeded.
    trace.assert_batch_root("aws_sqs", "SQSQueue", 5, 2);
    let root = &trace.root;
    assert_eq!(root.attr_str("messaging.operation.type"), Some("process"));
    assert_eq!(
        root.attr_bool("serverless.redelivered"),
        Some(true),
        "m4 came back"
    );
    assert_eq!(
        root.attr_str("serverless.redelivery.reason"),
        Some("receive_count")
    );
    let xray_trace = XrayHeader::parse(&xray)
        .and_then(|header| header.otel_trace_id())
        .unwrap();
    assert_eq!(
        link_traces(root),
        [xray_trace.as_str(), w3c_trace.as_str(), sns_trace.as_str()],
        "one link per producer span"
    );

    let records = trace.records();
    let ids: Vec<&str> = records
        .iter()
        .map(|s| s.attr_str("messaging.message.id").unwrap_or_default())
        .collect();
    assert_eq!(ids, ["m1", "m2", "m3", "m4", "m5"], "{}", trace.render());
    for record in &records {
        trace.assert_child_of(record, root);
        assert_eq!(record.name, "process SQSQueue");
        record.assert_attrs([
            ("messaging.system", "aws_sqs".into()),
            ("messaging.operation.type", "process".into()),
            ("messaging.destination.name", "SQSQueue".into()),
        ]);
        // The record handler's own spans are the record's children.
        let validate: Vec<&FlatSpan> = trace
            .spans
            .iter()
            .filter(|s| s.name == "validate" && s.parent_span_id == record.span_id)
            .collect();
        assert_eq!(validate.len(), 1, "{}", trace.render());
    }
    let expected_links: [Vec<&str>; 5] = [
        vec![&xray_trace],
        vec![&w3c_trace],
        vec![],
        vec![&sns_trace],
        vec![&xray_trace],
    ];
    for (record, links) in records.iter().zip(expected_links) {
        assert_eq!(link_traces(record), links, "{}", record.name);
    }
    assert_eq!(
        records[0].links[0].span_id,
        XrayHeader::parse(&xray).unwrap().parent.unwrap()
    );
    let statuses: Vec<(bool, Vec<&str>)> = records
        .iter()
        .map(|s| (s.is_error(), s.exception_types()))
        .collect();
    assert_eq!(
        statuses,
        [
            (false, vec![]),
            (true, vec!["NotAnOrder"]),
            (true, vec!["Panic"]),
            (false, vec![]),
            (false, vec![]),
        ]
    );
    let failed = records[1].event("exception").unwrap();
    assert_eq!(
        failed.attr_str("exception.message"),
        Some("record m2 is not an order")
    );
    let panicked = records[2].event("exception").unwrap();
    assert_eq!(
        panicked.attr_str("exception.message"),
        Some("record m3 panicked")
    );
    assert_eq!(records[3].attr_bool("serverless.redelivered"), Some(true));
    assert_eq!(records[0].attr_bool("serverless.redelivered"), None);

    // The process went on: a clean batch of first deliveries after the panic.
    let clean = function
        .invoke(&batch(vec![sqs_record("n1", "ok", 1, &Producer::None)]))
        .await;
    assert_eq!(
        function.response(&clean),
        json!({ "batchItemFailures": [] })
    );
    let spans = function.wait_for_traces(&[&clean.request_id]).await;
    let root = Trace::of(&spans, &clean.request_id).root;
    assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
    assert_eq!(root.attr_bool("serverless.redelivered"), None);
    assert_eq!(root.attr_i64("serverless.batch.failed_count"), Some(0));
    function.stop().await;
}

/// A batch of which every record failed is still a well-formed response, and the
/// invocation shows as failed.
#[tokio::test]
async fn a_batch_where_every_record_failed_fails_the_invocation() {
    let function = start("sqs", &[]).await;
    let event = batch(vec![
        sqs_record("m1", "fail", 1, &Producer::None),
        sqs_record("m2", "panic", 1, &Producer::None),
    ]);
    let outcome = function.invoke(&event).await;
    assert_eq!(failures(&function.response(&outcome)), ["m1", "m2"]);
    let trace = function.trace(&outcome).await;
    assert_eq!(
        trace.root.attr_str("serverless.outcome"),
        Some("error:handled")
    );
    assert!(trace.root.is_error());
    assert_eq!(
        trace.root.attr_i64("serverless.batch.failed_count"),
        Some(2)
    );
    assert_eq!(trace.records().len(), 2, "{}", trace.render());
    assert!(trace.records().iter().all(|s| s.is_error()));
    function.stop().await;
}

/// A FIFO queue (the AWS documentation's sample): a failed record's later group members
/// are reported without being run; other groups go on.
#[tokio::test]
async fn sqs_fifo_batches_keep_each_message_group_in_order() {
    let function = start("sqs", &[]).await;
    let event = batch(vec![
        fifo_record("a1", "a", "ok"),
        fifo_record("a2", "a", "fail"),
        fifo_record("b1", "b", "ok"),
        fifo_record("a3", "a", "ok"),
        fifo_record("b2", "b", "panic"),
        fifo_record("c1", "c", "ok"),
        fifo_record("b3", "b", "ok"),
    ]);
    let outcome = function.invoke(&event).await;
    assert_eq!(
        failures(&function.response(&outcome)),
        ["a2", "a3", "b2", "b3"]
    );
    let spans = function.wait_for_traces(&[&outcome.request_id]).await;
    let trace = Trace::of(&spans, &outcome.request_id);
    assert_eq!(trace.root.name, "process fifo.fifo");
    assert_eq!(
        trace.root.attr_i64("serverless.batch.failed_count"),
        Some(4)
    );
    assert_eq!(
        trace.root.attr_i64("serverless.batch.skipped_count"),
        Some(2)
    );
    let records = trace.records();
    let seen: Vec<(&str, Vec<&str>, Option<bool>)> = records
        .iter()
        .map(|s| {
            (
                s.attr_str("messaging.message.id").unwrap_or_default(),
                s.exception_types(),
                s.attr_bool("serverless.batch.skipped"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("a1", vec![], None),
            ("a2", vec!["NotAnOrder"], None),
            ("b1", vec![], None),
            ("a3", vec!["MessageGroupFailed"], Some(true)),
            ("b2", vec!["Panic"], None),
            ("c1", vec![], None),
            ("b3", vec!["MessageGroupFailed"], Some(true)),
        ],
        "{}",
        trace.render()
    );
    // Records that did not run have no child spans.
    let validated = trace.spans.iter().filter(|s| s.name == "validate").count();
    assert_eq!(validated, 5);
    function.stop().await;
}

/// Records of a standard queue run concurrently under `SqsProcessor::concurrency`.
#[tokio::test]
async fn standard_queues_run_records_concurrently_when_asked() {
    let function = start("sqs_concurrent", &[]).await;
    let records = (1..=8)
        .map(|n| {
            let body = if n == 6 { "fail" } else { "sleep" };
            sqs_record(&format!("m{n}"), body, 1, &Producer::None)
        })
        .collect();
    let outcome = function.invoke(&batch(records)).await;
    assert_eq!(failures(&function.response(&outcome)), ["m6"]);
    let trace = function.trace(&outcome).await;
    let records = trace.records();
    assert_eq!(records.len(), 8);
    // At most four at once, and more than one.
    let most = records
        .iter()
        .map(|r| {
            records
                .iter()
                .filter(|o| {
                    o.start_unix_nano <= r.start_unix_nano && r.start_unix_nano < o.end_unix_nano
                })
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        (2..=4).contains(&most),
        "{most} at once:\n{}",
        trace.render()
    );
    function.stop().await;
}

/// A Kinesis stream (the AWS sample): processing stops at the first failure, whose
/// sequence number is reported; Lambda's retry from it is recognised as a redelivery.
#[tokio::test]
async fn kinesis_batches_stop_at_the_first_failure_and_retries_are_seen() {
    let function = start("kinesis", &[]).await;
    let event = batch(vec![
        kinesis_record("4956816737333333333300001", "ok"),
        kinesis_record("4956816737333333333300002", "panic"),
        kinesis_record("4956816737333333333300003", "ok"),
        kinesis_record("4956816737333333333300004", "fail"),
    ]);
    let outcome = function.invoke(&event).await;
    assert_eq!(
        function.response(&outcome),
        json!({ "batchItemFailures": [{ "itemIdentifier": "4956816737333333333300002" }] })
    );
    // The retry starts at the failed record.
    let mut retry = event.clone();
    retry["Records"].as_array_mut().unwrap().remove(0);
    let retried = function.invoke(&retry).await;
    assert_eq!(
        failures(&function.response(&retried)),
        ["4956816737333333333300002"]
    );
    let spans = function
        .wait_for_traces(&[&outcome.request_id, &retried.request_id])
        .await;

    let trace = Trace::of(&spans, &outcome.request_id);
    trace.assert_kinesis_root("simple-stream", 4, 1, 2);
    let root = &trace.root;
    let records = trace.records();
    let seen: Vec<(&str, Vec<&str>)> = records
        .iter()
        .map(|s| {
            (
                s.attr_str("messaging.message.id").unwrap_or_default(),
                s.exception_types(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("4956816737333333333300001", vec![]),
            ("4956816737333333333300002", vec!["Panic"]),
        ]
    );
    for record in &records {
        trace.assert_child_of(record, root);
        assert_eq!(record.name, "process simple-stream");
        assert_eq!(
            record.attr_str("messaging.destination.partition.id"),
            Some("shardId-000000000000")
        );
    }
    let retry_root = Trace::of(&spans, &retried.request_id).root;
    assert_eq!(retry_root.attr_bool("serverless.redelivered"), Some(true));
    assert_eq!(
        retry_root.attr_str("serverless.redelivery.reason"),
        Some("batch_seen")
    );
    function.stop().await;
}

/// A DynamoDB stream (the AWS sample): the same ordering rule, and the table as the
/// document collection.
#[tokio::test]
async fn dynamodb_batches_stop_at_the_first_failure() {
    let function = start("dynamodb", &[]).await;
    let event = batch(vec![
        dynamodb_record("1405400000000002063282831", "c4ca4238-ok", "INSERT"),
        dynamodb_record("1405400000000002063282832", "c81e728d-fail", "MODIFY"),
        dynamodb_record("1405400000000002063282833", "eccbc87e-ok", "REMOVE"),
    ]);
    let outcome = function.invoke(&event).await;
    assert_eq!(
        function.response(&outcome),
        json!({ "batchItemFailures": [{ "itemIdentifier": "1405400000000002063282832" }] })
    );
    let whole = function.invoke(&events::fixture("dynamodb")).await;
    assert_eq!(
        function.response(&whole),
        json!({ "batchItemFailures": [] })
    );
    let spans = function
        .wait_for_traces(&[&outcome.request_id, &whole.request_id])
        .await;
    let trace = Trace::of(&spans, &outcome.request_id);
    let root = &trace.root;
    assert_eq!(root.name, "process Example-Table");
    root.assert_attrs([
        ("faas.trigger", "datasource".into()),
        ("messaging.system", "aws.dynamodb".into()),
        ("faas.document.collection", "Example-Table".into()),
        ("faas.document.operation", "multiple".into()),
        ("faas.document.time", "2016-12-02T01:27:00Z".into()),
        ("serverless.batch.skipped_count", 1.into()),
    ]);
    let records = trace.records();
    assert_eq!(records.len(), 2, "{}", trace.render());
    assert_eq!(records[1].exception_types(), ["NotAnOrder"]);
    assert_eq!(
        records[1].attr_str("messaging.message.id"),
        Some("1405400000000002063282832")
    );
    let sample = Trace::of(&spans, &whole.request_id).root;
    assert_eq!(sample.attr_str("faas.document.operation"), Some("insert"));
    assert_eq!(sample.attr_str("serverless.outcome"), Some("success"));
    function.stop().await;
}

/// Every other source's root span comes from its event alone: SNS (its producer as the
/// parent), S3, EventBridge, schedules; and an asynchronous retry (the same request id
/// again) is a redelivery.
#[tokio::test]
async fn every_source_gets_its_root_span_from_the_event() {
    let function = start(
        "plain",
        &[("SERVERLESS_SDK_SCHEDULE_EXPRESSION", "cron(0 12 * * ? *)")],
    )
    .await;
    let (w3c, w3c_trace) = traceparent();
    let mut sns = events::fixture("sns");
    sns["Records"][0]["Sns"]["MessageAttributes"] =
        json!({ "traceparent": { "Type": "String", "Value": w3c } });
    let cases = [
        ("sns", sns),
        ("s3", events::fixture("s3")),
        ("eventbridge", events::fixture("eventbridge-event")),
        ("schedule", events::eventbridge_schedule()),
    ];
    let mut roots = BTreeMap::new();
    for (name, event) in cases {
        let outcome = function.invoke(&event).await;
        assert_eq!(function.response(&outcome), json!({ "ok": true }));
        let spans = function.wait_for_traces(&[&outcome.request_id]).await;
        roots.insert(name, Trace::of(&spans, &outcome.request_id).root);
    }

    let sns = &roots["sns"];
    assert_eq!(sns.name, "process snsNetTest");
    assert_eq!(sns.kind_name(), "consumer");
    sns.assert_attrs([
        ("faas.trigger", "pubsub".into()),
        ("messaging.system", "aws.sns".into()),
        ("messaging.destination.name", "snsNetTest".into()),
        (
            "messaging.message.id",
            "82833b5c-8d5d-56d0-b0e1-7511f8253eb8".into(),
        ),
    ]);
    assert_eq!(sns.trace_id, w3c_trace, "the producer is the parent");
    assert_eq!(sns.parent_span_id, w3c.split('-').nth(2).unwrap());

    let s3 = &roots["s3"];
    assert_eq!(s3.name, "s3 ObjectCreated:Put sourcebucket");
    assert_eq!(s3.kind_name(), "server");
    s3.assert_attrs([
        ("faas.trigger", "datasource".into()),
        ("faas.document.collection", "sourcebucket".into()),
        ("faas.document.operation", "insert".into()),
        ("faas.document.name", "Happy Face.jpg".into()),
        ("faas.document.time", "1970-01-01T00:00:00.123Z".into()),
    ]);

    let eventbridge = &roots["eventbridge"];
    assert_eq!(
        eventbridge.name,
        "aws.ec2 EC2 Instance State-change Notification"
    );
    assert_eq!(eventbridge.attr_str("faas.trigger"), Some("pubsub"));
    assert_eq!(
        eventbridge.attr_str("messaging.message.id"),
        Some("7bf73129-1428-4cd3-a780-95db273d1602")
    );

    let schedule = &roots["schedule"];
    assert_eq!(schedule.name, FUNCTION, "a timer keeps the function's name");
    assert_eq!(schedule.kind_name(), "server");
    schedule.assert_attrs([
        ("faas.trigger", "timer".into()),
        ("faas.time", "2015-10-08T16:53:06Z".into()),
        ("faas.cron", "0 12 * * ? *".into()),
    ]);
    for root in roots.values() {
        assert_eq!(
            root.attr_bool("serverless.redelivered"),
            None,
            "{}",
            root.name
        );
    }

    // Lambda retries an asynchronous invocation with the same request id.
    let retry = InvokeOptions {
        request_id: Some("3f6a9bb2-async-retry".to_owned()),
        ..InvokeOptions::default()
    };
    let first = function
        .invoke_with(&events::fixture("s3"), retry.clone())
        .await;
    let again = function.invoke_with(&events::fixture("s3"), retry).await;
    assert_eq!(first.request_id, again.request_id);
    function.response(&again);
    let roots = function
        .wait_for(
            || format!("two root spans for {}", first.request_id),
            || {
                let roots: Vec<FlatSpan> = function
                    .stdout_spans()
                    .into_iter()
                    .filter(|s| s.attr_str("faas.invocation_id") == Some(first.request_id.as_str()))
                    .collect();
                (roots.len() == 2).then_some(roots)
            },
        )
        .await;
    let reasons: Vec<Option<&str>> = roots
        .iter()
        .map(|r| r.attr_str("serverless.redelivery.reason"))
        .collect();
    assert_eq!(reasons, [None, Some("request_id_seen")]);
    function.stop().await;
}

/// 1,000 SQS batches of 10 with random failures and panics: every failed record is in its
/// response, and its span has exactly one `exception` event; no other span has one.
#[tokio::test]
async fn soak_a_thousand_batches_lose_no_record() {
    const BATCHES: usize = 1_000;
    const IN_FLIGHT: usize = 16;
    let function = start("sqs", &[]).await;
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sent = Vec::with_capacity(BATCHES);
    for b in 0..BATCHES {
        let mut failed = Vec::new();
        let records = (0..10)
            .map(|r| {
                let id = format!("b{b}-r{r}");
                let body = match rng.u8(..100) {
                    0..15 => "fail",
                    15..20 => "panic",
                    _ => "ok",
                };
                if body != "ok" {
                    failed.push(id.clone());
                }
                sqs_record(&id, body, 1, &Producer::None)
            })
            .collect();
        let request_id = format!("soak-{seed:016x}-{b:04}");
        expected.insert(request_id.clone(), failed);
        sent.push((request_id, batch(records)));
    }

    let started = std::time::Instant::now();
    let mut outcomes = Vec::with_capacity(BATCHES);
    for chunk in sent.chunks(IN_FLIGHT) {
        let mut tasks = tokio::task::JoinSet::new();
        for (request_id, event) in chunk.iter().cloned() {
            let api = function.api.clone();
            tasks.spawn(async move {
                let options = InvokeOptions {
                    request_id: Some(request_id),
                    ..InvokeOptions::default()
                };
                api.invoke_with(event.to_string(), options).await
            });
        }
        while let Some(outcome) = tasks.join_next().await {
            outcomes.push(outcome.unwrap());
        }
    }
    for outcome in &outcomes {
        let response = function.response(outcome);
        assert_eq!(
            failures(&response),
            expected[&outcome.request_id],
            "seed {seed:#x}, {}",
            outcome.request_id
        );
    }
    let ids: Vec<&str> = outcomes.iter().map(|o| o.request_id.as_str()).collect();
    let spans = function.wait_for_traces(&ids).await;
    let elapsed = started.elapsed();

    let mut exceptions_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut records = 0;
    for span in spans
        .iter()
        .filter(|s| s.kind_name() == "consumer" && s.attr("faas.invocation_id").is_none())
    {
        records += 1;
        let id = span.attr_str("messaging.message.id").unwrap_or_default();
        let count = span.events_named("exception").count();
        assert!(
            count == usize::from(span.is_error()),
            "{id}: {count} exceptions"
        );
        *exceptions_of.entry(id).or_default() += count;
    }
    assert_eq!(records, BATCHES * 10, "one span per record");
    let failed: usize = expected.values().map(Vec::len).sum();
    assert_eq!(
        exceptions_of.values().sum::<usize>(),
        failed,
        "seed {seed:#x}"
    );
    for id in expected.values().flatten() {
        assert_eq!(
            exceptions_of.get(id.as_str()),
            Some(&1),
            "{id}, seed {seed:#x}"
        );
    }
    for root in spans
        .iter()
        .filter(|s| s.attr("faas.invocation_id").is_some())
    {
        let request_id = root.attr_str("faas.invocation_id").unwrap_or_default();
        let failed = i64::try_from(expected[request_id].len()).unwrap();
        assert_eq!(root.attr_i64("serverless.batch.failed_count"), Some(failed));
    }
    eprintln!("{BATCHES} batches, {failed} failed records, {elapsed:?}");
    function.stop().await;
}
