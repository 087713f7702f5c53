//! `lambda_http` handlers: proxy responses for failures, client-error mapping and the
//! endpoint from the event. Compiled with the `http` feature, which `serverless_sdk_http`
//! turns on.
//!
//! This lives here rather than in `serverless_sdk_http` because the handler macro names
//! `serverless_sdk::__private::Trigger`, and Rust's orphan rule only lets the crate that
//! owns that trait implement it for `lambda_http::Request`.

use std::{borrow::Cow, error::Error, future::ready};

use lambda_http::{
    Body, IntoResponse, Request, RequestExt, Response,
    ext::PayloadError,
    http::{HeaderValue, StatusCode, header::CONTENT_TYPE},
    request::RequestContext,
};
use lambda_runtime::Diagnostic;
use opentelemetry::{KeyValue, trace::Event, trace::SpanKind};

use crate::{
    attributes as attr, config,
    current::Current,
    errors::{HttpError, reason_phrase},
    handler::{Completion, ErrorInfo, Finish, HandlerOutcome, Start, Trigger},
    scope::{Invocation, Outcome, TriggerKind},
};

/// The header that carries the Lambda request id on every response the SDK builds.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A response the SDK already converted: `lambda_http` passes it through untouched.
#[derive(Debug)]
pub struct ProxyResponse(pub Response<Body>);

impl IntoResponse for ProxyResponse {
    fn into_response(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>> {
        Box::pin(ready(self.0))
    }
}

/// Whether an API Gateway resource / route key is a real template rather than a catch-all.
fn is_real_template(path: &str) -> bool {
    path.starts_with('/') && !path.contains('+')
}

/// The route template the event carries: API Gateway REST `resource`, HTTP API `routeKey`.
fn route_from_event(req: &Request) -> Option<(Option<&str>, &str)> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => {
            let resource = ctx.resource_path.as_deref()?;
            is_real_template(resource).then_some((None, resource))
        }
        RequestContext::ApiGatewayV2(ctx) => {
            let key = ctx.route_key.as_deref()?;
            let (method, path) = key.split_once(' ')?;
            let method = (method != "ANY").then_some(method);
            is_real_template(path).then_some((method, path))
        }
        _ => None,
    }
}

impl<R: IntoResponse, E> Trigger<Result<R, E>> for Request {
    type Output = Result<ProxyResponse, Diagnostic>;

    fn start(&self) -> Start<'_> {
        Start {
            context: self.lambda_context_ref(),
            trigger: Some(TriggerKind::Http),
            kind: Some(SpanKind::Server),
            traceparent: self
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok()),
            http_method: Some(self.method().as_str()),
            url_path: Some(self.uri().path()),
            route: route_from_event(self),
        }
    }

    fn complete(outcome: HandlerOutcome<R>, finish: &Finish<'_>) -> Completion<Self::Output> {
        match outcome {
            HandlerOutcome::Ok(response) => {
                let root = finish.root.clone();
                let convert = response.into_response();
                Completion::Pending(Box::pin(async move {
                    let response = convert.await;
                    record_status(&root, response.status().as_u16());
                    Ok(ProxyResponse(response))
                }))
            }
            HandlerOutcome::Err(info) => {
                Completion::Ready(Some(Ok(ProxyResponse(failure_response(finish, &info)))))
            }
            HandlerOutcome::Panic(report) => {
                let info = ErrorInfo {
                    display: report.message.clone(),
                    report,
                    error_type: None,
                    http: None,
                };
                Completion::Ready(Some(Ok(ProxyResponse(failure_response(finish, &info)))))
            }
        }
    }
}

/// Records the response status; a handler's own 5xx counts as a failure.
fn record_status(root: &Current, status: u16) {
    let mut state = root.inv.state();
    state.status_code = Some(status);
    if status >= 500 {
        Invocation::raise_outcome(&mut state, Outcome::ErrorHandled);
        // A captured error already named the failure; keep its name.
        if let Some(span) = state.spans.first_mut() {
            if matches!(span.status, opentelemetry::trace::Status::Unset) {
                span.status = opentelemetry::trace::Status::error(format!("HTTP {status}"));
            }
        }
    }
}

/// The proxy response for an `Err` or a panic: a client error when the error maps to one,
/// else a 500 that says nothing about the error unless the function opted in.
fn failure_response(finish: &Finish<'_>, info: &ErrorInfo) -> Response<Body> {
    let settings = config::settings();
    let (status, public_message) = match &info.http {
        Some((code, message)) if (400..=599).contains(code) => (*code, message.clone()),
        _ => (500, Cow::Borrowed(reason_phrase(500))),
    };
    let client_error = status < 500;
    if !client_error || settings.capture_client_errors {
        finish.capture(&info.report, Outcome::ErrorHandled);
    }
    if client_error {
        let event = Event::new(
            "serverless.client_error",
            std::time::SystemTime::now(),
            vec![
                KeyValue::new(attr::EXCEPTION_TYPE, info.report.type_name.clone()),
                KeyValue::new(attr::EXCEPTION_MESSAGE, info.report.message.clone()),
            ],
            0,
        );
        crate::api::push_event(finish.root, event);
    } else {
        finish.set_outcome(Outcome::ErrorHandled);
    }
    record_status(finish.root, status);

    let request_id = finish.root.inv.request_id.to_string();
    let mut body = serde_json::json!({
        "message": public_message,
        "requestId": request_id,
    });
    if settings.expose_errors && !client_error {
        body["errorType"] = info.lambda_error_type().into_owned().into();
        body["errorMessage"] = info.display.clone().into();
    }
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// A body that does not parse is the client's fault: 400 with what was wrong.
impl HttpError for PayloadError {
    fn status_code(&self) -> u16 {
        400
    }

    fn public_message(&self) -> Cow<'static, str> {
        match self {
            Self::Json(e) => format!("Invalid JSON body: {e}").into(),
            Self::WwwFormUrlEncoded(e) => format!("Invalid form body: {e}").into(),
            _ => Cow::Borrowed("Invalid request body"),
        }
    }
}

/// `HttpError` for boxed errors (`lambda_http::Error`) holding a [`PayloadError`].
pub(crate) fn http_of_boxed(
    error: &(dyn Error + Send + Sync + 'static),
) -> Option<(u16, Cow<'static, str>)> {
    error
        .downcast_ref::<PayloadError>()
        .map(|e| (e.status_code(), e.public_message()))
}
