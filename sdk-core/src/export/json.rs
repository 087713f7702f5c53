//! OTLP/JSON, written straight from the invocation's records into the reused buffer, in the
//! protobuf JSON mapping OTLP uses: lowercase hex ids, nanoseconds and 64-bit integers as
//! strings, enums as numbers, camelCase keys, fields at their default value left out (as
//! the mapping allows).
//!
//! It is a writer rather than a `serde::Serialize` for serde_json: the keys and punctuation
//! are constant byte strings copied as they are (serde_json scans every key for characters
//! to escape, one byte at a time), ids and numbers are formatted on the stack, and strings
//! are checked for what JSON must escape in one pass that the compiler vectorises, then
//! copied whole (or in runs between the escapes). Measured
//! on the busy invocation of `benches/benches/invocation.rs` (11 spans, a 6 KB line), a
//! `serde::Serialize` over the same records spent about half of the whole invocation in
//! serde_json.
//!
//! A double that JSON cannot hold (NaN, ±infinity) is written as the string `"NaN"`,
//! `"Infinity"` or `"-Infinity"` (a `stringValue`), so that the line stays decodable by every
//! OTLP/JSON reader.

use std::io::Write as _;

use super::records::{
    Attr, EventView, InvocationView, SpanView, ValueRef, for_each_element, hex_into, kind_number,
    link_flags, nanos, status_parts,
};

/// The part of every line before the first span (`{"resourceSpans":[{"resource":{..},
/// "scopeSpans":[{"scope":{..},"spans":[`), written once per process.
pub(crate) struct JsonPrelude {
    head: Vec<u8>,
}

/// What closes a line after the last span.
const TAIL: &[u8] = b"]}]}]}";

/// Writes the resource and scope once.
pub(crate) fn prelude(
    resource: &opentelemetry_sdk::Resource,
    scope: &opentelemetry::InstrumentationScope,
) -> JsonPrelude {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    for (i, (key, value)) in resource.iter().enumerate() {
        if i > 0 {
            head.push(b',');
        }
        key_value(&mut head, key.as_str(), ValueRef::of(value));
    }
    head.extend_from_slice(b"]},\"scopeSpans\":[{\"scope\":{\"name\":");
    string(&mut head, scope.name());
    if let Some(version) = scope.version() {
        head.extend_from_slice(b",\"version\":");
        string(&mut head, version);
    }
    head.extend_from_slice(b"},\"spans\":[");
    JsonPrelude { head }
}

/// Appends one `ExportTraceServiceRequest` to `out`.
pub(crate) fn write_request(prelude: &JsonPrelude, view: &InvocationView<'_>, out: &mut Vec<u8>) {
    out.reserve(prelude.head.len() + 512 * view.finished.spans.len());
    out.extend_from_slice(&prelude.head);
    let mut trace_id = [0u8; 32];
    hex_into(&view.trace_id(), &mut trace_id);
    for (i, span) in view.spans().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_span(out, &trace_id, &span);
    }
    out.extend_from_slice(TAIL);
}

fn write_span(out: &mut Vec<u8>, trace_id: &[u8; 32], v: &SpanView<'_>) {
    let record = v.span;
    out.extend_from_slice(b"{\"traceId\":\"");
    out.extend_from_slice(trace_id);
    out.extend_from_slice(b"\",\"spanId\":\"");
    hex16(out, record.span_id.to_bytes());
    if let Some(parent) = v.parent {
        out.extend_from_slice(b"\",\"parentSpanId\":\"");
        hex16(out, parent.to_bytes());
    }
    out.extend_from_slice(b"\",\"flags\":");
    out.extend_from_slice(itoa::Buffer::new().format(v.flags).as_bytes());
    out.extend_from_slice(b",\"name\":");
    string(out, &record.name);
    out.extend_from_slice(b",\"kind\":");
    out.extend_from_slice(
        itoa::Buffer::new()
            .format(kind_number(&record.kind))
            .as_bytes(),
    );
    out.extend_from_slice(b",\"startTimeUnixNano\":");
    decimal_string(out, v.start());
    out.extend_from_slice(b",\"endTimeUnixNano\":");
    decimal_string(out, v.end());
    out.extend_from_slice(b",\"attributes\":[");
    let mut first = true;
    v.for_each_attribute(|a| {
        if !first {
            out.push(b',');
        }
        first = false;
        key_value(out, a.key(), a.value());
    });
    out.push(b']');
    dropped_attributes_count(out, record.dropped_attributes);
    if v.has_events() {
        out.extend_from_slice(b",\"events\":[");
        for (i, event) in v.events().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_event(out, &event);
        }
        out.push(b']');
    }
    if !v.links().is_empty() {
        out.extend_from_slice(b",\"links\":[");
        for (i, link) in v.links().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_link(out, link);
        }
        out.push(b']');
    }
    if let Some((code, message)) = status_parts(&record.status) {
        out.extend_from_slice(b",\"status\":{");
        if !message.is_empty() {
            out.extend_from_slice(b"\"message\":");
            string(out, message);
            out.push(b',');
        }
        out.extend_from_slice(b"\"code\":");
        out.extend_from_slice(itoa::Buffer::new().format(code).as_bytes());
        out.push(b'}');
    }
    out.push(b'}');
}

fn write_event(out: &mut Vec<u8>, event: &EventView<'_>) {
    out.extend_from_slice(b"{\"timeUnixNano\":");
    decimal_string(out, nanos(event.event.timestamp));
    out.extend_from_slice(b",\"name\":");
    string(out, &event.event.name);
    out.extend_from_slice(b",\"attributes\":[");
    for (i, kv) in event.attributes().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let a = Attr::Kv(kv);
        key_value(out, a.key(), a.value());
    }
    out.push(b']');
    dropped_attributes_count(out, event.dropped_attributes());
    out.push(b'}');
}

/// `,"droppedAttributesCount":n`, left out when nothing was dropped (as OTLP/JSON leaves a
/// zero out).
fn dropped_attributes_count(out: &mut Vec<u8>, dropped: u32) {
    if dropped > 0 {
        out.extend_from_slice(b",\"droppedAttributesCount\":");
        out.extend_from_slice(itoa::Buffer::new().format(dropped).as_bytes());
    }
}

fn write_link(out: &mut Vec<u8>, link: &opentelemetry::trace::Link) {
    let cx = &link.span_context;
    let mut trace_id = [0u8; 32];
    hex_into(&cx.trace_id().to_bytes(), &mut trace_id);
    out.extend_from_slice(b"{\"traceId\":\"");
    out.extend_from_slice(&trace_id);
    out.extend_from_slice(b"\",\"spanId\":\"");
    hex16(out, cx.span_id().to_bytes());
    out.push(b'"');
    let state = cx.trace_state().header();
    if !state.is_empty() {
        out.extend_from_slice(b",\"traceState\":");
        string(out, &state);
    }
    out.extend_from_slice(b",\"attributes\":[");
    for (i, kv) in link.attributes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let a = Attr::Kv(kv);
        key_value(out, a.key(), a.value());
    }
    out.push(b']');
    dropped_attributes_count(out, link.dropped_attributes_count);
    out.extend_from_slice(b",\"flags\":");
    out.extend_from_slice(itoa::Buffer::new().format(link_flags(link)).as_bytes());
    out.push(b'}');
}

/// `{"key":..,"value":{..}}`
fn key_value(out: &mut Vec<u8>, key: &str, value: ValueRef<'_>) {
    out.extend_from_slice(b"{\"key\":");
    string(out, key);
    out.extend_from_slice(b",\"value\":");
    any_value(out, value);
    out.push(b'}');
}

fn any_value(out: &mut Vec<u8>, value: ValueRef<'_>) {
    match value {
        ValueRef::Str(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            string(out, s);
        }
        ValueRef::Int(i) => {
            out.extend_from_slice(b"{\"intValue\":");
            decimal_string(out, i);
        }
        ValueRef::Bool(b) => out.extend_from_slice(if b {
            b"{\"boolValue\":true"
        } else {
            b"{\"boolValue\":false"
        }),
        ValueRef::Double(d) if d.is_finite() => {
            out.extend_from_slice(b"{\"doubleValue\":");
            // `Debug` is the shortest text that reads back as the same double, in
            // exponent notation for very large and very small ones: valid JSON numbers.
            let _ = write!(out, "{d:?}");
        }
        ValueRef::Double(d) => {
            out.extend_from_slice(b"{\"stringValue\":");
            string(out, non_finite(d));
        }
        ValueRef::Array(array) => {
            out.extend_from_slice(b"{\"arrayValue\":{\"values\":[");
            let mut first = true;
            for_each_element(array, |v| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                any_value(out, v);
            });
            out.extend_from_slice(b"]}");
        }
        ValueRef::Other(v) => {
            out.extend_from_slice(b"{\"stringValue\":");
            string(out, &v.to_string());
        }
    }
    out.push(b'}');
}

/// The text of a double JSON numbers cannot hold.
pub(crate) fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// An integer as a JSON string.
fn decimal_string(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.push(b'"');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.push(b'"');
}

/// A span id in hex.
fn hex16(out: &mut Vec<u8>, bytes: [u8; 8]) {
    let mut hex = [0u8; 16];
    hex_into(&bytes, &mut hex);
    out.extend_from_slice(&hex);
}

/// Whether a byte must be escaped in a JSON string: `"`, `\` and the control characters.
const fn must_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// 1 for the bytes [`must_escape`] names.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = must_escape(b as u8) as u8;
        b += 1;
    }
    table
};

/// A JSON string: `s` quoted, escaped where JSON requires it and copied as is elsewhere.
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // No early exit: a long string is checked many bytes at a time (vectorised), a short
    // one (most keys and names) a byte at a time through a table.
    let escapes = if bytes.len() >= 32 {
        bytes.iter().fold(false, |any, &b| any | must_escape(b))
    } else {
        bytes.iter().fold(0, |any, &b| any | ESCAPE[usize::from(b)]) != 0
    };
    if escapes {
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if must_escape(b) {
                out.extend_from_slice(&bytes[run..i]);
                escape(out, b);
                run = i + 1;
            }
        }
        out.extend_from_slice(&bytes[run..]);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0x0f)],
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn strings_escape_exactly_what_json_requires() {
        for s in [
            "",
            "plain",
            "exactly8",
            "sixteen-bytes-ab",
            "q\"uote",
            "back\\slash",
            "\u{0}\u{1}\u{1f}\u{7f} \u{20}",
            "tab\there\nnewline\r\u{8}\u{c}",
            "héllo ✓ 日本語 😀 \u{2028}",
            "0123456789abcdef\"0123456789abcdef\\",
        ] {
            let ours = encoded(s);
            assert_eq!(
                serde_json::from_str::<String>(&ours).ok().as_deref(),
                Some(s),
                "{ours}"
            );
            assert_eq!(ours, serde_json::to_string(s).unwrap_or_default());
        }
        for b in 0..=127u8 {
            let s = format!("0123456789abcdef{}0123456789abcdef", char::from(b));
            assert_eq!(encoded(&s), serde_json::to_string(&s).unwrap_or_default());
        }
    }
}
