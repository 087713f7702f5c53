//! What the built-in encoders write, read straight from a closed invocation's records: the
//! spans a [`Plan`] keeps, each span's attributes in order (its `code.*` pair first), ids,
//! flags and times as OTLP has them. `json.rs` and `proto.rs` walk these views; nothing is
//! copied into OpenTelemetry or protobuf structs on the way.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::{
    KeyValue, Value,
    trace::{Event, Link, SpanId, SpanKind, Status},
};

use crate::{
    attributes as attr,
    invocation::{Finished, SpanRecord},
};

/// Which spans and attributes an encoding keeps: everything, or, when a line would be too
/// long, less (see `OtlpJsonExporter`'s fallbacks, which these reproduce).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Every span, every attribute.
    All,
    /// The root span and the spans that failed; the root counts the others in
    /// `serverless.export.dropped_spans`.
    RootsAndFailed { dropped: usize },
    /// [`Plan::RootsAndFailed`], each span with its identity, status and outcome only
    /// (`serverless.export.truncated`), and its first event with its `exception.type` only.
    Identity { dropped: usize },
}

impl Plan {
    /// The plan that keeps the roots and failed spans of `finished`.
    pub(crate) fn roots_and_failed(finished: &Finished) -> Self {
        let kept = finished.spans.iter().filter(|s| keeps_reduced(s)).count();
        Self::RootsAndFailed {
            dropped: finished.spans.len() - kept,
        }
    }

    fn keeps(self, span: &SpanRecord) -> bool {
        match self {
            Self::All => true,
            Self::RootsAndFailed { .. } | Self::Identity { .. } => keeps_reduced(span),
        }
    }

    fn dropped(self) -> Option<usize> {
        match self {
            Self::All => None,
            Self::RootsAndFailed { dropped } | Self::Identity { dropped } => Some(dropped),
        }
    }

    fn identity(self) -> bool {
        matches!(self, Self::Identity { .. })
    }

    /// The next, smaller plan; `None` after [`Plan::Identity`].
    pub(crate) fn smaller(self, finished: &Finished) -> Option<Self> {
        match self {
            Self::All => Some(Self::roots_and_failed(finished)),
            Self::RootsAndFailed { dropped } => Some(Self::Identity { dropped }),
            Self::Identity { .. } => None,
        }
    }
}

fn keeps_reduced(span: &SpanRecord) -> bool {
    span.parent.is_none() || matches!(span.status, Status::Error { .. })
}

/// One invocation as the encoders see it.
pub(crate) struct InvocationView<'a> {
    pub(crate) finished: &'a Finished,
    pub(crate) plan: Plan,
}

impl<'a> InvocationView<'a> {
    pub(crate) fn new(finished: &'a Finished, plan: Plan) -> Self {
        Self { finished, plan }
    }

    /// The trace id's bytes.
    pub(crate) fn trace_id(&self) -> [u8; 16] {
        self.finished.trace_id.to_bytes()
    }

    /// The spans this plan keeps, root first.
    pub(crate) fn spans(&self) -> impl Iterator<Item = SpanView<'a>> + '_ {
        let finished = self.finished;
        let plan = self.plan;
        finished
            .spans
            .iter()
            .filter(move |s| plan.keeps(s))
            .map(move |span| {
                let (parent, remote) = match span.parent {
                    Some(p) => (
                        finished
                            .spans
                            .get(p as usize)
                            .map(|s| s.span_id)
                            .filter(|id| *id != SpanId::INVALID),
                        false,
                    ),
                    None => (finished.remote_parent, finished.remote_parent.is_some()),
                };
                SpanView {
                    span,
                    parent,
                    flags: span_flags(finished.sampled, remote),
                    plan,
                }
            })
    }
}

/// OTLP's span flags: the W3C trace flags (sampled) and whether the parent is remote
/// (`SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`, `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`).
pub(crate) fn span_flags(sampled: bool, parent_is_remote: bool) -> u32 {
    0x100 | u32::from(sampled) | if parent_is_remote { 0x200 } else { 0 }
}

/// Nanoseconds since the Unix epoch; 0 before it.
pub(crate) fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// OTLP's span kind number.
pub(crate) fn kind_number(kind: &SpanKind) -> i32 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// OTLP's status code and message; `None` for an unset status (OTLP's default).
pub(crate) fn status_parts(status: &Status) -> Option<(i32, &str)> {
    match status {
        Status::Unset => None,
        Status::Ok => Some((1, "")),
        Status::Error { description } => Some((2, description.as_ref())),
    }
}

/// One span as the encoders see it.
pub(crate) struct SpanView<'a> {
    pub(crate) span: &'a SpanRecord,
    /// The parent span's id; `None` for a root without a remote parent.
    pub(crate) parent: Option<SpanId>,
    pub(crate) flags: u32,
    plan: Plan,
}

/// An attribute as written: one of the span's own, or one the SDK adds on the way out.
pub(crate) enum Attr<'a> {
    Kv(&'a KeyValue),
    Str(&'static str, &'a str),
    Int(&'static str, i64),
    Bool(&'static str, bool),
}

/// An attribute value, borrowed.
#[derive(Clone, Copy)]
pub(crate) enum ValueRef<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Double(f64),
    Array(&'a opentelemetry::Array),
    /// A kind of value this version of the SDK does not know: written as its text.
    Other(&'a Value),
}

impl<'a> Attr<'a> {
    pub(crate) fn key(&self) -> &'a str {
        match self {
            Self::Kv(kv) => kv.key.as_str(),
            Self::Str(k, _) | Self::Int(k, _) | Self::Bool(k, _) => k,
        }
    }

    pub(crate) fn value(&self) -> ValueRef<'a> {
        match self {
            Self::Kv(kv) => ValueRef::of(&kv.value),
            Self::Str(_, v) => ValueRef::Str(v),
            Self::Int(_, v) => ValueRef::Int(*v),
            Self::Bool(_, v) => ValueRef::Bool(*v),
        }
    }
}

/// Calls `f` with each element of `array`, in order. An array of a kind this version of the
/// SDK does not know is one element: its text, given to `f` as a string.
pub(crate) fn for_each_element(array: &opentelemetry::Array, mut f: impl FnMut(ValueRef<'_>)) {
    use opentelemetry::Array;
    match array {
        Array::Bool(v) => v.iter().for_each(|b| f(ValueRef::Bool(*b))),
        Array::I64(v) => v.iter().for_each(|i| f(ValueRef::Int(*i))),
        Array::F64(v) => v.iter().for_each(|d| f(ValueRef::Double(*d))),
        Array::String(v) => v.iter().for_each(|s| f(ValueRef::Str(s.as_str()))),
        other => f(ValueRef::Str(&other.to_string())),
    }
}

impl<'a> ValueRef<'a> {
    pub(crate) fn of(value: &'a Value) -> Self {
        match value {
            Value::String(s) => Self::Str(s.as_str()),
            Value::I64(i) => Self::Int(*i),
            Value::Bool(b) => Self::Bool(*b),
            Value::F64(f) => Self::Double(*f),
            Value::Array(a) => Self::Array(a),
            other => Self::Other(other),
        }
    }
}

impl<'a> SpanView<'a> {
    pub(crate) fn is_root(&self) -> bool {
        self.span.parent.is_none()
    }

    /// Calls `f` with each attribute written, in order: `code.function` and
    /// `code.namespace` of a `#[span]` function, the span's own, then what a smaller plan
    /// adds.
    #[inline]
    pub(crate) fn for_each_attribute(&self, mut f: impl FnMut(Attr<'a>)) {
        let span = self.span;
        let identity = self.plan.identity();
        if !identity {
            if let Some((function, namespace)) = span.code {
                f(Attr::Str(attr::CODE_FUNCTION, function));
                f(Attr::Str(attr::CODE_NAMESPACE, namespace));
            }
            span.attributes.iter().for_each(|kv| f(Attr::Kv(kv)));
        } else {
            span.attributes
                .iter()
                .filter(|kv| kv.key.as_str() == attr::OUTCOME)
                .for_each(|kv| f(Attr::Kv(kv)));
        }
        if let Some(dropped) = self.plan.dropped().filter(|_| self.is_root()) {
            f(Attr::Int(
                attr::EXPORT_DROPPED_SPANS,
                i64::try_from(dropped).unwrap_or(i64::MAX),
            ));
        }
        if identity {
            f(Attr::Bool(attr::EXPORT_TRUNCATED, true));
        }
    }

    /// The events written.
    pub(crate) fn events(&self) -> impl Iterator<Item = EventView<'a>> + 'a {
        let identity = self.plan.identity();
        let take = if identity { 1 } else { usize::MAX };
        self.span
            .events
            .iter()
            .take(take)
            .map(move |event| EventView { event, identity })
    }

    pub(crate) fn has_events(&self) -> bool {
        !self.span.events.is_empty()
    }

    pub(crate) fn links(&self) -> &'a [Link] {
        &self.span.links
    }

    pub(crate) fn start(&self) -> u64 {
        nanos(self.span.start)
    }

    pub(crate) fn end(&self) -> u64 {
        nanos(self.span.end.unwrap_or(self.span.start))
    }
}

/// One event as the encoders see it.
pub(crate) struct EventView<'a> {
    pub(crate) event: &'a Event,
    identity: bool,
}

impl<'a> EventView<'a> {
    pub(crate) fn attributes(&self) -> impl Iterator<Item = &'a KeyValue> + 'a {
        let identity = self.identity;
        let event = self.event;
        event
            .attributes
            .iter()
            .filter(move |kv| !identity || kv.key.as_str() == attr::EXCEPTION_TYPE)
    }

    pub(crate) fn dropped_attributes(&self) -> u32 {
        if self.identity {
            0
        } else {
            self.event.dropped_attributes_count
        }
    }
}

/// The flags of a link: the linked span's trace flags and whether it is remote.
pub(crate) fn link_flags(link: &Link) -> u32 {
    let base = u32::from(link.span_context.trace_flags().to_u8());
    0x100
        | base
        | if link.span_context.is_remote() {
            0x200
        } else {
            0
        }
}

/// Hex digits of `bytes`, lowercase, into `out` (twice as long).
pub(crate) fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
}
