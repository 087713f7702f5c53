// `unsafe` and `extern` are not dropped: they are errors.
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async unsafe fn first(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

#[serverless_handler]
async extern "C" fn second(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

fn main() {}
