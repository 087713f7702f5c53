//! `capture_exception` on an error with a deep `source()` chain.
//!
//! * `capture`: the cost of the call inside a running invocation, `K` = 50 captures per
//!   invocation (below the 128 events a span keeps, so none is dropped), only the captures
//!   timed; against formatting the same chain by hand (`Display` of every level, joined), the
//!   least a handler logging the error would do.
//! * `backtrace/*`: capturing and formatting a backtrace, which `capture_exception` does
//!   on top when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) is set.
//! * `capture_exported`: a whole invocation (export included) capturing one 10-level error,
//!   against the same invocation capturing nothing.
//!
//! `cargo bench -p serverless_sdk_benches --bench capture -- --warm-up-time 1 --measurement-time 3`

use std::{
    backtrace::Backtrace,
    convert::Infallible,
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lambda_runtime::LambdaEvent;
use serverless_sdk::{capture_exception, serverless_handler};
use serverless_sdk_benches::{
    ChainError, context, format_chain, init_sdk, print_conditions, runtime,
};

/// Captures per invocation.
const K: u64 = 50;

/// Captures `K` times an error `event.payload` levels deep; returns the time it took.
#[serverless_handler]
async fn capture_timed(event: LambdaEvent<usize>) -> Result<Duration, Infallible> {
    let error = ChainError::new(event.payload);
    let start = Instant::now();
    for _ in 0..K {
        capture_exception(black_box(&error));
    }
    Ok(start.elapsed())
}

/// Captures once an error `event.payload` levels deep (none for 0).
#[serverless_handler]
async fn capture_once(event: LambdaEvent<usize>) -> Result<(), Infallible> {
    if event.payload > 0 {
        capture_exception(&ChainError::new(event.payload));
    }
    Ok(())
}

fn depth(levels: usize) -> LambdaEvent<usize> {
    LambdaEvent::new(levels, context())
}

fn capture(c: &mut Criterion) {
    print_conditions("capture");
    let written = init_sdk();
    let rt = runtime();

    // The exported event carries the whole chain.
    let before = written.bytes();
    let _ = rt.block_on(capture_once(depth(0)));
    let empty = written.bytes() - before;
    let before = written.bytes();
    let _ = rt.block_on(capture_once(depth(10)));
    eprintln!(
        "capture: an invocation exports {empty} bytes, {} with one 10-level exception",
        written.bytes() - before
    );

    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Elements(K));
    let chain = ChainError::new(10);
    group.bench_function("format_chain/depth_10", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for _ in 0..K {
                    black_box(format_chain(black_box(&chain)));
                }
            }
            start.elapsed()
        });
    });
    // What a capture costs when backtraces are on (`RUST_BACKTRACE=1`): the SDK captures
    // one and formats it (`Backtrace::capture()` then `to_string()`). `force_capture`
    // measures both halves whatever the environment says.
    group.bench_function("backtrace/force_capture", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters * K {
                drop(black_box(Backtrace::force_capture()));
            }
            start.elapsed()
        });
    });
    group.bench_function("backtrace/force_capture_and_format", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters * K {
                black_box(Backtrace::force_capture().to_string());
            }
            start.elapsed()
        });
    });
    for levels in [1, 10] {
        group.bench_function(format!("capture_exception/depth_{levels}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += rt
                        .block_on(capture_timed(depth(levels)))
                        .unwrap_or_else(|e| panic!("the handler failed: {e:?}"));
                }
                total
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("capture_exported");
    for levels in [0, 10] {
        let name = if levels == 0 {
            "invocation/no_capture".to_owned()
        } else {
            format!("invocation/capture_depth_{levels}")
        };
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter_batched(|| depth(levels), capture_once, BatchSize::SmallInput);
        });
    }
    group.finish();
    let (_, failures) = serverless_sdk::export::stats();
    assert_eq!(failures, 0, "an export failed");
}

criterion_group!(benches, capture);
criterion_main!(benches);
