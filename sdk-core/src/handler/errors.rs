//! Traits an error type implements to choose how it is reported.

use std::borrow::Cow;

/// Chooses the `errorType` Lambda reports for an error that escapes a non-HTTP handler:
/// the name a Step Functions `Catch` rule's `ErrorEquals` matches. Without it the short type
/// name is used (`AccountAlreadyExistsException`), which is usually what you want.
///
/// ```
/// use std::borrow::Cow;
/// use serverless_sdk::ErrorType;
///
/// #[derive(Debug)]
/// enum SignupError { Taken, Throttled }
///
/// impl ErrorType for SignupError {
///     fn error_type(&self) -> Cow<'static, str> {
///         match self {
///             Self::Taken => "AccountAlreadyExistsException".into(),
///             Self::Throttled => "ThrottledException".into(),
///         }
///     }
/// }
/// assert_eq!(SignupError::Taken.error_type(), "AccountAlreadyExistsException");
/// ```
pub trait ErrorType {
    /// The `errorType` for this error value.
    fn error_type(&self) -> Cow<'static, str>;
}

/// Maps an error to an HTTP response for `lambda_http` handlers: a client error (4xx) with
/// a public message instead of a generic 500.
///
/// Client errors are recorded on the invocation (`http.response.status_code`) but not
/// captured as exceptions unless `SERVERLESS_SDK_CAPTURE_CLIENT_ERRORS=true`.
///
/// Most types derive it: `#[http(STATUS)]` or `#[http(STATUS, "message")]` on the type
/// (the default for every variant) or on a variant; the message formats like
/// `thiserror`'s, with `{0}` or `{field}` naming the value's fields.
///
/// ```
/// use serverless_sdk::HttpError;
///
/// #[derive(Debug, HttpError)]
/// #[http(500)]
/// enum OrderError {
///     #[http(404, "order {0} not found")]
///     NotFound(u64),
///     #[http(409, "order {id} is already {state}")]
///     Conflict { id: u64, state: &'static str },
///     Database(String),
/// }
///
/// assert_eq!(OrderError::NotFound(7).public_message(), "order 7 not found");
/// assert_eq!(OrderError::Conflict { id: 7, state: "paid" }.status_code(), 409);
/// assert_eq!(OrderError::Database("pool closed".into()).public_message(), "Internal Server Error");
/// ```
///
/// Or implement it by hand:
///
/// ```
/// use std::borrow::Cow;
/// use serverless_sdk::HttpError;
///
/// #[derive(Debug)]
/// struct NotFound(u64);
///
/// impl HttpError for NotFound {
///     fn status_code(&self) -> u16 { 404 }
///     fn public_message(&self) -> Cow<'static, str> { format!("order {} not found", self.0).into() }
/// }
/// assert_eq!(NotFound(7).status_code(), 404);
/// ```
pub trait HttpError {
    /// The response status, 400–599. Any other value is answered as a plain `500` with the
    /// generic body, as an unhandled error is (its `public_message` is not used).
    fn status_code(&self) -> u16;

    /// The message put in the response body. Defaults to the status's reason phrase.
    fn public_message(&self) -> Cow<'static, str> {
        Cow::Borrowed(reason_phrase(self.status_code()))
    }
}

/// The standard reason phrase of a status code.
///
/// ```
/// assert_eq!(serverless_sdk::errors::reason_phrase(404), "Not Found");
/// ```
#[must_use]
pub fn reason_phrase(status: u16) -> &'static str {
    const KNOWN: &[(u16, &str)] = &[
        (400, "Bad Request"),
        (401, "Unauthorized"),
        (402, "Payment Required"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (406, "Not Acceptable"),
        (408, "Request Timeout"),
        (409, "Conflict"),
        (410, "Gone"),
        (411, "Length Required"),
        (412, "Precondition Failed"),
        (413, "Payload Too Large"),
        (415, "Unsupported Media Type"),
        (422, "Unprocessable Entity"),
        (429, "Too Many Requests"),
        (500, "Internal Server Error"),
        (501, "Not Implemented"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ];
    match KNOWN.iter().find(|(code, _)| *code == status) {
        Some((_, phrase)) => phrase,
        None if (400..500).contains(&status) => "Client Error",
        None => "Server Error",
    }
}
