//! OTLP over HTTP (protobuf) to a collector: the request body encoded by `proto.rs`, sent
//! with an HTTP/1.1-only client (OTLP/HTTP needs nothing more, and an HTTP/2 client would
//! grow every function binary).
//!
//! Configured as the OpenTelemetry specification says, from the code's endpoint or the
//! `OTEL_EXPORTER_OTLP_*` variables (read by the configuration, `config/otel_env.rs`):
//! `…_TRACES_ENDPOINT` (used as is), else `…_ENDPOINT` + `/v1/traces`, else
//! `http://localhost:4318/v1/traces`; the headers of `…_HEADERS` and `…_TRACES_HEADERS` on
//! every request; the body gzipped with `…_COMPRESSION=gzip`; the export timeout.
//!
//! Requests to AWS X-Ray's OTLP endpoint are signed with SigV4 (`sigv4.rs`, the `xray`
//! feature), as the last step before they are sent.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};

use super::{gzip::Gzip, reuse::Reused, transport::Transport};

use crate::config::{Compression, OtlpEnv, OtlpSigning, join};
#[cfg(not(feature = "xray"))]
use crate::internal_error;

/// The default collector endpoint of OTLP/HTTP.
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// A collector's answer is a small protobuf; anything larger is not read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Sends OTLP/HTTP protobuf requests to one collector.
pub(crate) struct OtlpHttp {
    client: Transport,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`: the body gzipped at the default level.
    gzip: Option<Gzip>,
    /// The length of the last uncompressed body: the capacity of the next one.
    last_body_len: AtomicUsize,
    /// Signs each request for AWS X-Ray, when the endpoint or the configuration asks for it.
    #[cfg(feature = "xray")]
    signer: Option<super::sigv4::Signer>,
}

impl OtlpHttp {
    /// The exporter for `endpoint` (a collector's base URL, set in code), else for the
    /// environment's `otlp` settings, signing each
    /// request for AWS X-Ray as `signing` says. Makes no network call.
    pub(crate) fn build(
        endpoint: Option<&str>,
        otlp: &OtlpEnv,
        signing: OtlpSigning,
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
        Ok(Self {
            client,
            uri,
            headers: otlp.headers.0.clone(),
            gzip: (otlp.compression == Compression::Gzip).then(|| Gzip::new(6)),
            last_body_len: AtomicUsize::new(0),
            #[cfg(feature = "xray")]
            signer,
        })
    }

    /// One invocation's request body, `encode` writing its `ExportTraceServiceRequest`
    /// into a buffer and returning where it starts there. Gzipped, it is encoded into the
    /// reused `buffer` and compressed into a buffer of its own; uncompressed, it is encoded
    /// into a buffer of its own that becomes the body without a copy.
    pub(crate) fn body(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> usize,
        buffer: &Reused<Vec<u8>>,
    ) -> Result<Bytes, String> {
        match &self.gzip {
            Some(gzip) => buffer.with(|buf| {
                let start = encode(buf);
                let mut body = Vec::new();
                gzip.append(&buf[start..], &mut body)
                    .map_err(|e| format!("cannot gzip the request: {e}"))?;
                Ok(Bytes::from(body))
            }),
            None => {
                let mut body = Vec::with_capacity(self.last_body_len.load(Ordering::Relaxed));
                let start = encode(&mut body);
                self.last_body_len.store(body.len(), Ordering::Relaxed);
                Ok(Bytes::from(body).slice(start..))
            }
        }
    }

    /// Sends one request body made by [`OtlpHttp::body`]; an answer other than 2xx is an
    /// error.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), String> {
        let mut request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        if self.gzip.is_some() {
            request = request.header(http::header::CONTENT_ENCODING, "gzip");
        }
        #[cfg(feature = "xray")]
        let signed_body = body.clone();
        let mut request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        // Last, over the final headers and the exact body bytes: the signature covers what
        // is sent.
        #[cfg(feature = "xray")]
        if let Some(signer) = &self.signer {
            signer.sign(&mut request, &signed_body)?;
        }
        let response = self
            .client
            .request(request)?
            .await
            .map_err(|e| with_causes(&e))?;
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

/// `error` and its sources, `: `-separated: a client's own message ("client error
/// (Connect)") says nothing of the refused connection or the failed handshake under it.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    for cause in std::iter::successors(error.source(), |e| e.source()).take(16) {
        let cause = cause.to_string();
        // Clients often repeat their source's message in their own.
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_gzipped_body_decodes_and_a_plain_one_is_the_encoded_request() {
        let request = b"an ExportTraceServiceRequest".repeat(50);
        let encode = |buf: &mut Vec<u8>| {
            buf.clear();
            buf.extend_from_slice(b"room");
            buf.extend_from_slice(&request);
            4
        };
        let buffer = Reused::new(Vec::new, crate::export::reuse::oversized_buffer);
        let plain = OtlpHttp::build(None, &OtlpEnv::default(), OtlpSigning::Off).expect("http");
        let body = plain.body(encode, &buffer).expect("plain");
        assert_eq!(&body[..], &request[..]);
        assert_eq!(
            plain.last_body_len.load(Ordering::Relaxed),
            request.len() + 4
        );
        let otlp = OtlpEnv {
            compression: Compression::Gzip,
            ..OtlpEnv::default()
        };
        let zipped = OtlpHttp::build(None, &otlp, OtlpSigning::Off).expect("http");
        let body = zipped.body(encode, &buffer).expect("gzip");
        assert!(body.len() < request.len());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        assert_eq!(out, request);
    }

    #[test]
    fn an_error_is_told_with_its_causes() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        #[derive(Debug)]
        struct Connect(std::io::Error);
        impl std::fmt::Display for Connect {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Connect {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            with_causes(&Connect(refused)),
            "client error (Connect): refused"
        );
    }

    #[test]
    fn the_code_endpoint_wins_over_the_environment() {
        let otlp = OtlpEnv {
            traces_endpoint: Some("http://env:4318/custom/traces".to_owned()),
            ..OtlpEnv::default()
        };
        let build = |endpoint, otlp| OtlpHttp::build(endpoint, otlp, OtlpSigning::Off);
        let from_code = build(Some("http://code:4318/"), &otlp).expect("http");
        assert_eq!(from_code.uri, "http://code:4318/v1/traces");
        let from_env = build(None, &otlp).expect("http");
        assert_eq!(from_env.uri, "http://env:4318/custom/traces");
        let empty = OtlpEnv::default();
        let default = build(None, &empty).expect("http");
        assert_eq!(default.uri, "http://localhost:4318/v1/traces");
        // HTTPS comes with the `xray` feature.
        assert_eq!(
            build(Some("https://vendor.example"), &otlp).is_ok(),
            cfg!(feature = "xray")
        );
    }
}
