//! What a record handler's error becomes on the record's span.

use std::{
    any::Any,
    error::Error,
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
};

use crate::record::report::ErrorReport;

/// The `exception.type` on the span of a FIFO record that was reported failed without
/// being run, because an earlier record of its message group (or batch) failed.
pub(crate) const SKIPPED_TYPE: &str = "MessageGroupFailed";

/// The report of a record handler's error: `exception.type` the short name of the error's
/// type, `exception.message` its `Display` text. A boxed error (`Box<dyn Error + Send +
/// Sync>`, `lambda_runtime::Error`, `anyhow::Error` with the `anyhow` feature) is named by
/// the concrete type inside and keeps its `source()` chain, as `capture_exception` does.
pub(crate) fn report<E: fmt::Display + fmt::Debug + 'static>(error: &E) -> ErrorReport {
    let any: &dyn Any = error;
    let boxed: Option<&(dyn Error + 'static)> =
        if let Some(e) = any.downcast_ref::<Box<dyn Error + Send + Sync>>() {
            Some(&**e)
        } else if let Some(e) = any.downcast_ref::<Box<dyn Error + Send>>() {
            Some(&**e)
        } else if let Some(e) = any.downcast_ref::<Box<dyn Error>>() {
            Some(&**e)
        } else {
            anyhow_error(any)
        };
    match boxed {
        Some(e) => ErrorReport::from_error(e, None, None),
        None => ErrorReport::from_message(std::any::type_name::<E>(), &error.to_string(), None),
    }
}

/// [`report`], for an error whose `Display` or `Debug` may panic: the panic is a report of
/// its own rather than one that escapes into the batch.
pub(crate) fn guarded_report<E: fmt::Display + fmt::Debug + 'static>(error: &E) -> ErrorReport {
    catch_unwind(AssertUnwindSafe(|| report(error))).unwrap_or_else(|payload| {
        let mut report = ErrorReport::from_panic(&*payload);
        report.message = format!("formatting the record's error panicked: {}", report.message);
        report
    })
}

#[cfg(feature = "anyhow")]
fn anyhow_error(any: &dyn Any) -> Option<&(dyn Error + 'static)> {
    let error = any.downcast_ref::<anyhow::Error>()?;
    let error: &(dyn Error + Send + Sync + 'static) = error.as_ref();
    Some(error)
}

#[cfg(not(feature = "anyhow"))]
fn anyhow_error(_: &dyn Any) -> Option<&(dyn Error + 'static)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("card declined for order {0}")]
    struct PaymentDeclined(u32);

    #[test]
    fn errors_are_named_by_their_type_and_told_by_their_display() {
        let report = report(&PaymentDeclined(7));
        assert_eq!(report.type_name(), "PaymentDeclined");
        assert_eq!(report.message(), "card declined for order 7");
        let boxed: Box<dyn Error + Send + Sync> = Box::new(PaymentDeclined(8));
        let report = super::report(&boxed);
        assert_eq!(report.type_name(), "PaymentDeclined");
        assert_eq!(report.message(), "card declined for order 8");
        assert_eq!(super::report(&"plain text").type_name(), "Error");
        assert_eq!(super::report(&String::from("owned")).message(), "owned");
        assert_eq!(
            super::report(&std::io::Error::other("disk")).type_name(),
            "Error"
        );
    }

    #[derive(Debug)]
    struct Unprintable;
    impl fmt::Display for Unprintable {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("no text for this one")
        }
    }

    #[test]
    fn an_error_that_panics_when_printed_is_still_reported() {
        crate::record::report::install_panic_hook();
        let report = guarded_report(&Unprintable);
        assert_eq!(report.type_name(), "Panic");
        assert!(
            report.message().contains("no text for this one"),
            "{report:?}"
        );
    }
}
