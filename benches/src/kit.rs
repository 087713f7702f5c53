//! The shared code of the benchmarks (with the `sdk` feature).

use std::{
    error::Error,
    fmt,
    io::{self, Write},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use lambda_runtime::{Context, LambdaEvent};
use serverless_sdk::{Config, export::Exporter, export::SharedWriter};

/// The request id of every benchmarked invocation.
pub const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// The X-Ray header Lambda sends with it (sampled).
pub const XRAY_TRACE_ID: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// The function ARN Lambda sends with it.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bench";

/// A Lambda context as the runtime builds it: request id, ARN, X-Ray header, and a deadline
/// 15 minutes away (Lambda's longest timeout), so that the SDK's timeout watchdog is armed
/// exactly as in production but never fires.
#[must_use]
pub fn context() -> Context {
    let deadline = SystemTime::now() + Duration::from_secs(15 * 60);
    let mut ctx = Context::default();
    ctx.request_id = REQUEST_ID.to_owned();
    ctx.deadline = u64::try_from(
        deadline
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    ctx.invoked_function_arn = FUNCTION_ARN.to_owned();
    ctx.xray_trace_id = Some(XRAY_TRACE_ID.to_owned());
    ctx
}

/// A small direct-invocation payload, as a JSON value.
#[must_use]
pub fn payload() -> serde_json::Value {
    serde_json::json!({
        "username": "bob",
        "plan": "free",
        "items": [{ "sku": "A-1", "qty": 2 }, { "sku": "B-7", "qty": 1 }],
    })
}

/// `payload()` with `context()`, as the runtime hands it to a handler.
#[must_use]
pub fn event() -> LambdaEvent<serde_json::Value> {
    LambdaEvent::new(payload(), context())
}

/// The runtime `#[tokio::main(flavor = "current_thread")]` builds: one thread, I/O and time
/// drivers enabled (the SDK's timeout watchdog needs the timer).
///
/// # Panics
///
/// If tokio cannot build a runtime (out of file descriptors).
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
}

/// The sum of `iters` timings by `timed`, for criterion's `iter_custom`: each call times its
/// own part and may do untimed work (flushing, counting) after it.
pub fn summed(iters: u64, mut timed: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| timed()).sum()
}

/// Bytes and writes that reached a [`CountingSink`].
#[derive(Debug, Default)]
pub struct Counter {
    bytes: AtomicU64,
    writes: AtomicU64,
}

impl Counter {
    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// `write` calls so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

/// `std::io::sink()` that also counts what it swallows (two relaxed atomic adds per write),
/// so that a benchmark can check that telemetry really was serialised and written.
#[derive(Debug, Clone, Default)]
pub struct CountingSink(Arc<Counter>);

impl CountingSink {
    /// A new sink and its counter.
    #[must_use]
    pub fn new() -> (Self, Arc<Counter>) {
        let counter = Arc::new(Counter::default());
        (Self(Arc::clone(&counter)), counter)
    }

    /// The sink as the shared writer the SDK's exporter takes.
    #[must_use]
    pub fn shared(self) -> SharedWriter {
        Arc::new(Mutex::new(self))
    }
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.0.writes.fetch_add(1, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sets the SDK up as a function would at cold start, from the environment, with the
/// default exporter (one OTLP/JSON line per invocation) writing to a [`CountingSink`]
/// instead of stdout. Returns the sink's counter.
///
/// # Panics
///
/// If the SDK was set up already in this process.
#[must_use]
pub fn init_sdk() -> Arc<Counter> {
    let (sink, counter) = CountingSink::new();
    let fresh =
        serverless_sdk::init(Config::from_env().with_exporter(Exporter::Writer(sink.shared())));
    assert!(fresh, "the SDK was set up twice in one benchmark process");
    counter
}

/// A sync span's worth of work: `pricing`, a child span of the invocation.
#[serverless_sdk::span("pricing")]
pub fn price(i: u64) -> u64 {
    std::hint::black_box(i) * 3
}

/// An async span's worth of work: `db.load`, a child span of the invocation.
#[serverless_sdk::span("db.load")]
pub async fn load(i: u64) -> u64 {
    std::hint::black_box(i) + 1
}

/// The ten child spans' worth of work of the benchmarks' busier handlers: `load` five times
/// (async), then `price` five times (sync), summed. Each benchmark passes its own pair: bare,
/// under `#[span]`, or under `tracing::instrument`.
pub async fn load_and_price<F>(load: impl Fn(u64) -> F, price: impl Fn(u64) -> u64) -> u64
where
    F: Future<Output = u64>,
{
    let mut total = 0;
    for i in 0..5 {
        total += load(i).await;
    }
    for i in 0..5 {
        total += price(i);
    }
    total
}

/// The three tags of the benchmarks' busier handlers, one of them with custom JSON.
pub fn tag_customer() {
    serverless_sdk::tag_event(
        "customer-id",
        "42",
        serde_json::json!({ "demoUser": "true" }),
    );
    serverless_sdk::tag_event("plan", "free", None);
    serverless_sdk::tag_event("region", "eu-west-1", None);
}

/// Whether `capture_exception` captures (and symbolises) a backtrace in this process: when
/// `RUST_LIB_BACKTRACE`, or failing that `RUST_BACKTRACE`, is set and not `0`. It changes the
/// cost of a capture by two orders of magnitude, so every benchmark prints it; the numbers in
/// `BENCHMARKS.md` are without (`env -u RUST_BACKTRACE`), as on Lambda by default.
#[must_use]
pub fn backtraces_enabled() -> bool {
    std::backtrace::Backtrace::capture().status() == std::backtrace::BacktraceStatus::Captured
}

/// How many rounds a benchmark that runs its own harness makes: the number in the variable
/// `var` when it holds one, else `quick` under `--test` (`cargo bench -- --test`, as CI runs
/// the benchmarks) and `full` otherwise.
#[must_use]
pub fn rounds(var: &str, quick: usize, full: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| {
            if std::env::args().any(|arg| arg == "--test") {
                quick
            } else {
                full
            }
        })
}

/// Prints the conditions a benchmark runs under (cores, backtraces) to stderr.
pub fn print_conditions(bench: &str) {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let backtraces = if backtraces_enabled() {
        "ON (RUST_BACKTRACE / RUST_LIB_BACKTRACE set): error captures include a backtrace"
    } else {
        "off"
    };
    eprintln!("{bench}: {cores} cores, backtraces {backtraces}");
}

/// One level of an error chain: `level {n} failed`, caused by the next level.
#[derive(Debug)]
pub struct ChainError {
    level: usize,
    source: Option<Box<ChainError>>,
}

impl ChainError {
    /// An error with `depth` levels in all: itself and `depth - 1` sources.
    #[must_use]
    pub fn new(depth: usize) -> Self {
        let mut error = Self {
            level: depth.saturating_sub(1),
            source: None,
        };
        for level in (0..depth.saturating_sub(1)).rev() {
            error = Self {
                level,
                source: Some(Box::new(error)),
            };
        }
        error
    }

    /// How many errors the chain holds, this one included.
    #[must_use]
    pub fn depth(&self) -> usize {
        1 + self.source.as_ref().map_or(0, |s| s.depth())
    }
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "level {} failed while loading order 42 for customer bob",
            self.level
        )
    }
}

impl Error for ChainError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn Error + 'static))
    }
}

/// What a user would write to log an error chain by hand: every level's `Display`, joined.
#[must_use]
pub fn format_chain(error: &(dyn Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The value at quantile `q` (0 the least, 0.5 the median, 1 the greatest) of `sorted`, which
/// is sorted ascending: the nearest rank, so the median of an odd count is its middle value.
/// The default value for an empty slice.
///
/// ```
/// use serverless_sdk_benches::quantile;
///
/// assert_eq!(quantile(&[1, 2, 3, 4, 5], 0.5), 3);
/// assert_eq!(quantile(&[1.0, 2.0, 9.0], 1.0), 9.0);
/// assert_eq!(quantile::<u32>(&[], 0.5), 0);
/// ```
#[must_use]
pub fn quantile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    let last = sorted.len().saturating_sub(1);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
    sorted.get(index.min(last)).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_have_the_requested_depth() {
        assert_eq!(ChainError::new(1).depth(), 1);
        assert_eq!(ChainError::new(10).depth(), 10);
        assert!(format_chain(&ChainError::new(3)).contains("level 2 failed"));
    }

    #[test]
    fn the_context_has_a_deadline_in_the_future() {
        let ctx = context();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        assert!(u128::from(ctx.deadline) > now + 60_000);
        assert_eq!(ctx.request_id, REQUEST_ID);
    }

    #[test]
    fn the_sink_counts() {
        let (mut sink, counter) = CountingSink::new();
        sink.write_all(b"abc").unwrap();
        assert_eq!((counter.bytes(), counter.writes()), (3, 1));
    }
}
