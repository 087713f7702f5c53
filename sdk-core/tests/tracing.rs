//! The `tracing` layer: one tree whichever API made each node, events and breadcrumbs,
//! JSON logs whose ids match the exported spans, and error fingerprints.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::sync::LazyLock;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use serverless_sdk::{
    Config, export::Exporter, integrations::tracing::LambdaLogFormat,
    integrations::tracing::ServerlessTracingLayer, serverless_handler, span,
};
use serverless_sdk_tests::{
    otlp::{FlatSpan, parse_json_line},
    recorder::Recorder,
};
use tracing_subscriber::prelude::*;

/// The JSON log lines of this process.
static LOGS: LazyLock<Recorder> = LazyLock::new(Recorder::new);

/// What the SDK of this process exports. The first call also sets up `tracing`: the SDK's
/// layer, and JSON logs into [`LOGS`].
fn telemetry() -> Recorder {
    Recorder::global(|telemetry| {
        serverless_sdk::init(
            Config::from_env().with_exporter(Exporter::Writer(telemetry.writer())),
        );
        let logs = LOGS.clone();
        tracing_subscriber::registry()
            .with(ServerlessTracingLayer::new())
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(LambdaLogFormat::json())
                    .with_writer(move || logs.clone()),
            )
            .init();
    })
}

fn by_name<'a>(spans: &'a [FlatSpan], name: &str) -> &'a FlatSpan {
    spans
        .iter()
        .find(|s| s.name == name)
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
        // A number under a sensitive name is masked; a field recorded in a loop is one
        // attribute.
        let progress = tracing::info_span!(
            "progress",
            token = 482_913_i64,
            done = tracing::field::Empty
        );
        for i in 0..1_000_i64 {
            progress.record("done", i);
        }
    }
    {
        // Attributes over the cap (128) are counted, not kept.
        let wide = span("wide");
        for i in 0..200 {
            wide.set_attribute(format!("k{i}"), i);
        }
    }
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
    let telemetry = telemetry();
    let _ = (telemetry.take_text(), LOGS.take_text());
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

    let lines = telemetry.take_text();
    let exports: Vec<Vec<FlatSpan>> = lines.lines().map(|l| parse_json_line(l).unwrap()).collect();
    assert_eq!(exports.len(), 2, "{exports:#?}");
    let spans = &exports[0];
    let root = &spans[0];
    let progress = by_name(spans, "progress");
    assert_eq!(progress.attr_str("token"), Some("[REDACTED]"));
    assert!(
        !lines.contains("482913"),
        "the masked number is in no export"
    );
    assert_eq!(progress.attr_i64("done"), Some(999));
    let first_line = lines.lines().next().unwrap();
    assert_eq!(
        first_line.matches("{\"key\":\"done\"").count(),
        1,
        "one `done` attribute"
    );
    let wide = by_name(spans, "wide");
    assert_eq!(wide.attr_i64("k127"), Some(127));
    assert_eq!(wide.attr("k128"), None);
    assert_eq!(wide.dropped_attributes_count, 72);
    // SDK span → tracing span → SDK span, parents exact.
    let outer = spans
        .iter()
        .filter(|s| s.name == "sdk.outer")
        .nth(1)
        .unwrap();
    let middle = by_name(spans, "traced_middle");
    let inner = by_name(spans, "sdk.inner");
    assert_eq!(outer.parent_span_id, root.span_id);
    assert_eq!(middle.parent_span_id, outer.span_id);
    assert_eq!(inner.parent_span_id, middle.span_id);
    assert_eq!(middle.attr_i64("n"), Some(2));
    assert!(spans.iter().all(|s| s.name != "try_op"));
    let library_warning = root
        .events
        .iter()
        .any(|e| e.name == "connection reset, retrying");
    assert!(library_warning);
    // WARN became a span event on the current span.
    let warn = &inner.events[0];
    assert_eq!(warn.name, "slow dependency");
    assert_eq!(warn.attr_str("level"), Some("WARN"));
    assert_eq!(warn.attr_i64("retries"), Some(3));
    // ERROR with an `error` field was captured, with the breadcrumbs that came before,
    // bounded to the last 32 and redacted.
    let exception = root.event("exception").unwrap();
    assert_eq!(exception.attr_str("exception.type"), Some("Declined"));
    let crumbs: Vec<&str> = exception
        .attr("exception.breadcrumbs")
        .and_then(|v| v.as_array())
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(crumbs.len(), 32);
    assert!(crumbs.iter().all(|c| !c.contains("flushed")));
    let last = crumbs.last().unwrap();
    assert!(
        last.contains("logged in") && last.contains("user=bob"),
        "{last}"
    );
    assert!(!last.contains("hunter2"), "{last}");
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));

    // The same failure with another message has the same fingerprint.
    let exception2 = exports[1][0].event("exception").unwrap();
    assert_eq!(
        exception.attr("exception.fingerprint"),
        exception2.attr("exception.fingerprint")
    );
    assert_ne!(
        exception.attr("exception.message"),
        exception2.attr("exception.message")
    );

    // JSON log lines carry the ids of the spans they were written in.
    let logs = LOGS.take_text();
    let warn_line: Value = logs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["message"] == "slow dependency")
        .unwrap();
    assert_eq!(warn_line["level"], "WARN");
    assert_eq!(warn_line["requestId"], "req-tracing");
    assert_eq!(warn_line["traceId"], root.trace_id.as_str());
    assert_eq!(warn_line["spanId"], inner.span_id.as_str());
    assert!(warn_line["timestamp"].as_str().unwrap().ends_with('Z'));
    let outside: Value = logs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["message"] == "outside")
        .unwrap();
    assert!(outside.get("requestId").is_none());
}

async fn fingerprints_follow_type_and_site_not_message() {
    let telemetry = telemetry();
    let mut c = Context::default();
    c.request_id = "req-sites".into();
    handler(LambdaEvent::new(json!({ "sites": true }), c))
        .await
        .unwrap();
    let text = telemetry.take_text();
    let line = text.lines().find(|l| l.contains("req-sites")).unwrap();
    let spans = parse_json_line(line).unwrap();
    let prints: Vec<_> = spans[0]
        .events_named("exception")
        .map(|e| e.attr("exception.fingerprint"))
        .collect();
    assert_eq!(prints.len(), 3);
    assert_eq!(prints[0], prints[1]);
    assert_ne!(prints[1], prints[2]);
}
