//! Batches with partial failures: SQS, Kinesis and DynamoDB stream events processed record
//! by record, each record in a CONSUMER span linked to the trace that produced it, and the
//! partial-failure response Lambda expects.
//!
//! [`process_sqs`], [`process_kinesis`] and [`process_dynamodb`] take the event and an async
//! record handler, run every record the source's rules allow, and return the response that
//! names the failed records. The event source mapping must have `ReportBatchItemFailures`
//! among its `FunctionResponseTypes`; without it Lambda ignores the response and retries the
//! whole batch on an error, or none of it on success.
//!
//! ```no_run
//! use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
//! use lambda_runtime::{LambdaEvent, service_fn};
//! use serverless_sdk::{batch::process_sqs, serverless_handler};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("no body")]
//! struct NoBody;
//!
//! async fn save(message: SqsMessage) -> Result<(), NoBody> {
//!     let _order = message.body.ok_or(NoBody)?;
//!     Ok(())
//! }
//!
//! #[serverless_handler]
//! async fn consume(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, std::io::Error> {
//!     Ok(process_sqs(event.payload, save).await)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), serverless_sdk::Error> {
//!     serverless_sdk::run(service_fn(consume)).await
//! }
//! ```
//!
//! What Lambda requires of each source, and what the processor does:
//!
//! | source | order | a failed record |
//! |---|---|---|
//! | SQS standard queue | in order, or [`SqsProcessor::concurrency`] at a time | reported; the others run |
//! | SQS FIFO queue | in order, one at a time | reported, with the later records of its message group, which are not run ([`FifoPolicy`]) |
//! | Kinesis, DynamoDB streams | in order, one at a time | reported by its sequence number; the records after it are not run (Lambda checkpoints before it and delivers them again) |
//!
//! A record handler's `Err` or panic fails that record only. A batch of which no record
//! succeeded is still a well-formed response, and the invocation shows as failed
//! (`serverless.outcome = error:handled`).
//!
//! # Telemetry
//!
//! Each record that runs gets a CONSUMER span, a child of the current span (the root span
//! under a handler), named `process {queue|stream|table}`, with `messaging.system`
//! (`aws_sqs`, `aws_kinesis`, `aws.dynamodb`), `messaging.operation.type = process`,
//! `messaging.operation.name = process`, `messaging.destination.name`,
//! `messaging.message.id` (the identifier the response would name) and, for Kinesis,
//! `messaging.destination.partition.id` (the shard). An SQS record links to its producer's
//! trace: the `AWSTraceHeader` system attribute (X-Ray), a `traceparent` message attribute,
//! or the `traceparent` of an SNS notification it wraps; a redelivered SQS record carries
//! `serverless.redelivered = true`. A failed record's span has status ERROR and one
//! `exception` event; a FIFO record reported without being run has one too
//! (`exception.type = MessageGroupFailed`) and `serverless.batch.skipped = true`.
//!
//! The root span gets `messaging.batch.message_count`, `serverless.batch.failed_count` and
//! `serverless.batch.skipped_count`.
//!
//! # Errors of any type
//!
//! A record handler returns `Result<(), E>` for any `E: Display + Debug + 'static`: every
//! error type, `Box<dyn Error + Send + Sync>` (`lambda_runtime::Error`), `anyhow::Error`,
//! `String`. Its `exception.type` is the short name of `E` (`PaymentDeclined`; for a boxed
//! error the concrete type inside, with its `source()` chain), its `exception.message` the
//! `Display` text.

mod engine;
mod failure;
mod records;
#[cfg(test)]
mod tests;

use std::{fmt, future::Future};

pub use aws_lambda_events::event::{
    dynamodb::{Event as DynamoDbEvent, EventRecord as DynamoDbRecord},
    kinesis::{KinesisEvent, KinesisEventRecord},
    sqs::{SqsBatchResponse, SqsEvent, SqsMessage},
    streams::{DynamoDbEventResponse, KinesisEventResponse},
};

use aws_lambda_events::event::streams::DynamoDbBatchItemFailure;
use engine::Order;

/// Processes an SQS batch: every record through `handler`, in order; on a FIFO queue a
/// failure skips the later records of its message group. Returns the response naming the
/// failed records by `messageId`. [`SqsProcessor`] runs standard queues concurrently.
///
/// ```
/// use serverless_sdk::batch::{SqsEvent, SqsMessage, process_sqs};
///
/// async fn save(message: SqsMessage) -> Result<(), String> {
///     match message.body.as_deref() {
///         Some("broken") => Err("not an order".to_owned()),
///         _ => Ok(()),
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let event: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": [
///     { "messageId": "m1", "body": "{}", "eventSource": "aws:sqs" },
///     { "messageId": "m2", "body": "broken", "eventSource": "aws:sqs" },
/// ]})).unwrap();
/// let response = process_sqs(event, save).await;
/// let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
/// assert_eq!(failed, ["m2"]);
/// # });
/// ```
pub async fn process_sqs<H, F, E>(event: SqsEvent, handler: H) -> SqsBatchResponse
where
    H: Fn(SqsMessage) -> F,
    F: Future<Output = Result<(), E>>,
    E: fmt::Display + fmt::Debug + 'static,
{
    SqsProcessor::new().process(event, handler).await
}

/// Processes a Kinesis batch: the records through `handler` one at a time, in order, until
/// the first failure. Returns the response naming that record by its sequence number
/// (Lambda resumes from it); the records after it are not run.
///
/// ```
/// use serverless_sdk::batch::{KinesisEvent, KinesisEventRecord, process_kinesis};
///
/// async fn index(record: KinesisEventRecord) -> Result<(), std::str::Utf8Error> {
///     std::str::from_utf8(&record.kinesis.data)?;
///     Ok(())
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let record = |seq: &str, data: &str| serde_json::json!({
///     "eventSource": "aws:kinesis", "eventID": format!("shardId-000000000000:{seq}"),
///     "kinesis": { "sequenceNumber": seq, "data": data, "partitionKey": "k",
///                  "approximateArrivalTimestamp": 1480641523.477 },
/// });
/// let event: KinesisEvent = serde_json::from_value(serde_json::json!({ "Records": [
///     record("1", "SGVsbG8="), record("2", "/w=="), record("3", "SGVsbG8="),
/// ]})).unwrap();
/// let response = process_kinesis(event, index).await;
/// assert_eq!(response.batch_item_failures[0].item_identifier.as_deref(), Some("2"));
/// assert_eq!(response.batch_item_failures.len(), 1);
/// # });
/// ```
pub async fn process_kinesis<H, F, E>(event: KinesisEvent, handler: H) -> KinesisEventResponse
where
    H: Fn(KinesisEventRecord) -> F,
    F: Future<Output = Result<(), E>>,
    E: fmt::Display + fmt::Debug + 'static,
{
    let report = engine::run(event.records, records::kinesis, Order::Stream, &handler).await;
    let mut response = KinesisEventResponse::default();
    for id in report.failed {
        response.add_failure(id);
    }
    response
}

/// Processes a DynamoDB stream batch: the records through `handler` one at a time, in
/// order, until the first failure. Returns the response naming that record by its
/// sequence number (Lambda resumes from it); the records after it are not run.
///
/// ```
/// use serverless_sdk::batch::{DynamoDbEvent, DynamoDbRecord, process_dynamodb};
///
/// async fn project(record: DynamoDbRecord) -> Result<(), String> {
///     match record.event_name.as_str() {
///         "REMOVE" => Err(format!("cannot delete {}", record.event_id)),
///         _ => Ok(()),
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let record = |seq: &str, name: &str| serde_json::json!({
///     "eventID": format!("e{seq}"), "eventName": name, "eventSource": "aws:dynamodb",
///     "awsRegion": "us-east-1",
///     "dynamodb": { "ApproximateCreationDateTime": 1480642020, "SequenceNumber": seq,
///                   "SizeBytes": 26, "StreamViewType": "KEYS_ONLY",
///                   "Keys": { "id": { "S": seq } } },
/// });
/// let event: DynamoDbEvent = serde_json::from_value(serde_json::json!({ "Records": [
///     record("100", "INSERT"), record("200", "REMOVE"), record("300", "INSERT"),
/// ]})).unwrap();
/// let response = process_dynamodb(event, project).await;
/// assert_eq!(response.batch_item_failures.len(), 1);
/// assert_eq!(response.batch_item_failures[0].item_identifier.as_deref(), Some("200"));
/// # });
/// ```
pub async fn process_dynamodb<H, F, E>(event: DynamoDbEvent, handler: H) -> DynamoDbEventResponse
where
    H: Fn(DynamoDbRecord) -> F,
    F: Future<Output = Result<(), E>>,
    E: fmt::Display + fmt::Debug + 'static,
{
    let report = engine::run(event.records, records::dynamodb, Order::Stream, &handler).await;
    let mut response = DynamoDbEventResponse::default();
    for id in report.failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(id);
        response.batch_item_failures.push(failure);
    }
    response
}

/// What a failed record of an SQS FIFO queue does to the records after it. Either way
/// they are reported failed without being run, so that Lambda delivers them again in order.
///
/// ```
/// use serverless_sdk::batch::{FifoPolicy, SqsProcessor};
///
/// let processor = SqsProcessor::new().fifo(FifoPolicy::StopBatch);
/// # let _ = processor;
/// assert_eq!(FifoPolicy::default(), FifoPolicy::SkipGroup);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FifoPolicy {
    /// The later records of the failed record's message group are skipped; the records of
    /// other groups still run.
    #[default]
    SkipGroup,
    /// Every later record is skipped.
    StopBatch,
}

/// Processes SQS batches with options: [`process_sqs`] is `SqsProcessor::new().process`.
///
/// ```
/// use serverless_sdk::batch::{SqsEvent, SqsMessage, SqsProcessor};
///
/// async fn save(message: SqsMessage) -> Result<(), std::io::Error> {
///     tokio::task::yield_now().await;
///     let _ = message.body;
///     Ok(())
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let event: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": [
///     { "messageId": "m1", "body": "a" }, { "messageId": "m2", "body": "b" },
/// ]})).unwrap();
/// let processor = SqsProcessor::new().concurrency(8);
/// let response = processor.process(event, save).await;
/// assert!(response.batch_item_failures.is_empty());
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SqsProcessor {
    concurrency: usize,
    fifo: FifoPolicy,
}

impl Default for SqsProcessor {
    fn default() -> Self {
        Self::new()
    }
}

impl SqsProcessor {
    /// Records one at a time, [`FifoPolicy::SkipGroup`] on FIFO queues.
    ///
    /// ```
    /// let processor = serverless_sdk::batch::SqsProcessor::new();
    /// # let _ = processor;
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            concurrency: 1,
            fifo: FifoPolicy::SkipGroup,
        }
    }

    /// Runs up to `limit` records of a standard queue at once (0 counts as 1), on the
    /// handler's own task: the record handler's futures need not be `Send`. Records of a
    /// FIFO queue always run one at a time, in order. The response lists failures in
    /// record order whatever order records completed in.
    ///
    /// ```
    /// let processor = serverless_sdk::batch::SqsProcessor::new().concurrency(4);
    /// # let _ = processor;
    /// ```
    #[must_use]
    pub const fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = if limit == 0 { 1 } else { limit };
        self
    }

    /// What a failure does to the later records of a FIFO queue's batch. A batch is from a
    /// FIFO queue when its records carry a `MessageGroupId` or its queue's name ends in
    /// `.fifo`.
    ///
    /// ```
    /// use serverless_sdk::batch::{FifoPolicy, SqsProcessor};
    /// let processor = SqsProcessor::new().fifo(FifoPolicy::StopBatch);
    /// # let _ = processor;
    /// ```
    #[must_use]
    pub const fn fifo(mut self, policy: FifoPolicy) -> Self {
        self.fifo = policy;
        self
    }

    /// Processes `event`; see [`process_sqs`].
    ///
    /// ```
    /// use serverless_sdk::batch::{SqsEvent, SqsMessage, SqsProcessor};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let event: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": [
    ///     { "messageId": "a1", "body": "1", "attributes": { "MessageGroupId": "a" } },
    ///     { "messageId": "a2", "body": "x", "attributes": { "MessageGroupId": "a" } },
    ///     { "messageId": "b1", "body": "2", "attributes": { "MessageGroupId": "b" } },
    ///     { "messageId": "a3", "body": "3", "attributes": { "MessageGroupId": "a" } },
    /// ]})).unwrap();
    /// let parse = |message: SqsMessage| async move {
    ///     message.body.unwrap_or_default().parse::<u32>().map(drop)
    /// };
    /// let response = SqsProcessor::new().process(event, parse).await;
    /// let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    /// assert_eq!(failed, ["a2", "a3"], "a3 follows a2 in its group: not run");
    /// # });
    /// ```
    pub async fn process<H, F, E>(self, event: SqsEvent, handler: H) -> SqsBatchResponse
    where
        H: Fn(SqsMessage) -> F,
        F: Future<Output = Result<(), E>>,
        E: fmt::Display + fmt::Debug + 'static,
    {
        let order = if records::is_fifo(&event.records) {
            Order::Fifo {
                whole_batch: self.fifo == FifoPolicy::StopBatch,
            }
        } else {
            Order::Any {
                limit: self.concurrency,
            }
        };
        let report = engine::run(event.records, records::sqs, order, &handler).await;
        let mut response = SqsBatchResponse::default();
        for id in report.failed {
            response.add_failure(id);
        }
        response
    }
}
