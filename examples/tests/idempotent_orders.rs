//! `idempotent_orders`: one order per `idempotencyKey`, the repeats answered with the first
//! call's response, against DynamoDB on moto and with the in-memory store.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with the event files its documentation names (`tests/fixtures/`); the test checks
//! the exact responses, the telemetry it prints on stdout (one OTLP/JSON line per
//! invocation) and, on moto, the table. Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::{Value, json};
use serverless_sdk_tests::{
    moto::{Moto, SECRET_ACCESS_KEY},
    prelude::*,
};

/// The `idempotencyKey` of `idempotent-order.json`: it must never leave the function.
const KEY: &str = "checkout-7f3a9c2e-41d6-4b8a-9e15-c0d2b6a4f871";

const TABLE: &str = "idempotency";

/// The example's environment for DynamoDB on `moto`.
fn on_moto(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut vars = vec![("IDEMPOTENCY_TABLE", TABLE.to_owned())];
    vars.extend(moto.function_env());
    vars
}

fn borrowed<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The `idempotency` span of `trace`, a child of the root, with its outcome and key hash.
fn idempotency_span<'t>(trace: &'t Trace, outcome: &str) -> &'t FlatSpan {
    let span = trace.named("idempotency");
    trace.assert_child_of(span, &trace.root);
    assert_eq!(
        span.attr_str("idempotency.outcome"),
        Some(outcome),
        "{}",
        trace.render()
    );
    let hash = span.attr_str("idempotency.key_hash").unwrap_or_default();
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash:?}"
    );
    span
}

/// A first call runs `orders.insert` inside the `idempotency` span.
fn assert_ran(trace: &Trace) -> String {
    let idem = idempotency_span(trace, "run");
    assert_eq!(
        trace.child(idem, "orders.insert").parent_span_id,
        idem.span_id
    );
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    idem.attr_str("idempotency.key_hash")
        .unwrap_or_default()
        .to_owned()
}

/// A repeat is answered from the store: nothing runs under the `idempotency` span.
fn assert_replayed(trace: &Trace) -> String {
    let idem = idempotency_span(trace, "replayed");
    assert!(trace.children(idem).is_empty(), "{}", trace.render());
    assert!(trace.all_named("orders.insert").is_empty(), "ran again");
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    idem.attr_str("idempotency.key_hash")
        .unwrap_or_default()
        .to_owned()
}

/// The order `create_order` made for `idempotent-order.json`.
fn assert_is_the_order(order: &Value) {
    assert_eq!(order["customerId"], "c-42");
    assert_eq!(order["totalCents"], 2 * 1299 + 850);
    let id = order["orderId"].as_str().unwrap_or_default();
    assert!(id.starts_with("ord_") && id.len() == 20, "{order}");
    assert!(order["createdAt"].as_str().is_some(), "{order}");
}

#[tokio::test]
async fn idempotent_orders_replays_the_first_response_from_dynamodb() {
    let moto = Moto::start().await.unwrap_or_else(|e| panic!("{e}"));
    moto.create_idempotency_table(TABLE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let vars = on_moto(&moto);
    let function = example_function!("idempotent_orders", &borrowed(&vars)).await;
    let event = events::fixture("idempotent-order.json");
    assert_eq!(event["idempotencyKey"], KEY);

    let first = function.invoke(&event).await;
    let second = function.invoke(&event).await;
    let order = function.response(&first);
    assert_is_the_order(&order);
    assert_eq!(
        function.response(&second),
        order,
        "the second call returns the first call's response"
    );

    let trace = function.trace(&first).await;
    let hash = assert_ran(&trace);
    // The claim, then the response stored from inside the span.
    let claim = trace.named("DynamoDB.PutItem");
    trace.assert_child_of(claim, &trace.root);
    assert!(!claim.is_error());
    let stored = trace.named("DynamoDB.UpdateItem");
    assert_eq!(trace.parent_name(stored), Some("idempotency"));

    let trace = function.trace(&second).await;
    assert_eq!(assert_replayed(&trace), hash);
    // The claim fails its condition and brings the stored record back: one round trip.
    let claim = trace.named("DynamoDB.PutItem");
    assert_eq!(
        claim.attr_str("error.type"),
        Some("ConditionalCheckFailedException")
    );
    assert!(trace.all_named("DynamoDB.UpdateItem").is_empty());
    assert!(trace.all_named("DynamoDB.GetItem").is_empty());

    // The table holds one completed record under the key's hash, and not the key.
    let scan = moto
        .dynamodb("Scan", &json!({ "TableName": TABLE }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let items = scan["Items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{scan}");
    let item = &items[0];
    assert_eq!(item["id"]["S"], format!("idempotent_orders#{hash}"));
    assert_eq!(item["status"]["S"], "COMPLETED");
    let data: Value = serde_json::from_str(item["data"]["S"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {item}"));
    assert_eq!(data, order);
    assert!(item["expiration"]["N"].as_str().is_some(), "{item}");
    assert!(
        !scan.to_string().contains(KEY),
        "the raw key is stored: {scan}"
    );

    // Another execution environment of the function shares the table.
    let other = example_function!("idempotent_orders", &borrowed(&vars)).await;
    let third = other.invoke(&event).await;
    assert_eq!(other.response(&third), order);
    assert_eq!(assert_replayed(&other.trace(&third).await), hash);

    // The key reused for other items: rejected, not replayed.
    let changed = function
        .invoke(&events::fixture("idempotent-order-changed.json"))
        .await;
    let report = changed.expect_error("IdempotencyValidationError");
    assert!(!report.error_message.contains(KEY), "{report:?}");
    let trace = function.trace(&changed).await;
    let idem = idempotency_span(&trace, "payload_mismatch");
    assert!(idem.is_error());
    assert_eq!(idem.exception_types(), ["IdempotencyValidationError"]);
    assert!(trace.all_named("orders.insert").is_empty());

    for process in [&function, &other] {
        let telemetry = process.process.stdout_text();
        assert!(!telemetry.contains(KEY), "the raw key left the function");
        assert!(!telemetry.contains(SECRET_ACCESS_KEY));
    }
    function.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn idempotent_orders_runs_locally_with_the_in_memory_store() {
    // No IDEMPOTENCY_TABLE: records in the process's memory.
    let function = example_function!("idempotent_orders").await;
    let event = events::fixture("idempotent-order.json");
    let first = function.invoke(&event).await;
    let second = function.invoke(&event).await;
    let order = function.response(&first);
    assert_is_the_order(&order);
    assert_eq!(function.response(&second), order);
    let trace = function.trace(&first).await;
    let hash = assert_ran(&trace);
    assert!(trace.of_kind("client").is_empty(), "{}", trace.render());
    assert_eq!(assert_replayed(&function.trace(&second).await), hash);

    // Another key is another order.
    let mut other_key = event.clone();
    other_key["idempotencyKey"] = json!("checkout-2");
    let other = function.invoke(&other_key).await;
    let other_order = function.response(&other);
    assert_ne!(other_order["orderId"], order["orderId"]);
    assert_ne!(assert_ran(&function.trace(&other).await), hash);

    let changed = function
        .invoke(&events::fixture("idempotent-order-changed.json"))
        .await;
    changed.expect_error("IdempotencyValidationError");
    assert!(!function.process.stdout_text().contains(KEY));
    function.stop().await;

    // Memory is per process: a new execution environment does not know the key.
    let fresh = example_function!("idempotent_orders").await;
    let again = fresh.invoke(&event).await;
    assert_ne!(fresh.response(&again)["orderId"], order["orderId"]);
    assert_ran(&fresh.trace(&again).await);
    fresh.stop().await;
}
