//! The public API, mirroring the seed SDK: `capture_exception`, `capture_message`,
//! `tag_event`, `set_endpoint`, and the same operations through the Lambda context.

use std::{
    any::type_name, borrow::Cow, error::Error, fmt, panic::Location, sync::Arc, time::SystemTime,
};

use opentelemetry::{KeyValue, trace::Event, trace::Status};

use crate::{
    attributes as attr, config,
    current::{self, Current},
    redact,
    report::{ErrorReport, Site, truncate},
    scope::{Endpoint, EndpointSource, Invocation, Outcome, Tag, registry},
    span::{SpanGuard, SpanHandle},
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
/// The Rust twin of the seed's `context.serverless_sdk.capture_exception(exc)`. Outside an
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
        if let Some(c) = c {
            record_exception(
                c,
                &error.report(Some(Site::from(site))),
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
/// serverless_sdk::capture_exception_with_fingerprint(
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
        if let Some(c) = c {
            let mut report = error.report(Some(Site::from(site)));
            report.fingerprint = Some(fingerprint.into());
            record_exception(c, &report, true, Outcome::ErrorHandled);
        }
    });
}

/// Captures an `anyhow::Error` with its root cause's type name and chain.
///
/// ```
/// serverless_sdk::capture_anyhow(&anyhow::anyhow!("payment declined"));
/// ```
#[cfg(feature = "anyhow")]
#[track_caller]
pub fn capture_anyhow(error: &anyhow::Error) {
    let dyn_error: &(dyn Error + Send + Sync + 'static) = error.as_ref();
    capture_exception(dyn_error);
}

/// Records a message on the current invocation, like the seed's `capture_message`: an event
/// on the current span. It does not mark the invocation as failed.
///
/// ```
/// serverless_sdk::capture_message("cache miss for the pricing table");
/// ```
pub fn capture_message(message: impl AsRef<str>) {
    current::with(|c| {
        if let Some(c) = c {
            let limits = config::limits();
            let text = truncate(
                redact::redact_text(message.as_ref()).into_owned(),
                limits.max_value_bytes,
            )
            .0;
            push_event(
                c,
                Event::new(
                    attr::MESSAGE_EVENT,
                    SystemTime::now(),
                    vec![
                        KeyValue::new(attr::MESSAGE, text),
                        KeyValue::new(attr::LEVEL, "info"),
                    ],
                    0,
                ),
            );
        }
    });
}

/// Why a tag was changed or refused; returned by [`try_tag_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagError {
    /// No invocation is running on this task.
    OutsideInvocation,
    /// The invocation already holds the maximum number of tags; the tag was dropped.
    TooManyTags {
        /// The cap.
        max: usize,
    },
    /// The name had characters outside `[A-Za-z0-9_.-]` or was not 1–256 long; it was
    /// recorded under the sanitised name.
    InvalidName {
        /// The name as given.
        given: String,
        /// The name it was recorded under.
        recorded: String,
    },
    /// The value or custom JSON was cut to the size limit.
    Truncated,
}

impl fmt::Display for TagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutsideInvocation => f.write_str("tag_event called outside an invocation"),
            Self::TooManyTags { max } => {
                write!(f, "the invocation already has {max} tags; tag dropped")
            }
            Self::InvalidName { given, recorded } => write!(
                f,
                "tag name {given:?} must match [A-Za-z0-9_.-]{{1,256}}; recorded as {recorded:?}"
            ),
            Self::Truncated => f.write_str("tag value or custom JSON cut to the size limit"),
        }
    }
}

impl Error for TagError {}

/// Tags the current invocation so it can be found among millions: `tag` with `value`,
/// plus optional `custom` JSON shown alongside.
///
/// The Rust twin of the seed's `tag_event('customer-id', id, {'demoUser': 'true'})`. Each
/// tag becomes the root-span attribute `serverless.tag.<tag>` (and
/// `serverless.tag.<tag>.custom` for the JSON). Values under sensitive keys are masked. Bad
/// input is fixed up and reported as a `serverless.warning` event rather than lost; use
/// [`try_tag_event`] to see what happened.
///
/// ```
/// use serverless_sdk::tag_event;
/// use serde_json::json;
///
/// tag_event("customer-id", "42", json!({ "demoUser": "true", "freeTrialExpires": "2020-09-01" }));
/// tag_event("plan", "free", None);
/// ```
pub fn tag_event(
    tag: impl AsRef<str>,
    value: impl AsRef<str>,
    custom: impl Into<Option<serde_json::Value>>,
) {
    let _ = try_tag_event(tag, value, custom);
}

/// [`tag_event`], telling whether the tag was recorded as given.
///
/// ```
/// use serverless_sdk::{try_tag_event, TagError};
///
/// // Outside an invocation nothing is recorded:
/// assert_eq!(try_tag_event("plan", "free", None), Err(TagError::OutsideInvocation));
/// ```
pub fn try_tag_event(
    tag: impl AsRef<str>,
    value: impl AsRef<str>,
    custom: impl Into<Option<serde_json::Value>>,
) -> Result<(), TagError> {
    current::with(|c| match c {
        Some(c) => add_tag(c, tag.as_ref(), value.as_ref(), custom.into()),
        None => Err(TagError::OutsideInvocation),
    })
}

/// Sets the invocation's routed endpoint, e.g. `/api/foo`: the root span is named after it
/// and carries it as `http.route`. An explicit endpoint wins over one discovered from the
/// event or a router.
///
/// ```
/// serverless_sdk::set_endpoint("/api/foo");
/// ```
pub fn set_endpoint(path: impl AsRef<str>) {
    current::with(|c| {
        if let Some(c) = c {
            set_endpoint_in(c, None, path.as_ref(), EndpointSource::Explicit);
        }
    });
}

/// [`set_endpoint`] with the HTTP method: the root span is then named `"{method} {path}"`.
///
/// ```
/// serverless_sdk::set_endpoint_with_method("GET", "/api/users/{id}");
/// ```
pub fn set_endpoint_with_method(method: impl AsRef<str>, path: impl AsRef<str>) {
    current::with(|c| {
        if let Some(c) = c {
            set_endpoint_in(
                c,
                Some(method.as_ref()),
                path.as_ref(),
                EndpointSource::Explicit,
            );
        }
    });
}

/// Whether code is running inside an invocation (directly or in a future that carries one).
///
/// ```
/// assert!(!serverless_sdk::in_invocation());
/// ```
#[must_use]
pub fn in_invocation() -> bool {
    current::with(|c| c.is_some())
}

/// The SDK's operations bound to one invocation, from `ctx.serverless_sdk()`.
///
/// It finds its invocation by request id, so it works in any task, even one spawned
/// without propagating the current span.
#[derive(Clone)]
pub struct Sdk {
    inv: Option<Arc<Invocation>>,
}

impl fmt::Debug for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sdk")
            .field("request_id", &self.inv.as_ref().map(|i| &*i.request_id))
            .finish()
    }
}

impl Sdk {
    fn for_request(request_id: &str) -> Self {
        let inv = current::with(|c| {
            c.filter(|c| &*c.inv.request_id == request_id)
                .map(|c| c.inv.clone())
        })
        .or_else(|| registry::find(request_id));
        Self { inv }
    }

    /// Where this handle records: the current span when it belongs to this invocation, else
    /// the root span.
    fn target(&self) -> Option<Current> {
        let inv = self.inv.as_ref()?;
        Some(current::with(|c| {
            c.filter(|c| Arc::ptr_eq(&c.inv, inv))
                .cloned()
                .unwrap_or_else(|| inv.root())
        }))
    }

    /// See [`capture_exception`].
    #[track_caller]
    pub fn capture_exception<E: Capture + ?Sized>(&self, error: &E) {
        let site = Location::caller();
        if let Some(c) = self.target() {
            record_exception(
                &c,
                &error.report(Some(Site::from(site))),
                true,
                Outcome::ErrorHandled,
            );
        }
    }

    /// See [`capture_message`].
    pub fn capture_message(&self, message: impl AsRef<str>) {
        if let Some(c) = self.target() {
            let previous = current::replace(Some(c));
            capture_message(message);
            drop(current::replace(previous));
        }
    }

    /// See [`tag_event`].
    pub fn tag_event(
        &self,
        tag: impl AsRef<str>,
        value: impl AsRef<str>,
        custom: impl Into<Option<serde_json::Value>>,
    ) {
        if let Some(c) = self.target() {
            let _ = add_tag(&c, tag.as_ref(), value.as_ref(), custom.into());
        }
    }

    /// See [`set_endpoint`].
    pub fn set_endpoint(&self, path: impl AsRef<str>) {
        if let Some(c) = self.target() {
            set_endpoint_in(&c, None, path.as_ref(), EndpointSource::Explicit);
        }
    }

    /// See [`set_endpoint_with_method`].
    pub fn set_endpoint_with_method(&self, method: impl AsRef<str>, path: impl AsRef<str>) {
        if let Some(c) = self.target() {
            set_endpoint_in(
                &c,
                Some(method.as_ref()),
                path.as_ref(),
                EndpointSource::Explicit,
            );
        }
    }

    /// See [`span`](crate::span()): a span in this invocation.
    pub fn span(&self, label: impl Into<Cow<'static, str>>) -> SpanGuard {
        let Some(c) = self.target() else {
            return SpanGuard::enter(SpanHandle::NONE);
        };
        let previous = current::replace(Some(c));
        let guard = crate::span(label);
        // The guard restores `previous` when it is dropped; if nothing was recorded it
        // entered nothing, so restore it now.
        if !guard.handle().is_recording() {
            drop(current::replace(previous));
            return guard;
        }
        // `enter` saw `c` as the span to restore; make it restore the caller's instead.
        guard.with_restore(previous)
    }
}

impl SpanGuard {
    fn with_restore(mut self, previous: Option<Current>) -> Self {
        self.set_prev(previous);
        self
    }
}

/// The seed's `context.serverless_sdk`, for `lambda_runtime::Context` (and so for
/// `lambda_http` requests' contexts too).
///
/// ```
/// use serverless_sdk::ContextExt;
///
/// async fn hello(event: lambda_runtime::LambdaEvent<serde_json::Value>) -> Result<(), std::io::Error> {
///     if let Err(exc) = std::fs::read("/missing") {
///         event.context.serverless_sdk().capture_exception(&exc);
///     }
///     event.context.serverless_sdk().set_endpoint("/api/foo");
///     Ok(())
/// }
/// ```
pub trait ContextExt {
    /// The SDK operations for this invocation.
    fn serverless_sdk(&self) -> Sdk;
}

impl ContextExt for lambda_runtime::Context {
    fn serverless_sdk(&self) -> Sdk {
        Sdk::for_request(&self.request_id)
    }
}

/* ------------------------------------------------------------------------------------ */

pub(crate) fn push_event(c: &Current, event: Event) {
    let max_events = config::limits().max_events_per_span;
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
    let mut event = report.to_event(handled);
    let max_events = config::limits().max_events_per_span;
    let mut state = c.inv.state();
    if state.finished {
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
    Invocation::raise_outcome(&mut state, outcome);
    let status = Status::error(report.type_name.clone());
    if let Some(span) = state.spans.get_mut(c.span as usize) {
        if span.events.len() < max_events {
            span.events.push(event);
        }
        span.status = status.clone();
    }
    if let Some(root) = state.spans.first_mut() {
        root.status = status;
    }
}

pub(crate) fn warn(c: &Current, message: String) {
    let message = redact::redact_text(&message).into_owned();
    push_event(
        c,
        Event::new(
            attr::WARNING_EVENT,
            SystemTime::now(),
            vec![
                KeyValue::new(attr::MESSAGE, message),
                KeyValue::new(attr::LEVEL, "warn"),
            ],
            0,
        ),
    );
}

fn is_valid_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn sanitize_tag_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if is_valid_tag_char(c) { c } else { '_' })
        .take(256)
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

fn add_tag(
    c: &Current,
    name: &str,
    value: &str,
    custom: Option<serde_json::Value>,
) -> Result<(), TagError> {
    let limits = config::limits();
    let mut problem = None;
    let valid = !name.is_empty() && name.len() <= 256 && name.chars().all(is_valid_tag_char);
    let name = if valid {
        name.to_owned()
    } else {
        let recorded = sanitize_tag_name(name);
        problem = Some(TagError::InvalidName {
            given: truncate(name.to_owned(), 300).0,
            recorded: recorded.clone(),
        });
        recorded
    };
    let (value, value_cut) = redact::clean_named_value(&name, value);
    let mut custom_cut = false;
    let custom = custom.map(|mut json| {
        redact::redact_json(&mut json);
        let text = json.to_string();
        let (text, cut) = truncate(text, limits.max_custom_bytes);
        custom_cut = cut;
        text
    });
    if problem.is_none() && (value_cut || custom_cut) {
        problem = Some(TagError::Truncated);
    }
    {
        let mut state = c.inv.state();
        if state.finished {
            return Err(TagError::OutsideInvocation);
        }
        if let Some(existing) = state.tags.iter_mut().find(|t| t.name == name) {
            existing.value = value;
            existing.custom = custom;
        } else if state.tags.len() >= limits.max_tags {
            state.dropped_tags += 1;
            return Err(TagError::TooManyTags {
                max: limits.max_tags,
            });
        } else {
            state.tags.push(Tag {
                name,
                value,
                custom,
            });
        }
    }
    match problem {
        Some(problem) => {
            warn(c, problem.to_string());
            Err(problem)
        }
        None => Ok(()),
    }
}

/// Checks an endpoint: a path starting with `/`, without query string, whitespace or
/// control characters, at most 1024 bytes. Returns the cleaned path and what was wrong.
pub(crate) fn clean_endpoint(path: &str) -> Result<(String, Option<String>), String> {
    let trimmed = redact::strip_query(path.trim());
    if trimmed.is_empty() {
        return Err(format!(
            "endpoint {path:?} is empty; expected a path such as \"/api/foo\""
        ));
    }
    let mut cleaned: String = trimmed
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if !cleaned.starts_with('/') {
        cleaned.insert(0, '/');
    }
    let (cleaned, _) = truncate(cleaned, 1024);
    let problem = (cleaned != path)
        .then(|| format!("endpoint {path:?} is not a clean path; recorded as {cleaned:?}"));
    Ok((cleaned, problem))
}

pub(crate) fn set_endpoint_in(
    c: &Current,
    method: Option<&str>,
    path: &str,
    source: EndpointSource,
) {
    let (path, problem) = match clean_endpoint(path) {
        Ok(ok) => ok,
        Err(message) => {
            warn(c, message);
            return;
        }
    };
    if let Some(problem) = problem {
        warn(c, problem);
    }
    let method = method
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_ascii_uppercase);
    let mut state = c.inv.state();
    if state.endpoint.as_ref().is_some_and(|e| e.source > source) {
        return;
    }
    let method = method.or_else(|| {
        state
            .endpoint
            .as_ref()
            .filter(|e| e.path == path)
            .and_then(|e| e.method.clone())
    });
    state.endpoint = Some(Endpoint {
        path,
        method,
        source,
    });
}
