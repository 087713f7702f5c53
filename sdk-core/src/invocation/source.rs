//! What an event says about its invocation, read from the raw payload before the handler
//! deserialises it: which kind of source sent it, the trace it continues, and for HTTP
//! events the method, path and route template.
//!
//! This is the SDK's one reader of raw events. Facades whose handlers receive a typed
//! request (`lambda_http::Request`) describe it with the same [`EventSource`].

use std::{borrow::Cow, fmt};

use opentelemetry::{
    KeyValue,
    trace::{Link, SpanKind},
};
use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, Visitor},
};

use super::trace_context::TraceParent;

/// The event source of an invocation, as in OpenTelemetry's `faas.trigger`.
///
/// ```
/// use serverless_sdk::export::TriggerKind;
/// assert_eq!(TriggerKind::PubSub.as_str(), "pubsub");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TriggerKind {
    /// API Gateway, ALB, Function URLs.
    Http,
    /// SQS, SNS, EventBridge and other messaging sources.
    PubSub,
    /// S3, DynamoDB streams and other data sources.
    Datasource,
    /// Scheduled events.
    Timer,
    /// Anything else, including direct invocations.
    Other,
}

impl TriggerKind {
    /// The `faas.trigger` value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::PubSub => "pubsub",
            Self::Datasource => "datasource",
            Self::Timer => "timer",
            Self::Other => "other",
        }
    }
}

/// What an event says about its invocation.
#[derive(Debug)]
pub struct EventSource<'a> {
    pub(crate) trigger: TriggerKind,
    pub(crate) kind: SpanKind,
    /// A root span name that says what happened, when the event tells it.
    pub(crate) name: Option<Cow<'static, str>>,
    /// The source's own attributes for the root span.
    pub(crate) attributes: Vec<KeyValue>,
    /// The trace the invocation continues, when the event carries one.
    pub(crate) parent: Option<TraceParent>,
    /// Traces the invocation is linked to (the producers of a batch's records).
    pub(crate) links: Vec<Link>,
    pub(crate) http: Option<HttpRequest<'a>>,
}

impl Default for EventSource<'_> {
    fn default() -> Self {
        Self {
            trigger: TriggerKind::Other,
            kind: SpanKind::Server,
            name: None,
            attributes: Vec::new(),
            parent: None,
            links: Vec::new(),
            http: None,
        }
    }
}

/// What an HTTP event says about its request.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest<'a> {
    pub(crate) method: Cow<'a, str>,
    pub(crate) path: Cow<'a, str>,
    /// The route template the event carries (API Gateway `resource`, `routeKey`), with its
    /// method when the template names one.
    pub(crate) route: Option<(Option<Cow<'a, str>>, Cow<'a, str>)>,
}

impl<'a> EventSource<'a> {
    /// An HTTP request (API Gateway, ALB, Function URL): a SERVER span continuing the
    /// request's W3C `traceparent`, when it has one.
    #[must_use]
    pub fn http(
        method: &'a str,
        path: &'a str,
        route: Option<(Option<&'a str>, &'a str)>,
        traceparent: Option<&str>,
    ) -> Self {
        Self {
            trigger: TriggerKind::Http,
            kind: SpanKind::Server,
            parent: traceparent.and_then(TraceParent::from_w3c),
            http: Some(HttpRequest {
                method: Cow::Borrowed(method),
                path: Cow::Borrowed(path),
                route: route.map(|(m, p)| (m.map(Cow::Borrowed), Cow::Borrowed(p))),
            }),
            ..Self::default()
        }
    }

    /// The kind of source.
    #[must_use]
    pub fn trigger(&self) -> TriggerKind {
        self.trigger
    }

    /// What this source says about its HTTP request, if it is one.
    pub(crate) fn http_request(&self) -> Option<&HttpRequest<'a>> {
        self.http.as_ref()
    }
}

/// Why a payload is not an event at all.
#[derive(Debug)]
pub(crate) enum BadPayload {
    Empty,
    NotUtf8(std::str::Utf8Error),
    NotJson(serde_json::Error),
}

impl fmt::Display for BadPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the event is empty; Lambda events are JSON"),
            Self::NotUtf8(e) => write!(f, "the event is not UTF-8 ({e}); Lambda events are JSON"),
            Self::NotJson(e) => write!(f, "the event is not JSON: {e}"),
        }
    }
}

/// Reads a raw event. A payload that is JSON but not an object of a known source is an
/// event of an unknown source (`faas.trigger = other`); one that is not JSON at all is a
/// [`BadPayload`].
pub(crate) fn read(payload: &[u8]) -> Result<EventSource<'_>, BadPayload> {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Err(BadPayload::Empty);
    };
    // Only objects are events of a known source (serde would also read a struct from an
    // array); anything else only has to be JSON.
    let probe = if *first == b'{' {
        serde_json::from_slice::<Probe<'_>>(payload).map(Some)
    } else {
        serde_json::from_slice::<IgnoredAny>(payload).map(|_| None)
    };
    match probe {
        Ok(Some(probe)) => Ok(probe.into_source()),
        Ok(None) => Ok(EventSource::default()),
        Err(e) => Err(match std::str::from_utf8(payload) {
            Err(utf8) => BadPayload::NotUtf8(utf8),
            Ok(_) => BadPayload::NotJson(e),
        }),
    }
}

/// The fields of the known event shapes that say where an event came from.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Probe<'a> {
    #[serde(rename = "Records")]
    records: Option<Vec<RecordProbe<'a>>>,
    #[serde(rename = "requestContext", borrow)]
    request_context: Option<RequestContextProbe<'a>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<Cow<'a, str>>,
    #[serde(rename = "httpMethod", borrow)]
    http_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(rename = "rawPath", borrow)]
    raw_path: Option<Cow<'a, str>>,
    #[serde(rename = "routeKey", borrow)]
    route_key: Option<Cow<'a, str>>,
    headers: Traceparent,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordProbe<'a> {
    #[serde(rename = "eventSource", alias = "EventSource", borrow)]
    event_source: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RequestContextProbe<'a> {
    #[serde(rename = "resourcePath", borrow)]
    resource_path: Option<Cow<'a, str>>,
    #[serde(rename = "httpMethod", borrow)]
    http_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    http: Option<HttpProbe<'a>>,
    #[serde(borrow)]
    stage: Option<Cow<'a, str>>,
    elb: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HttpProbe<'a> {
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
}

/// The `traceparent` value of a headers object, matched case-insensitively, without
/// collecting the other headers.
#[derive(Default)]
struct Traceparent(Option<String>);

impl<'de> Deserialize<'de> for Traceparent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Find;
        impl<'de> Visitor<'de> for Find {
            type Value = Traceparent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a headers object")
            }
            fn visit_unit<E>(self) -> Result<Traceparent, E> {
                Ok(Traceparent(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Traceparent, A::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if found.is_none() && key.eq_ignore_ascii_case("traceparent") {
                        found = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Traceparent(found))
            }
        }
        deserializer.deserialize_any(Find)
    }
}

/// Whether an API Gateway resource / route key is a real template rather than a catch-all.
fn is_real_template(path: &str) -> bool {
    path.starts_with('/') && !path.contains('+')
}

/// The request path as `lambda_http` presents it: API Gateway paths carry their stage,
/// unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set.
fn path_with_stage<'a>(stage: Option<&str>, path: Cow<'a, str>) -> Cow<'a, str> {
    match stage {
        None | Some("$default") => path,
        Some(_) if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() => path,
        Some(stage) if path.starts_with(&format!("/{stage}/")) => path,
        Some(stage) => Cow::Owned(format!("/{stage}{path}")),
    }
}

impl<'a> Probe<'a> {
    fn into_source(self) -> EventSource<'a> {
        if let Some(ctx) = self.request_context {
            return http_source(
                ctx,
                self.http_method,
                self.path,
                self.raw_path,
                self.route_key,
                self.headers,
            );
        }
        let trigger = match self.records.as_ref().and_then(|r| r.first()) {
            Some(record) => match record.event_source.as_deref() {
                Some("aws:sqs" | "aws:sns" | "aws:kinesis") => TriggerKind::PubSub,
                Some("aws:s3" | "aws:dynamodb") => TriggerKind::Datasource,
                _ => TriggerKind::Other,
            },
            None => match (self.source.as_deref(), self.detail_type.as_deref()) {
                (Some("aws.events" | "aws.scheduler"), Some("Scheduled Event")) => {
                    TriggerKind::Timer
                }
                (Some(_), Some(_)) => TriggerKind::PubSub,
                _ => TriggerKind::Other,
            },
        };
        EventSource {
            trigger,
            kind: match trigger {
                TriggerKind::PubSub => SpanKind::Consumer,
                _ => SpanKind::Server,
            },
            ..EventSource::default()
        }
    }
}

fn http_source<'a>(
    ctx: RequestContextProbe<'a>,
    http_method: Option<Cow<'a, str>>,
    path: Option<Cow<'a, str>>,
    raw_path: Option<Cow<'a, str>>,
    route_key: Option<Cow<'a, str>>,
    headers: Traceparent,
) -> EventSource<'a> {
    let method = ctx
        .http
        .and_then(|h| h.method)
        .or(http_method)
        .or(ctx.http_method);
    let is_alb = ctx.elb.is_some();
    let raw = raw_path.or(path);
    let path = match raw {
        Some(p) if is_alb => Some(p),
        Some(p) => Some(path_with_stage(ctx.stage.as_deref(), p)),
        None => None,
    };
    let route = match (ctx.resource_path, route_key) {
        (Some(resource), _) if is_real_template(&resource) => Some((None, resource)),
        (_, Some(key)) => split_route_key(key),
        _ => None,
    };
    EventSource {
        trigger: TriggerKind::Http,
        kind: SpanKind::Server,
        parent: headers.0.as_deref().and_then(TraceParent::from_w3c),
        http: method.map(|method| HttpRequest {
            method,
            path: path.unwrap_or(Cow::Borrowed("/")),
            route,
        }),
        ..EventSource::default()
    }
}

/// `"GET /users/{id}"` into its method and template; `ANY` names no method, and `$default`
/// or a greedy `{proxy+}` no template.
fn split_route_key(key: Cow<'_, str>) -> Option<(Option<Cow<'_, str>>, Cow<'_, str>)> {
    let (method, path) = key.split_once(' ')?;
    if !is_real_template(path) {
        return None;
    }
    let method = (method != "ANY").then(|| Cow::Owned(method.to_owned()));
    Some((method, Cow::Owned(path.to_owned())))
}

/// Removes the query string and fragment of a URL or path.
pub(crate) fn strip_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(payload: &[u8]) -> TriggerKind {
        read(payload).map_or(TriggerKind::Other, |s| s.trigger)
    }

    #[test]
    fn known_sources_are_told_apart() {
        assert_eq!(
            trigger(br#"{"Records":[{"eventSource":"aws:sqs"}]}"#),
            TriggerKind::PubSub
        );
        assert_eq!(
            trigger(br#"{"Records":[{"EventSource":"aws:sns"}]}"#),
            TriggerKind::PubSub
        );
        assert_eq!(
            trigger(br#"{"Records":[{"eventSource":"aws:s3"}]}"#),
            TriggerKind::Datasource
        );
        assert_eq!(
            trigger(br#"{"source":"aws.events","detail-type":"Scheduled Event"}"#),
            TriggerKind::Timer
        );
        assert_eq!(
            trigger(br#"{"source":"shop","detail-type":"OrderPlaced"}"#),
            TriggerKind::PubSub
        );
        assert_eq!(
            trigger(br#"{"requestContext":{"http":{"method":"GET"}},"rawPath":"/a"}"#),
            TriggerKind::Http
        );
        assert_eq!(trigger(br#"{"username":"bob"}"#), TriggerKind::Other);
    }

    /// Found by the `detect_trigger` fuzz target: serde reads a struct from an array too.
    #[test]
    fn arrays_are_not_http_events() {
        assert_eq!(trigger(b"[[],2]"), TriggerKind::Other);
        assert_eq!(trigger(b" [null, {}]"), TriggerKind::Other);
        assert_eq!(trigger(b"{}"), TriggerKind::Other);
    }

    #[test]
    fn payloads_that_are_not_json_are_bad() {
        assert!(matches!(read(b""), Err(BadPayload::Empty)));
        assert!(matches!(read(b"  \n"), Err(BadPayload::Empty)));
        assert!(matches!(read(b"not json"), Err(BadPayload::NotJson(_))));
        assert!(matches!(read(b"{\"a\":"), Err(BadPayload::NotJson(_))));
        assert!(matches!(read(b"[1, 2"), Err(BadPayload::NotJson(_))));
        assert!(matches!(read(b"\xff\xfe{}"), Err(BadPayload::NotUtf8(_))));
        assert!(read(b"\"a string\"").is_ok());
        assert!(read(b"42").is_ok());
    }

    #[test]
    fn http_events_give_method_path_route_and_traceparent() {
        let v2 = br#"{"version":"2.0","routeKey":"GET /users/{id}","rawPath":"/users/7",
            "headers":{"TraceParent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","x":"y"},
            "requestContext":{"http":{"method":"GET","path":"/users/7"},"stage":"$default"}}"#;
        let source = read(v2).expect("an event");
        let http = source.http_request().expect("an HTTP request");
        assert_eq!(http.method, "GET");
        assert_eq!(http.path, "/users/7");
        assert_eq!(
            http.route.as_ref().map(|(m, p)| (m.as_deref(), p.as_ref())),
            Some((Some("GET"), "/users/{id}"))
        );
        assert_eq!(
            source.parent.map(|p| p.trace_id.to_string()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let v1 = br#"{"resource":"/{proxy+}","path":"/hello","httpMethod":"POST","headers":null,
            "requestContext":{"resourcePath":"/{proxy+}","httpMethod":"POST","stage":"Prod"}}"#;
        let source = read(v1).expect("an event");
        let http = source.http_request().expect("an HTTP request");
        assert_eq!(
            (http.method.as_ref(), http.path.as_ref()),
            ("POST", "/Prod/hello")
        );
        assert!(http.route.is_none(), "a catch-all is no route");
    }

    #[test]
    fn query_strings_are_stripped() {
        assert_eq!(strip_query("/a/b?x=1#f"), "/a/b");
        assert_eq!(strip_query("https://h/p#frag"), "https://h/p");
        assert_eq!(strip_query("/plain"), "/plain");
    }
}
