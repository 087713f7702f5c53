//! The SDK against the peer a Rust user would pick today for the same job: `lambda-otel-lite`
//! (its traced handler, its `LambdaSpanProcessor` flushed at the end of each invocation, as
//! in its default sync mode) with `otlp-stdout-span-exporter` (one line per invocation: a
//! JSON envelope around the gzipped, base64-encoded OTLP protobuf request).
//!
//! Both run one whole invocation per criterion iteration, in the same process and the same
//! run, and both write to a counting sink: the SDK through `Exporter::Writer`, the peer
//! through its exporter's `output(..)`. Two shapes: the handler's span alone (`1_span`), and
//! the handler's span with 10 children, 5 async and 5 sync (`11_spans`): `#[span]` for the
//! SDK, `#[tracing::instrument]` for the peer, which records spans through
//! `tracing-opentelemetry`.
//!
//! Before timing, each variant's line for one invocation is decoded (the SDK's OTLP/JSON with
//! `opentelemetry-proto`, the peer's envelope with base64, gzip and `opentelemetry-proto`'s
//! protobuf types) and its spans counted; after timing, the lines written are checked
//! against the invocations run. The bytes each writes per invocation are printed.
//!
//! The SDK's `Exporter::OtlpStdout` writes the peer's own envelope format: `sdk_envelope/*`
//! measure it, in a child process of the same run (the SDK is installed once per process, and
//! this one exports OTLP/JSON lines), at the peer's gzip level (both read
//! `OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL`, default 6), to a counting sink; one
//! invocation's envelope of each shape is decoded and its spans counted first, and the lines
//! written are checked against the invocations run after. That process benchmarks the peer
//! again beside the envelope (`otel_lite_beside_envelope/*`), then times the two in rounds,
//! with the envelope's gzip alone, and prints the median ratios to the peer
//! (`peer/interleaved/*`).
//!
//! `cargo bench -p serverless_sdk_benches --bench peer -- --warm-up-time 1 --measurement-time 3`

use std::{
    cell::Cell,
    fmt, io,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, measurement::WallTime};
use lambda_otel_lite::{
    LambdaSpanProcessor, OtlpStdoutSpanExporter, ProcessorMode, TelemetryCompletionHandler,
    create_traced_handler,
};
use lambda_runtime::LambdaEvent;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk_032::trace::SdkTracerProvider;
use otlp_stdout_span_exporter::Output;
use prost::Message as _;
use serde_json::{Value, json};
use serverless_sdk::serverless_handler;
use serverless_sdk_benches::{
    Counter, event, init_sdk, load, load_and_price, price, print_conditions, quantile, runtime,
};
use serverless_sdk_tests::otlp::{Envelope, parse_envelope_line};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;

fn respond(payload: &Value) -> Value {
    let items = payload["items"].as_array().map_or(0, Vec::len);
    json!({ "user": payload["username"], "items": items, "ok": true })
}

// ---- the SDK ----

#[serverless_handler]
async fn sdk_one(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    Ok(respond(&event.payload))
}

#[serverless_handler]
async fn sdk_eleven(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    let total = load_and_price(load, price).await;
    std::hint::black_box(total);
    Ok(respond(&event.payload))
}

// ---- the peer ----

#[tracing::instrument(name = "pricing", skip_all)]
fn peer_price(i: u64) -> u64 {
    std::hint::black_box(i) * 3
}

#[tracing::instrument(name = "db.load", skip_all)]
async fn peer_load(i: u64) -> u64 {
    std::hint::black_box(i) + 1
}

async fn peer_one(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(respond(&event.payload))
}

async fn peer_eleven(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let total = load_and_price(peer_load, peer_price).await;
    std::hint::black_box(total);
    Ok(respond(&event.payload))
}

/// The peer exporter's `output(..)`: counts lines and bytes, keeps the last line when asked.
#[derive(Default)]
struct CountingOutput {
    lines: AtomicU64,
    bytes: AtomicU64,
    keep: Mutex<Option<String>>,
    keeping: std::sync::atomic::AtomicBool,
}

impl CountingOutput {
    /// Starts keeping the lines written; returns the bytes written so far.
    fn start_keeping(&self) -> u64 {
        self.keeping.store(true, Ordering::Relaxed);
        self.bytes.load(Ordering::Relaxed)
    }

    /// Keeps `line` as the last one written, while keeping.
    fn keep_line(&self, line: impl FnOnce() -> String) {
        if self.keeping.load(Ordering::Relaxed) {
            *self
                .keep
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(line());
        }
    }

    /// Stops keeping lines and takes the last one kept; panics naming `what` if none was.
    fn take_kept(&self, what: &str) -> String {
        self.keeping.store(false, Ordering::Relaxed);
        self.keep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| panic!("{what}: nothing written"))
    }
}

impl fmt::Debug for CountingOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CountingOutput")
    }
}

impl Output for CountingOutput {
    fn write_line(&self, line: &str) -> Result<(), opentelemetry_sdk_032::error::OTelSdkError> {
        self.lines.fetch_add(1, Ordering::Relaxed);
        // The line and its newline, as stdout would get them.
        self.bytes
            .fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
        self.keep_line(|| line.to_owned());
        Ok(())
    }

    fn is_pipe(&self) -> bool {
        false
    }
}

/// One envelope line (the peer's or the SDK's), decoded by the test kit: base64, gunzip,
/// then the official protobuf types.
fn decoded_envelope(line: &str) -> Envelope {
    parse_envelope_line(line)
        .unwrap_or_else(|| panic!("not an envelope line: {line}"))
        .unwrap_or_else(|e| panic!("envelope: {e}"))
}

/// The spans in one envelope line.
fn peer_spans(line: &str) -> usize {
    count(&decoded_envelope(line).request)
}

fn count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

fn peer_setup() -> (TelemetryCompletionHandler, Dispatch, Arc<CountingOutput>) {
    use opentelemetry_032::trace::TracerProvider as _;

    let output = Arc::new(CountingOutput::default());
    let exporter = OtlpStdoutSpanExporter::builder()
        .output(Arc::clone(&output) as Arc<dyn Output>)
        .build();
    let processor = LambdaSpanProcessor::builder().exporter(exporter).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(lambda_otel_lite::get_lambda_resource())
        .build();
    let tracer = provider.tracer("bench");
    let completion = TelemetryCompletionHandler::new(Arc::new(provider), None, ProcessorMode::Sync);
    // What `init_telemetry` installs, scoped to the peer's benchmarks instead of global.
    let dispatch = Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry_033::OpenTelemetryLayer::new(tracer)),
    );
    (completion, dispatch, output)
}

/// Benchmarks the SDK's handler with `spans` spans as `peer/{id}`, then checks that every
/// span it created was exported and no export failed. Returns how many invocations ran.
fn bench_sdk(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    id: &str,
    spans: u64,
) -> u64 {
    let tally = Cell::new(0u64);
    let (exported_before, _) = serverless_sdk::export::stats();
    group.bench_function(id, |b| {
        b.to_async(rt).iter_batched(
            || {
                tally.set(tally.get() + spans);
                event()
            },
            |e| async move {
                if spans == 1 {
                    sdk_one(e).await
                } else {
                    sdk_eleven(e).await
                }
            },
            BatchSize::SmallInput,
        );
    });
    let (exported_after, failures) = serverless_sdk::export::stats();
    assert_eq!(failures, 0, "peer/{id}: an export failed");
    assert_eq!(
        exported_after - exported_before,
        tally.get(),
        "peer/{id}: spans created and exported differ"
    );
    tally.get() / spans
}

fn peer(c: &mut Criterion) {
    print_conditions("peer");
    let sdk_written: Arc<Counter> = init_sdk();
    let rt = runtime();
    let (completion, dispatch, output) = peer_setup();
    let peer_one = create_traced_handler("bench", completion.clone(), peer_one);
    let peer_eleven = create_traced_handler("bench", completion, peer_eleven);

    // Each variant exports what it created: decode one invocation's output, count spans.
    for (name, spans) in [("1_span", 1usize), ("11_spans", 11)] {
        let (exported_before, _) = serverless_sdk::export::stats();
        let bytes_before = sdk_written.bytes();
        let out = match spans {
            1 => rt.block_on(sdk_one(event())),
            _ => rt.block_on(sdk_eleven(event())),
        };
        assert!(out.is_ok(), "sdk/{name}: {:?}", out.err());
        let (exported_after, failures) = serverless_sdk::export::stats();
        assert_eq!(failures, 0, "sdk/{name}: an export failed");
        assert_eq!(
            usize::try_from(exported_after - exported_before).unwrap_or(0),
            spans,
            "sdk/{name}: spans exported"
        );
        let sdk_bytes = sdk_written.bytes() - bytes_before;

        let bytes_before = output.start_keeping();
        let out = tracing::dispatcher::with_default(&dispatch, || match spans {
            1 => rt.block_on(peer_one(event())),
            _ => rt.block_on(peer_eleven(event())),
        });
        assert!(out.is_ok(), "otel_lite/{name}: {:?}", out.err());
        let line = output.take_kept(&format!("otel_lite/{name}"));
        assert_eq!(peer_spans(&line), spans, "otel_lite/{name}: spans exported");
        let peer_bytes = output.bytes.load(Ordering::Relaxed) - bytes_before;
        eprintln!(
            "peer/{name}: bytes per invocation: sdk (OTLP/JSON line) {sdk_bytes}, otel_lite (gzip+base64 protobuf envelope) {peer_bytes}"
        );
    }

    let mut group = c.benchmark_group("peer");
    for (name, spans) in [("1_span", 1u64), ("11_spans", 11)] {
        bench_sdk(&mut group, &rt, &format!("sdk/{name}"), spans);
        let handler = if spans == 1 { &peer_one } else { &peer_eleven };
        bench_peer(
            &mut group,
            &rt,
            &(&dispatch, &output, handler),
            &format!("otel_lite/{name}"),
        );
    }
    group.finish();
}

/// The peer's traced handler with what it needs: the `tracing` dispatch its spans go
/// through and the output its exporter writes to.
type Peer<'a, H> = (&'a Dispatch, &'a CountingOutput, &'a H);

/// Benchmarks the peer's handler as `peer/{id}`, then checks that it wrote one line per
/// invocation.
fn bench_peer<H, F>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    (dispatch, output, handler): &Peer<'_, H>,
    id: &str,
) where
    H: Fn(LambdaEvent<Value>) -> F,
    F: std::future::Future,
{
    let invocations = Cell::new(0u64);
    let lines_before = output.lines.load(Ordering::Relaxed);
    group.bench_function(id, |b| {
        tracing::dispatcher::with_default(dispatch, || {
            b.to_async(rt).iter_batched(
                || {
                    invocations.set(invocations.get() + 1);
                    event()
                },
                handler,
                BatchSize::SmallInput,
            );
        });
    });
    assert_eq!(
        output.lines.load(Ordering::Relaxed) - lines_before,
        invocations.get(),
        "peer/{id}: one line per invocation"
    );
}

/// Set in the child process that exports the same invocations over OTLP/HTTP.
const OTLP_CHILD: &str = "PEER_BENCH_OTLP_ENDPOINT";

/// The child: the SDK with its OTLP/HTTP exporter, one invocation of each shape.
fn otlp_child(endpoint: String) {
    use serverless_sdk::{Config, export::Exporter};
    assert!(serverless_sdk::init(Config::from_env().with_exporter(
        Exporter::Otlp {
            endpoint: Some(endpoint)
        }
    )));
    let rt = runtime();
    for spans in [1, 11] {
        let out = if spans == 1 {
            rt.block_on(sdk_one(event()))
        } else {
            rt.block_on(sdk_eleven(event()))
        };
        assert!(out.is_ok(), "{out:?}");
    }
    let (exported, failures) = serverless_sdk::export::stats();
    assert_eq!((exported, failures), (12, 0), "OTLP/HTTP exports");
}

/// The bytes of the SDK's OTLP/HTTP protobuf bodies for the same two invocations: a child
/// process exports them to the test kit's OTLP receiver, and each body's size is that of
/// the decoded request encoded again (protobuf has one encoding of a message whose default
/// fields are left out, as both encoders do).
fn otlp_sizes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let receiver = serverless_sdk_tests::otlp::OtlpReceiver::start()
            .await
            .unwrap_or_else(|e| panic!("OTLP receiver: {e}"));
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
        let status = tokio::process::Command::new(exe)
            .env(OTLP_CHILD, receiver.endpoint())
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .status()
            .await
            .unwrap_or_else(|e| panic!("child: {e}"));
        assert!(status.success(), "the OTLP/HTTP child failed: {status}");
        let requests = receiver.export_requests();
        assert_eq!(requests.len(), 2, "one OTLP/HTTP request per invocation");
        for (request, spans) in requests.iter().zip([1, 11]) {
            assert_eq!(count(request), spans, "OTLP/HTTP spans exported");
            eprintln!(
                "peer/{spans}_span(s): bytes per invocation: sdk (OTLP/HTTP protobuf body) {}",
                request.encoded_len()
            );
        }
    });
}

/// Set in the child process that measures the SDK's envelope exporter.
const ENVELOPE_CHILD: &str = "PEER_BENCH_SDK_ENVELOPE";

/// The SDK's envelope lines: counts lines and bytes, keeps the last line when asked.
#[derive(Clone, Default)]
struct KeepingSink(Arc<CountingOutput>);

impl io::Write for KeepingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = &self.0;
        out.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        // One line per write, ending in its newline (the peer's output is counted per line
        // too, without looking at its bytes).
        out.lines
            .fetch_add(u64::from(buf.last() == Some(&b'\n')), Ordering::Relaxed);
        out.keep_line(|| String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The child: the SDK with `Exporter::OtlpStdoutWriter`, the `sdk_envelope/*` benchmarks.
fn envelope_child(c: &mut Criterion) {
    use serverless_sdk::{Config, export::Exporter};
    let sink = KeepingSink::default();
    let output = Arc::clone(&sink.0);
    assert!(serverless_sdk::init(Config::from_env().with_exporter(
        Exporter::OtlpStdoutWriter(Arc::new(Mutex::new(sink)))
    )));
    let rt = runtime();
    let mut payloads = Vec::new();
    for (name, spans) in [("1_span", 1usize), ("11_spans", 11)] {
        let bytes_before = output.start_keeping();
        let out = match spans {
            1 => rt.block_on(sdk_one(event())),
            _ => rt.block_on(sdk_eleven(event())),
        };
        assert!(out.is_ok(), "sdk_envelope/{name}: {:?}", out.err());
        let line = output.take_kept(&format!("sdk_envelope/{name}"));
        assert_eq!(
            peer_spans(&line),
            spans,
            "sdk_envelope/{name}: spans exported"
        );
        payloads.push(decoded_envelope(&line).protobuf);
        eprintln!(
            "peer/{name}: bytes per invocation: sdk (otlp-stdout envelope) {}",
            output.bytes.load(Ordering::Relaxed) - bytes_before
        );
    }
    // The peer again, benchmarked beside the envelope in this process, so that the two are
    // compared under the same conditions, and then interleaved with it.
    let (completion, dispatch, peer_output) = peer_setup();
    let peer_one = create_traced_handler("bench", completion.clone(), peer_one);
    let peer_eleven = create_traced_handler("bench", completion, peer_eleven);
    let mut group = c.benchmark_group("peer");
    for (name, spans) in [("1_span", 1u64), ("11_spans", 11)] {
        let lines_before = output.lines.load(Ordering::Relaxed);
        let invocations = bench_sdk(&mut group, &rt, &format!("sdk_envelope/{name}"), spans);
        assert_eq!(
            output.lines.load(Ordering::Relaxed) - lines_before,
            invocations,
            "peer/sdk_envelope/{name}: one line per invocation"
        );
        let handler = if spans == 1 { &peer_one } else { &peer_eleven };
        let id = format!("otel_lite_beside_envelope/{name}");
        bench_peer(&mut group, &rt, &(&dispatch, &peer_output, handler), &id);
    }
    group.finish();
    for ((name, spans), payload) in [("1_span", 1), ("11_spans", 11)].into_iter().zip(&payloads) {
        let handler = if spans == 1 { &peer_one } else { &peer_eleven };
        interleaved(
            &rt,
            (name, spans, payload),
            &(&dispatch, &peer_output, handler),
        );
    }
}

/// The envelope against the peer in rounds: each round times a run of the SDK's invocations,
/// a run of the peer's and a run of the envelope's gzip alone (libdeflate at the same level,
/// on the protobuf request one invocation exported), in an order that rotates, so all three
/// see the same machine and each goes first equally often; after one untimed round, prints
/// the median of the rounds' ratios to the peer and their range. `PEER_INTERLEAVED_ROUNDS`
/// (a multiple of 3, default 33; 3 under `--test`) and `PEER_INTERLEAVED_INVOCATIONS` (per
/// run, default 1,000; 10 under `--test`) change the counts.
fn interleaved<H, F>(
    rt: &tokio::runtime::Runtime,
    (name, spans, payload): (&str, u64, &[u8]),
    (dispatch, output, handler): &Peer<'_, H>,
) where
    H: Fn(LambdaEvent<Value>) -> F,
    F: std::future::Future,
{
    let rounds = serverless_sdk_benches::rounds("PEER_INTERLEAVED_ROUNDS", 3, 33);
    let per_round = serverless_sdk_benches::rounds("PEER_INTERLEAVED_INVOCATIONS", 10, 1_000);
    let mut time_sdk = || {
        let events: Vec<_> = (0..per_round).map(|_| event()).collect();
        let start = std::time::Instant::now();
        rt.block_on(async {
            for e in events {
                let out = if spans == 1 {
                    sdk_one(e).await
                } else {
                    sdk_eleven(e).await
                };
                std::hint::black_box(out.is_ok());
            }
        });
        start.elapsed().as_secs_f64()
    };
    let mut time_peer = || {
        let events: Vec<_> = (0..per_round).map(|_| event()).collect();
        tracing::dispatcher::with_default(dispatch, || {
            let start = std::time::Instant::now();
            rt.block_on(async {
                for e in events {
                    std::hint::black_box(handler(e).await);
                }
            });
            start.elapsed().as_secs_f64()
        })
    };
    // The level as the SDK reads it: 0–9, 6 when unset or unreadable.
    let level = std::env::var("OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL")
        .ok()
        .and_then(|l| l.parse::<i32>().ok())
        .map_or(6, |l| l.clamp(0, 9));
    let mut compressor = libdeflater::Compressor::new(
        libdeflater::CompressionLvl::new(level).unwrap_or_else(|e| panic!("level: {e:?}")),
    );
    let mut zipped = vec![0; compressor.gzip_compress_bound(payload.len())];
    let mut time_gzip = || {
        let start = std::time::Instant::now();
        for _ in 0..per_round {
            let written = compressor.gzip_compress(payload, &mut zipped);
            std::hint::black_box(written.unwrap_or_else(|e| panic!("gzip: {e:?}")));
        }
        start.elapsed().as_secs_f64()
    };
    let (exported_before, _) = serverless_sdk::export::stats();
    let lines_before = output.lines.load(Ordering::Relaxed);
    let mut timers: [&mut dyn FnMut() -> f64; 3] = [&mut time_sdk, &mut time_peer, &mut time_gzip];
    for timer in timers.iter_mut() {
        timer();
    }
    let (mut envelope, mut gzip) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // [sdk, peer, gzip], started from `round % 3`.
        let mut took = [0.0; 3];
        for k in 0..3 {
            let which = (round + k) % 3;
            took[which] = timers[which]();
        }
        envelope.push(took[0] / took[1]);
        gzip.push(took[2] / took[1]);
    }
    let invocations = (rounds + 1) as u64 * per_round as u64;
    let (exported_after, failures) = serverless_sdk::export::stats();
    assert_eq!(failures, 0, "interleaved/{name}: an export failed");
    assert_eq!(
        exported_after - exported_before,
        invocations * spans,
        "interleaved/{name}: spans created and exported differ"
    );
    assert_eq!(
        output.lines.load(Ordering::Relaxed) - lines_before,
        invocations,
        "interleaved/{name}: the peer wrote one line per invocation"
    );
    let summary = |ratios: &mut Vec<f64>| {
        ratios.sort_by(f64::total_cmp);
        format!(
            "median {:.2}x (from {:.2}x to {:.2}x)",
            quantile(ratios, 0.5),
            quantile(ratios, 0.0),
            quantile(ratios, 1.0)
        )
    };
    eprintln!(
        "peer/interleaved/{name}: {rounds} rounds of {per_round} invocations each, against otel_lite: sdk_envelope {}; its gzip alone ({} B of protobuf, level {level}) {}",
        summary(&mut envelope),
        payload.len(),
        summary(&mut gzip)
    );
}

/// Runs the `sdk_envelope/*` benchmarks in a child process with this process's arguments.
fn envelope_benches() {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(ENVELOPE_CHILD, "1")
        .status()
        .unwrap_or_else(|e| panic!("envelope child: {e}"));
    assert!(status.success(), "the envelope child failed: {status}");
}

criterion_group!(benches, peer);
criterion_group!(envelope, envelope_child);

fn main() {
    if let Ok(endpoint) = std::env::var(OTLP_CHILD) {
        otlp_child(endpoint);
        return;
    }
    if std::env::var_os(ENVELOPE_CHILD).is_some() {
        envelope();
        Criterion::default().configure_from_args().final_summary();
        return;
    }
    otlp_sizes();
    benches();
    Criterion::default().configure_from_args().final_summary();
    envelope_benches();
}
