//! The SDK end to end through the real `lambda_runtime` loop: what the default exporter
//! writes, OTLP/HTTP export, `OTEL_TRACES_EXPORTER=none`, the capture / tag / endpoint API
//! (free functions and `ctx.serverless_sdk()`, also from spawned tasks) and concurrent
//! invocations that must not see each other.
//!
//! Each test re-executes this binary as the function process (`function_child`), which
//! serves `handler` with `serverless_sdk::run`, or `serverless_sdk::run_concurrent` in the
//! mode `concurrent`.
#![allow(clippy::unwrap_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{
    ContextExt, FutureExt, capture_exception, capture_message, context::in_invocation,
    errors::TagError, serverless_handler, set_endpoint, span, tag_event, try_tag_event,
};
use serverless_sdk_tests::{
    events,
    function::{Function, run_function_child},
    otlp::{FlatSpan, OtlpEncoding, OtlpReceiver, parse_json_lines},
    runtime_api::{InvokeOptions, XrayHeader, generate_trace_header},
    trace_view::{Trace, invocation_ids},
};
use tokio::task::JoinSet;

const FUNCTION: &str = "e2e-foundation";

/* ----------------------------------- the function ----------------------------------- */

/// The seed's custom error.
#[derive(Debug, thiserror::Error)]
#[error("Account is in use!")]
struct AccountAlreadyExistsException;

#[derive(Debug, thiserror::Error)]
#[error("item {0} is odd")]
struct OddItem(u64);

#[derive(Debug, thiserror::Error)]
#[error("unknown op {0:?}")]
struct UnknownOp(String);

/// Invocations of the `concurrent` op running right now.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, UnknownOp> {
    let (payload, ctx) = (event.payload, event.context);
    match payload["op"].as_str().unwrap_or_default() {
        "echo" => Ok(json!({ "echo": payload["value"], "request_id": ctx.request_id })),
        "free" => Ok(free_api()),
        "ctx" => Ok(context_api(&ctx)),
        "detached" => Ok(detached_task(ctx).await),
        "propagated" => Ok(propagated_task(ctx).await),
        "concurrent" => Ok(concurrent(payload["item"].as_u64().unwrap(), ctx).await),
        // Events of other triggers (SQS, EventBridge, API Gateway) carry no op.
        "" => Ok(json!({ "no_op": true })),
        other => Err(UnknownOp(other.to_owned())),
    }
}

/// The seed's API through the free functions.
fn free_api() -> Value {
    tag_event("customer-id", "42", json!({ "demoUser": "true" }));
    capture_message("cache miss for the pricing table");
    set_endpoint("/api/free");
    let line = line!() + 1;
    capture_exception(&AccountAlreadyExistsException);
    json!({ "capture_line": line })
}

/// The same through `ctx.serverless_sdk()`.
fn context_api(ctx: &Context) -> Value {
    let sdk = ctx.serverless_sdk();
    sdk.tag_event("customer-id", "43", json!({ "via": "context" }));
    sdk.capture_message("message through the context");
    sdk.set_endpoint("/api/context");
    let line = line!() + 1;
    sdk.capture_exception(&AccountAlreadyExistsException);
    json!({ "capture_line": line })
}

/// A task spawned without propagating anything: the free functions have no invocation
/// there, `ctx.serverless_sdk()` finds its own by request id.
async fn detached_task(ctx: Context) -> Value {
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let outside =
            try_tag_event("free-in-task", "lost", None) == Err(TagError::OutsideInvocation);
        let in_invocation = in_invocation();
        // Recorded nowhere: no invocation is current in this task.
        capture_exception(&AccountAlreadyExistsException);
        capture_message("lost message");
        let sdk = ctx.serverless_sdk();
        sdk.tag_event("from-task", "yes", None);
        sdk.set_endpoint("/api/detached");
        sdk.capture_exception(&AccountAlreadyExistsException);
        {
            let _span = sdk.span("detached-span");
            sdk.capture_message("message inside the detached span");
        }
        json!({ "free_fn_outside_invocation": outside, "in_invocation": in_invocation })
    });
    task.await.unwrap()
}

/// A task spawned with `.in_current_span()` from inside the span `outer`.
async fn propagated_task(ctx: Context) -> Value {
    async move {
        let task = tokio::spawn(
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                {
                    let _span = span("in-task");
                    capture_exception(&AccountAlreadyExistsException);
                    ctx.serverless_sdk()
                        .capture_message("context message inside the task span");
                    tag_event("task-tag", "propagated", None);
                }
                json!({ "in_invocation": in_invocation() })
            }
            .in_current_span(),
        );
        task.await.unwrap()
    }
    .in_span("outer")
    .await
}

async fn jitter() {
    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..8))).await;
}

/// One of many invocations running at once: tags, endpoint, spans and (for odd items) an
/// error, all interleaved with awaits and spawned tasks.
async fn concurrent(item: u64, ctx: Context) -> Value {
    let in_flight = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    jitter().await;
    tag_event("item", item.to_string(), None);
    let digest = check(item).await;
    set_endpoint(format!("/items/{item}"));
    jitter().await;
    let detached = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            jitter().await;
            ctx.serverless_sdk()
                .tag_event("detached", item.to_string(), None);
        })
    };
    let propagated = tokio::spawn(
        async move {
            jitter().await;
            store(item)
        }
        .in_current_span(),
    );
    detached.await.unwrap();
    let stored = propagated.await.unwrap();
    if item % 2 == 1 {
        capture_exception(&OddItem(item));
    }
    jitter().await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    json!({
        "item": item,
        "request_id": ctx.request_id,
        "in_flight": in_flight,
        "digest": digest,
        "stored": stored,
    })
}

#[span("check")]
async fn check(item: u64) -> u64 {
    jitter().await;
    let digest = digest(item);
    jitter().await;
    digest
}

#[span("digest")]
fn digest(item: u64) -> u64 {
    item * 31
}

#[span("store")]
fn store(item: u64) -> u64 {
    item + 1000
}

/// Not a test: the entry point of the function process the tests start.
#[test]
fn function_child() {
    run_function_child(|mode| async move {
        if mode == "concurrent" {
            serverless_sdk::run_concurrent(service_fn(handler)).await
        } else {
            serverless_sdk::run(service_fn(handler)).await
        }
    });
}

/* -------------------------------------- helpers ------------------------------------- */

/// An invocation whose root span the tests check against what it was sent.
struct Sent {
    request_id: String,
    header: String,
    arn: String,
}

/// Invokes `echo` with a fresh X-Ray header and a distinct invoked ARN.
async fn invoke_echo(function: &Function, n: u64) -> Sent {
    let header = generate_trace_header();
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}:alias{n}");
    let outcome = function
        .invoke_with(
            &json!({ "op": "echo", "value": n }),
            InvokeOptions {
                trace_header: Some(header.clone()),
                function_arn: Some(arn.clone()),
                ..InvokeOptions::default()
            },
        )
        .await;
    let body = function.response(&outcome);
    assert_eq!(
        body,
        json!({ "echo": n, "request_id": outcome.request_id }),
        "response"
    );
    Sent {
        request_id: outcome.request_id,
        header,
        arn,
    }
}

/// Checks the root span of an `echo` invocation against what was sent.
fn assert_echo_root(trace: &Trace, sent: &Sent, coldstart: bool) {
    let root = &trace.root;
    assert_eq!(trace.spans.len(), 1, "{}", trace.render());
    assert_lambda_resource(root, FUNCTION);
    assert_eq!(root.name, FUNCTION);
    assert_eq!(root.kind_name(), "server");
    assert_eq!(root.attr_str("faas.invocation_id"), Some(&*sent.request_id));
    assert_eq!(root.attr_bool("faas.coldstart"), Some(coldstart));
    assert_eq!(root.attr_str("faas.trigger"), Some("other"));
    assert_eq!(root.attr_str("cloud.resource_id"), Some(&*sent.arn));
    assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
    assert_eq!(root.status_name(), "unset");
    assert!(root.events.is_empty(), "{:?}", root.events);
    let xray = XrayHeader::parse(&sent.header).unwrap();
    assert_eq!(Some(&root.trace_id), xray.otel_trace_id().as_ref());
    assert_eq!(Some(&root.parent_span_id), xray.parent.as_ref());
    assert!(root.start_unix_nano > 0 && root.end_unix_nano >= root.start_unix_nano);
}

/// Starts the function exporting to a new OTLP receiver, with `env` besides.
async fn start_exporting(env: &[(&str, &str)]) -> (OtlpReceiver, Function) {
    Function::test_child_exporting(FUNCTION, "sequential", "OTEL_EXPORTER_OTLP_ENDPOINT", env).await
}

/// Asserts that the function printed no telemetry.
fn assert_nothing_on_stdout(function: &Function) {
    assert!(
        parse_json_lines(&function.process.stdout_text()).is_empty(),
        "stdout:\n{}",
        function.process.stdout_text()
    );
}

/// Invokes `echo` under the X-Ray header `header`; returns the invocation's root span.
async fn echo_root_under(function: &Function, header: &str) -> FlatSpan {
    let outcome = function
        .invoke_with(
            &json!({ "op": "echo", "value": 1 }),
            InvokeOptions {
                trace_header: Some(header.to_owned()),
                ..InvokeOptions::default()
            },
        )
        .await;
    function.response(&outcome);
    function.trace(&outcome).await.root
}

/// Asserts the resource every span of a Lambda function carries.
fn assert_lambda_resource(span: &FlatSpan, function_name: &str) {
    let expect = [
        ("service.name", function_name),
        ("cloud.provider", "aws"),
        ("cloud.platform", "aws_lambda"),
        ("cloud.region", "us-east-1"),
        ("faas.name", function_name),
        ("faas.version", "$LATEST"),
    ];
    for (key, value) in expect {
        assert_eq!(
            span.resource_str(key),
            Some(value),
            "resource {key}: {:?}",
            span.resource
        );
    }
    // 128 MB, in bytes as the semantic conventions define it.
    assert_eq!(
        span.resource
            .get("faas.max_memory")
            .and_then(|v| v.as_i64()),
        Some(128 * 1024 * 1024),
        "{:?}",
        span.resource
    );
    assert_eq!(
        span.resource_str("telemetry.sdk.language"),
        Some("rust"),
        "{:?}",
        span.resource
    );
    assert_eq!(span.scope_name, "serverless_sdk");
}

/* --------------------------------------- tests -------------------------------------- */

#[tokio::test]
async fn default_exporter_writes_one_otlp_json_line_per_invocation() {
    let function = Function::test_child(FUNCTION, "sequential", &[]).await;

    let mut sent = Vec::new();
    for n in 0..3 {
        sent.push(invoke_echo(&function, n).await);
    }
    // An invocation without any trace header starts a fresh trace, without a parent.
    let outcome = function
        .invoke_with(
            &json!({ "op": "echo", "value": 3 }),
            InvokeOptions {
                trace_header: Some(String::new()),
                ..InvokeOptions::default()
            },
        )
        .await;
    function.response(&outcome);
    let untraced = outcome.request_id;

    // A last invocation as a barrier: its line is written after every earlier one.
    let barrier = invoke_echo(&function, 99).await;
    let mut ids: Vec<&str> = sent.iter().map(|s| s.request_id.as_str()).collect();
    ids.push(&untraced);
    ids.push(&barrier.request_id);
    let spans = function.wait_for_traces(&ids).await;

    // Exactly one line per invocation, each holding that invocation's trace only.
    let lines = function.export_requests();
    assert_eq!(
        lines.len(),
        5,
        "stdout:\n{}",
        function.process.stdout_text()
    );
    for line in &lines {
        let line_spans = FlatSpan::from_request(line);
        let roots = invocation_ids(&line_spans);
        assert_eq!(roots.len(), 1, "{line_spans:?}");
        let trace_ids: BTreeSet<&str> = line_spans.iter().map(|s| s.trace_id.as_str()).collect();
        assert_eq!(trace_ids.len(), 1, "{line_spans:?}");
    }
    assert_eq!(
        invocation_ids(&spans),
        ids.iter().map(|id| (*id).to_owned()).collect()
    );

    for (index, sent) in sent.iter().enumerate() {
        assert_echo_root(&Trace::of(&spans, &sent.request_id), sent, index == 0);
    }
    let root = Trace::of(&spans, &untraced).root;
    assert!(root.is_root(), "unexpected parent {}", root.parent_span_id);
    assert_eq!(root.trace_id.len(), 32);
    assert_ne!(root.trace_id, "0".repeat(32));
    assert_eq!(root.attr_bool("faas.coldstart"), Some(false));
}

#[tokio::test]
async fn otlp_endpoint_sends_protobuf_to_the_collector_and_nothing_to_stdout() {
    let (receiver, function) = start_exporting(&[]).await;

    let mut sent = Vec::new();
    for n in 0..3 {
        sent.push(invoke_echo(&function, n).await);
    }
    let ids: Vec<&str> = sent.iter().map(|s| s.request_id.as_str()).collect();
    let spans = function.wait_for_received_traces(&receiver, &ids).await;
    // Each export request leaves before the next event is polled: once the runtime polls
    // again after the last invocation, every export has been answered.
    function.wait_for_stats(|stats| stats.next_polls >= 4).await;

    let received = receiver.received();
    assert_eq!(received.len(), 3, "one export request per invocation");
    for export in &received {
        assert_eq!(export.encoding, OtlpEncoding::Protobuf);
        assert_eq!(
            invocation_ids(&FlatSpan::from_request(&export.request)).len(),
            1
        );
    }
    assert_eq!(receiver.rejected(), 0);
    assert_eq!(spans.len(), 3, "{spans:?}");
    for (index, sent) in sent.iter().enumerate() {
        assert_echo_root(&Trace::of(&spans, &sent.request_id), sent, index == 0);
    }
    assert_nothing_on_stdout(&function);
}

#[tokio::test]
async fn traces_exporter_none_exports_nothing_and_changes_no_response() {
    let (receiver, function) = start_exporting(&[("OTEL_TRACES_EXPORTER", "none")]).await;

    let outcome = function
        .invoke(&json!({ "op": "echo", "value": "a" }))
        .await;
    assert_eq!(
        function.response(&outcome),
        json!({ "echo": "a", "request_id": outcome.request_id })
    );
    let outcome = function.invoke(&json!({ "op": "free" })).await;
    let body = function.response(&outcome);
    assert!(body["capture_line"].as_u64().is_some(), "{body}");
    let outcome = function.invoke(&json!({ "op": "nope" })).await;
    let report = outcome.expect_error("UnknownOp");
    assert_eq!(report.error_message, "unknown op \"nope\"");

    // Whatever would be exported leaves before the next poll.
    function.settle().await;
    assert_eq!(receiver.requests(), 0);
    assert_nothing_on_stdout(&function);
    assert_eq!(function.api.stats().answers(), (2, 1));
}

#[tokio::test]
async fn free_functions_and_context_record_on_their_invocation() {
    let function = Function::test_child(FUNCTION, "sequential", &[]).await;

    let free = function.invoke(&json!({ "op": "free" })).await;
    let free_line = function.response(&free)["capture_line"].as_i64().unwrap();
    let ctx = function.invoke(&json!({ "op": "ctx" })).await;
    let ctx_line = function.response(&ctx)["capture_line"].as_i64().unwrap();
    let detached = function.invoke(&json!({ "op": "detached" })).await;
    assert_eq!(
        function.response(&detached),
        json!({ "free_fn_outside_invocation": true, "in_invocation": false })
    );
    let propagated = function.invoke(&json!({ "op": "propagated" })).await;
    assert_eq!(
        function.response(&propagated),
        json!({ "in_invocation": true })
    );
    let plain = function.invoke(&json!({ "op": "echo", "value": 1 })).await;
    function.response(&plain);

    let spans = function
        .wait_for_traces(&[&free, &ctx, &detached, &propagated, &plain])
        .await;

    // Free functions and `ctx.serverless_sdk()` inside the handler: the root span.
    for (outcome, line, tag, custom, message, route) in [
        (
            &free,
            free_line,
            "42",
            json!({ "demoUser": "true" }),
            "cache miss for the pricing table",
            "/api/free",
        ),
        (
            &ctx,
            ctx_line,
            "43",
            json!({ "via": "context" }),
            "message through the context",
            "/api/context",
        ),
    ] {
        let trace = Trace::of(&spans, &outcome.request_id);
        let root = &trace.root;
        assert_eq!(trace.spans.len(), 1, "{}", trace.render());
        assert_eq!(root.attr_str("serverless.tag.customer-id"), Some(tag));
        let recorded: Value =
            serde_json::from_str(root.attr_str("serverless.tag.customer-id.custom").unwrap())
                .unwrap();
        assert_eq!(recorded, custom);
        assert_eq!(root.event_names(), ["serverless.message", "exception"]);
        let event = root.event("serverless.message").unwrap();
        assert_eq!(event.attr_str("message"), Some(message));
        assert_eq!(event.attr_str("level"), Some("info"));
        root.assert_one_exception("AccountAlreadyExistsException", "Account is in use!", true);
        let exception = root.event("exception").unwrap();
        exception.assert_code_location("e2e_foundation.rs", Some(line));
        assert_eq!(root.attr_str("http.route"), Some(route));
        assert_eq!(root.attr_str("serverless.endpoint"), Some(route));
        assert_eq!(root.name, route, "no HTTP method for a direct invocation");
        assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
        assert!(root.is_error(), "{root:?}");
    }

    // A task spawned without propagation: only the context API lands, on this invocation.
    let trace = Trace::of(&spans, &detached.request_id);
    let root = &trace.root;
    assert_eq!(
        trace.names(),
        ["/api/detached", "detached-span"],
        "{}",
        trace.render()
    );
    assert_eq!(root.attr_str("serverless.tag.from-task"), Some("yes"));
    assert_eq!(root.attr("serverless.tag.free-in-task"), None);
    assert_eq!(root.attr_str("http.route"), Some("/api/detached"));
    assert_eq!(
        root.event_names(),
        ["exception"],
        "the free capture is lost"
    );
    root.assert_one_exception("AccountAlreadyExistsException", "Account is in use!", true);
    let detached_span = trace.named("detached-span");
    trace.assert_child_of(detached_span, root);
    assert_eq!(detached_span.event_names(), ["serverless.message"]);
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));

    // A task spawned with `.in_current_span()`: spans keep their parent, captures their span.
    let trace = Trace::of(&spans, &propagated.request_id);
    let root = &trace.root;
    assert_eq!(
        trace.names(),
        [FUNCTION, "in-task", "outer"],
        "{}",
        trace.render()
    );
    let outer = trace.named("outer");
    let in_task = trace.named("in-task");
    trace.assert_child_of(outer, root);
    trace.assert_child_of(in_task, outer);
    assert_eq!(in_task.event_names(), ["exception", "serverless.message"]);
    in_task.assert_one_exception("AccountAlreadyExistsException", "Account is in use!", true);
    assert!(in_task.is_error());
    assert!(!outer.is_error(), "{outer:?}");
    assert!(root.events.is_empty(), "{:?}", root.events);
    assert_eq!(root.attr_str("serverless.tag.task-tag"), Some("propagated"));
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
    assert!(root.is_error());

    // Nothing of the above leaked into the next invocation.
    let trace = Trace::of(&spans, &plain.request_id);
    assert_eq!(trace.spans.len(), 1, "{}", trace.render());
    assert!(trace.root.events.is_empty());
    assert!(
        !trace
            .root
            .attributes
            .keys()
            .any(|key| key.starts_with("serverless.tag.") || key == "http.route"),
        "{:?}",
        trace.root.attributes
    );
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
}

#[tokio::test]
async fn concurrent_invocations_keep_their_own_tags_endpoints_errors_and_spans() {
    const INVOCATIONS: u64 = 100;
    let function = Function::test_child(
        FUNCTION,
        "concurrent",
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "8")],
    )
    .await;
    // One long poll per worker before anything is sent.
    function
        .wait_for_stats(|stats| stats.polls_waiting == 8)
        .await;

    let mut tasks = JoinSet::new();
    for item in 0..INVOCATIONS {
        let api = function.api.clone();
        tasks.spawn(async move {
            let header = generate_trace_header();
            let outcome = api
                .invoke_with(
                    json!({ "op": "concurrent", "item": item }).to_string(),
                    InvokeOptions {
                        trace_header: Some(header.clone()),
                        timeout: Duration::from_secs(20),
                        queue_timeout: Duration::from_secs(20),
                        ..InvokeOptions::default()
                    },
                )
                .await;
            (item, header, outcome)
        });
    }
    let mut sent = BTreeMap::new();
    let mut most_in_flight = 0;
    while let Some(joined) = tasks.join_next().await {
        let (item, header, outcome) = joined.unwrap();
        let body = function.response(&outcome);
        assert_eq!(body["item"], item, "answer of another invocation: {body}");
        assert_eq!(body["request_id"], outcome.request_id);
        assert_eq!(body["digest"], item * 31);
        assert_eq!(body["stored"], item + 1000);
        most_in_flight = most_in_flight.max(body["in_flight"].as_u64().unwrap());
        sent.insert(item, (outcome.request_id, header));
    }
    assert!(
        (2..=8).contains(&most_in_flight),
        "at most {most_in_flight} invocations ran at once"
    );

    let ids: Vec<&str> = sent.values().map(|(id, _)| id.as_str()).collect();
    function.wait_for_traces(&ids).await;
    // Every export precedes its worker's next poll: 8 waiting polls mean all are written;
    // a moment more lets any duplicate line arrive too.
    function
        .wait_for_stats(|stats| stats.polls_waiting == 8)
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let spans = function.stdout_spans();
    assert_eq!(
        function.export_requests().len(),
        100,
        "one line per invocation"
    );
    assert_eq!(spans.len(), 400, "four spans per invocation");

    for (item, (request_id, header)) in &sent {
        let trace = Trace::of(&spans, request_id);
        let root = &trace.root;
        let context = || trace.render();
        let xray = XrayHeader::parse(header).unwrap();
        assert_eq!(Some(&root.trace_id), xray.otel_trace_id().as_ref());
        assert_eq!(Some(&root.parent_span_id), xray.parent.as_ref());
        let route = format!("/items/{item}");
        assert_eq!(
            trace.names(),
            [route.as_str(), "check", "digest", "store"],
            "{}",
            context()
        );
        assert_eq!(root.name, format!("/items/{item}"));
        assert_eq!(
            root.attr_str("serverless.tag.item"),
            Some(&*item.to_string())
        );
        assert_eq!(
            root.attr_str("serverless.tag.detached"),
            Some(&*item.to_string())
        );
        let tags: Vec<&String> = root
            .attributes
            .keys()
            .filter(|key| key.starts_with("serverless.tag."))
            .collect();
        assert_eq!(tags.len(), 2, "{tags:?}");
        assert_eq!(
            root.attr_str("http.route"),
            Some(&*format!("/items/{item}"))
        );
        trace.assert_children(root, &["check", "store"]);
        trace.assert_children(trace.named("check"), &["digest"]);
        for span in ["check", "digest", "store"].map(|name| trace.named(name)) {
            assert!(span.events.is_empty(), "{:?}\n{}", span.events, context());
            assert_eq!(span.attr_str("code.namespace"), Some("e2e_foundation"));
        }
        if item % 2 == 1 {
            assert_eq!(root.event_names(), ["exception"], "{}", context());
            root.assert_one_exception("OddItem", &format!("item {item} is odd"), true);
            assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
        } else {
            assert!(root.events.is_empty(), "{:?}\n{}", root.events, context());
            assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
            assert!(!root.is_error());
        }
    }
    let stats = function.api.stats();
    assert_eq!(stats.responses, INVOCATIONS);
    assert_eq!(stats.duplicate_responses + stats.unknown_responses, 0);
}

#[tokio::test]
async fn export_happens_after_the_response_and_before_the_next_poll() {
    let (receiver, function) =
        start_exporting(&[("SERVERLESS_SDK_EXPORT_TIMEOUT_MS", "10000")]).await;
    function
        .wait_for_stats(|stats| stats.polls_waiting == 1)
        .await;

    // The collector holds the export: the response must not wait for it ...
    receiver.set_hang(true);
    let outcome = function.invoke(&json!({ "op": "echo", "value": 1 })).await;
    function.response(&outcome);
    assert!(
        outcome.latency < Duration::from_secs(2),
        "the response waited for the export: {:?}",
        outcome.latency
    );
    // ... and the runtime must not ask for the next event while it is in flight.
    function.wait_for_stats(|_| receiver.requests() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = function.api.stats();
    assert_eq!((stats.next_polls, stats.polls_waiting), (1, 0), "{stats:?}");
    assert!(receiver.spans().is_empty());

    receiver.set_hang(false);
    let spans = function
        .wait_for_received_traces(&receiver, &[&outcome.request_id])
        .await;
    assert_eq!(spans.len(), 1);
    function
        .wait_for_stats(|stats| stats.next_polls == 2 && stats.polls_waiting == 1)
        .await;
}

#[tokio::test]
async fn otel_service_name_names_the_service() {
    let function =
        Function::test_child(FUNCTION, "sequential", &[("OTEL_SERVICE_NAME", "checkout")]).await;
    let outcome = function.invoke(&json!({ "op": "echo", "value": 1 })).await;
    function.response(&outcome);
    let spans = function.wait_for_traces(&[&outcome.request_id]).await;
    let root = Trace::of(&spans, &outcome.request_id).root;
    assert_eq!(root.resource_str("service.name"), Some("checkout"));
    assert_eq!(root.resource_str("faas.name"), Some(FUNCTION));
    assert_eq!(root.name, FUNCTION);
}

/// X-Ray headers as Lambda and X-Ray tooling write them: with `Lineage`, without `Parent`,
/// with spaces after the separators.
#[tokio::test]
async fn xray_headers_in_their_real_shapes_continue_the_trace() {
    let function = Function::test_child(FUNCTION, "sequential", &[]).await;
    let root = "1-5759e988-bd862e3fe1be46a994272793";
    let cases = [
        (
            format!("Root={root};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0"),
            Some("53995c3f42cd8ad8"),
        ),
        (format!("Root={root};Sampled=1"), None),
        (
            format!("Root={root}; Parent=53995c3f42cd8ad9; Sampled=1"),
            Some("53995c3f42cd8ad9"),
        ),
    ];
    for (header, parent) in cases {
        let span = echo_root_under(&function, &header).await;
        assert_eq!(
            span.trace_id, "5759e988bd862e3fe1be46a994272793",
            "{header}"
        );
        assert_eq!(span.parent_span_id, parent.unwrap_or_default(), "{header}");
    }
}

/// A trailing separator is still the same header (X-Ray's own parsers skip empty parts).
#[tokio::test]
async fn xray_header_with_a_trailing_separator_continues_the_trace() {
    let function = Function::test_child(FUNCTION, "sequential", &[]).await;
    let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;";
    let root = echo_root_under(&function, header).await;
    assert_eq!(root.trace_id, "5759e988bd862e3fe1be46a994272793");
    assert_eq!(root.parent_span_id, "53995c3f42cd8ad8");
}

/// The root span's kind and `faas.trigger` follow the event source, read off the raw event.
#[tokio::test]
async fn the_trigger_sets_the_root_span_kind() {
    let function = Function::test_child(FUNCTION, "sequential", &[]).await;
    let cases = [
        (events::sqs(&["one", "two"]), "pubsub", "consumer"),
        (events::eventbridge_schedule(), "timer", "server"),
        (
            events::apigw_v2("GET", "/users/1", "GET /users/{id}", None),
            "http",
            "server",
        ),
        (json!({ "any": "payload" }), "other", "server"),
    ];
    for (event, trigger, kind) in cases {
        let outcome = function.invoke(&event).await;
        assert_eq!(function.response(&outcome), json!({ "no_op": true }));
        let spans = function.wait_for_traces(&[&outcome.request_id]).await;
        let root = Trace::of(&spans, &outcome.request_id).root;
        assert_eq!(root.attr_str("faas.trigger"), Some(trigger), "{event}");
        assert_eq!(root.kind_name(), kind, "{event}");
    }
}
