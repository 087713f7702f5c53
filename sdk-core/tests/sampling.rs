//! Sampling decided at the end of each invocation, from the environment: with
//! `OTEL_TRACES_SAMPLER=traceidratio` and `OTEL_TRACES_SAMPLER_ARG=0.1`, 1,000 invocations
//! (900 successes, 100 failures of five kinds) export about a tenth of the successes and
//! every failure with all its spans.
//!
//! The SDK reads its environment once per process, and tests cannot set variables in their
//! own process, so the test re-runs this binary with the variables set and only the test
//! `sampling_child`, which drives the handler engine in its own process.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::{
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use serverless_sdk::{
    Config, capture_exception, export::Exporter, serverless_handler, span, tag_event,
};
use serverless_sdk_tests::{otlp::STATUS_ERROR, recorder::Recorder};

/// Set in the re-run process.
const CHILD_ENV: &str = "SERVERLESS_SDK_SAMPLING_CHILD";

/// The kinds of failure, 20 invocations each.
const FAILURES: [&str; 5] = ["captured", "err", "panic", "span-error", "timeout"];

#[span("may-fail")]
fn may_fail() -> Result<(), std::io::Error> {
    Err(std::io::Error::other(
        "the span failed, the handler went on",
    ))
}

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    let case = event.payload["case"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tag_event("case", &case, None);
    {
        let _work = span("work");
    }
    match case.as_str() {
        "captured" => capture_exception(&std::io::Error::other("captured and answered")),
        "err" => return Err(std::io::Error::other("returned")),
        "panic" => panic!("the handler panicked"),
        "span-error" => {
            let _ = may_fail();
        }
        // The deadline is 60 ms away and the watchdog reports 50 ms before it.
        "timeout" => tokio::time::sleep(Duration::from_millis(40)).await,
        _ => {}
    }
    Ok(json!({ "case": case }))
}

/// An event with a deterministic X-Ray trace id (its `Sampled=1` does not matter to
/// `traceidratio`, which ignores the parent) and, for timeouts, a near deadline.
fn event(case: &str, rng: &mut fastrand::Rng) -> LambdaEvent<Value> {
    let mut ctx = Context::default();
    ctx.request_id = format!("req-{}", rng.u64(..));
    ctx.xray_trace_id = Some(format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=1",
        rng.u32(1..),
        rng.u128(1..1 << 96),
        rng.u64(1..)
    ));
    if case == "timeout" {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        ctx.deadline = u64::try_from(now_ms).unwrap() + 60;
    }
    LambdaEvent::new(json!({ "case": case }), ctx)
}

#[test]
fn traceidratio_from_the_environment_keeps_a_tenth_of_successes_and_every_failure() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sampling_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("OTEL_TRACES_SAMPLER", "traceidratio")
        .env("OTEL_TRACES_SAMPLER_ARG", "0.1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the sampling run failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

/// Not a test on its own: the process `traceidratio_from_the_environment_…` starts.
#[tokio::test]
async fn sampling_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let recorder = Recorder::global(|recorder| {
        serverless_sdk::init(Config::from_env().with_exporter(Exporter::Writer(recorder.writer())));
    });
    let mut rng = fastrand::Rng::with_seed(18);
    let mut cases: Vec<&str> = vec!["ok"; 900];
    for (i, failure) in FAILURES.iter().enumerate() {
        for j in 0..20 {
            cases.insert(i * 180 + j * 9 + 5, failure);
        }
    }
    assert_eq!(cases.len(), 1000);
    let mut exported = Vec::new();
    for case in &cases {
        let result = handler(event(case, &mut rng)).await;
        match *case {
            "err" | "panic" => assert!(result.is_err(), "{case}: {result:?}"),
            _ => assert_eq!(result.unwrap()["case"], *case),
        }
        exported.extend(recorder.take_exports());
    }

    let of = |case: &str| {
        exported
            .iter()
            .filter(|spans| spans[0].attr_str("serverless.tag.case") == Some(case))
            .collect::<Vec<_>>()
    };
    let successes = of("ok");
    assert!(
        (60..=140).contains(&successes.len()),
        "{} of 900 successes exported at a ratio of 0.1",
        successes.len()
    );
    for spans in &successes {
        assert_eq!(spans[0].attr_str("serverless.outcome"), Some("success"));
        assert_eq!(spans.len(), 2, "root and work");
    }
    for failure in FAILURES {
        let kept = of(failure);
        assert_eq!(kept.len(), 20, "every `{failure}` invocation is exported");
        for spans in kept {
            if failure == "span-error" {
                // The invocation succeeded; one of its spans failed.
                assert!(spans.iter().any(|s| s.status_code == STATUS_ERROR));
            } else {
                assert_ne!(
                    spans[0].attr_str("serverless.outcome"),
                    Some("success"),
                    "{failure}"
                );
            }
            let expected = if failure == "span-error" { 3 } else { 2 };
            assert_eq!(spans.len(), expected, "{failure}: every span is exported");
        }
    }
    assert_eq!(exported.len(), successes.len() + 100);
    let (kept, dropped) = serverless_sdk::export::sampling_stats();
    assert_eq!(kept, exported.len() as u64);
    assert_eq!(dropped, 1000 - kept);
}
