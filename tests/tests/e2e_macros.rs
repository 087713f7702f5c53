//! `#[serverless_handler]`, `#[span]` and `#[route]` through the real `lambda_runtime`
//! loop: the span tree they build, the endpoint, and what Lambda gets back for an `Err` or
//! a panic.
//!
//! Each test re-executes this binary as the function process (`function_child`), which
//! serves `router` with `serverless_sdk::run`: a plain closure dispatching on the event's
//! `handler` to `#[serverless_handler]` functions, as a function with several entry points
//! would.
#![allow(clippy::unwrap_used)]

use std::{borrow::Cow, time::Duration};

use lambda_runtime::{Context, Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{ErrorType, FutureExt, route, serverless_handler, span};
use serverless_sdk_tests::prelude::*;

const FUNCTION: &str = "e2e-macros";

/* ----------------------------------- the function ----------------------------------- */

/// The seed's custom error.
#[derive(Debug, thiserror::Error)]
#[error("Account is in use!")]
struct AccountAlreadyExistsException;

/// An error choosing its own `errorType`, for Step Functions `Catch` rules.
#[derive(Debug, thiserror::Error)]
enum SignupError {
    #[error("too many signups from {0}")]
    Throttled(String),
}

impl ErrorType for SignupError {
    fn error_type(&self) -> Cow<'static, str> {
        match self {
            Self::Throttled(_) => "ThrottledException".into(),
        }
    }
}

#[serverless_handler]
async fn create_account(event: LambdaEvent<Value>) -> Result<Value, AccountAlreadyExistsException> {
    let payload = event.payload;
    match payload["op"].as_str().unwrap_or_default() {
        "spans" => Ok(span_tree().await),
        "span-error" => {
            let parsed = parse_quantity("many");
            Ok(json!({ "parsed": parsed.is_ok() }))
        }
        "taken" => Err(AccountAlreadyExistsException),
        "panic" => {
            let line = line!() + 1;
            panic!("handler exploded at line {line}");
        }
        "panic-after-await" => {
            tokio::time::sleep(Duration::from_millis(5)).await;
            nested_panic().await
        }
        "get-user" => Ok(json!({ "user": get_user(7) })),
        "cancel" => {
            let by_macro = tokio::time::timeout(Duration::from_millis(20), slow()).await;
            let by_in_span = tokio::time::timeout(
                Duration::from_millis(20),
                tokio::time::sleep(Duration::from_secs(5)).in_span("slow-in-span"),
            )
            .await;
            Ok(json!({ "timed_out": [by_macro.is_err(), by_in_span.is_err()] }))
        }
        _ => Ok(json!({ "created": true })),
    }
}

/// The two-argument form, with an error that names its own `errorType`.
#[serverless_handler]
async fn signup(event: Value, ctx: Context) -> Result<Value, SignupError> {
    Err(SignupError::Throttled(format!(
        "{} ({})",
        event["ip"].as_str().unwrap_or("?"),
        ctx.request_id.len()
    )))
}

/// `#[route]` stacked over the handler.
#[route("/api/foo")]
#[serverless_handler]
async fn foo(_event: LambdaEvent<Value>) -> Result<Value, AccountAlreadyExistsException> {
    Ok(json!({ "foo": true }))
}

/// `#[route]` stacked under the handler, with a method.
#[serverless_handler(name = "orders")]
#[route(POST, "/api/orders/{id}")]
async fn orders(_event: LambdaEvent<Value>) -> Result<Value, AccountAlreadyExistsException> {
    Ok(json!({ "ordered": true }))
}

/// A function of a hand-written router.
#[route(GET, "/api/users/{id}")]
fn get_user(id: u64) -> String {
    format!("user {id}")
}

/// Every way to open a span, under one handler.
async fn span_tree() -> Value {
    // A sync `#[span]` fn called from the async handler.
    let sum = checksum(b"abc");
    // Nested async `#[span]` fns, with awaits between the children.
    let loaded = load(3).await;
    // A task spawned with `.in_current_span()` from inside a span, and one without.
    let spawned = spawner().await;
    // A span after all of the above still hangs off the root.
    let after = after_the_awaits();
    json!({ "sum": sum, "loaded": loaded, "spawned": spawned, "after": after })
}

#[span("checksum")]
fn checksum(data: &[u8]) -> u32 {
    data.iter().map(|b| u32::from(*b)).sum()
}

#[span("load")]
async fn load(n: u64) -> u64 {
    let first = fetch(n).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = fetch(n + 1).await;
    first + second
}

#[span]
async fn fetch(n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(2)).await;
    // A sync span inside an async one, after an await.
    decode(n)
}

#[span("decode")]
fn decode(n: u64) -> u64 {
    n * 10
}

#[span("spawner")]
async fn spawner() -> u64 {
    let propagated = tokio::spawn(in_task(2).in_current_span());
    // Without propagation the task runs outside the invocation: its span records nothing.
    let detached = tokio::spawn(in_task(100));
    propagated.await.unwrap() + detached.await.unwrap()
}

#[span("in-task")]
async fn in_task(n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(3)).await;
    n * 2
}

#[span]
fn after_the_awaits() -> &'static str {
    "done"
}

/// A failing `#[span]` fn: its span fails, the invocation does not.
#[span("parse")]
fn parse_quantity(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

/// Outlives its caller's patience.
#[span("slow")]
async fn slow() {
    tokio::time::sleep(Duration::from_secs(5)).await;
}

#[span("nested")]
async fn nested_panic() -> Result<Value, AccountAlreadyExistsException> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    panic!("exploded inside a span after an await");
}

/// Dispatches to the handlers: a function with several entry points.
async fn router(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    match event.payload["handler"].as_str() {
        Some("signup") => signup(event).await,
        Some("foo") => foo(event).await,
        Some("orders") => orders(event).await,
        _ => create_account(event).await,
    }
}

/// Not a test: the entry point of the function process the tests start.
#[test]
fn function_child() {
    run_function_child(|_| async { serverless_sdk::run(service_fn(router)).await });
}

/* --------------------------------------- tests -------------------------------------- */

/// Starts the function and invokes it with `{"op": op}`, checking that it answered
/// `expected`.
async fn start_and_invoke(op: &str, expected: Value) -> (Function, InvokeOutcome) {
    let function = Function::test_child(FUNCTION, "", &[]).await;
    let outcome = function.invoke(&json!({ "op": op })).await;
    assert_eq!(function.response(&outcome), expected, "{op}");
    (function, outcome)
}

fn exception(span: &FlatSpan) -> &FlatEvent {
    let events: Vec<_> = span.events_named("exception").collect();
    assert_eq!(events.len(), 1, "{:?}", span.events);
    events[0]
}

#[tokio::test]
async fn span_macros_build_the_tree_through_the_runtime() {
    let (function, outcome) = start_and_invoke(
        "spans",
        json!({ "sum": 294, "loaded": 70, "spawned": 204, "after": "done" }),
    )
    .await;
    let trace = function.trace(&outcome).await;
    let root = &trace.root;

    assert_eq!(root.name, FUNCTION);
    assert_eq!(root.kind_name(), "server");
    root.assert_attrs([
        ("serverless.outcome", "success".into()),
        ("faas.coldstart", true.into()),
        ("code.function", "create_account".into()),
        ("code.namespace", "e2e_macros".into()),
    ]);
    // Exactly these spans: the detached task's `in-task` is not among them.
    assert_eq!(
        trace.names(),
        [
            "after_the_awaits",
            "checksum",
            "decode",
            "decode",
            FUNCTION,
            "fetch",
            "fetch",
            "in-task",
            "load",
            "spawner",
        ],
        "{}",
        trace.render()
    );
    trace.assert_children(root, &["checksum", "load", "spawner", "after_the_awaits"]);
    trace.assert_children(trace.named("spawner"), &["in-task"]);
    let load = trace.named("load");

    let fetches: Vec<&FlatSpan> = trace.spans.iter().filter(|s| s.name == "fetch").collect();
    for fetch in &fetches {
        trace.assert_child_of(fetch, load);
        let decodes: Vec<&FlatSpan> = trace
            .spans
            .iter()
            .filter(|s| s.parent_span_id == fetch.span_id)
            .collect();
        assert_eq!(decodes.len(), 1, "{}", trace.render());
        assert_eq!(decodes[0].name, "decode");
        trace.assert_child_of(decodes[0], fetch);
    }
    // The second fetch starts after the first ended: two siblings, not a chain.
    assert!(
        fetches[0].end_unix_nano <= fetches[1].start_unix_nano
            || fetches[1].end_unix_nano <= fetches[0].start_unix_nano
    );

    for span in trace.spans.iter().filter(|s| s.span_id != root.span_id) {
        assert_eq!(span.kind_name(), "internal", "{span:?}");
        assert_eq!(span.attr_str("code.namespace"), Some("e2e_macros"));
        assert!(span.events.is_empty(), "{span:?}");
        assert!(!span.is_error(), "{span:?}");
        assert_eq!(span.attr("serverless.span.unclosed"), None);
        assert_eq!(span.attr("serverless.span.cancelled"), None);
    }
    for (name, function) in [
        ("checksum", "checksum"),
        ("load", "load"),
        ("fetch", "fetch"),
        ("decode", "decode"),
        ("spawner", "spawner"),
        ("in-task", "in_task"),
        ("after_the_awaits", "after_the_awaits"),
    ] {
        let span = trace.spans.iter().find(|s| s.name == name).unwrap();
        assert_eq!(span.attr_str("code.function"), Some(function), "{name}");
    }
}

#[tokio::test]
async fn a_failing_span_fails_alone() {
    let (function, outcome) = start_and_invoke("span-error", json!({ "parsed": false })).await;
    let trace = function.trace(&outcome).await;
    let parse = trace.named("parse");
    trace.assert_child_of(parse, &trace.root);
    assert!(parse.is_error());
    let event = exception(parse);
    assert_eq!(event.attr_str("exception.type"), Some("ParseIntError"));
    assert_eq!(
        event.attr_str("exception.message"),
        Some("invalid digit found in string")
    );
    assert!(trace.root.events.is_empty());
    assert!(!trace.root.is_error());
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
}

#[tokio::test]
async fn route_sets_the_endpoint() {
    let function = Function::test_child(FUNCTION, "", &[]).await;
    let foo = function.invoke(&json!({ "handler": "foo" })).await;
    assert_eq!(function.response(&foo), json!({ "foo": true }));
    let orders = function.invoke(&json!({ "handler": "orders" })).await;
    assert_eq!(function.response(&orders), json!({ "ordered": true }));
    let user = function.invoke(&json!({ "op": "get-user" })).await;
    assert_eq!(function.response(&user), json!({ "user": "user 7" }));
    let plain = function.invoke(&json!({ "op": "create" })).await;
    function.response(&plain);

    let spans = function
        .wait_for_traces(&[&foo, &orders, &user, &plain])
        .await;
    // (request, root name, route, method)
    for (outcome, name, route, method) in [
        (&foo, "/api/foo", "/api/foo", None),
        // `name = ".."` fixes the root span's name.
        (&orders, "orders", "/api/orders/{id}", Some("POST")),
        (&user, "GET /api/users/{id}", "/api/users/{id}", Some("GET")),
    ] {
        let trace = Trace::of(&spans, &outcome.request_id);
        let root = &trace.root;
        assert_eq!(trace.spans.len(), 1, "{}", trace.render());
        assert_eq!(root.name, name);
        assert_eq!(root.attr_str("http.route"), Some(route));
        assert_eq!(root.attr_str("serverless.endpoint"), Some(route));
        assert_eq!(root.attr_str("http.request.method"), method);
    }
    let root = Trace::of(&spans, &plain.request_id).root;
    assert_eq!(root.name, FUNCTION);
    assert_eq!(root.attr("http.route"), None);
}

#[tokio::test]
async fn errors_reach_lambda_with_their_short_type_name() {
    let function = Function::test_child(FUNCTION, "", &[]).await;

    let taken = function.invoke(&json!({ "op": "taken" })).await;
    let report = taken.expect_error("AccountAlreadyExistsException");
    assert_eq!(report.error_message, "Account is in use!");

    let throttled = function
        .invoke(&json!({ "handler": "signup", "ip": "10.0.0.1" }))
        .await;
    let report = throttled.error().unwrap_or_else(|| panic!("{throttled:?}"));
    assert_eq!(
        report.error_type, "ThrottledException",
        "the ErrorType override"
    );
    assert_eq!(report.error_message, "too many signups from 10.0.0.1 (36)");

    let spans = function
        .wait_for_traces(&[&taken.request_id, &throttled.request_id])
        .await;
    for (outcome, type_name, message) in [
        (
            &taken,
            "AccountAlreadyExistsException",
            "Account is in use!",
        ),
        (
            &throttled,
            "SignupError",
            "too many signups from 10.0.0.1 (36)",
        ),
    ] {
        let trace = Trace::of(&spans, &outcome.request_id);
        let root = &trace.root;
        assert_eq!(trace.spans.len(), 1, "{}", trace.render());
        root.assert_one_exception(type_name, message, false);
        assert!(root.is_error());
        assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));
    }
}

#[tokio::test]
async fn panics_are_reported_and_the_next_invocation_is_served() {
    let function = Function::test_child(FUNCTION, "", &[]).await;

    let panicked = function.invoke(&json!({ "op": "panic" })).await;
    let report = panicked.expect_error("Panic");
    let line: i64 = report
        .error_message
        .strip_prefix("handler exploded at line ")
        .unwrap_or_else(|| panic!("{report:?}"))
        .parse()
        .unwrap();

    let nested = function.invoke(&json!({ "op": "panic-after-await" })).await;
    let report = nested.expect_error("Panic");
    assert_eq!(
        report.error_message,
        "exploded inside a span after an await"
    );

    // The process is still serving, with a clean slate.
    let next = function.invoke(&json!({ "op": "spans" })).await;
    function.response(&next);
    let after = function.invoke(&json!({ "op": "create" })).await;
    assert_eq!(function.response(&after), json!({ "created": true }));

    let spans = function
        .wait_for_traces(&[
            &panicked.request_id,
            &nested.request_id,
            &next.request_id,
            &after.request_id,
        ])
        .await;

    let trace = Trace::of(&spans, &panicked.request_id);
    let root = &trace.root;
    assert_eq!(trace.spans.len(), 1, "{}", trace.render());
    let event =
        root.assert_one_exception("Panic", &format!("handler exploded at line {line}"), false);
    event.assert_code_location("e2e_macros.rs", Some(line));
    assert!(root.is_error());
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));

    let trace = Trace::of(&spans, &nested.request_id);
    let root = &trace.root;
    assert_eq!(trace.names(), [FUNCTION, "nested"], "{}", trace.render());
    trace.assert_child_of(trace.named("nested"), root);
    assert_eq!(exception(root).attr_str("exception.type"), Some("Panic"));
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));

    for outcome in [&next, &after] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_eq!(trace.root.attr_bool("faas.coldstart"), Some(false));
        assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
        for span in &trace.spans {
            assert!(span.event_names().is_empty(), "{}", trace.render());
            assert!(!span.is_error(), "{}", trace.render());
        }
    }
    assert_eq!(Trace::of(&spans, &next.request_id).spans.len(), 10);
    assert_eq!(function.api.stats().answers(), (2, 2));
}

/// `serverless.span.cancelled` marks "a span whose future was dropped before it completed"
/// (sdk-core/src/attributes.rs): for `#[span]` async fns as for `.in_span()`.
#[tokio::test]
async fn a_dropped_span_future_is_marked_cancelled() {
    let (function, outcome) =
        start_and_invoke("cancel", json!({ "timed_out": [true, true] })).await;
    let trace = function.trace(&outcome).await;
    for name in ["slow-in-span", "slow"] {
        let span = trace.named(name);
        trace.assert_child_of(span, &trace.root);
        assert_eq!(
            span.attr_bool("serverless.span.cancelled"),
            Some(true),
            "{name}: {:?}",
            span.attributes
        );
    }
}
