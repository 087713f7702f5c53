//! What an event says about its invocation, read from the raw payload before the handler
//! deserialises it: which kind of source sent it, what happened (a root span name and the
//! source's attributes), the trace it continues or the traces it links to, whether it is a
//! redelivery, and for HTTP events the method, path and route template.
//!
//! This is the SDK's one reader of raw events. Facades whose handlers receive a typed
//! request (`lambda_http::Request`) describe it with the same [`EventSource`].
//!
//! The reader is a borrowing serde probe: one pass over the payload, strings borrowed from
//! it, unknown fields skipped, records folded as they are read (a batch is never collected).
//!
//! | source | `faas.trigger` | kind | root span name | attributes | trace |
//! |---|---|---|---|---|---|
//! | API Gateway v1/v2, ALB, Function URL | `http` | SERVER | `{method} {route}` | `http.*`, `url.path` | `traceparent` header as parent |
//! | SQS | `pubsub` | CONSUMER | `process {queue}` | `messaging.*`, `messaging.batch.message_count` | each record's producer as a link |
//! | SNS | `pubsub` | CONSUMER | `process {topic}` | `messaging.*` | the `traceparent` message attribute as parent |
//! | Kinesis | `pubsub` | CONSUMER | `process {stream}` | `messaging.*` (shard as partition) | |
//! | DynamoDB streams | `datasource` | CONSUMER | `process {table}` | `messaging.*`, `faas.document.*` | |
//! | S3 | `datasource` | SERVER | `s3 {eventName} {bucket}` | `faas.document.*` | |
//! | EventBridge schedule | `timer` | SERVER | the function's | `faas.time`, `faas.cron` | |
//! | other EventBridge events | `pubsub` | CONSUMER | `{source} {detail-type}` | `messaging.*` | |
//!
//! Redeliveries ([`EventSource::note_delivery`]) are told by the event (SQS
//! `ApproximateReceiveCount`) or by a small bounded memory of this process
//! (`seen`: request ids, stream record ids).

/// The `visit_*` methods of a lenient visitor (`fields`) that skip a value and read it as
/// the default.
macro_rules! skip {
    (numbers) => {
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (other) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
    (str) => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

mod fields;
mod seen;

use std::{borrow::Cow, fmt, marker::PhantomData, sync::OnceLock};

use opentelemetry::{
    KeyValue,
    trace::{Link, SpanContext, SpanKind, TraceFlags, TraceState},
};
use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
};

use super::trace_context::TraceParent;
use crate::attributes as attr;
#[cfg(feature = "batch")]
pub(crate) use fields::sns_envelope_traceparent;
use fields::{BodyTraceparent, MessageTraceparent, Number, Obj, Text};

/// The event source of an invocation, as in OpenTelemetry's `faas.trigger`.
///
/// ```
/// use serverless_sdk::export::TriggerKind;
/// assert_eq!(TriggerKind::PubSub.as_str(), "pubsub");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TriggerKind {
    /// API Gateway, ALB, Function URLs.
    Http,
    /// SQS, SNS, EventBridge and other messaging sources.
    PubSub,
    /// S3, DynamoDB streams and other data sources.
    Datasource,
    /// Scheduled events.
    Timer,
    /// Anything else, including direct invocations.
    Other,
}

impl TriggerKind {
    /// The `faas.trigger` value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::PubSub => "pubsub",
            Self::Datasource => "datasource",
            Self::Timer => "timer",
            Self::Other => "other",
        }
    }
}

/// What an event says about its invocation.
#[derive(Debug)]
pub struct EventSource<'a> {
    pub(crate) trigger: TriggerKind,
    pub(crate) kind: SpanKind,
    /// A root span name that says what happened, when the event tells it.
    pub(crate) name: Option<Cow<'static, str>>,
    /// The source's own attributes for the root span.
    pub(crate) attributes: Vec<KeyValue>,
    /// The trace the invocation continues, when the event carries one.
    pub(crate) parent: Option<TraceParent>,
    /// Traces the invocation is linked to (the producers of a batch's records).
    pub(crate) links: Vec<Link>,
    pub(crate) http: Option<HttpRequest<'a>>,
    /// What the event says about earlier deliveries of itself.
    pub(crate) delivery: Delivery,
}

/// What an event says about earlier deliveries of itself, for [`EventSource::note_delivery`].
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// The highest SQS `ApproximateReceiveCount` of the batch.
    receive_count: u32,
    /// The keys of a stream batch's records (Kinesis, DynamoDB), the first record's first.
    stream_keys: Vec<u64>,
}

impl Default for EventSource<'_> {
    fn default() -> Self {
        Self {
            trigger: TriggerKind::Other,
            kind: SpanKind::Server,
            name: None,
            attributes: Vec::new(),
            parent: None,
            links: Vec::new(),
            http: None,
            delivery: Delivery::default(),
        }
    }
}

/// What an HTTP event says about its request.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest<'a> {
    pub(crate) method: Cow<'a, str>,
    pub(crate) path: Cow<'a, str>,
    /// The route template the event carries (API Gateway `resource`, `routeKey`), with its
    /// method when the template names one.
    pub(crate) route: Option<(Option<Cow<'a, str>>, Cow<'a, str>)>,
}

impl<'a> EventSource<'a> {
    /// An HTTP request (API Gateway, ALB, Function URL): a SERVER span continuing the
    /// request's W3C `traceparent`, when it has one.
    #[must_use]
    pub fn http(
        method: &'a str,
        path: &'a str,
        route: Option<(Option<&'a str>, &'a str)>,
        traceparent: Option<&str>,
    ) -> Self {
        Self {
            trigger: TriggerKind::Http,
            kind: SpanKind::Server,
            parent: traceparent.and_then(TraceParent::from_w3c),
            http: Some(HttpRequest {
                method: Cow::Borrowed(method),
                path: Cow::Borrowed(path),
                route: route.map(|(m, p)| (m.map(Cow::Borrowed), Cow::Borrowed(p))),
            }),
            ..Self::default()
        }
    }

    /// The kind of source.
    #[must_use]
    pub fn trigger(&self) -> TriggerKind {
        self.trigger
    }

    /// What this source says about its HTTP request, if it is one.
    pub(crate) fn http_request(&self) -> Option<&HttpRequest<'a>> {
        self.http.as_ref()
    }

    /// Checks the event against what this process was handed before, remembers it, and
    /// says on the root span when the invocation is a redelivery (see
    /// [`attr::REDELIVERY_REASON`]).
    pub(crate) fn note_delivery(&mut self, request_id: &str) {
        let (batch_seen, request_seen) =
            seen::remember_delivery(&self.delivery.stream_keys, request_id);
        let reason = if self.delivery.receive_count > 1 {
            "receive_count"
        } else if batch_seen {
            "batch_seen"
        } else if request_seen {
            "request_id_seen"
        } else {
            return;
        };
        self.attributes.push(KeyValue::new(attr::REDELIVERED, true));
        self.attributes
            .push(KeyValue::new(attr::REDELIVERY_REASON, reason));
    }
}

/// Why a payload is not an event at all.
#[derive(Debug)]
pub(crate) enum BadPayload {
    Empty,
    NotUtf8(std::str::Utf8Error),
    NotJson(serde_json::Error),
}

impl fmt::Display for BadPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the event is empty; Lambda events are JSON"),
            Self::NotUtf8(e) => write!(f, "the event is not UTF-8 ({e}); Lambda events are JSON"),
            Self::NotJson(e) => write!(f, "the event is not JSON: {e}"),
        }
    }
}

/// Reads a raw event. A payload that is JSON but not an object of a known source is an
/// event of an unknown source (`faas.trigger = other`); one that is not JSON at all is a
/// [`BadPayload`].
pub(crate) fn read(payload: &[u8]) -> Result<EventSource<'_>, BadPayload> {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Err(BadPayload::Empty);
    };
    // Only objects are events of a known source (serde would also read a struct from an
    // array); anything else only has to be JSON.
    let probe = if *first == b'{' {
        serde_json::from_slice::<Probe<'_>>(payload).map(Some)
    } else {
        serde_json::from_slice::<IgnoredAny>(payload).map(|_| None)
    };
    match probe {
        Ok(Some(probe)) => Ok(probe.into_source()),
        Ok(None) => Ok(EventSource::default()),
        Err(e) => match std::str::from_utf8(payload) {
            Err(utf8) => Err(BadPayload::NotUtf8(utf8)),
            // JSON whose known fields hold values of another shape: an unknown source.
            Ok(_) if *first == b'{' => match serde_json::from_slice::<IgnoredAny>(payload) {
                Ok(_) => Ok(EventSource::default()),
                Err(e) => Err(BadPayload::NotJson(e)),
            },
            Ok(_) => Err(BadPayload::NotJson(e)),
        },
    }
}

/// [`read`], then [`EventSource::note_delivery`]: what the runtime layer does with each
/// event.
pub(crate) fn read_delivered<'a>(
    payload: &'a [u8],
    request_id: &str,
) -> Result<EventSource<'a>, BadPayload> {
    let mut source = read(payload)?;
    source.note_delivery(request_id);
    Ok(source)
}

/// The fields of the known event shapes that say where an event came from.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Probe<'a> {
    #[serde(rename = "Records", borrow)]
    records: Option<Records<'a>>,
    #[serde(rename = "requestContext", borrow)]
    request_context: Option<RequestContextProbe<'a>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<Cow<'a, str>>,
    #[serde(rename = "httpMethod", borrow)]
    http_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(rename = "rawPath", borrow)]
    raw_path: Option<Cow<'a, str>>,
    #[serde(rename = "routeKey", borrow)]
    route_key: Option<Cow<'a, str>>,
    headers: Traceparent,
    /// EventBridge: the event's id and time.
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    time: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RequestContextProbe<'a> {
    #[serde(rename = "resourcePath", borrow)]
    resource_path: Option<Cow<'a, str>>,
    #[serde(rename = "httpMethod", borrow)]
    http_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    http: Option<HttpProbe<'a>>,
    #[serde(borrow)]
    stage: Option<Cow<'a, str>>,
    elb: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HttpProbe<'a> {
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
}

/// The `traceparent` value of a headers object, matched case-insensitively, without
/// collecting the other headers.
#[derive(Default)]
struct Traceparent(Option<String>);

impl<'de> Deserialize<'de> for Traceparent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Find;
        impl<'de> Visitor<'de> for Find {
            type Value = Traceparent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a headers object")
            }
            fn visit_unit<E>(self) -> Result<Traceparent, E> {
                Ok(Traceparent(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Traceparent, A::Error> {
                let value = fields::entry::<_, Option<String>>(map, "traceparent")?;
                Ok(Traceparent(value.flatten()))
            }
        }
        deserializer.deserialize_any(Find)
    }
}

/// Whether an API Gateway resource / route key is a real template rather than a catch-all.
fn is_real_template(path: &str) -> bool {
    path.starts_with('/') && !path.contains('+')
}

/// Whether `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set, read once: `lambda_http` then
/// leaves the stage out of request paths.
fn ignore_stage_in_path() -> bool {
    static IGNORE: OnceLock<bool> = OnceLock::new();
    *IGNORE.get_or_init(|| std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some())
}

/// The request path as `lambda_http` presents it: API Gateway paths carry their stage,
/// unless `ignore_stage` ([`ignore_stage_in_path`]).
fn path_with_stage<'a>(
    stage: Option<&str>,
    path: Cow<'a, str>,
    ignore_stage: bool,
) -> Cow<'a, str> {
    match stage {
        None | Some("$default") => path,
        Some(_) if ignore_stage => path,
        Some(stage) if starts_with_stage(&path, stage) => path,
        Some(stage) => Cow::Owned(format!("/{stage}{path}")),
    }
}

/// Whether `path` starts with `/{stage}/`.
fn starts_with_stage(path: &str, stage: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|rest| rest.strip_prefix(stage))
        .is_some_and(|rest| rest.starts_with('/'))
}

impl<'a> Probe<'a> {
    fn into_source(self) -> EventSource<'a> {
        if let Some(ctx) = self.request_context {
            return http_source(
                ctx,
                self.http_method,
                self.path,
                self.raw_path,
                self.route_key,
                self.headers,
            );
        }
        if let Some(records) = self.records.filter(|r| r.count > 0) {
            return records.into_source();
        }
        match (self.source.as_deref(), self.detail_type.as_deref()) {
            (Some("aws.events" | "aws.scheduler"), Some("Scheduled Event")) => {
                let mut attributes = Vec::with_capacity(2);
                if let Some(time) = self.time.0 {
                    attributes.push(KeyValue::new(attr::FAAS_TIME, time.into_owned()));
                }
                if let Some(cron) = schedule_cron() {
                    attributes.push(KeyValue::new(attr::FAAS_CRON, cron));
                }
                EventSource {
                    trigger: TriggerKind::Timer,
                    attributes,
                    ..EventSource::default()
                }
            }
            (Some(source), Some(detail_type)) => {
                let mut attributes = messaging("aws.eventbridge", None);
                if let Some(id) = self.id.0 {
                    attributes.push(KeyValue::new(attr::MESSAGING_MESSAGE_ID, id.into_owned()));
                }
                EventSource {
                    trigger: TriggerKind::PubSub,
                    kind: SpanKind::Consumer,
                    name: Some(Cow::Owned(format!("{source} {detail_type}"))),
                    attributes,
                    ..EventSource::default()
                }
            }
            _ => EventSource::default(),
        }
    }
}

/// The schedule of timer invocations as a cron expression, from
/// `SERVERLESS_SDK_SCHEDULE_EXPRESSION` (`cron(0 12 * * ? *)` or the bare expression; a
/// `rate(..)` expression is no cron expression): scheduled events do not say it.
fn schedule_cron() -> Option<&'static str> {
    static CRON: OnceLock<Option<String>> = OnceLock::new();
    CRON.get_or_init(|| {
        let expression = std::env::var("SERVERLESS_SDK_SCHEDULE_EXPRESSION").ok()?;
        let expression = expression.trim();
        let cron = match expression.strip_prefix("cron(") {
            Some(rest) => rest.strip_suffix(')')?.trim(),
            None if expression.starts_with("rate(") || expression.is_empty() => return None,
            None => expression,
        };
        Some(cron.to_owned())
    })
    .as_deref()
}

/// The messaging attributes every consumer of `system` gets.
pub(crate) fn messaging(system: &'static str, destination: Option<&str>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(8);
    attributes.extend([
        KeyValue::new(attr::MESSAGING_SYSTEM, system),
        KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "process"),
        KeyValue::new(attr::MESSAGING_OPERATION_NAME, "process"),
    ]);
    if let Some(destination) = destination {
        attributes.push(KeyValue::new(
            attr::MESSAGING_DESTINATION_NAME,
            destination.to_owned(),
        ));
    }
    attributes
}

/// The queue, topic, stream or table an ARN names: `orders` for
/// `arn:aws:sqs:us-east-1:123456789012:orders`, `simple-stream` for
/// `…:stream/simple-stream`, `Example-Table` for `…:table/Example-Table/stream/2016-…`.
pub(crate) fn destination(arn: &str) -> &str {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    match resource.split_once('/') {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => resource,
    }
}

/// The most links a root span gets from the producers of its batch (OpenTelemetry's
/// default span link limit).
const MAX_LINKS: usize = 128;

/// Adds the trace context of a message's producer, unless it has no span or is there
/// already (records sent from one producer span share it).
pub(crate) fn push_producer(producers: &mut Vec<TraceParent>, producer: Option<TraceParent>) {
    if let Some(p) = producer.filter(|p| p.span_id.is_some())
        && producers.len() < MAX_LINKS
        && !producers.contains(&p)
    {
        producers.push(p);
    }
}

/// A span link to a message's producer.
pub(crate) fn link_to(producer: &TraceParent) -> Option<Link> {
    let flags = if producer.sampled() {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let context = SpanContext::new(
        producer.trace_id,
        producer.span_id?,
        flags,
        true,
        TraceState::NONE,
    );
    Some(Link::with_context(context))
}

/// The kinds of records a `Records` array holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecordKind {
    Sqs,
    Sns,
    Kinesis,
    DynamoDb,
    S3,
    Other,
}

impl RecordKind {
    fn of(event_source: Option<&str>) -> Self {
        match event_source {
            Some("aws:sqs") => Self::Sqs,
            Some("aws:sns") => Self::Sns,
            Some("aws:kinesis") => Self::Kinesis,
            Some("aws:dynamodb") => Self::DynamoDb,
            Some("aws:s3") => Self::S3,
            _ => Self::Other,
        }
    }
}

/// One record of a `Records` array: the fields of SQS, SNS, Kinesis, DynamoDB and S3
/// records that say where it came from.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordProbe<'a> {
    #[serde(rename = "eventSource", alias = "EventSource", borrow)]
    event_source: Text<'a>,
    #[serde(rename = "eventSourceARN", borrow)]
    event_source_arn: Text<'a>,
    #[serde(rename = "eventID", borrow)]
    event_id: Text<'a>,
    #[serde(rename = "eventName", borrow)]
    event_name: Text<'a>,
    #[serde(rename = "eventTime", borrow)]
    event_time: Text<'a>,
    #[serde(borrow)]
    attributes: Obj<SqsAttributes<'a>>,
    #[serde(rename = "messageAttributes")]
    message_attributes: MessageTraceparent,
    body: BodyTraceparent,
    dynamodb: Obj<DynamoDbProbe>,
    #[serde(borrow)]
    s3: Obj<S3Probe<'a>>,
    #[serde(rename = "Sns", borrow)]
    sns: Obj<SnsProbe<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SqsAttributes<'a> {
    #[serde(rename = "AWSTraceHeader", borrow)]
    trace_header: Text<'a>,
    #[serde(rename = "ApproximateReceiveCount", borrow)]
    receive_count: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DynamoDbProbe {
    /// Epoch seconds.
    #[serde(rename = "ApproximateCreationDateTime")]
    created: Number,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct S3Probe<'a> {
    #[serde(borrow)]
    bucket: Obj<Named<'a>>,
    #[serde(borrow)]
    object: Obj<Keyed<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named<'a> {
    #[serde(borrow)]
    name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Keyed<'a> {
    #[serde(borrow)]
    key: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SnsProbe<'a> {
    #[serde(rename = "TopicArn", borrow)]
    topic_arn: Text<'a>,
    #[serde(rename = "MessageId", borrow)]
    message_id: Text<'a>,
    #[serde(rename = "MessageAttributes")]
    message_attributes: MessageTraceparent,
}

/// A `Records` array, folded as it is read: what the root span needs of the whole batch,
/// and the first record.
#[derive(Default)]
struct Records<'a> {
    count: usize,
    kind: Option<RecordKind>,
    /// The first record's source ARN (the topic ARN for SNS).
    arn: Option<Cow<'a, str>>,
    /// Set when records come from several sources.
    mixed: bool,
    /// The traces of the records' producers.
    producers: Vec<TraceParent>,
    delivery: Delivery,
    /// DynamoDB: the records' common operation, `multiple` when they differ.
    operation: Option<&'static str>,
    first: Option<RecordProbe<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Records<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fold<'a>(PhantomData<Records<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for Fold<'a> {
            type Value = Records<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of records")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Records<'a>, A::Error> {
                let mut records = Records::default();
                while let Some(Obj(record)) = seq.next_element::<Obj<RecordProbe<'a>>>()? {
                    records.add(record);
                }
                Ok(records)
            }
            skip!(numbers);
            skip!(str);
            skip!(map);
            fn visit_bool<E>(self, _: bool) -> Result<Records<'a>, E> {
                Ok(Records::default())
            }
            fn visit_unit<E>(self) -> Result<Records<'a>, E> {
                Ok(Records::default())
            }
        }
        deserializer.deserialize_any(Fold(PhantomData))
    }
}

impl<'a> Records<'a> {
    fn add(&mut self, record: RecordProbe<'a>) {
        self.count += 1;
        let kind = RecordKind::of(record.event_source.as_deref());
        let arn = match kind {
            RecordKind::Sns => record.sns.0.topic_arn.0.as_ref(),
            _ => record.event_source_arn.0.as_ref(),
        };
        match (&self.kind, &self.arn) {
            (None, _) => {
                self.kind = Some(kind);
                self.arn = arn.cloned();
            }
            (Some(k), first) => self.mixed |= *k != kind || first.as_ref() != arn,
        }
        match kind {
            RecordKind::Sqs => {
                let attributes = &record.attributes.0;
                let received = attributes.receive_count.as_deref();
                let received = received.and_then(|n| n.parse().ok()).unwrap_or(0);
                self.delivery.receive_count = self.delivery.receive_count.max(received);
                let xray = attributes.trace_header.as_deref();
                push_producer(&mut self.producers, xray.and_then(TraceParent::from_xray));
                push_producer(&mut self.producers, record.message_attributes.0);
                push_producer(&mut self.producers, record.body.0);
            }
            RecordKind::Sns => {
                push_producer(&mut self.producers, record.sns.0.message_attributes.0);
            }
            RecordKind::Kinesis | RecordKind::DynamoDb => {
                if let Some(id) = record.event_id.as_deref()
                    && self.delivery.stream_keys.len() < seen::SLOTS
                {
                    self.delivery.stream_keys.push(seen::stream_key(id));
                }
                if kind == RecordKind::DynamoDb {
                    let operation = dynamodb_operation(record.event_name.as_deref());
                    self.operation = match self.operation {
                        None => Some(operation),
                        Some(op) if op == operation => Some(op),
                        Some(_) => Some("multiple"),
                    };
                }
            }
            RecordKind::S3 | RecordKind::Other => {}
        }
        if self.first.is_none() {
            self.first = Some(record);
        }
    }

    fn into_source(self) -> EventSource<'a> {
        let Records {
            count,
            kind,
            arn,
            mixed,
            producers,
            delivery,
            operation,
            first,
        } = self;
        let first = first.unwrap_or_default();
        let destination = match (&arn, mixed) {
            (Some(arn), false) => Some(destination(arn)),
            _ => None,
        };
        let name = match (destination, mixed) {
            (Some(d), _) => Some(Cow::Owned(format!("process {d}"))),
            (None, true) => Some(Cow::Borrowed("process multiple_sources")),
            (None, false) => None,
        };
        let batch = |system, trigger| {
            let mut attributes = messaging(system, destination);
            attributes.push(KeyValue::new(
                attr::MESSAGING_BATCH_MESSAGE_COUNT,
                i64::try_from(count).unwrap_or(i64::MAX),
            ));
            EventSource {
                trigger,
                kind: SpanKind::Consumer,
                name: name.clone(),
                attributes,
                ..EventSource::default()
            }
        };
        let mut source = match kind.unwrap_or(RecordKind::Other) {
            RecordKind::Sqs => EventSource {
                links: producers.iter().filter_map(link_to).collect(),
                ..batch("aws_sqs", TriggerKind::PubSub)
            },
            RecordKind::Kinesis => {
                let mut source = batch("aws_kinesis", TriggerKind::PubSub);
                let shard = first.event_id.as_deref().and_then(|id| id.split_once(':'));
                if let Some((shard, _)) = shard.filter(|_| !mixed) {
                    source.attributes.push(KeyValue::new(
                        attr::MESSAGING_DESTINATION_PARTITION_ID,
                        shard.to_owned(),
                    ));
                }
                source
            }
            RecordKind::DynamoDb => {
                let mut source = batch("aws.dynamodb", TriggerKind::Datasource);
                if let Some(table) = destination {
                    source.attributes.push(KeyValue::new(
                        attr::FAAS_DOCUMENT_COLLECTION,
                        table.to_owned(),
                    ));
                }
                if let Some(operation) = operation {
                    source
                        .attributes
                        .push(KeyValue::new(attr::FAAS_DOCUMENT_OPERATION, operation));
                }
                if let Some(time) = first.dynamodb.0.created.0.and_then(iso8601) {
                    source
                        .attributes
                        .push(KeyValue::new(attr::FAAS_DOCUMENT_TIME, time));
                }
                source
            }
            RecordKind::Sns => {
                let mut attributes = messaging("aws.sns", destination);
                if let Some(id) = first.sns.0.message_id.0 {
                    attributes.push(KeyValue::new(attr::MESSAGING_MESSAGE_ID, id.into_owned()));
                }
                // SNS delivers one message per invocation: its producer is the parent.
                let (parent, links) = match producers.as_slice() {
                    [one] if count == 1 => (Some(*one), Vec::new()),
                    many => (None, many.iter().filter_map(link_to).collect()),
                };
                EventSource {
                    trigger: TriggerKind::PubSub,
                    kind: SpanKind::Consumer,
                    name,
                    attributes,
                    parent,
                    links,
                    ..EventSource::default()
                }
            }
            RecordKind::S3 => s3_source(first),
            RecordKind::Other => EventSource::default(),
        };
        source.delivery = delivery;
        source
    }
}

/// An S3 notification (one record per event).
fn s3_source(record: RecordProbe<'_>) -> EventSource<'static> {
    let RecordProbe {
        event_name,
        event_time,
        s3,
        ..
    } = record;
    let S3Probe { bucket, object } = s3.0;
    let bucket = bucket.0.name.0;
    let mut attributes = Vec::with_capacity(4);
    if let Some(bucket) = &bucket {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_COLLECTION,
            bucket.to_string(),
        ));
    }
    if let Some(event) = event_name.as_deref() {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_OPERATION,
            s3_operation(event),
        ));
    }
    if let Some(key) = object.0.key.as_deref() {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_NAME,
            decode_key(key).into_owned(),
        ));
    }
    if let Some(time) = event_time.0 {
        attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_TIME, time.into_owned()));
    }
    let name = match (event_name.as_deref(), &bucket) {
        (Some(event), Some(bucket)) => Some(Cow::Owned(format!("s3 {event} {bucket}"))),
        _ => None,
    };
    EventSource {
        trigger: TriggerKind::Datasource,
        kind: SpanKind::Server,
        name,
        attributes,
        ..EventSource::default()
    }
}

/// `faas.document.operation` of an S3 event name (`ObjectCreated:Put`).
fn s3_operation(event_name: &str) -> &'static str {
    match event_name.split(':').next() {
        Some("ObjectCreated") => "insert",
        Some("ObjectRemoved" | "LifecycleExpiration") => "delete",
        _ => "edit",
    }
}

/// `faas.document.operation` of a DynamoDB stream record's `eventName`.
fn dynamodb_operation(event_name: Option<&str>) -> &'static str {
    match event_name {
        Some("INSERT") => "insert",
        Some("REMOVE") => "delete",
        _ => "edit",
    }
}

/// An S3 object key as S3 notifications encode it (URL-encoded, spaces as `+`), decoded.
fn decode_key(key: &str) -> Cow<'_, str> {
    if !key.contains(['%', '+']) {
        return Cow::Borrowed(key);
    }
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_or(Cow::Borrowed(key), Cow::Owned)
}

/// Seconds since the Unix epoch as ISO 8601 in UTC (`2016-12-02T01:27:00Z`); `None` before
/// the epoch and past year 9999.
fn iso8601(seconds: f64) -> Option<String> {
    if !(0.0..253_402_300_800.0).contains(&seconds) {
        return None;
    }
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(seconds.trunc());
    Some(humantime::format_rfc3339_seconds(time).to_string())
}

fn http_source<'a>(
    ctx: RequestContextProbe<'a>,
    http_method: Option<Cow<'a, str>>,
    path: Option<Cow<'a, str>>,
    raw_path: Option<Cow<'a, str>>,
    route_key: Option<Cow<'a, str>>,
    headers: Traceparent,
) -> EventSource<'a> {
    let method = ctx
        .http
        .and_then(|h| h.method)
        .or(http_method)
        .or(ctx.http_method);
    let is_alb = ctx.elb.is_some();
    let raw = raw_path.or(path);
    let path = match raw {
        Some(p) if is_alb => Some(p),
        Some(p) => Some(path_with_stage(
            ctx.stage.as_deref(),
            p,
            ignore_stage_in_path(),
        )),
        None => None,
    };
    let route = match (ctx.resource_path, route_key) {
        (Some(resource), _) if is_real_template(&resource) => Some((None, resource)),
        (_, Some(key)) => split_route_key(key),
        _ => None,
    };
    EventSource {
        trigger: TriggerKind::Http,
        kind: SpanKind::Server,
        parent: headers.0.as_deref().and_then(TraceParent::from_w3c),
        http: method.map(|method| HttpRequest {
            method,
            path: path.unwrap_or(Cow::Borrowed("/")),
            route,
        }),
        ..EventSource::default()
    }
}

/// `"GET /users/{id}"` into its method and template; `ANY` names no method, and `$default`
/// or a greedy `{proxy+}` no template.
fn split_route_key(key: Cow<'_, str>) -> Option<(Option<Cow<'_, str>>, Cow<'_, str>)> {
    let (method, path) = key.split_once(' ')?;
    if !is_real_template(path) {
        return None;
    }
    let method = (method != "ANY").then(|| Cow::Owned(method.to_owned()));
    Some((method, Cow::Owned(path.to_owned())))
}

/// Removes the query string and fragment of a URL or path.
pub(crate) fn strip_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(payload: &[u8]) -> TriggerKind {
        read(payload).map_or(TriggerKind::Other, |s| s.trigger)
    }

    #[test]
    fn known_sources_are_told_apart() {
        assert_eq!(
            trigger(br#"{"Records":[{"eventSource":"aws:sqs"}]}"#),
            TriggerKind::PubSub
        );
        assert_eq!(
            trigger(br#"{"Records":[{"EventSource":"aws:sns"}]}"#),
            TriggerKind::PubSub
        );
        assert_eq!(
            trigger(br#"{"Records":[{"eventSource":"aws:s3"}]}"#),
            TriggerKind::Datasource
        );
        assert_eq!(
            trigger(br#"{"source":"aws.events","detail-type":"Scheduled Event"}"#),
            TriggerKind::Timer
        );
        assert_eq!(
            trigger(br#"{"source":"shop","detail-type":"OrderPlaced"}"#),
            TriggerKind::PubSub
        );
        assert_eq!(
            trigger(br#"{"requestContext":{"http":{"method":"GET"}},"rawPath":"/a"}"#),
            TriggerKind::Http
        );
        assert_eq!(trigger(br#"{"username":"bob"}"#), TriggerKind::Other);
    }

    /// Found by the `detect_trigger` fuzz target: serde reads a struct from an array too.
    #[test]
    fn arrays_are_not_http_events() {
        assert_eq!(trigger(b"[[],2]"), TriggerKind::Other);
        assert_eq!(trigger(b" [null, {}]"), TriggerKind::Other);
        assert_eq!(trigger(b"{}"), TriggerKind::Other);
    }

    #[test]
    fn payloads_that_are_not_json_are_bad() {
        assert!(matches!(read(b""), Err(BadPayload::Empty)));
        assert!(matches!(read(b"  \n"), Err(BadPayload::Empty)));
        assert!(matches!(read(b"not json"), Err(BadPayload::NotJson(_))));
        assert!(matches!(read(b"{\"a\":"), Err(BadPayload::NotJson(_))));
        assert!(matches!(read(b"[1, 2"), Err(BadPayload::NotJson(_))));
        assert!(matches!(read(b"\xff\xfe{}"), Err(BadPayload::NotUtf8(_))));
        assert!(read(b"\"a string\"").is_ok());
        assert!(read(b"42").is_ok());
    }

    #[test]
    fn http_events_give_method_path_route_and_traceparent() {
        let v2 = br#"{"version":"2.0","routeKey":"GET /users/{id}","rawPath":"/users/7",
            "headers":{"TraceParent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","x":"y"},
            "requestContext":{"http":{"method":"GET","path":"/users/7"},"stage":"$default"}}"#;
        let source = read(v2).expect("an event");
        let http = source.http_request().expect("an HTTP request");
        assert_eq!(http.method, "GET");
        assert_eq!(http.path, "/users/7");
        assert_eq!(
            http.route.as_ref().map(|(m, p)| (m.as_deref(), p.as_ref())),
            Some((Some("GET"), "/users/{id}"))
        );
        assert_eq!(
            source.parent.map(|p| p.trace_id.to_string()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let v1 = br#"{"resource":"/{proxy+}","path":"/hello","httpMethod":"POST","headers":null,
            "requestContext":{"resourcePath":"/{proxy+}","httpMethod":"POST","stage":"Prod"}}"#;
        let source = read(v1).expect("an event");
        let http = source.http_request().expect("an HTTP request");
        assert_eq!(
            (http.method.as_ref(), http.path.as_ref()),
            ("POST", "/Prod/hello")
        );
        assert!(http.route.is_none(), "a catch-all is no route");
    }

    #[test]
    fn api_gateway_paths_carry_their_stage_unless_told_not_to() {
        let with = |stage: Option<&str>, path: &'static str, ignore: bool| {
            path_with_stage(stage, Cow::Borrowed(path), ignore).into_owned()
        };
        assert_eq!(with(Some("Prod"), "/hello", false), "/Prod/hello");
        assert_eq!(with(Some("Prod"), "/hello", true), "/hello");
        assert_eq!(with(Some("Prod"), "/Prod/hello", false), "/Prod/hello");
        assert_eq!(with(Some("Prod"), "/Production", false), "/Prod/Production");
        assert_eq!(with(Some("Prod"), "/Prod", false), "/Prod/Prod");
        assert_eq!(with(Some("$default"), "/hello", false), "/hello");
        assert_eq!(with(None, "/hello", false), "/hello");
    }

    fn attribute<'s>(source: &'s EventSource<'_>, key: &str) -> Option<&'s opentelemetry::Value> {
        source
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// Asserts that `source` has each text attribute `(key, value)`.
    #[track_caller]
    fn assert_texts(source: &EventSource<'_>, expected: &[(&str, &str)]) {
        for &(key, value) in expected {
            let text = crate::attributes::text_of(&source.attributes, key);
            assert_eq!(text.as_deref(), Some(value), "{key}");
        }
    }

    const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    const W3C: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn sqs_batches_name_their_queue_count_their_records_and_link_their_producers() {
        let event = format!(
            r#"{{"Records": [
            {{"messageId": "m1", "eventSource": "aws:sqs", "body": "a",
              "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:orders-queue",
              "attributes": {{"ApproximateReceiveCount": "1", "AWSTraceHeader": "{XRAY}"}}}},
            {{"messageId": "m2", "eventSource": "aws:sqs", "body": "b",
              "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:orders-queue",
              "attributes": {{"ApproximateReceiveCount": "1"}},
              "messageAttributes": {{"traceparent": {{"stringValue": "{W3C}", "dataType": "String"}}}}}},
            {{"messageId": "m3", "eventSource": "aws:sqs", "body": "c",
              "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:orders-queue",
              "attributes": {{"ApproximateReceiveCount": "1", "AWSTraceHeader": "{XRAY}"}}}}
        ]}}"#
        );
        let source = read(event.as_bytes()).expect("an event");
        assert_eq!(source.trigger, TriggerKind::PubSub);
        assert_eq!(source.kind, SpanKind::Consumer);
        assert_eq!(source.name.as_deref(), Some("process orders-queue"));
        assert_texts(
            &source,
            &[
                (attr::MESSAGING_SYSTEM, "aws_sqs"),
                (attr::MESSAGING_DESTINATION_NAME, "orders-queue"),
                (attr::MESSAGING_OPERATION_TYPE, "process"),
            ],
        );
        assert_eq!(
            attribute(&source, attr::MESSAGING_BATCH_MESSAGE_COUNT),
            Some(&opentelemetry::Value::I64(3))
        );
        // Records sent from one producer span share one link.
        let traces: Vec<String> = source
            .links
            .iter()
            .map(|l| l.span_context.trace_id().to_string())
            .collect();
        assert_eq!(
            traces,
            [
                "5759e988bd862e3fe1be46a994272793",
                "4bf92f3577b34da6a3ce929d0e0e4736"
            ]
        );
        assert!(
            source.parent.is_none(),
            "a batch links, it has no producer parent"
        );
    }

    #[test]
    fn sns_bodies_of_sqs_records_carry_the_producer() {
        let envelope = serde_json::json!({
            "Type": "Notification", "MessageId": "n1", "Message": "hi",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
            "MessageAttributes": { "traceparent": { "Type": "String", "Value": W3C } }
        })
        .to_string();
        let event = serde_json::json!({ "Records": [{
            "messageId": "m1", "eventSource": "aws:sqs", "body": envelope,
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:q"
        }]})
        .to_string();
        let source = read(event.as_bytes()).expect("an event");
        assert_eq!(source.links.len(), 1);
        assert_eq!(
            source.links[0].span_context.span_id().to_string(),
            "00f067aa0ba902b7"
        );
    }

    #[test]
    fn sns_notifications_continue_their_producer() {
        let event = format!(
            r#"{{"Records": [{{"EventSource": "aws:sns", "EventSubscriptionArn": "arn:aws:sns:EXAMPLE",
            "Sns": {{"Type": "Notification", "MessageId": "82833b5c", "Message": "Hello",
            "TopicArn": "arn:aws:sns:us-east-1:246796806071:snsNetTest",
            "MessageAttributes": {{"traceparent": {{"Type": "String", "Value": "{W3C}"}}}}}}}}]}}"#
        );
        let source = read(event.as_bytes()).expect("an event");
        assert_eq!(source.trigger, TriggerKind::PubSub);
        assert_eq!(source.name.as_deref(), Some("process snsNetTest"));
        assert_texts(
            &source,
            &[
                (attr::MESSAGING_SYSTEM, "aws.sns"),
                (attr::MESSAGING_MESSAGE_ID, "82833b5c"),
            ],
        );
        assert_eq!(
            source.parent.map(|p| p.trace_id.to_string()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert!(source.links.is_empty());
    }

    #[test]
    fn streams_name_their_stream_or_table() {
        let kinesis = br#"{"Records": [
            {"eventSource": "aws:kinesis", "eventID": "shardId-000000000000:4956", "kinesis": {"data": "SGVsbG8="},
             "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/simple-stream"},
            {"eventSource": "aws:kinesis", "eventID": "shardId-000000000000:4957", "kinesis": {"data": "SGVsbG8="},
             "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/simple-stream"}]}"#;
        let source = read(kinesis).expect("an event");
        assert_eq!(source.trigger, TriggerKind::PubSub);
        assert_eq!(source.name.as_deref(), Some("process simple-stream"));
        assert_texts(
            &source,
            &[
                (attr::MESSAGING_SYSTEM, "aws_kinesis"),
                (
                    attr::MESSAGING_DESTINATION_PARTITION_ID,
                    "shardId-000000000000",
                ),
            ],
        );
        assert_eq!(source.delivery.stream_keys.len(), 2);

        let dynamodb = br#"{"Records": [
            {"eventID": "e1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
             "dynamodb": {"ApproximateCreationDateTime": 1480642020, "SequenceNumber": "1"},
             "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Example-Table/stream/2016-12-01T00:00:00.000"},
            {"eventID": "e2", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
             "dynamodb": {"ApproximateCreationDateTime": 1480642021, "SequenceNumber": "2"},
             "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Example-Table/stream/2016-12-01T00:00:00.000"}]}"#;
        let source = read(dynamodb).expect("an event");
        assert_eq!(source.trigger, TriggerKind::Datasource);
        assert_eq!(source.kind, SpanKind::Consumer);
        assert_eq!(source.name.as_deref(), Some("process Example-Table"));
        assert_texts(
            &source,
            &[
                (attr::FAAS_DOCUMENT_COLLECTION, "Example-Table"),
                (attr::FAAS_DOCUMENT_OPERATION, "multiple"),
                (attr::FAAS_DOCUMENT_TIME, "2016-12-02T01:27:00Z"),
            ],
        );
    }

    #[test]
    fn s3_notifications_say_what_happened_to_which_object() {
        let event = br#"{"Records": [{"eventSource": "aws:s3", "eventTime": "1970-01-01T00:00:00.123Z",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "sourcebucket"}, "object": {"key": "Happy%20Face+1.jpg", "size": 1024}}}]}"#;
        let source = read(event).expect("an event");
        assert_eq!(source.trigger, TriggerKind::Datasource);
        assert_eq!(source.kind, SpanKind::Server);
        assert_eq!(
            source.name.as_deref(),
            Some("s3 ObjectCreated:Put sourcebucket")
        );
        assert_texts(
            &source,
            &[
                (attr::FAAS_DOCUMENT_NAME, "Happy Face 1.jpg"),
                (attr::FAAS_DOCUMENT_OPERATION, "insert"),
                (attr::FAAS_DOCUMENT_TIME, "1970-01-01T00:00:00.123Z"),
            ],
        );
    }

    #[test]
    fn eventbridge_events_and_schedules() {
        let schedule = br#"{"version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event",
            "source": "aws.events", "time": "2015-10-08T16:53:06Z", "detail": {}}"#;
        let source = read(schedule).expect("an event");
        assert_eq!(source.trigger, TriggerKind::Timer);
        assert_eq!(source.name, None, "a timer keeps the function's name");
        assert_texts(&source, &[(attr::FAAS_TIME, "2015-10-08T16:53:06Z")]);
        let event = br#"{"id": "7bf73129", "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2", "time": "2021-11-11T21:29:54Z", "detail": {"state": "pending"}}"#;
        let source = read(event).expect("an event");
        assert_eq!(source.trigger, TriggerKind::PubSub);
        assert_eq!(
            source.name.as_deref(),
            Some("aws.ec2 EC2 Instance State-change Notification")
        );
        assert_texts(&source, &[(attr::MESSAGING_MESSAGE_ID, "7bf73129")]);
    }

    #[test]
    fn redeliveries_are_told_by_the_event_or_by_memory() {
        let sqs = br#"{"Records": [{"eventSource": "aws:sqs", "messageId": "m",
            "attributes": {"ApproximateReceiveCount": "3"}}]}"#;
        let source = read_delivered(sqs, "").expect("an event");
        assert_texts(&source, &[(attr::REDELIVERY_REASON, "receive_count")]);
        let stream = br#"{"Records": [{"eventSource": "aws:kinesis", "eventID": "shardId-1:redelivery-test"}]}"#;
        let first = read_delivered(stream, "").expect("an event");
        assert_eq!(attribute(&first, attr::REDELIVERED), None);
        let again = read_delivered(stream, "").expect("an event");
        assert_texts(&again, &[(attr::REDELIVERY_REASON, "batch_seen")]);
        let direct = br#"{"order": 1}"#;
        let id = "redelivery-test-request-id";
        assert_eq!(
            attribute(
                &read_delivered(direct, id).expect("an event"),
                attr::REDELIVERED
            ),
            None
        );
        let retry = read_delivered(direct, id).expect("an event");
        assert_texts(&retry, &[(attr::REDELIVERY_REASON, "request_id_seen")]);
    }

    #[test]
    fn known_fields_of_another_shape_make_an_unknown_source() {
        for json in [
            r#"{"source": 1, "detail-type": ["x"]}"#,
            r#"{"Records": 5}"#,
            r#"{"Records": [1, "a", null, {"eventSource": 7}]}"#,
            r#"{"Records": [{"eventSource": "aws:sqs", "attributes": "x", "body": {"a": 1}}]}"#,
            r#"{"id": {"a": 1}, "time": 2}"#,
        ] {
            assert!(read(json.as_bytes()).is_ok(), "{json}");
        }
    }

    #[test]
    fn destinations_come_from_arns() {
        assert_eq!(destination("arn:aws:sqs:us-east-1:1:orders"), "orders");
        assert_eq!(destination("arn:aws:kinesis:us-east-1:1:stream/s"), "s");
        assert_eq!(
            destination("arn:aws:dynamodb:us-east-1:1:table/T/stream/2016-12-01T00:00:00.000"),
            "T"
        );
        assert_eq!(destination("not-an-arn"), "not-an-arn");
        assert_eq!(iso8601(0.0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            iso8601(951_782_400.5).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(iso8601(-1.0), None);
    }

    #[test]
    fn query_strings_are_stripped() {
        assert_eq!(strip_query("/a/b?x=1#f"), "/a/b");
        assert_eq!(strip_query("https://h/p#frag"), "https://h/p");
        assert_eq!(strip_query("/plain"), "/plain");
    }
}
