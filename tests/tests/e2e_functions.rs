//! Real functions through the real runtime loops: handlers that borrow state from `main`,
//! streamed responses that fail halfway or before their first byte, and events that are not
//! JSON at all.
//!
//! Each test re-executes this binary as the function process (`function_child`), with the
//! function chosen by its mode.
#![allow(clippy::unwrap_used)]

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context as TaskContext, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use lambda_http::{Body, Request, RequestExt, Response};
use lambda_runtime::{LambdaEvent, StreamResponse, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{span, tag_event};
use serverless_sdk_tests::{
    events,
    function::{Function, run_function_child},
    runtime_api::InvokeResult,
    trace_view::invocation_roots,
};

/* ------------------------------- the functions under test ------------------------------ */

/// What a real function builds in `main` and lends to its handler.
struct AppState {
    greeting: String,
    served: AtomicUsize,
}

#[serverless_sdk_http::serverless_handler]
async fn greet(req: Request, state: &AppState) -> Result<Response<Body>, lambda_http::Error> {
    let n = state.served.fetch_add(1, Ordering::Relaxed) + 1;
    tag_event("served", n.to_string(), None);
    let who = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("name").map(str::to_owned))
        .unwrap_or_else(|| "world".to_owned());
    Ok(Response::new(Body::from(format!(
        "{} {who} #{n}",
        state.greeting
    ))))
}

/// A client built in `main`, passed before the event.
struct Ledger {
    prefix: &'static str,
}

impl Ledger {
    #[serverless_sdk::span("ledger.write")]
    async fn write(&self, entry: &str) -> String {
        format!("{}:{entry}", self.prefix)
    }
}

#[serverless_sdk::serverless_handler]
async fn record<L: AsRef<Ledger> + Sync>(
    ledger: L,
    event: LambdaEvent<Value>,
) -> Result<Value, std::io::Error> {
    let entry = event.payload["entry"].as_str().unwrap_or("none").to_owned();
    let written = ledger.as_ref().write(&entry).await;
    Ok(json!({ "written": written }))
}

impl AsRef<Ledger> for Ledger {
    fn as_ref(&self) -> &Ledger {
        self
    }
}

/// A response body that sends its chunks 50 ms apart, then fails or panics where it was
/// told to.
struct Chunks {
    chunks: VecDeque<Bytes>,
    then: Then,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Then {
    End,
    Fail,
    Panic,
}

impl Chunks {
    fn new(chunks: &[&'static str], then: Then) -> Self {
        Self {
            chunks: chunks
                .iter()
                .map(|c| Bytes::from_static(c.as_bytes()))
                .collect(),
            then,
            sleep: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the upstream feed broke off (password=hunter2)")]
struct FeedBroken;

impl HttpBody for Chunks {
    type Data = Bytes;
    type Error = FeedBroken;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, FeedBroken>>> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let next = tokio::time::Instant::now() + Duration::from_millis(50);
        self.sleep.as_mut().reset(next);
        match self.chunks.pop_front() {
            Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            None => match self.then {
                Then::End => Poll::Ready(None),
                Then::Fail => Poll::Ready(Some(Err(FeedBroken))),
                Then::Panic => panic!("the feed parser panicked"),
            },
        }
    }
}

#[serverless_sdk_http::serverless_handler]
async fn feed(req: Request) -> Result<Response<Chunks>, lambda_http::Error> {
    let body = match req.uri().path() {
        "/feed/ok" => Chunks::new(&["one\n", "two\n", "three\n"], Then::End),
        "/feed/fails-halfway" => Chunks::new(&["one\n", "two\n"], Then::Fail),
        "/feed/panics-halfway" => Chunks::new(&["one\n"], Then::Panic),
        "/feed/fails-early" => return Err("no feed for this customer (token=abc123)".into()),
        other => return Err(format!("no route {other}").into()),
    };
    let _parse = span("feed.open");
    Ok(Response::builder()
        .header("content-type", "text/plain")
        .body(body)?)
}

#[serverless_sdk::serverless_handler]
async fn echo(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

/// A `lambda_runtime` response stream: `count` numbered lines 50 ms apart, then the end or
/// an error.
struct Numbers {
    next: u32,
    count: u32,
    fail: bool,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl futures_core::Stream for Numbers {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let next = tokio::time::Instant::now() + Duration::from_millis(50);
        self.sleep.as_mut().reset(next);
        if self.next < self.count {
            self.next += 1;
            return Poll::Ready(Some(Ok(Bytes::from(format!("{}\n", self.next)))));
        }
        if self.fail {
            self.fail = false;
            return Poll::Ready(Some(Err(std::io::Error::other("the counter overflowed"))));
        }
        Poll::Ready(None)
    }
}

#[serverless_sdk::serverless_handler]
async fn numbers(event: LambdaEvent<Value>) -> Result<StreamResponse<Numbers>, std::io::Error> {
    let count = u32::try_from(event.payload["count"].as_u64().unwrap_or(0)).unwrap_or(0);
    Ok(StreamResponse::from(Numbers {
        next: 0,
        count,
        fail: event.payload["fail"] == json!(true),
        sleep: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
    }))
}

#[test]
fn function_child() {
    run_function_child(|mode| async move {
        match mode.as_str() {
            "http_state" => {
                let state = AppState {
                    greeting: "hello".to_owned(),
                    served: AtomicUsize::new(0),
                };
                serverless_sdk_http::run(lambda_http::service_fn(|req| greet(req, &state))).await
            }
            "client_first" => {
                let ledger = Ledger { prefix: "ledger" };
                serverless_sdk::run(service_fn(|event| record(&ledger, event))).await
            }
            "client_first_arc" => {
                let ledger = Arc::new(Ledger { prefix: "shared" });
                serverless_sdk::run(service_fn(move |event| record(Arc::clone(&ledger), event)))
                    .await
            }
            "streaming" => {
                serverless_sdk_http::run_with_streaming_response(lambda_http::service_fn(feed))
                    .await
            }
            "echo" => serverless_sdk::run(service_fn(echo)).await,
            "numbers" => serverless_sdk::run(service_fn(numbers)).await,
            other => panic!("unknown function {other}"),
        }
    });
}

/* --------------------------------------- the tests --------------------------------------- */

#[tokio::test]
async fn an_http_handler_borrows_its_state_from_main() {
    let function = Function::test_child("greeter", "http_state", &[]).await;
    let event = events::apigw_v2("GET", "/greet?name=ada", "GET /greet", None);
    let first = function.invoke(&event).await;
    let second = function.invoke(&event).await;
    let body = |o| function.proxy_response(o)["body"].clone();
    assert_eq!(body(&first), json!("hello ada #1"));
    assert_eq!(
        body(&second),
        json!("hello ada #2"),
        "one state for the process"
    );

    let trace = function.trace(&second).await;
    trace.assert_http_root("GET", 200);
    trace.root.assert_attrs([
        ("serverless.tag.served", "2".into()),
        ("code.function", "greet".into()),
        ("serverless.outcome", "success".into()),
    ]);
    function.stop().await;
}

#[tokio::test]
async fn a_handler_takes_its_client_before_the_event() {
    for (mode, prefix) in [("client_first", "ledger"), ("client_first_arc", "shared")] {
        let function = Function::test_child("ledger", mode, &[]).await;
        let outcome = function.invoke(&json!({ "entry": "coffee" })).await;
        assert_eq!(
            function.response(&outcome),
            json!({ "written": format!("{prefix}:coffee") })
        );
        let trace = function.trace(&outcome).await;
        assert_eq!(trace.root.attr_str("code.function"), Some("record"));
        let write = trace.named("ledger.write");
        trace.assert_child_of(write, &trace.root);
        function.stop().await;
    }
}

/// The body of a streamed response, after the metadata prelude.
fn streamed(outcome: &serverless_sdk_tests::runtime_api::InvokeOutcome) -> (Value, String) {
    assert!(
        outcome.streaming,
        "a streamed response: {:?}",
        outcome.result
    );
    let (prelude, body) = outcome.stream_parts().expect("a prelude and a body");
    (prelude, String::from_utf8(body.to_vec()).unwrap())
}

/// Invokes the feed function with a Function URL `GET path`: what it streamed.
async fn get_feed(
    function: &Function,
    path: &str,
) -> (
    serverless_sdk_tests::runtime_api::InvokeOutcome,
    Value,
    String,
) {
    let outcome = function
        .invoke(&events::function_url("GET", path, None))
        .await;
    let (prelude, body) = streamed(&outcome);
    (outcome, prelude, body)
}

#[tokio::test]
async fn a_streamed_response_lasts_until_its_last_byte() {
    let function = Function::test_child("feed", "streaming", &[]).await;
    let (outcome, prelude, body) = get_feed(&function, "/feed/ok").await;
    assert_eq!(prelude["statusCode"], json!(200));
    assert_eq!(body, "one\ntwo\nthree\n");

    let trace = function.trace(&outcome).await;
    trace.assert_http_root("GET", 200);
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    // Four 50 ms waits: three chunks and the end. The handler itself returned at once.
    assert!(
        trace.root.duration() >= Duration::from_millis(190),
        "the root span ends with the stream: {:?}",
        trace.root.duration()
    );
    function.stop().await;
}

#[tokio::test]
async fn a_stream_that_fails_halfway_ends_cleanly_and_is_recorded() {
    let function = Function::test_child("feed", "streaming", &[]).await;
    for (path, sent, exception) in [
        ("/feed/fails-halfway", "one\ntwo\n", "FeedBroken"),
        ("/feed/panics-halfway", "one\n", "Panic"),
    ] {
        let (outcome, prelude, body) = get_feed(&function, path).await;
        assert_eq!(prelude["statusCode"], json!(200), "{path}");
        assert_eq!(
            body, sent,
            "{path}: the client sees what was sent so far, then the end"
        );

        let root = function.trace(&outcome).await.root;
        assert_eq!(
            root.attr_str("serverless.outcome"),
            Some("error:unhandled"),
            "{path}"
        );
        assert!(root.is_error(), "{path}");
        let event = root.event("exception").expect("an exception event");
        assert_eq!(event.attr_str("exception.type"), Some(exception), "{path}");
        assert_eq!(event.attr_bool("exception.handled"), Some(false), "{path}");
        let wait = Duration::from_millis(50 * (sent.lines().count() as u64 + 1) - 10);
        assert!(root.duration() >= wait, "{path}: {:?}", root.duration());
        assert!(
            !function.process.stdout_text().contains("hunter2"),
            "the error's secret stays out of telemetry"
        );
    }
    // The process goes on serving.
    assert_eq!(get_feed(&function, "/feed/ok").await.2, "one\ntwo\nthree\n");
    function.stop().await;
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_byte_answers_the_proxy_500() {
    let function = Function::test_child("feed", "streaming", &[]).await;
    let (outcome, prelude, body) = get_feed(&function, "/feed/fails-early").await;
    assert_eq!(prelude["statusCode"], json!(500));
    assert_eq!(
        prelude["headers"]["content-type"],
        json!("application/json")
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({ "message": "Internal Server Error", "requestId": outcome.request_id })
    );
    let trace = function.trace(&outcome).await;
    trace.assert_http_root("GET", 500);
    assert_eq!(
        trace.root.attr_str("serverless.outcome"),
        Some("error:handled")
    );
    trace.root.assert_one_exception(
        "Error",
        "no feed for this customer (token=[REDACTED])",
        false,
    );
    function.stop().await;
}

#[tokio::test]
async fn events_that_are_not_json_are_unmarshal_errors_and_the_process_goes_on() {
    let function = Function::test_child("echo", "echo", &[]).await;
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "not JSON",
            b"not json",
            "the event (8 bytes) cannot be read: the event is not JSON: expected ident at line 1 column 2",
        ),
        (
            "empty",
            b"",
            "the event (0 bytes) cannot be read: the event is empty; Lambda events are JSON",
        ),
        (
            "not UTF-8",
            b"\xff\xfe{}",
            "the event (4 bytes) cannot be read: the event is not UTF-8 (invalid utf-8 sequence of 1 bytes from index 0); Lambda events are JSON",
        ),
        (
            "truncated",
            br#"{"order": 4"#,
            "the event (11 bytes) cannot be read: the event is not JSON: EOF while parsing an object at line 1 column 11",
        ),
    ];
    for (what, payload, message) in cases {
        let outcome = function.api.invoke(payload.to_vec()).await;
        let InvokeResult::Error(error) = &outcome.result else {
            panic!("{what}: {:?}", outcome.result);
        };
        assert_eq!(error.error_type, "Runtime.UnmarshalError", "{what}");
        assert_eq!(error.error_message, message, "{what}");

        let root = function.trace(&outcome).await.root;
        assert_eq!(
            root.attr_str("serverless.outcome"),
            Some("error:unhandled"),
            "{what}"
        );
        assert_eq!(
            root.attr_i64("serverless.event.size_bytes"),
            Some(i64::try_from(payload.len()).unwrap()),
            "{what}"
        );
        root.assert_one_exception("Runtime.UnmarshalError", message, false);
    }
    // Still serving: the next event is answered as usual.
    let outcome = function.invoke(&json!({ "still": "here" })).await;
    assert_eq!(function.response(&outcome), json!({ "still": "here" }));
    let spans = function.wait_for_traces(&[&outcome]).await;
    assert_eq!(invocation_roots(&spans).len(), 5);
    function.stop().await;
}

#[tokio::test]
async fn a_lambda_runtime_stream_is_recorded_to_its_end() {
    let function = Function::test_child("numbers", "numbers", &[]).await;
    let outcome = function.invoke(&json!({ "count": 3 })).await;
    assert_eq!(streamed(&outcome).1, "1\n2\n3\n");
    let trace = function.trace(&outcome).await;
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    assert!(
        trace.root.duration() >= Duration::from_millis(190),
        "{:?}",
        trace.root.duration()
    );

    let outcome = function.invoke(&json!({ "count": 2, "fail": true })).await;
    assert_eq!(
        streamed(&outcome).1,
        "1\n2\n",
        "what was sent, then a clean end"
    );
    let trace = function.trace(&outcome).await;
    let root = &trace.root;
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));
    root.assert_one_exception("Error", "the counter overflowed", false);
    assert!(
        root.duration() >= Duration::from_millis(140),
        "{:?}",
        root.duration()
    );
    function.stop().await;
}
