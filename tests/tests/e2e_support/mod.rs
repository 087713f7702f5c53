//! Helpers shared by the `e2e_*` tests: starting the function process (this test binary
//! re-executed as `function_child`), waiting for its telemetry, and picking one
//! invocation's trace out of everything it exported.
#![allow(dead_code)] // Each test file uses its own subset.

use std::{collections::BTreeSet, time::Duration};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;
use serverless_sdk_tests::{
    otlp::{FlatSpan, OtlpReceiver},
    runtime_api::{FunctionProcess, InvokeOptions, InvokeOutcome, RuntimeApi, Stats},
    trace_view,
};

/// The test every file defines as the function process's entry point.
pub(crate) const CHILD: &str = "function_child";
/// Tells the function process which handler to serve.
pub(crate) const MODE_ENV: &str = "E2E_MODE";
/// How long any wait for telemetry may take.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// Starts a Runtime API and the function process `function_name`, serving the handler
/// `mode` picks, with `env` on top of the Lambda environment.
pub(crate) async fn start(
    function_name: &str,
    mode: &str,
    env: &[(&str, &str)],
) -> (RuntimeApi, FunctionProcess) {
    let api = RuntimeApi::start().await.expect("runtime API");
    let mut command = api
        .function_test_command(CHILD, function_name)
        .expect("function command");
    command.env(MODE_ENV, mode);
    for (key, value) in env {
        command.env(key, value);
    }
    let function = FunctionProcess::spawn(command).expect("function process");
    (api, function)
}

/// In the function process: the handler the test asked for.
pub(crate) fn mode() -> String {
    std::env::var(MODE_ENV).unwrap_or_default()
}

/// In the function process: the runtime the Lambda loop runs on, as `#[tokio::main]` builds it.
pub(crate) fn child_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Invokes with `payload` and default options.
pub(crate) async fn invoke(api: &RuntimeApi, payload: &Value) -> InvokeOutcome {
    api.invoke(payload.to_string()).await
}

/// Invokes with `payload` and `options`.
pub(crate) async fn invoke_with(
    api: &RuntimeApi,
    payload: &Value,
    options: InvokeOptions,
) -> InvokeOutcome {
    api.invoke_with(payload.to_string(), options).await
}

/// The JSON response of an invocation that must have succeeded.
pub(crate) fn response_json(outcome: &InvokeOutcome, function: &FunctionProcess) -> Value {
    outcome.json().unwrap_or_else(|| {
        panic!(
            "invocation {} did not answer with JSON: {:?}\nstderr:\n{}",
            outcome.request_id,
            outcome.result,
            function.stderr_text()
        )
    })
}

/// Polls the Runtime API's counters until `condition` holds.
pub(crate) async fn wait_for_stats(api: &RuntimeApi, condition: impl Fn(&Stats) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition(&api.stats()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition never held: {:?}",
            api.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every stdout line that parses as an OTLP/JSON `ExportTraceServiceRequest`, decoded.
pub(crate) fn export_lines(function: &FunctionProcess) -> Vec<ExportTraceServiceRequest> {
    function
        .stdout_lines()
        .iter()
        .map(|line| line.trim())
        .filter(|line| line.starts_with('{'))
        .filter_map(|line| serde_json::from_str::<ExportTraceServiceRequest>(line).ok())
        .collect()
}

/// Every span of every export line on stdout.
pub(crate) fn stdout_spans(function: &FunctionProcess) -> Vec<FlatSpan> {
    export_lines(function)
        .iter()
        .flat_map(FlatSpan::from_request)
        .collect()
}

/// The request ids of the root spans among `spans`.
pub(crate) fn invocation_ids(spans: &[FlatSpan]) -> BTreeSet<String> {
    spans
        .iter()
        .filter_map(|span| span.attr_str("faas.invocation_id"))
        .map(str::to_owned)
        .collect()
}

/// Waits until stdout holds the root span of every invocation in `request_ids`; returns
/// every span exported so far.
pub(crate) async fn wait_for_stdout_traces(
    function: &FunctionProcess,
    request_ids: &[&str],
) -> Vec<FlatSpan> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let spans = stdout_spans(function);
        let seen = invocation_ids(&spans);
        let missing: Vec<&&str> = request_ids
            .iter()
            .filter(|id| !seen.contains(**id))
            .collect();
        if missing.is_empty() {
            return spans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no telemetry on stdout for {missing:?}\nstdout:\n{}\nstderr:\n{}",
            function.stdout_text(),
            function.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the receiver holds the root span of every invocation in `request_ids`.
pub(crate) async fn wait_for_received_traces(
    receiver: &OtlpReceiver,
    function: &FunctionProcess,
    request_ids: &[&str],
) -> Vec<FlatSpan> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let spans = receiver.spans();
        let seen = invocation_ids(&spans);
        let missing: Vec<&&str> = request_ids
            .iter()
            .filter(|id| !seen.contains(**id))
            .collect();
        if missing.is_empty() {
            return spans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no telemetry received for {missing:?} ({} requests, {} rejected)\nstderr:\n{}",
            receiver.requests(),
            receiver.rejected(),
            function.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One invocation's trace: its root span and every span sharing its trace id.
#[derive(Debug, Clone)]
pub(crate) struct Trace {
    pub(crate) root: FlatSpan,
    pub(crate) spans: Vec<FlatSpan>,
}

impl Trace {
    /// The trace of the invocation `request_id` among `spans`. Panics unless exactly one
    /// root span carries that request id.
    pub(crate) fn of(spans: &[FlatSpan], request_id: &str) -> Trace {
        let roots: Vec<&FlatSpan> = spans
            .iter()
            .filter(|span| span.attr_str("faas.invocation_id") == Some(request_id))
            .collect();
        assert_eq!(
            roots.len(),
            1,
            "expected exactly one root span for {request_id}:\n{}",
            trace_view::render_tree(spans, false)
        );
        let root = roots[0].clone();
        let spans = spans
            .iter()
            .filter(|span| span.trace_id == root.trace_id)
            .cloned()
            .collect();
        Trace { root, spans }
    }

    /// The one span named `name`; panics if there is none or several.
    pub(crate) fn named(&self, name: &str) -> &FlatSpan {
        let found: Vec<&FlatSpan> = self.spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected exactly one span named {name:?}:\n{}",
            self.render()
        );
        found[0]
    }

    /// The names of all spans, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.spans.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names
    }

    /// Asserts that `child` is a direct child of `parent`, in this trace, within its time.
    pub(crate) fn assert_child_of(&self, child: &FlatSpan, parent: &FlatSpan) {
        assert_eq!(
            child.parent_span_id,
            parent.span_id,
            "{:?} should be a child of {:?}:\n{}",
            child.name,
            parent.name,
            self.render()
        );
        assert_eq!(child.trace_id, parent.trace_id);
        assert!(
            child.start_unix_nano >= parent.start_unix_nano
                && child.end_unix_nano <= parent.end_unix_nano,
            "{:?} [{}, {}] is not within {:?} [{}, {}]",
            child.name,
            child.start_unix_nano,
            child.end_unix_nano,
            parent.name,
            parent.start_unix_nano,
            parent.end_unix_nano
        );
    }

    /// The trace as a tree, for failure messages.
    pub(crate) fn render(&self) -> String {
        trace_view::render_tree(&self.spans, false)
    }
}

/// The names of a span's events, in order.
pub(crate) fn event_names(span: &FlatSpan) -> Vec<&str> {
    span.events
        .iter()
        .map(|event| event.name.as_str())
        .collect()
}

/// Asserts the resource every span of a Lambda function carries.
pub(crate) fn assert_lambda_resource(span: &FlatSpan, function_name: &str) {
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
