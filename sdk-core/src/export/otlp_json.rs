//! The default exporter: one OTLP/JSON `ExportTraceServiceRequest` per invocation, one
//! line on stdout (or a writer of your choice), within CloudWatch Logs' line limit.

use std::{
    fmt, io,
    sync::{Arc, Mutex, PoisonError},
};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::{
    common::tonic::ResourceAttributesWithSchema, trace::tonic::group_spans_by_resource_and_scope,
};
use opentelemetry_sdk::{
    Resource,
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter},
};

use crate::{
    attributes as attr,
    config::{Limits, SharedWriter},
};

/// A [`SpanExporter`] that writes each batch as one OTLP/JSON `ExportTraceServiceRequest`
/// line, the format CloudWatch log pipelines and any OTLP/JSON reader take. Lines longer
/// than the configured limit keep the root span and every failed span, dropping the rest
/// and counting them on the root span as `serverless.export.dropped_spans`.
///
/// ```
/// use opentelemetry_sdk::trace::SpanExporter;
/// use serverless_sdk::export::OtlpJsonExporter;
///
/// let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
/// let exporter = OtlpJsonExporter::new(buffer.clone());
/// # let _ = exporter;
/// ```
pub struct OtlpJsonExporter {
    writer: SharedWriter,
    resource: ResourceAttributesWithSchema,
    max_line_bytes: usize,
}

impl fmt::Debug for OtlpJsonExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpJsonExporter").finish_non_exhaustive()
    }
}

impl OtlpJsonExporter {
    /// An exporter writing to `writer`.
    pub fn new(writer: SharedWriter) -> Self {
        Self {
            writer,
            resource: ResourceAttributesWithSchema::default(),
            max_line_bytes: Limits::default().max_line_bytes,
        }
    }

    /// An exporter writing to stdout.
    #[must_use]
    pub fn stdout() -> Self {
        Self::new(Arc::new(Mutex::new(io::stdout())))
    }

    /// Sets the longest line it writes (see [`Limits::max_line_bytes`]).
    #[must_use]
    pub fn with_max_line_bytes(mut self, max: usize) -> Self {
        self.max_line_bytes = max;
        self
    }

    /// Serialises a batch as one line (without the newline), within the size limit.
    pub(crate) fn encode(&self, batch: Vec<SpanData>) -> Result<Vec<u8>, String> {
        use opentelemetry_proto::tonic::{
            common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value::Value as ProtoValue},
            trace::v1::{Span, status::StatusCode},
        };

        let mut request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let encode = |request: &ExportTraceServiceRequest| {
            serde_json::to_vec(request).map_err(|e| e.to_string())
        };
        let line = encode(&request)?;
        if line.len() <= self.max_line_bytes {
            return Ok(line);
        }
        fn spans(request: &mut ExportTraceServiceRequest) -> impl Iterator<Item = &mut Vec<Span>> {
            request
                .resource_spans
                .iter_mut()
                .flat_map(|r| r.scope_spans.iter_mut())
                .map(|s| &mut s.spans)
        }
        let is_root = |s: &Span| s.attributes.iter().any(|kv| kv.key == attr::OUTCOME);
        let failed = |s: &Span| {
            s.status
                .as_ref()
                .is_some_and(|st| st.code == StatusCode::Error as i32)
        };
        let int = |key: &str, n: i64| ProtoKeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(ProtoValue::IntValue(n)),
            }),
            ..ProtoKeyValue::default()
        };
        // Too large for one log line: keep the roots and the spans that failed.
        let mut dropped = 0usize;
        for list in spans(&mut request) {
            let before = list.len();
            list.retain(|s| is_root(s) || failed(s));
            dropped += before - list.len();
        }
        for list in spans(&mut request) {
            for span in list.iter_mut().filter(|s| is_root(s)) {
                span.attributes.push(int(
                    attr::EXPORT_DROPPED_SPANS,
                    i64::try_from(dropped).unwrap_or(i64::MAX),
                ));
            }
        }
        let line = encode(&request)?;
        if line.len() <= self.max_line_bytes {
            return Ok(line);
        }
        // Still too large (huge attributes): keep each span's identity and status only.
        for list in spans(&mut request) {
            for span in list.iter_mut() {
                span.attributes.retain(|kv| kv.key == attr::OUTCOME);
                span.attributes.push(ProtoKeyValue {
                    key: attr::EXPORT_TRUNCATED.to_owned(),
                    value: Some(AnyValue {
                        value: Some(ProtoValue::BoolValue(true)),
                    }),
                    ..ProtoKeyValue::default()
                });
                span.events.truncate(1);
                for event in &mut span.events {
                    event.attributes.retain(|kv| kv.key == attr::EXCEPTION_TYPE);
                }
            }
        }
        let line = encode(&request)?;
        if line.len() <= self.max_line_bytes {
            Ok(line)
        } else {
            Err(format!(
                "an invocation's telemetry is {} bytes even after truncation (limit {})",
                line.len(),
                self.max_line_bytes
            ))
        }
    }
}

impl SpanExporter for OtlpJsonExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let mut line = self.encode(batch).map_err(OTelSdkError::InternalFailure)?;
        line.push(b'\n');
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer
            .write_all(&line)
            .and_then(|()| writer.flush())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = ResourceAttributesWithSchema::from(resource);
    }
}
