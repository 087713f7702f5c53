//! Outgoing calls as CLIENT spans: a handler that fetches exchange rates from an HTTP API
//! (reqwest with `HttpClientMiddleware`) and stores a report in S3 (the AWS SDK for Rust with
//! `AwsSdkInterceptor`), each added in one line.
//!
//! `GET /reports/{id}` fetches `$RATES_API_URL/rates` and puts `reports/{id}.json` into the
//! bucket `$REPORTS_BUCKET` (default `reports`). The clients are built once in `main`, with
//! init failures reported (`serverless_sdk::runtime::initialize`), and lent to the handler:
//! `service_fn(|req| handler(req, &clients))`.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch --env-vars RATES_API_URL=https://api.example.com,REPORTS_BUCKET=my-bucket
//! cargo lambda invoke clients --data-file tests/fixtures/clients-report.json
//! ```
//!
//! With `AWS_ENDPOINT_URL` set (an emulator such as moto), S3 uses path-style addressing.
//!
//! # Telemetry
//!
//! The root span `GET /reports/{id}` has two CLIENT children: `GET api.example.com`
//! (`http.request.method`, `server.address`, `url.full` without query string,
//! `http.response.status_code`; the rates API receives the trace in `traceparent`) and
//! `S3.PutObject` (`rpc.system = aws-api`, `rpc.service = S3`, `rpc.method = PutObject`,
//! `aws.s3.bucket`, `aws.s3.key`, `aws.request_id`). A failed call has `error.type` (the
//! status code, or S3's error code such as `NoSuchBucket`) and status ERROR.
//!
//! Build it for Lambda with `cargo lambda build --release --bin clients`.

use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use serverless_sdk::integrations::client::{AwsSdkInterceptor, HttpClientMiddleware};
use serverless_sdk_http::{HttpError, route, serverless_handler};

/// What the handler uses, built once at cold start.
struct Clients {
    http: reqwest_middleware::ClientWithMiddleware,
    s3: aws_sdk_s3::Client,
    rates_url: String,
    bucket: String,
}

/// A failure of an upstream service answers `502 Bad Gateway`; a request without an id
/// `400`.
#[derive(Debug, thiserror::Error, HttpError)]
#[http(502)]
enum ReportError {
    #[error("the rates API failed: {0}")]
    Rates(#[from] reqwest_middleware::Error),
    #[error("S3 refused the report: {0}")]
    Storage(String),
    #[error("no report id in the path")]
    #[http(400)]
    NoId,
}

async fn init() -> Result<Clients, Error> {
    let rates_url = std::env::var("RATES_API_URL")?;
    let bucket = std::env::var("REPORTS_BUCKET").unwrap_or_else(|_| "reports".to_owned());
    // One line each: the SDK's middleware and interceptor.
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(HttpClientMiddleware::new())
        .build();
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk_config)
        .interceptor(AwsSdkInterceptor::new())
        .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
        .build();
    Ok(Clients {
        http,
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        rates_url,
        bucket,
    })
}

#[serverless_handler]
async fn handler(req: Request, clients: &Clients) -> Result<Response<Body>, ReportError> {
    let id = req
        .raw_http_path()
        .strip_prefix("/reports/")
        .filter(|id| !id.is_empty())
        .ok_or(ReportError::NoId)?
        .to_owned();
    build_report(clients, &id).await
}

#[route(GET, "/reports/{id}")]
async fn build_report(clients: &Clients, id: &str) -> Result<Response<Body>, ReportError> {
    let rates = clients
        .http
        .get(format!("{}/rates?base=EUR", clients.rates_url))
        .send()
        .await?
        .text()
        .await
        .map_err(reqwest_middleware::Error::from)?;
    let key = format!("reports/{id}.json");
    clients
        .s3
        .put_object()
        .bucket(&clients.bucket)
        .key(&key)
        .body(rates.into_bytes().into())
        .send()
        .await
        .map_err(|e| ReportError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    Ok(Response::new(Body::from(format!(
        r#"{{"stored":"{key}"}}"#
    ))))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let clients = serverless_sdk::runtime::initialize(init()).await?;
    serverless_sdk_http::run(service_fn(|req| handler(req, &clients))).await
}
