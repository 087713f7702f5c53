//! OTLP over HTTP (protobuf) to a collector, through an HTTP/1.1-only client.

use std::{borrow::Cow, env, time::Duration};

use opentelemetry_sdk::error::OTelSdkResult;

use crate::internal_error;

/// Runs one export within `timeout`, when a tokio timer is available.
pub(crate) async fn with_timeout(
    timeout: Duration,
    export: impl Future<Output = OTelSdkResult>,
) -> Result<(), Cow<'static, str>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return export.await.map_err(|e| e.to_string().into());
    }
    match tokio::time::timeout(timeout, export).await {
        Ok(result) => result.map_err(|e| e.to_string().into()),
        Err(_) => Err(format!("the collector did not answer within {timeout:?}").into()),
    }
}

/// The OTLP/HTTP exporter for `endpoint`, or for the `OTEL_EXPORTER_OTLP_*` variables.
pub(crate) fn build_otlp(
    endpoint: Option<&str>,
) -> Result<opentelemetry_otlp::SpanExporter, String> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

    let protocol = env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_default();
    match protocol.trim() {
        "" | "http/protobuf" => {}
        other => internal_error::report(
            "config",
            &format!("OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not built in; using http/protobuf"),
        ),
    }
    let client = Http1Client {
        client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http(),
        timeout: Duration::from_secs(10),
    };
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(client);
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')));
    }
    builder.build().map_err(|e| e.to_string())
}

/// The OTLP exporter's HTTP client: HTTP/1.1 only (OTLP/HTTP needs nothing more, and
/// opentelemetry-http's hyper client would bring HTTP/2 into every function binary), with a
/// timeout and a cap on the collector's answer.
#[derive(Debug)]
struct Http1Client {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    timeout: Duration,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Http1Client {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        use http_body_util::BodyExt;

        /// A collector's answer is a small protobuf; anything larger is not read.
        const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, http_body_util::Full::new(body));
        let response = tokio::time::timeout(self.timeout, self.client.request(request)).await??;
        let (parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}
