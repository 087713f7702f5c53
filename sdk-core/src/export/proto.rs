//! OTLP protobuf (`ExportTraceServiceRequest`), encoded straight from the invocation's
//! records with prost's encoding functions into one reused buffer.
//!
//! A nested message's length comes before its content, so each is written with a one-byte
//! length placeholder that is widened in place when the content turns out to be 128 bytes
//! or more (a span, an `exception` event). The two outer messages around the spans
//! (`ResourceSpans`, `ScopeSpans`) are written last, into room left before the spans, so
//! the spans are never moved.

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use super::records::{
    Attr, InvocationView, SpanView, ValueRef, for_each_element, kind_number, link_flags, nanos,
};

/// The resource and instrumentation scope of every request, encoded once per process.
pub(crate) struct ProtoPrelude {
    /// The `Resource` message's content.
    resource: Vec<u8>,
    /// The `InstrumentationScope` message's content.
    scope: Vec<u8>,
}

/// Encodes the resource and scope once.
pub(crate) fn prelude(
    resource: &opentelemetry_sdk::Resource,
    scope: &opentelemetry::InstrumentationScope,
) -> ProtoPrelude {
    let mut r = Vec::new();
    for (key, value) in resource.iter() {
        key_value(&mut r, 1, key.as_str(), &ValueRef::of(value));
    }
    let mut s = Vec::new();
    string(&mut s, 1, scope.name());
    if let Some(version) = scope.version() {
        string(&mut s, 2, version);
    }
    ProtoPrelude {
        resource: r,
        scope: s,
    }
}

/// Encodes one request into `buf` (cleared first); returns where the request starts in it.
pub(crate) fn encode(
    prelude: &ProtoPrelude,
    view: &InvocationView<'_>,
    buf: &mut Vec<u8>,
) -> usize {
    buf.clear();
    // Room for the headers of ResourceSpans and ScopeSpans: tags, lengths of at most 5
    // bytes each, the resource and the scope.
    let room = 1 + 5 + 1 + 5 + prelude.resource.len() + 1 + 5 + 1 + 5 + prelude.scope.len();
    buf.resize(room, 0);
    let trace_id = view.trace_id();
    for span in view.spans() {
        nested(buf, 2, |buf| write_span(buf, &trace_id, &span));
    }
    let spans_len = buf.len() - room;
    let scope_field = 1 + encoded_len_varint(prelude.scope.len() as u64) + prelude.scope.len();
    let scope_spans_len = scope_field + spans_len;
    let resource_field =
        1 + encoded_len_varint(prelude.resource.len() as u64) + prelude.resource.len();
    let resource_spans_len =
        resource_field + 1 + encoded_len_varint(scope_spans_len as u64) + scope_spans_len;
    let header_len =
        1 + encoded_len_varint(resource_spans_len as u64) + resource_spans_len - spans_len;
    let start = room - header_len;
    let mut header: &mut [u8] = &mut buf[start..room];
    // ExportTraceServiceRequest.resource_spans = 1
    encode_key(1, WireType::LengthDelimited, &mut header);
    encode_varint(resource_spans_len as u64, &mut header);
    // ResourceSpans.resource = 1
    encode_key(1, WireType::LengthDelimited, &mut header);
    encode_varint(prelude.resource.len() as u64, &mut header);
    let (head, mut rest) = header.split_at_mut(prelude.resource.len());
    head.copy_from_slice(&prelude.resource);
    // ResourceSpans.scope_spans = 2
    encode_key(2, WireType::LengthDelimited, &mut rest);
    encode_varint(scope_spans_len as u64, &mut rest);
    // ScopeSpans.scope = 1
    encode_key(1, WireType::LengthDelimited, &mut rest);
    encode_varint(prelude.scope.len() as u64, &mut rest);
    rest.copy_from_slice(&prelude.scope);
    start
}

fn write_span(buf: &mut Vec<u8>, trace_id: &[u8; 16], v: &SpanView<'_>) {
    let span = v.span;
    bytes(buf, 1, trace_id);
    bytes(buf, 2, &span.span_id.to_bytes());
    if let Some(parent) = v.parent {
        bytes(buf, 4, &parent.to_bytes());
    }
    string(buf, 5, &span.name);
    varint(buf, 6, u64::from(kind_number(&span.kind).unsigned_abs()));
    fixed64(buf, 7, v.start());
    fixed64(buf, 8, v.end());
    v.for_each_attribute(|a| key_value(buf, 9, a.key(), &a.value()));
    if span.dropped_attributes > 0 {
        varint(buf, 10, u64::from(span.dropped_attributes));
    }
    for event in v.events() {
        nested(buf, 11, |buf| {
            fixed64(buf, 1, nanos(event.event.timestamp));
            string(buf, 2, &event.event.name);
            for kv in event.attributes() {
                let a = Attr::Kv(kv);
                key_value(buf, 3, a.key(), &a.value());
            }
            let dropped = event.dropped_attributes();
            if dropped > 0 {
                varint(buf, 4, u64::from(dropped));
            }
        });
    }
    for link in v.links() {
        nested(buf, 13, |buf| {
            let cx = &link.span_context;
            bytes(buf, 1, &cx.trace_id().to_bytes());
            bytes(buf, 2, &cx.span_id().to_bytes());
            let state = cx.trace_state().header();
            if !state.is_empty() {
                string(buf, 3, &state);
            }
            for kv in &link.attributes {
                let a = Attr::Kv(kv);
                key_value(buf, 4, a.key(), &a.value());
            }
            if link.dropped_attributes_count > 0 {
                varint(buf, 5, u64::from(link.dropped_attributes_count));
            }
            fixed32(buf, 6, link_flags(link));
        });
    }
    if let Some((code, message)) = super::records::status_parts(&span.status) {
        nested(buf, 15, |buf| {
            if !message.is_empty() {
                string(buf, 2, message);
            }
            varint(buf, 3, u64::from(code.unsigned_abs()));
        });
    }
    fixed32(buf, 16, v.flags);
}

fn key_value(buf: &mut Vec<u8>, tag: u32, key: &str, value: &ValueRef<'_>) {
    nested(buf, tag, |buf| {
        string(buf, 1, key);
        nested(buf, 2, |buf| any_value(buf, value));
    });
}

fn any_value(buf: &mut Vec<u8>, value: &ValueRef<'_>) {
    match value {
        ValueRef::Str(s) => string_always(buf, 1, s),
        ValueRef::Bool(b) => varint(buf, 2, u64::from(*b)),
        // int64: two's complement in a varint.
        ValueRef::Int(i) => varint(buf, 3, u64::from_ne_bytes(i.to_ne_bytes())),
        ValueRef::Double(d) => fixed64(buf, 4, d.to_bits()),
        ValueRef::Array(array) => nested(buf, 5, |buf| {
            for_each_element(array, |v| nested(buf, 1, |buf| any_value(buf, &v)));
        }),
        ValueRef::Other(v) => string_always(buf, 1, &v.to_string()),
    }
}

/// A length-delimited field whose content `f` writes.
#[inline]
fn nested(buf: &mut Vec<u8>, tag: u32, f: impl FnOnce(&mut Vec<u8>)) {
    encode_key(tag, WireType::LengthDelimited, buf);
    let at = buf.len();
    buf.push(0);
    f(buf);
    let len = buf.len() - at - 1;
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => buf[at] = short,
        _ => {
            // Widen the placeholder: shift the content right by the extra length bytes.
            let mut prefix = [0u8; 10];
            let n = encoded_len_varint(len as u64);
            encode_varint(len as u64, &mut &mut prefix[..]);
            buf.splice(at..=at, prefix[..n].iter().copied());
        }
    }
}

#[inline]
fn bytes(buf: &mut Vec<u8>, tag: u32, value: &[u8]) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(value.len() as u64, buf);
    buf.extend_from_slice(value);
}

/// A string field, left out when empty (proto3's default).
#[inline]
fn string(buf: &mut Vec<u8>, tag: u32, value: &str) {
    if !value.is_empty() {
        bytes(buf, tag, value.as_bytes());
    }
}

/// A string field in a `oneof`, written even when empty so that the case is kept.
#[inline]
fn string_always(buf: &mut Vec<u8>, tag: u32, value: &str) {
    bytes(buf, tag, value.as_bytes());
}

#[inline]
fn varint(buf: &mut Vec<u8>, tag: u32, value: u64) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(value, buf);
}

#[inline]
fn fixed64(buf: &mut Vec<u8>, tag: u32, value: u64) {
    encode_key(tag, WireType::SixtyFourBit, buf);
    buf.extend_from_slice(&value.to_le_bytes());
}

#[inline]
fn fixed32(buf: &mut Vec<u8>, tag: u32, value: u32) {
    encode_key(tag, WireType::ThirtyTwoBit, buf);
    buf.extend_from_slice(&value.to_le_bytes());
}
