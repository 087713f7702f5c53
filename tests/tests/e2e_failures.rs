//! Failures outside the handler body, through the real `lambda_runtime` loop: timeouts,
//! init errors, events that do not deserialise, Step Functions error names, memory and the
//! EMF metrics line.
//!
//! Each test re-executes this binary as the function process (`function_child`), with the
//! behaviour chosen by its mode.
#![allow(clippy::unwrap_used)]

use std::{borrow::Cow, time::Duration};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{ErrorType, serverless_handler};
use serverless_sdk_tests::{prelude::*, trace_view::invocation_roots as roots};

/// The seed's custom error: Step Functions matches its simple name.
#[derive(Debug, thiserror::Error)]
#[error("Account is in use!")]
struct AccountAlreadyExistsException;

/// An error that names its `errorType` itself.
#[derive(Debug, thiserror::Error)]
#[error("the username {0:?} is reserved")]
struct Reserved(String);

impl ErrorType for Reserved {
    fn error_type(&self) -> Cow<'static, str> {
        "UsernameReservedException".into()
    }
}

#[derive(Debug, thiserror::Error)]
enum SignupError {
    #[error(transparent)]
    Taken(#[from] AccountAlreadyExistsException),
    #[error(transparent)]
    Reserved(#[from] Reserved),
}

impl ErrorType for SignupError {
    fn error_type(&self) -> Cow<'static, str> {
        match self {
            Self::Taken(_) => "AccountAlreadyExistsException".into(),
            Self::Reserved(e) => e.error_type(),
        }
    }
}

/// The seed's `create_account`.
#[serverless_handler]
async fn create_account(event: LambdaEvent<Value>) -> Result<Value, AccountAlreadyExistsException> {
    match event.payload["username"].as_str() {
        Some("taken") => Err(AccountAlreadyExistsException),
        _ => Ok(json!({ "created": true })),
    }
}

#[serverless_handler]
async fn signup(event: LambdaEvent<Value>) -> Result<Value, SignupError> {
    match event.payload["username"].as_str() {
        Some("taken") => Err(AccountAlreadyExistsException.into()),
        Some(name @ "admin") => Err(Reserved(name.to_owned()).into()),
        _ => Ok(json!({ "created": true })),
    }
}

#[serverless_handler]
async fn sleepy(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    let ms = event.payload["sleep_ms"].as_u64().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(json!({ "slept": ms }))
}

#[derive(serde::Deserialize)]
struct Order {
    id: u64,
}

#[serverless_handler]
async fn orders(event: LambdaEvent<Order>) -> Result<Value, std::io::Error> {
    Ok(json!({ "id": event.payload.id }))
}

#[derive(Debug, thiserror::Error)]
#[error("TABLE_NAME is not set")]
struct MissingTable;

/// Not a test: the function process.
#[test]
fn function_child() {
    run_function_child(|which| async move {
        match which.as_str() {
            "create_account" => serverless_sdk::run(service_fn(create_account)).await,
            "signup" => serverless_sdk::run(service_fn(signup)).await,
            "sleepy" => serverless_sdk::run(service_fn(sleepy)).await,
            "orders" => serverless_sdk::run(service_fn(orders)).await,
            "init_fails" => {
                serverless_sdk::run_with_init(
                    || async { Err::<String, _>(MissingTable) },
                    |_table| service_fn(sleepy),
                )
                .await
            }
            "init_panics" => {
                serverless_sdk::run_with_init(
                    || async {
                        if std::env::var_os("PATH").is_some() {
                            panic!("config file is corrupt");
                        }
                        Ok::<_, MissingTable>(())
                    },
                    |()| service_fn(sleepy),
                )
                .await
            }
            other => panic!("unknown function {other}"),
        }
    });
}

/// Starts the function process serving `function`, named after it.
async fn start(function: &str, env: &[(&str, &str)]) -> Function {
    Function::test_child(function, function, env).await
}

#[tokio::test]
async fn a_handler_past_its_deadline_is_reported_before_lambda_stops_it() {
    let function = start("sleepy", &[]).await;
    let outcome = function
        .api
        .invoke_with(
            json!({ "sleep_ms": 3000 }).to_string(),
            InvokeOptions {
                timeout: Duration::from_millis(800),
                ..InvokeOptions::default()
            },
        )
        .await;
    assert!(
        matches!(outcome.result, InvokeResult::Timeout),
        "{:?}",
        outcome.result
    );
    let spans = function.wait_for_export_lines(1).await;
    let text = function.process.stdout_text();
    let roots = roots(&spans);
    assert_eq!(roots.len(), 1, "{text}");
    let root = roots[0];
    assert_eq!(root.attr_str("serverless.outcome"), Some("timeout"));
    assert_eq!(
        root.attr_str("faas.invocation_id"),
        Some(outcome.request_id.as_str())
    );
    let event = root.event("exception").expect("a timeout exception event");
    assert_eq!(event.attr_str("exception.type"), Some("TimeoutError"));
    let budget = event.attr_i64("serverless.timeout.budget_ms").unwrap();
    let elapsed = event.attr_i64("serverless.timeout.elapsed_ms").unwrap();
    assert!((700..=800).contains(&budget), "budget {budget}");
    assert!(
        elapsed < budget && elapsed >= budget - 200,
        "elapsed {elapsed} of {budget}"
    );
    // Reported (and the root span closed) before the deadline Lambda enforces.
    let deadline = root.start_unix_nano + u64::try_from(budget).unwrap() * 1_000_000;
    assert!(event.time_unix_nano < deadline);
    assert!(root.end_unix_nano < deadline);
    assert_eq!(root.status_code, 2);
}

#[tokio::test]
async fn quick_invocations_are_never_reported_as_timeouts() {
    let function = start("sleepy", &[("SERVERLESS_SDK_TIMEOUT_MARGIN_MS", "100")]).await;
    let options = || InvokeOptions {
        timeout: Duration::from_millis(150),
        ..InvokeOptions::default()
    };
    for _ in 0..1000 {
        let outcome = function
            .api
            .invoke_with(json!({ "sleep_ms": 0 }).to_string(), options())
            .await;
        assert!(
            matches!(outcome.result, InvokeResult::Response(_)),
            "{:?}",
            outcome.result
        );
    }
    // Long enough for any watchdog that was not cancelled to have fired (50 ms after each
    // start) and exported.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spans = function.wait_for_export_lines(1000).await;
    let roots = roots(&spans);
    assert_eq!(roots.len(), 1000);
    let timeouts = roots
        .iter()
        .filter(|r| r.attr_str("serverless.outcome") == Some("timeout"))
        .count();
    assert_eq!(timeouts, 0);
    assert!(
        roots
            .iter()
            .all(|r| r.attr_str("serverless.outcome") == Some("success"))
    );
}

#[tokio::test]
async fn an_init_failure_reaches_the_init_error_endpoint_and_the_process_exits_non_zero() {
    for (mode, error_type_in_message) in [("init_fails", "MissingTable"), ("init_panics", "Panic")]
    {
        let function = start(mode, &[]).await;
        let report = function.wait_init_error().await;
        assert_eq!(report.error_type, "Runtime.InitError");
        assert_eq!(
            report.header_error_type.as_deref(),
            Some("Runtime.InitError")
        );
        assert!(
            report.error_message.starts_with(error_type_in_message),
            "{}",
            report.error_message
        );
        let status = function.wait_exit().await;
        assert!(!status.success(), "{status:?}");
        let spans = parse_json_lines(&function.process.stdout_text());
        let roots = roots(&spans);
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].attr_str("serverless.outcome"), Some("init_error"));
        assert_eq!(
            roots[0]
                .event("exception")
                .and_then(|e| e.attr_str("exception.type")),
            Some(error_type_in_message)
        );
        assert_eq!(function.api.stats().events_delivered, 0);
    }
}

#[tokio::test]
async fn an_event_that_does_not_fit_the_handler_type_is_an_unmarshal_error() {
    let function = start("orders", &[]).await;
    let bad = json!({ "id": "not a number", "note": "x".repeat(100) }).to_string();
    let outcome = function.api.invoke(bad.clone()).await;
    let report = outcome.error().expect("an error response");
    assert_eq!(report.error_type, "Runtime.UnmarshalError");
    assert!(
        report.error_message.contains("at `id`"),
        "{}",
        report.error_message
    );
    assert!(
        report
            .error_message
            .contains(&format!("{} bytes", bad.len())),
        "{}",
        report.error_message
    );
    // Nothing panicked: the next event is served.
    let good = function.invoke(&json!({ "id": 7 })).await;
    assert_eq!(good.json(), Some(json!({ "id": 7 })));
    let spans = function.wait_for_export_lines(2).await;
    let roots = roots(&spans);
    assert_eq!(roots.len(), 2);
    let failed = roots
        .iter()
        .find(|r| r.attr_str("faas.invocation_id") == Some(outcome.request_id.as_str()))
        .unwrap();
    assert_eq!(
        failed.attr_str("serverless.outcome"),
        Some("error:unhandled")
    );
    assert_eq!(
        failed.attr_i64("serverless.event.size_bytes"),
        Some(i64::try_from(bad.len()).unwrap())
    );
    let event = failed.event("exception").unwrap();
    assert_eq!(
        event.attr_str("exception.type"),
        Some("Runtime.UnmarshalError")
    );
}

/// The `Catch` rule of the seed's state machine.
fn catch_rule_matches(error_type: &str) -> bool {
    let machine = json!({
        "StartAt": "CreateAccount",
        "States": {
            "CreateAccount": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:CreateAccount",
                "Next": "SendWelcomeEmail",
                "Catch": [{ "ErrorEquals": ["AccountAlreadyExistsException"], "Next": "SuggestAccountName" }]
            }
        }
    });
    machine["States"]["CreateAccount"]["Catch"][0]["ErrorEquals"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == error_type)
}

#[tokio::test]
async fn step_functions_catch_rules_match_the_short_type_name() {
    let function = start("create_account", &[]).await;
    let ok = function.invoke(&json!({ "username": "bob" })).await;
    assert_eq!(ok.json(), Some(json!({ "created": true })));
    let taken = function.invoke(&json!({ "username": "taken" })).await;
    let report = taken.error().unwrap();
    assert_eq!(report.error_type, "AccountAlreadyExistsException");
    assert_eq!(report.error_message, "Account is in use!");
    assert!(catch_rule_matches(&report.error_type));
    let spans = function.wait_for_export_lines(2).await;
    let failed = roots(&spans)
        .into_iter()
        .find(|r| r.attr_str("faas.invocation_id") == Some(taken.request_id.as_str()))
        .unwrap();
    assert_eq!(
        failed.attr_str("serverless.outcome"),
        Some("error:unhandled")
    );
    assert_eq!(
        failed
            .event("exception")
            .and_then(|e| e.attr_str("exception.type")),
        Some("AccountAlreadyExistsException")
    );

    // An error type can name its errorType explicitly.
    let function = start("signup", &[]).await;
    let taken = function.invoke(&json!({ "username": "taken" })).await;
    assert_eq!(
        taken.error().unwrap().error_type,
        "AccountAlreadyExistsException"
    );
    assert!(catch_rule_matches(&taken.error().unwrap().error_type));
    let reserved = function.invoke(&json!({ "username": "admin" })).await;
    assert_eq!(
        reserved.error().unwrap().error_type,
        "UsernameReservedException"
    );
    assert!(!catch_rule_matches(&reserved.error().unwrap().error_type));
}

#[tokio::test]
async fn peak_memory_is_recorded_with_a_warning_near_the_limit() {
    // 128 MB: far from the limit. 1 MB: any process is past 90% of it.
    for (memory, warns) in [("128", false), ("1", true)] {
        let function = start("sleepy", &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory)]).await;
        let _ = function.invoke(&json!({})).await;
        let spans = function.wait_for_export_lines(1).await;
        let root = roots(&spans)[0];
        let peak = root.attr_i64("serverless.memory.peak_bytes").unwrap();
        let limit = root.attr_i64("serverless.memory.limit_bytes").unwrap();
        assert!(peak > 1024 * 1024, "peak {peak}");
        assert_eq!(limit, memory.parse::<i64>().unwrap() * 1024 * 1024);
        let warned = root
            .events_named("serverless.warning")
            .any(|e| e.attr_str("message").is_some_and(|m| m.contains("90%")));
        assert_eq!(warned, warns, "memory {memory}");
    }
}

#[tokio::test]
async fn emf_metrics_count_errors_when_enabled() {
    let function = start("create_account", &[("SERVERLESS_SDK_EMF_METRICS", "true")]).await;
    let _ = function.invoke(&json!({ "username": "bob" })).await;
    let _ = function.invoke(&json!({ "username": "taken" })).await;
    let _ = function.wait_for_export_lines(2).await;
    let metrics: Vec<Value> = function
        .process
        .stdout_lines()
        .iter()
        .filter(|l| l.contains("\"_aws\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(metrics.len(), 2);
    assert_eq!(metrics[0]["Errors"], 0);
    assert_eq!(metrics[0]["ColdStart"], 1);
    assert_eq!(metrics[1]["Errors"], 1);
    assert_eq!(metrics[1]["ColdStart"], 0);
    assert_eq!(metrics[1]["FunctionName"], "create_account");
    assert_eq!(
        metrics[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
        "Errors"
    );

    // Without a trace exporter, the metrics line is still written.
    let function = start(
        "create_account",
        &[
            ("SERVERLESS_SDK_EMF_METRICS", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ],
    )
    .await;
    let _ = function.invoke(&json!({ "username": "taken" })).await;
    function.settle().await;
    let stdout = function.process.stdout_lines();
    assert_eq!(
        stdout.iter().filter(|l| l.contains("\"_aws\"")).count(),
        1,
        "{stdout:#?}"
    );
    assert!(
        stdout.iter().all(|l| !l.contains("resourceSpans")),
        "{stdout:#?}"
    );

    // Off by default.
    let function = start("create_account", &[]).await;
    let _ = function.invoke(&json!({ "username": "bob" })).await;
    let _ = function.wait_for_export_lines(1).await;
    assert!(
        function
            .process
            .stdout_lines()
            .iter()
            .all(|l| !l.contains("\"_aws\""))
    );
}
