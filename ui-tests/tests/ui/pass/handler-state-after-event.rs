// A client built in `main` and borrowed by the handler, as lambda_runtime's own examples
// pass it: `service_fn(|ev| handler(ev, &client))`.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::serverless_handler;

struct Client {
    table: String,
}

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>, client: &Client) -> Result<Value, lambda_runtime::Error> {
    Ok(serde_json::json!({ "table": client.table, "event": event.payload }))
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    let client = Client { table: "orders".into() };
    serverless_sdk::run(service_fn(|event| handler(event, &client))).await
}

fn main() {
    let _ = serve;
}
