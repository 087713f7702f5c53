//! OTLP over HTTP (protobuf) to a collector: the request body encoded by `proto.rs`, sent
//! with an HTTP/1.1-only client (OTLP/HTTP needs nothing more, and an HTTP/2 client would
//! grow every function binary).
//!
//! Configured as the OpenTelemetry specification says, from the code's endpoint or the
//! `OTEL_EXPORTER_OTLP_*` variables: `…_TRACES_ENDPOINT` (used as is), else
//! `…_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`; headers from
//! `…_HEADERS` and `…_TRACES_HEADERS` (`key=value,…`, values URL-decoded); the request
//! timeout from `…_TRACES_TIMEOUT` or `…_TIMEOUT` (milliseconds, default 10 s).
//!
//! Requests to AWS X-Ray's OTLP endpoint are signed with SigV4 (`sigv4.rs`, the `xray`
//! feature), as the last step before they are sent.

use std::{env, time::Duration};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};

use super::transport::Transport;

use crate::{config::OtlpSigning, internal_error};

/// The default collector endpoint of OTLP/HTTP.
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// A collector's answer is a small protobuf; anything larger is not read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Sends OTLP/HTTP protobuf requests to one collector.
pub(crate) struct OtlpHttp {
    client: Transport,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
    /// Signs each request for AWS X-Ray, when the endpoint or the configuration asks for it.
    #[cfg(feature = "xray")]
    signer: Option<super::sigv4::Signer>,
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `endpoint` + `path`, without a doubled slash.
fn join(endpoint: &str, path: &str) -> String {
    format!("{}{path}", endpoint.trim_end_matches('/'))
}

/// Percent-decodes `value`; `None` if it is not valid percent-encoded UTF-8.
fn url_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Headers of an `OTEL_EXPORTER_OTLP_*HEADERS` value, `key=value,…`.
fn parse_headers(value: &str, out: &mut Vec<(HeaderName, HeaderValue)>) {
    for pair in value.split(',').map(str::trim) {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let (key, raw) = (key.trim(), value.trim());
        if key.is_empty() || raw.is_empty() {
            continue;
        }
        let value = url_decode(raw).unwrap_or_else(|| raw.to_owned());
        match (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                out.retain(|(n, _)| *n != name);
                out.push((name, value));
            }
            _ => internal_error::report(
                "config",
                &format!("OTLP header {key:?} is not a valid HTTP header; ignored"),
            ),
        }
    }
}

impl OtlpHttp {
    /// The exporter for `endpoint` (a collector's base URL), or for the
    /// `OTEL_EXPORTER_OTLP_*` variables. Makes no network call.
    pub(crate) fn build(endpoint: Option<&str>, signing: OtlpSigning) -> Result<Self, String> {
        let protocol = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_default();
        match protocol.trim() {
            "" | "http/protobuf" => {}
            other => internal_error::report(
                "config",
                &format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not built in; using http/protobuf"
                ),
            ),
        }
        if let Some(compression) = var("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION")
            .or_else(|| var("OTEL_EXPORTER_OTLP_COMPRESSION"))
            .filter(|c| c.trim() != "none")
        {
            internal_error::report(
                "config",
                &format!(
                    "OTEL_EXPORTER_OTLP_COMPRESSION={compression:?} is not built in; sending uncompressed"
                ),
            );
        }
        let uri = match endpoint.filter(|e| !e.trim().is_empty()) {
            Some(base) => join(base, "/v1/traces"),
            None => var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").unwrap_or_else(|| {
                join(
                    &var("OTEL_EXPORTER_OTLP_ENDPOINT")
                        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
                    "/v1/traces",
                )
            }),
        };
        let uri: Uri = uri
            .trim()
            .parse()
            .map_err(|e| format!("invalid OTLP endpoint {uri:?}: {e}"))?;
        let client = Transport::for_uri(&uri)?;
        #[cfg(feature = "xray")]
        let signer = super::sigv4::Signer::for_endpoint(signing, uri.host().unwrap_or_default())?;
        #[cfg(not(feature = "xray"))]
        if signing == OtlpSigning::XRay
            || (signing == OtlpSigning::Auto
                && uri
                    .host()
                    .is_some_and(|h| h.starts_with("xray.") && h.contains(".amazonaws.com")))
        {
            internal_error::report(
                "config",
                "SigV4 signing for AWS X-Ray needs the `xray` feature of serverless_sdk; sending unsigned",
            );
        }
        let mut headers = Vec::new();
        for name in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ] {
            if let Some(value) = var(name) {
                parse_headers(&value, &mut headers);
            }
        }
        let timeout = var("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .map_or(Duration::from_secs(10), Duration::from_millis);
        Ok(Self {
            client,
            uri,
            headers,
            timeout,
            #[cfg(feature = "xray")]
            signer,
        })
    }

    /// Sends one encoded `ExportTraceServiceRequest`; an answer other than 2xx is an error.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), String> {
        #[cfg(feature = "xray")]
        let signed_body = body.clone();
        let mut request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        // Last, over the final headers and the exact body bytes: the signature covers what
        // is sent.
        #[cfg(feature = "xray")]
        if let Some(signer) = &self.signer {
            signer.sign(&mut request, &signed_body)?;
        }
        let response = tokio::time::timeout(self.timeout, self.client.request(request)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_split_trimmed_and_url_decoded() {
        let mut headers = Vec::new();
        parse_headers(
            "api-key=abc%20def, x-team = core ,bad, =x,empty=",
            &mut headers,
        );
        parse_headers("x-team=traces", &mut headers);
        let text: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        assert_eq!(
            text,
            [
                ("api-key".to_owned(), "abc def".to_owned()),
                ("x-team".to_owned(), "traces".to_owned())
            ]
        );
    }

    #[test]
    fn endpoints_get_the_traces_path_once() {
        assert_eq!(
            join("http://c:4318/", "/v1/traces"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            join("http://c:4318", "/v1/traces"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(url_decode("a%2Cb"), Some("a,b".to_owned()));
        assert_eq!(url_decode("bad%zz"), None);
    }
}
