//! A closed invocation's records as the waterfall's spans.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, Status};

use super::waterfall::{WaterfallException, WaterfallSpan};
use crate::{attributes as attr, invocation::Finished};

/// Every span of `finished`, the root first; the root's parent is the remote caller's span,
/// which is not among them.
pub(super) fn waterfall(finished: &Finished) -> Vec<WaterfallSpan> {
    let trace_id = finished.trace_id.to_string();
    let hex = |id: SpanId| {
        if id == SpanId::INVALID {
            String::new()
        } else {
            id.to_string()
        }
    };
    finished
        .spans
        .iter()
        .map(|span| {
            let parent = match span.parent {
                Some(p) => finished
                    .spans
                    .get(p as usize)
                    .map(|parent| hex(parent.span_id))
                    .unwrap_or_default(),
                None => finished.remote_parent.map(hex).unwrap_or_default(),
            };
            let (error, status_message) = match &span.status {
                Status::Error { description } => (true, description.to_string()),
                _ => (false, String::new()),
            };
            let exceptions = span
                .events
                .iter()
                .filter(|event| event.name == attr::EXCEPTION_EVENT)
                .map(|event| {
                    let text =
                        |key: &str| attr::text_of(&event.attributes, key).unwrap_or_default();
                    WaterfallException {
                        kind: text(attr::EXCEPTION_TYPE),
                        message: text(attr::EXCEPTION_MESSAGE),
                        stacktrace: text(attr::EXCEPTION_STACKTRACE),
                    }
                })
                .collect();
            WaterfallSpan {
                trace_id: trace_id.clone(),
                span_id: hex(span.span_id),
                parent_span_id: parent,
                name: span.name.to_string(),
                start_unix_nano: unix_nanos(span.start),
                end_unix_nano: unix_nanos(span.end.unwrap_or(span.start)),
                error,
                status_message,
                attributes: span
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
                    .collect(),
                exceptions,
            }
        })
        .collect()
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
