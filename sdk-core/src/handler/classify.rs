//! Classifying a handler's error value: what telemetry records of it, the `errorType` and
//! `errorMessage` Lambda reports, and the HTTP status it maps to.
//!
//! A handler's error type can be anything printable. What the SDK can learn of it depends
//! on what the type implements (`Error` > `Box<dyn Error>` > `Display` > `Debug`; an
//! [`ErrorType`] or [`HttpError`] of its own), and that can only be asked where the type is
//! concrete: the macros expand [`classify!`](crate::__private::classify) at the handler,
//! which picks the most specific reading by autoref dispatch over the probe traits below.

use std::{any::type_name, borrow::Cow, error::Error, fmt};

use super::errors::{ErrorType, HttpError};
use crate::record::{capture::Capture, report::ErrorReport, span::SpanHandle};

/// What a facade adds to the classification of errors: the HTTP status of error types it
/// knows (`serverless_sdk_http` maps `lambda_http`'s payload errors to `400`).
pub trait Facade {
    /// The status and public message of an error the facade knows.
    fn http_of(error: &(dyn Error + 'static)) -> Option<(u16, Cow<'static, str>)> {
        let _ = error;
        None
    }
}

/// The facade of `serverless_sdk` itself.
#[derive(Debug)]
pub enum Core {}

impl Facade for Core {}

/// What the SDK knows of a handler's error value.
#[derive(Debug)]
pub struct ErrorInfo {
    pub(crate) report: ErrorReport,
    /// The error's own `Display` text, for Lambda's `errorMessage`.
    pub(crate) display: String,
    /// The `errorType` the error chose through [`ErrorType`].
    pub(crate) error_type: Option<Cow<'static, str>>,
    /// The status and public message the error chose through [`HttpError`] or its facade.
    pub(crate) http: Option<(u16, Cow<'static, str>)>,
}

impl ErrorInfo {
    /// Assembles what the probes found.
    #[must_use]
    pub fn new(
        report: ErrorReport,
        display: String,
        error_type: Option<Cow<'static, str>>,
        http: Option<(u16, Cow<'static, str>)>,
    ) -> Self {
        Self {
            report,
            display,
            error_type,
            http,
        }
    }

    /// What a caught panic is, as an error.
    pub(crate) fn from_panic(report: ErrorReport) -> Self {
        Self {
            display: report.message.clone(),
            report,
            error_type: None,
            http: None,
        }
    }

    /// The error's value for telemetry.
    #[must_use]
    pub fn report(&self) -> &ErrorReport {
        &self.report
    }

    /// The error's own `Display` text.
    #[must_use]
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The status and public message the error maps to, if any.
    #[must_use]
    pub fn http(&self) -> Option<(u16, &str)> {
        self.http
            .as_ref()
            .map(|(code, message)| (*code, &**message))
    }

    /// Lambda's `errorType`: the error's choice, else its short type name.
    #[must_use]
    pub fn lambda_error_type(&self) -> &str {
        self.error_type.as_deref().unwrap_or(&self.report.type_name)
    }
}

/// Classifies an error known only through `Debug`: the error of a wrapped service or of a
/// response body. A boxed error is named by what its `Debug` output starts with.
pub fn classify_debug<E: fmt::Debug>(error: &E) -> ErrorInfo {
    let text = format!("{error:?}");
    let name = type_name::<E>();
    let report = if name.contains("dyn ") {
        let named =
            crate::record::report::type_from_debug(error).unwrap_or_else(|| "Error".to_owned());
        ErrorReport::from_message(&named, &text, None)
    } else {
        ErrorReport::from_message(name, &text, None)
    };
    ErrorInfo::new(report, text, None, None)
}

/// Wraps a value for autoref-based dispatch on what its type implements.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// The probe traits, one family per question; [`classify!`](crate::__private::classify)
/// imports them all. Each trait is implemented at one level of references, so that method
/// resolution picks the most specific reading the error's type allows.
#[allow(missing_docs)]
pub mod ladder {
    use super::*;

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

    // ---- HTTP status: HttpError > what the facade knows of the error > none ----

    pub trait HttpViaTrait {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)>;
    }
    impl<T: HttpError + ?Sized> HttpViaTrait for &&Probe<'_, T> {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)> {
            Some((self.0.status_code(), self.0.public_message()))
        }
    }

    pub trait HttpViaFacade {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)>;
    }
    impl<T: Error + 'static> HttpViaFacade for &Probe<'_, T> {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)> {
            F::http_of(self.0)
        }
    }

    pub trait HttpViaBox {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)>;
    }
    impl HttpViaBox for &Probe<'_, Box<dyn Error + Send + Sync + 'static>> {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)> {
            F::http_of(&**self.0)
        }
    }
    impl HttpViaBox for &Probe<'_, Box<dyn Error + 'static>> {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)> {
            F::http_of(&**self.0)
        }
    }

    pub trait HttpDefault {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)>;
    }
    impl<T: ?Sized> HttpDefault for Probe<'_, T> {
        fn __sls_http<F: Facade>(&self) -> Option<(u16, Cow<'static, str>)> {
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
}

/// Classifies a handler's error: `classify!(Facade, &error)` gives an [`ErrorInfo`]. Expanded
/// by `#[serverless_handler]` where the error type is concrete.
#[doc(hidden)]
#[macro_export]
macro_rules! __classify {
    ($facade:ty, $error:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::ladder::{
            ErrorTypeDefault as _, ErrorTypeViaTrait as _, HttpDefault as _, HttpViaBox as _,
            HttpViaFacade as _, HttpViaTrait as _, ReportViaBox as _, ReportViaDebug as _,
            ReportViaDisplay as _, ReportViaError as _, TextViaDebug as _, TextViaDisplay as _,
        };
        let error = $error;
        // Settles the error's type before the probes: when the handler's return type is not
        // a `Result` (reported at the return type), it is `{type error}` here and the probes
        // stay silent instead of adding "multiple applicable items" errors.
        trait Known {
            fn known(&self) {}
        }
        impl<T: ?::core::marker::Sized> Known for T {}
        (*error).known();
        $crate::__private::ErrorInfo::new(
            (&&&$crate::__private::Probe(error)).__sls_report(),
            (&&$crate::__private::Probe(error)).__sls_text(),
            (&&$crate::__private::Probe(error)).__sls_error_type(),
            (&&&$crate::__private::Probe(error)).__sls_http::<$facade>(),
        )
    }};
}

/// Records an `Err` value on a `#[span]` function's span: `record_result!(&value, &span)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_result {
    ($value:expr, $span:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::ladder::{
            RecordNothing as _, RecordViaBox as _, RecordViaDisplay as _, RecordViaError as _,
        };
        (&&&&$crate::__private::Probe($value)).__sls_record($span);
    }};
}
