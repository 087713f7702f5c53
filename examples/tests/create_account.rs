//! `create_account`: a Step Functions task failing with the error name its `Catch` rule
//! matches.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::json;
use serverless_sdk_tests::prelude::*;

#[tokio::test]
async fn create_account_fails_with_the_step_functions_error_name() {
    let function = example_function!("create_account").await;
    let created = function
        .invoke(&json!({ "username": "carol", "email": "carol@example.com" }))
        .await;
    let taken = function
        .invoke(&json!({ "username": "alice", "email": "alice@example.com" }))
        .await;
    let unreadable = function.invoke(&json!({ "user": 1 })).await;

    assert_eq!(
        function.response(&created),
        json!({ "username": "carol", "created": true })
    );
    let error = taken.error().expect("a Lambda error");
    assert_eq!(error.error_type, "AccountAlreadyExistsException");
    assert_eq!(error.error_message, "Account is in use!");
    let error = unreadable.error().expect("a Lambda error");
    assert_eq!(error.error_type, "Runtime.UnmarshalError");
    assert!(
        error.error_message.contains("missing field `username`"),
        "{error:?}"
    );

    let spans = function
        .wait_for_traces(&[&created, &taken, &unreadable])
        .await;
    let trace = Trace::of(&spans, &created.request_id);
    assert_eq!(trace.root.name, "create_account");
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    assert_eq!(
        trace.root.attr_str("serverless.tag.username"),
        Some("carol")
    );
    assert_eq!(
        trace.edges(),
        edges(&[
            ("db.username_taken", "create_account"),
            ("db.insert_account", "create_account"),
        ])
    );
    assert!(trace.root.events.is_empty());

    let trace = Trace::of(&spans, &taken.request_id);
    let root = &trace.root;
    assert_eq!(root.name, "create_account");
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));
    assert_eq!(root.attr_str("serverless.tag.username"), Some("alice"));
    assert!(root.is_error());
    assert_eq!(
        trace.edges(),
        edges(&[("db.username_taken", "create_account")])
    );
    assert_eq!(root.event_names(), ["exception"]);
    root.assert_one_exception("AccountAlreadyExistsException", "Account is in use!", false);

    let root = Trace::of(&spans, &unreadable.request_id).root;
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));
    assert_eq!(
        root.event("exception")
            .and_then(|event| event.attr_str("exception.type")),
        Some("Runtime.UnmarshalError")
    );

    let documented = function
        .invoke(&events::fixture("create-account.json"))
        .await;
    assert_eq!(
        function.response(&documented),
        json!({ "username": "carol", "created": true })
    );
    let documented = function
        .invoke(&events::fixture("create-account-taken.json"))
        .await;
    documented.expect_error("AccountAlreadyExistsException");
    function.stop().await;
}
