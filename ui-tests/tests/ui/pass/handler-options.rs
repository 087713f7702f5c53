// `name = "..."` and `crate = "..."`, alone and together.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

mod sdk {
    // The SDK re-exported under another path.
    pub use serverless_sdk as reexported;
}

#[serverless_sdk::serverless_handler(name = "orders")]
async fn named(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

#[serverless_sdk::serverless_handler(crate = "serverless_sdk")]
async fn with_crate(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

#[sdk::reexported::serverless_handler(name = "both", crate = "sdk::reexported")]
async fn both(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

#[serverless_sdk::span(name = "labelled", crate = "serverless_sdk")]
fn labelled() -> u8 {
    1
}

#[serverless_sdk::route(POST, "/orders", crate = "serverless_sdk")]
fn routed() {}

fn main() {
    let _ = service_fn(named);
    let _ = service_fn(with_crate);
    let _ = service_fn(both);
    assert_eq!(labelled(), 1);
    routed();
}
