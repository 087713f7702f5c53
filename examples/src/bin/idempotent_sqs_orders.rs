//! Idempotency inside a batch: an SQS consumer on `serverless_sdk::batch::process_sqs`
//! whose record handler creates one order per message body, so a redelivered message, or a
//! producer sending the same message twice, creates no second order.
//!
//! SQS delivers a message at least once: again after the visibility timeout when the
//! invocation that had it timed out or crashed (its other records included, processed or
//! not), and occasionally twice anyway. Each record's body is an order request
//! (`{"orderRequestId": "req-1001", "customerId": "c-42", "totalCents": 3448}`); the record
//! handler runs `create_order` under `Idempotency::run`, keyed by the record's `/body`, so
//! a body seen before is answered from the store: the record succeeds without running.
//! Key by `/messageId` instead to absorb only SQS's redeliveries of one message.
//!
//! A record whose body is no order fails alone, its record deleted from the store so its
//! retry runs, and is named in `batchItemFailures` (the event source mapping needs
//! `ReportBatchItemFailures` among its `FunctionResponseTypes`). A duplicate arriving while
//! another invocation is still creating the same order fails with
//! `IdempotencyAlreadyInProgressError` and is retried by SQS after the visibility timeout,
//! by which time it is replayed.
//!
//! The store is chosen at cold start as in the `idempotent_orders` example: the DynamoDB
//! table named by `IDEMPOTENCY_TABLE` (its definition is in that example's documentation),
//! else memory. The batch's records run one after another on the handler's task, and each
//! `Idempotency::run` takes the invocation's context, so a record's in-progress claim
//! expires with the invocation's deadline.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root: the in-memory store
//! cargo lambda invoke idempotent_sqs_orders --data-file tests/fixtures/idempotent-sqs-orders.json
//! ```
//!
//! `idempotent-sqs-orders.json` holds three records; the second repeats the first's body.
//! The response is `{"batchItemFailures":[]}`: two orders are created, the second record is
//! replayed. Invoke it again (a redelivery of the whole batch): all three are replayed.
//!
//! # Telemetry
//!
//! The root span `process SQSQueue` has one CONSUMER span per record (`process SQSQueue`,
//! `messaging.message.id`), each with an `idempotency` child (`idempotency.key_hash`, the
//! SHA-256 of the body; `idempotency.outcome`): `run` with an `orders.insert` child when
//! the order was created, `replayed` with none when the body had been seen. A broken
//! record's span has status ERROR and an `exception` event (`IdempotencyError<NotAnOrder>`),
//! its `orders.insert` span the `NotAnOrder` one. With the DynamoDB store each record's
//! calls are CLIENT spans: `DynamoDB.PutItem` (the claim) beside `idempotency`, and
//! `DynamoDB.UpdateItem` (the response stored) or `DynamoDB.DeleteItem` (the key freed
//! after a failure) inside it.
//!
//! Build it for Lambda with `cargo lambda build --release --bin idempotent_sqs_orders`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use serverless_sdk::{
    batch::process_sqs,
    idempotency::{AnyStore, DynamoDbStore, Idempotency, IdempotencyError, InMemoryStore},
    integrations::client::AwsSdkInterceptor,
    serverless_handler, span,
};

/// A record's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRequest {
    order_request_id: String,
    customer_id: String,
    total_cents: u64,
}

/// What creating the order returns, stored as the record's response.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    order_request_id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("message {id} is not an order request: {source}")]
struct NotAnOrder {
    id: String,
    source: serde_json::Error,
}

#[serverless_handler]
async fn consume(
    event: LambdaEvent<SqsEvent>,
    idempotency: &Idempotency<AnyStore>,
) -> Result<SqsBatchResponse, std::io::Error> {
    let LambdaEvent { payload, context } = event;
    let response = process_sqs(payload, |record| {
        create_order_once(record, &context, idempotency)
    })
    .await;
    Ok(response)
}

/// One record: its order created unless its body was seen before.
async fn create_order_once(
    record: SqsMessage,
    ctx: &Context,
    idempotency: &Idempotency<AnyStore>,
) -> Result<(), IdempotencyError<NotAnOrder>> {
    // The order, created now or (on a replay) the first time: not needed further here.
    let _order: Order = idempotency
        .run(&record, ctx, || create_order(&record))
        .await?;
    Ok(())
}

/// What must not happen twice: writing the order (simulated here).
#[span("orders.insert")]
async fn create_order(record: &SqsMessage) -> Result<Order, NotAnOrder> {
    let body = record.body.as_deref().unwrap_or_default();
    let request: OrderRequest = serde_json::from_str(body).map_err(|source| NotAnOrder {
        id: record.message_id.clone().unwrap_or_default(),
        source,
    })?;
    let _row = (&request.customer_id, request.total_cents);
    Ok(Order {
        order_id: format!("ord_{:016x}", fastrand::u64(..)),
        order_request_id: request.order_request_id,
    })
}

#[tokio::main]
async fn main() -> Result<(), serverless_sdk::Error> {
    let store = match std::env::var("IDEMPOTENCY_TABLE") {
        Ok(table) => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config)
                .interceptor(AwsSdkInterceptor::new())
                .build();
            AnyStore::new(DynamoDbStore::new(
                aws_sdk_dynamodb::Client::from_conf(dynamodb),
                table,
            ))
        }
        Err(_) => AnyStore::new(InMemoryStore::new()),
    };
    let idempotency = Idempotency::new(store).key_pointer("/body");
    serverless_sdk::run(service_fn(|event| consume(event, &idempotency))).await
}
