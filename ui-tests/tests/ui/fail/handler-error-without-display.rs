// The error type must be printable: `Error`, `Display` or `Debug`.
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::serverless_handler;

struct Opaque;

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Opaque> {
    Ok(event.payload)
}

fn main() {}
