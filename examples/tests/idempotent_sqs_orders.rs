//! `idempotent_sqs_orders`: idempotency inside a `process_sqs` record handler, one order per
//! message body; a repeated body and a redelivered batch are replayed, not run.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with the event file its documentation names (`tests/fixtures/`); the test checks
//! the exact responses, the telemetry it prints on stdout (one OTLP/JSON line per
//! invocation) and, on moto, the table. Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::{Value, json};
use serverless_sdk_tests::{moto::Moto, prelude::*};

const TABLE: &str = "idempotency";

/// The `idempotency` span of each record, in record order.
fn idempotency_spans(trace: &Trace) -> Vec<&FlatSpan> {
    trace
        .records()
        .into_iter()
        .map(|record| trace.child(record, "idempotency"))
        .collect()
}

/// The outcome of each record's `idempotency` span, in record order, checking that a record
/// that ran created its order inside the span and that a replayed one did nothing there.
fn outcomes(trace: &Trace) -> Vec<String> {
    idempotency_spans(trace)
        .into_iter()
        .map(|idem| {
            let outcome = idem
                .attr_str("idempotency.outcome")
                .unwrap_or_default()
                .to_owned();
            match outcome.as_str() {
                // With DynamoDB, `DynamoDB.UpdateItem` (the response stored) beside it.
                "run" => assert!(trace.child_names(idem).contains(&"orders.insert")),
                _ => assert!(trace.children(idem).is_empty(), "{}", trace.render()),
            }
            outcome
        })
        .collect()
}

/// The key hash of each record's `idempotency` span.
fn key_hashes(trace: &Trace) -> Vec<String> {
    idempotency_spans(trace)
        .into_iter()
        .map(|idem| {
            idem.attr_str("idempotency.key_hash")
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Invokes `function` with `batch`, checks that no record failed, and returns the trace.
async fn invoke_clean(function: &Function, batch: &Value) -> Trace {
    let outcome = function.invoke(batch).await;
    assert_eq!(
        function.response(&outcome),
        json!({ "batchItemFailures": [] })
    );
    function.trace(&outcome).await
}

/// `batch` delivered again: every record's `ApproximateReceiveCount` is 2.
fn redelivered(mut batch: Value) -> Value {
    for record in batch["Records"].as_array_mut().into_iter().flatten() {
        record["attributes"]["ApproximateReceiveCount"] = json!("2");
    }
    batch
}

#[tokio::test]
async fn idempotent_sqs_orders_creates_one_order_per_body_in_dynamodb() {
    let moto = Moto::start().await.unwrap_or_else(|e| panic!("{e}"));
    moto.create_idempotency_table(TABLE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut vars = vec![("IDEMPOTENCY_TABLE", TABLE.to_owned())];
    vars.extend(moto.function_env());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let function = example_function!("idempotent_sqs_orders", &vars).await;
    let batch = events::fixture("idempotent-sqs-orders.json");

    // The second record repeats the first's body: replayed.
    let trace = invoke_clean(&function, &batch).await;
    assert_eq!(outcomes(&trace), ["run", "replayed", "run"]);
    let hashes = key_hashes(&trace);
    assert_eq!(hashes[0], hashes[1]);
    assert_ne!(hashes[0], hashes[2]);
    assert_eq!(
        trace.root.attr_i64("serverless.batch.failed_count"),
        Some(0)
    );

    // The whole batch redelivered to another execution environment: nothing runs.
    let other = example_function!("idempotent_sqs_orders", &vars).await;
    let trace = invoke_clean(&other, &redelivered(batch.clone())).await;
    assert_eq!(trace.root.attr_bool("serverless.redelivered"), Some(true));
    assert_eq!(outcomes(&trace), ["replayed", "replayed", "replayed"]);
    assert_eq!(key_hashes(&trace), hashes);
    assert!(trace.all_named("orders.insert").is_empty());

    // A broken record fails alone and its record is deleted: its retry runs again.
    let order = r#"{"orderRequestId": "req-1003", "customerId": "c-9", "totalCents": 100}"#;
    let mixed = events::sqs(&["not an order", order]);
    let failed = function.invoke(&mixed).await;
    assert_eq!(
        function.response(&failed),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_1" }] })
    );
    let trace = function.trace(&failed).await;
    assert!(trace.records()[0].is_error());
    assert!(!trace.records()[1].is_error());
    let retry = function.invoke(&redelivered(mixed)).await;
    assert_eq!(
        function.response(&retry),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_1" }] })
    );
    let trace = function.trace(&retry).await;
    let [broken, replayed] = idempotency_spans(&trace)[..] else {
        panic!("two records: {}", trace.render());
    };
    assert_eq!(broken.attr_str("idempotency.outcome"), Some("run"));
    assert!(trace.child_names(broken).contains(&"orders.insert"));
    assert_eq!(replayed.attr_str("idempotency.outcome"), Some("replayed"));

    // One record per distinct order body, none for the broken one; the bodies (the keys)
    // are not stored, only their hashes and the responses.
    let scan = moto
        .dynamodb("Scan", &json!({ "TableName": TABLE }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan["Count"], 3, "{scan}");
    assert!(!scan.to_string().contains("customerId"), "{scan}");
    function.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn idempotent_sqs_orders_runs_locally_with_the_in_memory_store() {
    let function = example_function!("idempotent_sqs_orders").await;
    let batch = events::fixture("idempotent-sqs-orders.json");
    let first = invoke_clean(&function, &batch).await;
    assert_eq!(outcomes(&first), ["run", "replayed", "run"]);
    // Invoked again, as the documentation suggests: a redelivery of the whole batch.
    let again = invoke_clean(&function, &batch).await;
    assert_eq!(outcomes(&again), ["replayed", "replayed", "replayed"]);
    function.stop().await;
}
