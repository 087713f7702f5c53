//! Error reports: what a captured error, panic or timeout becomes in telemetry and in the
//! Lambda error response. A report holds the error's own text; it is masked and cut when it
//! becomes an `exception` event.

use std::{
    any::Any,
    backtrace::{Backtrace, BacktraceStatus},
    borrow::Cow,
    cell::RefCell,
    error::Error,
    fmt::{self, Write as _},
    hash::{Hash, Hasher},
    panic::Location,
    sync::{
        Arc, Once,
        atomic::{AtomicBool, Ordering},
    },
    time::SystemTime,
};

use opentelemetry::{KeyValue, StringValue, Value, trace::Event};

use super::redact;
use crate::{attributes as attr, config::Settings};

/// The `exception.type` of a caught panic.
pub(crate) const PANIC_TYPE: &str = "Panic";

/// A captured failure, ready to become an `exception` event.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct ErrorReport {
    /// The short type name: `AccountAlreadyExistsException`.
    pub(crate) type_name: String,
    /// The `Display` text, as the error gave it.
    pub(crate) message: String,
    /// `Type: message` for each `source()`.
    pub(crate) chain: Vec<String>,
    pub(crate) stacktrace: Option<Stacktrace>,
    /// Where the failure was raised or captured.
    pub(crate) site: Option<Site>,
    pub(crate) fingerprint: Option<String>,
}

/// A source location.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Site {
    pub(crate) file: Cow<'static, str>,
    pub(crate) line: u32,
}

impl Site {
    /// The site of a `#[track_caller]` function's caller, its file name borrowed.
    pub(crate) fn caller(loc: &'static Location<'static>) -> Self {
        Self {
            file: Cow::Borrowed(loc.file()),
            line: loc.line(),
        }
    }
}

impl From<&Location<'_>> for Site {
    fn from(loc: &Location<'_>) -> Self {
        Self {
            file: Cow::Owned(loc.file().to_owned()),
            line: loc.line(),
        }
    }
}

/// Strips module paths from a type name, keeping generics:
/// `alloc::boxed::Box<my_crate::errors::Bad>` becomes `Box<Bad>`.
///
/// ```
/// assert_eq!(
///     serverless_sdk::errors::short_type_name("my_app::accounts::AccountAlreadyExistsException"),
///     "AccountAlreadyExistsException"
/// );
/// assert_eq!(
///     serverless_sdk::errors::short_type_name("&alloc::boxed::Box<dyn core::error::Error + core::marker::Send>"),
///     "Box<dyn Error + Send>"
/// );
/// ```
#[must_use]
pub fn short_type_name(full: &str) -> String {
    let full = full.trim_start_matches('&');
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    let bytes = full.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' && bytes.get(i + 1) == Some(&b':') {
            // Drop the path segment written so far.
            out.truncate(segment_start);
            i += 2;
            continue;
        }
        let c = bytes[i];
        if !(c.is_ascii_alphanumeric() || c == b'_') {
            out.push(char::from(c));
            segment_start = out.len();
        } else {
            out.push(char::from(c));
        }
        i += 1;
    }
    // Non-ASCII identifiers are rare in type names; fall back to the input if any appear.
    if !full.is_ascii() {
        return full.rsplit("::").next().unwrap_or(full).to_owned();
    }
    out
}

/// The type name a `Debug` output starts with (`Foo { .. }`, `Foo(..)`), which is all a
/// `dyn Error` tells about its concrete type.
pub(crate) fn type_from_debug(error: &dyn fmt::Debug) -> Option<String> {
    DebugIdent::of(error).type_name().map(str::to_owned)
}

/// The identifier a `Debug` output starts with, at most 128 bytes of it, read into a
/// buffer on the stack: formatting stops at the first other character, so a large error is
/// never formatted whole and nothing is allocated.
struct DebugIdent {
    buf: [u8; 128],
    len: usize,
    /// Set at the identifier's end: a `Debug` impl that writes on after an error adds
    /// nothing.
    ended: bool,
}

impl DebugIdent {
    fn of(value: &dyn fmt::Debug) -> Self {
        let mut ident = Self {
            buf: [0; 128],
            len: 0,
            ended: false,
        };
        // Stopping early is an error to the formatter, and expected.
        let _ = write!(ident, "{value:?}");
        ident
    }

    /// The identifier, if it looks like a type's name (it starts with a capital letter).
    fn type_name(&self) -> Option<&str> {
        let ident = std::str::from_utf8(&self.buf[..self.len]).ok()?;
        ident
            .starts_with(|c: char| c.is_ascii_uppercase())
            .then_some(ident)
    }
}

impl fmt::Write for DebugIdent {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if self.ended || self.len == self.buf.len() || !(b.is_ascii_alphanumeric() || b == b'_')
            {
                self.ended = true;
                return Err(fmt::Error);
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// Where a failure happened, as `exception.stacktrace`: a backtrace captured but not yet
/// symbolised.
///
/// Capturing a backtrace walks the stack (a few µs); symbolising it (finding every frame's
/// function, file and line, and loading the debug info the first time) is what costs, up to
/// milliseconds. So a captured backtrace stays unresolved on the span until the invocation
/// is exported, after its response, and is formatted there, once.
#[derive(Clone, Debug)]
pub(crate) struct Stacktrace(Arc<Backtrace>);

/// Set in dev mode: backtraces are captured whatever `RUST_BACKTRACE` says, so the
/// waterfall can show where each error came from.
static ALWAYS_CAPTURE: AtomicBool = AtomicBool::new(false);

/// Captures a backtrace with every error from now on (dev mode), even without
/// `RUST_BACKTRACE`.
#[cfg(feature = "dev")]
pub(crate) fn always_capture_backtraces() {
    ALWAYS_CAPTURE.store(true, Ordering::Relaxed);
}

impl Stacktrace {
    /// A backtrace of the caller, when the user enabled them (`RUST_BACKTRACE` /
    /// `RUST_LIB_BACKTRACE`) or dev mode is on; not symbolised.
    pub(crate) fn capture() -> Option<Self> {
        let bt = if ALWAYS_CAPTURE.load(Ordering::Relaxed) {
            Backtrace::force_capture()
        } else {
            Backtrace::capture()
        };
        (bt.status() == BacktraceStatus::Captured).then(|| Self(Arc::new(bt)))
    }
}

impl ErrorReport {
    /// The short type name of the error: `exception.type`.
    #[must_use]
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The error's own text, before masking.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A report for an error, with its concrete type name when the caller knows it.
    pub(crate) fn from_error(
        error: &(dyn Error + 'static),
        type_name: Option<&'static str>,
        site: Option<Site>,
    ) -> Self {
        let type_name = type_name
            .filter(|t| !t.starts_with("dyn ") && !t.contains("Box<dyn"))
            .map(short_type_name)
            .or_else(|| type_from_debug(&error))
            .unwrap_or_else(|| "Error".to_owned());
        let mut chain = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            if chain.len() >= 16 {
                break;
            }
            let ident = DebugIdent::of(&cause);
            let mut entry = String::new();
            let _ = write!(entry, "{}: {cause}", ident.type_name().unwrap_or("Error"));
            chain.push(entry);
            source = cause.source();
        }
        let stacktrace = Stacktrace::capture();
        Self::new(type_name, error.to_string(), chain, stacktrace, site)
    }

    /// A report for a value that is not a `std::error::Error`: its `Display` or `Debug`.
    pub(crate) fn from_message(type_name: &str, message: &str, site: Option<Site>) -> Self {
        let type_name = short_type_name(type_name);
        let type_name = match type_name.as_str() {
            "String" | "str" | "Cow<str>" => "Error".to_owned(),
            _ => type_name,
        };
        Self::new(type_name, message.to_owned(), Vec::new(), None, site)
    }

    /// A report for a panic caught from the handler.
    pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-string payload".to_owned());
        let (site, stacktrace) = take_last_panic().unzip();
        Self::new(
            PANIC_TYPE.to_owned(),
            message,
            Vec::new(),
            stacktrace.flatten(),
            site,
        )
    }

    pub(crate) fn new(
        type_name: String,
        message: String,
        chain: Vec<String>,
        stacktrace: Option<Stacktrace>,
        site: Option<Site>,
    ) -> Self {
        let mut report = Self {
            type_name,
            message,
            chain,
            stacktrace,
            site,
            fingerprint: None,
        };
        report.fingerprint = Some(report.default_fingerprint());
        report
    }

    /// Groups the same failure across invocations: the error type and where it was raised
    /// or captured, never the variable parts of the message.
    fn default_fingerprint(&self) -> String {
        let mut h = Fnv64::default();
        self.type_name.hash(&mut h);
        if let Some(site) = &self.site {
            site.file.hash(&mut h);
            site.line.hash(&mut h);
        }
        // Sized exactly: the text becomes an attribute value without being copied again.
        let mut fingerprint = String::with_capacity(16);
        let _ = write!(fingerprint, "{:016x}", h.finish());
        fingerprint
    }

    /// The `exception` event for this report, its texts masked and cut. A captured
    /// backtrace is not part of it: the span keeps it unresolved
    /// ([`SpanRecord::push_exception`](crate::invocation::SpanRecord::push_exception)) and
    /// the exporter writes it as `exception.stacktrace`.
    pub(crate) fn to_event(&self, handled: bool, settings: &Settings) -> Event {
        EventTexts {
            type_name: self.type_name.as_str(),
            message: self.message.as_str(),
            chain: self.chain.iter().map(String::as_str),
            site: self.site.clone(),
            fingerprint: self.fingerprint.as_deref(),
        }
        .into_event(handled, settings)
    }

    /// [`ErrorReport::to_event`] of a report no longer needed: its texts move into the
    /// event instead of being copied (masked and cut as they move).
    pub(crate) fn into_event(self, handled: bool, settings: &Settings) -> Event {
        EventTexts {
            type_name: self.type_name,
            message: self.message,
            chain: self.chain.into_iter(),
            site: self.site,
            fingerprint: self.fingerprint,
        }
        .into_event(handled, settings)
    }

    /// The backtrace the span keeps unresolved until export, if any.
    pub(crate) fn captured_backtrace(&self) -> Option<Arc<Backtrace>> {
        self.stacktrace.as_ref().map(|st| Arc::clone(&st.0))
    }
}

/// A text of a report on its way into an `exception` event: a borrowed one is copied, an
/// owned one moved (and masked and cut in place when nothing in it is masked).
trait ReportText {
    /// The text as it is.
    fn into_string(self) -> String;
    /// The text masked and cut ([`redact::clean_text`]).
    fn into_clean(self, settings: &Settings) -> String;
}

impl ReportText for &str {
    fn into_string(self) -> String {
        self.to_owned()
    }

    fn into_clean(self, settings: &Settings) -> String {
        redact::clean_text(self, settings)
    }
}

impl ReportText for String {
    fn into_string(self) -> String {
        self
    }

    fn into_clean(self, settings: &Settings) -> String {
        redact::clean_owned_text(self, settings)
    }
}

/// The parts of an [`ErrorReport`] an `exception` event is made of, borrowed from the
/// report ([`ErrorReport::to_event`]) or taken from it ([`ErrorReport::into_event`]).
struct EventTexts<T, C> {
    type_name: T,
    message: T,
    chain: C,
    site: Option<Site>,
    fingerprint: Option<T>,
}

impl<T: ReportText, C: Iterator<Item = T>> EventTexts<T, C> {
    fn into_event(self, handled: bool, settings: &Settings) -> Event {
        let mut attributes = Vec::with_capacity(8);
        attributes.push(KeyValue::new(
            attr::EXCEPTION_TYPE,
            self.type_name.into_string(),
        ));
        attributes.push(KeyValue::new(
            attr::EXCEPTION_MESSAGE,
            self.message.into_clean(settings),
        ));
        attributes.push(KeyValue::new(attr::EXCEPTION_HANDLED, handled));
        // An empty chain collects into a `Vec` that allocates nothing.
        let chain: Vec<StringValue> = self
            .chain
            .map(|cause| StringValue::from(cause.into_clean(settings)))
            .collect();
        if !chain.is_empty() {
            attributes.push(KeyValue::new(
                attr::EXCEPTION_CHAIN,
                Value::Array(chain.into()),
            ));
        }
        if let Some(site) = self.site {
            attributes.push(KeyValue::new(attr::CODE_FILE_PATH, site.file));
            attributes.push(KeyValue::new(attr::CODE_LINE_NUMBER, i64::from(site.line)));
        }
        if let Some(fp) = self.fingerprint {
            attributes.push(KeyValue::new(attr::EXCEPTION_FINGERPRINT, fp.into_string()));
        }
        Event::new(attr::EXCEPTION_EVENT, SystemTime::now(), attributes, 0)
    }
}

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between releases).
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<(Site, Option<Stacktrace>)>> = const { RefCell::new(None) };
}

fn take_last_panic() -> Option<(Site, Option<Stacktrace>)> {
    LAST_PANIC
        .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
        .ok()
        .flatten()
}

/// Installs a panic hook that remembers where the last panic on each thread happened (and
/// its backtrace, when enabled: captured, not symbolised), then calls the hook that was
/// there before, so panics are still printed as usual.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(loc) = info.location() {
                let bt = Stacktrace::capture();
                let _ = LAST_PANIC.try_with(|p| {
                    if let Ok(mut p) = p.try_borrow_mut() {
                        *p = Some((Site::from(loc), bt));
                    }
                });
            }
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct AccountAlreadyExistsException(String);
    impl fmt::Display for AccountAlreadyExistsException {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Account {} is in use!", self.0)
        }
    }
    impl Error for AccountAlreadyExistsException {}

    #[derive(Debug)]
    struct Wrapper {
        inner: AccountAlreadyExistsException,
    }
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("signup failed")
        }
    }
    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.inner)
        }
    }

    #[test]
    fn short_names_strip_paths_and_keep_generics() {
        for (type_name, short) in [
            ("a::b::C", "C"),
            ("C", "C"),
            (
                "core::result::Result<a::X, alloc::string::String>",
                "Result<X, String>",
            ),
            ("&&a::B", "B"),
        ] {
            assert_eq!(short_type_name(type_name), short, "{type_name}");
        }
    }

    #[test]
    fn concrete_and_dyn_errors_get_the_same_short_name() {
        let err = AccountAlreadyExistsException("bob".into());
        let concrete = ErrorReport::from_error(
            &err,
            Some(std::any::type_name::<AccountAlreadyExistsException>()),
            None,
        );
        assert_eq!(concrete.type_name, "AccountAlreadyExistsException");
        assert_eq!(concrete.message, "Account bob is in use!");
        let boxed: Box<dyn Error + Send + Sync> =
            Box::new(AccountAlreadyExistsException("x".into()));
        let dynamic = ErrorReport::from_error(&*boxed, None, None);
        assert_eq!(dynamic.type_name, "AccountAlreadyExistsException");
        let string_error: Box<dyn Error + Send + Sync> = "plain".into();
        assert_eq!(
            ErrorReport::from_error(&*string_error, None, None).type_name,
            "Error"
        );
    }

    #[test]
    fn type_names_are_read_off_debug_up_to_the_identifier_end() {
        /// Writes on after the formatter reported an error.
        struct Stubborn;
        impl fmt::Debug for Stubborn {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let _ = f.write_str("Stub");
                let _ = f.write_str("born { inner: ");
                f.write_str("Other }")
            }
        }
        assert_eq!(type_from_debug(&Stubborn).as_deref(), Some("Stubborn"));
        assert_eq!(
            type_from_debug(&Wrapper {
                inner: AccountAlreadyExistsException("bob".into())
            })
            .as_deref(),
            Some("Wrapper")
        );
        assert_eq!(type_from_debug(&"a string"), None);
        assert_eq!(type_from_debug(&42), None);
        let long = "A".repeat(200);
        struct Long<'a>(&'a str);
        impl fmt::Debug for Long<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
        assert_eq!(type_from_debug(&Long(&long)).map(|t| t.len()), Some(128));
    }

    #[test]
    fn the_source_chain_is_kept() {
        let err = Wrapper {
            inner: AccountAlreadyExistsException("bob".into()),
        };
        let report = ErrorReport::from_error(&err, Some(std::any::type_name::<Wrapper>()), None);
        assert_eq!(report.type_name, "Wrapper");
        assert_eq!(
            report.chain,
            vec!["AccountAlreadyExistsException: Account bob is in use!"]
        );
    }

    #[test]
    fn fingerprints_ignore_messages_but_not_sites() {
        let site = || {
            Some(Site {
                file: "src/a.rs".into(),
                line: 10,
            })
        };
        let a = ErrorReport::from_message("E", "user 1 failed", site());
        let b = ErrorReport::from_message("E", "user 2 failed", site());
        let c = ErrorReport::from_message(
            "E",
            "user 1 failed",
            Some(Site {
                file: "src/a.rs".into(),
                line: 11,
            }),
        );
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
    }

    /// The event's attributes as (key, value) texts, its time left out.
    fn event_texts(event: &Event) -> Vec<(String, String)> {
        event
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect()
    }

    #[test]
    fn borrowed_and_owned_reports_make_the_same_masked_event() {
        let settings = Settings::default();
        let report = ErrorReport::new(
            "LoginFailed".to_owned(),
            "login failed: password=hunter2   ".to_owned(),
            vec!["Upstream: token=abc123".to_owned()],
            None,
            Some(Site {
                file: "src/login.rs".into(),
                line: 7,
            }),
        );
        let fingerprint = report.fingerprint.clone().expect("a default fingerprint");
        let borrowed = report.to_event(true, &settings);
        let owned = report.into_event(true, &settings);
        assert_eq!(borrowed.attributes, owned.attributes);
        let text =
            |key: &str| attr::text_of(&owned.attributes, key).unwrap_or_else(|| panic!("no {key}"));
        assert_eq!(text(attr::EXCEPTION_TYPE), "LoginFailed");
        assert_eq!(
            text(attr::EXCEPTION_MESSAGE),
            format!("login failed: password={}", redact::MASK)
        );
        assert_eq!(
            text(attr::EXCEPTION_CHAIN),
            format!("[\"Upstream: token={}\"]", redact::MASK)
        );
        assert_eq!(text(attr::EXCEPTION_HANDLED), "true");
        assert_eq!(text(attr::CODE_FILE_PATH), "src/login.rs");
        assert_eq!(text(attr::CODE_LINE_NUMBER), "7");
        assert_eq!(text(attr::EXCEPTION_FINGERPRINT), fingerprint);
    }

    #[test]
    fn a_report_without_chain_or_site_has_no_such_attributes() {
        let report = ErrorReport::from_message("E", "plain", None);
        let keys: Vec<String> = event_texts(&report.to_event(false, &Settings::default()))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(!keys.iter().any(|k| k == attr::EXCEPTION_CHAIN), "{keys:?}");
        assert!(!keys.iter().any(|k| k == attr::CODE_FILE_PATH), "{keys:?}");
    }
}
