use serverless_sdk::route;

#[route("/users/{id")]
fn get_user() {}

fn main() {
    get_user();
}
