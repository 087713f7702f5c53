use serverless_sdk::route;

#[route("/a//b")]
fn handler() {}

fn main() {
    handler();
}
