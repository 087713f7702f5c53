//! How the SDK reports its own failures: one structured JSON line on stderr, never a panic
//! and never a change to the function's result.

use std::io::{self, Write};

/// Writes `{"level":"ERROR","source":"serverless_sdk","kind":…,"message":…}` to stderr.
pub(crate) fn report(kind: &str, message: &str) {
    let line = serde_json::json!({
        "level": "ERROR",
        "source": "serverless_sdk",
        "kind": kind,
        "message": message,
    });
    let _ = writeln!(io::stderr().lock(), "{line}");
}
