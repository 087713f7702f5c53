//! The built-in encoders against the official types: an invocation with every kind of
//! field, encoded as OTLP/JSON and as protobuf, decoded with `opentelemetry-proto`, compared
//! with what `opentelemetry-proto`'s own conversion of the same spans gives.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::{
    backtrace::Backtrace,
    sync::Arc,
    time::{Duration, SystemTime},
};

use opentelemetry::{
    KeyValue, StringValue, Value,
    trace::{Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState},
};
use opentelemetry_proto::{
    tonic::{
        collector::trace::v1::ExportTraceServiceRequest, common::v1::any_value::Value as ProtoValue,
    },
    transform::{
        common::tonic::ResourceAttributesWithSchema,
        trace::tonic::group_spans_by_resource_and_scope,
    },
};
use prost::Message as _;

use super::{convert, encode_line, json, proto, records::InvocationView, records::Plan, resource};
use crate::{
    attributes as attr,
    invocation::{Finished, Outcome, SpanRecord},
};

fn t(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000 + micros)
}

fn record(id: u64, parent: Option<u32>, name: &'static str, kind: SpanKind) -> SpanRecord {
    SpanRecord::ended(id, parent, name, kind, (t(id * 10), t(id * 10 + 7)))
}

/// Strings that need escaping, non-ASCII, a large value.
fn tricky_strings() -> Vec<(&'static str, String)> {
    vec![
        ("quotes", r#"say "hi" \ back\slash /slash"#.to_owned()),
        (
            "control",
            "tab\tnewline\ncr\rnul\u{0}bell\u{7}esc\u{1b}del\u{7f}".to_owned(),
        ),
        ("unicode", "héllo ✓ 日本語 😀 \u{2028}\u{2029}".to_owned()),
        ("empty", String::new()),
        ("huge", "x".repeat(70_000)),
    ]
}

/// One invocation with every kind of field the encoders write.
fn invocation(backtrace: &Arc<Backtrace>, sampled: bool, remote: bool) -> Finished {
    let mut root = record(1, None, "GET /orders/{id}", SpanKind::Server);
    root.code = Some(("handler", "my_app::orders"));
    root.dropped_attributes = 3;
    for (key, value) in tricky_strings() {
        root.attributes.push(KeyValue::new(key, value));
    }
    root.attributes.extend([
        KeyValue::new("int.neg", -42_i64),
        KeyValue::new("int.max", i64::MAX),
        KeyValue::new("int.min", i64::MIN),
        KeyValue::new("bool.t", true),
        KeyValue::new("bool.f", false),
        KeyValue::new("double", 1.5_f64),
        KeyValue::new("double.tiny", 1e-300_f64),
        KeyValue::new("double.neg_zero", -0.0_f64),
        KeyValue::new(
            "array.str",
            Value::Array(vec![StringValue::from("a"), StringValue::from("\"b\"")].into()),
        ),
        KeyValue::new("array.int", Value::Array(vec![1_i64, -2, 3].into())),
        KeyValue::new("array.bool", Value::Array(vec![true, false].into())),
        KeyValue::new("array.double", Value::Array(vec![0.5_f64, -2.25].into())),
        KeyValue::new("array.empty", Value::Array(Vec::<i64>::new().into())),
        KeyValue::new(attr::OUTCOME, Outcome::ErrorHandled.as_str()),
    ]);
    root.status = Status::error("AccountAlreadyExistsException");
    root.events.push(Event::new(
        attr::EXCEPTION_EVENT,
        t(12),
        vec![
            KeyValue::new(attr::EXCEPTION_TYPE, "AccountAlreadyExistsException"),
            KeyValue::new(attr::EXCEPTION_MESSAGE, "Account bob is in use! \"quoted\""),
            KeyValue::new(attr::EXCEPTION_HANDLED, true),
        ],
        2,
    ));
    root.backtraces.push((0, Arc::clone(backtrace)));
    root.events
        .push(Event::new("no-attributes", t(13), Vec::new(), 0));
    let state = TraceState::from_key_value([("vendor", "v1")]).unwrap();
    root.links.push(Link::new(
        SpanContext::new(
            TraceId::from(0xabcd_u128),
            SpanId::from(0x77_u64),
            TraceFlags::SAMPLED,
            true,
            state,
        ),
        vec![KeyValue::new("link.kind", "batch-item")],
        1,
    ));
    root.links.push(Link::new(
        SpanContext::new(
            TraceId::from(0xef_u128),
            SpanId::from(0x78_u64),
            TraceFlags::default(),
            false,
            TraceState::NONE,
        ),
        Vec::new(),
        0,
    ));

    let mut child = record(2, Some(0), "db.load", SpanKind::Client);
    child.code = Some(("load", "my_app::db"));
    child.status = Status::Ok;
    let mut grandchild = record(3, Some(1), "pricing", SpanKind::Internal);
    grandchild.end = None;
    let producer = record(4, Some(0), "publish", SpanKind::Producer);
    let consumer = record(5, Some(0), "consume", SpanKind::Consumer);
    Finished {
        trace_id: TraceId::from(0x5759_e988_bd86_2e3f_e1be_46a9_9427_2793_u128),
        remote_parent: remote.then(|| SpanId::from(0x5399_5c3f_42cd_8ad8_u64)),
        sampled,
        sampling_deferred: false,
        outcome: Outcome::ErrorHandled,
        spans: vec![root, child, grandchild, producer, consumer],
    }
}

fn test_resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name("checkout")
        .with_attributes([
            KeyValue::new("cloud.provider", "aws"),
            KeyValue::new("faas.max_memory", 134_217_728_i64),
        ])
        .build()
}

/// What opentelemetry-proto's own conversion makes of the same spans, with an unset status
/// left out as the SDK's encoders leave it out (both decode to the same status).
fn reference(mut finished: Finished) -> ExportTraceServiceRequest {
    finished.resolve_backtraces();
    let spans = convert::to_span_data(finished, resource::scope());
    let resource = ResourceAttributesWithSchema::from(&test_resource());
    let mut request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    };
    normalise(&mut request);
    request
}

fn normalise(request: &mut ExportTraceServiceRequest) {
    for rs in &mut request.resource_spans {
        // A resource's attributes come from a map, in no particular order.
        if let Some(resource) = &mut rs.resource {
            resource.attributes.sort_by(|a, b| a.key.cmp(&b.key));
        }
        for ss in &mut rs.scope_spans {
            for span in &mut ss.spans {
                if span.status.as_ref().is_some_and(|s| s.code == 0) {
                    span.status = None;
                }
            }
        }
    }
}

/// Equal, or a panic showing where the two first differ.
#[track_caller]
fn assert_same(ours: &ExportTraceServiceRequest, expected: &ExportTraceServiceRequest, what: &str) {
    if ours == expected {
        return;
    }
    let (a, b) = (format!("{ours:?}"), format!("{expected:?}"));
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = a[..at].char_indices().rev().nth(300).map_or(0, |(i, _)| i);
    let window = |s: &str| s[from..].chars().take(500).collect::<String>();
    panic!(
        "{what}: differs at {at}\n ours:     {}\n expected: {}",
        window(&a),
        window(&b)
    );
}

fn ours_json(finished: &Finished) -> ExportTraceServiceRequest {
    let prelude = json::prelude(&test_resource(), resource::scope());
    let mut buf = Vec::new();
    encode_line(&prelude, finished, usize::MAX, &mut buf).unwrap();
    assert_eq!(buf.pop(), Some(b'\n'), "one line, newline-terminated");
    assert!(!buf.contains(&b'\n'), "no raw newline inside the line");
    let mut request: ExportTraceServiceRequest = serde_json::from_slice(&buf).unwrap();
    normalise(&mut request);
    request
}

fn ours_proto(finished: &Finished) -> ExportTraceServiceRequest {
    let prelude = proto::prelude(&test_resource(), resource::scope());
    let mut buf = vec![0xff; 3];
    let start = proto::encode(
        &prelude,
        &InvocationView::new(finished, Plan::All),
        &mut buf,
    );
    let mut request = ExportTraceServiceRequest::decode(&buf[start..]).unwrap();
    normalise(&mut request);
    request
}

#[test]
fn json_and_protobuf_decode_to_what_opentelemetry_proto_makes_of_the_same_spans() {
    let backtrace = Arc::new(Backtrace::force_capture());
    for (sampled, remote) in [(true, true), (false, false), (true, false)] {
        let expected = reference(invocation(&backtrace, sampled, remote));
        let mut finished = invocation(&backtrace, sampled, remote);
        finished.resolve_backtraces();
        let what = format!("sampled={sampled} remote={remote}");
        assert_same(
            &ours_proto(&finished),
            &expected,
            &format!("protobuf, {what}"),
        );
        assert_same(&ours_json(&finished), &expected, &format!("JSON, {what}"));
    }
    // The backtrace is symbolised at export, into its exception event.
    let mut finished = invocation(&backtrace, true, true);
    finished.resolve_backtraces();
    let decoded = ours_json(&finished);
    let event = &decoded.resource_spans[0].scope_spans[0].spans[0].events[0];
    let stacktrace = event
        .attributes
        .iter()
        .find(|kv| kv.key == attr::EXCEPTION_STACKTRACE)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref());
    assert!(
        matches!(stacktrace, Some(ProtoValue::StringValue(s)) if s.contains("json_and_protobuf")),
        "{stacktrace:?}"
    );
}

#[test]
fn doubles_json_cannot_hold_stay_decodable() {
    let mut span = record(1, None, "root", SpanKind::Internal);
    span.attributes.extend([
        KeyValue::new("nan", f64::NAN),
        KeyValue::new("inf", f64::INFINITY),
        KeyValue::new("neg_inf", f64::NEG_INFINITY),
        KeyValue::new(
            "array",
            Value::Array(vec![f64::NAN, 1.0, f64::NEG_INFINITY].into()),
        ),
    ]);
    let finished = Finished {
        trace_id: TraceId::from(1_u128),
        remote_parent: None,
        sampled: true,
        sampling_deferred: false,
        outcome: Outcome::Success,
        spans: vec![span],
    };
    let decoded = ours_json(&finished);
    let attrs = &decoded.resource_spans[0].scope_spans[0].spans[0].attributes;
    let value = |key: &str| {
        attrs
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone()?.value)
    };
    assert_eq!(value("nan"), Some(ProtoValue::StringValue("NaN".into())));
    assert_eq!(
        value("inf"),
        Some(ProtoValue::StringValue("Infinity".into()))
    );
    assert_eq!(
        value("neg_inf"),
        Some(ProtoValue::StringValue("-Infinity".into()))
    );
    let Some(ProtoValue::ArrayValue(array)) = value("array") else {
        panic!("array")
    };
    assert_eq!(array.values.len(), 3);
    // Protobuf holds them as they are.
    let decoded = ours_proto(&finished);
    let attrs = &decoded.resource_spans[0].scope_spans[0].spans[0].attributes;
    assert!(matches!(
        attrs[0].value.as_ref().and_then(|v| v.value.as_ref()),
        Some(ProtoValue::DoubleValue(d)) if d.is_nan()
    ));
    assert!(matches!(
        attrs[1].value.as_ref().and_then(|v| v.value.as_ref()),
        Some(ProtoValue::DoubleValue(d)) if *d == f64::INFINITY
    ));
}

#[test]
fn empty_events_and_attributes_and_many_spans() {
    // No attributes at all, no events, 300 spans: long messages widen their lengths.
    let mut spans = vec![record(1, None, "root", SpanKind::Internal)];
    for i in 0..300 {
        let mut s = record(2 + i, Some(0), "child", SpanKind::Internal);
        s.attributes
            .push(KeyValue::new("i", i64::try_from(i).unwrap()));
        spans.push(s);
    }
    let finished = || Finished {
        trace_id: TraceId::from(7_u128),
        remote_parent: None,
        sampled: true,
        sampling_deferred: false,
        outcome: Outcome::Success,
        spans: spans
            .iter()
            .map(|s| {
                let mut r = record(
                    u64::from_be_bytes(s.span_id.to_bytes()),
                    s.parent,
                    "child",
                    SpanKind::Internal,
                );
                r.attributes.clone_from(&s.attributes);
                r
            })
            .collect(),
    };
    let expected = reference(finished());
    assert_same(&ours_proto(&finished()), &expected, "protobuf");
    assert_same(&ours_json(&finished()), &expected, "JSON");
}

#[test]
fn long_lines_keep_the_root_and_failed_spans_then_only_their_identity() {
    let build = |huge_root: bool| {
        let mut root = record(1, None, "root", SpanKind::Server);
        root.attributes
            .push(KeyValue::new(attr::OUTCOME, "error:handled"));
        if huge_root {
            root.attributes
                .push(KeyValue::new("blob", "b".repeat(20_000)));
        }
        let mut spans = vec![root];
        for i in 0..100 {
            let mut s = record(2 + i, Some(0), "child", SpanKind::Internal);
            s.code = Some(("work", "my_app"));
            s.attributes.push(KeyValue::new("payload", "p".repeat(200)));
            if i == 50 {
                s.status = Status::error("boom");
                s.events.push(Event::new(
                    attr::EXCEPTION_EVENT,
                    t(1),
                    vec![
                        KeyValue::new(attr::EXCEPTION_TYPE, "Boom"),
                        KeyValue::new(attr::EXCEPTION_MESSAGE, "m".repeat(5_000)),
                    ],
                    0,
                ));
                s.events.push(Event::new("second", t(2), Vec::new(), 0));
            }
            spans.push(s);
        }
        Finished {
            trace_id: TraceId::from(9_u128),
            remote_parent: None,
            sampled: true,
            sampling_deferred: false,
            outcome: Outcome::ErrorHandled,
            spans,
        }
    };
    let prelude = json::prelude(&test_resource(), resource::scope());
    let decode = |buf: &[u8]| -> ExportTraceServiceRequest {
        serde_json::from_slice(buf.strip_suffix(b"\n").unwrap()).unwrap()
    };
    let int = |span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone()?.value)
    };

    // Everything fits.
    let mut buf = Vec::new();
    encode_line(&prelude, &build(false), usize::MAX, &mut buf).unwrap();
    assert_eq!(
        decode(&buf).resource_spans[0].scope_spans[0].spans.len(),
        101
    );

    // Too long: the root and the failed span, the others counted.
    encode_line(&prelude, &build(false), 16 * 1024, &mut buf).unwrap();
    assert!(buf.len() <= 16 * 1024 + 1);
    let request = decode(&buf);
    let spans = &request.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 2);
    assert_eq!(
        int(&spans[0], attr::EXPORT_DROPPED_SPANS),
        Some(ProtoValue::IntValue(99))
    );
    assert_eq!(spans[1].events.len(), 2, "the failed span keeps its events");
    assert_eq!(
        int(&spans[1], attr::CODE_FUNCTION),
        Some(ProtoValue::StringValue("work".into()))
    );

    // Still too long: identity, status and outcome only; the first event's type only.
    encode_line(&prelude, &build(true), 16 * 1024, &mut buf).unwrap();
    let request = decode(&buf);
    let spans = &request.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 2);
    assert_eq!(
        int(&spans[0], attr::OUTCOME),
        Some(ProtoValue::StringValue("error:handled".into()))
    );
    assert_eq!(int(&spans[0], "blob"), None);
    assert_eq!(
        int(&spans[0], attr::EXPORT_TRUNCATED),
        Some(ProtoValue::BoolValue(true))
    );
    assert_eq!(spans[1].events.len(), 1);
    assert_eq!(spans[1].events[0].attributes.len(), 1);
    assert_eq!(spans[1].status.as_ref().map(|s| s.code), Some(2));

    // Nothing fits: an error, never a line over the limit.
    assert!(encode_line(&prelude, &build(true), 100, &mut buf).is_err());
}

/// The `otlp-stdout-span-exporter` envelope: its keys in that crate's order, the service
/// name escaped, the payload the protobuf request gzipped and base64-encoded.
#[cfg(feature = "otlp-stdout")]
#[test]
fn the_envelope_payload_is_the_protobuf_request_gzipped() {
    use base64::Engine as _;
    use std::io::Read as _;

    let backtrace = Arc::new(Backtrace::force_capture());
    let expected = reference(invocation(&backtrace, true, true));
    let mut finished = invocation(&backtrace, true, true);
    finished.resolve_backtraces();
    let envelope = super::envelope::Envelope::new("check\"out", 6, Some("INFO"));
    let prelude = proto::prelude(&test_resource(), resource::scope());
    let mut line = Vec::new();
    let write =
        |view: &InvocationView<'_>, line: &mut Vec<u8>| envelope.write(&prelude, view, line);
    super::fit_line(&finished, usize::MAX, &mut line, write).unwrap();
    assert_eq!(line.pop(), Some(b'\n'), "one line, newline-terminated");
    assert!(!line.contains(&b'\n'));
    let text = String::from_utf8(line).unwrap();
    let head = "{\"__otel_otlp_stdout\":\"0.18.0\",\"source\":\"check\\\"out\",\
                \"endpoint\":\"http://localhost:4318/v1/traces\",\"method\":\"POST\",\
                \"content-type\":\"application/x-protobuf\",\"content-encoding\":\"gzip\",\"payload\":\"";
    assert!(text.starts_with(head), "{}", &text[..200]);
    assert!(
        text.ends_with("\",\"base64\":true,\"level\":\"INFO\"}"),
        "{}",
        &text[text.len() - 50..]
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let gzip = base64::engine::general_purpose::STANDARD
        .decode(json["payload"].as_str().unwrap())
        .unwrap();
    let mut protobuf = Vec::new();
    flate2::read::GzDecoder::new(&gzip[..])
        .read_to_end(&mut protobuf)
        .unwrap();
    let mut request = ExportTraceServiceRequest::decode(&protobuf[..]).unwrap();
    normalise(&mut request);
    assert_same(&request, &expected, "envelope payload");

    // The same buffers, reused, for a second invocation; a line too long for the limit is
    // written again from fewer spans, the root kept.
    let mut small = Vec::new();
    let limit = text.len() / 2;
    super::fit_line(&finished, limit, &mut small, write).unwrap();
    assert!(small.len() <= limit, "{} > {limit}", small.len());
    assert!(small.len() < text.len() / 2, "written from fewer spans");
}
