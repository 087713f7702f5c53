use serverless_sdk::route;

#[route(GET, "/users/{id}")]
fn get_user(id: u64) -> String {
    format!("user {id}")
}

#[route(post, "/users")]
fn create_user() {}

#[route(ANY, "/{proxy+}")]
fn fallback() {}

fn main() {
    assert_eq!(get_user(7), "user 7");
    create_user();
    fallback();
}
