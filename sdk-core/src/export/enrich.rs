//! What is known only after the response: the process's peak memory next to the
//! configured memory (with a warning past 90%), and the CloudWatch metrics line that makes
//! handled failures visible. Added off the response path, just before export.

use std::{sync::OnceLock, time::SystemTime};

use opentelemetry::{KeyValue, Value, trace::Event};

use crate::{
    attributes as attr,
    invocation::{Finished, Outcome, SpanRecord},
};

/// The process's peak resident memory in bytes (`VmHWM`), on Linux.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn memory_limit_bytes() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|mb| mb * 1024 * 1024)
    })
}

/// Adds the peak memory to the root span and writes the metrics line when `emf_metrics`,
/// with whether sampling `kept` the invocation's trace.
pub(crate) fn after_response(finished: &mut Finished, emf_metrics: bool, kept: bool) {
    let outcome = finished.outcome;
    let Some(root) = finished.root_mut() else {
        return;
    };
    if let Some(peak) = peak_rss_bytes() {
        let as_i64 = |b: u64| i64::try_from(b).unwrap_or(i64::MAX);
        root.attributes
            .push(KeyValue::new(attr::MEMORY_PEAK_BYTES, as_i64(peak)));
        if let Some(limit) = memory_limit_bytes() {
            root.attributes
                .push(KeyValue::new(attr::MEMORY_LIMIT_BYTES, as_i64(limit)));
            if peak * 10 > limit * 9 {
                root.events.push(Event::new(
                    attr::WARNING_EVENT,
                    SystemTime::now(),
                    vec![
                        KeyValue::new(
                            attr::MESSAGE,
                            format!(
                                "peak memory {} MB is over 90% of the configured {} MB: the function is close to being killed for running out of memory",
                                peak / (1024 * 1024),
                                limit / (1024 * 1024)
                            ),
                        ),
                        KeyValue::new(attr::LEVEL, "warn"),
                    ],
                    0,
                ));
            }
        }
    }
    if emf_metrics {
        emit_metrics(root, outcome, kept);
    }
}

fn attribute<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// One CloudWatch Embedded Metric Format line: errors, cold starts and duration by
/// function and endpoint, so handled 500s still show in a metric; `TracesKept` and
/// `TracesDropped` (1 or 0 in each line) count what sampling did with the traces.
fn emit_metrics(root: &SpanRecord, outcome: Outcome, kept: bool) {
    let function =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "unknown".to_owned());
    let endpoint = attribute(root, attr::HTTP_ROUTE)
        .map_or_else(|| "none".to_owned(), |v| v.as_str().into_owned());
    let cold = matches!(
        attribute(root, attr::FAAS_COLDSTART),
        Some(Value::Bool(true))
    );
    let end = root.end.unwrap_or(root.start);
    let duration_ms = end
        .duration_since(root.start)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let timestamp = end
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": u64::try_from(timestamp).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{
                "Namespace": "ServerlessSDK",
                "Dimensions": [["FunctionName"], ["FunctionName", "Endpoint"]],
                "Metrics": [
                    { "Name": "Errors", "Unit": "Count" },
                    { "Name": "ColdStart", "Unit": "Count" },
                    { "Name": "Duration", "Unit": "Milliseconds" },
                    { "Name": "TracesKept", "Unit": "Count" },
                    { "Name": "TracesDropped", "Unit": "Count" }
                ]
            }]
        },
        "FunctionName": function,
        "Endpoint": endpoint,
        "Outcome": outcome.as_str(),
        "Errors": u8::from(outcome.is_failure()),
        "ColdStart": u8::from(cold),
        "Duration": duration_ms,
        "TracesKept": u8::from(kept),
        "TracesDropped": u8::from(!kept),
    });
    println!("{line}");
}
