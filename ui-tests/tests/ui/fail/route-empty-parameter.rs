use serverless_sdk::route;

#[route("/users/{}")]
fn get_user() {}

fn main() {
    get_user();
}
