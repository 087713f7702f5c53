// Two arguments that both look like the event.
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(first: LambdaEvent<Value>, second: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(serde_json::json!([first.payload, second.payload]))
}

fn main() {}
