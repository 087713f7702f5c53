//! An SQS consumer: a span per record, partial batch failures, and configuration read at
//! cold start under `run_with_init`.
//!
//! Each record body is an order (`{"orderId": "o-1", "amountCents": 1250}`), saved to the
//! table named by `ORDERS_TABLE` (default `orders`). A record that is not an order is
//! reported back to SQS in `batchItemFailures` (the event source mapping needs
//! `ReportBatchItemFailures`), so only it is retried, and captured with `capture_exception`,
//! so the invocation shows as failed even though the function answered.
//!
//! `run_with_init` runs the configuration step under the SDK: an invalid
//! `MAX_BODY_BYTES` (default 262144) fails the cold start with `Runtime.InitError`, reported
//! to Lambda and to telemetry (outcome `init_error`), and `main` exits non-zero.
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
//! The root span (named after the function, `faas.trigger = pubsub`, kind consumer) has one
//! `process_record` child per record, with `messaging.message.id`; each has a `parse_order`
//! child, and a `db.put_item` child (with `db.collection.name`) once parsed. A broken
//! record's `parse_order` span has status ERROR and an `exception` event (`RecordError`);
//! the root span has the `capture_exception` event and `serverless.outcome = error:handled`.
//!
//! Build it for Lambda with `cargo lambda build --release --bin sqs_consumer`.

use std::{sync::OnceLock, time::Duration};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{LambdaEvent, service_fn};
use serverless_sdk::{capture_exception, serverless_handler, span};

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

/// Set once by `main`; a `#[serverless_handler]` fn takes only the event, so shared state
/// lives in a static.
static CONFIG: OnceLock<Config> = OnceLock::new();

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
async fn consume(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, std::io::Error> {
    let config = CONFIG
        .get()
        .ok_or_else(|| std::io::Error::other("the configuration was not loaded"))?;
    let mut response = SqsBatchResponse::default();
    for record in &event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let record_span = span("process_record");
        record_span.set_attribute("messaging.message.id", id.clone());
        if let Err(error) = record_span.instrument(process(record, config)).await {
            capture_exception(&error);
            response.add_failure(id);
        }
    }
    Ok(response)
}

/// Saves one record; runs inside its `process_record` span.
async fn process(record: &SqsMessage, config: &Config) -> Result<(), RecordError> {
    let order = parse_order(record, config.max_body_bytes)?;
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
        CONFIG.get_or_init(|| config);
        service_fn(consume)
    })
    .await
}
