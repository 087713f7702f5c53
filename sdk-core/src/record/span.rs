//! Spans: `span("label")` guards for sync code, futures that run inside a span, and the
//! handles the `#[span]` macro uses.

use std::{
    borrow::Cow,
    future::{Future, IntoFuture},
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll},
};

use opentelemetry::{KeyValue, trace::Link, trace::SpanKind, trace::Status};

use super::{
    capture::Capture,
    report::{ErrorReport, Site},
};
use crate::{
    attributes as attr,
    invocation::{
        Current,
        current::{self, WithCurrent},
    },
};

/// A started span that is not (or no longer) the current one. Ends when dropped.
#[doc(hidden)]
pub struct SpanHandle {
    pub(crate) cur: Option<Current>,
    cancel_on_drop: bool,
}

impl SpanHandle {
    /// A span that records nothing: outside an invocation, or past the span cap.
    pub(crate) const NONE: Self = Self {
        cur: None,
        cancel_on_drop: false,
    };

    /// Starts a child of the current span.
    pub(crate) fn start(
        name: Cow<'static, str>,
        kind: SpanKind,
        code: Option<(&'static str, &'static str)>,
    ) -> Self {
        let cur = current::with(|c| {
            let c = c?;
            let index = c.inv.start_span(c.span, name, kind, code)?;
            Some(Current {
                inv: c.inv.clone(),
                span: index,
            })
        });
        Self {
            cur,
            cancel_on_drop: false,
        }
    }

    /// Starts a child of `parent` with its attributes and links, flagged cancelled if it is
    /// dropped before [`SpanHandle::close`]: the CONSUMER span of a batch record. Outside
    /// an invocation (`None`) or past the span cap it records nothing.
    #[cfg_attr(not(feature = "batch"), allow(dead_code))]
    pub(crate) fn start_linked(
        parent: Option<&Current>,
        name: Cow<'static, str>,
        kind: SpanKind,
        attributes: Vec<KeyValue>,
        links: Vec<Link>,
    ) -> Self {
        let cur = parent.and_then(|c| {
            let index = c.inv.start_span(c.span, name, kind, None)?;
            c.inv.with_span(index, |span| {
                span.attributes = attributes;
                span.links = links;
            });
            Some(Current {
                inv: c.inv.clone(),
                span: index,
            })
        });
        Self {
            cur,
            cancel_on_drop: true,
        }
    }

    /// Whether this span is being recorded.
    pub(crate) fn is_recording(&self) -> bool {
        self.cur.is_some()
    }

    /// Runs `fut` with this span as the current one on every poll.
    pub fn scope<F: Future>(&self, fut: F) -> WithCurrent<F> {
        WithCurrent::new(fut, self.cur.clone())
    }

    /// Records an error on this span only: status ERROR and an `exception` event. The
    /// invocation's outcome is unchanged.
    pub(crate) fn record_report(&self, report: &ErrorReport, handled: bool) {
        if let Some(c) = &self.cur {
            let event = report.to_event(handled, c.inv.settings);
            let max_events = c.inv.settings.limits.max_events_per_span;
            let backtrace = report.captured_backtrace();
            c.inv.with_span(c.span, |span| {
                span.push_exception(event, backtrace, max_events, !handled);
                span.status = Status::error(report.type_name.clone());
            });
        }
    }

    /// Sets an attribute on this span.
    pub(crate) fn set_attribute(&self, kv: KeyValue) {
        if let Some(c) = &self.cur {
            let max = c.inv.settings.limits.max_attributes_per_span;
            c.inv.with_span(c.span, |span| span.set_attribute(kv, max));
        }
    }

    /// Ends the span after its work completed.
    pub fn close(mut self) {
        self.cancel_on_drop = false;
        self.end();
    }

    fn end(&mut self) {
        if let Some(c) = self.cur.take() {
            c.inv.end_span(c.span);
        }
    }
}

impl Drop for SpanHandle {
    fn drop(&mut self) {
        if self.cancel_on_drop {
            self.set_attribute(KeyValue::new(attr::SPAN_CANCELLED, true));
        }
        self.end();
    }
}

/// Starts a span around the code that follows, until the guard is dropped.
///
/// The Rust twin of the Python SDK's `with span('label'):`. Spans nest: spans started while this
/// guard lives become its children. Outside an invocation it records nothing.
///
/// The guard is deliberately not `Send`: a guard held across `.await` would make every
/// span the executor polls in between its child. For async code, hand the span to the
/// future with [`SpanGuard::instrument`] or use [`FutureExt::in_span`].
///
/// ```
/// use serverless_sdk::span;
///
/// fn checksum(data: &[u8]) -> u32 {
///     let _span = span("checksum");
///     data.iter().map(|b| u32::from(*b)).sum()
/// }
/// assert_eq!(checksum(b"ab"), 195);
///
/// # async fn fetch() -> u32 { 1 }
/// async fn load() -> u32 {
///     span("load").instrument(fetch()).await
/// }
/// ```
#[must_use = "the span ends when the guard is dropped; bind it with `let _span = span(..)`"]
pub fn span(label: impl Into<Cow<'static, str>>) -> SpanGuard {
    SpanGuard::enter(SpanHandle::start(label.into(), SpanKind::Internal, None))
}

/// A span entered as the current one; see [`span`].
#[must_use = "the span ends when the guard is dropped"]
pub struct SpanGuard {
    handle: SpanHandle,
    /// The span that was current before, restored on drop; `None` if nothing was entered.
    prev: Option<Prev>,
    _not_send: PhantomData<*const ()>,
}

/// What a [`SpanGuard`] makes current again when it is dropped.
enum Prev {
    /// Another span of the guard's own invocation, by index. The guard entered its span by
    /// changing the index in the current-span slot, which keeps its reference to the
    /// invocation: entering and leaving the span clone and drop no `Arc`.
    Span(u32),
    /// Anything else: another invocation's span, or none.
    Other(Option<Current>),
}

impl SpanGuard {
    pub(crate) fn enter(handle: SpanHandle) -> Self {
        let prev = handle
            .cur
            .as_ref()
            .map(|c| match current::swap_span(&c.inv, c.span) {
                Some(parent) => Prev::Span(parent),
                None => Prev::Other(current::replace(Some(c.clone()))),
            });
        Self {
            handle,
            prev,
            _not_send: PhantomData,
        }
    }

    /// Makes the span that was current before this guard entered current again.
    fn leave(&mut self) {
        match self.prev.take() {
            Some(Prev::Span(parent)) => {
                if let Some(c) = &self.handle.cur
                    && current::swap_span(&c.inv, parent).is_none()
                {
                    // The slot was changed under the guard and holds another
                    // invocation's span, or none: put the span back whole.
                    drop(current::replace(Some(Current {
                        inv: c.inv.clone(),
                        span: parent,
                    })));
                }
            }
            Some(Prev::Other(prev)) => drop(current::replace(prev)),
            None => {}
        }
    }

    /// Moves this span onto a future: it stops being current here and becomes current on
    /// every poll of `fut`, ending when `fut` completes (or is dropped, flagged cancelled).
    ///
    /// ```
    /// # async fn query() -> Vec<u8> { Vec::new() }
    /// async fn handler() -> usize {
    ///     let rows = serverless_sdk::span("db.query").instrument(query()).await;
    ///     rows.len()
    /// }
    /// ```
    pub fn instrument<F: IntoFuture>(mut self, fut: F) -> InSpan<F::IntoFuture> {
        self.leave();
        let mut handle = std::mem::replace(&mut self.handle, SpanHandle::NONE);
        handle.cancel_on_drop = true;
        InSpan {
            inner: fut.into_future(),
            handle,
        }
    }

    /// Records an error on this span only (status ERROR and an `exception` event), without
    /// marking the whole invocation as failed.
    ///
    /// ```
    /// let span = serverless_sdk::span("parse");
    /// if let Err(e) = "x".parse::<u8>() {
    ///     span.record_exception(&e);
    /// }
    /// ```
    #[track_caller]
    pub fn record_exception<E: Capture + ?Sized>(&self, error: &E) {
        if self.handle.is_recording() {
            let report = error.report(Some(Site::from(std::panic::Location::caller())));
            self.handle.record_report(&report, true);
        }
    }

    /// Renamed [`SpanGuard::record_exception`].
    #[doc(hidden)]
    #[deprecated(note = "renamed `record_exception`")]
    #[track_caller]
    pub fn record_error<E: Capture + ?Sized>(&self, error: &E) {
        self.record_exception(error);
    }

    /// Sets an attribute on this span.
    ///
    /// ```
    /// let span = serverless_sdk::span("resize");
    /// span.set_attribute("image.width", 640);
    /// ```
    pub fn set_attribute(
        &self,
        key: impl Into<opentelemetry::Key>,
        value: impl Into<opentelemetry::Value>,
    ) {
        if self.handle.is_recording() {
            self.handle.set_attribute(KeyValue::new(key, value));
        }
    }

    /// Makes the guard restore `prev` instead of the span that was current when it entered.
    pub(crate) fn restoring(mut self, prev: Option<Current>) -> Self {
        if self.prev.is_some() {
            self.prev = Some(Prev::Other(prev));
        }
        self
    }

    #[doc(hidden)]
    pub fn handle(&self) -> &SpanHandle {
        &self.handle
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        self.leave();
    }
}

pin_project_lite::pin_project! {
    /// A future running inside its own span; see [`SpanGuard::instrument`] and
    /// [`FutureExt::in_span`].
    #[must_use = "futures do nothing unless polled"]
    pub struct InSpan<F> {
        #[pin]
        inner: F,
        handle: SpanHandle,
    }
}

impl<F> InSpan<F> {
    pub(crate) fn new(inner: F, mut handle: SpanHandle) -> Self {
        handle.cancel_on_drop = true;
        Self { inner, handle }
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let poll = current::poll_in(&mut this.handle.cur, this.inner, cx);
        if poll.is_ready() {
            this.handle.cancel_on_drop = false;
            this.handle.end();
        }
        poll
    }
}

/// Span and invocation propagation for futures.
///
/// ```
/// use serverless_sdk::FutureExt;
///
/// # async fn work() {}
/// async fn handler() {
///     // A span around a future:
///     work().in_span("work").await;
///     // Spawned tasks keep the current span (and invocation) as their parent:
///     let task = tokio::spawn(work().in_current_span());
///     let _ = task.await;
/// }
/// ```
pub trait FutureExt: IntoFuture + Sized {
    /// Runs this future inside a new span named `label`.
    fn in_span(self, label: impl Into<Cow<'static, str>>) -> InSpan<Self::IntoFuture> {
        InSpan::new(
            self.into_future(),
            SpanHandle::start(label.into(), SpanKind::Internal, None),
        )
    }

    /// Runs this future with the current span (and its invocation) as its current span,
    /// wherever it is polled: the way to keep spans, tags and captures attached to the
    /// invocation across `tokio::spawn`.
    fn in_current_span(self) -> WithCurrent<Self::IntoFuture> {
        WithCurrent::new(self.into_future(), current::get())
    }
}

impl<F: IntoFuture> FutureExt for F {}

/// A CLIENT span around an outgoing call, for the HTTP and AWS SDK integrations: a child
/// of the current span, ended when dropped (or by [`ClientSpan::end`]).
#[cfg_attr(not(any(feature = "reqwest", feature = "aws-sdk")), allow(dead_code))]
pub(crate) struct ClientSpan {
    handle: SpanHandle,
}

#[cfg_attr(not(any(feature = "reqwest", feature = "aws-sdk")), allow(dead_code))]
impl ClientSpan {
    /// Starts a CLIENT span named `name` under the current span; records nothing outside
    /// an invocation.
    pub(crate) fn start(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            handle: SpanHandle::start(name.into(), SpanKind::Client, None),
        }
    }

    pub(crate) fn is_recording(&self) -> bool {
        self.handle.is_recording()
    }

    /// The settings of the span's invocation (the defaults when it records nothing).
    pub(crate) fn settings(&self) -> &'static crate::config::Settings {
        static DEFAULTS: std::sync::OnceLock<crate::config::Settings> = std::sync::OnceLock::new();
        match &self.handle.cur {
            Some(c) => c.inv.settings,
            None => DEFAULTS.get_or_init(crate::config::Settings::default),
        }
    }

    pub(crate) fn set_attribute(&self, kv: KeyValue) {
        self.handle.set_attribute(kv);
    }

    /// Marks the call as failed: status ERROR with `error.type`.
    pub(crate) fn set_error(&self, error_type: impl Into<String>) {
        let error_type = error_type.into();
        if let Some(c) = &self.handle.cur {
            c.inv.with_span(c.span, |span| {
                span.attributes
                    .push(KeyValue::new("error.type", error_type.clone()));
                span.status = Status::error(error_type);
            });
        }
    }

    /// The W3C `traceparent` header naming this span as the callee's parent.
    pub(crate) fn traceparent(&self) -> Option<String> {
        self.header(crate::invocation::trace_context::w3c_header)
    }

    /// The X-Ray `X-Amzn-Trace-Id` header naming this span as the callee's parent.
    pub(crate) fn xray_header(&self) -> Option<String> {
        self.header(crate::invocation::trace_context::xray_header)
    }

    /// A trace header naming this span, in the `format` of a propagator.
    fn header(
        &self,
        format: fn(opentelemetry::trace::TraceId, opentelemetry::trace::SpanId, bool) -> String,
    ) -> Option<String> {
        let c = self.handle.cur.as_ref()?;
        let span_id = c.inv.span_id(c.span)?;
        Some(format(c.inv.trace_id, span_id, c.inv.sampled))
    }

    /// Ends the span now.
    pub(crate) fn end(mut self) {
        self.handle.end();
    }
}

/// Support for `#[span]`: starting, entering and moving spans onto futures.
#[doc(hidden)]
pub(crate) mod support {
    use super::{Cow, InSpan, SpanGuard, SpanHandle, SpanKind};

    /// Starts the span of an async `#[span]` function: if its future is dropped before it
    /// completes, the span is flagged cancelled; [`SpanHandle::close`] ends it normally.
    #[inline]
    pub fn start_async_span(
        label: &'static str,
        function: &'static str,
        namespace: &'static str,
    ) -> SpanHandle {
        let mut handle = start_span(label, function, namespace);
        handle.cancel_on_drop = true;
        handle
    }

    /// Starts a span for a `#[span]` function without entering it.
    #[inline]
    pub fn start_span(
        label: &'static str,
        function: &'static str,
        namespace: &'static str,
    ) -> SpanHandle {
        SpanHandle::start(
            Cow::Borrowed(label),
            SpanKind::Internal,
            Some((function, namespace)),
        )
    }

    /// Starts and enters a span for a sync `#[span]` function.
    #[inline]
    pub fn enter_span(
        label: &'static str,
        function: &'static str,
        namespace: &'static str,
    ) -> SpanGuard {
        SpanGuard::enter(start_span(label, function, namespace))
    }

    /// Moves a started span onto a future a function returns.
    #[inline]
    pub fn instrument<F: core::future::Future>(handle: SpanHandle, fut: F) -> InSpan<F> {
        InSpan::new(fut, handle)
    }

    /// [`instrument`], boxed and pinned, for `Pin<Box<dyn Future>>` returns
    /// (`#[async_trait]` methods).
    #[inline]
    pub fn instrument_boxed<F: core::future::Future>(
        handle: SpanHandle,
        fut: F,
    ) -> core::pin::Pin<Box<InSpan<F>>> {
        Box::pin(InSpan::new(fut, handle))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use super::span;
    use crate::{
        config::Settings,
        invocation::{Current, Invocation, Opening, current},
    };

    fn settings() -> &'static Settings {
        static SETTINGS: OnceLock<Settings> = OnceLock::new();
        SETTINGS.get_or_init(Settings::default)
    }

    /// The current span: its invocation and index.
    fn now() -> Option<(*const Invocation, u32)> {
        current::with(|c| c.map(|c| (Arc::as_ptr(&c.inv), c.span)))
    }

    /// The parent index of each span of `inv`, by name.
    fn parents(inv: &Invocation) -> Vec<(String, Option<u32>)> {
        inv.state()
            .spans
            .iter()
            .map(|s| (s.name.to_string(), s.parent))
            .collect()
    }

    #[test]
    fn guards_restore_what_was_current_in_and_out_of_order() {
        let inv = Invocation::open(Opening::detached(), settings());
        let root = Some((Arc::as_ptr(&inv), 0));
        let before = current::replace(Some(inv.root()));
        {
            let a = span("a");
            assert_eq!(now(), Some((Arc::as_ptr(&inv), 1)));
            let b = span("b");
            assert_eq!(now(), Some((Arc::as_ptr(&inv), 2)));
            // Out of order: `a` puts back what was current before it.
            drop(a);
            assert_eq!(now(), root);
            let c = span("c");
            // And `b` what was current before it: `a`.
            drop(b);
            assert_eq!(now(), Some((Arc::as_ptr(&inv), 1)));
            let d = span("d");
            assert_eq!(now(), Some((Arc::as_ptr(&inv), 4)));
            drop(d);
            assert_eq!(now(), Some((Arc::as_ptr(&inv), 1)));
            drop(c);
            assert_eq!(now(), root);
        }
        assert_eq!(now(), root);
        assert_eq!(
            parents(&inv),
            [
                ("invocation".to_owned(), None),
                ("a".to_owned(), Some(0)),
                ("b".to_owned(), Some(1)),
                ("c".to_owned(), Some(0)),
                ("d".to_owned(), Some(1)),
            ]
        );
        assert!(inv.state().spans.iter().skip(1).all(|s| s.end.is_some()));

        // Guards of two invocations, the slot changed under them: each puts back what was
        // current when it entered, whole.
        let other = Invocation::open(Opening::detached(), settings());
        let outer = span("outer");
        let previous = current::replace(Some(Current {
            inv: Arc::clone(&other),
            span: 0,
        }));
        let inner = span("inner");
        assert_eq!(now(), Some((Arc::as_ptr(&other), 1)));
        drop(current::replace(previous));
        drop(inner);
        assert_eq!(now(), Some((Arc::as_ptr(&other), 0)));
        drop(outer);
        assert_eq!(now(), root);
        drop(current::replace(before));
        let _ = (inv.close(), other.close());
    }
}
