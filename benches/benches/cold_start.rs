//! Cold start: `hello_sdk` against `hello_plain` (`src/bin/`), started as fresh processes
//! against the test kit's local Lambda Runtime API, timed from process spawn to the first
//! response the Runtime API receives. Runs alternate between the two binaries (the order
//! flips every round), after one untimed warm-up run each. Reports medians, their ratio and
//! difference, and the binaries' sizes.
//!
//! By default it starts the binaries cargo built for this bench. `benches/cold_start.sh`
//! builds them as a user would (`cargo build --release`, stripped) and points
//! `COLD_START_BIN_DIR` at them; `COLD_START_RUNS` sets the number of runs of each
//! (default 30; 2 with `--test`).
//!
//! `benches/cold_start.sh` or `cargo bench -p serverless_sdk_benches --bench cold_start`

use std::{
    env, fs, io,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serverless_sdk_benches::quantile;
use serverless_sdk_tests::{
    events,
    function::WAIT,
    runtime_api::{FunctionProcess, RuntimeApi},
};

/// Process spawn to first response.
async fn start_to_first_response(
    api: &RuntimeApi,
    program: &Path,
    payload: &[u8],
) -> io::Result<Duration> {
    let command = api.function_command(program, "hello");
    let start = Instant::now();
    let function = FunctionProcess::spawn(command)?;
    let outcome = api.invoke(payload.to_vec()).await;
    let elapsed = start.elapsed();
    let ok = outcome
        .json()
        .is_some_and(|r| r["statusCode"] == 200 && r["body"] == "hello");
    function.kill().await?;
    if !ok {
        return Err(io::Error::other(format!(
            "{}: unexpected outcome {outcome:?}; stderr: {}",
            program.display(),
            function.stderr_text()
        )));
    }
    Ok(elapsed)
}

/// Checks that the instrumented binary exports its invocation (so the pair really differs).
async fn check_exports(api: &RuntimeApi, program: &Path, payload: &[u8]) -> io::Result<()> {
    let function = FunctionProcess::spawn(api.function_command(program, "hello"))?;
    let _ = api.invoke(payload.to_vec()).await;
    let line = function
        .wait_for_stdout(|l| l.contains("resourceSpans"), WAIT)
        .await;
    function.kill().await?;
    match line {
        Some(_) => Ok(()),
        None => Err(io::Error::other(format!(
            "{} wrote no OTLP/JSON line",
            program.display()
        ))),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Summary {
    median: Duration,
    mean: Duration,
    p10: Duration,
    p90: Duration,
}

fn summarize(samples: &mut [Duration]) -> Summary {
    samples.sort();
    let total: Duration = samples.iter().sum();
    let count = u32::try_from(samples.len().max(1)).unwrap_or(u32::MAX);
    Summary {
        median: quantile(samples, 0.5),
        mean: total / count,
        p10: quantile(samples, 0.1),
        p90: quantile(samples, 0.9),
    }
}

fn binaries() -> (PathBuf, PathBuf, &'static str) {
    match env::var_os("COLD_START_BIN_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            (
                dir.join("hello_plain"),
                dir.join("hello_sdk"),
                "COLD_START_BIN_DIR",
            )
        }
        None => (
            PathBuf::from(env!("CARGO_BIN_EXE_hello_plain")),
            PathBuf::from(env!("CARGO_BIN_EXE_hello_sdk")),
            "built by cargo bench, unstripped",
        ),
    }
}

fn main() -> io::Result<()> {
    let runs = serverless_sdk_benches::rounds("COLD_START_RUNS", 2, 30);
    let (plain, sdk, origin) = binaries();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (mut plain_samples, mut sdk_samples) = rt.block_on(async {
        let api = RuntimeApi::start().await?;
        let event = events::apigw_v2("GET", "/hello", "GET /hello", None);
        let payload = serde_json::to_vec(&event).map_err(io::Error::other)?;
        check_exports(&api, &sdk, &payload).await?;
        start_to_first_response(&api, &plain, &payload).await?;
        start_to_first_response(&api, &sdk, &payload).await?;
        let (mut p, mut s) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for round in 0..runs {
            if round % 2 == 0 {
                p.push(start_to_first_response(&api, &plain, &payload).await?);
                s.push(start_to_first_response(&api, &sdk, &payload).await?);
            } else {
                s.push(start_to_first_response(&api, &sdk, &payload).await?);
                p.push(start_to_first_response(&api, &plain, &payload).await?);
            }
        }
        io::Result::Ok((p, s))
    })?;
    let p = summarize(&mut plain_samples);
    let s = summarize(&mut sdk_samples);
    println!(
        "cold_start: {runs} runs each, alternating, spawn -> first response, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (name, x) in [("hello_plain", &p), ("hello_sdk", &s)] {
        println!(
            "cold_start: {name:<11} median {:7.2} ms  mean {:7.2} ms  p10 {:7.2} ms  p90 {:7.2} ms",
            ms(x.median),
            ms(x.mean),
            ms(x.p10),
            ms(x.p90)
        );
    }
    println!(
        "cold_start: ratio of medians sdk/plain {:.3}, difference {:+.2} ms (means: {:.3}, {:+.2} ms)",
        ms(s.median) / ms(p.median),
        ms(s.median) - ms(p.median),
        ms(s.mean) / ms(p.mean),
        ms(s.mean) - ms(p.mean),
    );
    let size = |path: &Path| fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let (plain_size, sdk_size) = (size(&plain), size(&sdk));
    println!(
        "cold_start: binary size ({origin}): hello_plain {} KB, hello_sdk {} KB, difference {:+} KB ({:.2}x)",
        plain_size / 1024,
        sdk_size / 1024,
        (i128::from(sdk_size) - i128::from(plain_size)) / 1024,
        sdk_size as f64 / plain_size.max(1) as f64
    );
    Ok(())
}
