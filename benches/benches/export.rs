//! The SDK's `OtlpJsonExporter` on batches shaped like its own invocations (a root span
//! with the invocation's attributes and one `exception` event, children with
//! `code.function` / `code.namespace`), against cloning such a batch: the
//! `encode(batch.clone())` that `OtlpJsonExporter::encode` does before its first attempt
//! (`sdk-core/src/export.rs`), needed only when a line is over the size limit; and the
//! export's two halves: building the OTLP proto structs (`to_proto`) and serialising them
//! with serde_json (`proto_to_json`).
//!
//! `cargo bench -p serverless_sdk_benches --bench export -- --warm-up-time 1 --measurement-time 3`

use std::{
    borrow::Cow,
    hint::black_box,
    time::{Duration, SystemTime},
};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::{
    InstrumentationScope, KeyValue, StringValue, Value,
    trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState},
};
use opentelemetry_proto::{
    tonic::collector::trace::v1::ExportTraceServiceRequest,
    transform::{
        common::tonic::ResourceAttributesWithSchema,
        trace::tonic::group_spans_by_resource_and_scope,
    },
};
use opentelemetry_sdk::{
    Resource,
    trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks},
};
use serverless_sdk::export::OtlpJsonExporter;
use serverless_sdk_benches::{CountingSink, REQUEST_ID, print_conditions, runtime};

fn span(
    trace: TraceId,
    id: u64,
    parent: u64,
    name: &'static str,
    attributes: Vec<KeyValue>,
    scope: &InstrumentationScope,
) -> SpanData {
    let start = SystemTime::now();
    SpanData {
        span_context: SpanContext::new(
            trace,
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: SpanId::from(parent),
        parent_span_is_remote: parent != 0 && id == 1,
        span_kind: if id == 1 {
            SpanKind::Server
        } else {
            SpanKind::Internal
        },
        name: Cow::Borrowed(name),
        start_time: start,
        end_time: start + Duration::from_micros(150),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

/// A root span and `children` child spans, as the SDK converts an invocation.
fn batch(children: u64) -> Vec<SpanData> {
    let scope = InstrumentationScope::builder("serverless_sdk")
        .with_version("0.1.0")
        .build();
    let trace = TraceId::from(0x5759_e988_bd86_2e3f_e1be_46a9_9427_2793);
    let mut root = span(
        trace,
        1,
        0x5399_5c3f_42cd_8ad8,
        "bench",
        vec![
            KeyValue::new("faas.invocation_id", REQUEST_ID),
            KeyValue::new("faas.coldstart", false),
            KeyValue::new("faas.trigger", "other"),
            KeyValue::new(
                "cloud.resource_id",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            ),
            KeyValue::new("code.function", "busy"),
            KeyValue::new("code.namespace", "invocation"),
            KeyValue::new("serverless.tag.customer-id", "42"),
            KeyValue::new(
                "serverless.tag.customer-id.custom",
                r#"{"demoUser":"true"}"#,
            ),
            KeyValue::new("serverless.tag.plan", "free"),
            KeyValue::new("serverless.tag.region", "eu-west-1"),
            KeyValue::new("serverless.outcome", "error:handled"),
        ],
        &scope,
    );
    let chain: Vec<StringValue> = (1..3)
        .map(|l| format!("ChainError: level {l} failed while loading order 42").into())
        .collect();
    root.events.events.push(Event::new(
        "exception",
        SystemTime::now(),
        vec![
            KeyValue::new("exception.type", "ChainError"),
            KeyValue::new(
                "exception.message",
                "level 0 failed while loading order 42 for customer bob",
            ),
            KeyValue::new("exception.handled", true),
            KeyValue::new("exception.chain", Value::Array(chain.into())),
            KeyValue::new("code.file.path", "benches/benches/invocation.rs"),
            KeyValue::new("code.line.number", 91_i64),
            KeyValue::new("exception.fingerprint", "6c1e2f0a9b3d4e5f"),
        ],
        0,
    ));
    root.status = Status::error("ChainError");
    let mut spans = vec![root];
    for i in 0..children {
        spans.push(span(
            trace,
            2 + i,
            1,
            if i % 2 == 0 { "db.load" } else { "pricing" },
            vec![
                KeyValue::new("code.function", "load"),
                KeyValue::new("code.namespace", "invocation"),
            ],
            &scope,
        ));
    }
    spans
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("bench")
        .with_attributes([
            KeyValue::new("cloud.provider", "aws"),
            KeyValue::new("cloud.platform", "aws_lambda"),
            KeyValue::new("cloud.region", "us-east-1"),
            KeyValue::new("faas.name", "bench"),
        ])
        .build()
}

fn export(c: &mut Criterion) {
    print_conditions("export");
    let rt = runtime();
    let (sink, written) = CountingSink::new();
    let mut exporter = OtlpJsonExporter::new(sink.shared());
    exporter.set_resource(&resource());

    let resource = ResourceAttributesWithSchema::from(&resource());
    let mut group = c.benchmark_group("export");
    for children in [10, 100] {
        let spans = batch(children);
        group.throughput(Throughput::Elements(children + 1));
        let before = written.bytes();
        if let Err(e) = rt.block_on(exporter.export(spans.clone())) {
            panic!("export failed: {e}");
        }
        eprintln!(
            "export: {} spans -> {} bytes",
            children + 1,
            written.bytes() - before
        );
        group.bench_function(format!("otlp_json/{}_spans", children + 1), |b| {
            b.iter_batched(
                || spans.clone(),
                |batch| rt.block_on(exporter.export(batch)),
                BatchSize::SmallInput,
            );
        });
        group.bench_function(format!("clone_and_drop/{}_spans", children + 1), |b| {
            b.iter(|| drop(black_box(spans.clone())));
        });
        // The export's two halves: SpanData to the OTLP proto structs, then serde_json.
        group.bench_function(format!("to_proto/{}_spans", children + 1), |b| {
            b.iter_batched(
                || spans.clone(),
                |batch| group_spans_by_resource_and_scope(batch, &resource),
                BatchSize::SmallInput,
            );
        });
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans.clone(), &resource),
        };
        group.bench_function(format!("proto_to_json/{}_spans", children + 1), |b| {
            b.iter(|| serde_json::to_vec(black_box(&request)).map(|v| v.len()));
        });
    }
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
