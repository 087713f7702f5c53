// A generic handler, instantiated for `service_fn`.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn echo<T>(event: LambdaEvent<T>) -> Result<T, std::io::Error>
where
    T: Send + 'static,
{
    Ok(event.payload)
}

fn main() {
    let _service = service_fn(echo::<Value>);
}
