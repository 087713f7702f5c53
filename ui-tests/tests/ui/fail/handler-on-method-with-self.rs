use lambda_runtime::LambdaEvent;
use serde_json::Value;
use serverless_sdk::serverless_handler;

struct App;

impl App {
    #[serverless_handler]
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        Ok(event.payload)
    }
}

fn main() {
    let _ = App::handle;
}
