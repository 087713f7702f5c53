// `#[route]` on the functions of a hand-written router, outside any handler.
use serverless_sdk::route;

#[route("/api/foo")]
fn foo() -> &'static str {
    "foo"
}

#[route("/")]
async fn root() {}

fn main() {
    assert_eq!(foo(), "foo");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(root());
}
