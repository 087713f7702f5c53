//! `span`: every way to put spans around code, in a nightly-report job fired by an
//! EventBridge schedule.
//!
//! * `let _span = span("load-rates");` guards a synchronous block (Python's
//!   `with span('load-rates'):`); spans started inside nest under it;
//! * `#[span]` on a sync fn (`parse_rates`) and `#[span("db.fetch_orders")]` on an async fn,
//!   nested: `fetch_orders` awaits `#[span("db.query")] async fn query_orders` and calls
//!   `#[span] fn checksum`;
//! * `span("pricing").instrument(fut)` hands a span to a future (Python's
//!   `async with span('pricing'):`); `fut.in_span("publish")` is the same, postfix;
//! * `.in_current_span()` carries the current span into `tokio::spawn`, so the spawned task's
//!   spans (`render`, `upload`) still belong to the invocation.
//!
//! A span guard is not `Send`: never hold one across `.await` (the compiler says so when a
//! handler future must be `Send`); use `instrument` / `in_span` for async code.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root
//! cargo lambda invoke spans --data-file tests/fixtures/eventbridge-schedule.json
//! ```
//!
//! Response: `{"reportDate":"2015-10-08","orders":3,"totalCents":5774,"receipt":"s3://reports/2015-10-08.csv"}`.
//!
//! # Telemetry
//!
//! One trace, the root span named after the function (`faas.trigger = timer`,
//! `serverless.outcome = success`):
//!
//! ```text
//! spans
//! ├─ load-rates
//! │  └─ parse_rates
//! ├─ db.fetch_orders
//! │  ├─ db.query
//! │  └─ checksum
//! ├─ pricing
//! └─ publish
//!    ├─ render        (in the spawned task)
//!    └─ upload        (in the spawned task)
//! ```
//!
//! `#[span]` spans carry `code.function` and `code.namespace`.
//!
//! Build it for Lambda with `cargo lambda build --release --bin spans`.

use std::time::Duration;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{FutureExt, serverless_handler, span};

/// The tax rate in percent, as the job would read it from its configuration.
const RATES: &str = "standard=105";

#[derive(Debug, thiserror::Error)]
enum ReportError {
    #[error("the publishing task failed: {0}")]
    Publish(#[from] tokio::task::JoinError),
}

struct Order {
    cents: u64,
}

/// The nightly report.
#[serverless_handler]
async fn nightly_report(event: LambdaEvent<Value>) -> Result<Value, ReportError> {
    let date = event.payload["time"]
        .as_str()
        .and_then(|time| time.get(..10))
        .unwrap_or("today")
        .to_owned();

    // A synchronous block in a span; `parse_rates` (a `#[span]` fn) nests under it.
    let rate_percent = {
        let _span = span("load-rates");
        parse_rates(RATES)
    };

    // `#[span]` async fn, with nested `#[span]` fns inside.
    let orders = fetch_orders(&date).await;

    // A span handed to a future.
    let total = span("pricing")
        .instrument(price(&orders, rate_percent))
        .await;

    let receipt = publish(date.clone(), total).await?;
    Ok(json!({
        "reportDate": date,
        "orders": orders.len(),
        "totalCents": total,
        "receipt": receipt,
    }))
}

/// Sync `#[span]`, named after the function.
#[span]
fn parse_rates(rates: &str) -> u64 {
    rates
        .split_once('=')
        .and_then(|(_, rate)| rate.parse().ok())
        .unwrap_or(100)
}

/// Async `#[span]` with a label; the spans of what it calls nest under it.
#[span("db.fetch_orders")]
async fn fetch_orders(date: &str) -> Vec<Order> {
    let rows = query_orders(date).await;
    let _sum = checksum(&rows);
    rows.into_iter().map(|cents| Order { cents }).collect()
}

#[span("db.query")]
async fn query_orders(_date: &str) -> Vec<u64> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    vec![1250, 990, 3260]
}

#[span]
fn checksum(rows: &[u64]) -> u64 {
    rows.iter().fold(17, |acc, row| acc.wrapping_mul(31) ^ row)
}

/// Not a `#[span]` fn: it runs inside the `pricing` span its caller gave it.
async fn price(orders: &[Order], rate_percent: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    orders
        .iter()
        .map(|order| order.cents * rate_percent / 100)
        .sum()
}

/// Publishes the report from a spawned task, inside the `publish` span.
async fn publish(date: String, total: u64) -> Result<String, ReportError> {
    async move {
        // Without `.in_current_span()` the spawned task would run outside the invocation
        // and its spans would be lost.
        let task = tokio::spawn(
            async move {
                let csv = {
                    let _span = span("render");
                    format!("date,total_cents\n{date},{total}\n")
                };
                upload(&date, csv).await
            }
            .in_current_span(),
        );
        Ok(task.await?)
    }
    .in_span("publish")
    .await
}

#[span("upload")]
async fn upload(date: &str, _csv: String) -> String {
    tokio::time::sleep(Duration::from_millis(1)).await;
    format!("s3://reports/{date}.csv")
}

#[tokio::main]
async fn main() -> Result<(), serverless_sdk::Error> {
    serverless_sdk::run(service_fn(nightly_report)).await
}
