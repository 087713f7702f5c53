//! The timeout watchdog: if an invocation is still running shortly before its deadline, it
//! records a timeout and exports the invocation's telemetry before Lambda stops the
//! process, then lets the invocation go on.

use std::{
    future::Future,
    panic::catch_unwind,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use opentelemetry::KeyValue;
use tokio::runtime::Handle;

use super::close::close_and_export;
use crate::{
    attributes as attr,
    export::When,
    internal_error,
    invocation::{Invocation, Outcome},
    record::{capture::record_exception_with, report::ErrorReport},
};

static TIMERS_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// A timer of `runtime` firing `after` from now, if the runtime has a time driver (once a
/// runtime was found to have none, no timer is tried again).
fn timer(after: Duration, runtime: &Handle) -> Option<tokio::time::Sleep> {
    if TIMERS_UNAVAILABLE.load(Ordering::Relaxed) {
        return None;
    }
    let _entered = runtime.enter();
    match catch_unwind(|| tokio::time::sleep(after)) {
        Ok(sleep) => Some(sleep),
        Err(_) => {
            TIMERS_UNAVAILABLE.store(true, Ordering::Relaxed);
            internal_error::report(
                "config",
                "the tokio runtime has no timer (enable_time); timeouts will not be reported",
            );
            None
        }
    }
}

pin_project_lite::pin_project! {
    /// Runs a future of an invocation under its watchdog.
    ///
    /// The timer is made the first time the future is pending, not when the watch starts:
    /// a handler that completes in its first poll never makes one. It fires at the same
    /// moment either way, the invocation's deadline less the margin (at once if that has
    /// passed), as long as the deadline was still ahead when the watch started.
    pub(crate) struct Watched<F> {
        #[pin]
        inner: F,
        // The runtime to make the timer in, the one current when the watch started; `None`
        // when there is no timer to make (unarmed, no deadline, no runtime).
        due: Option<Handle>,
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        inv: Arc<Invocation>,
        report: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    }
}

impl<F> Watched<F> {
    /// `inner`, watched until `inv`'s deadline less the configured margin when `armed`
    /// (the invocation's opener watches it; whoever joins it does not).
    pub(crate) fn new(inner: F, inv: Arc<Invocation>, armed: bool) -> Self {
        let due =
            if armed && inv.remaining().is_some() && !TIMERS_UNAVAILABLE.load(Ordering::Relaxed) {
                Handle::try_current().ok()
            } else {
                None
            };
        Self {
            inner,
            due,
            sleep: None,
            inv,
            report: None,
        }
    }
}

impl<F: Future> Future for Watched<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        // While the timeout is being exported, the invocation waits: Lambda is about to
        // stop the process, and the report must leave first.
        if let Some(report) = this.report.as_mut() {
            if report.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            *this.report = None;
        }
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out);
        }
        if let Some(runtime) = this.due.take() {
            let left = this.inv.remaining().unwrap_or_default();
            if let Some(sleep) = timer(
                left.saturating_sub(this.inv.settings.timeout_margin),
                &runtime,
            ) {
                this.sleep.set(Some(sleep));
            }
        }
        let fired = this
            .sleep
            .as_mut()
            .as_pin_mut()
            .is_some_and(|sleep| sleep.poll(cx).is_ready());
        if fired {
            this.sleep.set(None);
            let inv = Arc::clone(this.inv);
            let mut report: Pin<Box<dyn Future<Output = ()> + Send>> =
                Box::pin(async move { report_timeout(&inv).await });
            if report.as_mut().poll(cx).is_pending() {
                *this.report = Some(report);
            }
        }
        Poll::Pending
    }
}

/// Records the timeout and pushes the invocation's telemetry out.
async fn report_timeout(inv: &Arc<Invocation>) {
    let now = SystemTime::now();
    let elapsed = now.duration_since(inv.started).unwrap_or_default();
    let budget = (SystemTime::UNIX_EPOCH + Duration::from_millis(inv.deadline_ms))
        .duration_since(inv.started)
        .unwrap_or_default();
    let report = ErrorReport::new(
        "TimeoutError".to_owned(),
        format!(
            "invocation timed out: {} ms elapsed of {} ms",
            elapsed.as_millis(),
            budget.as_millis()
        ),
        Vec::new(),
        None,
        None,
    );
    let root = inv.root();
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    record_exception_with(
        &root,
        &report,
        false,
        Outcome::Timeout,
        [
            KeyValue::new(attr::TIMEOUT_BUDGET_MS, millis(budget)),
            KeyValue::new(attr::TIMEOUT_ELAPSED_MS, millis(elapsed)),
        ],
    );
    inv.state().raise_outcome(Outcome::Timeout);
    close_and_export(inv, When::BeforeResponse).await;
}
