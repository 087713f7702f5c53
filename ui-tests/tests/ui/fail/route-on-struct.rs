use serverless_sdk::route;

#[route("/x")]
struct Endpoint {
    path: &'static str,
}

fn main() {
    let _ = Endpoint { path: "/x" }.path;
}
