use serverless_sdk::span;

#[span]
fn checksum(data: &[u8]) -> u32 {
    data.iter().map(|b| u32::from(*b)).sum()
}

#[span("log.line")]
fn log_line(line: &str) {
    let _ = line.len();
}

fn main() {
    assert_eq!(checksum(b"a"), 97);
    log_line("x");
}
