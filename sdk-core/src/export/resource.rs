//! The resource that describes this function, and the instrumentation scope of every
//! span the SDK records.

use std::{env, sync::OnceLock};

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::{Resource, resource::TelemetryResourceDetector};

/// The instrumentation scope of every span the SDK records.
pub(crate) fn scope() -> &'static InstrumentationScope {
    static SCOPE: OnceLock<InstrumentationScope> = OnceLock::new();
    SCOPE.get_or_init(|| {
        InstrumentationScope::builder("serverless_sdk")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build()
    })
}

/// The resource describing this function, from Lambda's environment variables, with
/// `attributes` (`OTEL_RESOURCE_ATTRIBUTES`, then the ones set in code) over them.
/// `service.name`: `service_name` (code, `OTEL_SERVICE_NAME`), else the one of
/// `attributes`, else the function name.
pub(crate) fn build_resource(
    service_name: Option<&str>,
    attributes: &[(String, String)],
) -> Resource {
    let var = |name: &str| env::var(name).ok().filter(|v| !v.is_empty());
    let function_name = var("AWS_LAMBDA_FUNCTION_NAME");
    let from_attributes = attributes
        .iter()
        .rev()
        .find(|(k, _)| k == "service.name")
        .map(|(_, v)| v.clone());
    let service = service_name
        .map(str::to_owned)
        .or(from_attributes)
        .or_else(|| function_name.clone())
        .unwrap_or_else(|| "unknown_service".to_owned());
    let mut attrs = vec![
        KeyValue::new("cloud.provider", "aws"),
        KeyValue::new("cloud.platform", "aws_lambda"),
        KeyValue::new("telemetry.distro.name", "serverless_sdk"),
        KeyValue::new("telemetry.distro.version", env!("CARGO_PKG_VERSION")),
    ];
    if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
        attrs.push(KeyValue::new("cloud.region", region));
    }
    if let Some(name) = function_name {
        attrs.push(KeyValue::new("faas.name", name));
    }
    if let Some(version) = var("AWS_LAMBDA_FUNCTION_VERSION") {
        attrs.push(KeyValue::new("faas.version", version));
    }
    if let Some(mb) = var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.parse::<i64>().ok()) {
        attrs.push(KeyValue::new(
            "faas.max_memory",
            mb.saturating_mul(1024 * 1024),
        ));
    }
    if let Some(stream) = var("AWS_LAMBDA_LOG_STREAM_NAME") {
        attrs.push(KeyValue::new("faas.instance", stream));
    }
    attrs.extend(
        attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    // `telemetry.sdk.*` detected; OTEL_RESOURCE_ATTRIBUTES is parsed (and percent-decoded)
    // by the configuration, not read again by the default detectors.
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(attrs)
        .with_service_name(service)
        .build()
}
