//! `clients`: an HTTP API call and an S3 PutObject (against moto) as CLIENT spans.
//!
//! The example runs as its own process, as on Lambda, against the test kit's local Runtime
//! API, with real AWS sample events and the event files its documentation names
//! (`tests/fixtures/`); the test checks the exact responses and the telemetry it prints on
//! stdout (one OTLP/JSON line per invocation). Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the
//! function's output while the test runs.

use serde_json::json;
use serverless_sdk_tests::prelude::*;

/// `clients`: an HTTP API call and an S3 PutObject (against moto) are CLIENT spans under
/// the invocation, carrying no credentials.
#[tokio::test]
async fn clients_calls_become_client_spans() {
    use serverless_sdk_tests::{
        moto::{Moto, SECRET_ACCESS_KEY},
        server,
    };

    let moto = Moto::start().await.unwrap_or_else(|e| panic!("{e}"));
    // The report bucket (moto does not check signatures).
    let create = http::Request::put(format!("{}/reports", moto.endpoint()))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("a request");
    let created = serverless_sdk_tests::client::send(create)
        .await
        .expect("moto answers");
    assert!(created.status().is_success(), "{created:?}");
    let rates = server::Server::start(
        |_request| async {
            server::json_response(http::StatusCode::OK, &json!({ "base": "EUR", "USD": 1.08 }))
        },
        false,
    )
    .await
    .expect("the rates API");
    let rates_url = format!("http://{}", rates.addr());
    let env = |bucket: &'static str| {
        let mut vars = vec![
            ("RATES_API_URL", rates_url.clone()),
            ("REPORTS_BUCKET", bucket.to_owned()),
        ];
        vars.extend(moto.function_env());
        vars
    };
    for (bucket, status) in [("reports", 200), ("missing-bucket", 502)] {
        let vars = env(bucket);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = example_function!("clients", &vars).await;
        let outcome = function
            .invoke(&events::fixture("clients-report.json"))
            .await;
        let response = function.proxy_response(&outcome);
        assert_eq!(response["statusCode"], status, "{response}");
        if status == 200 {
            assert_eq!(response["body"], json!({ "stored": "reports/q3.json" }));
        }
        let trace = function.trace(&outcome).await;
        assert_eq!(trace.root.name, "GET /reports/{id}");
        let http_span = trace.named("GET 127.0.0.1");
        assert_eq!(http_span.kind_name(), "client");
        assert_eq!(http_span.parent_span_id, trace.root.span_id);
        assert_eq!(http_span.attr_i64("http.response.status_code"), Some(200));
        let s3 = trace.named("S3.PutObject");
        assert_eq!(s3.kind_name(), "client");
        assert_eq!(s3.parent_span_id, trace.root.span_id);
        assert_eq!(s3.attr_str("rpc.system"), Some("aws-api"));
        assert_eq!(s3.attr_str("aws.s3.bucket"), Some(bucket));
        assert_eq!(s3.attr_str("aws.s3.key"), Some("reports/q3.json"));
        assert!(s3.attr_str("aws.request_id").is_some());
        if status == 200 {
            assert_eq!(s3.status_code, 0);
        } else {
            assert_eq!(s3.attr_str("error.type"), Some("NoSuchBucket"));
            assert_eq!(s3.status_code, 2);
        }
        let telemetry = function.process.stdout_text();
        assert!(!telemetry.contains(SECRET_ACCESS_KEY));
        assert!(!telemetry.contains("Signature="));
        function.stop().await;
    }
}
