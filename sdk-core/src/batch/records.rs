//! What each kind of record says about its span: the messaging attributes, the producer it
//! links to, its identifier in the partial-failure response and its FIFO message group.

use aws_lambda_events::event::{
    dynamodb::EventRecord as DynamoDbRecord, kinesis::KinesisEventRecord, sqs::SqsMessage,
};
use opentelemetry::{KeyValue, trace::Link};

use crate::{
    attributes as attr,
    invocation::{
        source::{destination, link_to, messaging, push_producer, sns_envelope_traceparent},
        trace_context::TraceParent,
    },
};

/// A record, described before it is handed to its handler.
#[derive(Debug)]
pub(crate) struct Described {
    /// What its CONSUMER span starts with (moved into the span when it starts).
    pub(crate) span: RecordSpan,
    /// What the partial-failure response names it by.
    pub(crate) id: String,
    /// The FIFO message group.
    pub(crate) group: Option<String>,
}

/// The name, attributes and links of a record's CONSUMER span.
#[derive(Debug)]
pub(crate) struct RecordSpan {
    /// `process {destination}`.
    pub(crate) name: String,
    pub(crate) attributes: Vec<KeyValue>,
    /// The record's producer.
    pub(crate) links: Vec<Link>,
}

impl Described {
    fn new(system: &'static str, arn: Option<&str>, id: String) -> Self {
        let destination = arn.map(destination);
        let mut attributes = messaging(system, destination);
        attributes.push(KeyValue::new(attr::MESSAGING_MESSAGE_ID, id.clone()));
        Self {
            span: RecordSpan {
                name: match destination {
                    Some(d) => format!("process {d}"),
                    None => "process".to_owned(),
                },
                attributes,
                links: Vec::new(),
            },
            id,
            group: None,
        }
    }
}

/// An SQS message: its `messageId`, its producer (the `AWSTraceHeader` system attribute, a
/// `traceparent` message attribute, the `traceparent` of an SNS notification body), its
/// `MessageGroupId`, and whether it is a redelivery (`ApproximateReceiveCount` above 1).
pub(crate) fn sqs(message: &SqsMessage) -> Described {
    let id = message.message_id.clone().unwrap_or_default();
    let mut described = Described::new("aws_sqs", message.event_source_arn.as_deref(), id);
    let system = |name: &str| message.attributes.get(name).map(String::as_str);
    let received: u32 = system("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if received > 1 {
        described
            .span
            .attributes
            .push(KeyValue::new(attr::REDELIVERED, true));
    }
    described.group = system("MessageGroupId").map(str::to_owned);
    let w3c = message
        .message_attributes
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("traceparent"))
        .and_then(|(_, value)| value.string_value.as_deref())
        .and_then(TraceParent::from_w3c);
    let mut producers = Vec::new();
    push_producer(
        &mut producers,
        system("AWSTraceHeader").and_then(TraceParent::from_xray),
    );
    push_producer(&mut producers, w3c);
    push_producer(
        &mut producers,
        message.body.as_deref().and_then(sns_envelope_traceparent),
    );
    described.span.links = producers.iter().filter_map(link_to).collect();
    described
}

/// Whether a batch comes from a FIFO queue: its records carry a `MessageGroupId`, or the
/// queue's name ends in `.fifo`.
pub(crate) fn is_fifo(messages: &[SqsMessage]) -> bool {
    messages.iter().any(|m| {
        m.attributes.contains_key("MessageGroupId")
            || m.event_source_arn
                .as_deref()
                .is_some_and(|arn| arn.ends_with(".fifo"))
    })
}

/// A Kinesis record: its sequence number, its stream and shard.
pub(crate) fn kinesis(record: &KinesisEventRecord) -> Described {
    let id = record.kinesis.sequence_number.clone();
    let mut described = Described::new("aws_kinesis", record.event_source_arn.as_deref(), id);
    let shard = record.event_id.as_deref().and_then(|id| id.split_once(':'));
    if let Some((shard, _)) = shard {
        described.span.attributes.push(KeyValue::new(
            attr::MESSAGING_DESTINATION_PARTITION_ID,
            shard.to_owned(),
        ));
    }
    described
}

/// A DynamoDB stream record: its sequence number and table.
pub(crate) fn dynamodb(record: &DynamoDbRecord) -> Described {
    let id = record.change.sequence_number.clone().unwrap_or_default();
    Described::new("aws.dynamodb", record.event_source_arn.as_deref(), id)
}
