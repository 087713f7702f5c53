//! `RuntimeApi` driven by the real `lambda_runtime` client.
//!
//! `lambda_runtime` reads its configuration from the environment, which a multi-threaded test
//! process must not modify. So each test re-executes this test binary as the function
//! (`function_child` below, running `lambda_runtime::run` with `handler`) with the environment
//! `RuntimeApi` gives it, and invokes it like Lambda would.
#![allow(clippy::unwrap_used)]

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk_tests::{
    function::{Function, WAIT, run_function_child},
    runtime_api::{InvokeOptions, InvokeResult, RuntimeApi},
};
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::task::JoinSet;

const FUNCTION_NAME: &str = "kit-test";

/// Invocations of `handler` currently running in the child.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

/// The function under test; the event's `op` picks the behaviour.
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = (event.payload, event.context);
    let in_flight = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    let sleep_ms = payload["sleep_ms"].as_u64().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    match payload["op"].as_str() {
        Some("echo") => Ok(json!({
            "echo": payload["value"],
            "in_flight": in_flight,
            "request_id": context.request_id,
            "deadline": context.deadline,
            "arn": context.invoked_function_arn,
            "xray_trace_id": context.xray_trace_id,
            "function_name": context.env_config.function_name,
            "memory": context.env_config.memory,
        })),
        Some("fail") => Err(Diagnostic {
            error_type: "OrderFailed".to_owned(),
            error_message: format!("order {} cannot be placed", payload["value"]),
        }),
        Some("panic") => panic!("handler exploded"),
        other => Err(Diagnostic {
            error_type: "UnknownOp".to_owned(),
            error_message: format!("unknown op {other:?}"),
        }),
    }
}

/// Not a test: the entry point of the function process the tests start.
#[test]
fn function_child() {
    run_function_child(|_| async {
        if std::env::var_os("AWS_LAMBDA_MAX_CONCURRENCY").is_some() {
            lambda_runtime::run_concurrent(service_fn(handler)).await
        } else {
            lambda_runtime::run(service_fn(handler)).await
        }
    });
}

async fn start(max_concurrency: Option<u32>) -> Function {
    let max = max_concurrency.map(|max| max.to_string());
    let env: Vec<(&str, &str)> = max
        .iter()
        .map(|max| ("AWS_LAMBDA_MAX_CONCURRENCY", max.as_str()))
        .collect();
    Function::test_child(FUNCTION_NAME, "", &env).await
}

fn unix_millis() -> u64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(elapsed.as_millis()).unwrap()
}

#[tokio::test]
async fn responses_round_trip_with_the_lambda_context() {
    let function = start(None).await;

    let trace_header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let before = unix_millis();
    let outcome = function
        .api
        .invoke_with(
            json!({ "op": "echo", "value": "hello" }).to_string(),
            InvokeOptions {
                timeout: Duration::from_secs(5),
                request_id: Some("0f0e0d0c-0000-4000-8000-000000000001".to_owned()),
                trace_header: Some(trace_header.to_owned()),
                ..InvokeOptions::default()
            },
        )
        .await;
    let body = outcome
        .json()
        .unwrap_or_else(|| panic!("{outcome:?}\nstderr:\n{}", function.process.stderr_text()));
    assert_eq!(body["echo"], "hello");
    assert_eq!(outcome.request_id, "0f0e0d0c-0000-4000-8000-000000000001");
    assert_eq!(body["request_id"], outcome.request_id);
    assert_eq!(body["xray_trace_id"], trace_header);
    assert_eq!(
        body["arn"],
        format!("arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}")
    );
    assert_eq!(body["function_name"], FUNCTION_NAME);
    assert_eq!(body["memory"], 128);
    let deadline = body["deadline"].as_u64().unwrap();
    assert!(
        (before + 5_000..=unix_millis() + 5_000).contains(&deadline),
        "deadline {deadline} is not 5 s after delivery"
    );
    assert!(outcome.latency < Duration::from_secs(5));
    assert!(!outcome.streaming);

    // What the client sent along with its response.
    let headers = &outcome.request_headers;
    let user_agent = headers["user-agent"].to_str().unwrap();
    assert!(user_agent.starts_with("aws-lambda-rust/"), "{user_agent}");
    assert!(headers.contains_key("lambda-runtime-invocation-id"));

    // Default options: generated request id and trace header, each delivered to the handler.
    for value in 0..5 {
        let outcome = function
            .invoke(&json!({ "op": "echo", "value": value }))
            .await;
        let body = outcome.json().unwrap();
        assert_eq!(body["echo"], value);
        assert_eq!(body["request_id"], outcome.request_id);
        assert!(
            body["xray_trace_id"]
                .as_str()
                .unwrap()
                .starts_with("Root=1-")
        );
    }

    function.api.stats().assert_all_answered(6);
    drop(function);
}

#[tokio::test]
async fn handler_errors_reach_the_error_endpoint() {
    let function = start(None).await;

    let outcome = function.invoke(&json!({ "op": "fail", "value": 7 })).await;
    let report = outcome.expect_error("OrderFailed");
    assert_eq!(report.error_message, "order 7 cannot be placed");
    assert_eq!(report.header_error_type.as_deref(), Some("unhandled"));
    assert_eq!(outcome.json(), None);

    // A panic is caught by lambda_runtime and reported as an error too.
    let outcome = function.invoke(&json!({ "op": "panic" })).await;
    let report = outcome.error().unwrap_or_else(|| panic!("{outcome:?}"));
    assert_eq!(report.error_message, "Lambda panicked: handler exploded");

    // So is a payload the handler's event type cannot be deserialized from.
    let outcome = function.api.invoke("not json").await;
    let report = outcome.error().unwrap_or_else(|| panic!("{outcome:?}"));
    assert!(report.error_type.contains("DeserializeError"), "{report:?}");

    // The runtime keeps serving afterwards.
    let outcome = function.invoke(&json!({ "op": "echo", "value": 1 })).await;
    assert_eq!(outcome.json().unwrap()["echo"], 1);

    let stats = function.api.stats();
    assert_eq!(stats.answers(), (1, 3));
    assert_eq!(stats.duplicate_responses, 0);
}

/// Fires `count` echo invocations at once; returns the `in_flight` values the handler saw.
async fn invoke_concurrently(api: &RuntimeApi, count: u64, sleep_ms: u64) -> Vec<u64> {
    let mut tasks = JoinSet::new();
    for value in 0..count {
        let api = api.clone();
        tasks.spawn(async move {
            let payload = json!({ "op": "echo", "value": value, "sleep_ms": sleep_ms });
            let outcome = api
                .invoke_with(
                    payload.to_string(),
                    InvokeOptions {
                        timeout: Duration::from_secs(10),
                        ..InvokeOptions::default()
                    },
                )
                .await;
            (value, outcome)
        });
    }
    let mut in_flight = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (value, outcome) = joined.unwrap();
        let body = outcome
            .json()
            .unwrap_or_else(|| panic!("invocation {value}: {outcome:?}"));
        assert_eq!(body["echo"], value, "answer of another invocation: {body}");
        assert_eq!(body["request_id"], outcome.request_id);
        in_flight.push(body["in_flight"].as_u64().unwrap());
    }
    in_flight
}

#[tokio::test]
async fn concurrent_invocations_are_answered_exactly_once_by_a_sequential_runtime() {
    let function = start(None).await;

    let in_flight = invoke_concurrently(&function.api, 20, 5).await;
    assert!(
        in_flight.iter().all(|&n| n == 1),
        "not sequential: {in_flight:?}"
    );

    let stats = function.api.stats();
    stats.assert_all_answered(20);
    // A sequential runtime polls once at a time.
    assert!(stats.polls_waiting <= 1, "{stats:?}");
}

#[tokio::test]
async fn concurrent_runtime_long_polls_several_times_at_once() {
    let function = start(Some(4)).await;

    // One long-poll per worker.
    function
        .wait_for_stats(|stats| stats.polls_waiting == 4)
        .await;

    let in_flight = invoke_concurrently(&function.api, 20, 100).await;
    let most = in_flight.iter().copied().max().unwrap();
    assert!(
        (2..=4).contains(&most),
        "in flight at most {most}: {in_flight:?}"
    );

    function.api.stats().assert_all_answered(20);
}

#[tokio::test]
async fn a_slow_handler_times_out_and_its_late_response_is_refused() {
    let function = start(None).await;

    let outcome = function
        .api
        .invoke_with(
            json!({ "op": "echo", "value": "slow", "sleep_ms": 1_000 }).to_string(),
            InvokeOptions {
                timeout: Duration::from_millis(300),
                ..InvokeOptions::default()
            },
        )
        .await;
    assert_eq!(outcome.result, InvokeResult::Timeout, "{outcome:?}");
    assert!(outcome.is_timeout());
    assert!(outcome.latency >= Duration::from_millis(300), "{outcome:?}");

    // The handler finishes later; its response is refused with 410 and counted as late.
    function
        .wait_for_stats(|stats| stats.late_responses == 1)
        .await;
    assert_eq!(function.api.stats().responses, 0);

    // lambda_runtime logs the refusal and carries on with the next invocation.
    let outcome = function
        .invoke(&json!({ "op": "echo", "value": "next" }))
        .await;
    assert_eq!(
        outcome.json().map(|body| body["echo"].clone()),
        Some(json!("next")),
        "{outcome:?}\nstderr:\n{}",
        function.process.stderr_text()
    );
}

#[tokio::test]
async fn the_function_stops_when_the_runtime_api_shuts_down() {
    let function = start(None).await;
    let outcome = function.invoke(&json!({ "op": "echo", "value": 1 })).await;
    assert!(outcome.json().is_some(), "{outcome:?}");

    function.api.shutdown();
    // Exits by itself.
    function.wait_exit().await;
    assert!(
        function
            .process
            .stderr_lines()
            .iter()
            .any(|line| line.contains("lambda runtime stopped")),
        "{:?}",
        function.process.stderr_lines()
    );
}

#[tokio::test]
async fn function_processes_can_be_observed_and_stopped() {
    let function = start(None).await;
    // The child is this test binary: libtest announces the one test it runs.
    let line = function
        .process
        .wait_for_stdout(|line| line.starts_with("running 1 test"), WAIT)
        .await;
    assert!(line.is_some(), "{:?}", function.process.stdout_lines());
    assert!(function.process.id().is_some());
    assert_eq!(
        function.process.wait_exit(Duration::from_millis(50)).await,
        None
    );

    #[cfg(unix)]
    {
        function.process.terminate().await.unwrap();
        let status = function.process.wait_exit(WAIT).await.unwrap();
        assert!(!status.success(), "{status:?}");
    }
    function.process.kill().await.unwrap();
    assert!(function.process.wait_exit(WAIT).await.is_some());
    assert_eq!(function.api.stats().events_delivered, 0);
}
