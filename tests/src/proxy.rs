//! The HTTP event sources of Lambda, and the proxy responses `lambda_http` answers their events
//! with.
//!
//! ```
//! use serverless_sdk_tests::proxy::{self, Source};
//!
//! let event = Source::HttpApi.event("GET", "/users/42", "/users/{id}", None);
//! assert_eq!(event["routeKey"], "GET /users/{id}");
//! let expected = proxy::response(Source::RestApi, 200, &[("content-type", "text/plain")], "ok");
//! assert_eq!(expected["multiValueHeaders"]["content-type"][0], "text/plain");
//! ```

use serde_json::{Map, Value, json};

use crate::events;

/// An HTTP event source, with the payload format its events have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// API Gateway REST API (payload format 1.0).
    RestApi,
    /// API Gateway HTTP API (payload format 2.0).
    HttpApi,
    /// Application Load Balancer.
    Alb,
    /// Lambda function URL (payload format 2.0).
    FunctionUrl,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 4] = [
        Source::RestApi,
        Source::HttpApi,
        Source::Alb,
        Source::FunctionUrl,
    ];

    /// A `method path` event of this source, built from the kit's sample ([`events`]);
    /// `template` is the REST API resource or the HTTP API route's path (the route key is
    /// `"{method} {template}"`); ALB and function URL events have none.
    pub fn event(self, method: &str, path: &str, template: &str, body: Option<&str>) -> Value {
        match self {
            Source::RestApi => events::apigw_v1(method, path, template, body),
            Source::HttpApi => {
                events::apigw_v2(method, path, &format!("{method} {template}"), body)
            }
            Source::Alb => events::alb(method, path, body),
            Source::FunctionUrl => events::function_url(method, path, body),
        }
    }

    /// The `url.path` recorded for a request to `path` made with the kit's sample of this
    /// source: the REST API sample's stage (`testStage`) comes first; the other samples add
    /// nothing (the HTTP API sample's stage is `$default`).
    pub fn url_path(self, path: &str) -> String {
        match self {
            Source::RestApi => format!("/testStage{path}"),
            Source::HttpApi | Source::Alb | Source::FunctionUrl => path.to_owned(),
        }
    }
}

/// The proxy response `lambda_http` sends for `status`, `headers` and a text `body`, in the
/// shape of `source`'s payload format.
///
/// # Panics
///
/// For an ALB response, if `status` is not a status code with a reason phrase.
pub fn response(source: Source, status: u16, headers: &[(&str, &str)], body: &str) -> Value {
    let single: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let multi: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!([value])))
        .collect();
    match source {
        Source::RestApi => json!({
            "statusCode": status,
            "headers": {},
            "multiValueHeaders": multi,
            "body": body,
            "isBase64Encoded": false,
        }),
        Source::HttpApi | Source::FunctionUrl => json!({
            "statusCode": status,
            "headers": single,
            "multiValueHeaders": {},
            "body": body,
            "isBase64Encoded": false,
            "cookies": [],
        }),
        Source::Alb => {
            let reason = http::StatusCode::from_u16(status)
                .ok()
                .and_then(|status| status.canonical_reason())
                .unwrap_or_else(|| panic!("{status} has no reason phrase"));
            json!({
                "statusCode": status,
                "statusDescription": format!("{status} {reason}"),
                "headers": single,
                "multiValueHeaders": multi,
                "body": body,
                "isBase64Encoded": false,
            })
        }
    }
}

/// [`response`] with a JSON body parsed, as
/// [`Function::proxy_response`](crate::function::Function::proxy_response) reads responses.
pub fn parsed_response(source: Source, status: u16, headers: &[(&str, &str)], body: &str) -> Value {
    with_parsed_body(response(source, status, headers, body))
}

/// `response` with its `body` replaced by the JSON it holds, if it holds JSON.
pub fn with_parsed_body(mut response: Value) -> Value {
    if let Some(parsed) = response["body"]
        .as_str()
        .and_then(|body| serde_json::from_str::<Value>(body).ok())
    {
        response["body"] = parsed;
    }
    response
}

/// The JSON body the SDK answers a client error or a 500 with: the public `message` and the
/// invocation's request id.
pub fn sdk_error_body(message: &str, request_id: &str) -> String {
    json!({ "message": message, "requestId": request_id }).to_string()
}
