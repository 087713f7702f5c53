// `#[event]` marks one argument.
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(#[event] a: LambdaEvent<Value>, #[event] b: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(serde_json::json!([a.payload, b.payload]))
}

fn main() {}
