//! A flat, owned, assertion-friendly view of OTLP spans.

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, KeyValue, any_value::Value},
    trace::v1::span::SpanKind,
};
use std::{collections::BTreeMap, fmt, time::Duration};

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// A homogeneous or mixed array.
    Array(Vec<AttrValue>),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A nested key-value list.
    Map(BTreeMap<String, AttrValue>),
    /// A value with none of the above set.
    Empty,
}

impl From<&str> for AttrValue {
    fn from(value: &str) -> Self {
        AttrValue::String(value.to_owned())
    }
}

impl From<i64> for AttrValue {
    fn from(value: i64) -> Self {
        AttrValue::Int(value)
    }
}

impl From<bool> for AttrValue {
    fn from(value: bool) -> Self {
        AttrValue::Bool(value)
    }
}

impl AttrValue {
    /// The string, if this is a [`AttrValue::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(value) => Some(value),
            _ => None,
        }
    }

    /// The integer, if this is an [`AttrValue::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The number, if this is an [`AttrValue::Double`] or an [`AttrValue::Int`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Double(value) => Some(*value),
            // Attribute integers used as numbers; precision loss beyond 2^53 is acceptable here.
            #[allow(clippy::cast_precision_loss)]
            AttrValue::Int(value) => Some(*value as f64),
            _ => None,
        }
    }

    /// The boolean, if this is an [`AttrValue::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// The elements, if this is an [`AttrValue::Array`].
    pub fn as_array(&self) -> Option<&[AttrValue]> {
        match self {
            AttrValue::Array(values) => Some(values),
            _ => None,
        }
    }

    /// Converts an OTLP value; `None` becomes [`AttrValue::Empty`].
    pub fn from_any_value(value: Option<&AnyValue>) -> AttrValue {
        match value.and_then(|value| value.value.as_ref()) {
            Some(Value::StringValue(value)) => AttrValue::String(value.clone()),
            Some(Value::BoolValue(value)) => AttrValue::Bool(*value),
            Some(Value::IntValue(value)) => AttrValue::Int(*value),
            Some(Value::DoubleValue(value)) => AttrValue::Double(*value),
            Some(Value::ArrayValue(array)) => AttrValue::Array(
                array
                    .values
                    .iter()
                    .map(|value| AttrValue::from_any_value(Some(value)))
                    .collect(),
            ),
            Some(Value::KvlistValue(list)) => AttrValue::Map(attributes(&list.values)),
            Some(Value::BytesValue(bytes)) => AttrValue::Bytes(bytes.clone()),
            Some(Value::StringValueStrindex(_)) | None => AttrValue::Empty,
        }
    }
}

/// Strings print bare, arrays as `[a, b]`, maps as `{k: v}`, bytes as hex.
impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::String(value) => f.write_str(value),
            AttrValue::Bool(value) => write!(f, "{value}"),
            AttrValue::Int(value) => write!(f, "{value}"),
            AttrValue::Double(value) => write!(f, "{value}"),
            AttrValue::Array(values) => {
                f.write_str("[")?;
                for (index, value) in values.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{value}")?;
                }
                f.write_str("]")
            }
            AttrValue::Bytes(bytes) => f.write_str(&hex(bytes)),
            AttrValue::Map(entries) => {
                f.write_str("{")?;
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
            AttrValue::Empty => Ok(()),
        }
    }
}

/// A span event.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatEvent {
    /// The event name, e.g. `exception`.
    pub name: String,
    /// When it happened, Unix epoch nanoseconds.
    pub time_unix_nano: u64,
    /// Its attributes.
    pub attributes: BTreeMap<String, AttrValue>,
}

/// The typed getters of the `attributes` of [`FlatSpan`] and [`FlatEvent`].
macro_rules! attribute_getters {
    () => {
        /// The attribute `key`.
        pub fn attr(&self, key: &str) -> Option<&AttrValue> {
            self.attributes.get(key)
        }

        /// The attribute `key`, if it is a string.
        pub fn attr_str(&self, key: &str) -> Option<&str> {
            self.attr(key).and_then(AttrValue::as_str)
        }

        /// The attribute `key`, if it is an integer.
        pub fn attr_i64(&self, key: &str) -> Option<i64> {
            self.attr(key).and_then(AttrValue::as_i64)
        }

        /// The attribute `key`, if it is a boolean.
        pub fn attr_bool(&self, key: &str) -> Option<bool> {
            self.attr(key).and_then(AttrValue::as_bool)
        }
    };
}

impl FlatEvent {
    attribute_getters!();

    /// Asserts that the event was recorded in a source file whose path ends with `file`
    /// (`code.file.path`), at `line` (`code.line.number`) if one is given.
    #[track_caller]
    pub fn assert_code_location(&self, file: &str, line: Option<i64>) {
        assert!(
            self.attr_str("code.file.path")
                .is_some_and(|path| path.ends_with(file)),
            "not recorded in {file}: {self:?}"
        );
        if line.is_some() {
            assert_eq!(self.attr_i64("code.line.number"), line, "{self:?}");
        }
    }
}

/// A link to another span.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatLink {
    /// The linked span's trace id, hex.
    pub trace_id: String,
    /// The linked span's id, hex.
    pub span_id: String,
    /// The link's attributes.
    pub attributes: BTreeMap<String, AttrValue>,
}

/// One span with its resource and scope, ids in lowercase hex.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatSpan {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Parent span id, 16 hex digits; empty for a root span.
    pub parent_span_id: String,
    /// The span name.
    pub name: String,
    /// OTLP span kind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    pub kind: i32,
    /// Start, Unix epoch nanoseconds.
    pub start_unix_nano: u64,
    /// End, Unix epoch nanoseconds.
    pub end_unix_nano: u64,
    /// The span's attributes.
    pub attributes: BTreeMap<String, AttrValue>,
    /// How many attributes were dropped over the span's cap.
    pub dropped_attributes_count: u32,
    /// The span's events, in recorded order.
    pub events: Vec<FlatEvent>,
    /// The span's links.
    pub links: Vec<FlatLink>,
    /// OTLP span flags: the W3C trace flags in the low byte (bit 0: sampled), then whether
    /// the parent is remote (bits 8 and 9).
    pub flags: u32,
    /// Status code: 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    /// Status message (usually only set for errors).
    pub status_message: String,
    /// The attributes of the resource that produced the span.
    pub resource: BTreeMap<String, AttrValue>,
    /// The instrumentation scope name.
    pub scope_name: String,
    /// The instrumentation scope version.
    pub scope_version: String,
}

/// Status code of a span whose status is unset.
pub const STATUS_UNSET: i32 = 0;
/// Status code of a span whose status is ok.
pub const STATUS_OK: i32 = 1;
/// Status code of a span whose status is error.
pub const STATUS_ERROR: i32 = 2;

impl FlatSpan {
    /// All spans of an export request, in order.
    pub fn from_request(request: &ExportTraceServiceRequest) -> Vec<FlatSpan> {
        let mut spans = Vec::new();
        for resource_spans in &request.resource_spans {
            let resource = resource_spans
                .resource
                .as_ref()
                .map(|resource| attributes(&resource.attributes))
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                let (scope_name, scope_version) = scope_spans
                    .scope
                    .as_ref()
                    .map(|scope| (scope.name.clone(), scope.version.clone()))
                    .unwrap_or_default();
                for span in &scope_spans.spans {
                    let (status_code, status_message) = span
                        .status
                        .as_ref()
                        .map(|status| (status.code, status.message.clone()))
                        .unwrap_or_default();
                    spans.push(FlatSpan {
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        name: span.name.clone(),
                        kind: span.kind,
                        start_unix_nano: span.start_time_unix_nano,
                        end_unix_nano: span.end_time_unix_nano,
                        attributes: attributes(&span.attributes),
                        events: span
                            .events
                            .iter()
                            .map(|event| FlatEvent {
                                name: event.name.clone(),
                                time_unix_nano: event.time_unix_nano,
                                attributes: attributes(&event.attributes),
                            })
                            .collect(),
                        links: span
                            .links
                            .iter()
                            .map(|link| FlatLink {
                                trace_id: hex(&link.trace_id),
                                span_id: hex(&link.span_id),
                                attributes: attributes(&link.attributes),
                            })
                            .collect(),
                        flags: span.flags,
                        dropped_attributes_count: span.dropped_attributes_count,
                        status_code,
                        status_message,
                        resource: resource.clone(),
                        scope_name: scope_name.clone(),
                        scope_version: scope_version.clone(),
                    });
                }
            }
        }
        spans
    }

    attribute_getters!();

    /// Asserts that each `(key, value)` is one of the span's attributes, naming the span and
    /// the first key that differs:
    /// `root.assert_attrs([("faas.trigger", "pubsub".into()), ("messaging.batch.message_count", 3.into())])`.
    #[track_caller]
    pub fn assert_attrs<const N: usize>(&self, expected: [(&str, AttrValue); N]) {
        for (key, value) in expected {
            assert_eq!(
                self.attributes.get(key),
                Some(&value),
                "attribute {key} of span {:?}: {:#?}",
                self.name,
                self.attributes
            );
        }
    }

    /// The resource attribute `key`, if it is a string (e.g. `service.name`).
    pub fn resource_str(&self, key: &str) -> Option<&str> {
        self.resource.get(key).and_then(AttrValue::as_str)
    }

    /// Asserts that each `(key, value)` is one of the span's resource attributes, a string,
    /// naming the first key that differs: `span.assert_resource([("service.name", "orders")])`.
    #[track_caller]
    pub fn assert_resource<const N: usize>(&self, expected: [(&str, &str); N]) {
        for (key, value) in expected {
            assert_eq!(
                self.resource_str(key),
                Some(value),
                "resource attribute {key} of span {:?}: {:#?}",
                self.name,
                self.resource
            );
        }
    }

    /// The first event named `name`.
    pub fn event(&self, name: &str) -> Option<&FlatEvent> {
        self.events.iter().find(|event| event.name == name)
    }

    /// The `exception.type` of each `exception` event, in recorded order.
    pub fn exception_types(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter(|event| event.name == "exception")
            .map(|event| event.attr_str("exception.type").unwrap_or_default())
            .collect()
    }

    /// The names of the span's events, in recorded order.
    pub fn event_names(&self) -> Vec<&str> {
        self.events
            .iter()
            .map(|event| event.name.as_str())
            .collect()
    }

    /// The span's one `exception` event, after checking its `exception.type`,
    /// `exception.message` and `exception.handled` (whether the error was handled).
    ///
    /// # Panics
    ///
    /// Unless the span has exactly one `exception` event, with these attributes.
    pub fn assert_one_exception(
        &self,
        type_name: &str,
        message: &str,
        handled: bool,
    ) -> &FlatEvent {
        let exceptions: Vec<&FlatEvent> = self.events_named("exception").collect();
        assert_eq!(exceptions.len(), 1, "{}: {:?}", self.name, self.events);
        let event = exceptions[0];
        assert_eq!(
            event.attr_str("exception.type"),
            Some(type_name),
            "{event:?}"
        );
        assert_eq!(
            event.attr_str("exception.message"),
            Some(message),
            "{event:?}"
        );
        assert_eq!(
            event.attr_bool("exception.handled"),
            Some(handled),
            "{event:?}"
        );
        event
    }

    /// Every event named `name`.
    pub fn events_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FlatEvent> + 'a {
        self.events.iter().filter(move |event| event.name == name)
    }

    /// `end - start` (zero if the end precedes the start).
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_unix_nano.saturating_sub(self.start_unix_nano))
    }

    /// Whether the span has no parent at all (a span continuing a remote trace has one).
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_empty()
    }

    /// Whether the status is error.
    pub fn is_error(&self) -> bool {
        self.status_code == STATUS_ERROR
    }

    /// The kind in lowercase: `unspecified`, `internal`, `server`, `client`, `producer`,
    /// `consumer`, or `unknown`.
    pub fn kind_name(&self) -> &'static str {
        match SpanKind::try_from(self.kind) {
            Ok(SpanKind::Unspecified) => "unspecified",
            Ok(SpanKind::Internal) => "internal",
            Ok(SpanKind::Server) => "server",
            Ok(SpanKind::Client) => "client",
            Ok(SpanKind::Producer) => "producer",
            Ok(SpanKind::Consumer) => "consumer",
            Err(_) => "unknown",
        }
    }

    /// The status in lowercase: `unset`, `ok`, `error`, or `unknown`.
    pub fn status_name(&self) -> &'static str {
        match self.status_code {
            STATUS_UNSET => "unset",
            STATUS_OK => "ok",
            STATUS_ERROR => "error",
            _ => "unknown",
        }
    }
}

/// All spans found in `text`: every line that parses as an OTLP/JSON
/// `ExportTraceServiceRequest` (hex ids, nanosecond timestamps as strings, camelCase keys)
/// contributes its spans; every other line (logs, blank lines, other JSON) is ignored.
pub fn parse_json_lines(text: &str) -> Vec<FlatSpan> {
    text.lines().filter_map(parse_json_line).flatten().collect()
}

/// The spans of one line of output, if it is an OTLP/JSON `ExportTraceServiceRequest` (see
/// [`parse_json_lines`]); `None` for anything else.
pub fn parse_json_line(line: &str) -> Option<Vec<FlatSpan>> {
    parse_export_request(line).map(|request| FlatSpan::from_request(&request))
}

/// One line of output decoded as an OTLP/JSON `ExportTraceServiceRequest`: a JSON object with a
/// `resourceSpans` key. `None` for anything else (logs, other JSON such as EMF metrics).
pub fn parse_export_request(line: &str) -> Option<ExportTraceServiceRequest> {
    let line = line.trim();
    if !line.starts_with('{') || !line.contains("\"resourceSpans\"") {
        return None;
    }
    serde_json::from_str(line).ok()
}

fn attributes(key_values: &[KeyValue]) -> BTreeMap<String, AttrValue> {
    key_values
        .iter()
        .map(|kv| (kv.key.clone(), AttrValue::from_any_value(kv.value.as_ref())))
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            // Writing to a String cannot fail.
            let _ = write!(out, "{byte:02x}");
            out
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::{
        common::v1::{ArrayValue, InstrumentationScope},
        resource::v1::Resource,
        trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::Event},
    };

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn request() -> ExportTraceServiceRequest {
        let span = |id: u8, parent: Option<u8>, name: &str| Span {
            trace_id: vec![0xab; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|parent| vec![parent; 8]).unwrap_or_default(),
            name: name.to_owned(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(id) * 1_000,
            end_time_unix_nano: 1_700_000_000_002_500_000,
            ..Default::default()
        };
        let mut root = span(1, None, "handler");
        root.attributes = vec![
            kv("faas.trigger", Value::StringValue("http".into())),
            kv("http.response.status_code", Value::IntValue(500)),
            kv("cold_start", Value::BoolValue(true)),
            kv(
                "list",
                Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(Value::DoubleValue(1.5)),
                    }],
                }),
            ),
        ];
        root.status = Some(Status {
            code: STATUS_ERROR,
            message: "boom".into(),
        });
        root.events = vec![Event {
            name: "exception".into(),
            time_unix_nano: 1_700_000_000_001_000_000,
            attributes: vec![kv("exception.type", Value::StringValue("MyError".into()))],
            ..Default::default()
        }];
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", Value::StringValue("svc".into()))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "serverless_sdk".into(),
                        version: "0.1.0".into(),
                        ..Default::default()
                    }),
                    spans: vec![root, span(2, Some(1), "child")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn flattens_a_request() {
        let spans = FlatSpan::from_request(&request());
        assert_eq!(spans.len(), 2);
        let root = &spans[0];
        assert_eq!(root.trace_id, "ab".repeat(16));
        assert_eq!(root.span_id, "0101010101010101");
        assert!(root.is_root());
        assert_eq!(root.kind_name(), "server");
        assert_eq!(root.attr_str("faas.trigger"), Some("http"));
        assert_eq!(root.attr_i64("http.response.status_code"), Some(500));
        assert_eq!(root.attr_bool("cold_start"), Some(true));
        assert_eq!(root.attr("list").unwrap().to_string(), "[1.5]");
        assert_eq!(root.resource_str("service.name"), Some("svc"));
        assert_eq!(root.scope_name, "serverless_sdk");
        assert!(root.is_error());
        assert_eq!(root.status_message, "boom");
        assert_eq!(
            root.event("exception").unwrap().attr_str("exception.type"),
            Some("MyError")
        );
        assert_eq!(spans[1].parent_span_id, root.span_id);
        assert_eq!(spans[1].duration(), Duration::from_nanos(2_500_000 - 2_000));
    }

    #[test]
    fn parse_json_lines_reads_otlp_json_among_other_output() {
        let json = serde_json::to_string(&request()).unwrap();
        // OTLP/JSON encodes ids as hex and nanoseconds as strings.
        assert!(json.contains(&"ab".repeat(16)), "{json}");
        assert!(
            json.contains("\"startTimeUnixNano\":\"1700000000000001000\""),
            "{json}"
        );
        let text = format!(
            "START RequestId: 1\n{json}\nnot json\n{{\"level\":\"info\"}}\n{{broken\n  {json}  \n"
        );
        let spans = parse_json_lines(&text);
        assert_eq!(spans.len(), 4);
        assert_eq!(spans[..2], FlatSpan::from_request(&request())[..]);
        assert_eq!(spans[0].start_unix_nano, 1_700_000_000_000_001_000);
    }

    #[test]
    fn parse_json_lines_reads_the_specification_example() {
        // Shape of the OTLP/JSON example in the OpenTelemetry specification.
        let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},"scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"I'm a server span","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000","kind":2,"attributes":[{"key":"my.span.attr","value":{"intValue":"42"}}],"status":{"code":2,"message":"bad"}}]}]}]}"#;
        let spans = parse_json_lines(line);
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(span.parent_span_id, "eee19b7ec3c1b173");
        assert_eq!(span.attr_i64("my.span.attr"), Some(42));
        assert_eq!(span.duration(), Duration::from_secs(1));
        assert_eq!(span.status_name(), "error");
        assert_eq!(span.resource_str("service.name"), Some("my.service"));
    }
}
