use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler(foo = "x")]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(event.payload)
}

fn main() {}
