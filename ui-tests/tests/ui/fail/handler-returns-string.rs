use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> String {
    event.payload.to_string()
}

fn main() {}
