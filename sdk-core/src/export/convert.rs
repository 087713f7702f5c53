//! Closed invocations as OpenTelemetry SDK spans, for exporters that take `SpanData`.

use opentelemetry::{
    InstrumentationScope,
    trace::{SpanContext, SpanId, TraceFlags, TraceState},
};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::{attributes as attr, invocation::Finished};

/// The spans of a closed invocation; each `#[span]` function's `code.*` fields become
/// attributes.
pub(crate) fn to_span_data(finished: Finished, scope: &InstrumentationScope) -> Vec<SpanData> {
    let flags = if finished.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let ids: Vec<SpanId> = finished.spans.iter().map(|s| s.span_id).collect();
    let trace_id = finished.trace_id;
    let remote_parent = finished.remote_parent;
    finished
        .spans
        .into_iter()
        .map(|span| {
            let (parent_span_id, parent_span_is_remote) = match span.parent {
                Some(p) => (
                    ids.get(p as usize).copied().unwrap_or(SpanId::INVALID),
                    false,
                ),
                None => match remote_parent {
                    Some(remote) => (remote, true),
                    None => (SpanId::INVALID, false),
                },
            };
            let mut attributes = span.attributes;
            if let Some((function, namespace)) = span.code {
                attributes.splice(
                    0..0,
                    [
                        opentelemetry::KeyValue::new(attr::CODE_FUNCTION, function),
                        opentelemetry::KeyValue::new(attr::CODE_NAMESPACE, namespace),
                    ],
                );
            }
            let mut events = SpanEvents::default();
            events.events = span.events;
            let mut links = SpanLinks::default();
            links.links = span.links;
            SpanData {
                span_context: SpanContext::new(
                    trace_id,
                    span.span_id,
                    flags,
                    false,
                    TraceState::NONE,
                ),
                parent_span_id,
                parent_span_is_remote,
                span_kind: span.kind,
                name: span.name,
                start_time: span.start,
                end_time: span.end.unwrap_or(span.start),
                attributes,
                dropped_attributes_count: span.dropped_attributes,
                events,
                links,
                status: span.status,
                instrumentation_scope: scope.clone(),
            }
        })
        .collect()
}
