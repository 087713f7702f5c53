//! Field readers of the event probe that never fail on an unexpected shape: a field holding
//! another kind of JSON value than the probe expects reads as absent, so that an event of an
//! unknown shape is still an event (of source `other`) and costs one parse.

use std::{borrow::Cow, fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor, value::MapAccessDeserializer},
};

use crate::invocation::trace_context::TraceParent;

/// Reads `Self::Value` from any JSON value.
struct Any<T>(PhantomData<T>);

/// Deserialises `T` with its visitor `Any<T>`.
fn any<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    Any<T>: Visitor<'de, Value = T>,
{
    deserializer.deserialize_any(Any(PhantomData))
}

/// A string field, borrowed from the event when it has no escapes; any other value is absent.
#[derive(Debug, Default)]
pub(super) struct Text<'a>(pub(super) Option<Cow<'a, str>>);

impl Text<'_> {
    pub(super) fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Any<Text<'a>> {
    type Value = Text<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    skip!(numbers);
    skip!(other);
    skip!(map);
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        any(deserializer)
    }
}

/// An object field read as `T`; any other value is `T::default()`.
#[derive(Debug, Default)]
pub(super) struct Obj<T>(pub(super) T);

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for Any<Obj<T>> {
    type Value = Obj<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
    }
    skip!(numbers);
    skip!(other);
    skip!(str);
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        any(deserializer)
    }
}

/// A number; any other value is absent.
#[derive(Debug, Default)]
pub(super) struct Number(pub(super) Option<f64>);

// Epoch seconds: f64's 53-bit mantissa is exact well past the year 9999.
#[allow(clippy::cast_precision_loss)]
impl<'de> Visitor<'de> for Any<Number> {
    type Value = Number;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
        Ok(Number(Some(v)))
    }
    skip!(other);
    skip!(str);
    skip!(map);
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        any(deserializer)
    }
}

/// The W3C trace context a message body carries when it is an SNS notification delivered
/// to SQS without raw message delivery: `{"Type": "Notification", …, "MessageAttributes":
/// {"traceparent": {"Type": "String", "Value": "00-…"}}}`.
pub(crate) fn sns_envelope_traceparent(body: &str) -> Option<TraceParent> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "MessageAttributes", default)]
        attributes: MessageTraceparent,
    }
    let body = body.trim_start();
    if !body.starts_with('{') || !body.contains("traceparent") {
        return None;
    }
    serde_json::from_str::<Envelope>(body).ok()?.attributes.0
}

/// A message body, read only for the trace context of an SNS envelope.
#[derive(Debug, Default)]
pub(super) struct BodyTraceparent(pub(super) Option<TraceParent>);

impl<'de> Visitor<'de> for Any<BodyTraceparent> {
    type Value = BodyTraceparent;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E>(self, v: &str) -> Result<BodyTraceparent, E> {
        Ok(BodyTraceparent(sns_envelope_traceparent(v)))
    }
    skip!(numbers);
    skip!(other);
    skip!(map);
}

impl<'de> Deserialize<'de> for BodyTraceparent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        any(deserializer)
    }
}

/// The value of a map's first entry named `name` (ASCII case-insensitively), read as `V`;
/// the other entries are skipped without being collected.
pub(super) fn entry<'de, A, V>(mut map: A, name: &str) -> Result<Option<V>, A::Error>
where
    A: MapAccess<'de>,
    V: Deserialize<'de>,
{
    let mut found = None;
    // Keys as `Text`: borrowed, where `Cow`'s own `Deserialize` would allocate each one.
    while let Some(key) = map.next_key::<Text<'de>>()? {
        let matches = key.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(name));
        if found.is_none() && matches {
            found = Some(map.next_value::<V>()?);
        } else {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(found)
}

/// The `traceparent` entry of a message-attributes object (SQS `messageAttributes`, whose
/// values are `{"stringValue": ..}`, or SNS `MessageAttributes`, `{"Value": ..}`), its name
/// matched case-insensitively, without collecting the other attributes.
#[derive(Debug, Default)]
pub(crate) struct MessageTraceparent(pub(crate) Option<TraceParent>);

impl<'de> Visitor<'de> for Any<MessageTraceparent> {
    type Value = MessageTraceparent;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message attributes object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MessageTraceparent, A::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct AttributeValue<'a> {
            #[serde(rename = "stringValue", alias = "StringValue", alias = "Value", borrow)]
            value: Text<'a>,
        }
        let value = entry::<_, Obj<AttributeValue<'de>>>(map, "traceparent")?;
        Ok(MessageTraceparent(value.and_then(|value| {
            value.0.value.as_deref().and_then(TraceParent::from_w3c)
        })))
    }
    skip!(numbers);
    skip!(other);
    skip!(str);
}

impl<'de> Deserialize<'de> for MessageTraceparent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        any(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn fields_of_another_shape_read_as_absent() {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Inner<'a> {
            #[serde(borrow)]
            x: Text<'a>,
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Probe<'a> {
            #[serde(borrow)]
            a: Text<'a>,
            #[serde(borrow)]
            b: Obj<Inner<'a>>,
            c: MessageTraceparent,
            d: BodyTraceparent,
        }
        for json in [
            r#"{"a": 1, "b": "x", "c": [1], "d": {"e": 2}}"#,
            r#"{"a": {"x": [1, {"y": null}]}, "b": [], "c": "s", "d": true}"#,
            r#"{"a": null, "b": null, "c": null, "d": null}"#,
        ] {
            let probe: Probe<'_> = serde_json::from_str(json).expect(json);
            assert!(probe.a.0.is_none() && probe.b.0.x.0.is_none());
            assert!(probe.c.0.is_none() && probe.d.0.is_none());
        }
        let probe: Probe<'_> = serde_json::from_str(r#"{"a": "plain"}"#).expect("json");
        assert!(matches!(probe.a.0, Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn traceparents_are_found_in_message_attributes_and_sns_envelopes() {
        let sqs = format!(
            r#"{{"other": {{"stringValue": "x"}}, "TraceParent": {{"stringValue": "{HEADER}", "dataType": "String"}}}}"#
        );
        let found: MessageTraceparent = serde_json::from_str(&sqs).expect("json");
        assert_eq!(
            found.0.map(|p| p.trace_id.to_string()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let envelope = format!(
            r#"{{"Type": "Notification", "Message": "hi", "MessageAttributes": {{"traceparent": {{"Type": "String", "Value": "{HEADER}"}}}}}}"#
        );
        assert!(sns_envelope_traceparent(&envelope).is_some());
        assert!(sns_envelope_traceparent("plain text mentioning traceparent").is_none());
        assert!(sns_envelope_traceparent(r#"{"traceparent": 1}"#).is_none());
    }
}
