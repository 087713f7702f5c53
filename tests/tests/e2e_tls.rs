//! OTLP/HTTP over TLS, end to end: a function process (the real `lambda_runtime` loop under
//! the kit's Runtime API) exports to `https://localhost:PORT`, a receiver behind TLS whose
//! certificate a test authority signed. The function trusts that authority through
//! `SSL_CERT_FILE` only, as it would a private CA; without it the handshake's certificate
//! check fails, the export is lost with one stderr line, and the responses are unchanged.
//!
//! Each test re-executes this binary as the function process (`function_child`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{serverless_handler, span};
use serverless_sdk_tests::{
    function::{Function, run_function_child, wait_until},
    otlp::OtlpReceiver,
};

const FUNCTION: &str = "e2e-tls";

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    let value = event.payload["value"].as_u64().unwrap_or_default();
    Ok(json!({ "doubled": double(value) }))
}

#[span("double")]
fn double(value: u64) -> u64 {
    value * 2
}

/// Not a test: the function process.
#[test]
fn function_child() {
    run_function_child(|_mode| async move { serverless_sdk::run(service_fn(handler)).await });
}

/// Starts the function exporting to `receiver`'s `https://` endpoint, trusting `ca_file`.
async fn start(receiver: &OtlpReceiver, ca_file: &str) -> Function {
    let endpoint = receiver.endpoint();
    assert!(endpoint.starts_with("https://localhost:"), "{endpoint}");
    Function::test_child(
        FUNCTION,
        "",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("SSL_CERT_FILE", ca_file),
            // Only the file above: no directory of the system's roots.
            ("SSL_CERT_DIR", "/nonexistent"),
        ],
    )
    .await
}

/// Invokes with `value` and checks the answer.
async fn invoke(function: &Function, value: u64) {
    let outcome = function.invoke(&json!({ "value": value })).await;
    assert_eq!(function.response(&outcome), json!({ "doubled": value * 2 }));
}

/// Trusting the authority, each invocation's two spans arrive through the handshake and
/// decode.
#[tokio::test]
async fn a_collector_behind_tls_receives_every_export() {
    let receiver = OtlpReceiver::start_tls().await.unwrap();
    let ca_file = receiver.ca_file().unwrap().to_str().unwrap().to_owned();
    let function = start(&receiver, &ca_file).await;
    invoke(&function, 2).await;
    invoke(&function, 3).await;
    let spans = receiver.wait_for_spans(4, Duration::from_secs(10)).await;
    let doubles = spans.iter().filter(|s| s.name == "double").count();
    assert_eq!((spans.len(), doubles), (4, 2), "{spans:#?}");
    assert_eq!(receiver.rejected(), 0);
    let stderr = function.process.stderr_text();
    assert!(!stderr.contains("export of"), "no export failed:\n{stderr}");
    function.stop().await;
}

/// Not trusting it (another authority's file), the certificate check fails: nothing
/// arrives, each lost export is one stderr line naming the certificate problem, and every
/// invocation answers as before.
#[tokio::test]
async fn an_untrusted_certificate_loses_the_export_and_nothing_else() {
    let receiver = OtlpReceiver::start_tls().await.unwrap();
    let other = OtlpReceiver::start_tls().await.unwrap();
    let untrusted = other.ca_file().unwrap().to_str().unwrap().to_owned();
    let function = start(&receiver, &untrusted).await;
    for value in [2, 3] {
        invoke(&function, value).await;
    }
    let reports = wait_until(
        || format!("two export errors\n{}", function.process.stderr_text()),
        || {
            let lines: Vec<String> = function
                .process
                .stderr_lines()
                .into_iter()
                .filter(|line| line.contains("\"kind\":\"export\""))
                .collect();
            (lines.len() >= 2).then_some(lines)
        },
    )
    .await;
    assert_eq!(reports.len(), 2, "{reports:#?}");
    for report in &reports {
        assert!(
            report.contains("export of 2 spans failed") && report.contains("certificate"),
            "{report}"
        );
    }
    assert_eq!(receiver.requests(), 0, "nothing got past the handshake");
    function.stop().await;
}
