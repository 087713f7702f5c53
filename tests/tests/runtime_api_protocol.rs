//! `RuntimeApi` at the HTTP level: what a Runtime API client sees, request by request.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use serverless_sdk_tests::{
    client,
    function::{WAIT, wait_until},
    runtime_api::{
        InvokeOptions, InvokeOutcome, InvokeResult, MAX_PAYLOAD_BYTES, RuntimeApi, XrayHeader,
    },
};
use std::time::Duration;
use tokio::task::JoinHandle;

fn url(api: &RuntimeApi, path: &str) -> String {
    format!("http://{}/2018-06-01/runtime{path}", api.addr())
}

fn json_body(response: &http::Response<bytes::Bytes>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

/// Invokes with `payload` in a task, and takes its event with one `/next` poll: returns the
/// invocation in flight, the event and its request id.
async fn deliver(
    api: &RuntimeApi,
    payload: &'static str,
) -> (
    JoinHandle<InvokeOutcome>,
    http::Response<bytes::Bytes>,
    String,
) {
    let invoker = {
        let api = api.clone();
        tokio::spawn(async move { api.invoke(payload).await })
    };
    let event = client::get(&url(api, "/invocation/next")).await.unwrap();
    let request_id = event.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (invoker, event, request_id)
}

/// Posts `body` as the response of the invocation `request_id`.
async fn respond(api: &RuntimeApi, request_id: &str, body: &'static str) {
    client::post(
        &url(api, &format!("/invocation/{request_id}/response")),
        "application/json",
        body,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn next_delivers_the_event_with_lambda_headers() {
    let api = RuntimeApi::start().await.unwrap();
    api.function_env("orders");

    // A long poll waiting before anything is invoked.
    let next_url = url(&api, "/invocation/next");
    let next = tokio::spawn(async move { client::get(&next_url).await });
    let invoker = {
        let api = api.clone();
        tokio::spawn(async move {
            api.invoke_with(
                r#"{"order":1}"#,
                InvokeOptions {
                    timeout: Duration::from_secs(30),
                    client_context: Some(r#"{"custom":{"k":"v"}}"#.to_owned()),
                    ..InvokeOptions::default()
                },
            )
            .await
        })
    };
    let event = next.await.unwrap().unwrap();
    assert_eq!(event.status(), 200);
    assert_eq!(event.body().as_ref(), br#"{"order":1}"#);
    let headers = event.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        headers["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:orders"
    );
    assert_eq!(
        headers["lambda-runtime-client-context"],
        r#"{"custom":{"k":"v"}}"#
    );
    let trace = XrayHeader::parse(headers["lambda-runtime-trace-id"].to_str().unwrap()).unwrap();
    assert_eq!(trace.sampled, Some(true));
    assert!(trace.otel_trace_id().is_some());
    let deadline: u64 = headers["lambda-runtime-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(deadline > 1_600_000_000_000);
    let request_id = headers["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let accepted = client::post(
        &url(&api, &format!("/invocation/{request_id}/response")),
        "application/json",
        r#"{"ok":true}"#,
    )
    .await
    .unwrap();
    assert_eq!(accepted.status(), 202);
    assert_eq!(json_body(&accepted), json!({ "status": "OK" }));

    let outcome = invoker.await.unwrap();
    assert_eq!(outcome.request_id, request_id);
    assert_eq!(outcome.json(), Some(json!({ "ok": true })));

    // A second answer for the same invocation is refused and counted.
    let duplicate = client::post(
        &url(&api, &format!("/invocation/{request_id}/error")),
        "application/json",
        r#"{"errorType":"X","errorMessage":"late"}"#,
    )
    .await
    .unwrap();
    assert_eq!(duplicate.status(), 400);
    assert_eq!(json_body(&duplicate)["errorType"], "InvalidRequestID");

    let stats = api.stats();
    assert_eq!(stats.next_polls, 1);
    assert_eq!(stats.events_delivered, 1);
    assert_eq!(stats.responses, 1);
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.duplicate_responses, 1);
}

#[tokio::test]
async fn error_posts_are_recorded() {
    let api = RuntimeApi::start().await.unwrap();
    let (invoker, _event, request_id) = deliver(&api, "{}").await;

    let request = http::Request::post(url(&api, &format!("/invocation/{request_id}/error")))
        .header("content-type", "application/json")
        .header("lambda-runtime-function-error-type", "unhandled")
        .header("x-some-extra-header", "ignored")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            br#"{"errorType":"ValueError","errorMessage":"bad value","stackTrace":["a.rs:1"]}"#,
        )))
        .unwrap();
    let accepted = client::send(request).await.unwrap();
    assert_eq!(accepted.status(), 202);

    let outcome = invoker.await.unwrap();
    let report = outcome.error().unwrap();
    assert_eq!(report.error_type, "ValueError");
    assert_eq!(report.error_message, "bad value");
    assert_eq!(report.header_error_type.as_deref(), Some("unhandled"));
    assert_eq!(report.stack_trace, Some(json!(["a.rs:1"])));
    assert_eq!(outcome.request_headers["x-some-extra-header"], "ignored");
    assert_eq!(api.stats().errors, 1);
}

#[tokio::test]
async fn unknown_ids_and_paths_are_refused() {
    let api = RuntimeApi::start().await.unwrap();

    let response = client::post(
        &url(&api, "/invocation/no-such-id/response"),
        "application/json",
        "{}",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        json_body(&response),
        json!({ "errorMessage": "Invalid request ID", "errorType": "InvalidRequestID" })
    );
    assert_eq!(api.stats().unknown_responses, 1);

    let response = client::get(&format!("http://{}/2018-06-01/nope", api.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = client::post(&url(&api, "/invocation/next"), "text/plain", "")
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn init_errors_are_recorded() {
    let api = RuntimeApi::start().await.unwrap();
    assert_eq!(api.wait_init_error(Duration::from_millis(50)).await, None);

    let poster = {
        let url = url(&api, "/init/error");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let request = http::Request::post(url)
                .header("lambda-runtime-function-error-type", "Runtime.InitError")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    br#"{"errorType":"ConfigError","errorMessage":"missing TABLE_NAME"}"#,
                )))
                .unwrap();
            client::send(request).await.unwrap()
        })
    };
    let report = api.wait_init_error(WAIT).await.unwrap();
    assert_eq!(report.error_type, "ConfigError");
    assert_eq!(report.error_message, "missing TABLE_NAME");
    assert_eq!(
        report.header_error_type.as_deref(),
        Some("Runtime.InitError")
    );
    assert_eq!(poster.await.unwrap().status(), 202);
    assert_eq!(api.init_errors().len(), 1);
    assert_eq!(api.stats().init_errors, 1);
}

#[tokio::test]
async fn invocations_nobody_polls_for_are_not_delivered_later() {
    let api = RuntimeApi::start().await.unwrap();
    let outcome = api
        .invoke_with(
            "{}",
            InvokeOptions {
                queue_timeout: Duration::from_millis(50),
                ..InvokeOptions::default()
            },
        )
        .await;
    assert_eq!(outcome.result, InvokeResult::NotDelivered);

    // The abandoned event is skipped; the poll gets the next live one.
    let (invoker, event, request_id) = deliver(&api, "\"live\"").await;
    assert_eq!(event.body().as_ref(), b"\"live\"");
    respond(&api, &request_id, "1").await;
    assert_eq!(invoker.await.unwrap().json(), Some(json!(1)));
    assert_eq!(api.stats().events_delivered, 1);
}

#[tokio::test]
async fn invalid_invocations_are_rejected_up_front() {
    let api = RuntimeApi::start().await.unwrap();

    let outcome = api.invoke(vec![b' '; MAX_PAYLOAD_BYTES + 1]).await;
    assert!(
        matches!(outcome.result, InvokeResult::Rejected(_)),
        "{outcome:?}"
    );

    let outcome = api
        .invoke_with(
            "{}",
            InvokeOptions {
                trace_header: Some("Root=1\nx".to_owned()),
                ..InvokeOptions::default()
            },
        )
        .await;
    assert!(
        matches!(outcome.result, InvokeResult::Rejected(_)),
        "{outcome:?}"
    );

    // A request id that is still in flight.
    let options = InvokeOptions {
        request_id: Some("same-id".to_owned()),
        queue_timeout: Duration::from_millis(200),
        ..InvokeOptions::default()
    };
    let first = {
        let (api, options) = (api.clone(), options.clone());
        tokio::spawn(async move { api.invoke_with("1", options).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = api.invoke_with("2", options).await;
    assert!(
        matches!(second.result, InvokeResult::Rejected(_)),
        "{second:?}"
    );
    assert_eq!(first.await.unwrap().result, InvokeResult::NotDelivered);
    assert_eq!(api.stats().events_delivered, 0);
}

#[tokio::test]
async fn oversized_responses_fail_the_invocation() {
    let api = RuntimeApi::start().await.unwrap();
    let (invoker, _event, request_id) = deliver(&api, "{}").await;
    let response = client::post(
        &url(&api, &format!("/invocation/{request_id}/response")),
        "application/json",
        vec![b'1'; MAX_PAYLOAD_BYTES + 1],
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 413);
    let outcome = invoker.await.unwrap();
    assert_eq!(
        outcome.error().map(|report| report.error_type.as_str()),
        Some("Function.ResponseSizeTooLarge")
    );
}

#[tokio::test]
async fn function_env_matches_lambda() {
    let api = RuntimeApi::start().await.unwrap();
    let env: std::collections::HashMap<String, String> =
        api.function_env("my-fn").into_iter().collect();
    assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], api.addr().to_string());
    assert!(env["AWS_LAMBDA_RUNTIME_API"].starts_with("127.0.0.1:"));
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "my-fn");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/my-fn");
    assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"].contains("/[$LATEST]"));
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
}

#[tokio::test]
async fn a_poll_whose_client_went_away_does_not_swallow_events() {
    let api = RuntimeApi::start().await.unwrap();

    // A function polls, then dies while waiting (its connection closes).
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        client::get(&url(&api, "/invocation/next")),
    )
    .await;
    assert!(abandoned.is_err());
    wait_until(
        || format!("the abandoned poll still waits: {:?}", api.stats()),
        || (api.stats().polls_waiting == 0).then_some(()),
    )
    .await;

    // Its replacement gets the next event.
    let (invoker, event, request_id) = deliver(&api, "\"after\"").await;
    assert_eq!(event.body().as_ref(), b"\"after\"");
    respond(&api, &request_id, "true").await;
    assert_eq!(invoker.await.unwrap().json(), Some(json!(true)));
}
