//! CLIENT spans for AWS SDK for Rust operations, as an interceptor.

use std::fmt;

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{
            Intercept,
            context::{BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef},
        },
        orchestrator::{HttpRequest, HttpResponse, Metadata, OrchestratorError},
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_types::region::Region;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use serde::Deserialize;

use super::{
    http_span::transport_error_kind,
    options::{AwsSdkRequest, ClientOptions},
};
use crate::record::span::ClientSpan;

/// An AWS SDK for Rust interceptor that turns every operation into a CLIENT span named
/// `"{Service}.{Operation}"`; see the [module docs](crate::integrations::client). Needs the `aws-sdk`
/// feature.
///
/// Add it to a client's configuration, once per client:
///
/// ```ignore
/// let sdk_config = aws_config::load_from_env().await;
/// let s3 = aws_sdk_s3::Client::from_conf(
///     aws_sdk_s3::config::Builder::from(&sdk_config)
///         .interceptor(serverless_sdk::integrations::client::AwsSdkInterceptor::new())
///         .build(),
/// );
/// s3.get_object().bucket("invoices").key("2024/07.pdf").send().await?; // span "S3.GetObject"
/// ```
///
/// Any code that takes an interceptor takes it, e.g. a single operation's
/// `.customize().interceptor(..)` or the runtime components below:
///
/// ```
/// use aws_smithy_runtime_api::client::{
///     interceptors::{Intercept, SharedInterceptor},
///     runtime_components::RuntimeComponentsBuilder,
/// };
/// use serverless_sdk::integrations::client::AwsSdkInterceptor;
///
/// let interceptor = AwsSdkInterceptor::new().propagate_xray(true);
/// assert_eq!(interceptor.name(), "serverless_sdk::AwsSdkInterceptor");
/// let components =
///     RuntimeComponentsBuilder::new("demo").with_interceptor(SharedInterceptor::new(interceptor));
/// # let _ = components;
/// ```
///
/// Recorded on each span: `rpc.system` (`aws-api`), `rpc.service`, `rpc.method`,
/// `cloud.region`, `server.address`, `http.response.status_code`, `aws.request_id`; for
/// DynamoDB `aws.dynamodb.table_names`, for S3 `aws.s3.bucket` and `aws.s3.key`, for SQS
/// `messaging.system` and `messaging.destination.name`. A failed operation gets
/// `error.type`: the service's error code (`NoSuchKey`, `ResourceNotFoundException`), or
/// `timeout`, or the I/O error kind of a failed connection. The HTTP request the SDK sends
/// is marked so that an [`HttpClientLayer`](super::HttpClientLayer) under the SDK's HTTP
/// client does not report it a second time.
///
/// The span starts when the first attempt is sent and ends when the operation completes,
/// retries included; an operation that fails before sending (no credentials, a bad
/// endpoint) still gets one. Presigning (`presigned(..)`) sends nothing and records nothing.
///
/// Trace context: AWS services read X-Ray's `X-Amzn-Trace-Id`, not W3C `traceparent`, so
/// only that header is sent, and only with [`propagate_xray`](Self::propagate_xray) (or
/// `SERVERLESS_SDK_PROPAGATE_XRAY=true`); otherwise the SDK's own header (from
/// `_X_AMZN_TRACE_ID`) is left as it is.
#[derive(Clone, Debug)]
pub struct AwsSdkInterceptor {
    propagate_xray: bool,
}

impl Default for AwsSdkInterceptor {
    fn default() -> Self {
        Self::new()
    }
}

impl AwsSdkInterceptor {
    /// An interceptor that sends `X-Amzn-Trace-Id` naming the operation's span when
    /// `SERVERLESS_SDK_PROPAGATE_XRAY` is `true`.
    ///
    /// ```
    /// let interceptor = serverless_sdk::integrations::client::AwsSdkInterceptor::new();
    /// # let _ = interceptor;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            propagate_xray: ClientOptions::from_env().propagates_xray(),
        }
    }

    /// Sends (or not) the X-Ray `X-Amzn-Trace-Id` header naming the operation's span as the
    /// parent, in place of the one the SDK derives from `_X_AMZN_TRACE_ID`.
    ///
    /// ```
    /// let interceptor = serverless_sdk::integrations::client::AwsSdkInterceptor::new().propagate_xray(true);
    /// # let _ = interceptor;
    /// ```
    #[must_use]
    pub fn propagate_xray(mut self, enabled: bool) -> Self {
        self.propagate_xray = enabled;
        self
    }
}

/// One operation's state, kept in its config bag between hooks.
struct OperationSpan {
    service: String,
    operation: String,
    region: Option<String>,
    /// Started when the first attempt is about to be sent.
    span: Option<ClientSpan>,
    /// A presigned request (`X-Amz-Signature` in the query): nothing is sent, no span.
    presigned: bool,
    finished: bool,
}

impl fmt::Debug for OperationSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationSpan")
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("started", &self.span.is_some())
            .field("presigned", &self.presigned)
            .finish_non_exhaustive()
    }
}

impl Storable for OperationSpan {
    type Storer = StoreReplace<Self>;
}

impl OperationSpan {
    /// The operation's state, made on first use. Client-level interceptors run their
    /// `read_before_execution` before the operation's `Metadata` is in the bag, so the state
    /// is made later. `None` outside an invocation.
    fn of(cfg: &mut ConfigBag) -> Option<&mut Self> {
        if cfg.load::<Self>().is_none() {
            if !crate::record::capture::in_invocation() {
                return None;
            }
            let metadata = cfg.load::<Metadata>()?;
            let state = Self {
                service: metadata.service().to_owned(),
                operation: metadata.name().to_owned(),
                region: cfg.load::<Region>().map(|r| r.as_ref().to_owned()),
                span: None,
                presigned: false,
                finished: false,
            };
            cfg.interceptor_state().store_put(state);
        }
        cfg.get_mut_from_interceptor_state::<Self>()
    }

    fn start_span(&mut self) -> Option<&ClientSpan> {
        if self.span.is_none() && !self.finished {
            let span = ClientSpan::start(format!("{}.{}", self.service, self.operation));
            if !span.is_recording() {
                self.finished = true;
                return None;
            }
            span.set_attribute(KeyValue::new("rpc.system", "aws-api"));
            span.set_attribute(KeyValue::new("rpc.service", self.service.clone()));
            span.set_attribute(KeyValue::new("rpc.method", self.operation.clone()));
            if let Some(region) = &self.region {
                span.set_attribute(KeyValue::new("cloud.region", region.clone()));
            }
            self.span = Some(span);
        }
        self.span.as_ref()
    }
}

impl Intercept for AwsSdkInterceptor {
    fn name(&self) -> &'static str {
        "serverless_sdk::AwsSdkInterceptor"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(state) = OperationSpan::of(cfg) else {
            return Ok(());
        };
        let request = context.request_mut();
        if state.span.is_none() && is_presigned(request.uri()) {
            // `presigned()` stops here: the URL is the product, no call is made.
            state.presigned = true;
            return Ok(());
        }
        let first_attempt = state.span.is_none();
        let service = state.service.clone();
        let Some(span) = state.start_span() else {
            return Ok(());
        };
        if first_attempt {
            describe_request(span, &service, request);
        }
        request.add_extension(AwsSdkRequest);
        // `X-Amzn-Trace-Id` is never signed, so it may change after signing.
        if self.propagate_xray
            && let Some(header) = span.xray_header()
        {
            request.headers_mut().insert("x-amzn-trace-id", header);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(state) = OperationSpan::of(cfg) else {
            return Ok(());
        };
        if state.presigned || state.finished {
            return Ok(());
        }
        let error = match context.output_or_error() {
            Some(Err(error)) => Some(error),
            _ => None,
        };
        if state.span.is_none() && error.is_none() {
            return Ok(());
        }
        // An operation that failed before sending (credentials, endpoint, serialization)
        // still gets its span, with the failure.
        let service = state.service.clone();
        state.start_span();
        state.finished = true;
        let Some(span) = state.span.take() else {
            return Ok(());
        };
        let response = context.response();
        if let Some(response) = response {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(response.status().as_u16()),
            ));
            if let Some(id) = request_id(response) {
                span.set_attribute(KeyValue::new("aws.request_id", id));
            }
        }
        if let Some(error) = error {
            span.set_error(error_type(error, response, &service));
        }
        span.end();
        Ok(())
    }
}

/// Whether a signed request carries its signature in the query string: a presigned URL.
fn is_presigned(uri: &str) -> bool {
    uri.split_once('?').is_some_and(|(_, query)| {
        query.split('&').any(|pair| {
            pair.as_bytes()
                .get(..16)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"X-Amz-Signature="))
        })
    })
}

/// Attributes read from the first attempt's request: never its headers or query string.
fn describe_request(span: &ClientSpan, service: &str, request: &HttpRequest) {
    let uri: Option<http::Uri> = request.uri().parse().ok();
    if let Some(host) = uri.as_ref().and_then(http::Uri::host) {
        span.set_attribute(KeyValue::new(
            "server.address",
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
        ));
    }
    let body = request.body().bytes();
    match service {
        "DynamoDB" | "DynamoDB Streams" => {
            let tables = body.map(dynamodb_table_names).unwrap_or_default();
            if !tables.is_empty() {
                span.set_attribute(KeyValue::new(
                    "aws.dynamodb.table_names",
                    Value::Array(Array::String(
                        tables.into_iter().map(StringValue::from).collect(),
                    )),
                ));
            }
        }
        "S3" => {
            if let Some((bucket, key)) = uri.as_ref().and_then(s3_location) {
                span.set_attribute(KeyValue::new("aws.s3.bucket", bucket));
                if let Some(key) = key {
                    span.set_attribute(KeyValue::new("aws.s3.key", key));
                }
            }
        }
        "SQS" => {
            span.set_attribute(KeyValue::new("messaging.system", "aws_sqs"));
            if let Some(queue) = body.and_then(sqs_queue_name) {
                span.set_attribute(KeyValue::new("messaging.destination.name", queue));
            }
        }
        _ => {}
    }
}

/// `TableName`, or the tables of a batch request, from a DynamoDB JSON request body.
fn dynamodb_table_names(body: &[u8]) -> Vec<String> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(rename = "TableName")]
        table_name: Option<String>,
        #[serde(rename = "RequestItems")]
        request_items: Option<std::collections::BTreeMap<String, serde::de::IgnoredAny>>,
    }
    let Ok(parsed) = serde_json::from_slice::<Body>(body) else {
        return Vec::new();
    };
    let mut tables: Vec<String> = parsed.table_name.into_iter().collect();
    tables.extend(parsed.request_items.unwrap_or_default().into_keys());
    tables
}

/// The queue an SQS request names: the last segment of `QueueUrl`, or `QueueName`, from a
/// JSON (awsJson) or form (awsQuery) body.
fn sqs_queue_name(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(rename = "QueueUrl")]
        queue_url: Option<String>,
        #[serde(rename = "QueueName")]
        queue_name: Option<String>,
    }
    let (url, name) = match serde_json::from_slice::<Body>(body) {
        Ok(parsed) => (parsed.queue_url, parsed.queue_name),
        Err(_) => {
            let text = std::str::from_utf8(body).ok()?;
            let field = |key: &str| {
                text.split('&')
                    .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                    .map(percent_decode)
            };
            (field("QueueUrl"), field("QueueName"))
        }
    };
    let from_url = url.and_then(|u| {
        let uri: http::Uri = u.parse().ok()?;
        uri.path()
            .rsplit('/')
            .find(|s| !s.is_empty())
            .map(str::to_owned)
    });
    from_url.or(name).filter(|n| !n.is_empty())
}

/// The bucket and key of an S3 request: virtual-hosted (`bucket.s3.<region>.amazonaws.com`)
/// or path-style (`<endpoint>/bucket/key`, as with `force_path_style` or a custom endpoint).
fn s3_location(uri: &http::Uri) -> Option<(String, Option<String>)> {
    let host = uri.host()?.to_ascii_lowercase();
    let path = uri.path().trim_start_matches('/');
    let virtual_bucket = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
        .and_then(|prefix| {
            // `<bucket>.s3.…` / `<bucket>.s3-<region>.…` / `<bucket>.s3express-….`; hosts
            // that start with `s3` are path-style.
            let at = prefix.rfind(".s3")?;
            let rest = &prefix[at + 3..];
            (rest.is_empty() || rest.starts_with(['.', '-']) || rest.starts_with("express"))
                .then(|| prefix[..at].to_owned())
        })
        .filter(|b| !b.is_empty());
    let (bucket, key) = match virtual_bucket {
        Some(bucket) => (bucket, path),
        None => {
            let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
            (percent_decode(bucket), key)
        }
    };
    if bucket.is_empty() {
        return None;
    }
    let key = (!key.is_empty()).then(|| percent_decode(key));
    Some((bucket, key))
}

/// Decodes `%XX` escapes; a `+` stays a `+` (S3 keys may hold one).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request id AWS returned.
fn request_id(response: &HttpResponse) -> Option<String> {
    ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"]
        .iter()
        .find_map(|name| response.headers().get(*name))
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| id.chars().take(128).collect())
}

/// The `error.type` of a failed operation.
fn error_type(
    error: &OrchestratorError<aws_smithy_runtime_api::client::interceptors::context::Error>,
    response: Option<&HttpResponse>,
    service: &str,
) -> String {
    if error.is_timeout_error() {
        return "timeout".to_owned();
    }
    if let Some(connector) = error.as_connector_error() {
        if connector.is_timeout() {
            return "timeout".to_owned();
        }
        return transport_error_kind(connector).unwrap_or_else(|| "dispatch".to_owned());
    }
    if error.is_operation_error()
        && let Some(code) = response.and_then(|r| service_error_code(r, service))
    {
        return code;
    }
    if let Some(response) = response.filter(|r| r.status().as_u16() >= 400) {
        return response.status().as_u16().to_string();
    }
    if error.is_interceptor_error() {
        "interceptor".to_owned()
    } else if error.is_response_error() {
        "response".to_owned()
    } else if error.is_operation_error() {
        "ServiceError".to_owned()
    } else {
        transport_error_kind(error).unwrap_or_else(|| "other".to_owned())
    }
}

/// The error code of a service error response, as the SDK's deserializers find it: the
/// `x-amzn-ErrorType` header, a JSON body's `__type` / `code`, or an XML body's `<Code>`.
fn service_error_code(response: &HttpResponse, service: &str) -> Option<String> {
    let from_header = response
        .headers()
        .get("x-amzn-errortype")
        .map(str::to_owned);
    let body = response.body().bytes().unwrap_or_default();
    let from_body = || -> Option<String> {
        #[derive(Deserialize)]
        struct JsonError {
            #[serde(rename = "__type")]
            type_: Option<String>,
            code: Option<String>,
            #[serde(rename = "Code")]
            code_upper: Option<String>,
        }
        if let Ok(parsed) = serde_json::from_slice::<JsonError>(body) {
            return parsed.type_.or(parsed.code).or(parsed.code_upper);
        }
        let text = std::str::from_utf8(body).ok()?;
        let start = text.find("<Code>")? + "<Code>".len();
        let len = text[start..].find("</Code>")?;
        Some(text[start..start + len].to_owned())
    };
    let code = from_header
        .or_else(from_body)
        .map(|raw| sanitize_code(&raw))
        .filter(|c| !c.is_empty());
    code.or_else(|| {
        // S3 answers HEAD requests without a body; the SDK calls a 404 there `NotFound`.
        (service == "S3" && response.status().as_u16() == 404 && body.is_empty())
            .then(|| "NotFound".to_owned())
    })
}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` and
/// `ResourceNotFoundException:http://internal.amazon.com/…` become
/// `ResourceNotFoundException`.
fn sanitize_code(raw: &str) -> String {
    let code = raw.split(':').next().unwrap_or(raw);
    let code = code.rsplit('#').next().unwrap_or(code);
    code.trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(100)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> http::Uri {
        s.parse().expect("uri")
    }

    #[test]
    fn finds_s3_buckets_and_keys() {
        let cases = [
            (
                "http://127.0.0.1:5000/invoices/2024/07%20final.pdf?x-id=GetObject",
                Some(("invoices", Some("2024/07 final.pdf"))),
            ),
            ("http://127.0.0.1:5000/invoices", Some(("invoices", None))),
            ("http://127.0.0.1:5000/invoices/", Some(("invoices", None))),
            (
                "https://my.bucket.s3.us-east-1.amazonaws.com/a/b.txt",
                Some(("my.bucket", Some("a/b.txt"))),
            ),
            (
                "https://logs.s3-eu-west-1.amazonaws.com/",
                Some(("logs", None)),
            ),
            (
                "https://s3.us-east-1.amazonaws.com/photos/cat.jpg",
                Some(("photos", Some("cat.jpg"))),
            ),
            (
                "https://b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/k",
                Some(("b--usw2-az1--x-s3", Some("k"))),
            ),
            ("https://s3.amazonaws.com/", None),
        ];
        for (input, expected) in cases {
            let found = s3_location(&uri(input));
            let found = found.as_ref().map(|(b, k)| (b.as_str(), k.as_deref()));
            assert_eq!(found, expected, "{input}");
        }
    }

    #[test]
    fn finds_dynamodb_tables() {
        assert_eq!(
            dynamodb_table_names(br#"{"TableName":"orders","Key":{"id":{"S":"1"}}}"#),
            ["orders"]
        );
        assert_eq!(
            dynamodb_table_names(br#"{"RequestItems":{"a":{"Keys":[]},"b":{"Keys":[]}}}"#),
            ["a", "b"]
        );
        assert!(dynamodb_table_names(b"not json").is_empty());
    }

    #[test]
    fn finds_sqs_queues() {
        assert_eq!(
            sqs_queue_name(
                br#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/jobs","MessageBody":"x"}"#
            )
            .as_deref(),
            Some("jobs")
        );
        assert_eq!(
            sqs_queue_name(br#"{"QueueName":"jobs.fifo"}"#).as_deref(),
            Some("jobs.fifo")
        );
        assert_eq!(
            sqs_queue_name(
                b"Action=SendMessage&QueueUrl=https%3A%2F%2Fsqs.us-east-1.amazonaws.com%2F1%2Fq1&MessageBody=x"
            )
            .as_deref(),
            Some("q1")
        );
        assert_eq!(sqs_queue_name(b"{}"), None);
        assert_eq!(
            sqs_queue_name(br#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com"}"#),
            None
        );
    }

    #[test]
    fn cleans_error_codes() {
        assert_eq!(
            sanitize_code("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            sanitize_code("ResourceNotFoundException:http://internal.amazon.com/coral/"),
            "ResourceNotFoundException"
        );
        assert_eq!(sanitize_code(" NoSuchKey "), "NoSuchKey");
        assert_eq!(sanitize_code("<script>"), "script");
    }

    #[test]
    fn recognises_presigned_requests() {
        assert!(is_presigned(
            "http://h/b/k?x-id=GetObject&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab12"
        ));
        assert!(is_presigned("https://h/k?x-amz-signature=ab12"));
        assert!(!is_presigned("https://h/k?x-id=GetObject"));
        assert!(!is_presigned("https://h/X-Amz-Signature=ab12"));
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }
}
