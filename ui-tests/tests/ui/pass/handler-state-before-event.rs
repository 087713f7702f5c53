// State first, the event after it, and several pieces of state.
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::serverless_handler;

struct Client;
struct Settings {
    limit: usize,
}

#[serverless_handler]
async fn handler(
    client: &Client,
    settings: Arc<Settings>,
    event: LambdaEvent<Value>,
    mut attempts: u32,
) -> Result<usize, std::io::Error> {
    let _ = client;
    attempts += 1;
    Ok(event.payload.to_string().len().min(settings.limit) + attempts as usize)
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    let client = Client;
    let client = &client;
    let settings = Arc::new(Settings { limit: 10 });
    serverless_sdk::run(service_fn(move |event| {
        handler(client, Arc::clone(&settings), event, 0)
    }))
    .await
}

fn main() {
    let _ = serve;
}
