#![deny(warnings, clippy::all, clippy::pedantic, unused_qualifications)]
//! Annotated functions for `cargo clippy -p serverless_sdk_ui_tests --all-targets -- -D
//! warnings`: whatever the macros generate must pass clippy's `all` and `pedantic` groups
//! (trybuild runs rustc only). The tests also run them once.

use std::future::Future;

use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{route, serverless_handler, span};

/// A handler failure.
#[derive(Debug, thiserror::Error)]
#[error("failed: {0}")]
pub struct Failure(String);

#[span]
fn checksum(data: &[u8]) -> u32 {
    data.iter().map(|b| u32::from(*b)).sum()
}

#[span("unit")]
fn unit() {}

#[span]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = text.parse()?;
    Ok(n + 1)
}

#[span]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[span]
fn later(x: u8) -> impl Future<Output = u8> {
    async move { x + 1 }
}

#[span("pricing")]
async fn price(quantity: u64) -> Result<u64, Failure> {
    quantity
        .checked_mul(3)
        .ok_or_else(|| Failure("overflow".to_owned()))
}

#[span]
async fn notify() {}

struct Counter(u32);

impl Counter {
    #[span]
    fn get(&self) -> u32 {
        self.0
    }

    #[span]
    fn bump(&mut self) {
        self.0 += 1;
    }
}

#[async_trait::async_trait]
trait Prices {
    async fn price_of(&self, sku: u32) -> Result<u64, Failure>;
}

/// Prices by SKU.
struct Catalogue(Vec<(u32, u64)>);

#[async_trait::async_trait]
impl Prices for Catalogue {
    #[span("catalogue.price_of")]
    async fn price_of(&self, sku: u32) -> Result<u64, Failure> {
        self.0
            .iter()
            .find_map(|&(s, cents)| (s == sku).then_some(cents))
            .ok_or_else(|| Failure(format!("no sku {sku}")))
    }
}

#[route(GET, "/users/{id}")]
fn get_user(id: u64) -> String {
    format!("user {id}")
}

#[serverless_handler]
#[route(POST, "/accounts")]
async fn create_account(event: LambdaEvent<Value>) -> Result<Value, Failure> {
    unit();
    notify().await;
    let sum = checksum(event.payload.to_string().as_bytes());
    let total = price(u64::from(sum)).await?;
    Ok(json!({ "total": total }))
}

#[route("/orders")]
#[serverless_handler(name = "orders")]
async fn orders(event: Value, ctx: Context) -> Result<Value, Failure> {
    if ctx.request_id.is_empty() {
        return Err(Failure("no request id".to_owned()));
    }
    Ok(event)
}

#[serverless_sdk_http::serverless_handler]
async fn http(
    req: lambda_http::Request,
) -> Result<lambda_http::Response<String>, lambda_http::Error> {
    Ok(lambda_http::Response::new(req.uri().path().to_owned()))
}

/// Public items, for the lints that only look at a crate's interface.
pub mod api {
    use lambda_runtime::LambdaEvent;
    use serde_json::Value;
    use serverless_sdk::{route, serverless_handler, span};

    /// A public sync function.
    #[span]
    #[must_use]
    pub fn double(x: u64) -> u64 {
        x.saturating_mul(2)
    }

    /// A public async function.
    #[span("api.fetch")]
    pub async fn fetch(key: &str) -> Option<String> {
        (!key.is_empty()).then(|| key.to_owned())
    }

    /// A public handler.
    ///
    /// # Errors
    ///
    /// Never; the `Result` is the handler's contract.
    #[serverless_handler(name = "api")]
    #[route(GET, "/api/{key}")]
    pub async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
        Ok(Value::from(fetch(&event.payload.to_string()).await))
    }
}

#[test]
fn sync_functions_run() {
    assert_eq!(checksum(b"a"), 97);
    assert_eq!(parse("1").ok(), Some(2));
    assert!(parse("x").is_err());
    assert_eq!(evens(5).count(), 3);
    assert_eq!(get_user(7), "user 7");
    assert_eq!(api::double(2), 4);
    let mut counter = Counter(0);
    counter.bump();
    assert_eq!(counter.get(), 1);
}

#[tokio::test]
async fn async_functions_run() {
    assert_eq!(later(1).await, 2);
    assert_eq!(price(2).await.ok(), Some(6));
    let catalogue = Catalogue(vec![(7, 250)]);
    assert_eq!(catalogue.price_of(7).await.ok(), Some(250));
    assert!(catalogue.price_of(8).await.is_err());
    let _ = service_fn(create_account);
    let _ = service_fn(orders);
    let _ = service_fn(http);
    let _ = service_fn(api::handler);
}
