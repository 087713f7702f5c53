//! Calls annotated functions directly (no runtime loop) and reads what the exporter wrote.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::sync::{Arc, Mutex};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use serverless_sdk::{Config, Exporter, capture_exception, serverless_handler, span, tag_event};

#[derive(Debug, thiserror::Error)]
#[error("Account {0} is in use!")]
struct AccountAlreadyExistsException(String);

static OUT: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

fn output() -> Arc<Mutex<Vec<u8>>> {
    OUT.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        serverless_sdk::init(Config::from_env().with_exporter(Exporter::Writer(buf.clone())));
        buf
    })
    .clone()
}

fn take_lines() -> Vec<Value> {
    let out = output();
    let mut buf = out.lock().unwrap();
    let text = String::from_utf8(std::mem::take(&mut *buf)).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
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

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn spans(line: &Value) -> Vec<Value> {
    line["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .clone()
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[tokio::test]
async fn handler_outcomes_are_exported() {
    output();
    let _ = take_lines();

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

    let lines = take_lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let first = spans(&lines[0]);
    let root = &first[0];
    assert_eq!(root["name"], "POST /accounts/{id}");
    assert_eq!(
        attr(root, "serverless.outcome").unwrap()["stringValue"],
        "success"
    );
    assert_eq!(
        attr(root, "serverless.tag.customer-id").unwrap()["stringValue"],
        "42"
    );
    let custom = attr(root, "serverless.tag.customer-id.custom").unwrap()["stringValue"]
        .as_str()
        .unwrap();
    assert!(!custom.contains("hunter2"), "{custom}");
    let names: Vec<&str> = first.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["POST /accounts/{id}", "pricing", "pricing", "checksum"]
    );
    let root_id = root["spanId"].as_str().unwrap();
    for child in &first[1..] {
        assert_eq!(child["parentSpanId"], root_id);
        assert_eq!(child["traceId"], root["traceId"]);
    }
    // The failed `#[span]` has status ERROR and an exception event; the invocation is fine.
    assert_eq!(first[2]["status"]["code"], 2);
    assert_eq!(first[2]["events"][0]["name"], "exception");

    let outcome =
        |i: usize| attr(&spans(&lines[i])[0], "serverless.outcome").unwrap()["stringValue"].clone();
    assert_eq!(outcome(1), "error:unhandled");
    assert_eq!(outcome(2), "error:unhandled");
    assert_eq!(outcome(3), "error:handled");
    let panic_event = &spans(&lines[2])[0]["events"][0];
    let ty = panic_event["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "exception.type")
        .unwrap();
    assert_eq!(ty["value"]["stringValue"], "Panic");
}
