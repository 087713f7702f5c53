use lambda_runtime::Context;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(event: Value, ctx: Context, extra: u32) -> Result<Value, lambda_runtime::Error> {
    let _ = (ctx, extra);
    Ok(event)
}

fn main() {}
