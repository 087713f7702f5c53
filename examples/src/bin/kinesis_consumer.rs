//! A Kinesis stream consumer on `serverless_sdk::batch::process_kinesis`: a span per record,
//! and the ordering rule of streams, where a failed record blocks its shard.
//!
//! Each record's data is a page view (`{"page": "/pricing", "user": "u-1"}`) added to a
//! search index. `process_kinesis` runs the records one at a time, in order; at the first
//! record that fails it stops and reports that record's sequence number in
//! `batchItemFailures`. Lambda checkpoints just before it and delivers it and the records
//! after it again, so nothing is skipped and nothing already indexed runs twice. The event
//! source mapping needs `ReportBatchItemFailures` among its `FunctionResponseTypes`.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                                          # at the workspace root
//! cargo lambda invoke kinesis_consumer --data-file tests/fixtures/kinesis-clicks.json
//! ```
//!
//! `kinesis-clicks.json` holds three records of the stream `clickstream`, the second of
//! which is not a page view: the response is `{"batchItemFailures":[{"itemIdentifier":
//! "49590338271490256608559692538361571095921575989136588802"}]}` and the third record is
//! not run.
//!
//! # Telemetry
//!
//! The root span is named `process clickstream` (kind consumer, `faas.trigger = pubsub`,
//! `messaging.system = aws_kinesis`, `messaging.destination.name = clickstream`,
//! `messaging.destination.partition.id = shardId-000000000000`,
//! `messaging.batch.message_count = 3`, `serverless.batch.failed_count = 1`,
//! `serverless.batch.skipped_count = 1`). Each record that ran has a CONSUMER span, also
//! `process clickstream`, with `messaging.message.id` (its sequence number), a
//! `parse_view` child and, once parsed, a `search.index` child. The failed record's span and
//! its `parse_view` span have status ERROR and an `exception` event (`ViewError`). When
//! Lambda delivers the batch again from the failed record, the root span says
//! `serverless.redelivered = true` (`serverless.redelivery.reason = batch_seen`).
//!
//! Build it for Lambda with `cargo lambda build --release --bin kinesis_consumer`.

use std::time::Duration;

use aws_lambda_events::event::{
    kinesis::{KinesisEvent, KinesisEventRecord},
    streams::KinesisEventResponse,
};
use lambda_runtime::{LambdaEvent, service_fn};
use serverless_sdk::{batch::process_kinesis, serverless_handler, span};

#[derive(Debug, serde::Deserialize)]
struct PageView {
    page: String,
    user: String,
}

#[derive(Debug, thiserror::Error)]
enum ViewError {
    #[error("record {sequence} is not a page view: {source}")]
    NotAView {
        sequence: String,
        source: serde_json::Error,
    },
}

#[serverless_handler]
async fn consume(event: LambdaEvent<KinesisEvent>) -> Result<KinesisEventResponse, std::io::Error> {
    Ok(process_kinesis(event.payload, index).await)
}

/// Indexes one record; runs inside the record's span.
async fn index(record: KinesisEventRecord) -> Result<(), ViewError> {
    let view = parse_view(&record)?;
    let put = span("search.index");
    put.set_attribute("serverless.example.page", view.page.clone());
    put.instrument(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let _document = (&view.page, &view.user);
    })
    .await;
    Ok(())
}

/// An `Err` marks this span as failed (status ERROR and an `exception` event).
#[span]
fn parse_view(record: &KinesisEventRecord) -> Result<PageView, ViewError> {
    serde_json::from_slice(&record.kinesis.data).map_err(|source| ViewError::NotAView {
        sequence: record.kinesis.sequence_number.clone(),
        source,
    })
}

#[tokio::main]
async fn main() -> Result<(), serverless_sdk::Error> {
    serverless_sdk::run(service_fn(consume)).await
}
