// A generic handler, instantiated for `service_fn`. The payload type must be `Unpin`:
// `__private::handle` requires `Trigger::Output: Unpin`, and for `LambdaEvent<T>` that is
// `Result<T, Diagnostic>`.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn echo<T>(event: LambdaEvent<T>) -> Result<T, std::io::Error>
where
    T: Send + Unpin + 'static,
{
    Ok(event.payload)
}

fn main() {
    let _service = service_fn(echo::<Value>);
}
