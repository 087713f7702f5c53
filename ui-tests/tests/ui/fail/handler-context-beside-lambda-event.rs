// A `LambdaEvent` already carries its context.
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>, ctx: Context) -> Result<Value, std::io::Error> {
    let _ = ctx;
    Ok(event.payload)
}

fn main() {}
