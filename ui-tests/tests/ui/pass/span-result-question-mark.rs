// `?` inside a `#[span]` body: the error type converts as in the plain function.
use serverless_sdk::span;

#[derive(Debug, thiserror::Error)]
enum PriceError {
    #[error("bad number: {0}")]
    Parse(#[from] std::num::ParseIntError),
    #[error("too large")]
    Overflow(#[from] std::num::TryFromIntError),
}

#[span]
fn parse_price(text: &str) -> Result<u32, PriceError> {
    let wide: u64 = text.parse()?;
    Ok(u32::try_from(wide)?)
}

#[span("pricing")]
async fn price(text: &str) -> Result<u64, PriceError> {
    let unit = parse_price(text)?;
    Ok(u64::from(unit) * 3)
}

#[span]
fn boxed(text: &str) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Ok(text.parse::<u8>()?)
}

fn main() {
    assert!(parse_price("x").is_err());
    assert!(boxed("300").is_err());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(price("2")).unwrap(), 6);
}
