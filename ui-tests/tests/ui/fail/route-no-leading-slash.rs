use serverless_sdk::route;

#[route("api/foo")]
fn foo() {}

fn main() {
    foo();
}
