// `async fn(LambdaEvent<Value>) -> Result<Value, E>`, the shape `lambda_runtime::service_fn`
// takes.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::serverless_handler;

#[derive(Debug, thiserror::Error)]
#[error("account {0} already exists")]
struct AccountAlreadyExists(String);

#[serverless_handler]
async fn create_account(event: LambdaEvent<Value>) -> Result<Value, AccountAlreadyExists> {
    let name = event.payload["username"].as_str().unwrap_or_default();
    if name == "taken" {
        return Err(AccountAlreadyExists(name.to_owned()));
    }
    Ok(json!({ "created": true, "request": event.context.request_id }))
}

// Type-checked, never called.
async fn serve() -> Result<(), serverless_sdk::Error> {
    serverless_sdk::run(service_fn(create_account)).await
}

fn main() {
    let _service = service_fn(create_account);
    let _ = serve;
}
