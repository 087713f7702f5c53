//! The invocation scope: everything recorded while one invocation runs, and its conversion
//! into OpenTelemetry spans when it ends.

use std::{
    borrow::Cow,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use opentelemetry::{
    KeyValue,
    trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState},
};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::{attributes as attr, config, current::Current, trace_context::TraceParent};

/// How an invocation ended, as recorded in [`attributes::OUTCOME`](crate::attributes::OUTCOME).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// The handler returned normally and nothing was captured.
    Success,
    /// An error was captured, or the SDK turned a failure into a well-formed response.
    ErrorHandled,
    /// The handler failed and Lambda saw the failure.
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
}

/// The event source of an invocation, as in OpenTelemetry's `faas.trigger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerKind {
    /// API Gateway, ALB, Function URLs.
    Http,
    /// SQS, SNS, EventBridge and other messaging sources.
    PubSub,
    /// S3, DynamoDB streams and other data sources.
    Datasource,
    /// Scheduled events.
    Timer,
    /// Anything else, including direct invocations.
    Other,
}

impl TriggerKind {
    /// The `faas.trigger` value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::PubSub => "pubsub",
            Self::Datasource => "datasource",
            Self::Timer => "timer",
            Self::Other => "other",
        }
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

/// One span of an invocation, as recorded; converted to [`SpanData`] at the end.
pub(crate) struct SpanRecord {
    pub(crate) span_id: SpanId,
    pub(crate) parent: Option<u32>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: SpanKind,
    pub(crate) start: SystemTime,
    pub(crate) end: Option<SystemTime>,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) events: Vec<Event>,
    pub(crate) status: Status,
}

impl SpanRecord {
    fn new(parent: Option<u32>, name: Cow<'static, str>, kind: SpanKind) -> Self {
        Self {
            span_id: new_span_id(),
            parent,
            name,
            kind,
            start: SystemTime::now(),
            end: None,
            attributes: Vec::new(),
            events: Vec::new(),
            status: Status::Unset,
        }
    }
}

pub(crate) fn new_span_id() -> SpanId {
    // Zero is the invalid span id.
    SpanId::from(fastrand::u64(1..))
}

fn new_trace_id() -> TraceId {
    TraceId::from(fastrand::u128(1..))
}

/// A tag set with `tag_event`.
#[derive(Clone, Debug)]
pub(crate) struct Tag {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) custom: Option<String>,
}

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
    pub(crate) breadcrumbs: std::collections::VecDeque<String>,
    pub(crate) finished: bool,
}

/// Everything known about one running invocation.
pub(crate) struct Invocation {
    pub(crate) request_id: Box<str>,
    pub(crate) trace_id: TraceId,
    pub(crate) remote_parent: Option<SpanId>,
    pub(crate) sampled: bool,
    pub(crate) deadline_ms: u64,
    pub(crate) started: SystemTime,
    state: Mutex<State>,
}

/// What an invocation starts from: the Lambda context and what the trigger knows.
pub(crate) struct Begin<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) deadline_ms: u64,
    pub(crate) invoked_arn: &'a str,
    pub(crate) xray_trace_id: Option<&'a str>,
    pub(crate) traceparent: Option<&'a str>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) trigger: TriggerKind,
    pub(crate) kind: SpanKind,
}

static COLD_START: AtomicBool = AtomicBool::new(true);

/// Whether the next invocation is the first of this process.
pub(crate) fn take_cold_start() -> bool {
    COLD_START.swap(false, Ordering::Relaxed)
}

impl Invocation {
    /// Opens an invocation: its trace context, root span and registry entry.
    pub(crate) fn begin(begin: Begin<'_>) -> Arc<Self> {
        let parent = begin
            .traceparent
            .and_then(TraceParent::from_w3c)
            .or_else(|| begin.xray_trace_id.and_then(TraceParent::from_xray));
        let (trace_id, remote_parent, sampled) = match parent {
            Some(p) => (p.trace_id, p.span_id, p.sampled),
            None => (new_trace_id(), None, true),
        };
        let mut root = SpanRecord::new(None, begin.name, begin.kind);
        root.attributes.reserve(12);
        root.attributes.extend([
            KeyValue::new(attr::FAAS_INVOCATION_ID, begin.request_id.to_owned()),
            KeyValue::new(attr::FAAS_COLDSTART, take_cold_start()),
            KeyValue::new(attr::FAAS_TRIGGER, begin.trigger.as_str()),
            KeyValue::new(attr::CLOUD_RESOURCE_ID, begin.invoked_arn.to_owned()),
        ]);
        let started = root.start;
        let mut spans = Vec::with_capacity(8);
        spans.push(root);
        let inv = Arc::new(Self {
            request_id: begin.request_id.into(),
            trace_id,
            remote_parent,
            sampled,
            deadline_ms: begin.deadline_ms,
            started,
            state: Mutex::new(State {
                spans,
                ..State::default()
            }),
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
        let mut state = self.state();
        if state.finished || state.spans.len() >= config::limits().max_spans {
            state.dropped_spans += 1;
            return None;
        }
        let mut record = SpanRecord::new(Some(parent), name, kind);
        if let Some((function, namespace)) = code {
            record.attributes.reserve(2);
            record
                .attributes
                .push(KeyValue::new(attr::CODE_FUNCTION, function));
            record
                .attributes
                .push(KeyValue::new(attr::CODE_NAMESPACE, namespace));
        }
        let index = u32::try_from(state.spans.len()).ok()?;
        state.spans.push(record);
        Some(index)
    }

    /// Keeps a breadcrumb, dropping the oldest past the cap.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn add_breadcrumb(&self, crumb: String) {
        const MAX_BREADCRUMBS: usize = 32;
        let mut state = self.state();
        if state.finished {
            return;
        }
        if state.breadcrumbs.len() >= MAX_BREADCRUMBS {
            state.breadcrumbs.pop_front();
        }
        state.breadcrumbs.push_back(crumb);
    }

    /// The id of one of this invocation's spans.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
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

    /// Raises the outcome to at least `outcome`.
    pub(crate) fn raise_outcome(state: &mut State, outcome: Outcome) {
        if state.outcome.is_none_or(|o| o < outcome) {
            state.outcome = Some(outcome);
        }
    }

    /// The time left until the deadline.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(self.deadline_ms);
        deadline.duration_since(SystemTime::now()).ok()
    }

    /// Closes the invocation and converts it to spans for the exporter. Only the first call
    /// returns spans: a timeout report and the handler's own end never export twice.
    pub(crate) fn finish(&self) -> Option<Vec<SpanData>> {
        let mut state = self.state();
        if state.finished {
            return None;
        }
        state.finished = true;
        let state = &mut *state;
        registry::remove(&self.request_id);
        let now = SystemTime::now();
        let outcome = state.outcome.unwrap_or(if state.errors > 0 {
            Outcome::ErrorHandled
        } else {
            Outcome::Success
        });

        // The root span's name and HTTP attributes come from what the invocation learned.
        let endpoint = state.endpoint.clone();
        let method = endpoint
            .as_ref()
            .and_then(|e| e.method.clone())
            .or_else(|| state.http_method.clone());
        let mut unclosed = 0u32;
        for span in state.spans.iter_mut().skip(1) {
            if span.end.is_none() {
                span.end = Some(now);
                span.attributes
                    .push(KeyValue::new(attr::SPAN_UNCLOSED, true));
                unclosed += 1;
            }
        }
        let root = state.spans.first_mut()?;
        root.end = Some(now);
        if let Some(endpoint) = &endpoint {
            if !state.name_fixed {
                root.name = match &method {
                    Some(m) => Cow::Owned(format!("{m} {}", endpoint.path)),
                    None => Cow::Owned(endpoint.path.clone()),
                };
            }
            root.attributes
                .push(KeyValue::new(attr::HTTP_ROUTE, endpoint.path.clone()));
            root.attributes
                .push(KeyValue::new(attr::ENDPOINT, endpoint.path.clone()));
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
            root.attributes.push(KeyValue::new(
                format!("{}{}", attr::TAG_PREFIX, tag.name),
                tag.value,
            ));
            if let Some(custom) = tag.custom {
                root.attributes.push(KeyValue::new(
                    format!("{}{}.custom", attr::TAG_PREFIX, tag.name),
                    custom,
                ));
            }
        }
        root.attributes
            .push(KeyValue::new(attr::OUTCOME, outcome.as_str()));
        if matches!(
            outcome,
            Outcome::ErrorHandled | Outcome::ErrorUnhandled | Outcome::Timeout | Outcome::InitError
        ) && matches!(root.status, Status::Unset)
        {
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

        let flags = if self.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let ids: Vec<SpanId> = state.spans.iter().map(|s| s.span_id).collect();
        let scope = crate::export::scope();
        let spans = state
            .spans
            .drain(..)
            .map(|span| {
                let (parent_span_id, parent_is_remote) = match span.parent {
                    Some(p) => (
                        ids.get(p as usize).copied().unwrap_or(SpanId::INVALID),
                        false,
                    ),
                    None => match self.remote_parent {
                        Some(remote) => (remote, true),
                        None => (SpanId::INVALID, false),
                    },
                };
                let mut events = SpanEvents::default();
                events.events = span.events;
                SpanData {
                    span_context: SpanContext::new(
                        self.trace_id,
                        span.span_id,
                        flags,
                        false,
                        TraceState::NONE,
                    ),
                    parent_span_id,
                    parent_span_is_remote: parent_is_remote,
                    span_kind: span.kind,
                    name: span.name,
                    start_time: span.start,
                    end_time: span.end.unwrap_or(now),
                    attributes: span.attributes,
                    dropped_attributes_count: 0,
                    events,
                    links: SpanLinks::default(),
                    status: span.status,
                    instrumentation_scope: scope.clone(),
                }
            })
            .collect();
        Some(spans)
    }
}

/// Running invocations by request id, so that `ctx.serverless_sdk()` finds its invocation
/// even from a task the user spawned without propagating the current span.
pub(crate) mod registry {
    use super::{Arc, Invocation, Mutex, PoisonError, Weak};

    static RUNNING: Mutex<Vec<Weak<Invocation>>> = Mutex::new(Vec::new());

    pub(crate) fn insert(inv: &Arc<Invocation>) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|w| w.strong_count() > 0);
        running.push(Arc::downgrade(inv));
    }

    pub(crate) fn remove(request_id: &str) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|w| {
            w.upgrade()
                .is_some_and(|inv| &*inv.request_id != request_id)
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
