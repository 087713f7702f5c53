//! Prints the criterion results of the benchmarks as the Markdown tables of
//! `BENCHMARKS.md`: the ratios, side by side from one run, then every absolute number.
//!
//! `cargo run -p serverless_sdk_benches --bin bench_table [-- <criterion dir>]`
//!
//! It reads `<criterion dir>/**/new/{benchmark,estimates}.json` (default
//! `$CARGO_TARGET_DIR/criterion`, else `target/criterion`). The time of a benchmark is
//! criterion's own headline estimate: the slope of the linear regression when criterion
//! sampled linearly, else the mean.

use std::{
    collections::BTreeMap,
    env, fs, io,
    path::{Path, PathBuf},
};

use serde_json::Value;

/// One benchmark's result.
struct Result {
    /// Nanoseconds per iteration (slope, else mean).
    time: f64,
    /// 95% confidence interval of `time`.
    low: f64,
    high: f64,
    median: f64,
    /// Elements per iteration, when a throughput was set.
    elements: Option<f64>,
}

/// How a ratio is read.
enum Cmp {
    /// `a / b`: how many times `b` the benchmark `a` takes.
    Ratio,
    /// `a - b`, in microseconds.
    Diff,
    /// `(a - b) / per`, in nanoseconds: the marginal cost of one of `per` items.
    PerItem(f64),
    /// `(a - b) / c`: the marginal cost `a - b` as a multiple of the benchmark `c`.
    DiffOver(&'static str),
}

/// The comparisons of `BENCHMARKS.md`: (what, a, b, how).
const COMPARISONS: &[(&str, &str, &str, Cmp)] = &[
    (
        "invocation: `#[serverless_handler]` / bare handler",
        "invocation/serverless_handler",
        "invocation/bare",
        Cmp::Ratio,
    ),
    (
        "invocation: time `#[serverless_handler]` adds",
        "invocation/serverless_handler",
        "invocation/bare",
        Cmp::Diff,
    ),
    (
        "invocation, 10 spans + 3 tags + 1 error: annotated / bare",
        "invocation/busy_serverless_handler",
        "invocation/busy_bare",
        Cmp::Ratio,
    ),
    (
        "invocation, 10 spans + 3 tags + 1 error: time added",
        "invocation/busy_serverless_handler",
        "invocation/busy_bare",
        Cmp::Diff,
    ),
    (
        "span, sync: tracing::instrument + tracing-opentelemetry / `#[span]`",
        "span/tracing_otel/sync",
        "span/sdk/sync",
        Cmp::Ratio,
    ),
    (
        "span, sync: the same, layer without location/thread/timings / `#[span]`",
        "span/tracing_otel_lean/sync",
        "span/sdk/sync",
        Cmp::Ratio,
    ),
    (
        "span, sync: raw OpenTelemetry SDK span / `#[span]`",
        "span/otel_raw/sync",
        "span/sdk/sync",
        Cmp::Ratio,
    ),
    (
        "span, sync: `#[span]` cost per span (minus no span)",
        "span/sdk/sync",
        "span/none/sync",
        Cmp::PerItem(100.0),
    ),
    (
        "span, async: tracing::instrument + tracing-opentelemetry / `#[span]`",
        "span/tracing_otel/async",
        "span/sdk/async",
        Cmp::Ratio,
    ),
    (
        "span, async: `#[span]` cost per span (minus no span)",
        "span/sdk/async",
        "span/none/async",
        Cmp::PerItem(100.0),
    ),
    (
        "span, exported: tracing-opentelemetry (batch + flush) / SDK",
        "span_exported/tracing_otel_batch/sync",
        "span_exported/sdk/sync",
        Cmp::Ratio,
    ),
    (
        "span, exported: tracing-opentelemetry (simple) / SDK",
        "span_exported/tracing_otel_simple/sync",
        "span_exported/sdk/sync",
        Cmp::Ratio,
    ),
    (
        "span, exported: raw OpenTelemetry SDK (batch + flush) / SDK",
        "span_exported/otel_raw_batch/sync",
        "span_exported/sdk/sync",
        Cmp::Ratio,
    ),
    (
        "span, exported: all-in cost of one SDK span",
        "span_exported/sdk/sync",
        "span_exported/sdk/no_spans",
        Cmp::PerItem(100.0),
    ),
    (
        "span, exported: `#[span]` all-in / raw OpenTelemetry SDK span (batch + flush)",
        "span_exported/sdk/sync",
        "span_exported/sdk/no_spans",
        Cmp::DiffOver("span_exported/otel_raw_batch/sync"),
    ),
    (
        "peer, 1 span: lambda-otel-lite + otlp-stdout-span-exporter / SDK",
        "peer/otel_lite/1_span",
        "peer/sdk/1_span",
        Cmp::Ratio,
    ),
    (
        "peer, 11 spans: lambda-otel-lite + otlp-stdout-span-exporter / SDK",
        "peer/otel_lite/11_spans",
        "peer/sdk/11_spans",
        Cmp::Ratio,
    ),
    (
        "capture: `capture_exception`, 10 levels / formatting the chain by hand",
        "capture/capture_exception/depth_10",
        "capture/format_chain/depth_10",
        Cmp::Ratio,
    ),
    (
        "capture: 10 levels / 1 level",
        "capture/capture_exception/depth_10",
        "capture/capture_exception/depth_1",
        Cmp::Ratio,
    ),
    (
        "capture, exported: one 10-level capture adds to an invocation",
        "capture_exported/invocation/capture_depth_10",
        "capture_exported/invocation/no_capture",
        Cmp::Diff,
    ),
    (
        "export: cloning the batch / exporting it, 11 spans",
        "export/clone_and_drop/11_spans",
        "export/otlp_json/11_spans",
        Cmp::Ratio,
    ),
    (
        "export: cloning the batch / exporting it, 101 spans",
        "export/clone_and_drop/101_spans",
        "export/otlp_json/101_spans",
        Cmp::Ratio,
    ),
    (
        "export: building the proto structs / exporting, 11 spans",
        "export/to_proto/11_spans",
        "export/otlp_json/11_spans",
        Cmp::Ratio,
    ),
    (
        "export: serde_json of the proto structs / exporting, 11 spans",
        "export/proto_to_json/11_spans",
        "export/otlp_json/11_spans",
        Cmp::Ratio,
    ),
    (
        "capture: one backtrace captured and formatted / one `capture_exception`, 1 level",
        "capture/backtrace/force_capture_and_format",
        "capture/capture_exception/depth_1",
        Cmp::Ratio,
    ),
    (
        "idempotency: `Idempotency::run`, first call (in-memory store) / the function called directly",
        "idempotency/first_run",
        "idempotency/direct",
        Cmp::Ratio,
    ),
    (
        "idempotency: time `run` adds to a first call",
        "idempotency/first_run",
        "idempotency/direct",
        Cmp::PerItem(50.0),
    ),
    (
        "idempotency: `run`, replay (in-memory store) / the function called directly",
        "idempotency/replay",
        "idempotency/direct",
        Cmp::Ratio,
    ),
    (
        "idempotency: a replay's time minus the function's",
        "idempotency/replay",
        "idempotency/direct",
        Cmp::PerItem(50.0),
    ),
    (
        "idempotency: first call, the in-memory store behind `AnyStore` / plain",
        "idempotency/first_run_any_store",
        "idempotency/first_run",
        Cmp::Ratio,
    ),
    (
        "idempotency: replay, the in-memory store behind `AnyStore` / plain",
        "idempotency/replay_any_store",
        "idempotency/replay",
        Cmp::Ratio,
    ),
];

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

fn estimate(estimates: &Value, name: &str) -> Option<(f64, f64, f64)> {
    let e = estimates.get(name)?;
    Some((
        e["point_estimate"].as_f64()?,
        e["confidence_interval"]["lower_bound"].as_f64()?,
        e["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}

/// Every `new/benchmark.json` under `dir`, by full id.
fn collect(dir: &Path, out: &mut BTreeMap<String, Result>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let (Some(meta), Some(estimates)) = (
                read_json(&path.join("benchmark.json")),
                read_json(&path.join("estimates.json")),
            ) else {
                continue;
            };
            let Some(id) = meta["full_id"].as_str() else {
                continue;
            };
            let Some((time, low, high)) =
                estimate(&estimates, "slope").or_else(|| estimate(&estimates, "mean"))
            else {
                continue;
            };
            out.insert(
                id.to_owned(),
                Result {
                    time,
                    low,
                    high,
                    median: estimate(&estimates, "median").map_or(f64::NAN, |m| m.0),
                    elements: meta["throughput"]["Elements"].as_f64(),
                },
            );
        } else {
            collect(&path, out)?;
        }
    }
    Ok(())
}

/// A duration in ns, with a fitting unit.
fn human(ns: f64) -> String {
    if ns.abs() >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns.abs() >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn main() -> io::Result<()> {
    let dir = env::args().nth(1).map_or_else(
        || {
            env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| PathBuf::from("target"), PathBuf::from)
                .join("criterion")
        },
        PathBuf::from,
    );
    let mut results = BTreeMap::new();
    collect(&dir, &mut results)?;
    if results.is_empty() {
        return Err(io::Error::other(format!(
            "no criterion results under {}; run the benches first",
            dir.display()
        )));
    }

    println!("| comparison | result | from |");
    println!("|---|---:|---|");
    for (what, a, b, how) in COMPARISONS {
        let (Some(ra), Some(rb)) = (results.get(*a), results.get(*b)) else {
            continue;
        };
        let over = match how {
            Cmp::DiffOver(c) => match results.get(*c) {
                Some(rc) => Some((*c, rc)),
                None => continue,
            },
            _ => None,
        };
        let (ta, tb) = (human(ra.time), human(rb.time));
        let (value, from) = match how {
            Cmp::Ratio => (
                format!("**{:.2}×**", ra.time / rb.time),
                format!("`{a}` {ta} / `{b}` {tb}"),
            ),
            Cmp::Diff => (
                format!("**{:+.2} µs**", (ra.time - rb.time) / 1e3),
                format!("`{a}` {ta} − `{b}` {tb}"),
            ),
            Cmp::PerItem(n) => (
                format!("**{}**", human((ra.time - rb.time) / n)),
                format!("(`{a}` {ta} − `{b}` {tb}) / {n}"),
            ),
            Cmp::DiffOver(_) => {
                let (c, rc) = over.unwrap_or((b, rb));
                (
                    format!("**{:.2}×**", (ra.time - rb.time) / rc.time),
                    format!("(`{a}` {ta} − `{b}` {tb}) / `{c}` {}", human(rc.time)),
                )
            }
        };
        println!("| {what} | {value} | {from} |");
    }

    println!();
    println!("| benchmark | time [95% CI] | median | per element |");
    println!("|---|---:|---:|---:|");
    for (id, r) in &results {
        let per = r.elements.map_or_else(String::new, |n| human(r.time / n));
        println!(
            "| `{id}` | {} [{} – {}] | {} | {per} |",
            human(r.time),
            human(r.low),
            human(r.high),
            human(r.median)
        );
    }
    Ok(())
}
