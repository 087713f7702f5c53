// The two-argument form: the wrapped function takes a `LambdaEvent<Value>`.
use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::serverless_handler;

#[serverless_handler]
async fn orders(event: Value, ctx: Context) -> Result<String, std::io::Error> {
    Ok(format!("{event} for {}", ctx.request_id))
}

fn main() {
    let _service = service_fn(orders);
    let _takes_lambda_event: fn(LambdaEvent<Value>) -> _ = orders;
}
