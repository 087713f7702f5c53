//! The configuration built in code, end to end: a real function process that installs the
//! SDK with `serverless_sdk::init(Config::from_env().with_…)` before the `lambda_runtime`
//! loop, under the kit's Runtime API, exporting OTLP/HTTP to the kit's receiver. An OTLP
//! header (never in logs or telemetry), a sampler that keeps no success but every failure,
//! SigV4 signing for X-Ray forced on and off, gzip, resource attributes and a disabled SDK;
//! each setting made in code wins over the environment variable of the same setting. And an
//! `https://` collector that cannot be reached: one stderr line per lost export, and the
//! function answers as before.
//!
//! Each test re-executes this binary as the function process (`function_child`); the mode
//! that `Function::test_child` passes names the configuration the process builds
//! ([`config_for`]).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use lambda_runtime::{LambdaEvent, service_fn};
use opentelemetry_sdk::trace::Sampler;
use serde_json::{Value, json};
use serverless_sdk::{
    Config,
    config::Compression,
    export::{Exporter, OtlpSigning},
    serverless_handler, span,
};
use serverless_sdk_tests::{
    function::{Function, run_function_child},
    otlp::{OtlpReceiver, SigV4Check},
    runtime_api::InvokeOutcome,
    server,
    trace_view::{invocation_ids, invocation_roots as roots},
};

const FUNCTION: &str = "e2e-config";

/// The variable through which a test gives the function process its collector's base URL;
/// no `OTEL_EXPORTER_OTLP_*ENDPOINT` is set, the endpoint is set in code.
const ENDPOINT_ENV: &str = "E2E_CONFIG_ENDPOINT";

/// The value of the `x-api-key` header set in code: compiled into the function, so it is in
/// neither the process's environment nor its arguments, and may only show where the SDK
/// writes it.
const API_KEY: &str = "cfg-api-k3y-7d1e";

/* ----------------------------------- the function ----------------------------------- */

#[derive(Debug, thiserror::Error)]
#[error("the order was refused")]
struct Refused;

/// Doubles `value`, in a child span; `"fail": true` makes it return `Err`.
#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Refused> {
    if event.payload["fail"] == true {
        return Err(Refused);
    }
    let value = event.payload["value"].as_u64().unwrap_or_default();
    Ok(json!({ "doubled": double(value) }))
}

#[span("double")]
fn double(value: u64) -> u64 {
    value * 2
}

/// The configuration the function process installs for `case`: OTLP/HTTP to the endpoint
/// of [`ENDPOINT_ENV`], and the one setting the case is about.
fn config_for(case: &str) -> Config {
    let endpoint = std::env::var(ENDPOINT_ENV).expect("the test gives the collector's URL");
    let config = Config::from_env().with_exporter(Exporter::Otlp {
        endpoint: Some(endpoint),
    });
    match case {
        "plain" => config,
        // Dev mode draws every trace on stderr: one more place the value must stay out of.
        "header" => config
            .with_otlp_header("x-api-key", API_KEY)
            .with_dev_mode(true),
        "sampler_off" => config.with_sampler(Sampler::AlwaysOff),
        "sign_xray" => config.with_otlp_signing(OtlpSigning::XRay),
        "sign_off" => config.with_otlp_signing(OtlpSigning::Off),
        "gzip" => config.with_otlp_compression(Compression::Gzip),
        "resource" => config.with_resource_attribute("deployment.environment.name", "staging"),
        // The metrics line too would be stdout output.
        "disabled" => config.with_sdk_disabled(true).with_emf_metrics(true),
        other => panic!("no configuration is named {other:?}"),
    }
}

/// Not a test: the function process.
#[test]
fn function_child() {
    run_function_child(|case| async move {
        assert!(serverless_sdk::init(config_for(&case)), "installed once");
        serverless_sdk::run(service_fn(handler)).await
    });
}

/* -------------------------------------- helpers ------------------------------------- */

/// Starts the function with the configuration `case`, exporting to `endpoint`, with `env`
/// on top of the Lambda environment.
async fn start(case: &str, endpoint: &str, env: &[(&str, String)]) -> Function {
    let mut vars = vec![(ENDPOINT_ENV, endpoint)];
    vars.extend(env.iter().map(|(name, value)| (*name, value.as_str())));
    Function::test_child(FUNCTION, case, &vars).await
}

/// Starts a receiver, and the function with the configuration `case` exporting to it, with
/// `env` on top of the Lambda environment.
async fn start_exporting(case: &str, env: &[(&str, &str)]) -> (OtlpReceiver, Function) {
    Function::test_child_exporting(FUNCTION, case, ENDPOINT_ENV, env).await
}

/// Invokes the function with `value` and checks that it answered `{"doubled": 2 × value}`.
async fn invoke(function: &Function, value: u64) -> InvokeOutcome {
    let outcome = function.invoke(&json!({ "value": value })).await;
    assert_eq!(
        function.response(&outcome),
        json!({ "doubled": value * 2 }),
        "response"
    );
    outcome
}

/// Invokes the function so that its handler returns `Err`, and checks the error the Runtime
/// API received.
async fn invoke_failing(function: &Function) -> InvokeOutcome {
    let outcome = function.invoke(&json!({ "fail": true })).await;
    let error = outcome.error().unwrap_or_else(|| {
        panic!(
            "the failing invocation answered {:?}\nstderr:\n{}",
            outcome.result,
            function.process.stderr_text()
        )
    });
    assert_eq!(error.error_message, "the order was refused");
    outcome
}

/* --------------------------------------- tests -------------------------------------- */

/// `with_otlp_header`: the header arrives with the export, replacing the environment's of
/// the same name (the environment's others still sent), and its value is in neither the
/// function's output (dev mode's waterfall included) nor the exported spans.
#[tokio::test]
async fn a_header_set_in_code_reaches_the_collector_and_nothing_else() {
    let (receiver, function) = start_exporting(
        "header",
        &[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-api-key=from-the-env,x-team=core",
        )],
    )
    .await;
    let outcome = invoke(&function, 1).await;
    let spans = function
        .wait_for_received_traces(&receiver, &[&outcome])
        .await;
    let received = receiver.received();
    assert_eq!(received[0].headers["x-api-key"], API_KEY);
    assert_eq!(received[0].headers["x-team"], "core");
    function.settle().await;
    let output = function.process.output_text();
    assert!(
        output.contains("double"),
        "dev mode drew the trace:\n{output}"
    );
    assert!(
        !output.contains(API_KEY),
        "the header was logged:\n{output}"
    );
    assert!(
        !format!("{spans:?}").contains(API_KEY),
        "the header was exported"
    );
}

/// `with_sampler(Sampler::AlwaysOff)`, over `OTEL_TRACES_SAMPLER=always_on`: no successful
/// invocation is exported; the one whose handler returned `Err` is, whole.
#[tokio::test]
async fn a_sampler_set_in_code_drops_every_success_and_keeps_the_failure() {
    let (receiver, function) =
        start_exporting("sampler_off", &[("OTEL_TRACES_SAMPLER", "always_on")]).await;
    for value in 1..=3 {
        invoke(&function, value).await;
    }
    let failed = invoke_failing(&function).await;
    let spans = function
        .wait_for_received_traces(&receiver, &[&failed])
        .await;
    function.settle().await;
    let exported = invocation_ids(&receiver.spans());
    assert_eq!(
        exported,
        BTreeSet::from([failed.request_id]),
        "only the failure"
    );
    assert_eq!(
        spans.len(),
        1,
        "the failure's root; its handler made no span"
    );
    assert_eq!(
        roots(&spans)[0].attr_str("serverless.outcome"),
        Some("error:unhandled")
    );
}

/// `with_otlp_signing(OtlpSigning::XRay)` with a plain `http://` endpoint on 127.0.0.1, not
/// an X-Ray host: every export is signed with the function's credentials for `xray` in its
/// region, and accepted by a receiver that recomputes each signature.
#[tokio::test]
async fn signing_for_xray_set_in_code_signs_a_plain_http_export_that_verifies() {
    let check = SigV4Check::xray_test();
    let receiver = OtlpReceiver::start_sigv4(check.clone()).await.unwrap();
    let function = start("sign_xray", &receiver.endpoint(), &check.function_env()).await;
    let first = invoke(&function, 1).await;
    let second = invoke(&function, 2).await;
    function
        .wait_for_received_traces(&receiver, &[&first, &second])
        .await;
    // Every export made (or given up) by now; each one that arrived passed the check.
    function.settle().await;
    receiver.assert_every_request_signed();
    assert!(
        !function
            .process
            .output_text()
            .contains(&check.secret_access_key)
    );
}

/// `with_otlp_signing(OtlpSigning::Off)`, over `SERVERLESS_SDK_OTLP_SIGV4=xray` and with
/// credentials in the environment: the export goes out unsigned, so the SigV4-checking
/// receiver answers 403 for want of an `Authorization` header; the function answers as
/// before and reports the refused export.
#[tokio::test]
async fn signing_off_set_in_code_sends_the_export_unsigned() {
    let check = SigV4Check::xray_test();
    let receiver = OtlpReceiver::start_sigv4(check.clone()).await.unwrap();
    let mut env = check.function_env();
    env.push(("SERVERLESS_SDK_OTLP_SIGV4", "xray".to_owned()));
    let function = start("sign_off", &receiver.endpoint(), &env).await;
    invoke(&function, 1).await;
    invoke(&function, 2).await;
    function.settle().await;
    function
        .wait_for(
            || format!("two refused exports: {:?}", receiver.signature_errors()),
            || (receiver.bad_signatures() >= 2).then_some(()),
        )
        .await;
    assert_eq!(
        receiver.signature_errors(),
        ["no authorization header", "no authorization header"]
    );
    assert!(receiver.received().is_empty());
    let reports = function.process.sdk_reports();
    assert_eq!(reports.len(), 2, "one per refused export: {reports:?}");
    assert!(
        reports
            .iter()
            .all(|r| r["kind"] == "export" && r["message"].as_str().unwrap().contains("403")),
        "{reports:?}"
    );
}

/// `with_otlp_compression(Compression::Gzip)`, over `OTEL_EXPORTER_OTLP_COMPRESSION=none`:
/// the body arrives with `Content-Encoding: gzip`, gunzips and decodes to the invocation's
/// spans.
#[tokio::test]
async fn gzip_set_in_code_sends_a_gzipped_body_that_decodes() {
    let (receiver, function) =
        start_exporting("gzip", &[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")]).await;
    let outcome = invoke(&function, 21).await;
    let spans = function
        .wait_for_received_traces(&receiver, &[&outcome])
        .await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers["content-encoding"], "gzip");
    assert!(received[0].gzipped);
    assert_eq!(receiver.rejected(), 0);
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["double", FUNCTION], "root and child decoded");
}

/// `with_resource_attribute`: the attribute is on the resource of every exported span,
/// replacing the environment's value of the same key; the environment's other attributes
/// stay.
#[tokio::test]
async fn a_resource_attribute_set_in_code_reaches_every_span() {
    // The environment's value of the key set in code, and one other.
    let env = [(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment.name=from-the-env,team=core",
    )];
    let (receiver, function) = start_exporting("resource", &env).await;
    let outcome = invoke(&function, 1).await;
    let spans = function
        .wait_for_received_traces(&receiver, &[&outcome])
        .await;
    assert_eq!(spans.len(), 2);
    for span in &spans {
        span.assert_resource([("deployment.environment.name", "staging"), ("team", "core")]);
    }
}

/// `with_sdk_disabled(true)`, over `OTEL_SDK_DISABLED=false`: nothing reaches the receiver
/// or stdout, and every response is the one the same function gives with the SDK on.
#[tokio::test]
async fn disabled_in_code_exports_nothing_and_changes_no_response() {
    let (enabled_receiver, enabled) = start_exporting("plain", &[]).await;
    let (receiver, disabled) = start_exporting("disabled", &[("OTEL_SDK_DISABLED", "false")]).await;
    let enabled_ok = invoke(&enabled, 4).await;
    invoke(&disabled, 4).await;
    let enabled_failed = invoke_failing(&enabled).await;
    let disabled_failed = invoke_failing(&disabled).await;
    let (expected, failed) = (
        enabled_failed.error().unwrap(),
        disabled_failed.error().unwrap(),
    );
    assert_eq!(failed.error_type, expected.error_type);

    // The enabled one exported both invocations: the disabled one had as long to.
    enabled
        .wait_for_received_traces(&enabled_receiver, &[&enabled_ok, &enabled_failed])
        .await;
    disabled.settle().await;
    assert_eq!(receiver.requests(), 0, "the receiver got nothing");
    // libtest announces the one test the process runs; the SDK adds nothing.
    let stdout: Vec<String> = disabled
        .process
        .stdout_lines()
        .into_iter()
        .filter(|line| !line.trim().is_empty() && line.trim() != "running 1 test")
        .collect();
    assert!(stdout.is_empty(), "{stdout:#?}");
}

/// An `https://` collector that cannot be reached: a closed port (the connection refused)
/// and a plain-HTTP server (the TLS handshake fails). Each lost export is one stderr line;
/// the responses are as ever, and the next invocation is served and exported in the same
/// way.
#[tokio::test]
async fn an_unreachable_https_collector_costs_one_stderr_line_per_export() {
    let plain_http = OtlpReceiver::start().await.unwrap();
    let endpoints = [
        format!("https://127.0.0.1:{}", server::closed_port().await),
        format!("https://{}", plain_http.addr()),
    ];
    for endpoint in &endpoints {
        let function = start("plain", endpoint, &[]).await;
        for (invocation, value) in [1, 2].into_iter().enumerate() {
            invoke(&function, value).await;
            function.settle().await;
            let reports = function.process.sdk_reports();
            assert_eq!(
                reports.len(),
                invocation + 1,
                "{endpoint}: one line per lost export: {reports:#?}"
            );
            let report = &reports[invocation];
            assert_eq!(report["kind"], "export", "{endpoint}: {report}");
            assert_eq!(report["level"], "ERROR", "{endpoint}: {report}");
            assert!(
                report["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("export of 2 spans failed"),
                "{endpoint}: {report}"
            );
        }
        assert_eq!(function.api.stats().duplicate_responses, 0);
        function.stop().await;
    }
    assert_eq!(plain_http.requests(), 0, "no request got past TLS");
}
