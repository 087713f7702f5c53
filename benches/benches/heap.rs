//! No heap growth across invocations: live heap bytes after 1,000 invocations and after
//! 100,000 (each with 10 spans, 3 tags, one captured error and an endpoint) must be equal
//! within `BOUND` bytes. Also reports what one invocation and one span allocate.
//!
//! Counts with a counting global allocator (`stats_alloc`), so it runs as its own process:
//!
//! `cargo bench -p serverless_sdk_benches --bench heap` (100,000 invocations; a few seconds)
//! `cargo bench -p serverless_sdk_benches --bench heap -- --test` (2,000; what CI runs)
//!
//! Exits with a panic when the live heap grew by more than `BOUND`.

use std::{alloc::System, convert::Infallible, hint::black_box, io, time::Instant};

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use serverless_sdk::{capture_exception, serverless_handler, set_endpoint};
use serverless_sdk_benches::{
    ChainError, context, event, init_sdk, load, load_and_price, price, print_conditions, runtime,
    tag_customer,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The largest growth of the live heap tolerated between the two measurements.
const BOUND: i64 = 1024;

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    set_endpoint("/orders/{id}");
    tag_customer();
    let total = load_and_price(load, price).await;
    capture_exception(&ChainError::new(3));
    Ok(json!({ "user": event.payload["username"], "total": total }))
}

/// An invocation with `event.payload` spans and nothing else; returns the allocations
/// (and reallocations) made while the spans ran, before the invocation's export.
#[serverless_handler]
async fn spans(event: LambdaEvent<u64>) -> Result<usize, Infallible> {
    let region = Region::new(GLOBAL);
    for i in 0..event.payload {
        black_box(price(i));
    }
    let change = region.change();
    Ok(change.allocations + change.reallocations)
}

/// Bytes allocated and not freed so far. (`stats_alloc` already counts the growth and
/// shrinking of reallocations in `bytes_allocated` and `bytes_deallocated`;
/// `bytes_reallocated` is the same amount again, net.)
fn live_bytes() -> i64 {
    let s = GLOBAL.stats();
    let allocated = i64::try_from(s.bytes_allocated).unwrap_or(i64::MAX);
    let freed = i64::try_from(s.bytes_deallocated).unwrap_or(i64::MAX);
    allocated - freed
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let (warm, total): (u64, u64) = if quick {
        (1_000, 2_000)
    } else {
        (1_000, 100_000)
    };
    print_conditions("heap");
    let written = init_sdk();
    let rt = runtime();
    let invoke = |n: u64| {
        for _ in 0..n {
            let out = rt.block_on(handler(event()));
            assert!(out.is_ok(), "{:?}", out.err());
        }
    };

    invoke(warm);
    let live_warm = live_bytes();
    let bytes_warm = written.bytes();
    let region = Region::new(GLOBAL);
    let start = Instant::now();
    invoke(total - warm);
    let elapsed = start.elapsed();
    let change = region.change();
    let live_total = live_bytes();
    let runs = total - warm;
    let growth = live_total - live_warm;
    let written_per_run = (written.bytes() - bytes_warm) as f64 / runs as f64;

    // What one span allocates: an invocation with 100 spans against one with none.
    let per_invocation = |n: u64| {
        let _ = rt.block_on(spans(LambdaEvent::new(n, context())));
        let region = Region::new(GLOBAL);
        let mut recording = 0;
        for _ in 0..100 {
            recording += rt
                .block_on(spans(LambdaEvent::new(n, context())))
                .unwrap_or_else(|e| panic!("the handler failed: {e:?}"));
        }
        let c = region.change();
        (
            (c.allocations + c.reallocations) as f64 / 100.0,
            c.bytes_allocated as f64 / 100.0,
            recording as f64 / 100.0,
        )
    };
    let (allocs_0, bytes_0, _) = per_invocation(0);
    let (allocs_100, bytes_100, recording_100) = per_invocation(100);

    println!(
        "heap: {warm} invocations, then {runs} more in {elapsed:.2?} (10 spans, 3 tags, 1 captured error, an endpoint each)"
    );
    println!(
        "heap: live bytes after {warm}: {live_warm}; after {total}: {live_total}; growth: {growth} bytes (bound {BOUND})"
    );
    println!(
        "heap: per invocation: {:.1} allocations (+{:.1} reallocations), {:.0} bytes allocated, {written_per_run:.0} bytes of OTLP/JSON written",
        change.allocations as f64 / runs as f64,
        change.reallocations as f64 / runs as f64,
        change.bytes_allocated as f64 / runs as f64,
    );
    println!(
        "heap: empty invocation: {allocs_0:.1} allocations and reallocations, {bytes_0:.0} bytes; each span adds {:.2} and {:.0} bytes, of which {:.2} allocations while it runs, the rest in conversion and export",
        (allocs_100 - allocs_0) / 100.0,
        (bytes_100 - bytes_0) / 100.0,
        recording_100 / 100.0,
    );
    assert!(
        growth.abs() <= BOUND,
        "the live heap grew by {growth} bytes across {runs} invocations"
    );
    let (_, failures) = serverless_sdk::export::stats();
    assert_eq!(failures, 0, "an export failed");
}
