//! Real AWS sample events, and builders that adapt them to a test.
//!
//! The one folder of event payloads, `tests/fixtures/` ([`fixtures_dir`]), holds the AWS
//! documentation samples collected by the `aws_lambda_events` crate (MIT license; see
//! `tests/fixtures/README.md`), listed in [`FIXTURES`], and the event files the examples'
//! documentation sends with `cargo lambda invoke --data-file tests/fixtures/<file>`.
//! [`fixture`] reads any of them. The samples:
//!
//! | name | event |
//! |---|---|
//! | `apigw-v1` | API Gateway REST API, proxy integration |
//! | `apigw-v1-proxy-catch-all` | the same, with unknown extra fields |
//! | `apigw-v2` | API Gateway HTTP API, payload format 2.0 |
//! | `alb` | Application Load Balancer target |
//! | `function-url` | Lambda function URL (see below) |
//! | `sqs` | SQS, one record |
//! | `eventbridge-schedule` | EventBridge scheduled rule |
//!
//! `aws_lambda_events` has no function URL sample, so `function-url.json` is derived from the
//! HTTP API sample: function URLs send the same payload format 2.0, with a
//! `<url-id>.lambda-url.<region>.on.aws` domain, the URL id as `apiId` and `domainPrefix`, and no
//! mutual-TLS `authentication`.
//!
//! The builders keep everything from the real sample except what they are asked to change:
//!
//! ```
//! use serverless_sdk_tests::events;
//!
//! let event = events::apigw_v2("POST", "/users/42?verbose=1", "POST /users/{id}", Some(r#"{"a":1}"#));
//! assert_eq!(event["pathParameters"]["id"], "42");
//! assert_eq!(event["queryStringParameters"]["verbose"], "1");
//! let event = events::with_header(event, "X-Tenant", "acme");
//! assert_eq!(event["headers"]["x-tenant"], "acme");
//! ```

use serde_json::{Map, Value, json};
use std::{
    io,
    path::{Path, PathBuf},
};

/// The AWS samples among the fixtures, which the builders below start from.
pub const FIXTURES: &[&str] = &[
    "apigw-v1",
    "apigw-v1-proxy-catch-all",
    "apigw-v2",
    "alb",
    "function-url",
    "sqs",
    "eventbridge-schedule",
    "eventbridge-event",
    "kinesis",
    "dynamodb",
    "sns",
    "s3",
    "sqs-fifo",
];

/// The directory holding the fixtures (`tests/fixtures` of this package).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Reads the fixture `name` (with or without `.json`).
///
/// # Errors
///
/// If the file is missing or not JSON.
pub fn try_fixture(name: &str) -> io::Result<Value> {
    let file = if Path::new(name)
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
    {
        name.to_owned()
    } else {
        format!("{name}.json")
    };
    let text = std::fs::read_to_string(fixtures_dir().join(file))?;
    serde_json::from_str(&text).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Reads the fixture `name` (with or without `.json`), e.g. `fixture("sqs")` or
/// `fixture("tag-event.json")`.
///
/// # Panics
///
/// If there is no such fixture or it is not JSON: a test referring to a fixture that does not
/// exist is broken.
pub fn fixture(name: &str) -> Value {
    try_fixture(name).unwrap_or_else(|err| {
        panic!(
            "fixture {name:?} in {}: {err} (samples: {FIXTURES:?})",
            fixtures_dir().display()
        )
    })
}

/// An API Gateway REST API (v1) proxy event for `method path`, matched by the API resource
/// `resource` (e.g. `/users/{id}` or `/{proxy+}`), with `body`.
///
/// `path` may carry a query string (`/users/42?verbose=1`), which becomes
/// `queryStringParameters` and `multiValueQueryStringParameters`; `pathParameters` are derived
/// by matching `path` against `resource`. Both are `null` when empty, as API Gateway sends them.
pub fn apigw_v1(method: &str, path: &str, resource: &str, body: Option<&str>) -> Value {
    let mut event = fixture("apigw-v1");
    let (path_only, query) = split_query(path);
    let (single, multi) = query_parameters(query);
    set(&mut event, "httpMethod", json!(method));
    set(&mut event, "path", json!(path_only));
    set(&mut event, "resource", json!(resource));
    set(
        &mut event,
        "pathParameters",
        path_parameters(resource, path_only),
    );
    set(&mut event, "queryStringParameters", null_if_empty(single));
    set(
        &mut event,
        "multiValueQueryStringParameters",
        null_if_empty(multi),
    );
    set(&mut event, "body", text_body(body));
    set(&mut event, "isBase64Encoded", json!(false));
    if let Some(context) = event.get_mut("requestContext") {
        set(context, "httpMethod", json!(method));
        set(context, "path", json!(path_only));
        set(context, "resourcePath", json!(resource));
    }
    event
}

/// An API Gateway HTTP API (v2, payload format 2.0) event for `method path`, matched by the
/// route `route_key` (e.g. `GET /users/{id}`, `ANY /{proxy+}` or `$default`), with `body`.
///
/// `path` may carry a query string, which becomes `rawQueryString` and
/// `queryStringParameters` (repeated keys joined with commas, as API Gateway does);
/// `pathParameters` are derived by matching `path` against the route.
pub fn apigw_v2(method: &str, path: &str, route_key: &str, body: Option<&str>) -> Value {
    v2_event(fixture("apigw-v2"), method, path, route_key, body)
}

/// A Lambda function URL event for `method path` with `body` (payload format 2.0, route
/// `$default`). See the [module documentation](self) for how the sample was derived.
pub fn function_url(method: &str, path: &str, body: Option<&str>) -> Value {
    v2_event(fixture("function-url"), method, path, "$default", body)
}

/// An Application Load Balancer event for `method path` (with an optional query string) and
/// `body`. ALB sends an empty `queryStringParameters` object and an empty body when there are
/// none.
pub fn alb(method: &str, path: &str, body: Option<&str>) -> Value {
    let mut event = fixture("alb");
    let (path_only, query) = split_query(path);
    let (single, _) = query_parameters(query);
    set(&mut event, "httpMethod", json!(method));
    set(&mut event, "path", json!(path_only));
    set(&mut event, "queryStringParameters", Value::Object(single));
    set(&mut event, "body", json!(body.unwrap_or_default()));
    set(&mut event, "isBase64Encoded", json!(false));
    event
}

/// An SQS event with one record per body, each a copy of the sample record with its own
/// `messageId` (`MessageID_1`, `MessageID_2`, …) and `body`.
pub fn sqs(bodies: &[&str]) -> Value {
    let mut event = fixture("sqs");
    let template = event
        .pointer("/Records/0")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(index, body)| {
            let mut record = template.clone();
            set(
                &mut record,
                "messageId",
                json!(format!("MessageID_{}", index + 1)),
            );
            set(&mut record, "body", json!(body));
            record
        })
        .collect();
    set(&mut event, "Records", Value::Array(records));
    event
}

/// The EventBridge scheduled-rule sample event.
pub fn eventbridge_schedule() -> Value {
    fixture("eventbridge-schedule")
}

/// Sets the request header `name` of an API Gateway, ALB or function URL event, replacing any
/// header of the same name in any case. Payload format 2.0 events get the name in lowercase,
/// as AWS sends it; v1 events also get it in `multiValueHeaders`.
pub fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    let is_v2 = event.get("version").and_then(Value::as_str) == Some("2.0");
    let name = if is_v2 {
        name.to_ascii_lowercase()
    } else {
        name.to_owned()
    };
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        headers.retain(|key, _| !key.eq_ignore_ascii_case(&name));
        headers.insert(name.clone(), json!(value));
    } else if let Some(object) = event.as_object_mut() {
        object.insert("headers".to_owned(), json!({ name.clone(): value }));
    }
    if let Some(headers) = event
        .get_mut("multiValueHeaders")
        .and_then(Value::as_object_mut)
    {
        headers.retain(|key, _| !key.eq_ignore_ascii_case(&name));
        headers.insert(name, json!([value]));
    }
    event
}

fn v2_event(
    mut event: Value,
    method: &str,
    path: &str,
    route_key: &str,
    body: Option<&str>,
) -> Value {
    let (path_only, query) = split_query(path);
    let (_, multi) = query_parameters(query);
    let joined: Map<String, Value> = multi
        .into_iter()
        .map(|(key, values)| {
            let values: Vec<&str> = values
                .as_array()
                .map(|values| values.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (key, json!(values.join(",")))
        })
        .collect();
    let template = route_key
        .split_once(' ')
        .map_or("", |(_, template)| template);

    set(&mut event, "routeKey", json!(route_key));
    set(&mut event, "rawPath", json!(path_only));
    set(&mut event, "rawQueryString", json!(query));
    set_or_remove(&mut event, "queryStringParameters", null_if_empty(joined));
    set_or_remove(
        &mut event,
        "pathParameters",
        path_parameters(template, path_only),
    );
    set_or_remove(&mut event, "body", text_body(body));
    set(&mut event, "isBase64Encoded", json!(false));
    if let Some(context) = event.get_mut("requestContext") {
        set(context, "routeKey", json!(route_key));
        if let Some(http) = context.get_mut("http") {
            set(http, "method", json!(method));
            set(http, "path", json!(path_only));
        }
    }
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        let length = body.map_or(0, str::len);
        headers.insert("content-length".to_owned(), json!(length.to_string()));
        if body.is_some() && !headers.contains_key("content-type") {
            headers.insert("content-type".to_owned(), json!("application/json"));
        }
    }
    event
}

/// A text body as an event carries it: the string, or `null` for none.
fn text_body(body: Option<&str>) -> Value {
    body.map_or(Value::Null, |body| json!(body))
}

fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(object) = object.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}

/// Payload format 2.0 omits absent fields rather than sending `null`.
fn set_or_remove(object: &mut Value, key: &str, value: Value) {
    if let Some(object) = object.as_object_mut() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.to_owned(), value);
        }
    }
}

fn null_if_empty(map: Map<String, Value>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}

fn split_query(path: &str) -> (&str, &str) {
    path.split_once('?').unwrap_or((path, ""))
}

/// `(last value per key, all values per key)`, percent-decoded.
fn query_parameters(query: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut single = Map::new();
    let mut multi = Map::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(key), percent_decode(value));
        single.insert(key.clone(), json!(value));
        if let Some(values) = multi.entry(key).or_insert_with(|| json!([])).as_array_mut() {
            values.push(json!(value));
        }
    }
    (single, multi)
}

/// Path parameters of `path` under `template` (`/users/{id}`, `/{proxy+}`); `null` if the
/// template has none or `path` does not match it.
fn path_parameters(template: &str, path: &str) -> Value {
    let mut parameters = Map::new();
    let mut segments = path.trim_start_matches('/').split('/');
    for pattern in template.trim_start_matches('/').split('/') {
        let variable = pattern
            .strip_prefix('{')
            .and_then(|pattern| pattern.strip_suffix('}'));
        match variable {
            Some(variable) if variable.ends_with('+') => {
                let rest: Vec<&str> = segments.by_ref().collect();
                parameters.insert(
                    variable.trim_end_matches('+').to_owned(),
                    json!(rest.join("/")),
                );
            }
            Some(variable) => match segments.next() {
                Some(segment) if !segment.is_empty() => {
                    parameters.insert(variable.to_owned(), json!(segment));
                }
                _ => return Value::Null,
            },
            None if segments.next() == Some(pattern) => {}
            None => return Value::Null,
        }
    }
    if segments.next().is_some() {
        return Value::Null;
    }
    null_if_empty(parameters)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `payload` as `lambda_runtime` hands it to a handler, with a default context: for calling
/// an annotated handler directly, in process.
///
/// ```
/// let event = serverless_sdk_tests::events::lambda_event(serde_json::json!({ "n": 1 }));
/// assert_eq!(event.payload["n"], 1);
/// ```
#[must_use]
pub fn lambda_event(payload: Value) -> lambda_runtime::LambdaEvent<Value> {
    lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_loads() {
        for name in FIXTURES {
            assert!(fixture(name).is_object(), "{name}");
        }
        assert!(try_fixture("no-such-event").is_err());
    }

    #[test]
    fn apigw_v1_overrides_the_request_and_keeps_the_rest() {
        let event = apigw_v1("GET", "/users/42?tag=a&tag=b%20c", "/users/{id}", None);
        assert_eq!(event["httpMethod"], "GET");
        assert_eq!(event["path"], "/users/42");
        assert_eq!(event["resource"], "/users/{id}");
        assert_eq!(event["pathParameters"], json!({ "id": "42" }));
        assert_eq!(event["queryStringParameters"], json!({ "tag": "b c" }));
        assert_eq!(
            event["multiValueQueryStringParameters"],
            json!({ "tag": ["a", "b c"] })
        );
        assert_eq!(event["body"], Value::Null);
        assert_eq!(event["requestContext"]["resourcePath"], "/users/{id}");
        assert_eq!(event["requestContext"]["httpMethod"], "GET");
        // Untouched parts of the real sample.
        assert_eq!(event["requestContext"]["stage"], "testStage");
        assert_eq!(event["headers"]["User-Agent"], "PostmanRuntime/2.4.5");

        let event = apigw_v1("POST", "/a/b/c", "/{proxy+}", Some("{}"));
        assert_eq!(event["pathParameters"], json!({ "proxy": "a/b/c" }));
        assert_eq!(event["queryStringParameters"], Value::Null);
        assert_eq!(event["body"], "{}");
    }

    #[test]
    fn apigw_v2_overrides_the_request_and_keeps_the_rest() {
        let event = apigw_v2(
            "POST",
            "/users/42?a=1&a=2",
            "POST /users/{id}",
            Some("{\"x\":1}"),
        );
        assert_eq!(event["routeKey"], "POST /users/{id}");
        assert_eq!(event["rawPath"], "/users/42");
        assert_eq!(event["rawQueryString"], "a=1&a=2");
        assert_eq!(event["queryStringParameters"], json!({ "a": "1,2" }));
        assert_eq!(event["pathParameters"], json!({ "id": "42" }));
        assert_eq!(event["body"], "{\"x\":1}");
        assert_eq!(event["headers"]["content-length"], "7");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["requestContext"]["http"]["path"], "/users/42");
        assert_eq!(event["requestContext"]["routeKey"], "POST /users/{id}");
        assert_eq!(event["requestContext"]["apiId"], "aaaaaaaaaa");

        let event = apigw_v2("GET", "/", "$default", None);
        assert!(event.get("pathParameters").is_none());
        assert!(event.get("queryStringParameters").is_none());
        assert!(event.get("body").is_none());
    }

    #[test]
    fn other_builders() {
        let event = function_url("PUT", "/items", Some("x"));
        assert_eq!(event["routeKey"], "$default");
        assert_eq!(event["requestContext"]["http"]["method"], "PUT");
        assert!(
            event["requestContext"]["domainName"]
                .as_str()
                .unwrap()
                .ends_with(".lambda-url.us-east-1.on.aws")
        );

        let event = alb("DELETE", "/things/1?force=true", None);
        assert_eq!(event["httpMethod"], "DELETE");
        assert_eq!(event["queryStringParameters"], json!({ "force": "true" }));
        assert_eq!(event["body"], "");

        let event = sqs(&["one", "two"]);
        let records = event["Records"].as_array().unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1]["body"], "two");
        assert_eq!(records[1]["messageId"], "MessageID_2");
        assert_eq!(records[1]["eventSource"], "aws:sqs");

        assert_eq!(eventbridge_schedule()["detail-type"], "Scheduled Event");
    }

    #[test]
    fn headers_replace_case_insensitively() {
        let event = with_header(apigw_v1("GET", "/", "/", None), "user-agent", "test");
        assert_eq!(event["headers"]["user-agent"], "test");
        assert!(event["headers"].get("User-Agent").is_none());
        assert_eq!(event["multiValueHeaders"]["user-agent"], json!(["test"]));

        let event = with_header(apigw_v2("GET", "/", "$default", None), "X-Tenant", "acme");
        assert_eq!(event["headers"]["x-tenant"], "acme");
    }

    #[test]
    fn path_parameter_matching() {
        assert_eq!(
            path_parameters("/users/{id}", "/users/7"),
            json!({ "id": "7" })
        );
        assert_eq!(path_parameters("/users/{id}", "/orders/7"), Value::Null);
        assert_eq!(path_parameters("/users/{id}", "/users/7/x"), Value::Null);
        assert_eq!(path_parameters("/users", "/users"), Value::Null);
        assert_eq!(
            path_parameters("/files/{key+}", "/files/a/b.txt"),
            json!({ "key": "a/b.txt" })
        );
    }
}
