//! The OpenTelemetry SDK variables that apply to a traces exporter, parsed as the
//! OpenTelemetry specification says: the OTLP exporter's endpoint, headers, compression
//! and timeout (each `…_TRACES_…` form before the generic one), `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_SDK_DISABLED`, `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
//!
//! Every reader takes the list of warnings that the configuration reports once, on stderr,
//! when it is installed: one line per malformed variable, naming it and the fallback. A
//! header's value is a secret (an API key, a bearer token): no line ever prints one.

use std::{env, fmt, time::Duration};

use http::{HeaderName, HeaderValue};
use opentelemetry_sdk::trace::{Sampler, ShouldSample};
use percent_encoding::percent_decode_str;

/// How OTLP/HTTP request bodies are compressed (`OTEL_EXPORTER_OTLP_COMPRESSION`).
///
/// ```
/// use serverless_sdk::{Config, config::Compression};
///
/// let config = Config::from_env().with_otlp_compression(Compression::Gzip);
/// assert_eq!(config.otlp_compression(), Compression::Gzip);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Sent as is (`none`, the default).
    #[default]
    None,
    /// Gzipped, with `Content-Encoding: gzip` (`gzip`).
    Gzip,
}

/// The headers sent with every OTLP/HTTP request. Their values are never printed: the
/// `Debug` form shows the names only.
#[derive(Clone, Default)]
pub(crate) struct OtlpHeaders(pub(crate) Vec<(HeaderName, HeaderValue)>);

impl OtlpHeaders {
    /// Adds `name: value`, replacing an earlier header of that name.
    pub(crate) fn set(&mut self, name: HeaderName, mut value: HeaderValue) {
        value.set_sensitive(true);
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value));
    }
}

impl fmt::Debug for OtlpHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name.as_str(), "<redacted>")))
            .finish()
    }
}

/// What the environment says about the OTLP/HTTP exporter.
#[derive(Clone, Debug, Default)]
pub(crate) struct OtlpEnv {
    /// The full traces URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) traces_endpoint: Option<String>,
    pub(crate) headers: OtlpHeaders,
    pub(crate) compression: Compression,
}

/// A variable's value, `None` when unset or blank.
fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The first of `names` that is set, with its name.
fn first_set(names: [&'static str; 2]) -> Option<(&'static str, String)> {
    names
        .into_iter()
        .find_map(|name| var(name).map(|value| (name, value)))
}

/// `endpoint` + `path`, without a doubled slash.
pub(crate) fn join(endpoint: &str, path: &str) -> String {
    format!("{}{path}", endpoint.trim().trim_end_matches('/'))
}

/// Reads the OTLP exporter's variables.
pub(crate) fn read_otlp(warnings: &mut Vec<String>) -> OtlpEnv {
    let traces_endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .map(|e| e.trim().to_owned())
        .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT").map(|e| join(&e, "/v1/traces")));
    let protocol = first_set([
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]);
    if let Some((name, protocol)) = protocol.filter(|(_, p)| p.trim() != "http/protobuf") {
        warnings.push(format!(
            "{name}={protocol:?} is not built in (use http/protobuf); using http/protobuf"
        ));
    }
    let mut headers = OtlpHeaders::default();
    // The traces-specific variable last, so that its headers win, key by key.
    for name in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        if let Some(value) = var(name) {
            parse_headers(name, &value, &mut headers, warnings);
        }
    }
    let compression = match first_set([
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
    ]) {
        None => Compression::None,
        Some((name, value)) => match value.trim().to_ascii_lowercase().as_str() {
            "gzip" => Compression::Gzip,
            "none" => Compression::None,
            _ => {
                warnings.push(format!(
                    "{name}={value:?} is not supported (use gzip or none); sending uncompressed"
                ));
                Compression::None
            }
        },
    };
    OtlpEnv {
        traces_endpoint,
        headers,
        compression,
    }
}

/// The export timeout of `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT`
/// (milliseconds), if one is set and valid; `fallback` is what a malformed value leaves.
pub(crate) fn read_otlp_timeout(
    fallback: Duration,
    warnings: &mut Vec<String>,
) -> Option<Duration> {
    let (name, value) = first_set([
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ])?;
    match value.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Some(Duration::from_millis(ms)),
        _ => {
            warnings.push(format!(
                "{name}={value:?} is not a positive number of milliseconds; using {} ms",
                fallback.as_millis()
            ));
            None
        }
    }
}

/// Parses a `key=value,…` list as the OpenTelemetry specification writes it (W3C
/// baggage's format, values percent-decoded). Returns the entries, or for each entry that
/// does not parse, why, by position (never quoting it: it may hold a secret).
fn parse_list(value: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (i, entry) in value.split(',').enumerate() {
        let position = i + 1;
        if entry.trim().is_empty() {
            continue;
        }
        let Some((key, raw)) = entry.split_once('=') else {
            problems.push(format!("entry {position} is not key=value"));
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            problems.push(format!("entry {position} has no key"));
            continue;
        }
        match percent_decode_str(raw.trim()).decode_utf8() {
            Ok(decoded) => entries.push((key.to_owned(), decoded.into_owned())),
            Err(_) => problems.push(format!(
                "entry {position} is not UTF-8 once percent-decoded"
            )),
        }
    }
    (entries, problems)
}

/// Adds the headers of `value`, the value of the variable `name`, to `out`; a malformed
/// entry is left out and the variable reported once.
fn parse_headers(name: &str, value: &str, out: &mut OtlpHeaders, warnings: &mut Vec<String>) {
    let (entries, mut problems) = parse_list(value);
    for (key, value) in entries {
        match (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(header), Ok(value)) if !value.is_empty() => out.set(header, value),
            (Ok(_), Ok(_)) => problems.push(format!("{key:?} has an empty value")),
            (Ok(_), Err(_)) => problems.push(format!("{key:?} has a value not allowed in HTTP")),
            (Err(_), _) => {
                problems.push("an entry has a key that is not an HTTP header name".to_owned())
            }
        }
    }
    if !problems.is_empty() {
        warnings.push(format!(
            "{name}: {}; those headers are not sent, the others are (values are never printed)",
            problems.join(", ")
        ));
    }
}

/// Adds the header `name: value` set in code, or says why it cannot be sent.
pub(crate) fn header_from_code(
    name: &str,
    value: &str,
    out: &mut OtlpHeaders,
    warnings: &mut Vec<String>,
) {
    match (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        (Ok(header), Ok(value)) => out.set(header, value),
        _ => warnings.push(format!(
            "the OTLP header {name:?} set in code is not a valid HTTP header; it is not sent"
        )),
    }
}

/// The attributes of `OTEL_RESOURCE_ATTRIBUTES`, percent-decoded. As the specification
/// says, a value with any malformed entry is discarded whole (and reported).
pub(crate) fn read_resource_attributes(warnings: &mut Vec<String>) -> Vec<(String, String)> {
    let Some(value) = var("OTEL_RESOURCE_ATTRIBUTES") else {
        return Vec::new();
    };
    let (entries, problems) = parse_list(&value);
    if problems.is_empty() {
        entries
    } else {
        warnings.push(format!(
            "OTEL_RESOURCE_ATTRIBUTES: {} (use key=value,key2=value2, values percent-encoded); \
             no attribute of it is used",
            problems.join(", ")
        ));
        Vec::new()
    }
}

/// `OTEL_SDK_DISABLED`: `true` turns every export off.
pub(crate) fn read_sdk_disabled(warnings: &mut Vec<String>) -> bool {
    let Some(value) = var("OTEL_SDK_DISABLED") else {
        return false;
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        _ => {
            warnings.push(format!(
                "OTEL_SDK_DISABLED={value:?} is not true or false; the SDK stays enabled"
            ));
            false
        }
    }
}

/// The sampler of `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; `None` for
/// `always_on`, the default, which keeps every invocation.
pub(crate) fn read_sampler(warnings: &mut Vec<String>) -> Option<Box<dyn ShouldSample>> {
    let name = var("OTEL_TRACES_SAMPLER")?;
    let ratio = |warnings: &mut Vec<String>| -> f64 {
        let Some(arg) = var("OTEL_TRACES_SAMPLER_ARG") else {
            return 1.0;
        };
        match arg.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                warnings.push(format!(
                    "OTEL_TRACES_SAMPLER_ARG={arg:?} is not a ratio between 0 and 1; using 1.0"
                ));
                1.0
            }
        }
    };
    let sampler = match name.trim().to_ascii_lowercase().as_str() {
        "always_on" => return None,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio(warnings)),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio(warnings))))
        }
        _ => {
            warnings.push(format!(
                "OTEL_TRACES_SAMPLER={name:?} is not supported (use always_on, always_off, \
                 traceidratio, parentbased_always_on, parentbased_always_off or \
                 parentbased_traceidratio); using always_on"
            ));
            return None;
        }
    };
    Some(Box::new(sampler))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_split_trimmed_and_percent_decoded() {
        let (entries, problems) = parse_list("api-key=abc%20def, x-team = core ,,k=a%2Cb");
        assert_eq!(
            entries,
            [
                ("api-key".to_owned(), "abc def".to_owned()),
                ("x-team".to_owned(), "core".to_owned()),
                ("k".to_owned(), "a,b".to_owned()),
            ]
        );
        assert!(problems.is_empty(), "{problems:?}");
        let (entries, problems) = parse_list("ok=1,secret-without-equals,=novalue,bad=%FF");
        assert_eq!(entries, [("ok".to_owned(), "1".to_owned())]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        let text = problems.join(" ");
        assert!(!text.contains("secret-without-equals") && !text.contains("novalue"));
    }

    #[test]
    fn traces_headers_win_key_by_key_and_values_never_print() {
        let mut headers = OtlpHeaders::default();
        let mut warnings = Vec::new();
        parse_headers("G", "a=1,b=2", &mut headers, &mut warnings);
        parse_headers("T", "b=3,bad key=s3cr3t,c=", &mut headers, &mut warnings);
        let pairs: Vec<(&str, &str)> = headers
            .0
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap_or_default()))
            .collect();
        assert_eq!(pairs, [("a", "1"), ("b", "3")]);
        assert_eq!(warnings.len(), 1, "one line for the variable: {warnings:?}");
        assert!(warnings[0].starts_with("T: "), "{warnings:?}");
        assert!(!warnings[0].contains("s3cr3t"), "{warnings:?}");
        let debug = format!("{headers:?}");
        assert!(debug.contains("\"b\"") && !debug.contains('3'), "{debug}");
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
    }
}
