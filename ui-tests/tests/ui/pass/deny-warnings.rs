#![deny(warnings, clippy::all, clippy::pedantic, unused_qualifications)]
//! All three macros under `deny(warnings)`: the expansion adds no warning of its own.

use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::{route, serverless_handler, span};

/// A failure.
#[derive(Debug, thiserror::Error)]
#[error("failed: {0}")]
pub struct Failure(String);

#[span]
fn checksum(data: &[u8]) -> u32 {
    data.iter().map(|b| u32::from(*b)).sum()
}

#[span("pricing")]
async fn price(quantity: u64) -> Result<u64, Failure> {
    quantity
        .checked_mul(3)
        .ok_or_else(|| Failure("overflow".to_owned()))
}

#[span]
fn unit() {}

#[serverless_handler]
#[route(GET, "/users/{id}")]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Failure> {
    unit();
    let sum = checksum(event.payload.to_string().as_bytes());
    let total = price(u64::from(sum)).await?;
    Ok(Value::from(total))
}

#[route("/orders")]
#[serverless_handler(name = "orders")]
async fn orders(event: Value, ctx: Context) -> Result<Value, Failure> {
    if ctx.request_id.is_empty() {
        return Err(Failure("no request id".to_owned()));
    }
    Ok(event)
}

fn main() {
    let _handler = service_fn(handler);
    let _orders = service_fn(orders);
}
