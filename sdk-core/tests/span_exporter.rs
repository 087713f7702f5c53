//! `Exporter::SpanExporter`: the invocation's spans reach a user's OpenTelemetry
//! `SpanExporter` as `SpanData`, with the SDK's resource, the `code.*` attributes, the
//! `exception` events (their backtraces symbolised), links, the remote parent and the
//! sampled flag.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::sync::{Arc, Mutex};

use lambda_runtime::{Context, LambdaEvent};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};
use serde_json::{Value, json};
use serverless_sdk::{Config, capture_exception, export::Exporter, serverless_handler, span};

/// A user's exporter: keeps every batch and the resource it was given.
#[derive(Debug, Clone, Default)]
struct Collect {
    batches: Arc<Mutex<Vec<Vec<SpanData>>>>,
    resource: Arc<Mutex<Option<Resource>>>,
}

impl SpanExporter for Collect {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

#[derive(Debug, thiserror::Error)]
#[error("card declined")]
struct Declined;

#[span("pricing")]
fn price(qty: u64) -> u64 {
    qty * 3
}

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    let total = price(2);
    capture_exception(&Declined);
    Ok(json!({ "total": total, "user": event.payload["user"] }))
}

#[tokio::test]
async fn a_users_span_exporter_gets_every_span_as_span_data() {
    let collect = Collect::default();
    assert!(serverless_sdk::init(
        Config::from_env()
            .with_service_name("span-exporter-test")
            .with_exporter(Exporter::span_exporter(collect.clone()))
    ));
    let resource = collect.resource.lock().unwrap().clone().unwrap();
    assert!(
        resource
            .iter()
            .any(|(k, v)| k.as_str() == "service.name" && v.as_str() == "span-exporter-test")
    );

    let mut ctx = Context::default();
    ctx.request_id = "req-1".into();
    ctx.xray_trace_id =
        Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into());
    let out = handler(LambdaEvent::new(json!({ "user": "bob" }), ctx))
        .await
        .unwrap();
    assert_eq!(out["total"], 6);

    let batches = collect.batches.lock().unwrap();
    assert_eq!(batches.len(), 1, "one export per invocation");
    let spans = &batches[0];
    assert_eq!(spans.len(), 2);
    let (root, child) = (&spans[0], &spans[1]);
    assert_eq!(
        format!("{:032x}", root.span_context.trace_id()),
        "5759e988bd862e3fe1be46a994272793"
    );
    assert!(root.span_context.is_sampled());
    assert!(root.parent_span_is_remote);
    assert_eq!(format!("{:016x}", root.parent_span_id), "53995c3f42cd8ad8");
    assert_eq!(child.parent_span_id, root.span_context.span_id());
    assert_eq!(child.name, "pricing");
    assert_eq!(child.span_kind, SpanKind::Internal);
    let attr = |span: &SpanData, key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr(child, "code.function").as_deref(), Some("price"));
    assert_eq!(attr(root, "faas.invocation_id").as_deref(), Some("req-1"));
    assert_eq!(
        attr(root, "serverless.outcome").as_deref(),
        Some("error:handled")
    );
    assert!(matches!(root.status, Status::Error { .. }));
    let exception = root.events.iter().find(|e| e.name == "exception").unwrap();
    assert!(
        exception
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "exception.type" && kv.value.as_str() == "Declined")
    );
    let (spans, failures) = serverless_sdk::export::stats();
    assert_eq!((spans, failures), (2, 0));
}
