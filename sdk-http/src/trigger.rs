//! The HTTP trigger: what a `lambda_http::Request` says about its invocation, and how a
//! handler's outcome becomes a proxy response (a `500` or a client error for failures).

use std::{borrow::Cow, error::Error};

use bytes::Bytes;
use lambda_http::{
    Body, IntoResponse, Request, RequestExt, Response,
    ext::PayloadError,
    http::{HeaderValue, StatusCode, header::CONTENT_TYPE},
    request::RequestContext,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serverless_sdk::{
    __private::{
        Completion, Core, ErrorInfo, EventSource, Facade, HandlerOutcome, Outcome, Root, Start,
        Trigger,
    },
    errors::reason_phrase,
};

use crate::body::{ProxyResponse, SdkBody};

/// The header that carries the Lambda request id on every response the SDK builds.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The facade of `serverless_sdk_http`'s macros: `lambda_http` handlers, whose response
/// keeps its own type (streamed bodies stay streamed).
#[derive(Debug)]
pub enum Http {}

/// The facade of the services [`run`](crate::run) wraps: any `lambda_http` service, its
/// response converted as `lambda_http` would.
#[derive(Debug)]
pub enum Buffered {}

/// What a body that does not parse answers: `400` with what was wrong, the client's fault.
///
/// The SDK answers so by itself for a handler whose error is a `PayloadError` (returned as
/// itself or inside a boxed `lambda_http::Error`); an error type of your own that wraps one
/// can answer the same way through these methods.
///
/// ```
/// use std::borrow::Cow;
/// use lambda_http::ext::PayloadError;
/// use serverless_sdk_http::{HttpError, PayloadErrorExt};
///
/// #[derive(Debug)]
/// enum ApiError { Payload(PayloadError), Missing }
///
/// impl HttpError for ApiError {
///     fn status_code(&self) -> u16 {
///         match self {
///             Self::Payload(e) => e.status_code(),
///             Self::Missing => 404,
///         }
///     }
///     fn public_message(&self) -> Cow<'static, str> {
///         match self {
///             Self::Payload(e) => e.public_message(),
///             Self::Missing => "not found".into(),
///         }
///     }
/// }
/// let bad = serde_json::from_str::<u8>("x").unwrap_err();
/// assert_eq!(ApiError::Payload(PayloadError::Json(bad)).status_code(), 400);
/// ```
pub trait PayloadErrorExt {
    /// `400`.
    fn status_code(&self) -> u16;
    /// `Invalid JSON body: …`, `Invalid form body: …`.
    fn public_message(&self) -> Cow<'static, str>;
}

impl PayloadErrorExt for PayloadError {
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

fn payload_status(error: &PayloadError) -> (u16, Cow<'static, str>) {
    (error.status_code(), error.public_message())
}

/// A body that fails `req.payload()` is a `400` with what was wrong, returned as itself or
/// inside a boxed `lambda_http::Error`.
fn http_of(error: &(dyn Error + 'static)) -> Option<(u16, Cow<'static, str>)> {
    error.downcast_ref::<PayloadError>().map(payload_status)
}

impl Facade for Http {
    fn http_of(error: &(dyn Error + 'static)) -> Option<(u16, Cow<'static, str>)> {
        http_of(error)
    }
}

impl Facade for Buffered {
    fn http_of(error: &(dyn Error + 'static)) -> Option<(u16, Cow<'static, str>)> {
        http_of(error)
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

/// What a request says about its invocation.
fn start(req: &Request) -> Start<'_> {
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    Start::new(
        req.lambda_context_ref(),
        EventSource::http(
            req.method().as_str(),
            req.uri().path(),
            route_from_event(req),
            traceparent,
        ),
    )
}

/// Records the response status; a handler's own 5xx counts as a failure.
pub(crate) fn record_status(root: &Root, status: u16) {
    root.set_status_code(status);
    if status >= 500 {
        root.mark_failed(Outcome::ErrorHandled, format!("HTTP {status}"));
    }
}

/// The proxy response for an `Err` or a panic: a client error when the error maps to one,
/// else a 500 that says nothing about the error unless the function opted in.
pub(crate) fn failure_response(root: &Root, info: &ErrorInfo) -> Response<Bytes> {
    let (status, public_message) = match info.http() {
        Some((code, message)) if (400..=599).contains(&code) => (code, message.to_owned()),
        _ => (500, reason_phrase(500).to_owned()),
    };
    let client_error = status < 500;
    if !client_error || root.captures_client_errors() {
        root.capture(info.report(), Outcome::ErrorHandled);
    }
    if client_error {
        root.note("serverless.client_error", info.report());
    } else {
        root.set_outcome(Outcome::ErrorHandled);
    }
    record_status(root, status);

    let mut body = serde_json::json!({
        "message": public_message,
        "requestId": root.request_id(),
    });
    if root.exposes_errors() && !client_error {
        body["errorType"] = info.lambda_error_type().into();
        body["errorMessage"] = info.display().into();
    }
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(root.request_id()) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// A response type a `lambda_http` handler returns, and what the annotated handler returns
/// in its place: `Response<B>` keeps its body (wrapped, so a stream that fails halfway is
/// recorded and ends cleanly), the other types are converted as `lambda_http` converts them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a response type `#[serverless_handler]` supports",
    label = "the handler's response type",
    note = "return `Response<B>` (any `http_body::Body`), `String`, `&'static str`, `Vec<u8>`, `serde_json::Value` or `(StatusCode, _)` of those"
)]
pub trait HttpResponse: Sized {
    /// What the annotated handler returns in its place.
    type Output;
    /// The response of a handler that returned `Ok`, its status recorded.
    fn respond(self, root: &Root) -> Completion<Self::Output>;
    /// The response the SDK sends for a failure.
    fn failure(response: Response<Bytes>) -> Self::Output;
}

impl<B> HttpResponse for Response<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Into<Bytes>,
{
    type Output = Response<SdkBody<B>>;

    fn respond(self, root: &Root) -> Completion<Self::Output> {
        record_status(root, self.status().as_u16());
        let held = root.hold();
        Completion::Ready(Some(self.map(|body| SdkBody::stream(body, held))))
    }

    fn failure(response: Response<Bytes>) -> Self::Output {
        response.map(SdkBody::full)
    }
}

macro_rules! converted_responses {
    ($($ty:ty),* $(,)?) => {$(
        impl HttpResponse for $ty {
            type Output = ProxyResponse;

            fn respond(self, root: &Root) -> Completion<ProxyResponse> {
                convert(self, root)
            }

            fn failure(response: Response<Bytes>) -> ProxyResponse {
                ProxyResponse::from_bytes(response)
            }
        }
    )*};
}

converted_responses!(
    String,
    &'static str,
    &'static [u8],
    Vec<u8>,
    serde_json::Value,
    (StatusCode, String),
    (StatusCode, &'static str),
    (StatusCode, &'static [u8]),
    (StatusCode, Vec<u8>),
    (StatusCode, serde_json::Value),
    ProxyResponse,
);

/// Converts a response as `lambda_http` does, then records its status.
fn convert<R: IntoResponse>(response: R, root: &Root) -> Completion<ProxyResponse> {
    let root = root.recorder();
    let converting = response.into_response();
    Completion::Pending(Box::pin(async move {
        let response = converting.await;
        record_status(&root, response.status().as_u16());
        ProxyResponse(response)
    }))
}

fn ok<O>(completion: Completion<O>) -> Completion<Result<O, Diagnostic>>
where
    O: Send + 'static,
{
    match completion {
        Completion::Ready(value) => Completion::Ready(value.map(Ok)),
        Completion::Pending(fut) => Completion::Pending(Box::pin(async move { Ok(fut.await) })),
    }
}

impl<R: HttpResponse, E> Trigger<Http, Result<R, E>> for Request
where
    R::Output: Send + 'static,
{
    type Output = Result<R::Output, Diagnostic>;

    fn start(&self) -> Start<'_> {
        start(self)
    }

    fn complete(outcome: HandlerOutcome<R>, root: &Root) -> Completion<Self::Output> {
        match outcome {
            HandlerOutcome::Ok(response) => ok(response.respond(root)),
            HandlerOutcome::Err(info) | HandlerOutcome::Panic(info) => {
                Completion::Ready(Some(Ok(R::failure(failure_response(root, &info)))))
            }
        }
    }
}

impl<R: IntoResponse, E> Trigger<Buffered, Result<R, E>> for Request {
    type Output = Result<ProxyResponse, Diagnostic>;

    fn start(&self) -> Start<'_> {
        start(self)
    }

    fn complete(outcome: HandlerOutcome<R>, root: &Root) -> Completion<Self::Output> {
        match outcome {
            HandlerOutcome::Ok(response) => ok(convert(response, root)),
            HandlerOutcome::Err(info) | HandlerOutcome::Panic(info) => Completion::Ready(Some(Ok(
                ProxyResponse::from_bytes(failure_response(root, &info)),
            ))),
        }
    }
}

/// Handlers of other triggers, annotated through this crate, behave as in `serverless_sdk`.
impl<T, R, E> Trigger<Http, Result<R, E>> for LambdaEvent<T> {
    type Output = <LambdaEvent<T> as Trigger<Core, Result<R, E>>>::Output;

    fn start(&self) -> Start<'_> {
        <Self as Trigger<Core, Result<R, E>>>::start(self)
    }

    fn complete(outcome: HandlerOutcome<R>, root: &Root) -> Completion<Self::Output> {
        <Self as Trigger<Core, Result<R, E>>>::complete(outcome, root)
    }
}

impl ProxyResponse {
    /// A response the SDK built, as `lambda_http`'s text body.
    pub(crate) fn from_bytes(response: Response<Bytes>) -> Self {
        Self(
            response.map(|bytes| match String::from_utf8(bytes.to_vec()) {
                Ok(text) => Body::Text(text),
                Err(e) => Body::Binary(e.into_bytes()),
            }),
        )
    }
}
