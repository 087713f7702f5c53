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

use super::close::close_and_export;
use crate::{
    attributes as attr,
    export::When,
    internal_error,
    invocation::{Invocation, Outcome},
    record::{capture::record_exception, report::ErrorReport},
};

static TIMERS_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// A tokio timer, if this runtime has a time driver.
fn timer(after: Duration) -> Option<tokio::time::Sleep> {
    if TIMERS_UNAVAILABLE.load(Ordering::Relaxed) || tokio::runtime::Handle::try_current().is_err()
    {
        return None;
    }
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
    pub(crate) struct Watched<F> {
        #[pin]
        inner: F,
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
        let margin = inv.settings.timeout_margin;
        let sleep = if armed {
            inv.remaining()
                .and_then(|left| timer(left.saturating_sub(margin)))
        } else {
            None
        };
        Self {
            inner,
            sleep,
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
    record_exception(&root, &report, false, Outcome::Timeout);
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    inv.with_span(0, |s| {
        if let Some(event) = s.events.last_mut() {
            event.attributes.extend([
                KeyValue::new(attr::TIMEOUT_BUDGET_MS, millis(budget)),
                KeyValue::new(attr::TIMEOUT_ELAPSED_MS, millis(elapsed)),
            ]);
        }
    });
    inv.state().raise_outcome(Outcome::Timeout);
    close_and_export(inv, When::BeforeResponse).await;
}
