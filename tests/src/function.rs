//! A function process with its own Runtime API, and waiting for what it exports: the harness of
//! every end-to-end suite.
//!
//! [`Function`] starts either an example binary ([`Function::binary`]) or the current test
//! binary re-executed as the function ([`Function::test_child`]), whose test named
//! [`CHILD_TEST`] then serves a handler through [`run_function_child`]:
//!
//! ```no_run
//! use serverless_sdk_tests::function::{Function, run_function_child};
//!
//! /// Not a test: the function process.
//! #[test]
//! fn function_child() {
//!     run_function_child(|mode| async move {
//!         // `mode` picks the handler, e.g.
//!         // `serverless_sdk::run(service_fn(handler)).await`.
//!         Ok::<(), String>(())
//!     });
//! }
//!
//! #[tokio::test]
//! async fn echo() {
//!     let function = Function::test_child("echo-fn", "echo", &[]).await;
//!     let outcome = function.invoke(&serde_json::json!({ "value": 1 })).await;
//!     assert_eq!(function.response(&outcome)["value"], 1);
//!     let trace = function.trace(&outcome).await;
//!     assert_eq!(trace.root.name, "echo-fn");
//! }
//! ```
//!
//! Every wait of this module polls for at most [`WAIT`] and then fails the test, with what it
//! waited for and the process's stdout and stderr in the message: a wait never returns empty
//! handed. (The primitives it builds on, such as [`FunctionProcess::wait_for_stdout`] and
//! [`OtlpReceiver::wait_for_spans`], return what they have on their own timeout instead.)

use std::{
    fmt,
    future::Future,
    path::Path,
    process::ExitStatus,
    time::{Duration, Instant},
};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;

use crate::{
    otlp::{FlatSpan, OtlpReceiver, parse_export_request, parse_json_lines},
    proxy,
    runtime_api::{
        ErrorReport, FunctionProcess, InvokeOptions, InvokeOutcome, RuntimeApi, Stats,
        is_function_child,
    },
    trace_view::{Trace, invocation_ids, render_tree},
};

/// How long any wait of the kit may take: for a response, for telemetry, for a condition.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often a wait checks its condition.
const POLL: Duration = Duration::from_millis(10);

/// The name of the test a suite's binary runs as the function process in
/// [`Function::test_child`]; it calls [`run_function_child`].
pub const CHILD_TEST: &str = "function_child";

/// The variable through which [`Function::test_child`] tells the function process which
/// handler to serve (see [`run_function_child`]).
pub const MODE_ENV: &str = "SERVERLESS_SDK_TESTS_MODE";

/// In the test [`CHILD_TEST`]: when this process is the function that
/// [`Function::test_child`] started, runs `serve(mode)` (the mode that `test_child` was given)
/// on a multi-threaded tokio runtime, as `#[tokio::main]` builds it, until it returns (the
/// Lambda runtime loop returns once the Runtime API is gone, or when initialisation fails);
/// then prints `lambda runtime stopped: …` on stderr and exits, as `main` would, with status 1
/// for an `Err` and 0 otherwise. In an ordinary test run it returns at once: the test has
/// nothing to do.
///
/// # Panics
///
/// If tokio cannot build a runtime.
pub fn run_function_child<T, E, F>(serve: impl FnOnce(String) -> F)
where
    F: Future<Output = Result<T, E>>,
    E: fmt::Debug,
{
    if !is_function_child(CHILD_TEST) {
        return;
    }
    let mode = std::env::var(MODE_ENV).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("cannot build the function's tokio runtime: {err}"));
    let result = runtime.block_on(serve(mode));
    match &result {
        Ok(_) => eprintln!("lambda runtime stopped: Ok"),
        Err(err) => eprintln!("lambda runtime stopped: Err({err:?})"),
    }
    std::process::exit(i32::from(result.is_err()));
}

/// Starts the binary `name` of the calling package (`env!("CARGO_BIN_EXE_<name>")`, which
/// cargo sets for integration tests) as the Lambda function `name`, with the environment `env`
/// (default none): [`Function::binary`] for an example.
///
/// In an integration test of a package with the binary `sqs_consumer` (not compiled here,
/// where there is none):
///
/// ```ignore
/// let function = serverless_sdk_tests::example_function!("sqs_consumer", &[("ORDERS_TABLE", "t")]).await;
/// ```
#[macro_export]
macro_rules! example_function {
    ($name:literal) => {
        $crate::example_function!($name, &[])
    };
    ($name:literal, $env:expr) => {
        $crate::function::Function::binary(env!(concat!("CARGO_BIN_EXE_", $name)), $name, $env)
    };
}

/// One invocation, named by its request id: an [`InvokeOutcome`], or the id itself.
pub trait RequestId {
    /// The invocation's request id.
    fn request_id(&self) -> &str;
}

impl RequestId for InvokeOutcome {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl RequestId for str {
    fn request_id(&self) -> &str {
        self
    }
}

impl RequestId for String {
    fn request_id(&self) -> &str {
        self
    }
}

impl<T: RequestId + ?Sized> RequestId for &T {
    fn request_id(&self) -> &str {
        (**self).request_id()
    }
}

/// A function process and the local [`RuntimeApi`] it serves; see the
/// [module documentation](self).
///
/// The process is killed when this is dropped.
#[derive(Debug)]
pub struct Function {
    /// The Runtime API the function polls: invoke it, read its [`Stats`].
    pub api: RuntimeApi,
    /// The running process: its output, its exit.
    pub process: FunctionProcess,
}

impl Function {
    /// Starts the binary `program` (e.g. `env!("CARGO_BIN_EXE_my_example")`) as the Lambda
    /// function `function_name` against a new Runtime API, with `env` on top of the Lambda
    /// environment (see [`RuntimeApi::function_command`]).
    ///
    /// # Panics
    ///
    /// If the Runtime API or the process cannot be started.
    pub async fn binary(
        program: impl AsRef<Path>,
        function_name: &str,
        env: &[(&str, &str)],
    ) -> Function {
        let api = start_api().await;
        let mut command = api.function_command(program.as_ref(), function_name);
        command.envs(env.iter().copied());
        Function::spawn(api, command)
    }

    /// Re-executes the current test binary as the Lambda function `function_name` against a
    /// new Runtime API, running only its test [`CHILD_TEST`], which serves the handler `mode`
    /// picks (see [`run_function_child`]), with `env` on top of the Lambda environment (see
    /// [`RuntimeApi::function_test_command`]).
    ///
    /// # Panics
    ///
    /// If the Runtime API or the process cannot be started.
    pub async fn test_child(function_name: &str, mode: &str, env: &[(&str, &str)]) -> Function {
        let api = start_api().await;
        let mut command = api
            .function_test_command(CHILD_TEST, function_name)
            .unwrap_or_else(|err| panic!("the test binary cannot be re-executed: {err}"));
        command.env(MODE_ENV, mode).envs(env.iter().copied());
        Function::spawn(api, command)
    }

    /// Starts a new [`OtlpReceiver`], and [`Function::test_child`] exporting to it: the
    /// function `function_name` serving `mode`, with `endpoint_env` set to the receiver's
    /// [`OtlpReceiver::endpoint`] (`OTEL_EXPORTER_OTLP_ENDPOINT`, or a variable the handler's
    /// own configuration reads) and `env` on top (a name of `env` wins over `endpoint_env`).
    ///
    /// ```no_run
    /// use serverless_sdk_tests::function::Function;
    ///
    /// # async fn demo() {
    /// let (receiver, function) = Function::test_child_exporting(
    ///     "echo-fn",
    ///     "echo",
    ///     "OTEL_EXPORTER_OTLP_ENDPOINT",
    ///     &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
    /// )
    /// .await;
    /// let outcome = function.invoke(&serde_json::json!({ "value": 1 })).await;
    /// function.wait_for_received_traces(&receiver, &[&outcome]).await;
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If the receiver, the Runtime API or the process cannot be started.
    pub async fn test_child_exporting(
        function_name: &str,
        mode: &str,
        endpoint_env: &str,
        env: &[(&str, &str)],
    ) -> (OtlpReceiver, Function) {
        let receiver = OtlpReceiver::start()
            .await
            .unwrap_or_else(|err| panic!("the OTLP receiver does not start: {err}"));
        let endpoint = receiver.endpoint();
        let mut vars = vec![(endpoint_env, endpoint.as_str())];
        vars.extend_from_slice(env);
        let function = Function::test_child(function_name, mode, &vars).await;
        (receiver, function)
    }

    fn spawn(api: RuntimeApi, command: tokio::process::Command) -> Function {
        let process = FunctionProcess::spawn(command)
            .unwrap_or_else(|err| panic!("the function process does not start: {err}"));
        Function { api, process }
    }

    /// Invokes the function with `event` and default [`InvokeOptions`].
    pub async fn invoke(&self, event: &Value) -> InvokeOutcome {
        self.api.invoke(event.to_string()).await
    }

    /// Invokes the function with `event` and `options`.
    pub async fn invoke_with(&self, event: &Value, options: InvokeOptions) -> InvokeOutcome {
        self.api.invoke_with(event.to_string(), options).await
    }

    /// The JSON response of `outcome`.
    ///
    /// # Panics
    ///
    /// If the invocation did not answer with JSON; the message has the function's stderr.
    pub fn response(&self, outcome: &InvokeOutcome) -> Value {
        outcome.json().unwrap_or_else(|| {
            panic!(
                "invocation {} did not answer with JSON: {:?}\nstderr:\n{}",
                outcome.request_id,
                outcome.result,
                self.process.stderr_text()
            )
        })
    }

    /// The proxy response of `outcome` ([`Function::response`]) with a JSON `body` parsed, so
    /// that comparing it with [`proxy::response`] does not depend on the order of keys.
    pub fn proxy_response(&self, outcome: &InvokeOutcome) -> Value {
        proxy::with_parsed_body(self.response(outcome))
    }

    /// Every OTLP/JSON export request printed on stdout so far, one per line (see
    /// [`parse_export_request`]).
    pub fn export_requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.process
            .stdout_lines()
            .iter()
            .filter_map(|line| parse_export_request(line))
            .collect()
    }

    /// Every span printed on stdout so far.
    pub fn stdout_spans(&self) -> Vec<FlatSpan> {
        parse_json_lines(&self.process.stdout_text())
    }

    /// Polls `check` until it returns `Some`, and returns that.
    ///
    /// # Panics
    ///
    /// After [`WAIT`], with `what()` (what was waited for, as things stand then) and the
    /// function's stdout and stderr in the message.
    pub async fn wait_for<T>(
        &self,
        what: impl FnOnce() -> String,
        check: impl FnMut() -> Option<T>,
    ) -> T {
        wait_until(
            || {
                format!(
                    "{}\nstdout:\n{}\nstderr:\n{}",
                    what(),
                    self.process.stdout_text(),
                    self.process.stderr_text()
                )
            },
            check,
        )
        .await
    }

    /// Waits until stdout holds the root span of every invocation of `invocations`; returns
    /// every span printed so far (see [`Trace::of`] to pick one invocation's).
    ///
    /// # Panics
    ///
    /// After [`WAIT`], naming the invocations still missing.
    pub async fn wait_for_traces(&self, invocations: &[impl RequestId]) -> Vec<FlatSpan> {
        let missing = |spans: &[FlatSpan]| missing_roots(spans, invocations);
        self.wait_for(
            || {
                format!(
                    "no telemetry on stdout for {:?}",
                    missing(&self.stdout_spans())
                )
            },
            || {
                let spans = self.stdout_spans();
                missing(&spans).is_empty().then_some(spans)
            },
        )
        .await
    }

    /// Waits for the telemetry of `invocation` on stdout and returns its trace.
    ///
    /// # Panics
    ///
    /// After [`WAIT`], or unless exactly one root span carries its request id.
    pub async fn trace(&self, invocation: &impl RequestId) -> Trace {
        let spans = self.wait_for_traces(&[invocation]).await;
        Trace::of(&spans, invocation.request_id())
    }

    /// Waits until stdout holds at least `count` OTLP/JSON export lines; returns the spans of
    /// all of them.
    ///
    /// # Panics
    ///
    /// After [`WAIT`].
    pub async fn wait_for_export_lines(&self, count: usize) -> Vec<FlatSpan> {
        self.wait_for(
            || {
                format!(
                    "{count} OTLP/JSON lines on stdout, {} so far",
                    self.export_requests().len()
                )
            },
            || (self.export_requests().len() >= count).then(|| self.stdout_spans()),
        )
        .await
    }

    /// Waits until `receiver` holds the root span of every invocation of `invocations`;
    /// returns every span it accepted so far.
    ///
    /// # Panics
    ///
    /// After [`WAIT`], naming the invocations still missing.
    pub async fn wait_for_received_traces(
        &self,
        receiver: &OtlpReceiver,
        invocations: &[impl RequestId],
    ) -> Vec<FlatSpan> {
        let missing = |spans: &[FlatSpan]| missing_roots(spans, invocations);
        self.wait_for(
            || {
                format!(
                    "no telemetry received for {:?} ({} requests, {} rejected)",
                    missing(&receiver.spans()),
                    receiver.requests(),
                    receiver.rejected()
                )
            },
            || {
                let spans = receiver.spans();
                missing(&spans).is_empty().then_some(spans)
            },
        )
        .await
    }

    /// Waits until `receiver` has accepted at least `count` spans; returns them all.
    ///
    /// # Panics
    ///
    /// After [`WAIT`].
    pub async fn wait_for_received_spans(
        &self,
        receiver: &OtlpReceiver,
        count: usize,
    ) -> Vec<FlatSpan> {
        self.wait_for(
            || {
                format!(
                    "{count} spans received, {} so far:\n{}",
                    receiver.spans().len(),
                    render_tree(&receiver.spans(), false)
                )
            },
            || {
                let spans = receiver.spans();
                (spans.len() >= count).then_some(spans)
            },
        )
        .await
    }

    /// Waits until `condition` holds for the Runtime API's [`Stats`].
    ///
    /// # Panics
    ///
    /// After [`WAIT`], showing the stats.
    pub async fn wait_for_stats(&self, condition: impl Fn(&Stats) -> bool) {
        self.wait_for(
            || format!("condition never held: {:?}", self.api.stats()),
            || condition(&self.api.stats()).then_some(()),
        )
        .await;
    }

    /// Waits until the function has polled for the invocation after the last one it
    /// answered: the SDK exports each invocation after its response and before that poll, so
    /// every export has then been made (or given up).
    ///
    /// # Panics
    ///
    /// After [`WAIT`], showing the stats.
    pub async fn settle(&self) {
        let stats = self.api.stats();
        let answered = stats.responses + stats.errors;
        self.wait_for_stats(|s| s.next_polls > answered && s.polls_waiting >= 1)
            .await;
    }

    /// Waits for the function's first `POST …/init/error`.
    ///
    /// # Panics
    ///
    /// After [`WAIT`].
    pub async fn wait_init_error(&self) -> ErrorReport {
        self.wait_for(
            || "an init error report".to_owned(),
            || self.api.init_errors().into_iter().next(),
        )
        .await
    }

    /// Waits for the process to exit and its output to be collected.
    ///
    /// # Panics
    ///
    /// If it still runs after [`WAIT`].
    pub async fn wait_exit(&self) -> ExitStatus {
        match self.process.wait_exit(WAIT).await {
            Some(status) => status,
            None => panic!(
                "the function process still runs after {WAIT:?}\nstdout:\n{}\nstderr:\n{}",
                self.process.stdout_text(),
                self.process.stderr_text()
            ),
        }
    }

    /// Kills the process and reaps it.
    ///
    /// # Panics
    ///
    /// If it cannot be killed.
    pub async fn stop(self) {
        self.process
            .kill()
            .await
            .unwrap_or_else(|err| panic!("the function process cannot be stopped: {err}"));
    }
}

/// Polls `check` every 10 ms until it returns `Some`, and returns that.
///
/// # Panics
///
/// After [`WAIT`], with `describe()` in the message.
pub async fn wait_until<T>(
    describe: impl FnOnce() -> String,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = check() {
            return found;
        }
        if Instant::now() >= deadline {
            panic!("waited {WAIT:?} in vain: {}", describe());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The request ids of `invocations` whose root span is not among `spans`.
fn missing_roots<'a>(spans: &[FlatSpan], invocations: &'a [impl RequestId]) -> Vec<&'a str> {
    let seen = invocation_ids(spans);
    invocations
        .iter()
        .map(RequestId::request_id)
        .filter(|id| !seen.contains(*id))
        .collect()
}

async fn start_api() -> RuntimeApi {
    RuntimeApi::start()
        .await
        .unwrap_or_else(|err| panic!("the local Runtime API does not start: {err}"))
}
