// `#[route]` below `#[serverless_handler]`.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::{route, serverless_handler};

#[serverless_handler]
#[route(GET, "/users/{id}")]
async fn get_user(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    Ok(event.payload)
}

#[serverless_handler(name = "orders")]
#[serverless_sdk::route("/orders")]
async fn orders(event: Value, ctx: lambda_runtime::Context) -> Result<Value, std::io::Error> {
    let _ = ctx;
    Ok(event)
}

fn main() {
    let _service = service_fn(get_user);
    let _orders = service_fn(orders);
}
