//! OTLP/JSON, serialised straight from the invocation's records: a [`serde::Serialize`]
//! over [`InvocationView`] in the protobuf JSON mapping OTLP uses (lowercase hex ids,
//! nanoseconds and 64-bit integers as strings, enums as numbers, camelCase keys), with
//! fields at their default value left out, as the mapping allows.
//!
//! Ids and numbers are formatted on the stack; serde_json escapes the strings that need it
//! and copies the rest. A double that JSON cannot hold (NaN, ±infinity) is written as the
//! string `"NaN"`, `"Infinity"` or `"-Infinity"` (a `stringValue`), so that the line stays
//! decodable by every OTLP/JSON reader.

use serde::{
    Serialize, Serializer,
    ser::{SerializeMap, SerializeStruct},
};
use serde_json::value::RawValue;

use super::records::{
    Attr, EventView, InvocationView, SpanView, ValueRef, hex_into, kind_number, link_flags, nanos,
    status_parts,
};

/// The resource and instrumentation scope of every line, serialised once per process.
pub(crate) struct JsonPrelude {
    /// `{"attributes":[...]}`
    pub(crate) resource: Box<RawValue>,
    /// `{"name":"serverless_sdk","version":"..."}`
    pub(crate) scope: Box<RawValue>,
}

/// One `ExportTraceServiceRequest`.
pub(crate) struct JsonRequest<'a> {
    pub(crate) prelude: &'a JsonPrelude,
    pub(crate) view: InvocationView<'a>,
}

impl Serialize for JsonRequest<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut request = s.serialize_struct("ExportTraceServiceRequest", 1)?;
        request.serialize_field("resourceSpans", &[ResourceSpans(self)])?;
        request.end()
    }
}

struct ResourceSpans<'r, 'a>(&'r JsonRequest<'a>);

impl Serialize for ResourceSpans<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut rs = s.serialize_struct("ResourceSpans", 2)?;
        rs.serialize_field("resource", &self.0.prelude.resource)?;
        rs.serialize_field("scopeSpans", &[ScopeSpans(self.0)])?;
        rs.end()
    }
}

struct ScopeSpans<'r, 'a>(&'r JsonRequest<'a>);

impl Serialize for ScopeSpans<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut ss = s.serialize_struct("ScopeSpans", 2)?;
        ss.serialize_field("scope", &self.0.prelude.scope)?;
        ss.serialize_field("spans", &Spans(&self.0.view))?;
        ss.end()
    }
}

struct Spans<'r, 'a>(&'r InvocationView<'a>);

impl Serialize for Spans<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let trace_id = Hex32::new(&self.0.trace_id());
        s.collect_seq(self.0.spans().map(|span| Span {
            trace_id: &trace_id,
            span,
        }))
    }
}

struct Span<'r, 'a> {
    trace_id: &'r Hex32,
    span: SpanView<'a>,
}

impl Serialize for Span<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = &self.span;
        let record = v.span;
        let mut span = s.serialize_struct("Span", 12)?;
        span.serialize_field("traceId", self.trace_id.as_str())?;
        span.serialize_field("spanId", Hex16::new(&record.span_id.to_bytes()).as_str())?;
        if let Some(parent) = v.parent {
            span.serialize_field("parentSpanId", Hex16::new(&parent.to_bytes()).as_str())?;
        }
        span.serialize_field("flags", &v.flags)?;
        span.serialize_field("name", record.name.as_ref())?;
        span.serialize_field("kind", &kind_number(&record.kind))?;
        span.serialize_field("startTimeUnixNano", &Decimal(v.start()))?;
        span.serialize_field("endTimeUnixNano", &Decimal(v.end()))?;
        span.serialize_field("attributes", &Attrs(v))?;
        if v.has_events() {
            span.serialize_field("events", &Events(v))?;
        }
        if !v.links().is_empty() {
            span.serialize_field("links", &Links(v.links()))?;
        }
        if let Some((code, message)) = status_parts(&record.status) {
            span.serialize_field("status", &Status { code, message })?;
        }
        span.end()
    }
}

struct Attrs<'r, 'a>(&'r SpanView<'a>);

impl Serialize for Attrs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.attributes().map(|a| Kv {
            key: a.key(),
            value: a.value(),
        }))
    }
}

struct Kv<'a> {
    key: &'a str,
    value: ValueRef<'a>,
}

impl Serialize for Kv<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut kv = s.serialize_struct("KeyValue", 2)?;
        kv.serialize_field("key", self.key)?;
        kv.serialize_field("value", &AnyValue(self.value))?;
        kv.end()
    }
}

impl<'a> From<&'a opentelemetry::KeyValue> for Kv<'a> {
    fn from(kv: &'a opentelemetry::KeyValue) -> Self {
        let a = Attr::Kv(kv);
        Self {
            key: a.key(),
            value: a.value(),
        }
    }
}

struct AnyValue<'a>(ValueRef<'a>);

impl Serialize for AnyValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self.0 {
            ValueRef::Str(v) => map.serialize_entry("stringValue", v)?,
            ValueRef::Int(v) => map.serialize_entry("intValue", &Decimal(v))?,
            ValueRef::Bool(v) => map.serialize_entry("boolValue", &v)?,
            ValueRef::Double(v) if v.is_finite() => map.serialize_entry("doubleValue", &v)?,
            ValueRef::Double(v) => map.serialize_entry("stringValue", non_finite(v))?,
            ValueRef::Array(a) => map.serialize_entry("arrayValue", &ArrayValue(a))?,
            ValueRef::Other(v) => map.serialize_entry("stringValue", &v.to_string())?,
        }
        map.end()
    }
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

struct ArrayValue<'a>(&'a opentelemetry::Array);

impl Serialize for ArrayValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Values<'a>(&'a opentelemetry::Array);
        impl Serialize for Values<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use opentelemetry::Array;
                match self.0 {
                    Array::Bool(v) => s.collect_seq(v.iter().map(|b| AnyValue(ValueRef::Bool(*b)))),
                    Array::I64(v) => s.collect_seq(v.iter().map(|i| AnyValue(ValueRef::Int(*i)))),
                    Array::F64(v) => {
                        s.collect_seq(v.iter().map(|f| AnyValue(ValueRef::Double(*f))))
                    }
                    Array::String(v) => {
                        s.collect_seq(v.iter().map(|t| AnyValue(ValueRef::Str(t.as_str()))))
                    }
                    other => {
                        let text = other.to_string();
                        s.collect_seq([AnyValue(ValueRef::Str(&text))])
                    }
                }
            }
        }
        let mut array = s.serialize_struct("ArrayValue", 1)?;
        array.serialize_field("values", &Values(self.0))?;
        array.end()
    }
}

struct Events<'r, 'a>(&'r SpanView<'a>);

impl Serialize for Events<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.events().map(Event))
    }
}

struct Event<'a>(EventView<'a>);

impl Serialize for Event<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let event = self.0.event;
        let mut e = s.serialize_struct("Event", 4)?;
        e.serialize_field("timeUnixNano", &Decimal(nanos(event.timestamp)))?;
        e.serialize_field("name", event.name.as_ref())?;
        e.serialize_field("attributes", &KvList(&self.0))?;
        let dropped = self.0.dropped_attributes();
        if dropped > 0 {
            e.serialize_field("droppedAttributesCount", &dropped)?;
        }
        e.end()
    }
}

struct KvList<'r, 'a>(&'r EventView<'a>);

impl Serialize for KvList<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.attributes().map(Kv::from))
    }
}

struct Links<'a>(&'a [opentelemetry::trace::Link]);

impl Serialize for Links<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Link))
    }
}

struct Link<'a>(&'a opentelemetry::trace::Link);

impl Serialize for Link<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let link = self.0;
        let cx = &link.span_context;
        let mut l = s.serialize_struct("Link", 6)?;
        l.serialize_field("traceId", Hex32::new(&cx.trace_id().to_bytes()).as_str())?;
        l.serialize_field("spanId", Hex16::new(&cx.span_id().to_bytes()).as_str())?;
        let state = cx.trace_state().header();
        if !state.is_empty() {
            l.serialize_field("traceState", &state)?;
        }
        l.serialize_field("attributes", &LinkAttrs(&link.attributes))?;
        if link.dropped_attributes_count > 0 {
            l.serialize_field("droppedAttributesCount", &link.dropped_attributes_count)?;
        }
        l.serialize_field("flags", &link_flags(link))?;
        l.end()
    }
}

struct LinkAttrs<'a>(&'a [opentelemetry::KeyValue]);

impl Serialize for LinkAttrs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Kv::from))
    }
}

struct Status<'a> {
    code: i32,
    message: &'a str,
}

impl Serialize for Status<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Status", 2)?;
        if !self.message.is_empty() {
            st.serialize_field("message", self.message)?;
        }
        st.serialize_field("code", &self.code)?;
        st.end()
    }
}

/// An integer as a JSON string, formatted on the stack.
struct Decimal<T>(T);

impl<T: itoa::Integer + Copy> Serialize for Decimal<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(itoa::Buffer::new().format(self.0))
    }
}

/// A span id in hex.
struct Hex16([u8; 16]);

impl Hex16 {
    fn new(bytes: &[u8; 8]) -> Self {
        let mut out = [0; 16];
        hex_into(bytes, &mut out);
        Self(out)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A trace id in hex.
struct Hex32([u8; 32]);

impl Hex32 {
    fn new(bytes: &[u8; 16]) -> Self {
        let mut out = [0; 32];
        hex_into(bytes, &mut out);
        Self(out)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Serialises the resource and scope once.
pub(crate) fn prelude(
    resource: &opentelemetry_sdk::Resource,
    scope: &opentelemetry::InstrumentationScope,
) -> JsonPrelude {
    struct Resource<'a>(&'a opentelemetry_sdk::Resource);
    impl Serialize for Resource<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            struct Attributes<'a>(&'a opentelemetry_sdk::Resource);
            impl Serialize for Attributes<'_> {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.collect_seq(self.0.iter().map(|(k, v)| Kv {
                        key: k.as_str(),
                        value: ValueRef::of(v),
                    }))
                }
            }
            let mut r = s.serialize_struct("Resource", 1)?;
            r.serialize_field("attributes", &Attributes(self.0))?;
            r.end()
        }
    }
    struct Scope<'a>(&'a opentelemetry::InstrumentationScope);
    impl Serialize for Scope<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut sc = s.serialize_struct("InstrumentationScope", 2)?;
            sc.serialize_field("name", self.0.name())?;
            if let Some(version) = self.0.version() {
                sc.serialize_field("version", version)?;
            }
            sc.end()
        }
    }
    let raw = |value: &dyn erased::Json| {
        serde_json::value::RawValue::from_string(value.to_json())
            .unwrap_or_else(|_| Box::<RawValue>::default())
    };
    JsonPrelude {
        resource: raw(&Resource(resource)),
        scope: raw(&Scope(scope)),
    }
}

mod erased {
    /// A value serialised to a JSON text (never fails for the SDK's own types).
    pub(super) trait Json {
        fn to_json(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
        }
    }
}
