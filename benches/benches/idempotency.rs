//! `Idempotency::run` with the in-memory store against calling the function directly, per
//! call, inside an invocation (the `idempotency` span is recorded, as in production):
//!
//! * `idempotency/direct`: the function alone: it builds an order response (a small JSON
//!   object), what the idempotent variants run or replay.
//! * `idempotency/first_run`: `run` with a key not seen before: the event as JSON, its key
//!   hashed (SHA-256), the key claimed, the function run inside the `idempotency` span, its
//!   response serialised and the record completed.
//! * `idempotency/replay`: `run` with a key already completed: the key hashed, the claim
//!   refused with the stored record, the stored response deserialised, a `replayed` span.
//! * `idempotency/first_run_any_store`, `idempotency/replay_any_store`: the same with the
//!   in-memory store behind `AnyStore` (the store chosen at run time, its futures boxed).
//!
//! `K` = 50 calls per invocation, each with its own event and key, only the calls timed
//! (`iter_custom`). `first_run` empties the store before each invocation (untimed), so each
//! call finds its key new and the store never grows; `replay` uses a store where the `K`
//! keys were completed once before the measurement. At the end the function's runs are
//! checked: `K` per `first_run` and `direct` invocation, none for `replay`.
//!
//! `cargo bench -p serverless_sdk_benches --bench idempotency -- --warm-up-time 1 --measurement-time 3`

use std::{
    cell::Cell,
    convert::Infallible,
    hint::black_box,
    sync::Arc,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use serverless_sdk::{
    idempotency::{AnyStore, Idempotency, IdempotencyError, InMemoryStore, Store},
    serverless_handler,
};
use serverless_sdk_benches::{context, init_sdk, print_conditions, runtime, summed};

/// Calls per invocation.
const K: u64 = 50;

/// How many times `create_order` ran.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// The function made idempotent: builds the order's response.
#[inline(never)]
async fn create_order(order: &Value) -> Result<Value, Infallible> {
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    Ok(json!({
        "orderId": format!("ord_{n:016x}"),
        "customerId": order["customerId"],
        "totalCents": 3448,
        "createdAt": "2026-11-21T11:44:00.000Z",
    }))
}

/// Calls `create_order` for each of `orders`, through `idem` when `event.payload` is true,
/// else directly; returns the time the calls took.
#[serverless_handler]
async fn calls<S: Store + 'static>(
    event: LambdaEvent<bool>,
    idem: &Idempotency<S>,
    orders: &[Value],
) -> Result<Duration, IdempotencyError<Infallible>> {
    let ctx = &event.context;
    let start = Instant::now();
    if event.payload {
        for order in orders {
            black_box(idem.run(order, ctx, || create_order(order)).await?);
        }
    } else {
        for order in orders {
            black_box(
                create_order(order)
                    .await
                    .map_err(IdempotencyError::Function)?,
            );
        }
    }
    Ok(start.elapsed())
}

/// `K` order events, each with its own `orderId`.
fn orders() -> Vec<Value> {
    (0..K)
        .map(|i| {
            json!({
                "orderId": format!("o-{i}"),
                "customerId": "c-42",
                "items": [{ "sku": "TSHIRT-M", "quantity": 2 }, { "sku": "MUG", "quantity": 1 }],
            })
        })
        .collect()
}

fn idempotency<S: Store + 'static>(store: S) -> Idempotency<S> {
    Idempotency::new(store)
        .key_pointer("/orderId")
        .function_name("bench")
}

fn bench(c: &mut Criterion) {
    print_conditions("idempotency");
    let _written = init_sdk();
    let rt = runtime();
    let orders = orders();
    let through_run = |idem: &Idempotency<Arc<InMemoryStore>>| {
        rt.block_on(calls(LambdaEvent::new(true, context()), idem, &orders))
            .unwrap_or_else(|e| panic!("the handler failed: {e:?}"))
    };
    let through_any = |idem: &Idempotency<AnyStore>| {
        rt.block_on(calls(LambdaEvent::new(true, context()), idem, &orders))
            .unwrap_or_else(|e| panic!("the handler failed: {e:?}"))
    };

    let mut group = c.benchmark_group("idempotency");
    group.throughput(Throughput::Elements(K));

    let unused = idempotency(InMemoryStore::new());
    let invocations = Cell::new(0);
    let before = RUNS.load(Ordering::Relaxed);
    group.bench_function("direct", |b| {
        b.iter_custom(|iters| {
            summed(iters, || {
                invocations.set(invocations.get() + 1);
                rt.block_on(calls(LambdaEvent::new(false, context()), &unused, &orders))
                    .unwrap_or_else(|e| panic!("the handler failed: {e:?}"))
            })
        });
    });
    check_runs("direct", before, invocations.get() * K);
    assert!(unused.store().is_empty(), "direct: the store was used");

    // The same store measured plain and behind `AnyStore`, emptied before each invocation.
    let memory = Arc::new(InMemoryStore::new());
    let plain = idempotency(Arc::clone(&memory));
    let any = idempotency(AnyStore::new(Arc::clone(&memory)));
    for (name, any_store) in [("first_run", false), ("first_run_any_store", true)] {
        let invocations = Cell::new(0);
        let before = RUNS.load(Ordering::Relaxed);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                summed(iters, || {
                    memory.clear();
                    invocations.set(invocations.get() + 1);
                    let elapsed = if any_store {
                        through_any(&any)
                    } else {
                        through_run(&plain)
                    };
                    assert_eq!(memory.len() as u64, K, "{name}: a record is missing");
                    elapsed
                })
            });
        });
        check_runs(name, before, invocations.get() * K);
    }

    // The `K` keys completed once, then only replayed.
    let _ = through_run(&plain);
    for (name, any_store) in [("replay", false), ("replay_any_store", true)] {
        let before = RUNS.load(Ordering::Relaxed);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                summed(iters, || {
                    if any_store {
                        through_any(&any)
                    } else {
                        through_run(&plain)
                    }
                })
            });
        });
        check_runs(name, before, 0);
    }
    group.finish();

    let (_, failures) = serverless_sdk::export::stats();
    assert_eq!(failures, 0, "an export failed");
}

/// Asserts that `create_order` ran `expected` times since `before`.
fn check_runs(variant: &str, before: u64, expected: u64) {
    let ran = RUNS.load(Ordering::Relaxed) - before;
    assert_eq!(
        ran, expected,
        "{variant}: the function ran {ran} times, not {expected}"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
