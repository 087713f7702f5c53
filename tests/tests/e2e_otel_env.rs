//! The OpenTelemetry SDK variables of a traces exporter, end to end: a real function
//! process under the kit's Runtime API exporting to the kit's OTLP receiver. Headers
//! (never in logs or telemetry), gzip, the export timeout, endpoint precedence, resource
//! attributes, `OTEL_SDK_DISABLED`, samplers that follow X-Ray `Sampled=` and W3C flags
//! and always keep failures, the EMF sampling counters, and one stderr line per malformed
//! value.
//!
//! Each test re-executes this binary as the function process (`function_child`).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lambda_http::{Body, Request, RequestExt, Response};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk_http::{serverless_handler, span};
use serverless_sdk_tests::{prelude::*, trace_view::invocation_roots as roots};

#[derive(Debug, thiserror::Error)]
#[error("the payment backend refused")]
struct Refused;

/// One HTTP handler; the path picks the behaviour.
#[serverless_handler]
async fn api(req: Request) -> Result<Response<Body>, Refused> {
    {
        let _work = span("work");
    }
    match req.raw_http_path() {
        "/err" => Err(Refused),
        "/5xx" => Ok(Response::builder()
            .status(503)
            .body(Body::from("busy"))
            .unwrap()),
        "/panic" => panic!("the handler panicked"),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(600)).await;
            Ok(Response::new(Body::from("slow")))
        }
        _ => Ok(Response::new(Body::from("ok"))),
    }
}

#[derive(Debug, serde::Deserialize)]
struct Order {
    #[allow(dead_code)]
    id: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("the orders table is missing")]
struct MissingTable;

#[serverless_sdk::serverless_handler]
async fn typed(event: LambdaEvent<Order>) -> Result<Value, MissingTable> {
    let _ = event;
    Ok(json!({ "ok": true }))
}

/// Not a test: the function process.
#[test]
fn function_child() {
    run_function_child(|mode| async move {
        match mode.as_str() {
            "typed" => serverless_sdk::run(service_fn(typed)).await,
            "init_fails" => {
                serverless_sdk::run_with_init(
                    || async { Err::<(), _>(MissingTable) },
                    |()| service_fn(typed),
                )
                .await
            }
            _ => serverless_sdk_http::run(lambda_http::service_fn(api)).await,
        }
    });
}

async fn start(env: &[(&str, &str)]) -> Function {
    Function::test_child("otel-env", "api", env).await
}

/// Starts a receiver, and the function with `env` and `OTEL_EXPORTER_OTLP_ENDPOINT` set to
/// the receiver's endpoint.
async fn start_exporting(env: &[(&str, &str)]) -> (OtlpReceiver, Function) {
    Function::test_child_exporting("otel-env", "api", "OTEL_EXPORTER_OTLP_ENDPOINT", env).await
}

fn get(path: &str) -> String {
    events::apigw_v2("GET", path, "$default", None).to_string()
}

/// `GET path` with a W3C `traceparent` header whose flags are `flags`.
fn get_with_traceparent(path: &str, flags: &str) -> String {
    let mut event = events::apigw_v2("GET", path, "$default", None);
    event["headers"]["traceparent"] = json!(format!(
        "00-{:032x}-{:016x}-{flags}",
        fastrand::u128(1..),
        fastrand::u64(1..)
    ));
    event.to_string()
}

/// An X-Ray trace header with the given `Sampled=` flag.
fn xray(sampled: u8) -> String {
    format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled={sampled}",
        fastrand::u32(1..),
        fastrand::u128(1..1 << 96),
        fastrand::u64(1..)
    )
}

fn status_of(outcome: &InvokeOutcome) -> u64 {
    outcome
        .json()
        .and_then(|v| v["statusCode"].as_u64())
        .unwrap_or(0)
}

/// The SDK's `config` lines on stderr.
fn config_lines(function: &Function) -> Vec<String> {
    function
        .process
        .sdk_reports()
        .iter()
        .filter(|v| v["kind"] == "config")
        .map(|v| v["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn headers_arrive_the_traces_ones_win_and_no_value_reaches_logs_or_telemetry() {
    let (otlp, function) = start_exporting(&[
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-api-key=generic-s3cr3t,x-team=core%20team",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "x-api-key=traces-s3cr3t%3D%3D",
        ),
        ("SERVERLESS_SDK_DEV", "true"),
    ])
    .await;
    let outcome = function.api.invoke(get("/ok")).await;
    assert_eq!(status_of(&outcome), 200);
    let spans = function.wait_for_received_traces(&otlp, &[&outcome]).await;
    let received = otlp.received();
    let headers = &received[0].headers;
    assert_eq!(
        headers["x-api-key"], "traces-s3cr3t==",
        "the traces value wins"
    );
    assert_eq!(headers["x-team"], "core team", "percent-decoded");
    function.settle().await;
    let logs = function.process.output_text();
    assert!(
        !logs.contains("s3cr3t"),
        "a header value was logged:\n{logs}"
    );
    let telemetry = format!("{spans:?}");
    assert!(!telemetry.contains("s3cr3t"), "a header value was exported");
}

#[tokio::test]
async fn gzip_compression_sends_a_gzipped_body_that_decodes() {
    for variable in [
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    ] {
        let (otlp, function) = start_exporting(&[(variable, "gzip")]).await;
        let outcome = function.api.invoke(get("/ok")).await;
        let spans = function.wait_for_received_traces(&otlp, &[&outcome]).await;
        let received = otlp.received();
        assert!(received[0].gzipped, "{variable}: no Content-Encoding: gzip");
        assert_eq!(received[0].headers["content-encoding"], "gzip");
        assert_eq!(otlp.rejected(), 0);
        assert_eq!(spans.len(), 2, "{variable}: root and work decoded");
        function.stop().await;
    }

    // Without the variable the body is sent as is.
    let (otlp, function) = start_exporting(&[]).await;
    let outcome = function.api.invoke(get("/ok")).await;
    function.wait_for_received_traces(&otlp, &[&outcome]).await;
    assert!(!otlp.received()[0].gzipped);
}

#[tokio::test]
async fn the_timeout_bounds_an_export_to_a_stalled_collector_and_the_next_invocation_works() {
    // A malformed SDK timeout, which would win over the OTLP one, falls back to it.
    let (otlp, function) = start_exporting(&[
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300"),
        ("SERVERLESS_SDK_EXPORT_TIMEOUT_MS", "soon"),
    ])
    .await;
    let warm = function.api.invoke(get("/ok")).await;
    function.wait_for_received_traces(&otlp, &[&warm]).await;
    let lines = config_lines(&function);
    assert_eq!(
        lines,
        [
            "SERVERLESS_SDK_EXPORT_TIMEOUT_MS=\"soon\" is not a number of milliseconds; using OTEL_EXPORTER_OTLP_*TIMEOUT, else 2000 ms"
        ],
    );

    otlp.set_hang(true);
    let stalled = function.api.invoke(get("/ok")).await;
    assert_eq!(status_of(&stalled), 200, "the response is not held");
    // The next event is taken once the stalled export gave up: after 300 ms, well before
    // the 2 s the SDK would otherwise wait.
    let started = Instant::now();
    let next = function.api.invoke(get("/ok")).await;
    let waited = started.elapsed();
    assert_eq!(status_of(&next), 200);
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(1500),
        "the next invocation started {waited:?} after the stalled one"
    );
    function.settle().await;
    otlp.set_hang(false);
    otlp.clear();
    let after = function.api.invoke(get("/ok")).await;
    function.wait_for_received_traces(&otlp, &[&after]).await;
    let reports = function.process.stderr_text();
    assert!(reports.contains("did not finish within 300ms"), "{reports}");
}

#[tokio::test]
async fn the_traces_endpoint_wins_over_the_generic_one_and_is_used_as_is() {
    let generic = OtlpReceiver::start().await.unwrap();
    let traces = OtlpReceiver::start().await.unwrap();
    let generic_endpoint = generic.endpoint();
    // Used as is: a second `/v1/traces` would be a 404 at the receiver.
    let traces_endpoint = traces.traces_endpoint();
    let function = start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &generic_endpoint),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces_endpoint),
    ])
    .await;
    let outcome = function.api.invoke(get("/ok")).await;
    function
        .wait_for_received_traces(&traces, &[&outcome])
        .await;
    function.settle().await;
    assert_eq!(
        generic.requests(),
        0,
        "nothing went to the generic endpoint"
    );
    assert_eq!(traces.rejected(), 0);
}

#[tokio::test]
async fn resource_attributes_reach_the_resource_of_protobuf_and_json_exports() {
    let attributes = "deployment.environment.name=prod%20eu,service.version=1.2.3,\
                      service.name=from-attributes";
    // OTLP/HTTP protobuf, with OTEL_SERVICE_NAME winning for service.name.
    let (otlp, function) = start_exporting(&[
        ("OTEL_RESOURCE_ATTRIBUTES", attributes),
        ("OTEL_SERVICE_NAME", "checkout"),
    ])
    .await;
    let outcome = function.api.invoke(get("/ok")).await;
    let spans = function.wait_for_received_traces(&otlp, &[&outcome]).await;
    for span in &spans {
        span.assert_resource([
            ("deployment.environment.name", "prod eu"),
            ("service.version", "1.2.3"),
            ("service.name", "checkout"),
            ("cloud.provider", "aws"),
        ]);
    }
    function.stop().await;

    // The stdout OTLP/JSON line; service.name from the attributes, not the function name.
    let function = start(&[("OTEL_RESOURCE_ATTRIBUTES", attributes)]).await;
    let outcome = function.api.invoke(get("/ok")).await;
    let spans = function.wait_for_traces(&[&outcome]).await;
    for span in &spans {
        span.assert_resource([
            ("deployment.environment.name", "prod eu"),
            ("service.name", "from-attributes"),
            ("faas.name", "otel-env"),
        ]);
    }
}

#[tokio::test]
async fn sdk_disabled_exports_nothing_and_every_response_is_unchanged() {
    let (otlp, function) = start_exporting(&[
        ("OTEL_SDK_DISABLED", "true"),
        ("SERVERLESS_SDK_EMF_METRICS", "true"),
    ])
    .await;
    let ok = function.api.invoke(get("/ok")).await;
    assert_eq!(status_of(&ok), 200);
    assert_eq!(ok.json().unwrap()["body"], "ok");
    let err = function.api.invoke(get("/err")).await;
    assert_eq!(status_of(&err), 500, "the Err still becomes a 500");
    let panicked = function.api.invoke(get("/panic")).await;
    assert_eq!(status_of(&panicked), 500, "the panic is still caught");
    let busy = function.api.invoke(get("/5xx")).await;
    assert_eq!(status_of(&busy), 503);
    function.settle().await;
    assert_eq!(otlp.requests(), 0, "the receiver got nothing");
    let stdout = function.process.stdout_text();
    assert!(
        !stdout.contains("resourceSpans") && !stdout.contains("CloudWatchMetrics"),
        "{stdout}"
    );
}

#[tokio::test]
async fn every_malformed_value_gets_one_stderr_line_and_the_function_still_runs() {
    let malformed = [
        ("OTEL_EXPORTER_OTLP_HEADERS", "ok=1,Bearer-t0ken-no-equals"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "brotli"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_RESOURCE_ATTRIBUTES", "team=core,broken"),
        ("OTEL_SDK_DISABLED", "maybe"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
    ];
    let (otlp, function) = start_exporting(&malformed).await;
    let outcome = function.api.invoke(get("/ok")).await;
    assert_eq!(status_of(&outcome), 200);
    let spans = function.wait_for_received_traces(&otlp, &[&outcome]).await;
    // The fallbacks: the valid header sent, uncompressed, no resource attribute of the
    // broken list, enabled, every invocation kept.
    let received = otlp.received();
    assert_eq!(received[0].headers["ok"], "1");
    assert!(!received[0].gzipped);
    assert_eq!(spans[0].resource_str("team"), None);
    let lines = config_lines(&function);
    for (variable, _) in malformed {
        let of_it: Vec<&String> = lines
            .iter()
            .filter(|l| {
                l.starts_with(&format!("{variable}=")) || l.starts_with(&format!("{variable}:"))
            })
            .collect();
        assert_eq!(of_it.len(), 1, "{variable}: {lines:#?}");
    }
    assert_eq!(lines.len(), malformed.len(), "{lines:#?}");
    assert!(!function.process.stderr_text().contains("t0ken"));

    // The sampler's argument.
    let function = start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.endpoint()),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "lots"),
    ])
    .await;
    let outcome = function.api.invoke(get("/ok")).await;
    function.wait_for_received_traces(&otlp, &[&outcome]).await;
    let lines = config_lines(&function);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("OTEL_TRACES_SAMPLER_ARG=\"lots\"") && lines[0].contains("using 1.0"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn parentbased_follows_xray_sampled_and_w3c_flags_and_keeps_every_failure() {
    let (otlp, function) = start_exporting(&[
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        // Invocations without a trace context: none of their successes is kept.
        ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ("SERVERLESS_SDK_EMF_METRICS", "true"),
    ])
    .await;
    let with = |header: String| InvokeOptions {
        trace_header: Some(header),
        ..InvokeOptions::default()
    };
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for _ in 0..3 {
        kept.push(function.api.invoke_with(get("/ok"), with(xray(1))).await);
        dropped.push(function.api.invoke_with(get("/ok"), with(xray(0))).await);
        dropped.push(
            function
                .api
                .invoke_with(get("/ok"), with(String::new()))
                .await,
        );
        // The event's W3C traceparent wins over Lambda's X-Ray header.
        kept.push(
            function
                .api
                .invoke_with(get_with_traceparent("/ok", "01"), with(xray(0)))
                .await,
        );
        dropped.push(
            function
                .api
                .invoke_with(get_with_traceparent("/ok", "00"), with(xray(1)))
                .await,
        );
    }
    for path in ["/err", "/5xx", "/panic"] {
        let outcome = function.api.invoke_with(get(path), with(xray(0))).await;
        assert_eq!(status_of(&outcome), if path == "/5xx" { 503 } else { 500 });
        kept.push(outcome);
    }
    let timed_out = function
        .api
        .invoke_with(
            get("/slow"),
            InvokeOptions {
                timeout: Duration::from_millis(300),
                ..with(xray(0))
            },
        )
        .await;
    assert!(timed_out.is_timeout());
    kept.push(timed_out);

    let spans = function.wait_for_received_traces(&otlp, &kept).await;
    function.settle().await;
    let spans_now = otlp.spans();
    let exported: Vec<&str> = roots(&spans_now)
        .iter()
        .filter_map(|r| r.attr_str("faas.invocation_id"))
        .collect();
    for outcome in &dropped {
        assert!(
            !exported.contains(&outcome.request_id.as_str()),
            "a successful invocation its caller did not sample was exported"
        );
    }
    assert_eq!(exported.len(), kept.len(), "{exported:?}");
    let outcomes: Vec<&str> = roots(&spans)
        .iter()
        .filter_map(|r| r.attr_str("serverless.outcome"))
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "success").count(), 6);
    assert!(outcomes.contains(&"timeout"), "{outcomes:?}");
    for root in roots(&spans) {
        let children = spans
            .iter()
            .filter(|s| s.trace_id == root.trace_id && s.span_id != root.span_id)
            .count();
        assert!(children >= 1, "every span of a kept invocation is exported");
    }
    // Exported spans are sampled ones, also those of a failure whose caller said Sampled=0.
    for span in &spans {
        assert_eq!(span.flags & 1, 1, "{} exported unsampled", span.name);
    }

    // The EMF line counts what sampling did.
    let metrics: Vec<Value> = function
        .process
        .stdout_lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    let sum = |key: &str| metrics.iter().filter_map(|m| m[key].as_u64()).sum::<u64>();
    // The timeout was exported by the watchdog before any response: it has no EMF line.
    assert_eq!(sum("TracesKept"), kept.len() as u64 - 1);
    assert_eq!(sum("TracesDropped"), dropped.len() as u64);
}

#[tokio::test]
async fn init_and_unmarshal_errors_are_kept_by_a_sampler_that_keeps_no_success() {
    let otlp = OtlpReceiver::start().await.unwrap();
    let endpoint = otlp.endpoint();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_off"),
    ];
    let function = Function::test_child("otel-env-typed", "typed", &env).await;
    let options = InvokeOptions {
        trace_header: Some(xray(0)),
        ..InvokeOptions::default()
    };
    let fine = function
        .api
        .invoke_with(json!({ "id": 7 }).to_string(), options.clone())
        .await;
    assert_eq!(fine.json().unwrap()["ok"], true);
    let bad = function
        .api
        .invoke_with(json!({ "id": "seven" }).to_string(), options)
        .await;
    assert_eq!(bad.error().unwrap().error_type, "Runtime.UnmarshalError");
    let spans = function.wait_for_received_traces(&otlp, &[&bad]).await;
    function.settle().await;
    assert!(
        !roots(&otlp.spans())
            .iter()
            .any(|r| r.attr_str("faas.invocation_id") == Some(fine.request_id.as_str())),
        "the success was dropped"
    );
    assert_eq!(roots(&spans).len(), 1);
    function.stop().await;

    otlp.clear();
    let function = Function::test_child("otel-env-init", "init_fails", &env).await;
    function.wait_init_error().await;
    let spans = function.wait_for_received_spans(&otlp, 1).await;
    assert_eq!(
        roots(&spans)[0].attr_str("serverless.outcome"),
        Some("init_error")
    );
}
