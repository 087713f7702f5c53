//! The quickstart: instrumented handlers under the real `lambda_http` / `lambda_runtime`
//! loops, each in its own process like on Lambda, driven by a local Runtime API server with
//! real sample events. Prints each response, then each invocation's trace as a tree.
//!
//! Run it with `cargo run -p serverless_sdk_examples --bin quickstart`. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, the functions export to that collector instead of
//! stdout.

use std::time::Duration;

use lambda_http::{Body, Request, RequestExt, RequestPayloadExt, Response};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use serverless_sdk::{
    batch::{SqsBatchResponse, SqsEvent, process_sqs},
    capture_exception, span, tag_event,
};
use serverless_sdk_http::HttpError;
use serverless_sdk_tests::{
    events,
    function::Function,
    otlp::parse_json_lines,
    runtime_api::InvokeResult,
    trace_view::{by_trace, render_tree},
};

const ROLE: &str = "QUICKSTART_FUNCTION";

#[derive(Debug, thiserror::Error, HttpError)]
enum ApiError {
    #[error("order {0} not found")]
    #[http(404, "order {0} not found")]
    NotFound(u64),
    #[error("inventory service refused the connection (password=hunter2)")]
    #[http(500)]
    Inventory,
}

#[derive(serde::Deserialize)]
struct NewOrder {
    customer_id: String,
    items: u32,
}

/// What the API function builds once in `main` and lends to each invocation.
struct Clients {
    /// The inventory service, when the quickstart runs one.
    inventory: Option<(reqwest_middleware::ClientWithMiddleware, String)>,
    /// S3, when the quickstart found moto (the AWS emulator) to talk to.
    s3: Option<aws_sdk_s3::Client>,
}

impl Clients {
    async fn from_env() -> Self {
        let inventory = std::env::var("QUICKSTART_INVENTORY_URL").ok().map(|base| {
            let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                .with(serverless_sdk::integrations::client::HttpClientMiddleware::new())
                .build();
            (client, base)
        });
        let s3 = match std::env::var_os("AWS_ENDPOINT_URL") {
            Some(_) => {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let s3 = aws_sdk_s3::config::Builder::from(&config)
                    .interceptor(serverless_sdk::integrations::client::AwsSdkInterceptor::new())
                    .force_path_style(true)
                    .build();
                Some(aws_sdk_s3::Client::from_conf(s3))
            }
            None => None,
        };
        Self { inventory, s3 }
    }
}

/// An API Gateway function with a hand-written router.
#[serverless_sdk_http::serverless_handler]
async fn api(req: Request, clients: &Clients) -> Result<Response<Body>, ApiError> {
    let path = req.raw_http_path().to_owned();
    match (req.method().as_str(), path.as_str()) {
        ("POST", "/orders") => create_order(&req, clients).await,
        ("GET", "/orders/42") => get_order(42).await,
        ("GET", "/orders/7") => Err(ApiError::NotFound(7)),
        ("GET", "/inventory") => Err(ApiError::Inventory),
        ("GET", "/panic") => panic!("the quickstart panicked on purpose"),
        _ => Ok(Response::builder()
            .status(404)
            .body(Body::from("no such route"))
            .unwrap_or_default()),
    }
}

#[serverless_sdk::route(POST, "/orders")]
async fn create_order(req: &Request, clients: &Clients) -> Result<Response<Body>, ApiError> {
    let order: NewOrder = match req.payload() {
        Ok(Some(order)) => order,
        Ok(None) | Err(_) => {
            return Ok(Response::builder()
                .status(400)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"message":"Invalid JSON body"}"#))
                .unwrap_or_default());
        }
    };
    tag_event(
        "customer-id",
        &order.customer_id,
        json!({ "demoUser": "true", "items": order.items }),
    );
    let total = price(order.items).await;
    let in_stock = check_inventory(clients, order.items).await;
    archive_order(clients, &order.customer_id, total).await;
    save(total).await;
    Ok(Response::new(Body::from(
        json!({ "total": total, "in_stock": in_stock }).to_string(),
    )))
}

/// An S3 `PutObject` through the AWS SDK with the SDK's interceptor: a CLIENT span
/// `S3.PutObject`. The archive is best effort: a failure is captured on the invocation, and
/// the order still succeeds.
async fn archive_order(clients: &Clients, customer_id: &str, total: u64) {
    if let Some(s3) = &clients.s3 {
        let put = s3
            .put_object()
            .bucket("orders-archive")
            .key(format!("{customer_id}/order.json"))
            .body(json!({ "total": total }).to_string().into_bytes().into())
            .send()
            .await;
        if let Err(error) = put {
            capture_exception(&error);
        }
    }
}

/// An outgoing HTTP call through `reqwest` with the SDK's middleware: a CLIENT span, and the
/// inventory service receives the trace in `traceparent`.
async fn check_inventory(clients: &Clients, items: u32) -> bool {
    let Some((client, base)) = &clients.inventory else {
        return false;
    };
    match client
        .get(format!("{base}/stock?items={items}"))
        .send()
        .await
    {
        Ok(response) => response.status().is_success(),
        Err(_) => false,
    }
}

#[serverless_sdk::route(GET, "/orders/{id}")]
async fn get_order(id: u64) -> Result<Response<Body>, ApiError> {
    let row = span("db.get_order").instrument(async { id * 2 }).await;
    Ok(Response::new(Body::from(
        json!({ "id": id, "row": row }).to_string(),
    )))
}

#[serverless_sdk::span("pricing")]
async fn price(items: u32) -> u64 {
    let base = tax_table();
    tokio::time::sleep(Duration::from_millis(3)).await;
    u64::from(items) * base
}

#[serverless_sdk::span]
fn tax_table() -> u64 {
    std::hint::black_box(1250)
}

#[serverless_sdk::span("db.save")]
async fn save(_total: u64) {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

/// An SQS consumer: a CONSUMER span per record, the record that fails reported back so
/// that only it is delivered again.
#[serverless_sdk::serverless_handler]
async fn queue(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, std::io::Error> {
    Ok(process_sqs(event.payload, |message| async move {
        let body = message.body.unwrap_or_default();
        if body.contains("bad") {
            return Err(std::io::Error::other("malformed record"));
        }
        save(u64::try_from(body.len()).unwrap_or(0)).await;
        Ok(())
    })
    .await)
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match std::env::var(ROLE).as_deref() {
        Ok("api") => runtime.block_on(async {
            let clients = Clients::from_env().await;
            serverless_sdk_http::run(lambda_http::service_fn(|req| api(req, &clients))).await
        }),
        Ok("queue") => runtime.block_on(serverless_sdk::run(service_fn(queue))),
        _ => runtime.block_on(drive()),
    }
}

/// Starts this binary as the function `role` against a Runtime API of its own, with `env` and
/// the OpenTelemetry and SDK settings of this process.
async fn start(role: &str, env: &[(&str, String)]) -> std::io::Result<Function> {
    let exe = std::env::current_exe()?;
    let settings: Vec<(String, String)> = std::env::vars()
        .filter(|(key, _)| key.starts_with("OTEL_") || key.starts_with("SERVERLESS_SDK_"))
        .collect();
    let env: Vec<(&str, &str)> = [(ROLE, role)]
        .into_iter()
        .chain(env.iter().map(|(key, value)| (*key, value.as_str())))
        .chain(
            settings
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        )
        .collect();
    Ok(Function::binary(exe, role, &env).await)
}

async fn drive() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    println!("serverless_sdk quickstart: real lambda_runtime loops against a local Runtime API\n");
    // The inventory service the API function calls out to.
    let inventory = serverless_sdk_tests::server::Server::start(
        |_request| async {
            serverless_sdk_tests::server::json_response(
                http::StatusCode::OK,
                &json!({ "in_stock": true }),
            )
        },
        false,
    )
    .await?;
    let mut api_env = vec![(
        "QUICKSTART_INVENTORY_URL",
        format!("http://{}", inventory.addr()),
    )];
    // With moto, the AWS emulator (installed by the test kit under the target directory
    // when `python3` lacks it), the order is also archived to S3; it runs until dropped.
    let _moto = match serverless_sdk_tests::moto::Moto::start().await {
        Ok(moto) => {
            let bucket = http::Request::put(format!("{}/orders-archive", moto.endpoint()))
                .body(http_body_util::Full::new(bytes::Bytes::new()))?;
            serverless_sdk_tests::client::send(bucket).await?;
            api_env.extend(moto.function_env());
            Some(moto)
        }
        Err(error) => {
            println!("(moto is not available, so the S3 call is skipped: {error})\n");
            None
        }
    };
    let api_fn = start("api", &api_env).await?;
    let queue_fn = start("queue", &[]).await?;

    let http_events = [
        (
            "create an order (tagged, span tree)",
            events::apigw_v2(
                "POST",
                "/orders",
                "$default",
                Some(r#"{"customer_id":"42","items":3}"#),
            ),
        ),
        (
            "get an order (#[route] template)",
            events::apigw_v1("GET", "/orders/42", "/{proxy+}", None),
        ),
        (
            "client error (404 from HttpError)",
            events::apigw_v1("GET", "/orders/7", "/orders/{id}", None),
        ),
        (
            "malformed JSON body (400)",
            events::apigw_v2("POST", "/orders", "$default", Some("{not json")),
        ),
        (
            "an Err (500, not a 502)",
            events::apigw_v2("GET", "/inventory", "GET /inventory", None),
        ),
        (
            "a panic (500, process keeps serving)",
            events::apigw_v1("GET", "/panic", "/panic", None),
        ),
    ];
    println!("── responses ──────────────────────────────────────────────");
    for (label, event) in http_events {
        let outcome = api_fn.invoke(&event).await;
        print_outcome(label, &outcome.result);
    }
    let mut sqs = events::fixture("sqs");
    sqs["Records"][0]["body"] = json!("bad record");
    let outcome = queue_fn.invoke(&sqs).await;
    print_outcome("SQS batch with a bad record", &outcome.result);

    // Telemetry leaves each function after its response: wait for the last export lines
    // (one per invocation) before reading stdout.
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        tokio::time::sleep(Duration::from_millis(300)).await;
    } else {
        api_fn.wait_for_export_lines(6).await;
        queue_fn.wait_for_export_lines(1).await;
    }
    let mut text = api_fn.process.stdout_text();
    text.push('\n');
    text.push_str(&queue_fn.process.stdout_text());
    let spans = parse_json_lines(&text);

    println!("\n── traces ─────────────────────────────────────────────────");
    // Colour only on a terminal, never with NO_COLOR (and always with CLICOLOR_FORCE=1).
    let color = serverless_sdk::dev::color_for(&std::io::stdout());
    for trace in by_trace(&spans) {
        println!("{}", render_tree(&trace, color));
    }
    println!("── raw telemetry ──────────────────────────────────────────");
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        println!(
            "Sent over OTLP/HTTP to {}.",
            std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_default()
        );
    } else {
        let lines = text.lines().filter(|l| l.starts_with('{')).count();
        println!(
            "{lines} OTLP/JSON lines (one ExportTraceServiceRequest per invocation) on the functions' stdout,\n\
             {} spans in all. On Lambda they land in CloudWatch Logs; set OTEL_EXPORTER_OTLP_ENDPOINT\n\
             to send them to a collector instead.",
            spans.len()
        );
    }
    api_fn.stop().await;
    queue_fn.stop().await;
    Ok(())
}

fn print_outcome(label: &str, result: &InvokeResult) {
    match result {
        InvokeResult::Response(body) => {
            let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let status = value["statusCode"]
                .as_u64()
                .map_or_else(String::new, |s| format!("{s} "));
            let shown = value["body"]
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            println!("• {label}\n    → {status}{shown}");
        }
        InvokeResult::Error(report) => {
            println!(
                "• {label}\n    → Lambda error {}: {}",
                report.error_type, report.error_message
            );
        }
        InvokeResult::Timeout => println!("• {label}\n    → timed out"),
        other => println!("• {label}\n    → {other:?}"),
    }
}
