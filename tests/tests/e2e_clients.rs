//! Automatic CLIENT spans, through the real `lambda_runtime` loop: outgoing HTTP with
//! `reqwest` (through `reqwest-middleware`) and with a tower-wrapped `hyper_util` client
//! against a local HTTP server, and the AWS SDK for Rust (S3, DynamoDB) against a real
//! local AWS emulator, moto in server mode.
//!
//! Each test re-executes this binary as the function process (`function_child`), with the
//! handler chosen by its mode, and reads the telemetry it prints on stdout.
//!
//! The test kit runs moto with the first Python that has it: `python3` where moto is installed
//! (`.ci/run` installs it), else a virtual environment it makes under the target directory.
#![allow(clippy::unwrap_used)]

use std::{
    convert::Infallible,
    future::Future,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioIo},
};
use lambda_runtime::{
    LambdaEvent, service_fn,
    tower::{Layer, ServiceExt},
};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::{Value, json};
use serverless_sdk::{
    integrations::client::{AwsSdkInterceptor, ClientOptions, HttpClientLayer, HttpClientService},
    serverless_handler, span,
};
use serverless_sdk_tests::{
    function::{Function, MODE_ENV, run_function_child},
    moto::{ACCESS_KEY_ID, Moto, SECRET_ACCESS_KEY},
    otlp::FlatSpan,
    runtime_api::FunctionProcess,
    server,
    trace_view::Trace,
};
use tokio::net::TcpListener;

/// Secrets the functions send; none may reach telemetry.
const AUTHORIZATION: &str = "Bearer sk-live-AUTHZ-5f2c9e";
const SIGNATURE: &str = "9a8b7c6d5e4fSIGNATURE";
const USERINFO_USER: &str = "alice-USERINFO";
const USERINFO_PASSWORD: &str = "pw-USERINFO-77";

const BUCKET: &str = "invoices";
const KEY: &str = "2024/07 final.pdf";
const TABLE: &str = "orders";

// ---------------------------------------------------------------------------------------
// The function process.
// ---------------------------------------------------------------------------------------

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// What an HTTP call ended with, for the function's response.
fn outcome(result: Result<u16, String>) -> Value {
    match result {
        Ok(status) => json!({ "status": status }),
        Err(error) => json!({ "error": error }),
    }
}

static REQWEST: OnceLock<ClientWithMiddleware> = OnceLock::new();

fn reqwest_client() -> &'static ClientWithMiddleware {
    REQWEST.get_or_init(|| {
        ClientBuilder::new(reqwest::Client::new())
            .with(serverless_sdk::integrations::client::HttpClientMiddleware::new())
            .build()
    })
}

async fn reqwest_get(url: &str, authorization: Option<&str>) -> Result<u16, String> {
    let mut request = reqwest_client().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

#[span("fetch-echo")]
async fn reqwest_echo(base: &str) -> Value {
    let response = reqwest_client()
        .get(format!("{base}/echo"))
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The seed scenario: plain, failing, nested, secret-bearing, excluded and refused requests,
/// made with `status` (a client's GET, answering the status code) and `echo` (the same
/// client's GET of `/echo` under a `#[span]`).
async fn http_calls<S, E>(
    status: impl Fn(String, Option<&'static str>) -> S,
    echo: impl FnOnce(String) -> E,
) -> Value
where
    S: Future<Output = Result<u16, String>>,
    E: Future<Output = Value>,
{
    let port = env("E2E_SERVER_PORT");
    let closed = env("E2E_CLOSED_PORT");
    let base = format!("http://127.0.0.1:{port}");
    let ok = status(format!("{base}/ok"), None).await;
    let missing = status(format!("{base}/missing"), None).await;
    let echo = echo(base).await;
    let secret = status(
        format!(
            "http://{USERINFO_USER}:{USERINFO_PASSWORD}@127.0.0.1:{port}/ok/presigned\
             ?X-Amz-Signature={SIGNATURE}&X-Amz-Credential=AKIDQUERY"
        ),
        Some(AUTHORIZATION),
    )
    .await;
    let excluded = status(format!("http://localhost:{port}/ok/excluded"), None).await;
    let refused = status(format!("http://127.0.0.1:{closed}/refused"), None).await;
    json!({
        "ok": outcome(ok),
        "missing": outcome(missing),
        "echo": echo,
        "secret": outcome(secret),
        "excluded": outcome(excluded),
        "refused": outcome(refused),
    })
}

type Hyper = HttpClientService<Client<HttpConnector, Empty<Bytes>>>;

static TOWER: OnceLock<Hyper> = OnceLock::new();

fn tower_client() -> Hyper {
    TOWER
        .get_or_init(|| {
            let client = Client::builder(TokioExecutor::new()).build_http();
            // Options from code, not the environment.
            HttpClientLayer::with_options(ClientOptions::default().ignore_hosts(["localhost"]))
                .layer(client)
        })
        .clone()
}

async fn tower_get(url: &str, authorization: Option<&str>) -> Result<Response<Incoming>, String> {
    let mut request = Request::get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
    tower_client()
        .oneshot(request)
        .await
        .map_err(|e| format!("{e:?}"))
}

async fn tower_status(url: &str, authorization: Option<&str>) -> Result<u16, String> {
    tower_get(url, authorization)
        .await
        .map(|r| r.status().as_u16())
}

#[span("fetch-echo")]
async fn tower_echo(base: &str) -> Value {
    let response = tower_get(&format!("{base}/echo"), None).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// The seed scenario with the client the mode names: reqwest (through
/// `reqwest-middleware`), or a plain `hyper_util` client under `HttpClientLayer`.
#[serverless_handler]
async fn client_calls(_event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    let calls = if env(MODE_ENV) == "reqwest" {
        let status =
            |url: String, authorization| async move { reqwest_get(&url, authorization).await };
        http_calls(status, |base| async move { reqwest_echo(&base).await }).await
    } else {
        let status =
            |url: String, authorization| async move { tower_status(&url, authorization).await };
        http_calls(status, |base| async move { tower_echo(&base).await }).await
    };
    Ok(calls)
}

/// The AWS clients of the function. Their HTTP client is plain HTTP through `hyper_util`,
/// under `HttpClientLayer`, so a request reported twice would show as an extra HTTP span.
struct Aws {
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    /// A DynamoDB client pointed at a closed port, without retries.
    unreachable: aws_sdk_dynamodb::Client,
}

static AWS: OnceLock<Aws> = OnceLock::new();

/// The clients, configured once as a function does at cold start: one line adds the
/// interceptor.
fn aws() -> &'static Aws {
    AWS.get_or_init(|| {
        let endpoint = env("E2E_MOTO_ENDPOINT");
        let closed = format!("http://127.0.0.1:{}", env("E2E_CLOSED_PORT"));
        let credentials = aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "e2e",
        );
        let http = serverless_sdk_tests::moto::aws_http_client(
            HttpClientLayer::new().layer(serverless_sdk_tests::moto::hyper_client()),
        );
        let region = aws_sdk_s3::config::Region::new("us-east-1");
        let s3 = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .http_client(http.clone())
            .region(region.clone())
            .credentials_provider(credentials.clone())
            .endpoint_url(&endpoint)
            .force_path_style(true)
            .interceptor(AwsSdkInterceptor::new())
            .build();
        let dynamodb = |url: &str| {
            aws_sdk_dynamodb::Config::builder()
                .behavior_version_latest()
                .http_client(http.clone())
                .region(region.clone())
                .credentials_provider(credentials.clone())
                .endpoint_url(url)
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .interceptor(AwsSdkInterceptor::new())
                .build()
        };
        Aws {
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb(&endpoint)),
            unreachable: aws_sdk_dynamodb::Client::from_conf(dynamodb(&closed)),
        }
    })
}

fn failed(context: &str, error: impl std::fmt::Debug) -> std::io::Error {
    std::io::Error::other(format!("{context}: {error:?}"))
}

/// S3 and DynamoDB calls, successful and failing, plus a presigned URL fetched with reqwest.
#[serverless_handler]
async fn aws_calls(_event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };
    use aws_sdk_s3::{error::ProvideErrorMetadata, presigning::PresigningConfig};

    let Aws {
        s3,
        dynamodb,
        unreachable,
    } = aws();

    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .map_err(|e| failed("CreateBucket", e))?;
    s3.put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(Bytes::from_static(b"%PDF-1.7 invoice").into())
        .send()
        .await
        .map_err(|e| failed("PutObject", e))?;
    let object = s3
        .get_object()
        .bucket(BUCKET)
        .key(KEY)
        .send()
        .await
        .map_err(|e| failed("GetObject", e))?;
    let body = object
        .body
        .collect()
        .await
        .map_err(|e| failed("GetObject body", e))?
        .into_bytes();
    let missing_key = s3
        .get_object()
        .bucket(BUCKET)
        .key("nope.pdf")
        .send()
        .await
        .expect_err("a missing key fails");

    // A presigned URL is made locally (no span), then fetched with reqwest (an HTTP span
    // whose url.full has no signature).
    let presigned = s3
        .get_object()
        .bucket(BUCKET)
        .key(KEY)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .map_err(|e| failed("presign", e))?;
    let presigned_url = presigned.uri().to_owned();
    let signature = presigned_url
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("X-Amz-Signature="))
        .unwrap_or_default()
        .to_owned();
    let presigned_status = reqwest_get(&presigned_url, None).await;

    dynamodb
        .create_table()
        .table_name(TABLE)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| failed("CreateTable", e))?;
    dynamodb
        .put_item()
        .table_name(TABLE)
        .item("id", AttributeValue::S("42".into()))
        .item("total", AttributeValue::N("99.5".into()))
        .send()
        .await
        .map_err(|e| failed("PutItem", e))?;
    let item = dynamodb
        .get_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S("42".into()))
        .send()
        .await
        .map_err(|e| failed("GetItem", e))?;
    let missing_table = dynamodb
        .get_item()
        .table_name("no-such-table")
        .key("id", AttributeValue::S("42".into()))
        .send()
        .await
        .expect_err("a missing table fails");
    let refused = unreachable.list_tables().send().await.expect_err("refused");

    Ok(json!({
        "object": String::from_utf8_lossy(&body),
        "missing_key_code": missing_key.code(),
        "presigned_status": outcome(presigned_status),
        "signature": signature,
        "item_total": item.item().and_then(|i| i.get("total")).and_then(|v| v.as_n().ok()),
        "missing_table_code": missing_table.code(),
        "refused": format!("{refused:?}"),
    }))
}

/// Not a test: the function process.
#[test]
fn function_child() {
    run_function_child(|which| async move {
        match which.as_str() {
            "reqwest" | "tower" => serverless_sdk::run(service_fn(client_calls)).await,
            "aws" => serverless_sdk::run(service_fn(aws_calls)).await,
            other => panic!("unknown function {other}"),
        }
    });
}

// ---------------------------------------------------------------------------------------
// The test side: a local HTTP server, moto, the function process, and the assertions.
// ---------------------------------------------------------------------------------------

/// A request the local server received.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    query: Option<String>,
    headers: HeaderMap,
}

/// A local HTTP server: `/ok…` answers 200, `/echo` returns the trace headers it received
/// as JSON, anything else 404. It remembers every request.
struct LocalServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalServer {
    async fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let response = respond(&req, &log);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn seen_path(&self, path: &str) -> Seen {
        let seen = self.seen();
        seen.iter()
            .find(|s| s.path == path)
            .cloned()
            .unwrap_or_else(|| panic!("the server never received {path}: {seen:?}"))
    }
}

fn respond(req: &Request<Incoming>, log: &Mutex<Vec<Seen>>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    log.lock().unwrap().push(Seen {
        path: path.clone(),
        query: req.uri().query().map(str::to_owned),
        headers: req.headers().clone(),
    });
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, body) = if path.starts_with("/ok") {
        (StatusCode::OK, "ok".to_owned())
    } else if path == "/echo" {
        let echoed = json!({
            "traceparent": header("traceparent"),
            "xray": header("x-amzn-trace-id"),
        });
        (StatusCode::OK, echoed.to_string())
    } else {
        (StatusCode::NOT_FOUND, "not found".to_owned())
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

/// Starts the function process serving `function`, named after it.
async fn start_function(function: &str, env: &[(&str, String)]) -> Function {
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    Function::test_child(function, function, &env).await
}

/// Fails if any of `secrets` appears anywhere in what the function printed.
fn assert_no_secrets(process: &FunctionProcess, secrets: &[&str]) {
    let printed = format!("{}\n{}", process.stdout_text(), process.stderr_text());
    for secret in secrets {
        assert!(
            !printed.contains(secret),
            "{secret:?} reached the function's output:\n{printed}"
        );
    }
}

/// What both HTTP scenarios must show. `xray`: whether `X-Amzn-Trace-Id` is propagated.
fn assert_http_trace(
    process: &FunctionProcess,
    trace: &Trace,
    response: &Value,
    server: &LocalServer,
    closed: u16,
    xray: bool,
) {
    let port = server.addr.port();
    let base = format!("http://127.0.0.1:{port}");

    assert_eq!(response["ok"]["status"], 200, "{response}");
    let ok = trace.with_attr("url.full", &format!("{base}/ok"));
    assert_eq!(ok.name, "GET 127.0.0.1");
    assert_eq!(ok.kind_name(), "client");
    trace.assert_child_of(ok, &trace.root);
    assert_eq!(ok.attr_str("http.request.method"), Some("GET"));
    assert_eq!(ok.attr_str("server.address"), Some("127.0.0.1"));
    assert_eq!(ok.attr_i64("server.port"), Some(i64::from(port)));
    assert_eq!(ok.attr_i64("http.response.status_code"), Some(200));
    assert_eq!(ok.attr("error.type"), None);
    assert_ne!(ok.status_name(), "error");
    // The server got a traceparent naming this span.
    let seen = server.seen_path("/ok");
    assert_eq!(
        seen.headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
        Some(format!("00-{}-{}-01", ok.trace_id, ok.span_id).as_str())
    );

    assert_eq!(response["missing"]["status"], 404, "{response}");
    let missing = trace.with_attr("url.full", &format!("{base}/missing"));
    trace.assert_child_of(missing, &trace.root);
    assert_eq!(missing.attr_i64("http.response.status_code"), Some(404));
    assert_eq!(missing.attr_str("error.type"), Some("404"));
    assert_eq!(missing.status_name(), "error");

    // Under a #[span]: the echo names the CLIENT span and the invocation's trace.
    let fetch = trace.named("fetch-echo");
    trace.assert_child_of(fetch, &trace.root);
    let echo = trace.with_attr("url.full", &format!("{base}/echo"));
    trace.assert_child_of(echo, fetch);
    assert_eq!(echo.trace_id, trace.root.trace_id);
    assert_eq!(
        response["echo"]["traceparent"].as_str(),
        Some(format!("00-{}-{}-01", trace.root.trace_id, echo.span_id).as_str()),
        "{response}"
    );
    if xray {
        let header = response["echo"]["xray"].as_str().expect("an X-Ray header");
        let expected = format!(
            "Root=1-{}-{};Parent={};Sampled=1",
            &echo.trace_id[..8],
            &echo.trace_id[8..],
            echo.span_id
        );
        assert_eq!(header, expected);
    } else {
        assert_eq!(response["echo"]["xray"], Value::Null, "{response}");
    }

    // Secrets: sent to the server, never recorded.
    assert_eq!(response["secret"]["status"], 200, "{response}");
    let secret = trace.with_attr("url.full", &format!("{base}/ok/presigned"));
    trace.assert_child_of(secret, &trace.root);
    let seen = server.seen_path("/ok/presigned");
    assert!(
        seen.query.as_deref().is_some_and(|q| q.contains(SIGNATURE)),
        "{seen:?}"
    );
    assert!(seen.headers.contains_key("authorization"), "{seen:?}");
    assert_no_secrets(
        process,
        &[
            SIGNATURE,
            "X-Amz-Signature",
            "AKIDQUERY",
            "sk-live-AUTHZ",
            USERINFO_USER,
            USERINFO_PASSWORD,
        ],
    );

    // An excluded host: no span, no trace headers.
    assert_eq!(response["excluded"]["status"], 200, "{response}");
    assert!(
        trace
            .spans
            .iter()
            .all(|s| s.attr_str("server.address") != Some("localhost")
                && !s.name.contains("localhost")),
        "{}",
        trace.render()
    );
    let seen = server.seen_path("/ok/excluded");
    assert!(!seen.headers.contains_key("traceparent"), "{seen:?}");
    assert!(!seen.headers.contains_key("x-amzn-trace-id"), "{seen:?}");

    // Connection refused: an error span without a status code.
    assert!(response["refused"]["error"].is_string(), "{response}");
    let refused = trace.with_attr("url.full", &format!("http://127.0.0.1:{closed}/refused"));
    trace.assert_child_of(refused, &trace.root);
    assert_eq!(refused.attr_str("error.type"), Some("ConnectionRefused"));
    assert_eq!(refused.status_name(), "error");
    assert_eq!(refused.attr("http.response.status_code"), None);

    // Nothing else: five requests, five CLIENT spans.
    assert_eq!(trace.of_kind("client").len(), 5, "{}", trace.render());
}

async fn run_http_scenario(function: &str, env: &[(&str, &str)], xray: bool) {
    let server = LocalServer::start().await;
    let closed = server::closed_port().await;
    let mut vars: Vec<(&str, String)> = vec![
        ("E2E_SERVER_PORT", server.addr.port().to_string()),
        ("E2E_CLOSED_PORT", closed.to_string()),
    ];
    vars.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let function = start_function(function, &vars).await;
    let outcome = function.invoke(&json!({})).await;
    let response = function.response(&outcome);
    let trace = function.trace(&outcome).await;
    assert_http_trace(&function.process, &trace, &response, &server, closed, xray);
    function.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn reqwest_requests_become_client_spans_with_propagation_and_no_secrets() {
    run_http_scenario(
        "reqwest",
        &[
            ("SERVERLESS_SDK_IGNORE_HOSTS", "localhost"),
            ("SERVERLESS_SDK_PROPAGATE_XRAY", "true"),
        ],
        true,
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn tower_layer_gives_a_hyper_client_the_same_spans() {
    // The layer's options come from code (ignore `localhost`, no X-Ray).
    run_http_scenario("tower", &[], false).await;
}

// ---------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------

async fn start_moto() -> Moto {
    Moto::start().await.unwrap_or_else(|e| panic!("{e}"))
}

fn assert_aws_span(trace: &Trace, span: &FlatSpan, service: &str, method: &str) {
    assert_eq!(span.kind_name(), "client", "{}", trace.render());
    trace.assert_child_of(span, &trace.root);
    assert_eq!(span.attr_str("rpc.system"), Some("aws-api"));
    assert_eq!(span.attr_str("rpc.service"), Some(service));
    assert_eq!(span.attr_str("rpc.method"), Some(method));
    assert_eq!(span.attr_str("cloud.region"), Some("us-east-1"));
    assert_eq!(span.attr_str("server.address"), Some("127.0.0.1"));
    // The SDK's own HTTP request is not a second span.
    assert_eq!(span.attr("http.request.method"), None);
    assert_eq!(span.attr("url.full"), None);
}

fn assert_request_id(span: &FlatSpan) {
    let id = span.attr_str("aws.request_id").unwrap_or_default();
    assert!(
        !id.is_empty(),
        "{} has no aws.request_id: {span:?}",
        span.name
    );
}

fn assert_succeeded(span: &FlatSpan) {
    assert_eq!(span.attr("error.type"), None, "{span:?}");
    assert_ne!(span.status_name(), "error", "{span:?}");
    assert_eq!(span.attr_i64("http.response.status_code"), Some(200));
    assert_request_id(span);
}

/// The two spans named `name`: the one without `error.type`, then the one with.
fn succeeded_and_failed<'a>(trace: &'a Trace, name: &str) -> (&'a FlatSpan, &'a FlatSpan) {
    let spans = trace.all_named(name);
    assert_eq!(spans.len(), 2, "{}", trace.render());
    let (ok, failed): (Vec<&FlatSpan>, Vec<&FlatSpan>) = spans
        .into_iter()
        .partition(|s| s.attr("error.type").is_none());
    assert_eq!((ok.len(), failed.len()), (1, 1), "{}", trace.render());
    (ok[0], failed[0])
}

fn string_array(span: &FlatSpan, key: &str) -> Vec<String> {
    span.attr(key)
        .and_then(|v| v.as_array())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_operations_against_moto_become_client_spans() {
    let moto = start_moto().await;
    let closed = server::closed_port().await;
    let function = start_function(
        "aws",
        &[
            ("E2E_MOTO_ENDPOINT", moto.endpoint().to_owned()),
            ("E2E_CLOSED_PORT", closed.to_string()),
        ],
    )
    .await;
    let outcome = function.invoke(&json!({})).await;
    let response = function.response(&outcome);
    let trace = function.trace(&outcome).await;
    assert_eq!(response["object"], "%PDF-1.7 invoice", "{response}");
    assert_eq!(response["item_total"], "99.5", "{response}");

    // S3
    let create_bucket = trace.named("S3.CreateBucket");
    assert_aws_span(&trace, create_bucket, "S3", "CreateBucket");
    assert_succeeded(create_bucket);
    assert_eq!(create_bucket.attr_str("aws.s3.bucket"), Some(BUCKET));
    assert_eq!(create_bucket.attr("aws.s3.key"), None);

    let put = trace.named("S3.PutObject");
    assert_aws_span(&trace, put, "S3", "PutObject");
    assert_succeeded(put);
    assert_eq!(put.attr_str("aws.s3.bucket"), Some(BUCKET));
    assert_eq!(put.attr_str("aws.s3.key"), Some(KEY));

    // Two GetObject calls; the presigned one made no call and no span.
    let (get, missing) = succeeded_and_failed(&trace, "S3.GetObject");
    assert_aws_span(&trace, get, "S3", "GetObject");
    assert_succeeded(get);
    assert_eq!(get.attr_str("aws.s3.key"), Some(KEY));
    assert_aws_span(&trace, missing, "S3", "GetObject");
    assert_eq!(response["missing_key_code"], "NoSuchKey", "{response}");
    assert_eq!(missing.attr_str("error.type"), Some("NoSuchKey"));
    assert_eq!(missing.status_name(), "error");
    assert_eq!(missing.attr_i64("http.response.status_code"), Some(404));
    assert_eq!(missing.attr_str("aws.s3.key"), Some("nope.pdf"));
    assert_request_id(missing);

    // The presigned URL, fetched with reqwest: one HTTP span, without the signature.
    assert_eq!(response["presigned_status"]["status"], 200, "{response}");
    let http_spans: Vec<&FlatSpan> = trace
        .spans
        .iter()
        .filter(|s| s.attr("http.request.method").is_some())
        .collect();
    assert_eq!(http_spans.len(), 1, "{}", trace.render());
    let fetch = http_spans[0];
    trace.assert_child_of(fetch, &trace.root);
    assert_eq!(
        fetch.attr_str("url.full"),
        Some(format!("{}/{BUCKET}/2024/07%20final.pdf", moto.endpoint()).as_str())
    );
    let signature = response["signature"].as_str().unwrap_or_default();
    assert!(signature.len() >= 32, "{response}");

    // DynamoDB
    let create_table = trace.named("DynamoDB.CreateTable");
    assert_aws_span(&trace, create_table, "DynamoDB", "CreateTable");
    assert_succeeded(create_table);
    assert_eq!(
        string_array(create_table, "aws.dynamodb.table_names"),
        [TABLE]
    );
    let put_item = trace.named("DynamoDB.PutItem");
    assert_aws_span(&trace, put_item, "DynamoDB", "PutItem");
    assert_succeeded(put_item);
    assert_eq!(string_array(put_item, "aws.dynamodb.table_names"), [TABLE]);

    let (get_item, missing_table) = succeeded_and_failed(&trace, "DynamoDB.GetItem");
    assert_aws_span(&trace, get_item, "DynamoDB", "GetItem");
    assert_succeeded(get_item);
    assert_eq!(string_array(get_item, "aws.dynamodb.table_names"), [TABLE]);
    assert_aws_span(&trace, missing_table, "DynamoDB", "GetItem");
    assert_eq!(
        response["missing_table_code"], "ResourceNotFoundException",
        "{response}"
    );
    assert_eq!(
        missing_table.attr_str("error.type"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(missing_table.status_name(), "error");
    assert_eq!(
        missing_table.attr_i64("http.response.status_code"),
        Some(400)
    );
    assert_eq!(
        string_array(missing_table, "aws.dynamodb.table_names"),
        ["no-such-table"]
    );
    assert_request_id(missing_table);

    // An endpoint nobody listens on.
    let refused = trace.named("DynamoDB.ListTables");
    trace.assert_child_of(refused, &trace.root);
    assert_eq!(refused.attr_str("error.type"), Some("ConnectionRefused"));
    assert_eq!(refused.status_name(), "error");
    assert_eq!(refused.attr("aws.request_id"), None);

    // Nine operations and one fetch: ten CLIENT spans, nothing reported twice.
    assert_eq!(trace.of_kind("client").len(), 10, "{}", trace.render());

    // No credential, signature or Authorization value anywhere.
    assert_no_secrets(
        &function.process,
        &[
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            signature,
            "X-Amz-Signature",
            "X-Amz-Credential",
            "AWS4-HMAC-SHA256",
            "Signature=",
        ],
    );
    function.stop().await;
}
