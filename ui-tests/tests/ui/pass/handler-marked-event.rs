// An event whose type is an alias: `#[event]` says which argument it is.
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::serverless_handler;

type Order = LambdaEvent<Value>;

struct Db;

#[serverless_handler]
async fn handler(db: &Db, #[event] order: Order) -> Result<Value, std::io::Error> {
    let _ = db;
    Ok(order.payload)
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    let db = Db;
    lambda_runtime::run(service_fn(|order| handler(&db, order))).await
}

fn main() {
    let _ = serve;
}
