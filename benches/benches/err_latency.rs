//! What an `Err` (or a panic) costs the response with `RUST_BACKTRACE=1`: `err_sdk`
//! (`src/bin/err_sdk.rs`, a release build) started as a fresh process against the test kit's
//! local Lambda Runtime API with `RUST_BACKTRACE=1`, then, after one `Ok` invocation, 100
//! failing invocations in a row. The latency of each is the Runtime API's: from the moment
//! the function's `/next` poll received the event to the moment the error report arrived.
//! Prints the first failure's latency (it pays for whatever the process does once, such as
//! loading debug info to symbolise a backtrace), the hundredth's, and the median of the
//! 2nd–100th, for `Err` and for a panic, over `ERR_LATENCY_ROUNDS` fresh processes (default
//! 5; 1 with `--test`), with an `Ok` response's latency for comparison.
//!
//! `cargo bench -p serverless_sdk_benches --bench err_latency`
//! (`ERR_SDK_BIN=path/to/err_sdk` to time another build of the function)

use std::{
    env, io,
    path::{Path, PathBuf},
    time::Duration,
};

use serverless_sdk_tests::runtime_api::{FunctionProcess, InvokeResult, RuntimeApi};

/// Failing invocations per process.
const FAILURES: usize = 100;

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Latencies of one fresh process: (an `Ok` after warm-up, failure 1, failures 2..=100).
async fn one_process(
    api: &RuntimeApi,
    program: &Path,
    fail: &str,
) -> io::Result<(Duration, Duration, Vec<Duration>)> {
    let mut command = api.function_command(program, "err_sdk");
    command.env("RUST_BACKTRACE", "1");
    let function = FunctionProcess::spawn(command)?;
    let ok_payload = br#"{"fail": "no"}"#.to_vec();
    let fail_payload = format!(r#"{{"fail": "{fail}"}}"#).into_bytes();
    let first_ok = api.invoke(ok_payload.clone()).await;
    if first_ok.json().is_none() {
        return Err(io::Error::other(format!(
            "err_sdk did not answer Ok: {first_ok:?}; stderr: {}",
            function.stderr_text()
        )));
    }
    let ok = api.invoke(ok_payload).await.latency;
    let mut failures = Vec::with_capacity(FAILURES);
    for _ in 0..FAILURES {
        let outcome = api.invoke(fail_payload.clone()).await;
        if !matches!(outcome.result, InvokeResult::Error(_)) {
            return Err(io::Error::other(format!(
                "err_sdk did not fail with {fail}: {outcome:?}"
            )));
        }
        failures.push(outcome.latency);
    }
    // Every failure was exported, with its backtrace.
    let exported = function
        .wait_for_stdout(
            |l| l.contains("exception.stacktrace") && l.contains("resourceSpans"),
            Duration::from_secs(10),
        )
        .await;
    function.kill().await?;
    if exported.is_none() {
        return Err(io::Error::other(format!(
            "err_sdk exported no exception with a stacktrace for {fail}"
        )));
    }
    let first = failures.remove(0);
    Ok((ok, first, failures))
}

fn main() -> io::Result<()> {
    let rounds = serverless_sdk_benches::rounds("ERR_LATENCY_ROUNDS", 1, 5);
    // `ERR_SDK_BIN` runs another build of `err_sdk` (e.g. one kept from before a change).
    let program = env::var_os("ERR_SDK_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_err_sdk")),
        PathBuf::from,
    );
    let program = program.as_path();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let api = RuntimeApi::start().await?;
        for fail in ["err", "panic"] {
            let (mut oks, mut firsts, mut hundredths, mut rest) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let (ok, first, others) = one_process(&api, program, fail).await?;
                oks.push(ok);
                firsts.push(first);
                hundredths.push(others.last().copied().unwrap_or_default());
                rest.extend(others);
            }
            println!(
                "err_latency: {fail:<5} RUST_BACKTRACE=1, {rounds} processes: 1st {:9.1} µs, 100th {:7.1} µs, median of 2nd-100th {:7.1} µs (Ok: {:6.1} µs) [medians over processes]",
                us(median(&mut firsts)),
                us(median(&mut hundredths)),
                us(median(&mut rest)),
                us(median(&mut oks)),
            );
        }
        io::Result::Ok(())
    })
}
