#![deny(dead_code)]

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::{serverless_handler, span};

#[span]
fn unused_helper(x: u32) -> u32 {
    x + 1
}

#[serverless_handler]
async fn unused_handler(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(event.payload)
}

fn main() {}
