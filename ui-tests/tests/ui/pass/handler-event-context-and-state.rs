// `(event: T, ctx: Context)` with state after it: the wrapped function takes
// `(LambdaEvent<T>, &Limits)`, served by `service_fn(|ev| handler(ev, &limits))`.
use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::Value;
use serverless_sdk::serverless_handler;

struct Limits {
    max: u32,
}

#[serverless_handler]
async fn handler(event: Value, ctx: Context, limits: &Limits) -> Result<Value, lambda_runtime::Error> {
    let _ = ctx.request_id;
    Ok(serde_json::json!({ "event": event, "max": limits.max }))
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    let limits = Limits { max: 3 };
    serverless_sdk::run(service_fn(|event: LambdaEvent<Value>| handler(event, &limits))).await
}

fn main() {
    let _ = serve;
}
