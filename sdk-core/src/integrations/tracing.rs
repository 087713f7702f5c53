//! Meeting `tracing` where Rust Lambda code already is: a layer that puts `tracing` spans
//! and events into the invocation's trace, and a log format whose lines carry the request,
//! trace and span ids.

use std::{
    borrow::Cow,
    fmt::{self, Write as _},
    time::SystemTime,
};

use opentelemetry::{
    KeyValue,
    trace::{Event as OtelEvent, SpanKind},
};
use tracing::{Event, Level, Subscriber, field::Field, span};
use tracing_subscriber::{
    Layer,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    layer::Context,
    registry::LookupSpan,
};

use crate::{
    attributes as attr,
    config::Settings,
    invocation::{Current, Outcome, current},
    record::{
        capture::{push_event, record_exception},
        redact,
        report::ErrorReport,
    },
};

/// A `tracing` layer that joins `tracing` to the invocation: inside an invocation,
/// `tracing` spans become children of the current SDK span (and SDK spans opened inside a
/// `tracing` span its children: one tree, whichever API made each node), WARN and ERROR
/// events become span events (an ERROR event with an `error` field is captured like
/// `capture_exception`), and INFO/DEBUG events are kept as breadcrumbs: a bounded ring
/// attached to the next captured error and dropped otherwise. Outside an invocation it
/// records nothing.
///
/// [`run`](crate::run) installs it (with [`LambdaLogFormat`]) when the program has no
/// `tracing` subscriber of its own; otherwise add it to yours:
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let subscriber = tracing_subscriber::registry().with(serverless_sdk::integrations::tracing::ServerlessTracingLayer::new());
/// # let _ = subscriber;
/// ```
///
/// The internals of the runtime and of clients the SDK instruments itself (the AWS SDK,
/// hyper, reqwest, tower, h2, rustls, lambda_runtime) are left out by default: their spans
/// would repeat the SDK's own CLIENT spans many times over, and their chatter would push the
/// application's breadcrumbs out of the ring. Their WARN and ERROR events still count.
/// [`ServerlessTracingLayer::with_library_internals`] records them too.
#[derive(Clone, Debug)]
pub struct ServerlessTracingLayer {
    capture_error_events: bool,
    library_internals: bool,
}

/// Targets (crate paths) whose spans and INFO/DEBUG events are library internals.
const LIBRARY_TARGETS: &[&str] = &[
    "aws_smithy_",
    "aws_sdk_",
    "aws_config",
    "aws_runtime",
    "aws_credential_types",
    "aws_sigv4",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "tower",
    "rustls",
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "opentelemetry",
];

/// Targets whose events restate a failure the SDK records itself: `lambda_runtime` logs
/// every `Err` and panic of the handler.
const RESTATING_TARGETS: &[&str] = &["lambda_runtime::layers::panic"];

fn is_library_target(target: &str) -> bool {
    LIBRARY_TARGETS
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

impl Default for ServerlessTracingLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerlessTracingLayer {
    /// A layer with the defaults: ERROR events with an `error` field are captured.
    #[must_use]
    pub fn new() -> Self {
        Self {
            capture_error_events: true,
            library_internals: false,
        }
    }

    /// Also records the spans and INFO/DEBUG events of library internals (the AWS SDK,
    /// hyper, reqwest, tower, lambda_runtime, …).
    #[must_use]
    pub fn with_library_internals(mut self, record: bool) -> Self {
        self.library_internals = record;
        self
    }

    /// Whether ERROR events carrying an `error` field are captured as exceptions (they are
    /// span events either way).
    #[must_use]
    pub fn with_error_events_captured(mut self, capture: bool) -> Self {
        self.capture_error_events = capture;
        self
    }
}

/// What the layer keeps in a `tracing` span's extensions.
struct SdkSpan {
    current: Current,
    /// The current spans this span replaced on each enter, restored on exit.
    entered: Vec<Option<Current>>,
}

/// Collects a span's or event's fields as attributes (masked and cut), and its message and
/// `error` field.
struct Fields {
    settings: &'static Settings,
    attributes: Vec<KeyValue>,
    message: Option<String>,
    error: Option<ErrorReport>,
}

impl Fields {
    fn new(settings: &'static Settings) -> Self {
        Self {
            settings,
            attributes: Vec::new(),
            message: None,
            error: None,
        }
    }

    fn push(&mut self, field: &Field, value: String) {
        let name = field.name();
        if name == "message" {
            self.message = Some(value);
            return;
        }
        let (value, _) = redact::clean_named_value(name, &value, self.settings);
        self.attributes.push(KeyValue::new(name.to_owned(), value));
    }

    /// A number or a boolean, masked like a text under a sensitive name (`token = 482913`).
    fn push_scalar(&mut self, field: &Field, value: impl Into<opentelemetry::Value>) {
        let name = field.name();
        if name == "message" {
            return;
        }
        if redact::is_sensitive_key(name, &self.settings.redact_keys) {
            self.attributes.push(KeyValue::new(name, redact::MASK));
        } else {
            self.attributes.push(KeyValue::new(name, value.into()));
        }
    }
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_owned());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push_scalar(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.record_i64(field, v),
            Err(_) => self.push(field, value.to_string()),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push_scalar(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push_scalar(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if field.name() == "error" {
            self.error = Some(ErrorReport::from_error(value, None, None));
        }
        self.push(field, value.to_string());
    }
}

impl<S> Layer<S> for ServerlessTracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        // The parent: an explicit `parent:` if it is recorded, else the current span, which
        // both `tracing` spans (on enter) and SDK spans keep up to date.
        let parent = match attrs.parent() {
            Some(explicit) => ctx
                .span(explicit)
                .and_then(|p| p.extensions().get::<SdkSpan>().map(|s| s.current.clone())),
            None if attrs.is_root() => None,
            None => current::get(),
        };
        let Some(parent) = parent else {
            return;
        };
        let meta = attrs.metadata();
        if !self.library_internals && is_library_target(meta.target()) {
            return;
        }
        let Some(index) = parent.inv.start_span(
            parent.span,
            Cow::Borrowed(meta.name()),
            SpanKind::Internal,
            Some((
                meta.name(),
                meta.module_path().unwrap_or_else(|| meta.target()),
            )),
        ) else {
            return;
        };
        let mut fields = Fields::new(parent.inv.settings);
        attrs.record(&mut fields);
        let current = Current {
            inv: parent.inv.clone(),
            span: index,
        };
        if !fields.attributes.is_empty() {
            let max = current.inv.settings.limits.max_attributes_per_span;
            current.inv.with_span(index, |s| {
                for kv in fields.attributes {
                    s.set_attribute(kv, max);
                }
            });
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SdkSpan {
                current,
                entered: Vec::new(),
            });
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let extensions = span.extensions();
        let Some(sdk) = extensions.get::<SdkSpan>() else {
            return;
        };
        let mut fields = Fields::new(sdk.current.inv.settings);
        values.record(&mut fields);
        let max = sdk.current.inv.settings.limits.max_attributes_per_span;
        sdk.current.inv.with_span(sdk.current.span, |s| {
            for kv in fields.attributes {
                s.set_attribute(kv, max);
            }
        });
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(sdk) = extensions.get_mut::<SdkSpan>() {
            let previous = current::replace(Some(sdk.current.clone()));
            sdk.entered.push(previous);
        }
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(sdk) = extensions.get_mut::<SdkSpan>()
            && let Some(previous) = sdk.entered.pop()
        {
            drop(current::replace(previous));
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let extensions = span.extensions();
        if let Some(sdk) = extensions.get::<SdkSpan>() {
            sdk.current.inv.end_span(sdk.current.span);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let target = match event.parent() {
            Some(explicit) => ctx
                .span(explicit)
                .and_then(|s| s.extensions().get::<SdkSpan>().map(|s| s.current.clone())),
            None => current::get(),
        };
        let Some(target) = target else {
            return;
        };
        let meta = event.metadata();
        if !self.library_internals
            && *meta.level() > Level::WARN
            && is_library_target(meta.target())
        {
            return;
        }
        if RESTATING_TARGETS.contains(&meta.target()) {
            return;
        }
        let mut fields = Fields::new(target.inv.settings);
        event.record(&mut fields);
        let message = fields.message.take().unwrap_or_default();
        let message = redact::clean_text(&message, target.inv.settings);
        let level = *meta.level();
        if level <= Level::WARN {
            if level == Level::ERROR
                && self.capture_error_events
                && let Some(mut report) = fields.error.take()
            {
                if report.message.is_empty() {
                    report.message.clone_from(&message);
                }
                record_exception(&target, &report, true, Outcome::ErrorHandled);
            }
            let mut attributes = Vec::with_capacity(fields.attributes.len() + 3);
            attributes.push(KeyValue::new(attr::LEVEL, level.as_str()));
            attributes.push(KeyValue::new("target", meta.target()));
            attributes.push(KeyValue::new(attr::MESSAGE, message.clone()));
            attributes.extend(fields.attributes);
            let name = if message.is_empty() {
                meta.name().to_owned()
            } else {
                message
            };
            push_event(
                &target,
                OtelEvent::new(name, SystemTime::now(), attributes, 0),
            );
        } else {
            let mut crumb = format!("{} {}: {message}", level.as_str(), meta.target());
            for kv in &fields.attributes {
                let _ = write!(crumb, " {}={}", kv.key, kv.value);
            }
            target.inv.add_breadcrumb(crumb);
        }
    }
}

/// The line format of Lambda's JSON logs (`AWS_LAMBDA_LOG_FORMAT=JSON`), with the
/// invocation's ids: `{"timestamp","level","message","requestId","traceId","spanId",
/// "target", fields…}`, so CloudWatch Logs Insights finds every line of an invocation and
/// a trace backend links logs to spans.
///
/// ```
/// let subscriber = tracing_subscriber::fmt()
///     .event_format(serverless_sdk::integrations::tracing::LambdaLogFormat::json())
///     .finish();
/// # let _ = subscriber;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LambdaLogFormat {
    json: bool,
}

impl LambdaLogFormat {
    /// One JSON object per line.
    #[must_use]
    pub fn json() -> Self {
        Self { json: true }
    }

    /// Plain text with the request id, like Lambda's text format.
    #[must_use]
    pub fn text() -> Self {
        Self { json: false }
    }

    /// `AWS_LAMBDA_LOG_FORMAT`: `JSON` gives JSON lines, anything else text.
    #[must_use]
    pub fn from_env() -> Self {
        let json =
            std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
        Self { json }
    }
}

/// A `Visit` that renders fields into a JSON object.
struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
}

fn rfc3339_now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl<S, N> FormatEvent<S, N> for LambdaLogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = current::with(|c| {
            c.map(|c| {
                let span_id = c.inv.span_id(c.span);
                (
                    c.inv.request_id.to_string(),
                    c.inv.trace_id.to_string(),
                    span_id.map(|s| s.to_string()).unwrap_or_default(),
                )
            })
        });
        let meta = event.metadata();
        let mut fields = JsonFields(serde_json::Map::new());
        event.record(&mut fields);
        let message = fields
            .0
            .remove("message")
            .and_then(|m| m.as_str().map(str::to_owned))
            .unwrap_or_default();
        if self.json {
            let mut line = serde_json::Map::new();
            line.insert("timestamp".into(), rfc3339_now().into());
            line.insert("level".into(), meta.level().as_str().into());
            line.insert("message".into(), message.into());
            line.insert("target".into(), meta.target().into());
            if let Some((request_id, trace_id, span_id)) = ids {
                line.insert("requestId".into(), request_id.into());
                line.insert("traceId".into(), trace_id.into());
                line.insert("spanId".into(), span_id.into());
            }
            for (k, v) in fields.0 {
                line.entry(k).or_insert(v);
            }
            writeln!(writer, "{}", serde_json::Value::Object(line))
        } else {
            let request_id = ids.map(|(r, ..)| r).unwrap_or_default();
            write!(
                writer,
                "{} {} {} {}: {message}",
                rfc3339_now(),
                request_id,
                meta.level(),
                meta.target()
            )?;
            for (k, v) in fields.0 {
                write!(writer, " {k}={v}")?;
            }
            writeln!(writer)
        }
    }
}

/// The level filter from `AWS_LAMBDA_LOG_LEVEL` (`TRACE`…`FATAL`), `INFO` when unset.
fn level_from_env() -> tracing::level_filters::LevelFilter {
    use tracing::level_filters::LevelFilter;
    match std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .unwrap_or_default()
        .to_ascii_uppercase()
        .as_str()
    {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "WARN" => LevelFilter::WARN,
        "ERROR" | "FATAL" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

/// Installs a `tracing` subscriber with [`ServerlessTracingLayer`] and logs in [`LambdaLogFormat`]
/// (per `AWS_LAMBDA_LOG_FORMAT`, filtered by `AWS_LAMBDA_LOG_LEVEL`) on stderr, unless the
/// program has installed a subscriber already. Returns whether it installed one. [`run`](crate::run)
/// calls it.
///
/// ```
/// serverless_sdk::integrations::tracing::install();
/// tracing::info!("ready");
/// ```
pub fn install() -> bool {
    use tracing_subscriber::prelude::*;

    if tracing::dispatcher::has_been_set() {
        return false;
    }
    let logs = tracing_subscriber::fmt::layer()
        .event_format(LambdaLogFormat::from_env())
        .with_writer(std::io::stderr)
        .with_filter(level_from_env());
    // Breadcrumbs want DEBUG events even when the logs show only INFO.
    let layer =
        ServerlessTracingLayer::new().with_filter(tracing::level_filters::LevelFilter::DEBUG);
    tracing_subscriber::registry()
        .with(layer)
        .with(logs)
        .try_init()
        .is_ok()
}
