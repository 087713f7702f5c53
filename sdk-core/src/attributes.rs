//! The attribute and event names the SDK writes: the telemetry contract a backend can rely
//! on. Standard names follow the OpenTelemetry semantic conventions; the SDK's own live
//! under `serverless.`.
//!
//! ```
//! use serverless_sdk::attributes;
//! assert_eq!(attributes::OUTCOME, "serverless.outcome");
//! assert_eq!(attributes::tag_key("customer-id"), "serverless.tag.customer-id");
//! ```

/// The Lambda request id of the invocation (root span).
pub const FAAS_INVOCATION_ID: &str = "faas.invocation_id";
/// `true` on the first invocation of a process (root span).
pub const FAAS_COLDSTART: &str = "faas.coldstart";
/// The kind of event source: `http`, `pubsub`, `datasource`, `timer` or `other` (root span).
pub const FAAS_TRIGGER: &str = "faas.trigger";
/// The invoked function ARN (root span).
pub const CLOUD_RESOURCE_ID: &str = "cloud.resource_id";
/// The HTTP method of the request (root span of HTTP invocations).
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
/// The route template of the request, e.g. `/api/users/{id}` (root span).
pub const HTTP_ROUTE: &str = "http.route";
/// The HTTP status code of the response (root span of HTTP invocations).
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
/// The request path, without its query string (root span of HTTP invocations).
pub const URL_PATH: &str = "url.path";
/// The function a span was opened in.
pub const CODE_FUNCTION: &str = "code.function";
/// The module of the function a span was opened in.
pub const CODE_NAMESPACE: &str = "code.namespace";
/// The source file where a panic happened (on `exception` events).
pub const CODE_FILE_PATH: &str = "code.file.path";
/// The line where a panic happened (on `exception` events).
pub const CODE_LINE_NUMBER: &str = "code.line.number";

/// The messaging system of a queue, topic or stream: `aws_sqs`, `aws.sns`, `aws_kinesis`,
/// `aws.dynamodb` (DynamoDB streams), `aws.eventbridge` (root spans of those sources, and
/// each batch record's span). `aws_sqs` and `aws.sns` are the conventions' well-known values;
/// they list none for Kinesis, DynamoDB streams and EventBridge, which get these custom ones.
pub const MESSAGING_SYSTEM: &str = "messaging.system";
/// `process`: what a consumer does with a message (root spans of messaging sources, record
/// spans).
pub const MESSAGING_OPERATION_TYPE: &str = "messaging.operation.type";
/// `process`, the system-specific name of the operation (as `messaging.operation.type`).
pub const MESSAGING_OPERATION_NAME: &str = "messaging.operation.name";
/// The queue, topic, stream or table a message came from, taken from the source's ARN:
/// `orders-queue` for `arn:aws:sqs:us-east-1:123456789012:orders-queue`.
pub const MESSAGING_DESTINATION_NAME: &str = "messaging.destination.name";
/// The Kinesis shard of a stream batch (`shardId-000000000000`).
pub const MESSAGING_DESTINATION_PARTITION_ID: &str = "messaging.destination.partition.id";
/// A message's identifier: the SQS `messageId`, the SNS `MessageId`, the EventBridge event
/// `id`, the Kinesis / DynamoDB sequence number (what a partial-failure response names).
pub const MESSAGING_MESSAGE_ID: &str = "messaging.message.id";
/// How many records a batch holds (root span of SQS, Kinesis and DynamoDB invocations).
pub const MESSAGING_BATCH_MESSAGE_COUNT: &str = "messaging.batch.message_count";
/// The bucket (S3) or table (DynamoDB) a data-source event happened in (root span).
pub const FAAS_DOCUMENT_COLLECTION: &str = "faas.document.collection";
/// What happened to the data: `insert`, `edit`, `delete` (root span of S3 and DynamoDB
/// invocations; `multiple` for a DynamoDB batch mixing operations).
pub const FAAS_DOCUMENT_OPERATION: &str = "faas.document.operation";
/// The object key (S3, decoded) the event is about (root span).
pub const FAAS_DOCUMENT_NAME: &str = "faas.document.name";
/// When the data changed, ISO 8601 in UTC (root span of S3 and DynamoDB invocations).
pub const FAAS_DOCUMENT_TIME: &str = "faas.document.time";
/// The schedule of a timer invocation as a cron expression (root span), from
/// `SERVERLESS_SDK_SCHEDULE_EXPRESSION`: scheduled events do not carry it.
pub const FAAS_CRON: &str = "faas.cron";
/// When a scheduled invocation was due, ISO 8601 in UTC (root span of timer invocations).
pub const FAAS_TIME: &str = "faas.time";

/// How many records of a batch were reported failed in its partial-failure response,
/// records of a failed FIFO message group included (root span, `serverless_sdk::batch`).
pub const BATCH_FAILED_COUNT: &str = "serverless.batch.failed_count";
/// How many records of a batch were not run: later records of a failed FIFO message group
/// (reported failed), records after a stream's first failure (not reported: Lambda
/// delivers them again from the failed record on). Root span, `serverless_sdk::batch`.
pub const BATCH_SKIPPED_COUNT: &str = "serverless.batch.skipped_count";
/// Set on the span of a batch record that was reported failed without being run.
pub const BATCH_SKIPPED: &str = "serverless.batch.skipped";
/// `true` when the invocation (root span) or a record (record span) is delivered again;
/// absent on first deliveries. Count it per function to count retries.
pub const REDELIVERED: &str = "serverless.redelivered";
/// Why the invocation is known to be a redelivery (root span): `receive_count` (an SQS
/// record's `ApproximateReceiveCount` is above 1), `batch_seen` (this process was handed
/// the first record of this Kinesis / DynamoDB batch before), `request_id_seen` (this
/// process ran an invocation with the same request id before: an asynchronous retry).
pub const REDELIVERY_REASON: &str = "serverless.redelivery.reason";

/// How the invocation ended: `success`, `error:handled`, `error:unhandled`, `timeout` or
/// `init_error` (root span).
pub const OUTCOME: &str = "serverless.outcome";
/// The routed endpoint set by `set_endpoint`, `#[route]` or discovered from the event.
pub const ENDPOINT: &str = "serverless.endpoint";
/// Prefix of the attribute each `tag_event` tag becomes; see [`tag_key`].
pub const TAG_PREFIX: &str = "serverless.tag.";
/// Set on a span that was still open when its invocation ended.
pub const SPAN_UNCLOSED: &str = "serverless.span.unclosed";
/// Set on a span whose future was dropped before it completed.
pub const SPAN_CANCELLED: &str = "serverless.span.cancelled";
/// How many spans were not recorded because the invocation reached its span cap.
pub const SPANS_DROPPED: &str = "serverless.spans.dropped";
/// How many spans were still open when the invocation ended.
pub const SPANS_UNCLOSED: &str = "serverless.spans.unclosed";
/// How many tags were not recorded because the invocation reached its tag cap.
pub const TAGS_DROPPED: &str = "serverless.tags.dropped";
/// How many values were cut to the size limits.
pub const VALUES_TRUNCATED: &str = "serverless.values.truncated";

/// How many spans the stdout exporter left out to fit one log line (root span).
pub const EXPORT_DROPPED_SPANS: &str = "serverless.export.dropped_spans";
/// Set when a span's attributes were left out to fit one log line.
pub const EXPORT_TRUNCATED: &str = "serverless.export.truncated";

/// The size of an event that did not deserialise (root span).
pub const EVENT_SIZE_BYTES: &str = "serverless.event.size_bytes";
/// The process's peak resident memory at the end of the invocation (root span).
pub const MEMORY_PEAK_BYTES: &str = "serverless.memory.peak_bytes";
/// The function's configured memory, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (root span).
pub const MEMORY_LIMIT_BYTES: &str = "serverless.memory.limit_bytes";

/// Name of the event recorded for each captured error, panic and timeout.
pub const EXCEPTION_EVENT: &str = "exception";
/// The short type name of the error, e.g. `AccountAlreadyExistsException`.
pub const EXCEPTION_TYPE: &str = "exception.type";
/// The error's `Display` text (redacted).
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// A backtrace, when one was captured (`RUST_BACKTRACE=1`).
pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
/// `false` for errors that escaped the handler (returned `Err`, panics, timeouts).
pub const EXCEPTION_HANDLED: &str = "exception.handled";
/// The error's `source()` chain, one `Type: message` entry per cause.
pub const EXCEPTION_CHAIN: &str = "exception.chain";
/// INFO/DEBUG `tracing` events that came before the error (the last 32).
pub const EXCEPTION_BREADCRUMBS: &str = "exception.breadcrumbs";
/// A stable id for grouping the same failure across invocations.
pub const EXCEPTION_FINGERPRINT: &str = "exception.fingerprint";

/// The time the invocation had, on a timeout's `exception` event.
pub const TIMEOUT_BUDGET_MS: &str = "serverless.timeout.budget_ms";
/// The time that had passed when the timeout was reported.
pub const TIMEOUT_ELAPSED_MS: &str = "serverless.timeout.elapsed_ms";

/// Name of the event recorded by `capture_message`.
pub const MESSAGE_EVENT: &str = "serverless.message";
/// The text of a captured message (redacted).
pub const MESSAGE: &str = "message";
/// The severity of a captured message or warning.
pub const LEVEL: &str = "level";
/// Name of the event recorded when the SDK rejects or trims bad input.
pub const WARNING_EVENT: &str = "serverless.warning";

/// The attribute key a tag is recorded under.
///
/// ```
/// assert_eq!(serverless_sdk::attributes::tag_key("plan"), "serverless.tag.plan");
/// ```
#[must_use]
pub fn tag_key(tag: &str) -> String {
    // Sized exactly: the key becomes an attribute key without being copied again.
    let mut key = String::with_capacity(TAG_PREFIX.len() + tag.len());
    key.push_str(TAG_PREFIX);
    key.push_str(tag);
    key
}

/// The value of the first attribute named `key` among `attributes`, as text.
#[cfg(any(test, feature = "dev"))]
pub(crate) fn text_of(attributes: &[opentelemetry::KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}
