use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::{route, serverless_handler};

#[serverless_handler]
#[route(GET, "users/{id}")]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(event.payload)
}

fn main() {}
