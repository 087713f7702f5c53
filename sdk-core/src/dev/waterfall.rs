//! The renderer's view of a span.

/// One span as the waterfall draws it.
///
/// Ids are lowercase hex, as OTLP/JSON writes them; a span whose `parent_span_id` is empty or
/// not among the spans rendered is a root.
///
/// ```
/// use serverless_sdk::dev::WaterfallSpan;
///
/// let root = WaterfallSpan {
///     trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
///     span_id: "b7ad6b7169203331".into(),
///     name: "GET /users/{id}".into(),
///     start_unix_nano: 1_000_000,
///     end_unix_nano: 5_000_000,
///     ..WaterfallSpan::default()
/// };
/// assert!(!root.error);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaterfallSpan {
    /// The trace id, 32 hex digits.
    pub trace_id: String,
    /// The span id, 16 hex digits.
    pub span_id: String,
    /// The parent's span id; empty for none.
    pub parent_span_id: String,
    /// The span's name.
    pub name: String,
    /// Start time, nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// End time, nanoseconds since the Unix epoch.
    pub end_unix_nano: u64,
    /// Whether the span's status is error.
    pub error: bool,
    /// The status message of an error span.
    pub status_message: String,
    /// The span's attributes, as text; roots show the key ones and their tags.
    pub attributes: Vec<(String, String)>,
    /// The span's `exception` events.
    pub exceptions: Vec<WaterfallException>,
}

/// An `exception` event as the waterfall draws it.
///
/// ```
/// use serverless_sdk::dev::WaterfallException;
///
/// let exception = WaterfallException {
///     kind: "DbError".into(),
///     message: "connection refused".into(),
///     ..WaterfallException::default()
/// };
/// assert!(exception.stacktrace.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaterfallException {
    /// `exception.type`.
    pub kind: String,
    /// `exception.message`.
    pub message: String,
    /// `exception.stacktrace`, as `std::backtrace::Backtrace` prints it; may be empty.
    pub stacktrace: String,
}
