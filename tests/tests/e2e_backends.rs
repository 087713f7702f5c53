//! The backends a function exports to, end to end through the real `lambda_runtime` loop:
//! AWS X-Ray's OTLP endpoint (OTLP/HTTP signed with SigV4, checked by a receiver that
//! recomputes every signature from what it received), CloudWatch Logs read by
//! serverless-otlp-forwarder (the `otlp-stdout-span-exporter` envelope on stdout), and a
//! collector behind TLS (`https://localhost:PORT`, its certificate signed by a test
//! authority that the function trusts through `SSL_CERT_FILE` only, as it would a private
//! CA).
//!
//! Each test re-executes this binary as the function process (`function_child`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{serverless_handler, span};
use serverless_sdk_tests::{
    function::{Function, run_function_child, wait_until},
    otlp::{FlatSpan, OtlpReceiver, SigV4Check, parse_envelope_lines},
    runtime_api::{InvokeOptions, XrayHeader, generate_trace_header},
    trace_view::Trace,
};

const FUNCTION: &str = "e2e-backends";

/* ----------------------------------- the function ----------------------------------- */

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

/* -------------------------------------- helpers ------------------------------------- */

/// Starts the function exporting OTLP/HTTP to `receiver` with SigV4 forced on (the receiver
/// is on 127.0.0.1, not an X-Ray host), with `env` besides.
async fn start_signing(receiver: &OtlpReceiver, env: &[(&str, String)]) -> Function {
    let mut vars: Vec<(&str, String)> = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("SERVERLESS_SDK_OTLP_SIGV4", "xray".to_owned()),
    ];
    vars.extend(env.iter().cloned());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Function::test_child(FUNCTION, "", &vars).await
}

/// Invokes the function with `value` under a fresh X-Ray header; checks the response and
/// returns the request id and the header.
async fn invoke(function: &Function, value: u64) -> (String, String) {
    let header = generate_trace_header();
    let outcome = function
        .invoke_with(
            &json!({ "value": value }),
            InvokeOptions {
                trace_header: Some(header.clone()),
                ..InvokeOptions::default()
            },
        )
        .await;
    assert_eq!(
        function.response(&outcome),
        json!({ "doubled": value * 2 }),
        "response"
    );
    (outcome.request_id, header)
}

/// Checks one invocation's trace: a root and its `double` child, both in the trace the
/// Lambda X-Ray header names, the root's parent the header's segment.
fn assert_trace_under_header(trace: &Trace, header: &str) {
    let xray = XrayHeader::parse(header).unwrap();
    let trace_id = xray.otel_trace_id().unwrap();
    assert_eq!(trace.spans.len(), 2, "{}", trace.render());
    for span in &trace.spans {
        assert_eq!(span.trace_id, trace_id, "{}", trace.render());
    }
    assert_eq!(Some(&trace.root.parent_span_id), xray.parent.as_ref());
    let child = trace.spans.iter().find(|s| s.name == "double").unwrap();
    assert_eq!(child.parent_span_id, trace.root.span_id);
}

/// Asserts that none of `secrets` appears in the function's output.
fn assert_no_secret_in_output(function: &Function, secrets: &[&str]) {
    let output = function.process.output_text();
    for secret in secrets {
        assert!(
            !output.contains(secret),
            "a secret is in the output:\n{output}"
        );
    }
}

/* --------------------------------------- tests -------------------------------------- */

/// Signed with the function's credentials, every export is accepted by a receiver that
/// recomputes the signature; the spans decode, and keep the Lambda X-Ray trace id.
#[tokio::test]
async fn signed_export_is_accepted_and_keeps_the_xray_trace_id() {
    let check = SigV4Check::xray_test();
    let receiver = OtlpReceiver::start_sigv4(check.clone()).await.unwrap();
    let function = start_signing(&receiver, &check.function_env()).await;
    let mut sent = Vec::new();
    for value in 1..=3 {
        sent.push(invoke(&function, value).await);
    }
    let ids: Vec<&String> = sent.iter().map(|(id, _)| id).collect();
    let spans = function.wait_for_received_traces(&receiver, &ids).await;
    // Every export made (or given up) by now; each one that arrived passed the check.
    function.settle().await;
    receiver.assert_every_request_signed();
    for (request_id, header) in &sent {
        assert_trace_under_header(&Trace::of(&spans, request_id), header);
    }
    for export in receiver.received() {
        assert!(export.headers.contains_key("x-amz-date"));
    }
    assert_no_secret_in_output(
        &function,
        &[
            &check.secret_access_key,
            check.session_token.as_deref().unwrap(),
        ],
    );
}

/// Signed with a secret the receiver does not know, every export is answered 403, and the
/// function answers every invocation as before.
#[tokio::test]
async fn a_wrong_secret_is_rejected_and_the_function_unaffected() {
    let check = SigV4Check::xray_test();
    let receiver = OtlpReceiver::start_sigv4(check.clone()).await.unwrap();
    let wrong = SigV4Check {
        secret_access_key: "not-the-secret".to_owned(),
        ..check.clone()
    };
    let function = start_signing(&receiver, &wrong.function_env()).await;
    for value in 1..=3 {
        invoke(&function, value).await;
    }
    function
        .wait_for(
            || format!("3 rejected signatures, {:?}", receiver.signature_errors()),
            || (receiver.bad_signatures() >= 3).then_some(()),
        )
        .await;
    assert!(receiver.received().is_empty());
    assert!(
        receiver
            .signature_errors()
            .iter()
            .all(|e| e.contains("signature we calculated does not match")),
        "{:?}",
        receiver.signature_errors()
    );
    function
        .wait_for(
            || "the 403 reported on stderr".to_owned(),
            || function.process.stderr_text().contains("403").then_some(()),
        )
        .await;
    assert_no_secret_in_output(&function, &["not-the-secret"]);
}

/// A body changed on the way after signing (one byte) is rejected: the signature covers
/// the exact bytes sent.
#[tokio::test]
async fn a_body_changed_after_signing_is_rejected() {
    let check = SigV4Check::xray_test();
    let receiver = OtlpReceiver::start_sigv4(check.clone()).await.unwrap();
    receiver.set_tamper_body(true);
    let function = start_signing(&receiver, &check.function_env()).await;
    invoke(&function, 1).await;
    function
        .wait_for(
            || "a rejected signature".to_owned(),
            || (receiver.bad_signatures() >= 1).then_some(()),
        )
        .await;
    assert!(receiver.received().is_empty());
    // The same function's next export, untouched, is accepted.
    receiver.set_tamper_body(false);
    let (request_id, header) = invoke(&function, 2).await;
    let spans = function
        .wait_for_received_traces(&receiver, &[&request_id])
        .await;
    assert_trace_under_header(&Trace::of(&spans, &request_id), &header);
}

/// Without credentials in the environment nothing is sent: one line on stderr per skipped
/// export, and the function answers.
#[tokio::test]
async fn missing_credentials_skip_the_export_with_one_line() {
    let receiver = OtlpReceiver::start_sigv4(SigV4Check::xray_test())
        .await
        .unwrap();
    let function = start_signing(&receiver, &[]).await;
    for value in 1..=2 {
        invoke(&function, value).await;
    }
    let lines = |text: String| {
        text.lines()
            .filter(|l| l.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
            .count()
    };
    function
        .wait_for(
            || "two skipped exports on stderr".to_owned(),
            || (lines(function.process.stderr_text()) >= 2).then_some(()),
        )
        .await;
    // Nothing else would arrive: the exports were given up before a connection was made.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.requests(), 0);
    assert_eq!(lines(function.process.stderr_text()), 2);
}

/// `OTEL_TRACES_EXPORTER=otlp-stdout`: each invocation is one envelope line on stdout,
/// whose payload decodes to its spans, under its X-Ray trace id.
#[tokio::test]
async fn otlp_stdout_writes_one_envelope_line_per_invocation() {
    let function = Function::test_child(
        FUNCTION,
        "",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp-stdout"),
            ("OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL", "9"),
        ],
    )
    .await;
    let first = invoke(&function, 1).await;
    let second = invoke(&function, 2).await;
    let envelopes = wait_until(
        || {
            format!(
                "two envelopes on stdout:\n{}",
                function.process.stdout_text()
            )
        },
        || {
            let envelopes = parse_envelope_lines(&function.process.stdout_text());
            (envelopes.len() >= 2).then_some(envelopes)
        },
    )
    .await;
    assert_eq!(envelopes.len(), 2);
    for (envelope, (request_id, header)) in envelopes.iter().zip([&first, &second]) {
        assert_eq!(
            envelope.keys,
            [
                "__otel_otlp_stdout",
                "source",
                "endpoint",
                "method",
                "content-type",
                "content-encoding",
                "payload",
                "base64"
            ]
        );
        assert_eq!(envelope.json["__otel_otlp_stdout"], "0.18.0");
        assert_eq!(envelope.json["source"], FUNCTION);
        assert_eq!(envelope.json["endpoint"], "http://localhost:4318/v1/traces");
        assert_eq!(envelope.json["method"], "POST");
        // Level 9 was asked for: gzip's header says "maximum compression" (XFL = 2).
        assert_eq!(envelope.gzip[8], 2, "gzip XFL");
        let spans = FlatSpan::from_request(&envelope.request);
        let trace = Trace::of(&spans, request_id);
        assert_trace_under_header(&trace, header);
        assert_eq!(trace.root.resource_str("service.name"), Some(FUNCTION));
    }
    // The envelope is the only telemetry on stdout: no OTLP/JSON line besides.
    assert!(function.export_requests().is_empty());
}

/// Starts the function exporting to `receiver`'s `https://` endpoint, trusting `ca_file`.
async fn start_tls(receiver: &OtlpReceiver, ca_file: &str) -> Function {
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

/// Trusting the authority, each invocation's two spans arrive through the handshake and
/// decode.
#[tokio::test]
async fn a_collector_behind_tls_receives_every_export() {
    let receiver = OtlpReceiver::start_tls().await.unwrap();
    let ca_file = receiver.ca_file().unwrap().to_str().unwrap().to_owned();
    let function = start_tls(&receiver, &ca_file).await;
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
    let function = start_tls(&receiver, &untrusted).await;
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
