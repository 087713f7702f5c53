//! An SQS consumer on `serverless_sdk::batch::process_sqs`: a span per record linked to its
//! producer, partial batch failures, and configuration read at cold start under
//! `run_with_init`.
//!
//! Each record body is an order (`{"orderId": "o-1", "amountCents": 1250}`), saved to the
//! table named by `ORDERS_TABLE` (default `orders`). `process_sqs` runs every record through
//! `save`; a record that is not an order (or panics) fails alone and is reported back to SQS
//! in `batchItemFailures`, so only it is retried. The event source mapping needs
//! `ReportBatchItemFailures` among its `FunctionResponseTypes`.
//!
//! `run_with_init` runs the configuration step under the SDK: an invalid
//! `MAX_BODY_BYTES` (default 262144) fails the cold start with `Runtime.InitError`, reported
//! to Lambda and to telemetry (outcome `init_error`), and `main` exits non-zero. The
//! configuration is then lent to every invocation: `consume(event, config)`.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch --env-vars ORDERS_TABLE=orders-dev   # in one terminal, at the workspace root
//! cargo lambda invoke sqs_consumer --data-file tests/fixtures/sqs-orders.json
//! cargo lambda invoke sqs_consumer --data-file tests/fixtures/sqs.json   # the AWS sample: not an order
//! ```
//!
//! `sqs-orders.json` holds two orders and one broken record; the response is
//! `{"batchItemFailures":[{"itemIdentifier":"MessageID_3"}]}`.
//!
//! # Telemetry
//!
//! The root span is named `process SQSQueue` (kind consumer, `faas.trigger = pubsub`,
//! `messaging.system = aws_sqs`, `messaging.destination.name = SQSQueue`,
//! `messaging.batch.message_count`, `serverless.batch.failed_count`). It has one CONSUMER
//! span per record, also named `process SQSQueue`, with `messaging.message.id` and a link to
//! the record's producer when it carries one (`AWSTraceHeader`, a `traceparent` message
//! attribute); each has a `parse_order` child, and a `db.put_item` child (with
//! `db.collection.name`) once parsed. A broken record's span and its `parse_order` span have
//! status ERROR and an `exception` event (`RecordError`). A partial failure leaves the
//! invocation's outcome `success`; a batch where every record failed is `error:handled`.
//!
//! Build it for Lambda with `cargo lambda build --release --bin sqs_consumer`.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{LambdaEvent, service_fn};
use serverless_sdk::{batch::process_sqs, serverless_handler, span};

/// The configuration, read once at cold start.
#[derive(Debug)]
struct Config {
    table: String,
    max_body_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("MAX_BODY_BYTES={value:?} is not a number of bytes")]
struct ConfigError {
    value: String,
}

impl Config {
    async fn from_env() -> Result<Self, ConfigError> {
        let table = std::env::var("ORDERS_TABLE").unwrap_or_else(|_| "orders".to_owned());
        let max_body_bytes = match std::env::var("MAX_BODY_BYTES") {
            Ok(value) => value.parse().map_err(|_| ConfigError { value })?,
            Err(_) => 256 * 1024,
        };
        Ok(Self {
            table,
            max_body_bytes,
        })
    }
}

#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error("record {id} is not an order: {source}")]
    NotAnOrder {
        id: String,
        source: serde_json::Error,
    },
    #[error("record {id} is {size} bytes, more than {max}")]
    TooLarge { id: String, size: usize, max: usize },
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    amount_cents: u64,
}

#[serverless_handler]
async fn consume(
    event: LambdaEvent<SqsEvent>,
    config: &Config,
) -> Result<SqsBatchResponse, std::io::Error> {
    Ok(process_sqs(event.payload, |record| save(record, config)).await)
}

/// Saves one record; runs inside the record's span.
async fn save(record: SqsMessage, config: &Config) -> Result<(), RecordError> {
    let order = parse_order(&record, config.max_body_bytes)?;
    put_item(&config.table, &order).await;
    Ok(())
}

/// An `Err` marks this span as failed (status ERROR and an `exception` event).
#[span]
fn parse_order(record: &SqsMessage, max: usize) -> Result<Order, RecordError> {
    let id = record.message_id.clone().unwrap_or_default();
    let body = record.body.as_deref().unwrap_or_default();
    if body.len() > max {
        return Err(RecordError::TooLarge {
            id,
            size: body.len(),
            max,
        });
    }
    serde_json::from_str(body).map_err(|source| RecordError::NotAnOrder { id, source })
}

async fn put_item(table: &str, order: &Order) {
    let put = span("db.put_item");
    put.set_attribute("db.collection.name", table.to_owned());
    put.instrument(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let _item = (&order.order_id, order.amount_cents);
    })
    .await;
}

#[tokio::main]
async fn main() -> Result<(), serverless_sdk::Error> {
    serverless_sdk::run_with_init(Config::from_env, |config| {
        // Read once, kept for the life of the process, lent to every invocation.
        // (`serverless_sdk::runtime::initialize` keeps it in `main` instead.)
        let config: &'static Config = Box::leak(Box::new(config));
        service_fn(move |event| consume(event, config))
    })
    .await
}
