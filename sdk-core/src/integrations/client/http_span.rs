//! What the HTTP integrations share: the span of one request, its attributes, the trace
//! headers it sends, and how failures are named.

use std::{borrow::Cow, error::Error};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::KeyValue;

use super::options::ClientOptions;
use crate::{
    config::Settings,
    record::{redact, span::ClientSpan},
};

pub(crate) const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// Where a request goes, with nothing secret in it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// Lower case; IPv6 addresses keep their brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Scheme, host, explicit port and path: no userinfo, query string or fragment.
    pub(crate) url_full: String,
}

impl Target {
    /// From a request URI; a relative URI takes its host from the `Host` header.
    pub(crate) fn from_uri(uri: &http::Uri, headers: &HeaderMap) -> Option<Self> {
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let default_port = if scheme == "https" || scheme == "wss" {
            443
        } else {
            80
        };
        let (host, explicit_port) = match uri.host() {
            Some(host) => (host.to_owned(), uri.port_u16()),
            None => {
                let value = headers.get(http::header::HOST)?.to_str().ok()?;
                let authority: http::uri::Authority = value.parse().ok()?;
                (authority.host().to_owned(), authority.port_u16())
            }
        };
        let host = host.to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        let port_part = explicit_port.map(|p| format!(":{p}")).unwrap_or_default();
        Some(Self {
            url_full: format!("{scheme}://{host}{port_part}{}", uri.path()),
            port: explicit_port.unwrap_or(default_port),
            host,
        })
    }
}

/// The CLIENT span of one HTTP request.
pub(crate) struct HttpCall {
    span: ClientSpan,
}

impl HttpCall {
    /// Starts the span of a request to `target`: `None` for an excluded host or outside an
    /// invocation (nothing recorded, nothing injected).
    pub(crate) fn start(options: &ClientOptions, method: &str, target: &Target) -> Option<Self> {
        if !options.traces(&target.host, target.port) {
            return None;
        }
        let span = ClientSpan::start(format!("{method} {}", target.host));
        if !span.is_recording() {
            return None;
        }
        let url_full = redact_path(&target.url_full, span.settings());
        span.set_attribute(KeyValue::new("http.request.method", method.to_owned()));
        span.set_attribute(KeyValue::new(
            "server.address",
            target
                .host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        ));
        span.set_attribute(KeyValue::new("server.port", i64::from(target.port)));
        span.set_attribute(KeyValue::new("url.full", url_full));
        Some(Self { span })
    }

    /// Puts `traceparent` (and `X-Amzn-Trace-Id` when asked) on the outgoing request,
    /// replacing what was there.
    pub(crate) fn inject(&self, options: &ClientOptions, headers: &mut HeaderMap) {
        if let Some(value) = self
            .span
            .traceparent()
            .and_then(|v| HeaderValue::try_from(v).ok())
        {
            headers.insert(TRACEPARENT, value);
        }
        if options.propagates_xray()
            && let Some(value) = self
                .span
                .xray_header()
                .and_then(|v| HeaderValue::try_from(v).ok())
        {
            headers.insert(X_AMZN_TRACE_ID, value);
        }
    }

    /// Ends the span with the response status; 400 and above are failures.
    pub(crate) fn finish_status(self, status: u16) {
        self.span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
        if status >= 400 {
            self.span.set_error(status.to_string());
        }
        self.span.end();
    }

    /// Ends the span of a request that got no response.
    pub(crate) fn finish_error(self, error_type: String) {
        self.span.set_error(error_type);
        self.span.end();
    }
}

/// Masks `key=value` secrets in the path of a URL (`/reset/token=…`); the scheme, host and
/// port are left alone (`http://token-service:8080` is not a secret).
fn redact_path(url: &str, settings: &Settings) -> String {
    let path_start = url
        .find("://")
        .map(|i| i + 3)
        .and_then(|authority| url[authority..].find('/').map(|p| authority + p))
        .unwrap_or(url.len());
    let (origin, path) = url.split_at(path_start);
    match redact::redact_text(path, settings) {
        Cow::Borrowed(_) => url.to_owned(),
        Cow::Owned(masked) => format!("{origin}{masked}"),
    }
}

/// The low-cardinality name of a transport failure: `timeout`, or the kind of the I/O error
/// underneath (`ConnectionRefused`, `ConnectionReset`, …), else `None`.
pub(crate) fn transport_error_kind(error: &(dyn Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(match io.kind() {
                std::io::ErrorKind::TimedOut => "timeout".to_owned(),
                kind => format!("{kind:?}"),
            });
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(uri: &str) -> Option<Target> {
        Target::from_uri(&uri.parse().expect("uri"), &HeaderMap::new())
    }

    #[test]
    fn targets_drop_userinfo_query_and_fragment() {
        let t = target("https://user:pass@API.example.com/v1/items?X-Amz-Signature=abc#frag")
            .expect("target");
        assert_eq!(t.host, "api.example.com");
        assert_eq!(t.port, 443);
        assert_eq!(t.url_full, "https://api.example.com/v1/items");
        let t = target("http://127.0.0.1:8080/ok").expect("target");
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        assert_eq!(t.url_full, "http://127.0.0.1:8080/ok");
        let t = target("http://[::1]:9000/").expect("target");
        assert_eq!((t.host.as_str(), t.port), ("[::1]", 9000));
    }

    #[test]
    fn only_paths_are_redacted() {
        assert_eq!(
            redact_path("http://token-service:8080/verify", &Settings::default()),
            "http://token-service:8080/verify"
        );
        assert_eq!(
            redact_path(
                "https://api.example.com/reset/token=abc123/next",
                &Settings::default()
            ),
            format!(
                "https://api.example.com/reset/token={}",
                crate::record::redact::MASK
            )
        );
        assert_eq!(
            redact_path("http://secret-host:81", &Settings::default()),
            "http://secret-host:81"
        );
    }

    #[test]
    fn relative_uris_use_the_host_header() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_static("svc.local:81"));
        let t = Target::from_uri(&"/a?b=c".parse().expect("uri"), &headers).expect("target");
        assert_eq!(t.url_full, "http://svc.local:81/a");
        assert_eq!(
            Target::from_uri(&"/a".parse().expect("uri"), &HeaderMap::new()),
            None
        );
    }

    #[test]
    fn names_io_failures_by_kind() {
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connect failed")
            }
        }
        impl Error for Wrapper {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused = Wrapper(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(
            transport_error_kind(&refused).as_deref(),
            Some("ConnectionRefused")
        );
        let timeout = Wrapper(std::io::ErrorKind::TimedOut.into());
        assert_eq!(transport_error_kind(&timeout).as_deref(), Some("timeout"));
        let fmt_error = std::fmt::Error;
        assert_eq!(transport_error_kind(&fmt_error), None);
    }
}
