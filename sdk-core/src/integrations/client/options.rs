//! Which hosts get CLIENT spans and how trace context is propagated: the options every
//! client integration shares.

/// The constructors and option setters shared by [`HttpClientLayer`] and
/// [`HttpClientMiddleware`]: both are a set of [`ClientOptions`].
macro_rules! client_options_builders {
    ($ty:ident) => {
        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $ty {
            /// Configured from the environment ([`ClientOptions::from_env`]).
            ///
            /// ```
            #[doc = concat!("let x = serverless_sdk::integrations::client::", stringify!($ty), "::new();")]
            /// # let _ = x;
            /// ```
            #[must_use]
            pub fn new() -> Self {
                Self::with_options(crate::integrations::client::ClientOptions::from_env())
            }

            /// With explicit options.
            ///
            /// ```
            /// use serverless_sdk::integrations::client::ClientOptions;
            ///
            #[doc = concat!("let x = serverless_sdk::integrations::client::", stringify!($ty), "::with_options(")]
            ///     ClientOptions::default().ignore_hosts(["169.254.169.254"]).propagate_xray(true),
            /// );
            /// assert!(x.options().propagates_xray());
            /// ```
            #[must_use]
            pub fn with_options(options: crate::integrations::client::ClientOptions) -> Self {
                Self { options }
            }

            /// Adds hosts that get no span and no trace headers
            /// ([`ClientOptions::ignore_hosts`]).
            ///
            /// ```
            #[doc = concat!("let x = serverless_sdk::integrations::client::", stringify!($ty), "::new().ignore_hosts([\"localhost\"]);")]
            /// assert!(!x.options().traces("localhost", 80));
            /// ```
            #[must_use]
            pub fn ignore_hosts<I, S>(mut self, hosts: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                self.options = self.options.ignore_hosts(hosts);
                self
            }

            /// Traces only these hosts ([`ClientOptions::capture_hosts`]).
            ///
            /// ```
            #[doc = concat!("let x = serverless_sdk::integrations::client::", stringify!($ty), "::new().capture_hosts([\"*.example.com\"]);")]
            /// assert!(x.options().traces("api.example.com", 443));
            /// assert!(!x.options().traces("example.org", 443));
            /// ```
            #[must_use]
            pub fn capture_hosts<I, S>(mut self, hosts: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                self.options = self.options.capture_hosts(hosts);
                self
            }

            /// Also sends `X-Amzn-Trace-Id` ([`ClientOptions::propagate_xray`]).
            ///
            /// ```
            #[doc = concat!("let x = serverless_sdk::integrations::client::", stringify!($ty), "::new().propagate_xray(true);")]
            /// assert!(x.options().propagates_xray());
            /// ```
            #[must_use]
            pub fn propagate_xray(mut self, enabled: bool) -> Self {
                self.options = self.options.propagate_xray(enabled);
                self
            }

            /// The options in use.
            ///
            /// ```
            #[doc = concat!("let x = serverless_sdk::integrations::client::", stringify!($ty), "::with_options(Default::default());")]
            /// assert!(x.options().traces("example.com", 443));
            /// ```
            #[must_use]
            pub fn options(&self) -> &crate::integrations::client::ClientOptions {
                &self.options
            }
        }
    };
}
pub(crate) use client_options_builders;

use std::{env, fmt};

use crate::internal_error;

/// Which hosts get CLIENT spans and how trace context is propagated; shared by the HTTP
/// integrations ([`HttpClientLayer`](super::HttpClientLayer), `HttpClientMiddleware`). The AWS SDK interceptor reads
/// only [`propagate_xray`](Self::propagate_xray).
///
/// A host is traced unless it matches an ignored entry, and, when a capture list is set,
/// only if it matches one of its entries.
///
/// ```
/// use serverless_sdk::integrations::client::ClientOptions;
///
/// let options = ClientOptions::default()
///     .ignore_hosts(["*.internal.example.com", "localhost:9000"])
///     .capture_hosts(["api.example.com", "*.internal.example.com", "localhost"]);
/// assert!(options.traces("api.example.com", 443));
/// assert!(!options.traces("db.internal.example.com", 443));
/// assert!(!options.traces("localhost", 9000));
/// assert!(options.traces("localhost", 8080));
/// assert!(!options.traces("other.example.org", 443));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    ignore_hosts: Vec<HostPattern>,
    capture_hosts: Option<Vec<HostPattern>>,
    propagate_xray: bool,
}

impl ClientOptions {
    /// Reads `SERVERLESS_SDK_IGNORE_HOSTS`, `SERVERLESS_SDK_CAPTURE_HOSTS` and
    /// `SERVERLESS_SDK_PROPAGATE_XRAY`. [`ClientOptions::default`] reads nothing: every host
    /// traced, W3C propagation only.
    ///
    /// ```
    /// let options = serverless_sdk::integrations::client::ClientOptions::from_env();
    /// # let _ = options;
    /// ```
    ///
    /// A value that does not parse (a host entry that names no host, a flag that is neither
    /// true nor false) is reported in one line on stderr and left out.
    #[must_use]
    pub fn from_env() -> Self {
        let mut warnings = Vec::new();
        let options = Self::from_vars(|name| env::var(name).ok(), &mut warnings);
        for warning in &warnings {
            internal_error::report("config", warning);
        }
        options
    }

    /// [`ClientOptions::from_env`] over `var`, each value that does not parse named in
    /// `warnings`.
    fn from_vars(var: impl Fn(&str) -> Option<String>, warnings: &mut Vec<String>) -> Self {
        let mut list = |name: &str| {
            var(name).map(|v| {
                let entries: Vec<&str> = v.split(',').collect();
                let mut patterns = Vec::with_capacity(entries.len());
                for (at, entry) in entries.iter().enumerate() {
                    match HostPattern::parse(entry) {
                        Some(pattern) => patterns.push(pattern),
                        // The entry itself is not echoed: it may be a URL with credentials.
                        None if !entry.trim().is_empty() => warnings.push(format!(
                            "{name}: entry {} of {} names no host (use host, host:port or *.domain); ignored",
                            at + 1,
                            entries.len()
                        )),
                        None => {}
                    }
                }
                patterns
            })
        };
        let ignore_hosts = list("SERVERLESS_SDK_IGNORE_HOSTS").unwrap_or_default();
        let capture_hosts = list("SERVERLESS_SDK_CAPTURE_HOSTS").filter(|l| !l.is_empty());
        let propagate_xray = flag(var("SERVERLESS_SDK_PROPAGATE_XRAY"), warnings);
        Self {
            ignore_hosts,
            capture_hosts,
            propagate_xray,
        }
    }

    /// Adds hosts that get no span and no trace headers.
    ///
    /// ```
    /// let options = serverless_sdk::integrations::client::ClientOptions::default().ignore_hosts(["localhost"]);
    /// assert!(!options.traces("localhost", 80));
    /// ```
    #[must_use]
    pub fn ignore_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.ignore_hosts.extend(
            hosts
                .into_iter()
                .filter_map(|h| HostPattern::parse(h.as_ref())),
        );
        self
    }

    /// Adds hosts to the capture list: once it holds any entry, only the hosts it matches
    /// are traced (ignored hosts stay ignored).
    ///
    /// ```
    /// let options = serverless_sdk::integrations::client::ClientOptions::default().capture_hosts(["*.example.com"]);
    /// assert!(options.traces("api.example.com", 443));
    /// assert!(!options.traces("example.org", 443));
    /// ```
    #[must_use]
    pub fn capture_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let added: Vec<HostPattern> = hosts
            .into_iter()
            .filter_map(|h| HostPattern::parse(h.as_ref()))
            .collect();
        if !added.is_empty() {
            self.capture_hosts
                .get_or_insert_with(Vec::new)
                .extend(added);
        }
        self
    }

    /// Also sends the X-Ray `X-Amzn-Trace-Id` header (what AWS services and X-Ray read), next
    /// to W3C `traceparent`.
    ///
    /// ```
    /// let options = serverless_sdk::integrations::client::ClientOptions::default().propagate_xray(true);
    /// assert!(options.propagates_xray());
    /// ```
    #[must_use]
    pub fn propagate_xray(mut self, enabled: bool) -> Self {
        self.propagate_xray = enabled;
        self
    }

    /// Whether calls carry `X-Amzn-Trace-Id`.
    ///
    /// ```
    /// assert!(!serverless_sdk::integrations::client::ClientOptions::default().propagates_xray());
    /// ```
    #[must_use]
    pub fn propagates_xray(&self) -> bool {
        self.propagate_xray
    }

    /// Whether a call to `host` on `port` gets a span and trace headers. `host` is compared
    /// case-insensitively; IPv6 addresses may be given with or without brackets.
    ///
    /// ```
    /// let options = serverless_sdk::integrations::client::ClientOptions::default().ignore_hosts(["[::1]"]);
    /// assert!(!options.traces("::1", 8080));
    /// assert!(options.traces("127.0.0.1", 8080));
    /// ```
    #[must_use]
    pub fn traces(&self, host: &str, port: u16) -> bool {
        let host = normalize_host(host);
        if self.ignore_hosts.iter().any(|p| p.matches(&host, port)) {
            return false;
        }
        match &self.capture_hosts {
            Some(capture) => capture.iter().any(|p| p.matches(&host, port)),
            None => true,
        }
    }
}

/// `SERVERLESS_SDK_PROPAGATE_XRAY`: false when unset, empty or not a truth value.
fn flag(value: Option<String>, warnings: &mut Vec<String>) -> bool {
    let Some(value) = value else { return false };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => true,
        "" | "0" | "false" | "no" | "off" => false,
        _ => {
            warnings.push(format!(
                "SERVERLESS_SDK_PROPAGATE_XRAY={value:?} is neither true nor false; using false"
            ));
            false
        }
    }
}

/// Lower case, without IPv6 brackets or a trailing dot.
fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// One entry of a host list.
#[derive(Clone, PartialEq, Eq)]
struct HostPattern {
    host: String,
    /// `*.example.com`: the domain and its subdomains.
    wildcard: bool,
    port: Option<u16>,
}

impl fmt::Debug for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl HostPattern {
    /// Parses `host`, `host:port`, `*.domain`, `.domain`, `[v6]:port`, or a URL whose
    /// authority is taken. Empty entries give `None`.
    fn parse(entry: &str) -> Option<Self> {
        let mut s = entry.trim();
        if let Some((_, rest)) = s.split_once("://") {
            s = rest;
        }
        s = s.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((_, rest)) = s.rsplit_once('@') {
            s = rest;
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            (inside, port)
        } else {
            match s.rsplit_once(':') {
                // One colon: host:port. More: a bare IPv6 address.
                Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
                _ => (s, None),
            }
        };
        let (host, wildcard) = match host.strip_prefix("*.").or_else(|| host.strip_prefix('.')) {
            Some(domain) => (domain, true),
            None => (host, false),
        };
        let host = normalize_host(host);
        (!host.is_empty()).then_some(Self {
            host,
            wildcard,
            port,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        host == self.host
            || (self.wildcard
                && host.len() > self.host.len()
                && host.ends_with(self.host.as_str())
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.')
    }
}

/// Marks a request sent by the AWS SDK on behalf of an operation the interceptor already
/// reports, so the HTTP integrations do not report it a second time.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "aws-sdk"), allow(dead_code))]
pub(crate) struct AwsSdkRequest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_entries() {
        let p = |s: &str| HostPattern::parse(s).map(|p| format!("{p:?}"));
        assert_eq!(p(" API.Example.com "), Some("api.example.com".into()));
        assert_eq!(p("localhost:8080"), Some("localhost:8080".into()));
        assert_eq!(p("*.example.com"), Some("*.example.com".into()));
        assert_eq!(p(".example.com"), Some("*.example.com".into()));
        assert_eq!(p("[::1]:9000"), Some("::1:9000".into()));
        assert_eq!(p("::1"), Some("::1".into()));
        assert_eq!(
            p("https://user:pw@api.example.com:8443/path?q=1"),
            Some("api.example.com:8443".into())
        );
        assert_eq!(p(""), None);
        assert_eq!(p("  "), None);
    }

    #[test]
    fn values_that_do_not_parse_are_named_and_left_out() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let mut warnings = Vec::new();
        let options = ClientOptions::from_vars(
            vars(&[
                (
                    "SERVERLESS_SDK_IGNORE_HOSTS",
                    "a.example.com,,[::1,https://u:pw@/",
                ),
                ("SERVERLESS_SDK_PROPAGATE_XRAY", "maybe"),
            ]),
            &mut warnings,
        );
        assert!(!options.traces("a.example.com", 443));
        assert!(options.traces("b.example.com", 443));
        assert!(!options.propagate_xray);
        assert_eq!(
            warnings,
            [
                "SERVERLESS_SDK_IGNORE_HOSTS: entry 3 of 4 names no host (use host, host:port or *.domain); ignored",
                "SERVERLESS_SDK_IGNORE_HOSTS: entry 4 of 4 names no host (use host, host:port or *.domain); ignored",
                "SERVERLESS_SDK_PROPAGATE_XRAY=\"maybe\" is neither true nor false; using false",
            ]
        );
        assert!(
            !warnings.iter().any(|w| w.contains("pw")),
            "no credentials echoed"
        );

        let mut warnings = Vec::new();
        for (value, on) in [
            ("TRUE", true),
            (" on ", true),
            ("1", true),
            ("off", false),
            ("", false),
        ] {
            let options = ClientOptions::from_vars(
                |name: &str| (name == "SERVERLESS_SDK_PROPAGATE_XRAY").then(|| value.to_owned()),
                &mut warnings,
            );
            assert_eq!(options.propagate_xray, on, "{value:?}");
        }
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn ignore_wins_over_capture() {
        let options = ClientOptions::default()
            .capture_hosts(["*.example.com"])
            .ignore_hosts(["secret.example.com"]);
        assert!(options.traces("a.example.com", 443));
        assert!(options.traces("example.com", 443));
        assert!(options.traces("A.EXAMPLE.COM.", 443));
        assert!(!options.traces("secret.example.com", 443));
        assert!(!options.traces("badexample.com", 443));
        assert!(!options.traces("example.org", 443));
    }

    #[test]
    fn empty_lists_trace_everything() {
        let options = ClientOptions::default()
            .capture_hosts([""])
            .ignore_hosts([","]);
        assert!(options.traces("anything", 1));
    }
}
