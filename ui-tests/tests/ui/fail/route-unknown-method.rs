use serverless_sdk::route;

#[route(FETCH, "/x")]
fn handler() {}

fn main() {
    handler();
}
