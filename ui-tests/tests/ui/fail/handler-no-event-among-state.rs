// Two arguments and nothing says which one is the event.
use serde_json::Value;
use serverless_sdk::serverless_handler;

struct Db;

#[serverless_handler]
async fn handler(db: &Db, order: Value) -> Result<Value, std::io::Error> {
    let _ = db;
    Ok(order)
}

fn main() {}
