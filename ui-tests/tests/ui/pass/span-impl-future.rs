use std::future::Future;

use serverless_sdk::span;

#[span("later")]
fn later(x: u8) -> impl Future<Output = u8> {
    async move { x + 1 }
}

#[span]
fn later_send(x: u8) -> impl Future<Output = u8> + Send + 'static {
    async move { x * 2 }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(later(1)), 2);
    let spawned = runtime.block_on(async { tokio::spawn(later_send(2)).await });
    assert_eq!(spawned.unwrap(), 4);
}
