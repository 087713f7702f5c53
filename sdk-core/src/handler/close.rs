//! Closing an invocation and exporting it: the one way every opener ends what it opened.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{export::When, installed, internal_error, invocation::Invocation};

/// Closes an invocation and exports it. Only the first close exports; a failure in the SDK's
/// own work is reported, never passed on.
pub(crate) async fn close_and_export(inv: &Invocation, when: When) {
    let finished = catch_unwind(AssertUnwindSafe(|| inv.close())).unwrap_or_else(|_| {
        internal_error::report(
            "panic",
            "the SDK panicked while closing an invocation; its telemetry is lost",
        );
        None
    });
    if let Some(finished) = finished {
        installed::get().pipeline.export(finished, when).await;
    }
}
