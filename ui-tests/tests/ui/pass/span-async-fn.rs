use serverless_sdk::span;

#[span("pricing")]
async fn price(quantity: u64) -> u64 {
    quantity * 3
}

#[span]
async fn notify(_user: &str) {}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(price(2)), 6);
    runtime.block_on(notify("a"));
}
