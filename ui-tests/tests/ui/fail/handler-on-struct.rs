use serverless_sdk::serverless_handler;

#[serverless_handler]
struct Handler {
    greeting: String,
}

fn main() {
    let _ = Handler {
        greeting: String::new(),
    }
    .greeting;
}
