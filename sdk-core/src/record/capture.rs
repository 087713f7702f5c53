//! Captured errors and messages: `capture_exception`, `capture_message`, and the one
//! function every failure goes through on its way onto a span.

use std::{
    any::type_name, backtrace::Backtrace, error::Error, panic::Location, sync::Arc,
    time::SystemTime,
};

use opentelemetry::{KeyValue, trace::Event, trace::Status};

use super::{
    redact,
    report::{ErrorReport, Site},
};
use crate::{
    attributes as attr,
    invocation::{Current, Outcome, current},
};

/// Errors that [`capture_exception`] accepts: every `std::error::Error`, including
/// `dyn Error` trait objects.
///
/// A boxed error (`Box<dyn Error + Send + Sync>`, `lambda_runtime::Error`) is captured
/// through a reference to its contents, `capture_exception(&*err)` or
/// `capture_exception(err.as_ref())`: the report still names the concrete type inside.
///
/// ```
/// use serverless_sdk::capture_exception;
///
/// let err: Box<dyn std::error::Error + Send + Sync> = "boom".into();
/// capture_exception(&*err);
/// capture_exception(&std::io::Error::other("disk full"));
/// ```
pub trait Capture {
    /// The error as a trait object.
    #[doc(hidden)]
    fn as_error(&self) -> &(dyn Error + 'static);

    /// The concrete type's name when it is known statically.
    #[doc(hidden)]
    fn concrete_type_name(&self) -> Option<&'static str>;

    #[doc(hidden)]
    fn report(&self, site: Option<Site>) -> ErrorReport {
        ErrorReport::from_error(self.as_error(), self.concrete_type_name(), site)
    }
}

impl<E: Error + 'static> Capture for E {
    fn as_error(&self) -> &(dyn Error + 'static) {
        self
    }
    fn concrete_type_name(&self) -> Option<&'static str> {
        Some(type_name::<E>())
    }
}

macro_rules! capture_dyn {
    ($($t:ty),*) => {$(
        impl Capture for $t {
            fn as_error(&self) -> &(dyn Error + 'static) {
                self
            }
            fn concrete_type_name(&self) -> Option<&'static str> {
                None
            }
        }
    )*};
}
capture_dyn!(
    dyn Error + 'static,
    dyn Error + Send + 'static,
    dyn Error + Send + Sync + 'static
);

/// Records an error on the current invocation while the handler goes on and returns
/// normally: the invocation shows as failed (outcome `error:handled`, span status ERROR)
/// and the error becomes an `exception` event on the current span.
///
/// The Rust twin of the Python SDK's `context.serverless_sdk.capture_exception(exc)`. Outside an
/// invocation it records nothing and never panics.
///
/// ```
/// use serverless_sdk::capture_exception;
///
/// #[derive(Debug)]
/// struct AccountAlreadyExistsException;
/// impl std::fmt::Display for AccountAlreadyExistsException {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("Account is in use!")
///     }
/// }
/// impl std::error::Error for AccountAlreadyExistsException {}
///
/// fn hello() -> (u16, &'static str) {
///     match Err::<(), _>(AccountAlreadyExistsException) {
///         Ok(()) => (200, "{}"),
///         Err(exc) => {
///             capture_exception(&exc);
///             (500, r#"{"name": "bob"}"#)
///         }
///     }
/// }
/// assert_eq!(hello().0, 500);
/// ```
#[track_caller]
pub fn capture_exception<E: Capture + ?Sized>(error: &E) {
    let site = Location::caller();
    current::with(|c| {
        if let Some(c) = recording(c) {
            record_owned_exception(
                c,
                error.report(Some(Site::caller(site))),
                true,
                Outcome::ErrorHandled,
            );
        }
    });
}

/// [`capture_exception`] with a fingerprint of your own: errors with the same fingerprint
/// are grouped together by a backend, whatever their type and site.
///
/// ```
/// serverless_sdk::errors::capture_exception_with_fingerprint(
///     &std::io::Error::other("upstream 503"),
///     "payments-upstream-unavailable",
/// );
/// ```
#[track_caller]
pub fn capture_exception_with_fingerprint<E: Capture + ?Sized>(
    error: &E,
    fingerprint: impl Into<String>,
) {
    let site = Location::caller();
    current::with(|c| {
        if let Some(c) = recording(c) {
            let mut report = error.report(Some(Site::caller(site)));
            report.fingerprint = Some(fingerprint.into());
            record_owned_exception(c, report, true, Outcome::ErrorHandled);
        }
    });
}

/// Captures an `anyhow::Error` with its root cause's type name and chain.
///
/// ```
/// serverless_sdk::errors::capture_anyhow(&anyhow::anyhow!("payment declined"));
/// ```
#[cfg(feature = "anyhow")]
#[track_caller]
pub fn capture_anyhow(error: &anyhow::Error) {
    let dyn_error: &(dyn Error + Send + Sync + 'static) = error.as_ref();
    capture_exception(dyn_error);
}

/// Records a message on the current invocation, like Sentry's `capture_message`: an event
/// on the current span. It does not mark the invocation as failed.
///
/// ```
/// serverless_sdk::capture_message("cache miss for the pricing table");
/// ```
pub fn capture_message(message: impl AsRef<str>) {
    current::with(|c| {
        if let Some(c) = recording(c) {
            let text = redact::clean_text(message.as_ref(), c.inv.settings);
            push_event(c, message_event(attr::MESSAGE_EVENT, text, "info"));
        }
    });
}

/// Whether code is running inside an invocation (directly or in a future that carries one).
///
/// ```
/// assert!(!serverless_sdk::context::in_invocation());
/// ```
#[must_use]
pub fn in_invocation() -> bool {
    current::with(|c| c.is_some())
}

/// The current span, if its invocation records what the user's code captures: not with
/// `OTEL_SDK_DISABLED`, where capturing costs nothing (no report, no backtrace).
fn recording(c: Option<&Current>) -> Option<&Current> {
    c.filter(|c| c.inv.settings.recording)
}

/// Adds an event to the span `c`, within the per-span event cap.
pub(crate) fn push_event(c: &Current, event: Event) {
    if !c.inv.settings.recording {
        return;
    }
    let max_events = c.inv.settings.limits.max_events_per_span;
    c.inv.with_span(c.span, |span| {
        if span.events.len() < max_events {
            span.events.push(event);
        }
    });
}

/// Records a report on the span `c` and marks the invocation as failed with `outcome`.
/// `handled` says whether the user's code handled the error (`capture_exception`) or it
/// escaped (an `Err`, a panic, a timeout).
pub(crate) fn record_exception(c: &Current, report: &ErrorReport, handled: bool, outcome: Outcome) {
    record_exception_with(c, report, handled, outcome, []);
}

/// [`record_exception`] with `extra` attributes on its event (a timeout's budget and
/// elapsed time).
pub(crate) fn record_exception_with<const N: usize>(
    c: &Current,
    report: &ErrorReport,
    handled: bool,
    outcome: Outcome,
    extra: [KeyValue; N],
) {
    let mut event = report.to_event(handled, c.inv.settings);
    event.attributes.extend(extra);
    record_event(
        c,
        event,
        report.type_name.clone(),
        report.captured_backtrace(),
        outcome,
        handled,
    );
}

/// [`record_exception`] of a report made for it: its texts move into the event.
pub(crate) fn record_owned_exception(
    c: &Current,
    report: ErrorReport,
    handled: bool,
    outcome: Outcome,
) {
    let type_name = report.type_name.clone();
    let backtrace = report.captured_backtrace();
    let event = report.into_event(handled, c.inv.settings);
    record_event(c, event, type_name, backtrace, outcome, handled);
}

/// Puts an `exception` event on the span `c`, with the status `type_name` there and on the
/// root span.
fn record_event(
    c: &Current,
    mut event: Event,
    type_name: String,
    backtrace: Option<Arc<Backtrace>>,
    outcome: Outcome,
    handled: bool,
) {
    let settings = c.inv.settings;
    let mut state = c.inv.state();
    if state.closed {
        return;
    }
    if !state.breadcrumbs.is_empty() {
        let crumbs: Vec<opentelemetry::StringValue> =
            state.breadcrumbs.drain(..).map(Into::into).collect();
        event.attributes.push(KeyValue::new(
            attr::EXCEPTION_BREADCRUMBS,
            opentelemetry::Value::Array(crumbs.into()),
        ));
    }
    state.errors += 1;
    state.raise_outcome(outcome);
    let status = Status::error(type_name);
    // The root span is given the status last; a copy is only needed for another span.
    let on_span = (c.span != 0).then(|| status.clone());
    if let Some(span) = state.spans.get_mut(c.span as usize)
        && settings.recording
    {
        span.push_exception(
            event,
            backtrace,
            settings.limits.max_events_per_span,
            !handled,
        );
        if let Some(status) = on_span {
            span.status = status;
        }
    }
    if let Some(root) = state.root() {
        root.status = status;
    }
}

/// Records a `serverless.warning` event: bad input the SDK fixed up or refused.
pub(crate) fn warn(c: &Current, message: &str) {
    let message = redact::redact_text(message, c.inv.settings).into_owned();
    push_event(c, message_event(attr::WARNING_EVENT, message, "warn"));
}

/// An event named `name` carrying a `message` and its `level`.
pub(crate) fn message_event(name: &'static str, message: String, level: &'static str) -> Event {
    Event::new(
        name,
        SystemTime::now(),
        vec![
            KeyValue::new(attr::MESSAGE, message),
            KeyValue::new(attr::LEVEL, level),
        ],
        0,
    )
}
