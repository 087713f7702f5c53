// `#[route]` above `#[serverless_handler]`.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::{route, serverless_handler};

#[route(GET, "/users/{id}")]
#[serverless_handler]
async fn get_user(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

fn main() {
    let _service = service_fn(get_user);
}
