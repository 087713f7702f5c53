//! The invocation scope: everything recorded while one invocation runs, from the moment it
//! is opened (from the Lambda context and what the event says) to the moment it is closed
//! into a [`Finished`] record for the exporter.
//!
//! * [`source`]: what an event says about its invocation (trigger, trace parent, route);
//! * [`trace_context`]: X-Ray and W3C trace headers;
//! * [`current`]: the per-thread "current span" that instrumented futures carry;
//! * [`registry`]: the running invocations by request id.

pub(crate) mod current;
pub(crate) mod source;
pub(crate) mod trace_context;

use std::{
    backtrace::Backtrace,
    borrow::Cow,
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use opentelemetry::{
    KeyValue,
    trace::{Event, Link, SpanId, SpanKind, Status, TraceId},
};

use crate::{attributes as attr, config::Settings};
pub use source::TriggerKind;
use source::{EventSource, HttpRequest};
use trace_context::TraceParent;

/// Where new spans, tags and captured errors go: an invocation and one of its spans.
#[derive(Clone)]
pub(crate) struct Current {
    pub(crate) inv: Arc<Invocation>,
    pub(crate) span: u32,
}

/// How an invocation ended, as recorded in [`attributes::OUTCOME`](crate::attributes::OUTCOME).
///
/// ```
/// use serverless_sdk::export::Outcome;
/// assert_eq!(Outcome::ErrorHandled.as_str(), "error:handled");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler returned normally and nothing was captured.
    Success,
    /// An error was captured, or the SDK turned a failure into a well-formed response.
    ErrorHandled,
    /// The handler failed and its caller saw the failure: Lambda got an error, or a
    /// streamed response was cut short.
    ErrorUnhandled,
    /// The invocation ran into its deadline.
    Timeout,
    /// The function failed before its first invocation.
    InitError,
}

impl Outcome {
    /// The value written to the outcome attribute.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::ErrorHandled => "error:handled",
            Self::ErrorUnhandled => "error:unhandled",
            Self::Timeout => "timeout",
            Self::InitError => "init_error",
        }
    }

    /// Whether this outcome is a failure of any kind.
    #[must_use]
    pub const fn is_failure(self) -> bool {
        !matches!(self, Self::Success)
    }
}

/// Where an endpoint came from; a higher source replaces a lower one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EndpointSource {
    /// API Gateway `resource` / `routeKey` of the event.
    Event,
    /// A framework's matched route (axum `MatchedPath`).
    Framework,
    /// `set_endpoint` or `#[route]`.
    Explicit,
}

#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) path: String,
    pub(crate) method: Option<String>,
    pub(crate) source: EndpointSource,
}

/// One span of an invocation, as recorded.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) span_id: SpanId,
    /// The index of the parent span in the invocation; `None` for the root.
    pub(crate) parent: Option<u32>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: SpanKind,
    pub(crate) start: SystemTime,
    pub(crate) end: Option<SystemTime>,
    /// `code.function` and `code.namespace`, kept apart from the attributes so that a span
    /// of a `#[span]` function allocates nothing for them.
    pub(crate) code: Option<(&'static str, &'static str)>,
    pub(crate) attributes: Vec<KeyValue>,
    /// Attributes set by the function's code over the cap ([`SpanRecord::set_attribute`]).
    pub(crate) dropped_attributes: u32,
    pub(crate) events: Vec<Event>,
    pub(crate) links: Vec<Link>,
    pub(crate) status: Status,
    /// Backtraces captured for `exception` events (by the index of their event), kept
    /// unresolved until export: symbolising one is far costlier than capturing it, and must
    /// not delay the response.
    pub(crate) backtraces: Vec<(usize, Arc<Backtrace>)>,
}

impl SpanRecord {
    /// An ended span with this identity and these times and nothing else, as tests build
    /// the records an exporter reads.
    #[cfg(test)]
    pub(crate) fn ended(
        span_id: u64,
        parent: Option<u32>,
        name: &'static str,
        kind: SpanKind,
        (start, end): (SystemTime, SystemTime),
    ) -> Self {
        Self {
            span_id: SpanId::from(span_id),
            start,
            end: Some(end),
            ..Self::new(parent, Cow::Borrowed(name), kind, None)
        }
    }

    fn new(
        parent: Option<u32>,
        name: Cow<'static, str>,
        kind: SpanKind,
        code: Option<(&'static str, &'static str)>,
    ) -> Self {
        Self {
            span_id: new_span_id(),
            parent,
            name,
            kind,
            start: SystemTime::now(),
            end: None,
            code,
            attributes: Vec::new(),
            events: Vec::new(),
            dropped_attributes: 0,
            links: Vec::new(),
            status: Status::Unset,
            backtraces: Vec::new(),
        }
    }

    /// Sets an attribute from the function's code (a span guard, a `tracing` field): the
    /// value of an attribute with the same key is replaced, so a field recorded in a loop
    /// keeps one attribute; a new key is added within the cap of `max` attributes, else
    /// counted as dropped (OTLP's `dropped_attributes_count`).
    pub(crate) fn set_attribute(&mut self, kv: KeyValue, max: usize) {
        if let Some(existing) = self.attributes.iter_mut().find(|a| a.key == kv.key) {
            *existing = kv;
        } else if self.attributes.len() < max {
            self.attributes.push(kv);
        } else {
            self.dropped_attributes = self.dropped_attributes.saturating_add(1);
        }
    }

    /// Adds an `exception` event and its unresolved backtrace, within the cap of
    /// `max_events` events unless the error `escaped` (an `Err` or a panic out of the span's
    /// code, a timeout): the error that failed the span is always kept, and there is at most
    /// one per way out of it.
    pub(crate) fn push_exception(
        &mut self,
        event: Event,
        backtrace: Option<Arc<Backtrace>>,
        max_events: usize,
        escaped: bool,
    ) {
        if self.events.len() < max_events || escaped {
            if let Some(bt) = backtrace {
                self.backtraces.push((self.events.len(), bt));
            }
            self.events.push(event);
        }
    }

    /// Symbolises the captured backtraces into their events' `exception.stacktrace`.
    pub(crate) fn resolve_backtraces(&mut self) {
        for (index, bt) in self.backtraces.drain(..) {
            if let Some(event) = self.events.get_mut(index) {
                event
                    .attributes
                    .push(KeyValue::new(attr::EXCEPTION_STACKTRACE, bt.to_string()));
            }
        }
    }
}

/// A new random span id; zero is the invalid span id.
pub(crate) fn new_span_id() -> SpanId {
    SpanId::from(fastrand::u64(1..))
}

fn new_trace_id() -> TraceId {
    TraceId::from(fastrand::u128(1..))
}

/// A tag set with `tag_event`.
#[derive(Clone, Debug)]
pub(crate) struct Tag {
    /// The root-span attribute it becomes: `serverless.tag.<name>`.
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) custom: Option<String>,
}

/// What an invocation has recorded so far.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) http_method: Option<String>,
    pub(crate) url_path: Option<String>,
    pub(crate) status_code: Option<u16>,
    /// Set when `#[serverless_handler(name = "..")]` fixed the root span's name.
    pub(crate) name_fixed: bool,
    pub(crate) tags: Vec<Tag>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) errors: u32,
    pub(crate) dropped_spans: u32,
    pub(crate) dropped_tags: u32,
    /// Recent INFO/DEBUG `tracing` events, attached to the next captured error.
    pub(crate) breadcrumbs: VecDeque<String>,
    /// Set once a `#[serverless_handler]` recorded how the handler ended, so a runtime
    /// layer above it does not record the same failure again.
    pub(crate) handler_reported: bool,
    pub(crate) closed: bool,
}

impl State {
    /// Raises the outcome to at least `outcome`.
    pub(crate) fn raise_outcome(&mut self, outcome: Outcome) {
        if self.outcome.is_none_or(|o| o < outcome) {
            self.outcome = Some(outcome);
        }
    }

    /// The root span.
    pub(crate) fn root(&mut self) -> Option<&mut SpanRecord> {
        self.spans.first_mut()
    }
}

/// What an invocation is opened from: the Lambda context, what the event says about
/// itself, and the function that handles it. Built with [`Opening::new`] and its setters;
/// every way into an invocation (a runtime layer, a handler, an undecodable event, an
/// init failure) goes through it.
pub(crate) struct Opening<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) deadline_ms: u64,
    pub(crate) invoked_arn: &'a str,
    pub(crate) function_name: &'a str,
    pub(crate) xray_trace_id: Option<&'a str>,
    pub(crate) source: EventSource<'a>,
    /// The annotated function: its name, module, and a root span name it fixes.
    pub(crate) code: Option<(&'static str, &'static str)>,
    pub(crate) fixed_name: Option<&'static str>,
}

impl<'a> Opening<'a> {
    /// An invocation of the Lambda request `ctx`.
    pub(crate) fn new(ctx: &'a lambda_runtime::Context) -> Self {
        Self {
            request_id: &ctx.request_id,
            deadline_ms: ctx.deadline,
            invoked_arn: &ctx.invoked_function_arn,
            function_name: &ctx.env_config.function_name,
            xray_trace_id: ctx.xray_trace_id.as_deref(),
            source: EventSource::default(),
            code: None,
            fixed_name: None,
        }
    }

    /// An invocation with no Lambda context (a request built by hand, a test).
    pub(crate) fn detached() -> Self {
        Self {
            request_id: "",
            deadline_ms: 0,
            invoked_arn: "",
            function_name: "",
            xray_trace_id: None,
            source: EventSource::default(),
            code: None,
            fixed_name: None,
        }
    }

    /// The pseudo-invocation that reports a failure before the first event.
    pub(crate) fn init(function_name: &'a str) -> Self {
        Self {
            request_id: "init",
            deadline_ms: 0,
            invoked_arn: "",
            function_name,
            xray_trace_id: None,
            source: EventSource {
                kind: SpanKind::Internal,
                ..EventSource::default()
            },
            code: None,
            fixed_name: None,
        }
    }

    /// Names the root span.
    pub(crate) fn with_name(mut self, name: String) -> Self {
        self.source.name = Some(Cow::Owned(name));
        self
    }

    /// What the event says about itself.
    pub(crate) fn with_source(mut self, source: EventSource<'a>) -> Self {
        self.source = source;
        self
    }

    /// The annotated function handling the event.
    pub(crate) fn with_code(
        mut self,
        function: &'static str,
        module: &'static str,
        fixed_name: Option<&'static str>,
    ) -> Self {
        self.code = Some((function, module));
        self.fixed_name = fixed_name;
        self
    }
}

/// Everything known about one running invocation.
pub(crate) struct Invocation {
    pub(crate) request_id: Arc<str>,
    pub(crate) trace_id: TraceId,
    pub(crate) remote_parent: Option<SpanId>,
    pub(crate) sampled: bool,
    /// The caller left the sampling decision to this function (X-Ray `Sampled=?`).
    pub(crate) sampling_deferred: bool,
    pub(crate) deadline_ms: u64,
    pub(crate) started: SystemTime,
    pub(crate) settings: &'static Settings,
    state: Mutex<State>,
}

static COLD_START: AtomicBool = AtomicBool::new(true);

/// Whether the next invocation is the first of this process.
fn take_cold_start() -> bool {
    // A load first: after the first invocation this is a plain read, not a locked write.
    COLD_START.load(Ordering::Relaxed) && COLD_START.swap(false, Ordering::Relaxed)
}

impl Invocation {
    /// Opens an invocation: its trace context, root span and registry entry.
    pub(crate) fn open(opening: Opening<'_>, settings: &'static Settings) -> Arc<Self> {
        let Opening {
            request_id,
            deadline_ms,
            invoked_arn,
            function_name,
            xray_trace_id,
            source,
            code,
            fixed_name,
        } = opening;
        let parent = source
            .parent
            .or_else(|| xray_trace_id.and_then(TraceParent::from_xray));
        let (trace_id, remote_parent, sampled, sampling_deferred) = match parent {
            Some(p) => (p.trace_id, p.span_id, p.sampled(), p.decision.is_none()),
            None => (new_trace_id(), None, true, false),
        };
        let generated_id;
        let request_id = if request_id.is_empty() {
            generated_id = format!("local-{:016x}", fastrand::u64(..));
            &generated_id
        } else {
            request_id
        };
        let name: Cow<'static, str> = match (fixed_name, source.name, function_name) {
            (Some(fixed), _, _) => Cow::Borrowed(fixed),
            (None, Some(from_event), _) => from_event,
            (None, None, f) if !f.is_empty() => Cow::Owned(f.to_owned()),
            (None, None, _) => Cow::Borrowed(code.map_or("invocation", |(f, _)| f)),
        };
        // One copy of the request id, shared by the invocation and its root attribute.
        let request_id: Arc<str> = Arc::from(request_id);
        let mut root = SpanRecord::new(None, name, source.kind, code);
        root.attributes.reserve(4 + source.attributes.len());
        root.attributes.extend([
            KeyValue::new(attr::FAAS_INVOCATION_ID, Arc::clone(&request_id)),
            KeyValue::new(attr::FAAS_COLDSTART, take_cold_start()),
            KeyValue::new(attr::FAAS_TRIGGER, source.trigger.as_str()),
            KeyValue::new(attr::CLOUD_RESOURCE_ID, invoked_arn.to_owned()),
        ]);
        root.attributes.extend(source.attributes);
        root.links = source.links;
        let started = root.start;
        let mut spans = Vec::with_capacity(8);
        spans.push(root);
        let mut state = State {
            spans,
            name_fixed: fixed_name.is_some(),
            ..State::default()
        };
        if let Some(http) = &source.http {
            state.apply_http(http);
        }
        let inv = Arc::new(Self {
            request_id,
            trace_id,
            remote_parent,
            sampled,
            sampling_deferred,
            deadline_ms,
            started,
            settings,
            state: Mutex::new(state),
        });
        registry::insert(&inv);
        inv
    }

    /// The invocation's state. A poisoned lock is recovered: a panic elsewhere must never
    /// turn into a panic in the code the SDK instruments.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The root span as the current span.
    pub(crate) fn root(self: &Arc<Self>) -> Current {
        Current {
            inv: Arc::clone(self),
            span: 0,
        }
    }

    /// Starts a child span of `parent`; `None` once the span cap is reached.
    pub(crate) fn start_span(
        &self,
        parent: u32,
        name: Cow<'static, str>,
        kind: SpanKind,
        code: Option<(&'static str, &'static str)>,
    ) -> Option<u32> {
        if !self.settings.recording {
            return None;
        }
        let mut state = self.state();
        if state.closed || state.spans.len() >= self.settings.limits.max_spans {
            state.dropped_spans += 1;
            return None;
        }
        let index = u32::try_from(state.spans.len()).ok()?;
        state
            .spans
            .push(SpanRecord::new(Some(parent), name, kind, code));
        Some(index)
    }

    /// Keeps a breadcrumb, dropping the oldest past the cap.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn add_breadcrumb(&self, crumb: String) {
        const MAX_BREADCRUMBS: usize = 32;
        if !self.settings.recording {
            return;
        }
        let mut state = self.state();
        if state.closed {
            return;
        }
        if state.breadcrumbs.len() >= MAX_BREADCRUMBS {
            state.breadcrumbs.pop_front();
        }
        state.breadcrumbs.push_back(crumb);
    }

    /// The id of one of this invocation's spans.
    pub(crate) fn span_id(&self, index: u32) -> Option<SpanId> {
        self.state().spans.get(index as usize).map(|s| s.span_id)
    }

    /// Ends a span; ending it twice keeps the first end.
    pub(crate) fn end_span(&self, index: u32) {
        let mut state = self.state();
        if let Some(span) = state.spans.get_mut(index as usize) {
            span.end.get_or_insert_with(SystemTime::now);
        }
    }

    /// Runs `f` on one span's record.
    pub(crate) fn with_span<R>(
        &self,
        index: u32,
        f: impl FnOnce(&mut SpanRecord) -> R,
    ) -> Option<R> {
        let mut state = self.state();
        state.spans.get_mut(index as usize).map(f)
    }

    /// The time left until the deadline; `None` without a deadline or past it.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        if self.deadline_ms == 0 {
            return None;
        }
        let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(self.deadline_ms);
        deadline.duration_since(SystemTime::now()).ok()
    }

    /// Closes the invocation into the record the exporter writes. Only the first call
    /// returns it: a timeout report and the handler's own end never export twice.
    pub(crate) fn close(&self) -> Option<Finished> {
        let mut state = self.state();
        if state.closed {
            return None;
        }
        state.closed = true;
        registry::remove(self);
        let state = &mut *state;
        let now = SystemTime::now();
        let outcome = state.outcome.unwrap_or(if state.errors > 0 {
            Outcome::ErrorHandled
        } else {
            Outcome::Success
        });

        let mut unclosed = 0u32;
        for span in state.spans.iter_mut().skip(1) {
            if span.end.is_none() {
                span.end = Some(now);
                span.attributes
                    .push(KeyValue::new(attr::SPAN_UNCLOSED, true));
                unclosed += 1;
            }
        }
        // The root span's name and HTTP attributes come from what the invocation learned.
        let endpoint = state.endpoint.take();
        let method = endpoint
            .as_ref()
            .and_then(|e| e.method.clone())
            .or_else(|| state.http_method.take());
        let root = state.spans.first_mut()?;
        root.end = Some(now);
        if let Some(endpoint) = endpoint {
            if !state.name_fixed {
                root.name = Cow::Owned(match &method {
                    Some(m) => format!("{m} {}", endpoint.path),
                    None => endpoint.path.clone(),
                });
            }
            root.attributes
                .push(KeyValue::new(attr::HTTP_ROUTE, endpoint.path.clone()));
            root.attributes
                .push(KeyValue::new(attr::ENDPOINT, endpoint.path));
        }
        if let Some(m) = method {
            root.attributes
                .push(KeyValue::new(attr::HTTP_REQUEST_METHOD, m));
        }
        if let Some(path) = state.url_path.take() {
            root.attributes.push(KeyValue::new(attr::URL_PATH, path));
        }
        if let Some(code) = state.status_code {
            root.attributes.push(KeyValue::new(
                attr::HTTP_RESPONSE_STATUS_CODE,
                i64::from(code),
            ));
        }
        for tag in state.tags.drain(..) {
            let custom = tag.custom.map(|custom| {
                let mut key = String::with_capacity(tag.key.len() + ".custom".len());
                key.push_str(&tag.key);
                key.push_str(".custom");
                KeyValue::new(key, custom)
            });
            root.attributes.push(KeyValue::new(tag.key, tag.value));
            root.attributes.extend(custom);
        }
        root.attributes
            .push(KeyValue::new(attr::OUTCOME, outcome.as_str()));
        if outcome.is_failure() && matches!(root.status, Status::Unset) {
            root.status = Status::error(outcome.as_str());
        }
        for (key, count) in [
            (attr::SPANS_DROPPED, state.dropped_spans),
            (attr::SPANS_UNCLOSED, unclosed),
            (attr::TAGS_DROPPED, state.dropped_tags),
        ] {
            if count > 0 {
                root.attributes.push(KeyValue::new(key, i64::from(count)));
            }
        }
        Some(Finished {
            trace_id: self.trace_id,
            remote_parent: self.remote_parent,
            sampled: self.sampled,
            sampling_deferred: self.sampling_deferred,
            outcome,
            spans: std::mem::take(&mut state.spans),
        })
    }
}

impl State {
    /// Takes what an HTTP request says: method, path (without query string) and the route
    /// template of the event, which any later endpoint source replaces.
    pub(crate) fn apply_http(&mut self, http: &HttpRequest<'_>) {
        self.http_method = Some(http.method.to_ascii_uppercase());
        self.url_path = Some(source::strip_query(&http.path).to_owned());
        if let Some((method, path)) = &http.route
            && self
                .endpoint
                .as_ref()
                .is_none_or(|e| e.source <= EndpointSource::Event)
        {
            self.endpoint = Some(Endpoint {
                path: path.to_string(),
                method: method.as_deref().map(str::to_ascii_uppercase),
                source: EndpointSource::Event,
            });
        }
    }
}

/// A closed invocation: every span ended, the root span's attributes final. What the
/// exporters write.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) trace_id: TraceId,
    /// The caller's span the root span continues, from the invocation's trace context.
    pub(crate) remote_parent: Option<SpanId>,
    pub(crate) sampled: bool,
    /// See [`Invocation::sampling_deferred`].
    pub(crate) sampling_deferred: bool,
    pub(crate) outcome: Outcome,
    /// The root span first.
    pub(crate) spans: Vec<SpanRecord>,
}

impl Finished {
    /// Symbolises every captured backtrace into its event's `exception.stacktrace`: at
    /// export, after the response.
    pub(crate) fn resolve_backtraces(&mut self) {
        for span in &mut self.spans {
            if !span.backtraces.is_empty() {
                span.resolve_backtraces();
            }
        }
    }

    /// The root span.
    pub(crate) fn root_mut(&mut self) -> Option<&mut SpanRecord> {
        self.spans.first_mut()
    }
}

/// Running invocations by request id, so that `ctx.serverless_sdk()` finds its invocation
/// even from a task the user spawned without propagating the current span.
pub(crate) mod registry {
    use std::sync::{Mutex, PoisonError, Weak};

    use super::{Arc, Invocation};

    static RUNNING: Mutex<Vec<Weak<Invocation>>> = Mutex::new(Vec::new());

    pub(crate) fn insert(inv: &Arc<Invocation>) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|w| w.strong_count() > 0);
        running.push(Arc::downgrade(inv));
    }

    /// Removes `closed`, and every other entry of its request id or no longer running.
    pub(crate) fn remove(closed: &Invocation) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|w| {
            // `closed` itself is known without upgrading its entry (an atomic
            // read-modify-write and its undoing).
            !std::ptr::eq(w.as_ptr(), closed)
                && w.upgrade()
                    .is_some_and(|inv| inv.request_id != closed.request_id)
        });
    }

    pub(crate) fn find(request_id: &str) -> Option<Arc<Invocation>> {
        let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running
            .iter()
            .filter_map(Weak::upgrade)
            .find(|inv| &*inv.request_id == request_id)
    }
}
