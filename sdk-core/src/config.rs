//! Configuration: read once at cold start from the environment, or built in code.
//!
//! This module reads nothing else of the crate: every stage of an invocation reads the
//! settings fixed here, and nothing here depends on those stages. The OpenTelemetry SDK
//! variables of a traces exporter are parsed in `otel_env`.

mod otel_env;

pub use otel_env::Compression;
pub(crate) use otel_env::OtlpEnv;
#[cfg(feature = "otlp")]
pub(crate) use otel_env::join;

use std::{
    borrow::Cow,
    env, fmt,
    future::Future,
    io::Write,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{ShouldSample, SpanData, SpanExporter},
};

/// Size caps that keep an invocation's telemetry bounded whatever the handler does.
///
/// ```
/// use serverless_sdk::config::Limits;
///
/// let limits = Limits::default();
/// assert_eq!(limits.max_spans, 1000);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Spans recorded per invocation, root included (`SERVERLESS_SDK_MAX_SPANS`, 1000).
    pub max_spans: usize,
    /// Tags per invocation (`SERVERLESS_SDK_MAX_TAGS`, 50).
    pub max_tags: usize,
    /// Bytes of one tag value or message (`SERVERLESS_SDK_MAX_VALUE_BYTES`, 4096).
    pub max_value_bytes: usize,
    /// Bytes of one tag's custom JSON (`SERVERLESS_SDK_MAX_CUSTOM_BYTES`, 8192).
    pub max_custom_bytes: usize,
    /// Events on one span (`SERVERLESS_SDK_MAX_EVENTS`, 128).
    pub max_events_per_span: usize,
    /// Attributes the function's code sets on one span, through span guards and `tracing`
    /// fields (`SERVERLESS_SDK_MAX_ATTRIBUTES`, 128); the SDK's own come on top.
    pub max_attributes_per_span: usize,
    /// Bytes of one exported stdout line (`SERVERLESS_SDK_MAX_LINE_BYTES`, 262144, as
    /// CloudWatch Logs allows).
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_spans: 1000,
            max_tags: 50,
            max_value_bytes: 4096,
            max_custom_bytes: 8192,
            max_events_per_span: 128,
            max_attributes_per_span: 128,
            max_line_bytes: 256 * 1024,
        }
    }
}

/// A destination for exported OTLP/JSON lines, shared with the code that reads them.
pub type SharedWriter = Arc<Mutex<dyn Write + Send>>;

/// Where telemetry goes.
///
/// The built-in exporters ([`Console`](Self::Console), [`Writer`](Self::Writer),
/// [`Otlp`](Self::Otlp)) write each invocation straight from the SDK's own records into one
/// reused buffer. [`SpanExporter`](Self::SpanExporter) hands the spans, as OpenTelemetry
/// `SpanData`, to any OpenTelemetry [`SpanExporter`]
/// instead.
///
/// ```
/// use serverless_sdk::export::Exporter;
/// use std::sync::{Arc, Mutex};
///
/// let console = Exporter::Console;                                   // the default
/// let sink = Exporter::Writer(Arc::new(Mutex::new(std::io::sink())));
/// let collector = Exporter::Otlp { endpoint: Some("http://localhost:4318".into()) };
/// // The envelope serverless-otlp-forwarder reads from CloudWatch Logs (`otlp-stdout` feature).
/// let forwarder = Exporter::OtlpStdout;
/// let forwarder_to = Exporter::OtlpStdoutWriter(Arc::new(Mutex::new(std::io::sink())));
/// // Any OpenTelemetry exporter: a vendor's, opentelemetry-stdout, your own.
/// let yours = Exporter::span_exporter(serverless_sdk::export::OtlpJsonExporter::stdout());
/// # let _ = (console, sink, collector, yours, forwarder, forwarder_to);
/// ```
#[non_exhaustive]
pub enum Exporter {
    /// One OTLP/JSON `ExportTraceServiceRequest` line per invocation on stdout.
    Console,
    /// The same lines, written to a writer of your choice.
    Writer(SharedWriter),
    /// OTLP over HTTP (protobuf) to a collector. With `endpoint: None`, the standard
    /// `OTEL_EXPORTER_OTLP_*` variables decide.
    Otlp {
        /// Base URL of the collector, e.g. `http://localhost:4318`.
        endpoint: Option<String>,
    },
    /// One line per invocation on stdout in the envelope of `otlp-stdout-span-exporter`
    /// 0.18: a JSON object (`__otel_otlp_stdout`, `source`, `endpoint`, `method`,
    /// `content-type`, `content-encoding`, `payload`, `base64`) around the invocation's OTLP
    /// protobuf request, gzipped and base64-encoded, as serverless-otlp-forwarder reads it
    /// from CloudWatch Logs (`OTEL_TRACES_EXPORTER=otlp-stdout`). The smallest stdout
    /// output. The gzip level is `OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL` (default 6) or
    /// [`Config::with_otlp_stdout_compression_level`]. Needs the `otlp-stdout` feature.
    OtlpStdout,
    /// The same envelope lines, written to a writer of your choice.
    OtlpStdoutWriter(SharedWriter),
    /// Nothing is exported.
    None,
    /// Each invocation's spans as OpenTelemetry `SpanData`, handed to an OpenTelemetry
    /// [`SpanExporter`] of your choice, once per
    /// invocation, within the export timeout. Build it with [`Exporter::span_exporter`].
    ///
    /// The exporter gets the SDK's resource (`set_resource`) once, when the SDK is
    /// installed. This path converts every span into `SpanData` first, so it costs more
    /// than the built-in exporters; the spans, attributes, events (with their
    /// `exception.stacktrace`) and links are the same.
    SpanExporter(BoxedSpanExporter),
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Console => f.write_str("Console"),
            Self::Writer(_) => f.write_str("Writer"),
            Self::OtlpStdout => f.write_str("OtlpStdout"),
            Self::OtlpStdoutWriter(_) => f.write_str("OtlpStdoutWriter"),
            Self::Otlp { endpoint } => f.debug_struct("Otlp").field("endpoint", endpoint).finish(),
            Self::None => f.write_str("None"),
            Self::SpanExporter(e) => f.debug_tuple("SpanExporter").field(e).finish(),
        }
    }
}

/// Whether OTLP/HTTP requests are signed with AWS SigV4, as AWS X-Ray's OTLP endpoint
/// (`https://xray.{region}.amazonaws.com/v1/traces`) requires.
///
/// Read from `SERVERLESS_SDK_OTLP_SIGV4` (`auto`, `xray`, `off`) or set with
/// [`Config::with_otlp_signing`]. A signed request uses the function's own credentials,
/// read from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` once, at
/// the first export, and the region of the endpoint's host, else `AWS_REGION` (else
/// `AWS_DEFAULT_REGION`). Signing needs the
/// `xray` feature of `serverless_sdk`.
///
/// ```
/// use serverless_sdk::{Config, export::OtlpSigning};
///
/// // Sign for X-Ray whatever the host is, e.g. behind a proxy on localhost.
/// let config = Config::from_env().with_otlp_signing(OtlpSigning::XRay);
/// assert_eq!(config.otlp_signing(), OtlpSigning::XRay);
/// assert_eq!(OtlpSigning::default(), OtlpSigning::Auto);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpSigning {
    /// SigV4 for service `xray` when the traces endpoint's host is
    /// `xray.{region}.amazonaws.com`, else unsigned. The default.
    #[default]
    Auto,
    /// SigV4 for service `xray`, whatever the host.
    XRay,
    /// Never signed.
    Off,
}

impl OtlpSigning {
    fn read_env(warnings: &mut Vec<String>) -> Self {
        let Ok(value) = env::var("SERVERLESS_SDK_OTLP_SIGV4") else {
            return Self::Auto;
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Self::Auto,
            "xray" | "true" | "1" => Self::XRay,
            "off" | "none" | "false" | "0" => Self::Off,
            other => {
                warnings.push(format!(
                    "SERVERLESS_SDK_OTLP_SIGV4={other:?} is not supported (use auto, xray or off); using auto"
                ));
                Self::Auto
            }
        }
    }
}

/// An OpenTelemetry [`SpanExporter`] behind a box, for [`Exporter::SpanExporter`].
///
/// ```
/// use serverless_sdk::export::{BoxedSpanExporter, OtlpJsonExporter};
///
/// let boxed = BoxedSpanExporter::new(OtlpJsonExporter::stdout());
/// # let _ = boxed;
/// ```
pub struct BoxedSpanExporter(Box<dyn DynSpanExporter>);

impl BoxedSpanExporter {
    /// Boxes `exporter`.
    pub fn new(exporter: impl SpanExporter + 'static) -> Self {
        Self(Box::new(exporter))
    }

    /// Exports one batch.
    pub(crate) fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>> {
        self.0.export_boxed(batch)
    }

    /// Gives the exporter the resource every span belongs to.
    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource_dyn(resource);
    }
}

impl fmt::Debug for BoxedSpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_dyn(f)
    }
}

/// [`SpanExporter`] as a trait object: its `export` returns an `impl Future`, which a
/// `dyn` cannot.
trait DynSpanExporter: Send + Sync {
    fn export_boxed(
        &self,
        batch: Vec<SpanData>,
    ) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>>;
    fn set_resource_dyn(&mut self, resource: &Resource);
    fn fmt_dyn(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<E: SpanExporter + 'static> DynSpanExporter for E {
    fn export_boxed(
        &self,
        batch: Vec<SpanData>,
    ) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>> {
        Box::pin(self.export(batch))
    }

    fn set_resource_dyn(&mut self, resource: &Resource) {
        self.set_resource(resource);
    }

    fn fmt_dyn(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Exporter {
    /// [`Exporter::SpanExporter`] with `exporter`: each invocation's spans go to this
    /// OpenTelemetry exporter as `SpanData`.
    ///
    /// ```
    /// use opentelemetry_sdk::{error::OTelSdkResult, trace::{SpanData, SpanExporter}};
    /// use serverless_sdk::{Config, export::Exporter};
    ///
    /// /// Prints the name of every span.
    /// #[derive(Debug)]
    /// struct Names;
    ///
    /// impl SpanExporter for Names {
    ///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
    ///         for span in batch {
    ///             println!("{}", span.name);
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let config = Config::from_env().with_exporter(Exporter::span_exporter(Names));
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn span_exporter(exporter: impl SpanExporter + 'static) -> Self {
        Self::SpanExporter(BoxedSpanExporter::new(exporter))
    }

    /// Chooses the exporter from `OTEL_TRACES_EXPORTER` and `OTEL_EXPORTER_OTLP_ENDPOINT`.
    /// An unsupported value falls back to the console and is reported at cold start.
    ///
    /// ```
    /// // With no configuration, telemetry goes to stdout.
    /// # if std::env::var_os("OTEL_TRACES_EXPORTER").is_none() && std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
    /// assert!(matches!(serverless_sdk::export::Exporter::from_env(), serverless_sdk::export::Exporter::Console));
    /// # }
    /// ```
    #[must_use]
    pub fn from_env() -> Self {
        Self::read_env(&mut Vec::new())
    }

    fn read_env(warnings: &mut Vec<String>) -> Self {
        let endpoint_set = [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]
        .iter()
        .any(|v| env::var(v).is_ok_and(|s| !s.trim().is_empty()));
        let choice = env::var("OTEL_TRACES_EXPORTER").unwrap_or_default();
        match choice.trim().to_ascii_lowercase().as_str() {
            "none" => Self::None,
            "console" | "stdout" | "logging" => Self::Console,
            "otlp" => Self::Otlp { endpoint: None },
            "otlp-stdout" | "otlp_stdout" => Self::OtlpStdout,
            "" if endpoint_set => Self::Otlp { endpoint: None },
            "" => Self::Console,
            other => {
                warnings.push(format!(
                    "OTEL_TRACES_EXPORTER={other:?} is not supported (use otlp, otlp-stdout, console or none); using console"
                ));
                Self::Console
            }
        }
    }
}

/// The SDK's configuration.
///
/// [`Config::from_env`] reads every setting from the environment; the builder methods
/// override them in code. Install it with [`init`](crate::init) before the first
/// invocation, or let [`run`](crate::run) read the environment.
///
/// | variable | effect | default |
/// |---|---|---|
/// | `OTEL_TRACES_EXPORTER` | `console` (stdout OTLP/JSON lines), `otlp`, `otlp-stdout` (the envelope serverless-otlp-forwarder reads, [`Exporter::OtlpStdout`]), `none` | `otlp` when an endpoint is set, else `console` |
/// | `OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL` | gzip level of `otlp-stdout`, 0–9 | 6 |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT` | collector base URL for OTLP/HTTP; `/v1/traces` is appended | unset |
/// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the full traces URL, used as is; wins over the one above | unset |
/// | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` (the only one built in) | `http/protobuf` |
/// | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | `key=value,…` (values percent-decoded) sent with every OTLP request; the traces one wins key by key; values never logged | none |
/// | `OTEL_EXPORTER_OTLP_COMPRESSION`, `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` | `gzip` or `none` | `none` |
/// | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` | the export timeout, in milliseconds | `SERVERLESS_SDK_EXPORT_TIMEOUT_MS` |
/// | `OTEL_SERVICE_NAME` | `service.name` | `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else the function name |
/// | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,…` (values percent-decoded) added to the resource of every export | none |
/// | `OTEL_SDK_DISABLED` | `true`: nothing is exported (handlers run as usual) | `false` |
/// | `OTEL_TRACES_SAMPLER` | `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`; failed invocations are always kept | `always_on` |
/// | `OTEL_TRACES_SAMPLER_ARG` | the ratio of the `*traceidratio` samplers, 0 to 1 | `1.0` |
/// | `SERVERLESS_SDK_OTLP_SIGV4` | `auto`: SigV4-sign OTLP/HTTP requests to `xray.{region}.amazonaws.com`; `xray`: sign whatever the host; `off` (see [`OtlpSigning`]) | `auto` |
/// | `SERVERLESS_SDK_EXPORT_TIMEOUT_MS` | longest wait for one export; wins over `OTEL_EXPORTER_OTLP_*TIMEOUT` (unless malformed) | 2000 |
/// | `SERVERLESS_SDK_TIMEOUT_MARGIN_MS` | how long before the deadline a timeout is reported | 50 |
/// | `SERVERLESS_SDK_EXPOSE_ERRORS` | `true`: 500 bodies carry the error text (development only) | `false` |
/// | `SERVERLESS_SDK_CAPTURE_CLIENT_ERRORS` | `true`: 4xx errors are also captured as exceptions | `false` |
/// | `SERVERLESS_SDK_EMF_METRICS` | `true`: one CloudWatch EMF metrics line per invocation | `false` |
/// | `SERVERLESS_SDK_DEV` | `true`: dev mode, each invocation's trace drawn on stderr (see `dev`) | `false` |
/// | `SERVERLESS_SDK_REDACT_KEYS` | extra comma-separated keys whose values are masked | |
/// | `SERVERLESS_SDK_MAX_*` | the [`Limits`] | see there |
///
/// A value that does not parse keeps the default and is reported in one line on stderr
/// when the configuration is installed (a header's value is never printed).
///
/// ```
/// use serverless_sdk::{export::Exporter, Config};
///
/// let config = Config::from_env()
///     .with_exporter(Exporter::None)
///     .with_service_name("checkout");
/// assert_eq!(config.service_name(), Some("checkout"));
/// ```
#[derive(Debug)]
pub struct Config {
    pub(crate) exporter: Exporter,
    pub(crate) otlp_signing: OtlpSigning,
    /// The gzip level of [`Exporter::OtlpStdout`], 0–9.
    pub(crate) otlp_stdout_level: u32,
    /// The `level` key of [`Exporter::OtlpStdout`]'s envelope
    /// (`OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL`), absent when unset.
    #[cfg_attr(not(feature = "otlp-stdout"), allow(dead_code))]
    pub(crate) otlp_stdout_log_level: Option<&'static str>,
    pub(crate) service_name: Option<Cow<'static, str>>,
    pub(crate) export_timeout: Duration,
    pub(crate) timeout_margin: Duration,
    pub(crate) expose_errors: bool,
    pub(crate) capture_client_errors: bool,
    pub(crate) emf_metrics: bool,
    pub(crate) dev_mode: bool,
    pub(crate) redact_keys: Vec<String>,
    pub(crate) limits: Limits,
    /// The OTLP exporter's endpoint, headers and compression from the environment.
    pub(crate) otlp: OtlpEnv,
    /// `OTEL_RESOURCE_ATTRIBUTES` and the attributes set in code, in order.
    pub(crate) resource_attributes: Vec<(String, String)>,
    /// Which successful invocations are exported; `None` keeps them all.
    pub(crate) sampler: Option<Box<dyn ShouldSample>>,
    /// `OTEL_SDK_DISABLED`: nothing is exported.
    pub(crate) sdk_disabled: bool,
    /// What did not parse, said once when the configuration is installed.
    pub(crate) warnings: Vec<String>,
}

/// The gzip level of [`Exporter::OtlpStdout`] when nothing sets one, as in
/// `otlp-stdout-span-exporter`.
pub(crate) const OTLP_STDOUT_DEFAULT_LEVEL: u32 = 6;

/// The gzip level from `OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL`, the variable
/// `otlp-stdout-span-exporter` reads; a value that is not 0–9 is reported and the default
/// is used.
fn otlp_stdout_level_from_env(warnings: &mut Vec<String>) -> u32 {
    const NAME: &str = "OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL";
    let Ok(value) = env::var(NAME) else {
        return OTLP_STDOUT_DEFAULT_LEVEL;
    };
    match value.trim().parse::<u32>() {
        Ok(level) if level <= 9 => level,
        _ => {
            warnings.push(format!(
                "{NAME}={value:?} is not a gzip level (0 to 9); using {OTLP_STDOUT_DEFAULT_LEVEL}"
            ));
            OTLP_STDOUT_DEFAULT_LEVEL
        }
    }
}

/// The `level` key of the envelope from `OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL`, written as
/// `otlp-stdout-span-exporter` writes it (`DEBUG`, `INFO`, `WARN`, `ERROR`); another value
/// is reported and leaves the key out.
fn otlp_stdout_log_level_from_env(warnings: &mut Vec<String>) -> Option<&'static str> {
    const NAME: &str = "OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL";
    let value = env::var(NAME).ok().filter(|v| !v.trim().is_empty())?;
    let level = match value.trim().to_ascii_lowercase().as_str() {
        "debug" => "DEBUG",
        "info" => "INFO",
        "warn" | "warning" => "WARN",
        "error" => "ERROR",
        _ => {
            warnings.push(format!(
                "{NAME}={value:?} is not DEBUG, INFO, WARN or ERROR; the envelope has no level"
            ));
            return None;
        }
    };
    Some(level)
}

/// Keys whose values never reach telemetry.
pub(crate) const DEFAULT_REDACT_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "set-cookie",
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "access_key",
    "private_key",
    "credential",
    "session",
    "signature",
];

/// Reads environment variables, keeping a note of every value that does not parse.
struct EnvReader {
    warnings: Vec<String>,
}

impl EnvReader {
    fn bool(&mut self, name: &str, default: bool) -> bool {
        let Ok(v) = env::var(name) else {
            return default;
        };
        match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" | "" => false,
            _ => {
                self.warnings.push(format!(
                    "{name}={v:?} is not a boolean (use true or false); using {default}"
                ));
                default
            }
        }
    }

    fn num<T: std::str::FromStr + fmt::Display + Copy>(&mut self, name: &str, default: T) -> T {
        let Ok(v) = env::var(name) else {
            return default;
        };
        if let Ok(n) = v.trim().parse() {
            return n;
        }
        self.warnings
            .push(format!("{name}={v:?} is not a number; using {default}"));
        default
    }
}

impl Config {
    /// Reads the configuration from the environment (see the table above). Makes no
    /// network call.
    #[must_use]
    pub fn from_env() -> Self {
        let mut env_reader = EnvReader {
            warnings: Vec::new(),
        };
        let r = &mut env_reader;
        let defaults = Limits::default();
        let limits = Limits {
            max_spans: r.num("SERVERLESS_SDK_MAX_SPANS", defaults.max_spans).max(1),
            max_tags: r.num("SERVERLESS_SDK_MAX_TAGS", defaults.max_tags),
            max_value_bytes: r
                .num("SERVERLESS_SDK_MAX_VALUE_BYTES", defaults.max_value_bytes)
                .max(16),
            max_custom_bytes: r
                .num("SERVERLESS_SDK_MAX_CUSTOM_BYTES", defaults.max_custom_bytes)
                .max(16),
            max_events_per_span: r.num("SERVERLESS_SDK_MAX_EVENTS", defaults.max_events_per_span),
            max_attributes_per_span: r.num(
                "SERVERLESS_SDK_MAX_ATTRIBUTES",
                defaults.max_attributes_per_span,
            ),
            max_line_bytes: r
                .num("SERVERLESS_SDK_MAX_LINE_BYTES", defaults.max_line_bytes)
                .max(4096),
        };
        let redact_keys = env::var("SERVERLESS_SDK_REDACT_KEYS")
            .map(|v| {
                v.split(',')
                    .map(|k| k.trim().to_ascii_lowercase())
                    .filter(|k| !k.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        // Malformed, it wins over nothing: the OTLP timeout (or the default) is used.
        let sdk_export_timeout = env::var("SERVERLESS_SDK_EXPORT_TIMEOUT_MS")
            .ok()
            .and_then(|v| match v.trim().parse::<u64>() {
                Ok(ms) => Some(Duration::from_millis(ms)),
                Err(_) => {
                    r.warnings.push(format!(
                        "SERVERLESS_SDK_EXPORT_TIMEOUT_MS={v:?} is not a number of milliseconds; using OTEL_EXPORTER_OTLP_*TIMEOUT, else 2000 ms"
                    ));
                    None
                }
            });
        let timeout_margin =
            Duration::from_millis(r.num("SERVERLESS_SDK_TIMEOUT_MARGIN_MS", 50_u64));
        let expose_errors = r.bool("SERVERLESS_SDK_EXPOSE_ERRORS", false);
        let capture_client_errors = r.bool("SERVERLESS_SDK_CAPTURE_CLIENT_ERRORS", false);
        let emf_metrics = r.bool("SERVERLESS_SDK_EMF_METRICS", false);
        let dev_mode = r.bool("SERVERLESS_SDK_DEV", false);
        let mut warnings = env_reader.warnings;
        if dev_mode && !cfg!(feature = "dev") {
            warnings.push(
                "SERVERLESS_SDK_DEV=true needs the `dev` feature of serverless_sdk; dev mode is off"
                    .to_owned(),
            );
        }
        let exporter = Exporter::read_env(&mut warnings);
        let otlp = otel_env::read_otlp(&mut warnings);
        // The SDK's own variable first, then the OTLP exporter's, then the default.
        let default_timeout = sdk_export_timeout.unwrap_or(Duration::from_millis(2000));
        let otlp_timeout = otel_env::read_otlp_timeout(default_timeout, &mut warnings);
        let export_timeout = sdk_export_timeout
            .or(otlp_timeout)
            .unwrap_or(default_timeout);
        let resource_attributes = otel_env::read_resource_attributes(&mut warnings);
        let sampler = otel_env::read_sampler(&mut warnings);
        let sdk_disabled = otel_env::read_sdk_disabled(&mut warnings);
        let otlp_signing = OtlpSigning::read_env(&mut warnings);
        let otlp_stdout_level = otlp_stdout_level_from_env(&mut warnings);
        let otlp_stdout_log_level = otlp_stdout_log_level_from_env(&mut warnings);
        Self {
            exporter,
            otlp_signing,
            otlp_stdout_level,
            otlp_stdout_log_level,
            service_name: env::var("OTEL_SERVICE_NAME")
                .ok()
                .filter(|s| !s.is_empty())
                .map(Cow::Owned),
            export_timeout,
            timeout_margin,
            expose_errors,
            capture_client_errors,
            emf_metrics,
            dev_mode: dev_mode && cfg!(feature = "dev"),
            redact_keys,
            limits,
            otlp,
            resource_attributes,
            sampler,
            sdk_disabled,
            warnings,
        }
    }

    /// Chooses where telemetry goes.
    #[must_use]
    pub fn with_exporter(mut self, exporter: Exporter) -> Self {
        self.exporter = exporter;
        self
    }

    /// Chooses whether OTLP/HTTP requests are signed with AWS SigV4 (see [`OtlpSigning`]).
    ///
    /// ```
    /// use serverless_sdk::{Config, export::OtlpSigning};
    ///
    /// let config = Config::from_env().with_otlp_signing(OtlpSigning::Off);
    /// assert_eq!(config.otlp_signing(), OtlpSigning::Off);
    /// ```
    #[must_use]
    pub fn with_otlp_signing(mut self, signing: OtlpSigning) -> Self {
        self.otlp_signing = signing;
        self
    }

    /// Whether OTLP/HTTP requests are signed with AWS SigV4.
    #[must_use]
    pub fn otlp_signing(&self) -> OtlpSigning {
        self.otlp_signing
    }

    /// Sets the gzip level (0–9, higher is smaller and slower) of [`Exporter::OtlpStdout`]'s
    /// payload; a level above 9 is 9.
    ///
    /// ```
    /// let config = serverless_sdk::Config::from_env().with_otlp_stdout_compression_level(1);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn with_otlp_stdout_compression_level(mut self, level: u32) -> Self {
        self.otlp_stdout_level = level.min(9);
        self
    }

    /// Sets `service.name`.
    #[must_use]
    pub fn with_service_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets the longest time one export may take before it is abandoned.
    #[must_use]
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// Sets how long before the deadline the timeout watchdog reports a timeout.
    #[must_use]
    pub fn with_timeout_margin(mut self, margin: Duration) -> Self {
        self.timeout_margin = margin;
        self
    }

    /// Lets 500 responses carry the error's text: for development stages only.
    #[must_use]
    pub fn with_exposed_errors(mut self, expose: bool) -> Self {
        self.expose_errors = expose;
        self
    }

    /// Also captures client errors (4xx) as exceptions.
    #[must_use]
    pub fn with_client_errors_captured(mut self, capture: bool) -> Self {
        self.capture_client_errors = capture;
        self
    }

    /// Also writes one CloudWatch Embedded Metric Format line per invocation (errors, cold
    /// start, duration, by function and endpoint), so failures answered with a handled 500
    /// still show in a metric.
    #[must_use]
    pub fn with_emf_metrics(mut self, enabled: bool) -> Self {
        self.emf_metrics = enabled;
        self
    }

    /// Turns dev mode on or off: each invocation's trace drawn as a waterfall on stderr after
    /// its response, in addition to the exporter (see the `dev` module). Without the `dev`
    /// feature it stays off.
    ///
    /// ```
    /// let config = serverless_sdk::Config::from_env().with_dev_mode(true);
    /// assert_eq!(config.dev_mode(), cfg!(feature = "dev"));
    /// ```
    #[must_use]
    pub fn with_dev_mode(mut self, enabled: bool) -> Self {
        self.dev_mode = enabled && cfg!(feature = "dev");
        self
    }

    /// Whether dev mode is on.
    #[must_use]
    pub fn dev_mode(&self) -> bool {
        self.dev_mode
    }

    /// Adds keys whose values are masked wherever they appear (case-insensitive).
    #[must_use]
    pub fn with_redacted_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.redact_keys
            .extend(keys.into_iter().map(|k| k.as_ref().to_ascii_lowercase()));
        self
    }

    /// Replaces the size caps.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Chooses which successful invocations are exported, with any OpenTelemetry sampler
    /// (`OTEL_TRACES_SAMPLER` in the environment). The sampler decides once per invocation,
    /// at its end, on the root span (its trace id, name, kind and attributes, the trace
    /// context it arrived with as its parent). An invocation that failed in any way (a
    /// captured error, an `Err`, a panic, a timeout, a 5xx, an init or unmarshal error, a
    /// span ended in error) is exported whatever the sampler says.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::Sampler;
    /// use serverless_sdk::Config;
    ///
    /// // One successful invocation in ten, every failed one.
    /// let config = Config::from_env().with_sampler(Sampler::TraceIdRatioBased(0.1));
    /// # let _ = config;
    /// // Follow the caller's (X-Ray `Sampled=`, W3C flags) decision, else keep a quarter.
    /// let config = Config::from_env()
    ///     .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.25))));
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn with_sampler(mut self, sampler: impl ShouldSample + 'static) -> Self {
        self.sampler = Some(Box::new(sampler));
        self
    }

    /// Adds an attribute to the resource of every export, as `OTEL_RESOURCE_ATTRIBUTES`
    /// does; a later one replaces an earlier one of the same key. `service.name` set
    /// this way applies unless [`with_service_name`](Self::with_service_name) or
    /// `OTEL_SERVICE_NAME` set one.
    ///
    /// ```
    /// let config = serverless_sdk::Config::from_env()
    ///     .with_resource_attribute("deployment.environment.name", "production");
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Adds a header to every OTLP/HTTP request (as `OTEL_EXPORTER_OTLP_HEADERS` does),
    /// replacing one of the same name. Its value is never logged nor exported. A name or
    /// value that HTTP does not allow is reported once at cold start and not sent.
    ///
    /// ```
    /// let api_key = std::env::var("VENDOR_API_KEY").unwrap_or_else(|_| "k-123-secret".into());
    /// let config = serverless_sdk::Config::from_env().with_otlp_header("x-api-key", &api_key);
    /// let debug = format!("{config:?}");
    /// assert!(debug.contains("x-api-key") && !debug.contains(&api_key));
    /// ```
    #[must_use]
    pub fn with_otlp_header(mut self, name: &str, value: &str) -> Self {
        otel_env::header_from_code(name, value, &mut self.otlp.headers, &mut self.warnings);
        self
    }

    /// Chooses how OTLP/HTTP request bodies are compressed (`OTEL_EXPORTER_OTLP_COMPRESSION`).
    ///
    /// ```
    /// use serverless_sdk::{Config, config::Compression};
    ///
    /// let config = Config::from_env().with_otlp_compression(Compression::Gzip);
    /// assert_eq!(config.otlp_compression(), Compression::Gzip);
    /// ```
    #[must_use]
    pub fn with_otlp_compression(mut self, compression: Compression) -> Self {
        self.otlp.compression = compression;
        self
    }

    /// The compression of OTLP/HTTP request bodies.
    ///
    /// ```
    /// # if std::env::var_os("OTEL_EXPORTER_OTLP_COMPRESSION").is_none() && std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION").is_none() {
    /// let config = serverless_sdk::Config::from_env();
    /// assert_eq!(config.otlp_compression(), serverless_sdk::config::Compression::None);
    /// # }
    /// ```
    #[must_use]
    pub fn otlp_compression(&self) -> Compression {
        self.otlp.compression
    }

    /// Turns every export off (`OTEL_SDK_DISABLED=true`), or back on: handlers run and
    /// answer exactly as they would, errors are still caught, nothing leaves the process.
    ///
    /// ```
    /// let config = serverless_sdk::Config::from_env().with_sdk_disabled(true);
    /// assert!(config.sdk_disabled());
    /// ```
    #[must_use]
    pub fn with_sdk_disabled(mut self, disabled: bool) -> Self {
        self.sdk_disabled = disabled;
        self
    }

    /// Whether every export is off.
    ///
    /// ```
    /// # if std::env::var_os("OTEL_SDK_DISABLED").is_none() {
    /// assert!(!serverless_sdk::Config::from_env().sdk_disabled());
    /// # }
    /// ```
    #[must_use]
    pub fn sdk_disabled(&self) -> bool {
        self.sdk_disabled
    }

    /// The configured `service.name`, if any.
    #[must_use]
    pub fn service_name(&self) -> Option<&str> {
        self.service_name.as_deref()
    }

    /// The size caps.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// The parts of the configuration the hot path reads, fixed when the SDK is installed.
/// Every invocation holds a reference to them.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) limits: Limits,
    pub(crate) timeout_margin: Duration,
    pub(crate) expose_errors: bool,
    pub(crate) capture_client_errors: bool,
    /// Lower-case keys whose values are masked, the defaults included.
    pub(crate) redact_keys: Vec<String>,
    /// Whether invocations record spans, events and tags. Off with `OTEL_SDK_DISABLED`:
    /// an invocation keeps its root span only, for the handler's own bookkeeping, and
    /// `capture_exception`, `tag_event` and child spans record nothing.
    pub(crate) recording: bool,
}

impl Settings {
    pub(crate) fn from_config(config: &Config) -> Self {
        let mut redact_keys: Vec<String> = DEFAULT_REDACT_KEYS
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        redact_keys.extend(config.redact_keys.iter().cloned());
        redact_keys.sort();
        redact_keys.dedup();
        Self {
            limits: config.limits.clone(),
            timeout_margin: config.timeout_margin,
            expose_errors: config.expose_errors,
            capture_client_errors: config.capture_client_errors,
            redact_keys,
            recording: !config.sdk_disabled,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_config(&Config {
            exporter: Exporter::None,
            otlp_signing: OtlpSigning::Auto,
            otlp_stdout_level: OTLP_STDOUT_DEFAULT_LEVEL,
            otlp_stdout_log_level: None,
            service_name: None,
            export_timeout: Duration::from_secs(2),
            timeout_margin: Duration::from_millis(50),
            expose_errors: false,
            capture_client_errors: false,
            emf_metrics: false,
            dev_mode: false,
            redact_keys: Vec::new(),
            limits: Limits::default(),
            otlp: OtlpEnv::default(),
            resource_attributes: Vec::new(),
            sampler: None,
            sdk_disabled: false,
            warnings: Vec::new(),
        })
    }
}
