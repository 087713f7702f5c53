//! `OtlpReceiver` over HTTP, in both OTLP encodings and under injected faults.
#![allow(clippy::unwrap_used)]

use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::{AnyValue, KeyValue, any_value::Value},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span},
};
use prost::Message;
use serverless_sdk_tests::{
    client,
    function::WAIT,
    otlp::{OtlpEncoding, OtlpReceiver},
};
use std::time::{Duration, Instant};

fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn export(names: &[&str]) -> ExportTraceServiceRequest {
    let spans = names
        .iter()
        .zip(1u8..)
        .map(|(name, id)| Span {
            trace_id: vec![7; 16],
            span_id: vec![id; 8],
            name: (*name).to_owned(),
            kind: 2,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 2_000,
            attributes: vec![string_attribute("faas.trigger", "http")],
            ..Span::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_attribute("service.name", "orders")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

async fn post_protobuf(
    receiver: &OtlpReceiver,
    request: &ExportTraceServiceRequest,
) -> std::io::Result<http::Response<bytes::Bytes>> {
    client::post(
        &receiver.traces_endpoint(),
        "application/x-protobuf",
        request.encode_to_vec(),
    )
    .await
}

#[tokio::test]
async fn decodes_protobuf_exports() {
    let receiver = OtlpReceiver::start().await.unwrap();
    assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));

    let request = export(&["handler", "db.query"]);
    let response = post_protobuf(&receiver, &request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    ExportTraceServiceResponse::decode(response.body().clone()).unwrap();

    assert_eq!(receiver.requests(), 1);
    assert_eq!(receiver.export_requests(), vec![request]);
    let received = receiver.received();
    assert_eq!(received[0].encoding, OtlpEncoding::Protobuf);
    assert_eq!(
        received[0].headers["content-type"],
        "application/x-protobuf"
    );

    let spans = receiver.spans();
    let names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();
    assert_eq!(names, ["handler", "db.query"]);
    assert_eq!(spans[0].trace_id, "07".repeat(16));
    assert_eq!(spans[0].span_id, "0101010101010101");
    assert_eq!(spans[0].kind_name(), "server");
    assert_eq!(spans[0].attr_str("faas.trigger"), Some("http"));
    assert_eq!(spans[0].resource_str("service.name"), Some("orders"));
}

#[tokio::test]
async fn decodes_json_exports() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let request = export(&["handler"]);
    let response = client::post(
        &receiver.traces_endpoint(),
        "application/json; charset=utf-8",
        serde_json::to_vec(&request).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"{}");
    assert_eq!(receiver.received()[0].encoding, OtlpEncoding::Json);
    assert_eq!(receiver.export_requests(), vec![request]);
}

#[tokio::test]
async fn rejects_what_it_cannot_decode() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let garbage = client::post(
        &receiver.traces_endpoint(),
        "application/x-protobuf",
        "\u{ff}garbage",
    )
    .await
    .unwrap();
    assert_eq!(garbage.status(), 400);
    let text = client::post(&receiver.traces_endpoint(), "text/plain", "hello")
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let other_signal = client::post(
        &format!("{}/v1/metrics", receiver.endpoint()),
        "application/x-protobuf",
        "",
    )
    .await
    .unwrap();
    assert_eq!(other_signal.status(), 404);
    assert_eq!((receiver.requests(), receiver.rejected()), (2, 2));
    assert!(receiver.spans().is_empty());
}

#[tokio::test]
async fn injects_error_statuses() {
    let receiver = OtlpReceiver::start().await.unwrap();
    receiver.set_status(503);
    let response = post_protobuf(&receiver, &export(&["a"])).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(receiver.requests(), 1);
    assert!(
        receiver.spans().is_empty(),
        "failed exports are not recorded"
    );

    receiver.clear_faults();
    let response = post_protobuf(&receiver, &export(&["a"])).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(receiver.spans().len(), 1);
}

#[tokio::test]
async fn injects_delays() {
    let receiver = OtlpReceiver::start().await.unwrap();
    receiver.set_delay(Duration::from_millis(200));
    let started = Instant::now();
    let response = post_protobuf(&receiver, &export(&["a"])).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn hangs_until_released() {
    let receiver = OtlpReceiver::start().await.unwrap();
    receiver.set_hang(true);

    // A client with a deadline gives up.
    let attempt = tokio::time::timeout(
        Duration::from_millis(200),
        post_protobuf(&receiver, &export(&["abandoned"])),
    )
    .await;
    assert!(attempt.is_err(), "answered while hanging");

    // A held request proceeds once the hang is lifted.
    let held = {
        let receiver = receiver.clone();
        tokio::spawn(async move { post_protobuf(&receiver, &export(&["held"])).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!held.is_finished());
    receiver.set_hang(false);
    assert_eq!(held.await.unwrap().unwrap().status(), 200);

    let names: Vec<String> = receiver.spans().into_iter().map(|span| span.name).collect();
    assert_eq!(names, ["held"]);
    assert_eq!(receiver.requests(), 2);
}

#[tokio::test]
async fn waits_for_spans() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let sender = {
        let receiver = receiver.clone();
        tokio::spawn(async move {
            for name in ["one", "two", "three"] {
                tokio::time::sleep(Duration::from_millis(30)).await;
                post_protobuf(&receiver, &export(&[name])).await.unwrap();
            }
        })
    };
    let spans = receiver.wait_for_spans(3, WAIT).await;
    assert_eq!(spans.len(), 3);
    sender.await.unwrap();

    let spans = receiver.wait_for_spans(4, Duration::from_millis(50)).await;
    assert_eq!(spans.len(), 3, "returns what it has on timeout");

    receiver.clear();
    assert_eq!((receiver.requests(), receiver.spans().len()), (0, 0));
}
