use lambda_runtime::Context;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(event: Value, ctx: Context) -> Value {
    let _ = ctx;
    event
}

fn main() {}
