//! The `tracing` layer: one tree whichever API made each node, events and breadcrumbs,
//! JSON logs whose ids match the exported spans, and error fingerprints.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use serverless_sdk::{
    Config, Exporter, LambdaLogFormat, integrations::tracing::ServerlessTracingLayer,
    serverless_handler, span,
};
use tracing_subscriber::prelude::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

struct Outputs {
    telemetry: Buffer,
    logs: Buffer,
}

fn outputs() -> &'static Outputs {
    static OUT: OnceLock<Outputs> = OnceLock::new();
    OUT.get_or_init(|| {
        let telemetry = Buffer::default();
        let logs = Buffer::default();
        serverless_sdk::init(
            Config::from_env()
                .with_exporter(Exporter::Writer(Arc::new(Mutex::new(telemetry.clone())))),
        );
        let log_writer = logs.clone();
        tracing_subscriber::registry()
            .with(ServerlessTracingLayer::new())
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(LambdaLogFormat::json())
                    .with_writer(move || log_writer.clone()),
            )
            .init();
        Outputs { telemetry, logs }
    })
}

fn spans_of(line: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(line).unwrap();
    v["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .clone()
}

fn attr(span_or_event: &Value, key: &str) -> Value {
    span_or_event["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| a["value"].clone())
        .unwrap_or(Value::Null)
}

fn by_name<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[derive(Debug, thiserror::Error)]
#[error("payment {0} declined")]
struct Declined(u32);

#[span("sdk.inner")]
fn sdk_inner() -> u32 {
    tracing::warn!(retries = 3, "slow dependency");
    1
}

#[tracing::instrument]
async fn traced_middle(n: u32) -> u32 {
    tokio::task::yield_now().await;
    sdk_inner() + n
}

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    let _outer = span("sdk.outer");
    drop(_outer);
    let total = span("sdk.outer").instrument(traced_middle(2)).await;
    for i in 0..40 {
        tracing::debug!(step = i, "working");
    }
    tracing::info!(user = "bob", password = "hunter2", "logged in");
    {
        // Library internals: no span, no breadcrumb; their warnings still count.
        let _internal =
            tracing::info_span!(target: "aws_smithy_runtime::client::orchestrator", "try_op")
                .entered();
        tracing::debug!(target: "hyper::proto::h1", "flushed 120 bytes");
        tracing::warn!(target: "hyper::client", "connection reset, retrying");
    }
    if let Some(n) = event.payload["decline"].as_u64() {
        let err = Declined(u32::try_from(n).unwrap());
        tracing::error!(
            error = &err as &(dyn std::error::Error + 'static),
            "payment failed"
        );
    }
    if event.payload["sites"] == true {
        for n in 1..=2 {
            serverless_sdk::capture_exception(&Declined(n)); // site A, two messages
        }
        serverless_sdk::capture_exception(&Declined(3)); // site B
    }
    Ok(json!({ "total": total }))
}

#[tokio::test]
async fn tracing_layer() {
    // One test: both parts read the process's single exporter output.
    tracing_joins_the_invocation().await;
    fingerprints_follow_type_and_site_not_message().await;
}

async fn tracing_joins_the_invocation() {
    let out = outputs();
    let _ = (out.telemetry.take(), out.logs.take());
    let ctx = || {
        let mut c = Context::default();
        c.request_id = "req-tracing".into();
        c
    };
    handler(LambdaEvent::new(json!({ "decline": 7 }), ctx()))
        .await
        .unwrap();
    handler(LambdaEvent::new(json!({ "decline": 8 }), ctx()))
        .await
        .unwrap();
    // Outside an invocation nothing is recorded.
    traced_middle(1).await;
    tracing::error!("outside");

    let telemetry = out.telemetry.take();
    let lines: Vec<&str> = telemetry.lines().collect();
    assert_eq!(lines.len(), 2, "{telemetry}");
    let spans = spans_of(lines[0]);
    let root = &spans[0];
    // SDK span → tracing span → SDK span, parents exact.
    let outer = spans
        .iter()
        .filter(|s| s["name"] == "sdk.outer")
        .nth(1)
        .unwrap();
    let middle = by_name(&spans, "traced_middle");
    let inner = by_name(&spans, "sdk.inner");
    assert_eq!(outer["parentSpanId"], root["spanId"]);
    assert_eq!(middle["parentSpanId"], outer["spanId"]);
    assert_eq!(inner["parentSpanId"], middle["spanId"]);
    assert_eq!(attr(middle, "n")["intValue"], "2");
    assert!(spans.iter().all(|s| s["name"] != "try_op"));
    let library_warning = root["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "connection reset, retrying");
    assert!(library_warning);
    // WARN became a span event on the current span.
    let warn = &inner["events"][0];
    assert_eq!(warn["name"], "slow dependency");
    assert_eq!(attr(warn, "level")["stringValue"], "WARN");
    assert_eq!(attr(warn, "retries")["intValue"], "3");
    // ERROR with an `error` field was captured, with the breadcrumbs that came before,
    // bounded to the last 32 and redacted.
    let exception = root["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "exception")
        .unwrap();
    assert_eq!(attr(exception, "exception.type")["stringValue"], "Declined");
    let crumbs = attr(exception, "exception.breadcrumbs")["arrayValue"]["values"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(crumbs.len(), 32);
    assert!(
        crumbs
            .iter()
            .all(|c| !c["stringValue"].as_str().unwrap().contains("flushed"))
    );
    let last = crumbs.last().unwrap()["stringValue"].as_str().unwrap();
    assert!(
        last.contains("logged in") && last.contains("user=bob"),
        "{last}"
    );
    assert!(!last.contains("hunter2"), "{last}");
    assert_eq!(
        attr(root, "serverless.outcome")["stringValue"],
        "error:handled"
    );

    // The same failure with another message has the same fingerprint.
    let second = spans_of(lines[1]);
    let exception2 = second[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "exception")
        .unwrap();
    assert_eq!(
        attr(exception, "exception.fingerprint"),
        attr(exception2, "exception.fingerprint")
    );
    assert_ne!(
        attr(exception, "exception.message"),
        attr(exception2, "exception.message")
    );

    // JSON log lines carry the ids of the spans they were written in.
    let logs = out.logs.take();
    let warn_line: Value = logs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["message"] == "slow dependency")
        .unwrap();
    assert_eq!(warn_line["level"], "WARN");
    assert_eq!(warn_line["requestId"], "req-tracing");
    assert_eq!(warn_line["traceId"], root["traceId"]);
    assert_eq!(warn_line["spanId"], inner["spanId"]);
    assert!(warn_line["timestamp"].as_str().unwrap().ends_with('Z'));
    let outside: Value = logs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["message"] == "outside")
        .unwrap();
    assert!(outside.get("requestId").is_none());
}

async fn fingerprints_follow_type_and_site_not_message() {
    let out = outputs();
    let mut c = Context::default();
    c.request_id = "req-sites".into();
    handler(LambdaEvent::new(json!({ "sites": true }), c))
        .await
        .unwrap();
    let telemetry = out.telemetry.take();
    let line = telemetry.lines().find(|l| l.contains("req-sites")).unwrap();
    let spans = spans_of(line);
    let prints: Vec<Value> = spans[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "exception")
        .map(|e| attr(e, "exception.fingerprint"))
        .collect();
    assert_eq!(prints.len(), 3);
    assert_eq!(prints[0], prints[1]);
    assert_ne!(prints[1], prints[2]);
}
