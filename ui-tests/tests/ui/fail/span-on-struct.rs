use serverless_sdk::span;

#[span]
struct Pricing {
    quantity: u64,
}

fn main() {
    let _ = Pricing { quantity: 1 }.quantity;
}
