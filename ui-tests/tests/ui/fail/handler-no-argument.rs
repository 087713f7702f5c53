use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler() -> Result<Value, lambda_runtime::Error> {
    Ok(Value::Null)
}

fn main() {}
