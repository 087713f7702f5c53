//! Calls annotated functions directly (no runtime loop) and reads what the exporter wrote.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use serverless_sdk::{
    Config, capture_exception, export::Exporter, serverless_handler, span, tag_event,
};
use serverless_sdk_tests::{events::lambda_event as event, otlp::STATUS_ERROR, recorder::Recorder};

#[derive(Debug, thiserror::Error)]
#[error("Account {0} is in use!")]
struct AccountAlreadyExistsException(String);

/// What the SDK of this process exports.
fn recorder() -> Recorder {
    Recorder::global(|recorder| {
        serverless_sdk::init(Config::from_env().with_exporter(Exporter::Writer(recorder.writer())));
    })
}

#[span("pricing")]
async fn price(qty: u64) -> Result<u64, AccountAlreadyExistsException> {
    if qty == 0 {
        return Err(AccountAlreadyExistsException("zero".into()));
    }
    Ok(qty * 3)
}

#[span]
fn checksum(data: &[u8]) -> u32 {
    data.iter().map(|b| u32::from(*b)).sum()
}

#[serverless_handler]
#[serverless_sdk::route(POST, "/accounts/{id}")]
async fn create_account(event: LambdaEvent<Value>) -> Result<Value, AccountAlreadyExistsException> {
    tag_event(
        "customer-id",
        "42",
        json!({ "demoUser": "true", "password": "hunter2" }),
    );
    let total = price(2).await?;
    let _ = price(0).await;
    checksum(b"ab");
    if event.payload["username"] == "taken" {
        return Err(AccountAlreadyExistsException("taken".into()));
    }
    if event.payload["username"] == "handled" {
        capture_exception(&std::io::Error::other("disk full"));
    }
    if event.payload["username"] == "panic" {
        panic!("kaboom");
    }
    Ok(json!({ "total": total }))
}

#[tokio::test]
async fn handler_outcomes_are_exported() {
    let recorder = recorder();
    let _ = recorder.take_text();

    let ok = create_account(event(json!({"username": "bob"}))).await;
    assert_eq!(ok.unwrap(), json!({"total": 6}));
    let err = create_account(event(json!({"username": "taken"})))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "AccountAlreadyExistsException");
    assert_eq!(err.error_message, "Account taken is in use!");
    let panicked = create_account(event(json!({"username": "panic"})))
        .await
        .unwrap_err();
    assert_eq!(panicked.error_type, "Panic");
    assert!(panicked.error_message.contains("kaboom"));
    let handled = create_account(event(json!({"username": "handled"}))).await;
    assert!(handled.is_ok());

    let exports = recorder.take_exports();
    assert_eq!(exports.len(), 4, "{exports:#?}");
    let first = &exports[0];
    let root = &first[0];
    assert_eq!(root.name, "POST /accounts/{id}");
    assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
    assert_eq!(root.attr_str("serverless.tag.customer-id"), Some("42"));
    let custom = root.attr_str("serverless.tag.customer-id.custom").unwrap();
    assert!(!custom.contains("hunter2"), "{custom}");
    let names: Vec<&str> = first.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["POST /accounts/{id}", "pricing", "pricing", "checksum"]
    );
    for child in &first[1..] {
        assert_eq!(child.parent_span_id, root.span_id);
        assert_eq!(child.trace_id, root.trace_id);
    }
    // The failed `#[span]` has status ERROR and an exception event; the invocation is fine.
    assert_eq!(first[2].status_code, STATUS_ERROR);
    assert_eq!(first[2].events[0].name, "exception");

    let outcome = |i: usize| exports[i][0].attr_str("serverless.outcome");
    assert_eq!(outcome(1), Some("error:unhandled"));
    assert_eq!(outcome(2), Some("error:unhandled"));
    assert_eq!(outcome(3), Some("error:handled"));
    let panic_event = &exports[2][0].events[0];
    assert_eq!(panic_event.attr_str("exception.type"), Some("Panic"));
}
