//! A local [AWS Lambda Runtime API] server.
//!
//! [`RuntimeApi`] plays the part of the Lambda service: [`RuntimeApi::invoke`] queues an event,
//! a function process long-polls `GET /2018-06-01/runtime/invocation/next` for it, runs its
//! handler and posts the result to `…/invocation/{id}/response` or `…/invocation/{id}/error`,
//! and `invoke` returns what came back as an [`InvokeOutcome`].
//!
//! It speaks the protocol the way AWS does, closely enough for the real `lambda_runtime` client:
//!
//! | request | answer |
//! |---|---|
//! | `GET …/invocation/next` | long-polls; `200` with the payload and the `Lambda-Runtime-*` headers. Any number of concurrent polls. |
//! | `POST …/invocation/{id}/response` | `202 {"status":"OK"}`; `413` above 6 MiB (the invocation then fails with `Function.ResponseSizeTooLarge`) |
//! | `POST …/invocation/{id}/error` | `202`, records `errorType`, `errorMessage`, `stackTrace` and `Lambda-Runtime-Function-Error-Type` |
//! | `POST …/init/error` | `202`, see [`RuntimeApi::wait_init_error`] |
//! | unknown, not yet delivered, or already answered `{id}` | `400 {"errorType":"InvalidRequestID"}` |
//! | `{id}` whose invocation timed out, or a mismatched `Lambda-Runtime-Invocation-Id` echo | `410 Gone` (what `lambda_runtime` 1.5 expects for stale responses) |
//!
//! Every irregular answer is counted in [`Stats`], so a test can assert that each invocation got
//! exactly one response.
//!
//! The clock of an invocation's `timeout` starts when a `/next` poll receives the event, as in
//! Lambda, and `Lambda-Runtime-Deadline-Ms` is set accordingly. Waiting for a poll to pick the
//! event up is bounded separately by [`InvokeOptions::queue_timeout`].
//!
//! Run a function against it with [`RuntimeApi::function_command`] and [`FunctionProcess`], or,
//! to run a handler defined inside a test, with [`RuntimeApi::function_test_command`].
//!
//! [AWS Lambda Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

mod ids;
mod process;
mod routes;

pub use ids::{XrayHeader, generate_request_id, generate_trace_header};
pub use process::{FUNCTION_CHILD_ENV, FunctionProcess, INHERITED_ENV_VARS, is_function_child};

use crate::{lock, server::Server};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use std::{
    collections::HashMap,
    fmt, io,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};
use tokio::sync::{mpsc, oneshot, watch};

/// AWS region reported to functions (`AWS_REGION`, ARNs).
pub const REGION: &str = "us-east-1";
/// AWS account id used in generated ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// Function name used for default ARNs until [`RuntimeApi::function_env`] names one.
pub const DEFAULT_FUNCTION_NAME: &str = "test-function";
/// Maximum size of an invocation payload and of a buffered response (6 MiB), as in Lambda.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Options of one invocation; see [`RuntimeApi::invoke_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOptions {
    /// The function timeout, counted from the moment a `/next` poll receives the event.
    /// Default: 3 s (Lambda's default).
    pub timeout: Duration,
    /// How long to wait for a `/next` poll to pick the event up before giving up with
    /// [`InvokeResult::NotDelivered`]. Default: 10 s.
    pub queue_timeout: Duration,
    /// The request id; default: a fresh UUID-shaped id. Must not be in flight already.
    pub request_id: Option<String>,
    /// The `Lambda-Runtime-Trace-Id` header; default: a fresh sampled X-Ray header
    /// (see [`generate_trace_header`]). Use `Some(String::new())` to send none.
    pub trace_header: Option<String>,
    /// The invoked function ARN; default:
    /// `arn:aws:lambda:us-east-1:123456789012:function:{function name}`.
    pub function_arn: Option<String>,
    /// The `Lambda-Runtime-Client-Context` header (JSON, as `lambda_runtime` parses it).
    /// Default: none.
    pub client_context: Option<String>,
}

impl Default for InvokeOptions {
    fn default() -> Self {
        InvokeOptions {
            timeout: Duration::from_secs(3),
            queue_timeout: Duration::from_secs(10),
            request_id: None,
            trace_header: None,
            function_arn: None,
            client_context: None,
        }
    }
}

/// What the function sent to `…/invocation/{id}/error` or `…/init/error`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReport {
    /// `errorType` from the JSON body; if the body has none, the
    /// `Lambda-Runtime-Function-Error-Type` header; else empty.
    pub error_type: String,
    /// `errorMessage` from the JSON body; the whole body if it is not JSON.
    pub error_message: String,
    /// The `Lambda-Runtime-Function-Error-Type` header (`lambda_runtime` sends `unhandled`, or
    /// `Runtime.InitError` for init errors).
    pub header_error_type: Option<String>,
    /// `stackTrace` from the JSON body, if any.
    pub stack_trace: Option<serde_json::Value>,
    /// The body as received.
    pub raw: Bytes,
}

impl ErrorReport {
    /// Interprets an error body (`{"errorType": …, "errorMessage": …, "stackTrace": …}`) and the
    /// error-type header that came with it.
    pub fn parse(header_error_type: Option<&HeaderValue>, raw: Bytes) -> ErrorReport {
        let header_error_type =
            header_error_type.map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let json = serde_json::from_slice::<serde_json::Value>(&raw)
            .ok()
            .filter(serde_json::Value::is_object);
        let field = |name: &str| {
            json.as_ref()
                .and_then(|body| body.get(name))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let error_type = field("errorType")
            .or_else(|| header_error_type.clone())
            .unwrap_or_default();
        let error_message = match &json {
            Some(_) => field("errorMessage").unwrap_or_default(),
            None => String::from_utf8_lossy(&raw).into_owned(),
        };
        let stack_trace = json
            .as_ref()
            .and_then(|body| body.get("stackTrace"))
            .cloned();
        ErrorReport {
            error_type,
            error_message,
            header_error_type,
            stack_trace,
            raw,
        }
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeResult {
    /// The function posted to `…/response`; the body as received. For a streamed response
    /// (see [`InvokeOutcome::streaming`]) this includes the metadata prelude and its
    /// eight-NUL delimiter, see [`InvokeOutcome::stream_parts`].
    Response(Bytes),
    /// The function posted to `…/error`, or its response was too large.
    Error(ErrorReport),
    /// The event was delivered but nothing came back within [`InvokeOptions::timeout`].
    Timeout,
    /// No `/next` poll picked the event up within [`InvokeOptions::queue_timeout`]: the function
    /// is not running, or is stuck.
    NotDelivered,
    /// The invocation was refused before being queued, as the Lambda Invoke API would refuse it
    /// (payload over 6 MiB, a request id already in flight, a value that cannot be sent as an
    /// HTTP header); the reason.
    Rejected(String),
}

/// The result of [`RuntimeApi::invoke`].
#[derive(Debug, Clone)]
pub struct InvokeOutcome {
    /// The invocation's request id.
    pub request_id: String,
    /// How it ended.
    pub result: InvokeResult,
    /// From the moment a `/next` poll received the event to the moment the response or error
    /// arrived (or the timeout); zero if the event was never delivered.
    pub latency: Duration,
    /// Whether the response was sent in streaming mode
    /// (`Lambda-Runtime-Function-Response-Mode: streaming`).
    pub streaming: bool,
    /// The headers of the `…/response` or `…/error` request (empty if none came), e.g. to check
    /// the `Lambda-Runtime-Invocation-Id` echo or the `User-Agent`.
    pub request_headers: HeaderMap,
}

impl InvokeOutcome {
    /// The response body parsed as JSON; `None` for anything but a JSON [`InvokeResult::Response`].
    pub fn json(&self) -> Option<serde_json::Value> {
        match &self.result {
            InvokeResult::Response(body) => serde_json::from_slice(body).ok(),
            _ => None,
        }
    }

    /// The response body, if the function responded.
    pub fn body(&self) -> Option<&Bytes> {
        match &self.result {
            InvokeResult::Response(body) => Some(body),
            _ => None,
        }
    }

    /// The error report, if the function reported an error.
    pub fn error(&self) -> Option<&ErrorReport> {
        match &self.result {
            InvokeResult::Error(report) => Some(report),
            _ => None,
        }
    }

    /// Asserts that the function reported an error of type `error_type`, and returns the
    /// report.
    ///
    /// # Panics
    ///
    /// If it answered otherwise, showing the outcome, or with another error type.
    #[track_caller]
    pub fn expect_error(&self, error_type: &str) -> &ErrorReport {
        let report = self.error().unwrap_or_else(|| panic!("{self:?}"));
        assert_eq!(report.error_type, error_type, "{report:?}");
        report
    }

    /// Whether the invocation timed out after delivery.
    pub fn is_timeout(&self) -> bool {
        self.result == InvokeResult::Timeout
    }

    /// For a streamed response: the metadata prelude (JSON: `statusCode`, `headers`, `cookies`)
    /// and the streamed body after the eight-NUL delimiter. `None` if the response was not
    /// streamed or has no prelude.
    pub fn stream_parts(&self) -> Option<(serde_json::Value, Bytes)> {
        const DELIMITER: &[u8] = &[0; 8];
        let body = self.body().filter(|_| self.streaming)?;
        let split = body
            .windows(DELIMITER.len())
            .position(|window| window == DELIMITER)?;
        let prelude = serde_json::from_slice(&body[..split]).ok()?;
        Some((prelude, body.slice(split + DELIMITER.len()..)))
    }
}

/// Counters of what the server has seen, see [`RuntimeApi::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// `GET …/next` requests received.
    pub next_polls: u64,
    /// `GET …/next` requests currently waiting for an event.
    pub polls_waiting: u64,
    /// Events handed out by `/next`.
    pub events_delivered: u64,
    /// Accepted `…/response` posts.
    pub responses: u64,
    /// Accepted `…/error` posts.
    pub errors: u64,
    /// `…/init/error` posts.
    pub init_errors: u64,
    /// Responses or errors for an invocation that had already been answered.
    pub duplicate_responses: u64,
    /// Responses or errors for an invocation that had already timed out.
    pub late_responses: u64,
    /// Responses or errors for a request id never handed out.
    pub unknown_responses: u64,
    /// Responses or errors whose `Lambda-Runtime-Invocation-Id` echo did not match.
    pub invocation_id_mismatches: u64,
}

impl Stats {
    /// The invocations answered so far: `(responses, errors)`.
    pub fn answers(&self) -> (u64, u64) {
        (self.responses, self.errors)
    }

    /// Asserts that `count` events were delivered and each answered once, with a response: no
    /// error, and no duplicate, late, unknown or mismatched answer.
    #[track_caller]
    pub fn assert_all_answered(&self, count: u64) {
        let expected = Stats {
            events_delivered: count,
            responses: count,
            errors: 0,
            duplicate_responses: 0,
            late_responses: 0,
            unknown_responses: 0,
            invocation_id_mismatches: 0,
            ..*self
        };
        assert_eq!(*self, expected, "{count} invocations, each answered once");
    }
}

/// A running local Lambda Runtime API; see the [module documentation](self).
///
/// Cheap to clone; the server stops when the last clone is dropped or on [`RuntimeApi::shutdown`].
#[derive(Clone)]
pub struct RuntimeApi {
    shared: Arc<Shared>,
    server: Arc<Server>,
}

impl fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Starts a server on `127.0.0.1` and an ephemeral port, on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start() -> io::Result<RuntimeApi> {
        let shared = Arc::new(Shared::new());
        let server = Server::start_with(&shared, routes::handle, true).await?;
        Ok(RuntimeApi {
            shared,
            server: Arc::new(server),
        })
    }

    /// The server's address; `addr().to_string()` is the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The environment Lambda gives a function named `function_name` (`AWS_LAMBDA_RUNTIME_API`,
    /// `AWS_LAMBDA_FUNCTION_NAME`, `…_VERSION=$LATEST`, `…_MEMORY_SIZE=128`, log group and
    /// stream, `AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_LAMBDA_INITIALIZATION_TYPE=on-demand`,
    /// `TZ=:UTC`).
    ///
    /// Also makes `function_name` the name in default ARNs of later invocations.
    pub fn function_env(&self, function_name: &str) -> Vec<(String, String)> {
        *lock(&self.shared.function_name) = function_name.to_owned();
        let vars = [
            ("AWS_LAMBDA_RUNTIME_API", self.addr().to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("TZ", ":UTC".to_owned()),
        ];
        vars.into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect()
    }

    /// Invokes the function with `payload` and default [`InvokeOptions`].
    pub async fn invoke(&self, payload: impl Into<Bytes>) -> InvokeOutcome {
        self.invoke_with(payload, InvokeOptions::default()).await
    }

    /// Invokes the function: queues the event for the next `/next` poll and waits for its
    /// response, error or timeout. Any number of invocations may be in flight at once.
    pub async fn invoke_with(
        &self,
        payload: impl Into<Bytes>,
        options: InvokeOptions,
    ) -> InvokeOutcome {
        let payload = payload.into();
        let request_id = options.request_id.unwrap_or_else(generate_request_id);
        let function_arn = options.function_arn.unwrap_or_else(|| {
            let name = lock(&self.shared.function_name);
            format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
        });
        let trace_header = options.trace_header.unwrap_or_else(generate_trace_header);
        let headers = match invocation_headers(
            &request_id,
            &function_arn,
            &trace_header,
            options.client_context.as_deref(),
        ) {
            Ok(headers) => headers,
            Err(reason) => {
                return InvokeOutcome::without_answer(request_id, InvokeResult::Rejected(reason));
            }
        };
        if payload.len() > MAX_PAYLOAD_BYTES {
            let reason = format!(
                "payload of {} bytes exceeds the {MAX_PAYLOAD_BYTES} bytes limit",
                payload.len()
            );
            return InvokeOutcome::without_answer(request_id, InvokeResult::Rejected(reason));
        }

        let (delivered_tx, delivered_rx) = oneshot::channel();
        let (answer_tx, mut answer_rx) = oneshot::channel();
        let generation = {
            let mut state = lock(&self.shared.state);
            if state
                .slots
                .get(&request_id)
                .is_some_and(|slot| matches!(slot.phase, Phase::Queued | Phase::Running { .. }))
            {
                let reason = format!("request id {request_id} is already in flight");
                return InvokeOutcome::without_answer(request_id, InvokeResult::Rejected(reason));
            }
            state.generations += 1;
            let generation = state.generations;
            state.slots.insert(
                request_id.clone(),
                Slot {
                    generation,
                    phase: Phase::Queued,
                    delivered: Some(delivered_tx),
                    answer: Some(answer_tx),
                    invocation_id: None,
                },
            );
            generation
        };
        let event = QueuedEvent {
            request_id: request_id.clone(),
            generation,
            payload,
            headers,
            timeout: options.timeout,
        };
        // The receiver lives in `shared`, which we hold, so sending cannot fail.
        let _ = self.shared.queue.send(event);

        if !matches!(
            tokio::time::timeout(options.queue_timeout, delivered_rx).await,
            Ok(Ok(()))
        ) {
            return self.give_up(
                request_id,
                generation,
                answer_rx,
                InvokeResult::NotDelivered,
            );
        }
        match tokio::time::timeout(options.timeout, &mut answer_rx).await {
            Ok(Ok(answer)) => answer.into_outcome(request_id),
            _ => self.give_up(request_id, generation, answer_rx, InvokeResult::Timeout),
        }
    }

    /// Marks an invocation as abandoned, unless its answer raced in.
    fn give_up(
        &self,
        request_id: String,
        generation: u64,
        mut answer_rx: oneshot::Receiver<Answer>,
        result: InvokeResult,
    ) -> InvokeOutcome {
        let latency = {
            let mut state = lock(&self.shared.state);
            match state.slots.get_mut(&request_id) {
                Some(slot) if slot.generation == generation => match slot.phase {
                    Phase::Running { delivered_at } => {
                        slot.phase = Phase::Expired;
                        delivered_at.elapsed()
                    }
                    Phase::Queued => {
                        slot.phase = Phase::Expired;
                        Duration::ZERO
                    }
                    Phase::Answered | Phase::Expired => Duration::ZERO,
                },
                _ => Duration::ZERO,
            }
        };
        match answer_rx.try_recv() {
            Ok(answer) => answer.into_outcome(request_id),
            Err(_) => InvokeOutcome {
                latency,
                ..InvokeOutcome::without_answer(request_id, result)
            },
        }
    }

    /// Waits up to `timeout` for a `POST …/init/error` and returns the first one received.
    pub async fn wait_init_error(&self, timeout: Duration) -> Option<ErrorReport> {
        let mut reports = self.shared.init_errors.subscribe();
        tokio::time::timeout(timeout, reports.wait_for(|reports| !reports.is_empty()))
            .await
            .ok()?
            .ok()?
            .first()
            .cloned()
    }

    /// Every `POST …/init/error` received so far.
    pub fn init_errors(&self) -> Vec<ErrorReport> {
        self.shared.init_errors.borrow().clone()
    }

    /// A snapshot of the server's counters.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.state).stats
    }

    /// Stops the server: closes every connection, including waiting `/next` polls (the
    /// `lambda_runtime` client then fails and the function exits). Idempotent.
    pub fn shutdown(&self) {
        self.server.shutdown();
    }
}

impl InvokeOutcome {
    fn without_answer(request_id: String, result: InvokeResult) -> InvokeOutcome {
        InvokeOutcome {
            request_id,
            result,
            latency: Duration::ZERO,
            streaming: false,
            request_headers: HeaderMap::new(),
        }
    }
}

/// State shared by the handle and the connection tasks.
struct Shared {
    state: Mutex<State>,
    queue: mpsc::UnboundedSender<QueuedEvent>,
    /// Concurrent `/next` polls take turns on the receiver, in arrival order.
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<QueuedEvent>>,
    init_errors: watch::Sender<Vec<ErrorReport>>,
    function_name: Mutex<String>,
}

impl Shared {
    fn new() -> Shared {
        let (queue, queue_rx) = mpsc::unbounded_channel();
        Shared {
            state: Mutex::new(State::default()),
            queue,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            init_errors: watch::Sender::new(Vec::new()),
            function_name: Mutex::new(DEFAULT_FUNCTION_NAME.to_owned()),
        }
    }
}

#[derive(Default)]
struct State {
    slots: HashMap<String, Slot>,
    generations: u64,
    stats: Stats,
}

/// One invocation, by request id. Kept after it ends, to recognize duplicate and late answers.
struct Slot {
    /// Distinguishes invocations that reuse a request id.
    generation: u64,
    phase: Phase,
    delivered: Option<oneshot::Sender<()>>,
    answer: Option<oneshot::Sender<Answer>>,
    /// The `Lambda-Runtime-Invocation-Id` handed out with the event.
    invocation_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Running { delivered_at: Instant },
    Answered,
    Expired,
}

/// An event waiting for a `/next` poll.
struct QueuedEvent {
    request_id: String,
    generation: u64,
    payload: Bytes,
    /// All `Lambda-Runtime-*` headers except the deadline and invocation id.
    headers: HeaderMap,
    timeout: Duration,
}

/// What the function sent back.
struct Answer {
    result: InvokeResult,
    latency: Duration,
    streaming: bool,
    request_headers: HeaderMap,
}

impl Answer {
    fn into_outcome(self, request_id: String) -> InvokeOutcome {
        InvokeOutcome {
            request_id,
            result: self.result,
            latency: self.latency,
            streaming: self.streaming,
            request_headers: self.request_headers,
        }
    }
}

fn invocation_headers(
    request_id: &str,
    function_arn: &str,
    trace_header: &str,
    client_context: Option<&str>,
) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| -> Result<(), String> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("{name} value {value:?} is not a valid HTTP header value"))?;
        headers.insert(name, value);
        Ok(())
    };
    set("lambda-runtime-aws-request-id", request_id)?;
    set("lambda-runtime-invoked-function-arn", function_arn)?;
    if !trace_header.is_empty() {
        set("lambda-runtime-trace-id", trace_header)?;
    }
    if let Some(client_context) = client_context {
        set("lambda-runtime-client-context", client_context)?;
    }
    Ok(headers)
}

/// `YYYY/MM/DD/[$LATEST]{32 hex}`, today's date in UTC.
fn log_stream_name() -> String {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let date = now.get(..10).unwrap_or("1970-01-01").replace('-', "/");
    let suffix = generate_request_id().replace('-', "");
    format!("{date}/[$LATEST]{suffix}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn log_stream_names_are_dated() {
        let name = log_stream_name();
        let (date, rest) = name.split_at(10);
        assert_eq!(date.matches('/').count(), 2, "{name}");
        assert!(date.starts_with("20"), "{name}");
        assert_eq!(rest.len(), "/[$LATEST]".len() + 32, "{name}");
    }

    #[test]
    fn error_reports_from_json_and_text() {
        let header = HeaderValue::from_static("unhandled");
        let report = ErrorReport::parse(
            Some(&header),
            Bytes::from_static(
                br#"{"errorType":"MyError","errorMessage":"boom","stackTrace":["a"]}"#,
            ),
        );
        assert_eq!(report.error_type, "MyError");
        assert_eq!(report.error_message, "boom");
        assert_eq!(report.header_error_type.as_deref(), Some("unhandled"));
        assert_eq!(report.stack_trace, Some(serde_json::json!(["a"])));

        let report = ErrorReport::parse(Some(&header), Bytes::from_static(b"not json"));
        assert_eq!(report.error_type, "unhandled");
        assert_eq!(report.error_message, "not json");
        assert_eq!(report.stack_trace, None);
    }

    #[test]
    fn stream_parts_split_the_prelude() {
        let outcome = InvokeOutcome {
            streaming: true,
            ..InvokeOutcome::without_answer(
                "id".into(),
                InvokeResult::Response(Bytes::from_static(
                    b"{\"statusCode\":200}\0\0\0\0\0\0\0\0hello",
                )),
            )
        };
        let (prelude, body) = outcome.stream_parts().unwrap();
        assert_eq!(prelude["statusCode"], 200);
        assert_eq!(body, "hello");
    }
}
