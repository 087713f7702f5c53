//! An order-creating function that creates one order per request however many times the
//! request arrives: `serverless_sdk::idempotency` (feature `idempotency`) over a DynamoDB
//! table.
//!
//! Lambda retries a failed asynchronous invocation twice, and clients retry requests that
//! timed out; without idempotency each retry would create another order. Each request
//! carries the client's `idempotencyKey`. The first call with a key runs `create_order`,
//! which gives the order a fresh random id and its creation time, and stores the response
//! in the table; every later call with that key returns the stored response (the same
//! `orderId` and `createdAt`) without creating anything. A request that reuses a key with
//! other `items` fails with `errorType` `IdempotencyValidationError` instead of a silent
//! replay; one that arrives while the first attempt still runs fails with
//! `IdempotencyAlreadyInProgressError` (a Step Functions `Retry` rule can match it).
//!
//! `main` builds the DynamoDB client and `Idempotency::new(...)` once, and lends the
//! handler `&idempotency`: `service_fn(|event| create_order(event, &idempotency))`. The
//! store is chosen at cold start and wrapped in `AnyStore`, so the handler has one type:
//!
//! * `IDEMPOTENCY_TABLE` set: the DynamoDB table of that name, shared by every execution
//!   environment of the function (the production setting);
//! * unset: records in memory, so the example runs locally without AWS; they last as long
//!   as the process and are not shared, so on Lambda they would only absorb duplicates that
//!   reach the same execution environment.
//!
//! # The DynamoDB table
//!
//! A string partition key `id` (no sort key) and TTL on the number attribute `expiration`
//! (records expire after one hour, `Idempotency::expires_after`):
//!
//! ```sh
//! aws dynamodb create-table --table-name idempotency \
//!   --attribute-definitions AttributeName=id,AttributeType=S \
//!   --key-schema AttributeName=id,KeyType=HASH \
//!   --billing-mode PAY_PER_REQUEST
//! aws dynamodb update-time-to-live --table-name idempotency \
//!   --time-to-live-specification Enabled=true,AttributeName=expiration
//! ```
//!
//! Or in a SAM template, with the function's permissions:
//!
//! ```yaml
//! IdempotencyTable:
//!   Type: AWS::DynamoDB::Table
//!   Properties:
//!     AttributeDefinitions:
//!       - { AttributeName: id, AttributeType: S }
//!     KeySchema:
//!       - { AttributeName: id, KeyType: HASH }
//!     TimeToLiveSpecification: { AttributeName: expiration, Enabled: true }
//!     BillingMode: PAY_PER_REQUEST
//! IdempotentOrders:
//!   Type: AWS::Serverless::Function
//!   Properties:
//!     Runtime: provided.al2023
//!     Handler: bootstrap
//!     Environment:
//!       Variables: { IDEMPOTENCY_TABLE: !Ref IdempotencyTable }
//!     Policies:
//!       - Statement:
//!           - Effect: Allow
//!             Action: [dynamodb:PutItem, dynamodb:GetItem, dynamodb:UpdateItem, dynamodb:DeleteItem]
//!             Resource: !GetAtt IdempotencyTable.Arn
//! ```
//!
//! A record's `id` is `{function name}#{SHA-256 of the key}`: the table never holds the key
//! or the request, only hashes and the stored response.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root: the in-memory store
//! cargo lambda invoke idempotent_orders --data-file tests/fixtures/idempotent-order.json          # {"orderId":"ord_…","createdAt":"…",…}
//! cargo lambda invoke idempotent_orders --data-file tests/fixtures/idempotent-order.json          # the same response again
//! cargo lambda invoke idempotent_orders --data-file tests/fixtures/idempotent-order-changed.json  # errorType IdempotencyValidationError
//! ```
//!
//! With `cargo lambda watch --env-vars IDEMPOTENCY_TABLE=idempotency` the records go to
//! the table (AWS credentials and region from the environment, or `AWS_ENDPOINT_URL` for an
//! emulator).
//!
//! # Telemetry
//!
//! The root span (named after the function) has a span `idempotency` with
//! `idempotency.key_hash` (the key's SHA-256, never the key) and `idempotency.outcome`:
//! `run` on the first call, with the child span `orders.insert` (the order is created inside
//! it); `replayed` on a repeat, with no child; `payload_mismatch` (status ERROR, an
//! `exception` event `IdempotencyValidationError`) for a reused key. With the DynamoDB
//! store the table's calls are CLIENT spans too: `DynamoDB.PutItem` claims the key (on a
//! repeat it fails its condition, `error.type = ConditionalCheckFailedException`, and
//! returns the stored record), `DynamoDB.UpdateItem` stores the response.
//!
//! Build it for Lambda with `cargo lambda build --release --bin idempotent_orders`.

use chrono::{DateTime, Utc};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use serverless_sdk::{
    idempotency::{AnyStore, DynamoDbStore, Idempotency, IdempotencyError, InMemoryStore},
    integrations::client::AwsSdkInterceptor,
    serverless_handler, span,
};

/// What a client sends. A retry of the same request carries the same `idempotencyKey`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRequest {
    idempotency_key: String,
    customer_id: String,
    items: Vec<Item>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    sku: String,
    quantity: u32,
    unit_price_cents: u64,
}

/// The response: the order as created. Its id and creation time are new on every run, so
/// a replayed response is told apart from a second order at a glance.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    customer_id: String,
    total_cents: u64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
enum OrderError {
    #[error("an order needs at least one item")]
    NoItems,
}

/// Creates the order once per `idempotencyKey`: the first call runs `insert_order`, the
/// later ones return its stored response. Errors reach Lambda with their `errorType`:
/// `IdempotencyValidationError`, `IdempotencyAlreadyInProgressError`, …, or `OrderError`.
#[serverless_handler]
async fn create_order(
    event: LambdaEvent<OrderRequest>,
    idempotency: &Idempotency<AnyStore>,
) -> Result<Order, IdempotencyError<OrderError>> {
    let request = &event.payload;
    idempotency
        .run(request, &event.context, || insert_order(request))
        .await
}

/// What must not happen twice: writing the order (simulated here).
#[span("orders.insert")]
async fn insert_order(request: &OrderRequest) -> Result<Order, OrderError> {
    if request.items.is_empty() {
        return Err(OrderError::NoItems);
    }
    let total_cents = request
        .items
        .iter()
        .map(|item| u64::from(item.quantity) * item.unit_price_cents)
        .sum();
    Ok(Order {
        order_id: format!("ord_{:016x}", fastrand::u64(..)),
        customer_id: request.customer_id.clone(),
        total_cents,
        created_at: Utc::now(),
    })
}

#[tokio::main]
async fn main() -> Result<(), serverless_sdk::Error> {
    let store = match std::env::var("IDEMPOTENCY_TABLE") {
        Ok(table) => {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config)
                .interceptor(AwsSdkInterceptor::new()) // the table's calls as CLIENT spans
                .build();
            AnyStore::new(DynamoDbStore::new(
                aws_sdk_dynamodb::Client::from_conf(dynamodb),
                table,
            ))
        }
        // A local run: no table, records in this process's memory.
        Err(_) => AnyStore::new(InMemoryStore::new()),
    };
    let idempotency = Idempotency::new(store)
        .key_pointer("/idempotencyKey")
        .validate_pointer("/items");
    serverless_sdk::run(service_fn(|event| create_order(event, &idempotency))).await
}
