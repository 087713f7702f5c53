//! The "current span" of the running code: a per-thread slot that instrumented futures and
//! span guards set while they run and restore afterwards.
//!
//! Nothing here is a global "current invocation": each future carries its own
//! [`Current`] and installs it only for the duration of its own `poll`, so invocations that
//! run concurrently on one runtime (lambda_runtime's concurrent mode) never see each other.

use std::{
    cell::RefCell,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use super::{Current, Invocation};

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Installs `new` as this thread's current span and returns what was there before.
pub(crate) fn replace(new: Option<Current>) -> Option<Current> {
    CURRENT
        .try_with(|slot| match slot.try_borrow_mut() {
            Ok(mut slot) => std::mem::replace(&mut *slot, new),
            Err(_) => None,
        })
        .unwrap_or(None)
}

/// Makes span `span` of `inv` the current one in place when the slot already holds a span
/// of that same invocation, and returns the span it held; `None` (and nothing changed)
/// otherwise. Entering or leaving a span of the invocation that is already current this
/// way moves no reference count: the slot's reference is the span's.
pub(crate) fn swap_span(inv: &Arc<Invocation>, span: u32) -> Option<u32> {
    CURRENT
        .try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            let cur = slot.as_mut().filter(|c| Arc::ptr_eq(&c.inv, inv))?;
            Some(std::mem::replace(&mut cur.span, span))
        })
        .ok()
        .flatten()
}

/// Runs `f` with this thread's current span, or `None` outside any invocation.
pub(crate) fn with<R>(f: impl FnOnce(Option<&Current>) -> R) -> R {
    let mut f = Some(f);
    let ran = CURRENT.try_with(|slot| {
        let cur = slot.try_borrow().ok()?;
        f.take().map(|f| f(cur.as_ref()))
    });
    if let Ok(Some(result)) = ran {
        return result;
    }
    // The thread is shutting down or the slot is being replaced: no current span.
    match f.take() {
        Some(f) => f(None),
        None => unreachable!("the closure ran and produced a result"),
    }
}

/// A clone of this thread's current span.
pub(crate) fn get() -> Option<Current> {
    with(|c| c.cloned())
}

/// Runs `f` with `current` as this thread's current span, then puts back what was there
/// before, also when `f` unwinds.
pub(crate) fn scoped<R>(current: Option<Current>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Option<Current>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                drop(replace(previous));
            }
        }
    }
    let _restore = Restore(Some(replace(current)));
    f()
}

/// Restores the previous current span when dropped, also when a poll unwinds.
struct Restore<'a> {
    slot: &'a mut Option<Current>,
    prev: Option<Option<Current>>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            *self.slot = replace(prev);
        }
    }
}

/// Runs `f` with `slot` moved in as the current span, then moves what is current back into
/// `slot` and puts back what was there before, also when `f` unwinds. Unlike [`scoped`],
/// no reference is cloned or dropped.
pub(crate) fn run_in<R>(slot: &mut Option<Current>, f: impl FnOnce() -> R) -> R {
    let prev = replace(slot.take());
    let _restore = Restore {
        slot,
        prev: Some(prev),
    };
    f()
}

/// Polls `fut` with `slot` installed as the current span, then takes it back.
pub(crate) fn poll_in<F: Future>(
    slot: &mut Option<Current>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    run_in(slot, || fut.poll(cx))
}

pin_project_lite::pin_project! {
    /// A future that runs with a given span as the current one on every poll.
    ///
    /// Returned by [`FutureExt::in_current_span`](crate::FutureExt::in_current_span), which
    /// is how a span and its invocation follow a future into `tokio::spawn`.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithCurrent<F> {
        #[pin]
        inner: F,
        current: Option<Current>,
    }
}

impl<F> WithCurrent<F> {
    pub(crate) fn new(inner: F, current: Option<Current>) -> Self {
        Self { inner, current }
    }
}

impl<F: Future> Future for WithCurrent<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        poll_in(this.current, this.inner, cx)
    }
}

pin_project_lite::pin_project! {
    /// Polls the handler's future inside its invocation and turns a panic during any poll
    /// into an `Err` carrying the panic payload.
    pub(crate) struct CatchUnwindIn<F> {
        #[pin]
        inner: F,
        current: Option<Current>,
    }
}

impl<F> CatchUnwindIn<F> {
    pub(crate) fn new(inner: F, current: Option<Current>) -> Self {
        Self { inner, current }
    }
}

/// The payload of a caught panic.
pub(crate) type PanicPayload = Box<dyn std::any::Any + Send + 'static>;

impl<F: Future> Future for CatchUnwindIn<F> {
    type Output = Result<F::Output, PanicPayload>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (slot, inner) = (this.current, this.inner);
        match catch_unwind(AssertUnwindSafe(|| poll_in(slot, inner, cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
