//! One span: `#[span]` (sync and async) against `#[tracing::instrument]` with
//! `tracing-opentelemetry`, against a raw OpenTelemetry SDK span, against no span at all.
//!
//! Every variant does the same thing per criterion iteration: a root span (the SDK's
//! invocation, a `tracing` span, an OpenTelemetry span) with `N` = 100 children, each child
//! around the same tiny function. Every variant exports through the same exporter, the SDK's
//! `OtlpJsonExporter` writing to a sink. Throughput is reported per span.
//!
//! Two groups:
//!
//! * `span`: what the instrumented code pays while it runs: only the loop of 100 spans is
//!   timed (`iter_custom`). Opening and exporting the invocation (SDK) or flushing the batch
//!   processor (OpenTelemetry) happens after the timed part of every iteration, so the next
//!   iteration starts from the same state.
//! * `span_exported`: everything, serialisation included: the whole SDK invocation with its
//!   100 spans, against the root and 100 spans followed by `force_flush` (batch processor), or
//!   exported one by one as they end (simple processor). `sdk/no_spans` is the same SDK
//!   invocation without the 100 spans: `(sdk - sdk/no_spans) / 100` is the all-in cost of one
//!   SDK span.
//!
//! At the end, every variant's exported span count is checked against its iteration count,
//! so that a dropped or unsampled span can never make a variant look cheaper.
//!
//! `cargo bench -p serverless_sdk_benches --bench span -- --warm-up-time 1 --measurement-time 3`

use std::{
    cell::Cell,
    convert::Infallible,
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use lambda_runtime::LambdaEvent;
use opentelemetry::{
    Context,
    trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SdkTracer, SdkTracerProvider, SpanData, SpanExporter},
};
use serverless_sdk::{export::OtlpJsonExporter, serverless_handler, span};
use serverless_sdk_benches::{CountingSink, context, init_sdk, print_conditions, runtime, summed};
use tracing::{Dispatch, Instrument as _};
use tracing_subscriber::layer::SubscriberExt as _;

/// Children per root span.
const N: u64 = 100;

// ---- the instrumented function, four ways ----

#[inline(never)]
fn work(i: u64) -> u64 {
    black_box(i).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[inline(never)]
async fn work_async(i: u64) -> u64 {
    work(i)
}

#[span("work")]
fn work_sdk(i: u64) -> u64 {
    work(i)
}

#[span("work")]
async fn work_sdk_async(i: u64) -> u64 {
    work(i)
}

#[tracing::instrument(name = "work", skip_all)]
fn work_tracing(i: u64) -> u64 {
    work(i)
}

#[tracing::instrument(name = "work", skip_all)]
async fn work_tracing_async(i: u64) -> u64 {
    work(i)
}

/// Times `work` on each of `0..n`, its results kept from the optimiser.
fn time_loop(n: u64, work: impl Fn(u64) -> u64) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        black_box(work(black_box(i)));
    }
    start.elapsed()
}

/// [`time_loop`] for async `work`.
async fn time_loop_async<F: Future<Output = u64>>(n: u64, work: impl Fn(u64) -> F) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        black_box(work(black_box(i)).await);
    }
    start.elapsed()
}

// ---- SDK handlers: one invocation holding `event.payload` spans ----

/// Times only its loop of spans.
#[serverless_handler]
async fn sdk_sync_timed(event: LambdaEvent<u64>) -> Result<Duration, Infallible> {
    Ok(time_loop(event.payload, work_sdk))
}

/// Times only its loop of spans.
#[serverless_handler]
async fn sdk_async_timed(event: LambdaEvent<u64>) -> Result<Duration, Infallible> {
    Ok(time_loop_async(event.payload, work_sdk_async).await)
}

/// Times only its loop of `tracing` spans, recorded by the SDK's `TracingLayer`.
#[serverless_handler]
async fn tracing_layer_timed(event: LambdaEvent<u64>) -> Result<Duration, Infallible> {
    Ok(time_loop(event.payload, work_tracing))
}

/// The whole invocation is timed by the caller.
#[serverless_handler]
async fn sdk_sync(event: LambdaEvent<u64>) -> Result<u64, Infallible> {
    let mut sum = 0u64;
    for i in 0..event.payload {
        sum = sum.wrapping_add(work_sdk(black_box(i)));
    }
    Ok(sum)
}

/// The time an SDK handler measured; a failed handler fails the benchmark rather than
/// counting as zero.
fn handled(out: Result<Duration, lambda_runtime::Diagnostic>) -> Duration {
    out.unwrap_or_else(|e| panic!("the handler failed: {e:?}"))
}

fn spans(n: u64) -> LambdaEvent<u64> {
    LambdaEvent::new(n, context())
}

// ---- OpenTelemetry SDK pipelines with the same exporter ----

/// The SDK's exporter, counting the spans it is given.
#[derive(Debug)]
struct Counted {
    inner: OtlpJsonExporter,
    spans: Arc<AtomicU64>,
}

impl SpanExporter for Counted {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.spans.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.inner.export(batch).await
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Processor {
    /// Exports each span on the thread that ends it.
    Simple,
    /// Queues spans for a background thread (the production default).
    Batch,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// `tracing_opentelemetry::layer()` as is: location, thread and busy/idle attributes.
    Default,
    /// Without location, thread and busy/idle attributes: its cheapest configuration.
    Lean,
}

struct Otel {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    dispatch: Dispatch,
    exported: Arc<AtomicU64>,
    /// Spans the benchmark created, to check against `exported`.
    created: Cell<u64>,
}

impl Otel {
    fn new(processor: Processor, layer: Layer) -> Self {
        let exported = Arc::new(AtomicU64::new(0));
        let (sink, _) = CountingSink::new();
        let exporter = Counted {
            inner: OtlpJsonExporter::new(sink.shared()),
            spans: Arc::clone(&exported),
        };
        let builder = SdkTracerProvider::builder();
        let provider = match processor {
            Processor::Simple => builder.with_simple_exporter(exporter),
            Processor::Batch => builder.with_batch_exporter(exporter),
        }
        .build();
        let tracer = provider.tracer("bench");
        let otel_layer = tracing_opentelemetry::layer().with_tracer(tracer.clone());
        let otel_layer = match layer {
            Layer::Default => otel_layer,
            Layer::Lean => otel_layer
                .with_location(false)
                .with_threads(false)
                .with_tracked_inactivity(false),
        };
        let dispatch = Dispatch::new(tracing_subscriber::registry().with(otel_layer));
        Self {
            provider,
            tracer,
            dispatch,
            exported,
            created: Cell::new(0),
        }
    }

    fn flush(&self) {
        if let Err(e) = self.provider.force_flush() {
            panic!("force_flush failed: {e}");
        }
    }

    /// Benchmarks `run` (a root span with `N` children, returning the time the children
    /// took) as `name` under this pipeline's `tracing` dispatcher, flushing after each; then
    /// checks that every span it created was exported.
    fn bench(
        &self,
        group: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        run: impl Fn(&Self) -> Duration,
    ) {
        group.bench_function(name, |b| {
            tracing::dispatcher::with_default(&self.dispatch, || {
                b.iter_custom(|iters| {
                    summed(iters, || {
                        let elapsed = run(self);
                        self.flush();
                        elapsed
                    })
                });
            });
        });
        self.check(name);
    }

    /// A root `tracing` span with `N` instrumented children; returns the time the children
    /// took.
    fn tracing_sync(&self) -> Duration {
        let root = tracing::info_span!("invocation");
        let elapsed = root.in_scope(|| time_loop(N, work_tracing));
        drop(root);
        self.created.set(self.created.get() + N + 1);
        elapsed
    }

    fn tracing_async(&self, rt: &tokio::runtime::Runtime) -> Duration {
        let root = tracing::info_span!("invocation");
        let elapsed = rt.block_on(time_loop_async(N, work_tracing_async).instrument(root));
        self.created.set(self.created.get() + N + 1);
        elapsed
    }

    /// The same with the OpenTelemetry API directly: `tracer.start` and `end`.
    fn raw(&self) -> Duration {
        let root = self.tracer.start("invocation");
        let cx = Context::current_with_span(root);
        let elapsed = {
            let _attached = cx.clone().attach();
            let start = Instant::now();
            for i in 0..N {
                let mut span = self.tracer.start("work");
                black_box(work(black_box(i)));
                span.end();
            }
            start.elapsed()
        };
        cx.span().end();
        self.created.set(self.created.get() + N + 1);
        elapsed
    }

    fn check(&self, name: &str) {
        self.flush();
        let (created, exported) = (self.created.get(), self.exported.load(Ordering::Relaxed));
        assert_eq!(
            created, exported,
            "{name}: {created} spans created, {exported} exported"
        );
    }
}

/// Counts the SDK's exported spans against the spans a variant created.
struct SdkTally {
    start: u64,
    created: Cell<u64>,
}

impl SdkTally {
    fn new() -> Self {
        Self {
            start: serverless_sdk::export::stats().0,
            created: Cell::new(0),
        }
    }

    fn add(&self, spans: u64) {
        self.created.set(self.created.get() + spans);
    }

    fn check(&self, name: &str) {
        let (spans, failures) = serverless_sdk::export::stats();
        assert_eq!(failures, 0, "{name}: an export failed");
        let exported = spans - self.start;
        let created = self.created.get();
        assert_eq!(
            created, exported,
            "{name}: {created} spans created, {exported} exported"
        );
    }
}

fn in_handler(c: &mut Criterion) {
    print_conditions("span");
    let _written = init_sdk();
    let rt = runtime();
    let default_batch = Otel::new(Processor::Batch, Layer::Default);
    let lean_batch = Otel::new(Processor::Batch, Layer::Lean);

    let mut group = c.benchmark_group("span");
    group.throughput(Throughput::Elements(N));

    group.bench_function("none/sync", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for i in 0..N {
                    black_box(work(black_box(i)));
                }
            }
            start.elapsed()
        });
    });

    bench_timed(&mut group, &rt, "sdk/sync", sdk_sync_timed);

    for (name, otel) in [
        ("tracing_otel/sync", &default_batch),
        ("tracing_otel_lean/sync", &lean_batch),
    ] {
        otel.bench(&mut group, name, Otel::tracing_sync);
    }

    // `tracing::instrument` spans inside an invocation, with the SDK's layer installed in
    // place of tracing-opentelemetry: compare with `tracing_otel/sync`.
    let sdk_layer = Dispatch::new(
        tracing_subscriber::registry()
            .with(serverless_sdk::integrations::tracing::ServerlessTracingLayer::new()),
    );
    tracing::dispatcher::with_default(&sdk_layer, || {
        bench_timed(
            &mut group,
            &rt,
            "tracing_sdk_layer/sync",
            tracing_layer_timed,
        );
    });

    group.bench_function("otel_raw/sync", |b| {
        b.iter_custom(|iters| {
            summed(iters, || {
                let elapsed = default_batch.raw();
                default_batch.flush();
                elapsed
            })
        });
    });
    default_batch.check("otel_raw/sync");

    group.bench_function("none/async", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(time_loop_async(N, work_async));
            }
            total
        });
    });

    bench_timed(&mut group, &rt, "sdk/async", sdk_async_timed);

    default_batch.bench(&mut group, "tracing_otel/async", |otel| {
        otel.tracing_async(&rt)
    });
    group.finish();
}

/// Benchmarks `handler`, an SDK handler that times its own `N` spans, as `span/{id}`; then
/// checks that every span it created was exported.
fn bench_timed<Fut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    id: &str,
    handler: impl Fn(LambdaEvent<u64>) -> Fut,
) where
    Fut: Future<Output = Result<Duration, lambda_runtime::Diagnostic>>,
{
    let tally = SdkTally::new();
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            summed(iters, || {
                let elapsed = handled(rt.block_on(handler(spans(N))));
                tally.add(N + 1);
                elapsed
            })
        });
    });
    tally.check(&format!("span/{id}"));
}

fn exported(c: &mut Criterion) {
    let rt = runtime();
    let batch = Otel::new(Processor::Batch, Layer::Default);
    let simple = Otel::new(Processor::Simple, Layer::Default);

    let mut group = c.benchmark_group("span_exported");
    group.throughput(Throughput::Elements(N));

    let sdk = SdkTally::new();
    group.bench_function("sdk/sync", |b| {
        b.to_async(&rt).iter_batched(
            || {
                sdk.add(N + 1);
                spans(N)
            },
            sdk_sync,
            BatchSize::SmallInput,
        );
    });
    // Per invocation, not per span.
    group.throughput(Throughput::Elements(1));
    group.bench_function("sdk/no_spans", |b| {
        b.to_async(&rt).iter_batched(
            || {
                sdk.add(1);
                spans(0)
            },
            sdk_sync,
            BatchSize::SmallInput,
        );
    });
    sdk.check("span_exported/sdk");
    group.throughput(Throughput::Elements(N));

    group.bench_function("tracing_otel_batch/sync", |b| {
        tracing::dispatcher::with_default(&batch.dispatch, || {
            b.iter(|| {
                black_box(batch.tracing_sync());
                batch.flush();
            });
        });
    });
    batch.check("span_exported/tracing_otel_batch");

    group.bench_function("tracing_otel_simple/sync", |b| {
        tracing::dispatcher::with_default(&simple.dispatch, || {
            b.iter(|| black_box(simple.tracing_sync()));
        });
    });
    simple.check("span_exported/tracing_otel_simple");

    group.bench_function("otel_raw_batch/sync", |b| {
        b.iter(|| {
            black_box(batch.raw());
            batch.flush();
        });
    });
    batch.check("span_exported/otel_raw_batch");
    group.finish();
}

criterion_group!(benches, in_handler, exported);
criterion_main!(benches);
