//! Support for the code `#[serverless_handler]`, `#[span]` and `#[route]` generate. Not a
//! public API: names here change without notice.
#![allow(missing_docs, unreachable_pub)]

use std::{any::type_name, borrow::Cow, error::Error, fmt};

pub use crate::handler::{ErrorInfo, HandlerMeta, HandlerResult, Trigger, handle, typed_future};
pub use crate::report::{ErrorReport, Site};
pub use crate::span::{
    SpanGuard, SpanHandle,
    support::{enter_span, instrument, instrument_boxed, start_async_span, start_span},
};
pub use lambda_runtime::{Context, Diagnostic, LambdaEvent};

use crate::{
    api::Capture,
    current,
    errors::{ErrorType, HttpError},
    scope::EndpointSource,
};

/// Sets the endpoint from `#[route]`.
#[inline]
pub fn set_route(method: Option<&'static str>, path: &'static str) {
    current::with(|c| {
        if let Some(c) = c {
            crate::api::set_endpoint_in(c, method, path, EndpointSource::Explicit);
        }
    });
}

/// Sets the endpoint a web framework matched (axum's `MatchedPath`); an explicit
/// `set_endpoint` / `#[route]` still wins.
#[inline]
pub fn set_framework_endpoint(method: Option<&str>, path: &str) {
    current::with(|c| {
        if let Some(c) = c {
            crate::api::set_endpoint_in(c, method, path, EndpointSource::Framework);
        }
    });
}

/// Classifies an error known only through `Debug`: the error of a wrapped service.
pub fn classify_debug<E: fmt::Debug>(error: &E) -> ErrorInfo {
    let text = format!("{error:?}");
    ErrorInfo {
        report: ErrorReport::from_message(type_name::<E>(), &text, None),
        display: text,
        error_type: None,
        http: None,
    }
}

/// Sets the SDK up from the environment unless it was already.
pub fn ensure_init() {
    crate::runtime::ensure_init();
}

/// Wraps a value for autoref-based dispatch on what its type implements.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

// ---- error reports: Error > Box<dyn Error> > Display > Debug ----

pub trait ReportViaError {
    fn __sls_report(&self) -> ErrorReport;
}
impl<T: Capture + ?Sized> ReportViaError for &&Probe<'_, T> {
    fn __sls_report(&self) -> ErrorReport {
        self.0.report(None)
    }
}

pub trait ReportViaBox {
    fn __sls_report(&self) -> ErrorReport;
}
impl ReportViaBox for &&Probe<'_, Box<dyn Error + Send + Sync + 'static>> {
    fn __sls_report(&self) -> ErrorReport {
        ErrorReport::from_error(&**self.0, None, None)
    }
}
impl ReportViaBox for &&Probe<'_, Box<dyn Error + 'static>> {
    fn __sls_report(&self) -> ErrorReport {
        ErrorReport::from_error(&**self.0, None, None)
    }
}

pub trait ReportViaDisplay {
    fn __sls_report(&self) -> ErrorReport;
}
impl<T: fmt::Display + ?Sized> ReportViaDisplay for &Probe<'_, T> {
    fn __sls_report(&self) -> ErrorReport {
        ErrorReport::from_message(type_name::<T>(), &self.0.to_string(), None)
    }
}

pub trait ReportViaDebug {
    fn __sls_report(&self) -> ErrorReport;
}
impl<T: fmt::Debug + ?Sized> ReportViaDebug for Probe<'_, T> {
    fn __sls_report(&self) -> ErrorReport {
        ErrorReport::from_message(type_name::<T>(), &format!("{:?}", self.0), None)
    }
}

// ---- the text Lambda reports as errorMessage: Display > Debug ----

pub trait TextViaDisplay {
    fn __sls_text(&self) -> String;
}
impl<T: fmt::Display + ?Sized> TextViaDisplay for &Probe<'_, T> {
    fn __sls_text(&self) -> String {
        self.0.to_string()
    }
}
pub trait TextViaDebug {
    fn __sls_text(&self) -> String;
}
impl<T: fmt::Debug + ?Sized> TextViaDebug for Probe<'_, T> {
    fn __sls_text(&self) -> String {
        format!("{:?}", self.0)
    }
}

// ---- errorType override ----

pub trait ErrorTypeViaTrait {
    fn __sls_error_type(&self) -> Option<Cow<'static, str>>;
}
impl<T: ErrorType + ?Sized> ErrorTypeViaTrait for &Probe<'_, T> {
    fn __sls_error_type(&self) -> Option<Cow<'static, str>> {
        Some(self.0.error_type())
    }
}
pub trait ErrorTypeDefault {
    fn __sls_error_type(&self) -> Option<Cow<'static, str>>;
}
impl<T: ?Sized> ErrorTypeDefault for Probe<'_, T> {
    fn __sls_error_type(&self) -> Option<Cow<'static, str>> {
        None
    }
}

// ---- HTTP mapping ----

pub trait HttpViaTrait {
    fn __sls_http(&self) -> Option<(u16, Cow<'static, str>)>;
}
impl<T: HttpError + ?Sized> HttpViaTrait for &Probe<'_, T> {
    fn __sls_http(&self) -> Option<(u16, Cow<'static, str>)> {
        Some((self.0.status_code(), self.0.public_message()))
    }
}
pub trait HttpViaBox {
    fn __sls_http(&self) -> Option<(u16, Cow<'static, str>)>;
}
impl HttpViaBox for &Probe<'_, Box<dyn Error + Send + Sync + 'static>> {
    fn __sls_http(&self) -> Option<(u16, Cow<'static, str>)> {
        #[cfg(feature = "http")]
        {
            crate::http::http_of_boxed(&**self.0)
        }
        #[cfg(not(feature = "http"))]
        {
            None
        }
    }
}
pub trait HttpDefault {
    fn __sls_http(&self) -> Option<(u16, Cow<'static, str>)>;
}
impl<T: ?Sized> HttpDefault for Probe<'_, T> {
    fn __sls_http(&self) -> Option<(u16, Cow<'static, str>)> {
        None
    }
}

// ---- `#[span]` results: an `Err` is recorded on the span ----

pub trait RecordViaError {
    fn __sls_record(&self, span: &SpanHandle);
}
impl<T, E: Capture> RecordViaError for &&&Probe<'_, Result<T, E>> {
    fn __sls_record(&self, span: &SpanHandle) {
        if let Err(e) = self.0 {
            span.record_report(&e.report(None), true);
        }
    }
}
pub trait RecordViaBox {
    fn __sls_record(&self, span: &SpanHandle);
}
impl<T> RecordViaBox for &&&Probe<'_, Result<T, Box<dyn Error + Send + Sync + 'static>>> {
    fn __sls_record(&self, span: &SpanHandle) {
        if let Err(e) = self.0 {
            span.record_report(&ErrorReport::from_error(&**e, None, None), true);
        }
    }
}
pub trait RecordViaDisplay {
    fn __sls_record(&self, span: &SpanHandle);
}
impl<T, E: fmt::Display> RecordViaDisplay for &&Probe<'_, Result<T, E>> {
    fn __sls_record(&self, span: &SpanHandle) {
        if let Err(e) = self.0 {
            span.record_report(
                &ErrorReport::from_message(type_name::<E>(), &e.to_string(), None),
                true,
            );
        }
    }
}
pub trait RecordNothing {
    fn __sls_record(&self, span: &SpanHandle);
}
impl<T: ?Sized> RecordNothing for &Probe<'_, T> {
    #[inline]
    fn __sls_record(&self, _span: &SpanHandle) {}
}
