//! OTLP over HTTP (protobuf) to a collector: the request body encoded by `proto.rs`, sent
//! with an HTTP/1.1-only client (OTLP/HTTP needs nothing more, and an HTTP/2 client would
//! grow every function binary).
//!
//! Configured as the OpenTelemetry specification says, from the code's endpoint or the
//! `OTEL_EXPORTER_OTLP_*` variables (read by the configuration, `config/otel_env.rs`):
//! `…_TRACES_ENDPOINT` (used as is), else `…_ENDPOINT` + `/v1/traces`, else
//! `http://localhost:4318/v1/traces`; the headers of `…_HEADERS` and `…_TRACES_HEADERS` on
//! every request; the body gzipped with `…_COMPRESSION=gzip`; the export timeout.

use std::{io::Write, time::Duration};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::{Client, connect::HttpConnector};

use crate::config::{Compression, OtlpEnv, join};

/// The default collector endpoint of OTLP/HTTP.
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// A collector's answer is a small protobuf; anything larger is not read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Sends OTLP/HTTP protobuf requests to one collector.
pub(crate) struct OtlpHttp {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    compression: Compression,
    timeout: Duration,
}

impl OtlpHttp {
    /// The exporter for `endpoint` (a collector's base URL, set in code), else for the
    /// environment's `otlp` settings, giving up on a request after `timeout`. Makes no
    /// network call.
    pub(crate) fn build(
        endpoint: Option<&str>,
        otlp: &OtlpEnv,
        timeout: Duration,
    ) -> Result<Self, String> {
        let uri = match endpoint.filter(|e| !e.trim().is_empty()) {
            Some(base) => join(base, "/v1/traces"),
            None => otlp
                .traces_endpoint
                .clone()
                .unwrap_or_else(|| join(DEFAULT_ENDPOINT, "/v1/traces")),
        };
        let uri: Uri = uri
            .trim()
            .parse()
            .map_err(|e| format!("invalid OTLP endpoint {uri:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "OTLP endpoint {uri} is not http:// (the built-in client speaks plain HTTP/1.1; \
                 use a collector or extension on localhost)"
            ));
        }
        Ok(Self {
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
            uri,
            headers: otlp.headers.0.clone(),
            compression: otlp.compression,
            timeout,
        })
    }

    /// Sends one encoded `ExportTraceServiceRequest`; an answer other than 2xx is an error.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), String> {
        let mut request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        let body = match self.compression {
            Compression::Gzip => {
                request = request.header(http::header::CONTENT_ENCODING, "gzip");
                gzip(&body).map_err(|e| format!("cannot gzip the request: {e}"))?
            }
            Compression::None => body,
        };
        let mut request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| format!("the collector did not answer within {:?}", self.timeout))?
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
            Err(format!("the collector answered {status}: {text}"))
        }
    }
}

/// `body` gzipped at the default level.
fn gzip(body: &[u8]) -> std::io::Result<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::default(),
    );
    encoder.write_all(body)?;
    encoder.finish().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn gzip_round_trips() {
        let body = b"an ExportTraceServiceRequest".repeat(50);
        let zipped = gzip(&body).expect("gzip");
        assert!(zipped.len() < body.len());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&zipped[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        assert_eq!(out, body);
    }

    #[test]
    fn the_code_endpoint_wins_over_the_environment() {
        let otlp = OtlpEnv {
            traces_endpoint: Some("http://env:4318/custom/traces".to_owned()),
            ..OtlpEnv::default()
        };
        let timeout = Duration::from_secs(1);
        let from_code = OtlpHttp::build(Some("http://code:4318/"), &otlp, timeout).expect("http");
        assert_eq!(from_code.uri, "http://code:4318/v1/traces");
        let from_env = OtlpHttp::build(None, &otlp, timeout).expect("http");
        assert_eq!(from_env.uri, "http://env:4318/custom/traces");
        let default = OtlpHttp::build(None, &OtlpEnv::default(), timeout).expect("http");
        assert_eq!(default.uri, "http://localhost:4318/v1/traces");
        assert!(OtlpHttp::build(Some("https://vendor.example"), &otlp, timeout).is_err());
    }
}
