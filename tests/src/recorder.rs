//! An in-memory destination for the SDK's exporter, for tests that call handlers in their own
//! process: the SDK writes its OTLP/JSON lines into a [`Recorder`], and the test reads them back
//! as [`FlatSpan`]s.
//!
//! The kit does not depend on the SDK (the SDK's own tests use the kit), so the test hands the
//! recorder to the SDK itself, once per process:
//!
//! ```no_run
//! use serverless_sdk::{Config, export::Exporter};
//! use serverless_sdk_tests::recorder::Recorder;
//!
//! fn recorder() -> Recorder {
//!     Recorder::global(|recorder| {
//!         let writer = Exporter::Writer(recorder.writer());
//!         serverless_sdk::init(Config::from_env().with_exporter(writer));
//!     })
//! }
//!
//! // … call a handler …
//! let exports = recorder().take_exports(); // one `Vec<FlatSpan>` per invocation
//! assert_eq!(exports[0][0].attr_str("serverless.outcome"), Some("success"));
//! ```

use std::{
    io::{self, Write},
    sync::{Arc, Mutex, OnceLock},
};

use crate::{
    lock,
    otlp::{FlatSpan, parse_json_line},
};

/// A cheaply cloned, shared, in-memory byte sink; every clone writes to and reads from the same
/// buffer. See the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    written: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// The recorder of this process: created, and given to `install` (which hands it to the
    /// SDK), by the first call; later calls return it without calling their `install`.
    ///
    /// The SDK can be set up only once per process, and the tests of one binary share that
    /// process, so they share this recorder too: a test reads it with the `take_*` methods,
    /// which empty it.
    pub fn global(install: impl FnOnce(&Recorder)) -> Recorder {
        static GLOBAL: OnceLock<Recorder> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let recorder = Recorder::new();
                install(&recorder);
                recorder
            })
            .clone()
    }

    /// This recorder as the shared writer the SDK's exporter takes: it coerces to
    /// `serverless_sdk::export::SharedWriter` (`Arc<Mutex<dyn Write + Send>>`), as in
    /// `Exporter::Writer(recorder.writer())`.
    pub fn writer(&self) -> Arc<Mutex<Recorder>> {
        Arc::new(Mutex::new(self.clone()))
    }

    /// Whether nothing was written since the last `take_*`.
    pub fn is_empty(&self) -> bool {
        lock(&self.written).is_empty()
    }

    /// Everything written since the last `take_*`, as text, and empties the recorder.
    ///
    /// # Panics
    ///
    /// If what was written is not UTF-8.
    pub fn take_text(&self) -> String {
        let bytes = std::mem::take(&mut *lock(&self.written));
        String::from_utf8(bytes)
            .unwrap_or_else(|err| panic!("the recorder holds bytes that are not UTF-8: {err}"))
    }

    /// The lines written since the last `take_*`, and empties the recorder.
    ///
    /// # Panics
    ///
    /// If what was written is not UTF-8.
    pub fn take_lines(&self) -> Vec<String> {
        self.take_text().lines().map(str::to_owned).collect()
    }

    /// The spans of each line written since the last `take_*` (with the SDK's default
    /// exporter, one line per invocation, its root span first), and empties the recorder.
    ///
    /// # Panics
    ///
    /// If a line is not an OTLP/JSON `ExportTraceServiceRequest`.
    pub fn take_exports(&self) -> Vec<Vec<FlatSpan>> {
        self.take_lines()
            .iter()
            .map(|line| {
                parse_json_line(line)
                    .unwrap_or_else(|| panic!("not an OTLP/JSON export request: {line}"))
            })
            .collect()
    }

    /// Every span written since the last `take_*`, in order, and empties the recorder.
    ///
    /// # Panics
    ///
    /// If a line is not an OTLP/JSON `ExportTraceServiceRequest`.
    pub fn take_spans(&self) -> Vec<FlatSpan> {
        self.take_exports().into_iter().flatten().collect()
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.written).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"root","attributes":[{"key":"n","value":{"intValue":"1"}}]}]}]}]}"#;

    #[test]
    fn clones_share_one_buffer_that_take_empties() {
        let recorder = Recorder::new();
        let shared: Arc<Mutex<dyn Write + Send>> = recorder.writer();
        writeln!(shared.lock().unwrap(), "{LINE}").unwrap();
        writeln!(recorder.clone(), "{LINE}").unwrap();
        assert!(!recorder.is_empty());
        let exports = recorder.take_exports();
        assert_eq!(exports.len(), 2);
        assert_eq!(exports[0][0].name, "root");
        assert_eq!(exports[1][0].attr_i64("n"), Some(1));
        assert!(recorder.is_empty());
        assert!(recorder.take_spans().is_empty());
    }

    #[test]
    #[should_panic(expected = "not an OTLP/JSON export request")]
    fn lines_that_are_not_exports_fail() {
        let recorder = Recorder::new();
        writeln!(recorder.clone(), "hello").unwrap();
        let _ = recorder.take_exports();
    }
}
