// A single `Value` argument: the event comes wrapped in `LambdaEvent`, or with the context
// as a second argument.
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn handler(event: Value) -> Result<Value, lambda_runtime::Error> {
    Ok(event)
}

fn main() {}
