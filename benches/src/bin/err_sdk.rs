//! Error-latency subject: a `#[serverless_handler]` function under `serverless_sdk::run`
//! that answers `{"fail": "err"}` with an `Err` (a 3-level `source()` chain), `{"fail":
//! "panic"}` with a panic, and anything else with `Ok`. `benches/benches/err_latency.rs`
//! times its responses with `RUST_BACKTRACE=1`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::serverless_handler;
use serverless_sdk_benches::ChainError;

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, ChainError> {
    match event.payload["fail"].as_str() {
        Some("err") => Err(ChainError::new(3)),
        Some("panic") => panic!("the order could not be priced"),
        _ => Ok(json!({ "ok": true })),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    serverless_sdk::run(service_fn(handler)).await
}
