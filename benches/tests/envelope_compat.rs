//! `Exporter::OtlpStdout` against `otlp-stdout-span-exporter` 0.18 itself: the envelope the
//! forwarder reads is the same JSON object, and its payload the same spans.
//!
//! The SDK exports one invocation (a root with a tag, async and sync child spans, a captured
//! error) as an envelope line. The spans that payload holds are handed, as OpenTelemetry
//! `SpanData` with the same resource and scope, to the peer crate's exporter, which writes its
//! own line. Both lines are decoded as the forwarder decodes them (JSON, base64, gunzip,
//! protobuf with the official types) and compared: the same keys in the same order with the
//! same values (the payload aside), and the same `ExportTraceServiceRequest` (resource
//! attributes compared as a set, as a resource is one). The SDK's spans are also checked
//! against what the handler did, so that a span the SDK's encoder lost cannot make both sides
//! equal by being absent from both.
//!
//! The test runs in a child process of itself, with `OTEL_SERVICE_NAME` set: both exporters
//! read it for `source`, and a test must not change its own environment.
#![allow(clippy::unwrap_used)]

use std::{
    io,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use lambda_runtime::LambdaEvent;
use opentelemetry_032::{
    Array, InstrumentationScope, KeyValue, StringValue, Value as OtelValue,
    trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState},
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value},
    trace::v1::{Span, Status as ProtoStatus, status::StatusCode},
};
use opentelemetry_sdk_032::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use otlp_stdout_span_exporter::{BufferOutput, OtlpStdoutSpanExporter, Output};
use serde_json::{Value, json};
use serverless_sdk::{
    Config, capture_exception, export::Exporter, serverless_handler, span, tag_event,
};
use serverless_sdk_benches::event;
use serverless_sdk_tests::otlp::{Envelope, FlatSpan, parse_envelope_line};

const CHILD: &str = "ENVELOPE_COMPAT_CHILD";
const SERVICE: &str = "compat-checkout";

#[derive(Debug, thiserror::Error)]
#[error("card declined: {0}")]
struct CardDeclined(String);

#[span("db.load")]
async fn load(i: u64) -> u64 {
    i + 1
}

#[span("pricing")]
fn price(i: u64) -> u64 {
    if i == 2 {
        capture_exception(&CardDeclined("insufficient funds".into()));
    }
    i * 3
}

#[serverless_handler]
async fn checkout(event: LambdaEvent<Value>) -> Result<Value, io::Error> {
    tag_event(
        "customer-id",
        "42",
        json!({ "plan": event.payload["plan"] }),
    );
    let mut total = 0;
    for i in 0..2 {
        total += load(i).await;
    }
    for i in 0..3 {
        total += price(i);
    }
    Ok(json!({ "total": total }))
}

/// The test: runs [`compare`] in a child process with the service name set.
#[test]
fn envelope_matches_otlp_stdout_span_exporter() {
    if std::env::var_os(CHILD).is_some() {
        compare();
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "envelope_matches_otlp_stdout_span_exporter",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("OTEL_SERVICE_NAME", SERVICE)
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .env_remove("OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL")
        .env_remove("OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the comparison failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A writer the SDK's envelope lines go to.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn compare() {
    let lines = Lines::default();
    assert!(serverless_sdk::init(Config::from_env().with_exporter(
        Exporter::OtlpStdoutWriter(Arc::new(Mutex::new(lines.clone())))
    )));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(checkout(event())).unwrap();
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let sdk_lines: Vec<&str> = text.lines().collect();
    assert_eq!(sdk_lines.len(), 1, "one line per invocation:\n{text}");
    let sdk = parse_envelope_line(sdk_lines[0]).unwrap().unwrap();
    assert_what_the_handler_did(&sdk);

    // The same spans through the peer.
    let buffer = Arc::new(BufferOutput::new());
    let mut peer = OtlpStdoutSpanExporter::builder()
        .output(Arc::clone(&buffer) as Arc<dyn Output>)
        .build();
    let resource_spans = &sdk.request.resource_spans[0];
    let resource = opentelemetry_sdk_032::Resource::builder_empty()
        .with_attributes(
            resource_spans
                .resource
                .as_ref()
                .unwrap()
                .attributes
                .iter()
                .map(key_value),
        )
        .build();
    peer.set_resource(&resource);
    let batch: Vec<SpanData> = resource_spans
        .scope_spans
        .iter()
        .flat_map(|scope_spans| {
            let scope = scope_spans.scope.as_ref().unwrap();
            let scope = InstrumentationScope::builder(scope.name.clone())
                .with_version(scope.version.clone())
                .build();
            scope_spans
                .spans
                .iter()
                .map(move |span| span_data(span, scope.clone()))
        })
        .collect();
    rt.block_on(peer.export(batch)).unwrap();
    let peer_lines = buffer.take_lines().unwrap();
    assert_eq!(peer_lines.len(), 1);
    let theirs = parse_envelope_line(&peer_lines[0]).unwrap().unwrap();

    // The envelope: same keys, same order, same values but the payload.
    assert_eq!(sdk.keys, theirs.keys, "envelope keys");
    for key in &theirs.keys {
        if key != "payload" {
            assert_eq!(sdk.json[key], theirs.json[key], "envelope {key}");
        }
    }
    assert_eq!(theirs.json["source"], SERVICE);
    // Both gzip streams at the same level (the header's XFL byte says which).
    assert_eq!(sdk.gzip[..10], theirs.gzip[..10], "gzip headers");
    // The payload: the same request.
    assert_eq!(normalized(&sdk.request), normalized(&theirs.request));
    assert_eq!(
        FlatSpan::from_request(&sdk.request),
        FlatSpan::from_request(&theirs.request)
    );
    eprintln!(
        "same spans: {} spans; envelope {} B (SDK) / {} B (otlp-stdout-span-exporter)",
        FlatSpan::from_request(&sdk.request).len(),
        sdk_lines[0].len() + 1,
        peer_lines[0].len() + 1
    );
}

/// What `checkout` recorded, read from the SDK's envelope.
fn assert_what_the_handler_did(sdk: &Envelope) {
    let spans = FlatSpan::from_request(&sdk.request);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(spans.len(), 6, "{names:?}");
    let root = spans
        .iter()
        .find(|s| s.attr_str("faas.invocation_id").is_some())
        .unwrap();
    assert_eq!(root.kind_name(), "server");
    assert_eq!(root.resource_str("service.name"), Some(SERVICE));
    // A captured error makes the invocation `error:handled`.
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
    assert!(
        root.attributes.keys().any(|k| k.contains("customer-id")),
        "{:?}",
        root.attributes
    );
    for span in &spans {
        assert_eq!(span.trace_id, root.trace_id);
        if span.span_id != root.span_id {
            assert_eq!(span.parent_span_id, root.span_id, "{}", span.name);
            assert_eq!(span.kind_name(), "internal");
        }
    }
    assert_eq!(names.iter().filter(|n| **n == "db.load").count(), 2);
    assert_eq!(names.iter().filter(|n| **n == "pricing").count(), 3);
    let failed: Vec<&FlatSpan> = spans
        .iter()
        .filter(|s| s.is_error() && s.span_id != root.span_id)
        .collect();
    assert_eq!(failed.len(), 1, "one child span captured an error");
    assert_eq!(failed[0].name, "pricing");
    assert_eq!(failed[0].exception_types(), ["CardDeclined"]);
}

/// `request` with what carries no meaning normalised: resource attributes sorted (a resource
/// is a set), an absent status as the default one (proto3 cannot tell them apart on the
/// wire, and an unset status is either).
fn normalized(request: &ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    let mut request = request.clone();
    for resource_spans in &mut request.resource_spans {
        if let Some(resource) = &mut resource_spans.resource {
            resource.attributes.sort_by(|a, b| a.key.cmp(&b.key));
        }
        for scope_spans in &mut resource_spans.scope_spans {
            for span in &mut scope_spans.spans {
                if span.status.is_none() {
                    span.status = Some(ProtoStatus::default());
                }
            }
        }
    }
    request
}

fn span_data(span: &Span, scope: InstrumentationScope) -> SpanData {
    let flags = span.flags;
    let time = |nanos: u64| SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos);
    let status = match span.status.as_ref() {
        Some(s) if s.code == StatusCode::Error as i32 => Status::error(s.message.clone()),
        Some(s) if s.code == StatusCode::Ok as i32 => Status::Ok,
        _ => Status::Unset,
    };
    let mut events = SpanEvents::default();
    events.events = span
        .events
        .iter()
        .map(|e| {
            Event::new(
                e.name.clone(),
                time(e.time_unix_nano),
                e.attributes.iter().map(key_value).collect(),
                e.dropped_attributes_count,
            )
        })
        .collect();
    events.dropped_count = span.dropped_events_count;
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_bytes(span.trace_id[..].try_into().unwrap()),
            SpanId::from_bytes(span.span_id[..].try_into().unwrap()),
            TraceFlags::new(u8::try_from(flags & 0xff).unwrap()),
            false,
            span.trace_state.parse().unwrap_or(TraceState::NONE),
        ),
        parent_span_id: span
            .parent_span_id
            .get(..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(SpanId::INVALID, SpanId::from_bytes),
        // SpanFlags: bit 9 says the parent is remote.
        parent_span_is_remote: flags & 0x200 != 0,
        span_kind: match span.kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            other => panic!("span kind {other}"),
        },
        name: span.name.clone().into(),
        start_time: time(span.start_time_unix_nano),
        end_time: time(span.end_time_unix_nano),
        attributes: span.attributes.iter().map(key_value).collect(),
        dropped_attributes_count: span.dropped_attributes_count,
        events,
        links: {
            assert!(span.links.is_empty(), "this invocation has no links");
            SpanLinks::default()
        },
        status,
        instrumentation_scope: scope,
    }
}

fn key_value(kv: &ProtoKeyValue) -> KeyValue {
    KeyValue::new(kv.key.clone(), value(kv.value.as_ref().unwrap()))
}

fn value(v: &AnyValue) -> OtelValue {
    match v.value.as_ref().unwrap() {
        any_value::Value::StringValue(s) => OtelValue::String(s.clone().into()),
        any_value::Value::BoolValue(b) => OtelValue::Bool(*b),
        any_value::Value::IntValue(i) => OtelValue::I64(*i),
        any_value::Value::DoubleValue(d) => OtelValue::F64(*d),
        any_value::Value::ArrayValue(array) => {
            let items: Vec<OtelValue> = array.values.iter().map(value).collect();
            OtelValue::Array(match items.first() {
                Some(OtelValue::Bool(_)) => Array::Bool(
                    items
                        .iter()
                        .map(|i| matches!(i, OtelValue::Bool(true)))
                        .collect(),
                ),
                Some(OtelValue::I64(_)) => Array::I64(
                    items
                        .iter()
                        .map(|i| if let OtelValue::I64(n) = i { *n } else { 0 })
                        .collect(),
                ),
                Some(OtelValue::F64(_)) => Array::F64(
                    items
                        .iter()
                        .map(|i| if let OtelValue::F64(n) = i { *n } else { 0.0 })
                        .collect(),
                ),
                _ => Array::String(
                    items
                        .iter()
                        .map(|i| StringValue::from(i.as_str().into_owned()))
                        .collect(),
                ),
            })
        }
        other => panic!("the SDK writes no {other:?}"),
    }
}
