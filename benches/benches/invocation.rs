//! What `#[serverless_handler]` costs per invocation: the same handler, bare and annotated,
//! measured side by side in one criterion group. The annotated one runs the whole
//! invocation: scope and root span, the handler, the timeout watchdog, conversion to
//! OpenTelemetry spans and OTLP/JSON serialisation, written to a sink.
//!
//! `cargo bench -p serverless_sdk_benches --bench invocation -- --warm-up-time 1 --measurement-time 3`

use std::{hint::black_box, io};

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use serverless_sdk::{capture_exception, serverless_handler};
use serverless_sdk_benches::{
    ChainError, event, init_sdk, load, load_and_price, price, print_conditions, runtime,
    tag_customer,
};

/// The handler's work: read the payload, build a response.
fn respond(payload: &Value) -> Value {
    let items = payload["items"].as_array().map_or(0, Vec::len);
    json!({ "user": payload["username"], "items": items, "ok": true })
}

async fn bare(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    Ok(respond(&event.payload))
}

#[serverless_handler]
async fn annotated(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    Ok(respond(&event.payload))
}

// ---- a busier handler: 10 spans (5 async, 5 sync), 3 tags, one captured error ----

fn price_plain(i: u64) -> u64 {
    black_box(i) * 3
}

async fn load_plain(i: u64) -> u64 {
    black_box(i) + 1
}

fn validate(payload: &Value) -> Result<(), ChainError> {
    if payload["plan"] == "free" {
        Err(ChainError::new(3))
    } else {
        Ok(())
    }
}

async fn busy_bare(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    let total = load_and_price(load_plain, price_plain).await;
    if let Err(e) = validate(&event.payload) {
        black_box(&e);
    }
    black_box(total);
    Ok(respond(&event.payload))
}

#[serverless_handler]
async fn busy(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    tag_customer();
    let total = load_and_price(load, price).await;
    if let Err(e) = validate(&event.payload) {
        capture_exception(&e);
    }
    black_box(total);
    Ok(respond(&event.payload))
}

fn invocation(c: &mut Criterion) {
    print_conditions("invocation");
    let written = init_sdk();
    let rt = runtime();

    // Check that the benchmark measures what it claims: every annotated invocation exports
    // its spans as one line.
    for (name, spans) in [("annotated", 1), ("busy", 11)] {
        let (spans_before, _) = serverless_sdk::export::stats();
        let (bytes_before, writes_before) = (written.bytes(), written.writes());
        let out = match name {
            "annotated" => rt.block_on(annotated(event())),
            _ => rt.block_on(busy(event())),
        };
        assert!(out.is_ok(), "{name}: {:?}", out.err());
        let (spans_after, failures) = serverless_sdk::export::stats();
        assert_eq!(failures, 0, "{name}: an export failed");
        assert_eq!(spans_after - spans_before, spans, "{name}: spans exported");
        assert!(written.writes() > writes_before, "{name}: nothing written");
        eprintln!(
            "invocation/{name}: {spans} spans, {} bytes of OTLP/JSON per invocation",
            written.bytes() - bytes_before
        );
    }

    let mut group = c.benchmark_group("invocation");
    bench(&mut group, &rt, "bare", bare);
    bench(&mut group, &rt, "serverless_handler", annotated);
    bench(&mut group, &rt, "busy_bare", busy_bare);
    bench(&mut group, &rt, "busy_serverless_handler", busy);
    group.finish();
}

/// Benchmarks `handler` as `invocation/{id}`, a fresh event per invocation.
fn bench<F, Fut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    id: &str,
    handler: F,
) where
    F: FnMut(LambdaEvent<Value>) -> Fut + Copy,
    Fut: Future,
{
    group.bench_function(id, |b| {
        b.to_async(rt)
            .iter_batched(event, handler, BatchSize::SmallInput);
    });
}

criterion_group!(benches, invocation);
criterion_main!(benches);
