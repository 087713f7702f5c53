use serverless_sdk::span;

#[span(42)]
fn checksum(data: &[u8]) -> u32 {
    data.iter().map(|b| u32::from(*b)).sum()
}

fn main() {
    let _ = checksum(b"a");
}
