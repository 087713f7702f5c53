//! Returning HTTP errors from API Gateway: the seed's `throw_error`, a REST API `POST /throw`
//! (Lambda proxy integration) that reads the JSON body and answers `400 Bad Request`.
//!
//! Three ways to a `400`, from the least to the most code:
//!
//! * a body that is not JSON fails `req.payload()`; `?` turns the `PayloadError` into the
//!   SDK's automatic client error, `400 {"message":"Invalid JSON body: …","requestId":"…"}`;
//! * an error type implementing [`HttpError`] picks its status: `ThrowError::EmptyBody`
//!   answers `400 {"message":"Bad Request","requestId":"…"}` (the default public message is
//!   the reason phrase; the error's own text stays out of the response);
//! * the seed's own answer, built by hand: `400` with `Content-Type: application/json`, a
//!   `context.aws_request_id` header and the body `Bad Request`.
//!
//! `ThrowError::Payload` forwards to the SDK's `HttpError` for `PayloadError`; a handler whose
//! error type is `lambda_http::Error` gets the same `400` with no code at all. But an
//! `HttpError` type of your own must stay the handler's error type: boxed into
//! `lambda_http::Error`, its status is lost (a `500`).
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root
//! cargo lambda invoke throw_error --data-file tests/fixtures/throw-error.json
//! cargo lambda invoke throw_error --data-file tests/fixtures/throw-error-invalid-json.json
//! curl -i -X POST http://localhost:9000/lambda-url/throw_error/throw \
//!      -H 'content-type: application/json' --data '{"blah": "blah1"}'
//! ```
//!
//! # Telemetry
//!
//! Root span `POST /throw`, `http.response.status_code = 400`. A client error is the
//! caller's fault, so the invocation is not failed: `serverless.outcome = success`, status
//! unset, and for the two error paths a `serverless.client_error` event with
//! `exception.type` (`ThrowError`) and `exception.message`. Set
//! `SERVERLESS_SDK_CAPTURE_CLIENT_ERRORS=true` to capture them as exceptions too.
//!
//! Build it for Lambda with `cargo lambda build --release --bin throw_error`.

use std::borrow::Cow;

use lambda_http::{
    Body, Request, RequestExt, RequestPayloadExt, Response, ext::PayloadError,
    http::header::CONTENT_TYPE,
};
use serde_json::Value;
use serverless_sdk_http::{HttpError, PayloadErrorExt, serverless_handler};

#[derive(Debug, thiserror::Error)]
enum ThrowError {
    /// The body is not JSON: the SDK's own mapping answers.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// No body at all.
    #[error("POST /throw needs a JSON body")]
    EmptyBody,
    #[error("could not build the response: {0}")]
    Response(#[from] lambda_http::http::Error),
}

impl HttpError for ThrowError {
    fn status_code(&self) -> u16 {
        match self {
            Self::Payload(error) => error.status_code(),
            Self::EmptyBody => 400,
            Self::Response(_) => 500,
        }
    }

    fn public_message(&self) -> Cow<'static, str> {
        match self {
            Self::Payload(error) => error.public_message(),
            // The reason phrase: "Bad Request" / "Internal Server Error".
            Self::EmptyBody | Self::Response(_) => {
                serverless_sdk_http::errors::reason_phrase(self.status_code()).into()
            }
        }
    }
}

#[serverless_handler]
async fn throw_error(req: Request) -> Result<Response<Body>, ThrowError> {
    // `data = json.loads(event['body'])`
    let data: Value = req.payload()?.ok_or(ThrowError::EmptyBody)?;
    eprintln!("received {data}"); // seen in CloudWatch Logs

    let request_id = req
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .unwrap_or_default();
    Ok(Response::builder()
        .status(400)
        .header(CONTENT_TYPE, "application/json")
        .header("context.aws_request_id", request_id) // for fun show the Lambda request id
        .body(Body::from("Bad Request"))?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serverless_sdk_http::run(lambda_http::service_fn(throw_error)).await
}
