//! The connections OTLP/HTTP requests go over: plain HTTP/1.1, and with the `xray` feature
//! HTTPS too (rustls with its `ring` provider and the system's root certificates), as AWS
//! X-Ray's endpoint needs. The certificates are loaded at the first HTTPS export, after a
//! response, not at cold start.

use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use hyper_util::client::legacy::{Client, ResponseFuture, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;

#[cfg(feature = "xray")]
type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTP/1.1 client for one endpoint's scheme.
pub(crate) enum Transport {
    Http(Client<HttpConnector, Full<Bytes>>),
    /// Built on first use; an error (no root certificates) is kept and returned each time.
    #[cfg(feature = "xray")]
    Https(std::sync::OnceLock<Result<HttpsClient, String>>),
}

impl Transport {
    /// The client for `uri`'s scheme. Makes no network call and reads no file.
    pub(crate) fn for_uri(uri: &Uri) -> Result<Self, String> {
        match uri.scheme_str() {
            Some("http") => Ok(Self::Http(
                Client::builder(TokioExecutor::new()).build_http(),
            )),
            #[cfg(feature = "xray")]
            Some("https") => Ok(Self::Https(std::sync::OnceLock::new())),
            #[cfg(not(feature = "xray"))]
            Some("https") => Err(format!(
                "OTLP endpoint {uri} is https://, which the built-in client speaks with the `xray` \
                 feature of serverless_sdk only; enable it, or use a collector or extension on localhost"
            )),
            _ => Err(format!(
                "OTLP endpoint {uri} is neither http:// nor https://"
            )),
        }
    }

    /// Sends `request`.
    pub(crate) fn request(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<ResponseFuture, String> {
        match self {
            Self::Http(client) => Ok(client.request(request)),
            #[cfg(feature = "xray")]
            Self::Https(client) => {
                let client = client
                    .get_or_init(https_client)
                    .as_ref()
                    .map_err(Clone::clone)?;
                Ok(client.request(request))
            }
        }
    }
}

/// An HTTPS-only client trusting the system's root certificates.
#[cfg(feature = "xray")]
fn https_client() -> Result<HttpsClient, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| format!("cannot load the system's root certificates for HTTPS: {e}"))?
        .https_only()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_and_with_the_xray_feature_https() {
        let http: Uri = "http://127.0.0.1:4318/v1/traces"
            .parse()
            .unwrap_or_default();
        assert!(matches!(Transport::for_uri(&http), Ok(Transport::Http(_))));
        let https: Uri = "https://xray.us-east-1.amazonaws.com/v1/traces"
            .parse()
            .unwrap_or_default();
        assert_eq!(Transport::for_uri(&https).is_ok(), cfg!(feature = "xray"));
        let other: Uri = "ftp://example.com/".parse().unwrap_or_default();
        assert!(Transport::for_uri(&other).is_err());
    }

    /// The HTTPS client builds with the `ring` provider whatever other rustls providers the
    /// build has, from the system's roots (where the system has a bundle).
    #[cfg(feature = "xray")]
    #[test]
    fn the_https_client_builds_from_the_system_roots() {
        if std::path::Path::new("/etc/ssl/certs").is_dir() {
            assert!(https_client().is_ok(), "{:?}", https_client().err());
        }
    }
}
