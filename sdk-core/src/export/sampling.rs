//! Sampling, decided once per invocation at its end, when the SDK holds all of it: a
//! failed invocation is always kept with every span; a successful one is kept when the
//! configured OpenTelemetry sampler says so, asked about the root span with the trace
//! context the invocation arrived with (X-Ray `Sampled=`, W3C flags) as its remote parent.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::{
    Context,
    trace::{SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceState},
};
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};

use crate::{attributes as attr, invocation::Finished};

static KEPT: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Invocations kept and dropped by sampling so far in this process. Every invocation is
/// counted once, kept when no sampler is configured; a failed invocation is always kept.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use lambda_runtime::{Context, LambdaEvent};
/// use opentelemetry_sdk::trace::Sampler;
/// use serverless_sdk::{Config, export::Exporter, serverless_handler};
///
/// #[serverless_handler]
/// async fn handler(event: LambdaEvent<bool>) -> Result<(), std::io::Error> {
///     match event.payload {
///         true => Ok(()),
///         false => Err(std::io::Error::other("the order was refused")),
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // A sampler that keeps no successful invocation.
/// serverless_sdk::init(
///     Config::from_env()
///         .with_sampler(Sampler::AlwaysOff)
///         .with_exporter(Exporter::Writer(Arc::new(Mutex::new(std::io::sink())))),
/// );
/// for succeeds in [true, true, true, false] {
///     let _ = handler(LambdaEvent::new(succeeds, Context::default())).await;
/// }
/// let (kept, dropped) = serverless_sdk::export::sampling_stats();
/// assert_eq!(kept, 1, "the failed invocation is kept whatever the sampler says");
/// assert_eq!(dropped, 3, "the successful ones are dropped");
/// # });
/// ```
#[must_use]
pub fn sampling_stats() -> (u64, u64) {
    (
        KEPT.load(Ordering::Relaxed),
        DROPPED.load(Ordering::Relaxed),
    )
}

/// Whether `finished` failed in any way: its outcome (a captured error, an `Err`, a panic,
/// a timeout, an init or unmarshal error, a 5xx), a span ended in error, or a 5xx status.
fn failed(finished: &Finished) -> bool {
    finished.outcome.is_failure()
        || finished
            .spans
            .iter()
            .any(|span| matches!(span.status, Status::Error { .. }))
        || finished.spans.first().is_some_and(|root| {
            root.attributes.iter().any(|kv| {
                kv.key.as_str() == attr::HTTP_RESPONSE_STATUS_CODE
                    && matches!(kv.value, opentelemetry::Value::I64(code) if code >= 500)
            })
        })
}

/// The trace context the invocation arrived with, as the remote parent a sampler sees;
/// `None` when it arrived with none (its trace id is its own, and it counts as sampled) or
/// with X-Ray's `Sampled=?`, which leaves the decision to this function: a parent-based
/// sampler then decides with its root sampler.
fn parent(finished: &Finished) -> Option<Context> {
    if finished.sampling_deferred || (finished.remote_parent.is_none() && finished.sampled) {
        return None;
    }
    let flags = if finished.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Some(Context::new().with_remote_span_context(SpanContext::new(
        finished.trace_id,
        finished.remote_parent.unwrap_or(SpanId::INVALID),
        flags,
        true,
        TraceState::default(),
    )))
}

/// Decides whether `finished` is exported, and counts the decision. A sampler that panics
/// keeps the invocation.
pub(crate) fn keep(sampler: Option<&dyn ShouldSample>, finished: &Finished) -> bool {
    let keep = match sampler {
        None => true,
        Some(_) if failed(finished) => true,
        Some(sampler) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let parent = parent(finished);
            let Some(root) = finished.spans.first() else {
                return true;
            };
            let result = sampler.should_sample(
                parent.as_ref(),
                finished.trace_id,
                &root.name,
                &root.kind,
                &root.attributes,
                &root.links,
            );
            result.decision == SamplingDecision::RecordAndSample
        }))
        .unwrap_or(true),
    };
    if keep { &KEPT } else { &DROPPED }.fetch_add(1, Ordering::Relaxed);
    keep
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use opentelemetry::trace::{SpanKind, TraceId};
    use opentelemetry_sdk::trace::Sampler;

    use super::*;
    use crate::invocation::{Outcome, SpanRecord};

    fn invocation(trace_id: u128, outcome: Outcome, parent: Option<(u64, bool)>) -> Finished {
        let now = SystemTime::now();
        let root = SpanRecord::ended(1, None, "root", SpanKind::Server, (now, now));
        Finished {
            trace_id: TraceId::from(trace_id),
            remote_parent: parent.map(|(span, _)| SpanId::from(span)),
            sampled: parent.is_none_or(|(_, sampled)| sampled),
            sampling_deferred: false,
            outcome,
            spans: vec![root],
        }
    }

    /// A trace id whose lower half, as the ratio sampler reads it, is `share` of the range.
    fn trace_id_at(share: f64) -> u128 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let low = (share * (1u64 << 63) as f64) as u64;
        (1 << 64) | u128::from(low << 1)
    }

    #[test]
    fn no_sampler_keeps_everything() {
        assert!(keep(
            None,
            &invocation(1, Outcome::Success, Some((1, false)))
        ));
    }

    #[test]
    fn the_ratio_keeps_successes_by_trace_id_and_every_failure() {
        let ratio = Sampler::TraceIdRatioBased(0.1);
        let low = trace_id_at(0.05);
        let high = trace_id_at(0.5);
        assert!(keep(Some(&ratio), &invocation(low, Outcome::Success, None)));
        assert!(!keep(
            Some(&ratio),
            &invocation(high, Outcome::Success, None)
        ));
        for outcome in [
            Outcome::ErrorHandled,
            Outcome::ErrorUnhandled,
            Outcome::Timeout,
            Outcome::InitError,
        ] {
            assert!(
                keep(Some(&ratio), &invocation(high, outcome, None)),
                "{outcome:?}"
            );
        }
        let mut failed_span = invocation(high, Outcome::Success, None);
        failed_span.spans[0].status = Status::error("boom");
        assert!(keep(Some(&ratio), &failed_span));
        let mut server_error = invocation(high, Outcome::Success, None);
        server_error.spans[0]
            .attributes
            .push(opentelemetry::KeyValue::new(
                attr::HTTP_RESPONSE_STATUS_CODE,
                503_i64,
            ));
        assert!(keep(Some(&ratio), &server_error));
    }

    #[test]
    fn parent_based_follows_the_callers_flag_for_successes_only() {
        let sampler = Sampler::ParentBased(Box::new(Sampler::AlwaysOff));
        let high = trace_id_at(0.5);
        assert!(keep(
            Some(&sampler),
            &invocation(high, Outcome::Success, Some((7, true)))
        ));
        assert!(!keep(
            Some(&sampler),
            &invocation(high, Outcome::Success, Some((7, false)))
        ));
        // X-Ray `Root=…;Sampled=0` without a parent id is still the caller's decision.
        let mut no_parent_id = invocation(high, Outcome::Success, None);
        no_parent_id.sampled = false;
        assert!(!keep(Some(&sampler), &no_parent_id));
        // No trace context: the root sampler (here always_off) decides.
        assert!(!keep(
            Some(&sampler),
            &invocation(high, Outcome::Success, None)
        ));
        assert!(keep(
            Some(&sampler),
            &invocation(high, Outcome::Timeout, Some((7, false)))
        ));
    }

    #[test]
    fn xray_sampled_unknown_leaves_the_decision_to_the_root_sampler() {
        let high = trace_id_at(0.5);
        let mut deferred = invocation(high, Outcome::Success, Some((7, true)));
        deferred.sampling_deferred = true;
        // The caller's `Sampled=?` is no decision to follow: the root sampler decides.
        let drop_roots = Sampler::ParentBased(Box::new(Sampler::AlwaysOff));
        assert!(!keep(Some(&drop_roots), &deferred));
        let keep_roots = Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
        assert!(keep(Some(&keep_roots), &deferred));
        // A failure is kept whatever the sampler.
        deferred.outcome = Outcome::ErrorUnhandled;
        assert!(keep(Some(&drop_roots), &deferred));
    }
}
