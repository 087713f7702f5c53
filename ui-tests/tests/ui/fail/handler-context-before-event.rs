// The context belongs right after the event.
use lambda_runtime::Context;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(ctx: Context, event: Value) -> Result<Value, std::io::Error> {
    let _ = ctx;
    Ok(event)
}

fn main() {}
