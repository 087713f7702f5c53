//! What the consumer examples' tests share: an example binary running as a Lambda function
//! against its own local Runtime API, and one invocation's trace read off its stdout.
#![allow(dead_code)] // Each test file uses its own subset.

use std::{path::Path, time::Duration};

use serde_json::Value;
use serverless_sdk_tests::{
    otlp::{FlatSpan, parse_json_lines},
    runtime_api::{FunctionProcess, InvokeOutcome, RuntimeApi},
    trace_view::render_tree,
};

/// How long a wait for a response or telemetry may take.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// An example binary running as the Lambda function `name`.
pub(crate) struct Example {
    pub(crate) api: RuntimeApi,
    pub(crate) process: FunctionProcess,
}

impl Example {
    pub(crate) async fn start(exe: &str, name: &str, env: &[(&str, &str)]) -> Self {
        let api = RuntimeApi::start().await.expect("a local Runtime API");
        let mut command = api.function_command(Path::new(exe), name);
        command.envs(env.iter().copied());
        let process = FunctionProcess::spawn(command).expect("the example starts");
        Self { api, process }
    }

    /// Invokes the function with `event` and returns its JSON response, which it must give.
    pub(crate) async fn call(&self, event: &Value) -> (InvokeOutcome, Value) {
        let outcome = self.api.invoke(event.to_string()).await;
        let response = outcome.json().unwrap_or_else(|| {
            panic!(
                "{:?}\nstderr:\n{}",
                outcome.result,
                self.process.stderr_text()
            )
        });
        (outcome, response)
    }

    /// The trace of `outcome`, once stdout holds it.
    pub(crate) async fn trace(&self, outcome: &InvokeOutcome) -> Trace {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let spans = parse_json_lines(&self.process.stdout_text());
            let id = Some(outcome.request_id.as_str());
            if let Some(root) = spans
                .iter()
                .find(|s| s.attr_str("faas.invocation_id") == id)
            {
                let root = root.clone();
                let spans = spans
                    .into_iter()
                    .filter(|s| s.trace_id == root.trace_id)
                    .collect();
                return Trace { root, spans };
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no telemetry for {}\nstderr:\n{}",
                outcome.request_id,
                self.process.stderr_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) async fn stop(self) {
        self.process.kill().await.expect("the example stops");
    }
}

/// One invocation's spans.
pub(crate) struct Trace {
    pub(crate) root: FlatSpan,
    pub(crate) spans: Vec<FlatSpan>,
}

impl Trace {
    /// The CONSUMER spans of the batch's records, in start order.
    pub(crate) fn records(&self) -> Vec<&FlatSpan> {
        let mut records: Vec<&FlatSpan> = self
            .spans
            .iter()
            .filter(|s| s.kind_name() == "consumer" && s.span_id != self.root.span_id)
            .collect();
        records.sort_by_key(|s| s.start_unix_nano);
        records
    }

    /// The names of `parent`'s children, sorted.
    pub(crate) fn children(&self, parent: &FlatSpan) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id == parent.span_id)
            .map(|s| s.name.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    /// The child of `parent` named `name`.
    pub(crate) fn child(&self, parent: &FlatSpan, name: &str) -> &FlatSpan {
        self.spans
            .iter()
            .find(|s| s.parent_span_id == parent.span_id && s.name == name)
            .unwrap_or_else(|| panic!("no {name} under {}:\n{}", parent.name, self.render()))
    }

    pub(crate) fn render(&self) -> String {
        render_tree(&self.spans, false)
    }
}

/// The `exception.type` of each `exception` event of `span`.
pub(crate) fn exceptions(span: &FlatSpan) -> Vec<&str> {
    span.events_named("exception")
        .map(|e| e.attr_str("exception.type").unwrap_or_default())
        .collect()
}

/// An event file of `examples/events/`.
pub(crate) fn event_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
