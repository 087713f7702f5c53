//! Configuration: read once at cold start from the environment, or built in code.

use std::{borrow::Cow, env, sync::OnceLock, time::Duration};

use crate::export::Exporter;

/// Size caps that keep an invocation's telemetry bounded whatever the handler does.
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
            max_line_bytes: 256 * 1024,
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
/// | `OTEL_TRACES_EXPORTER` | `console` (stdout OTLP/JSON lines), `otlp`, `none` | `otlp` when an endpoint is set, else `console` |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | collector address for OTLP/HTTP | unset |
/// | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` (the only one built in) | `http/protobuf` |
/// | `OTEL_SERVICE_NAME` | `service.name` | the function name |
/// | `SERVERLESS_SDK_EXPORT_TIMEOUT_MS` | longest wait for one export | 2000 |
/// | `SERVERLESS_SDK_TIMEOUT_MARGIN_MS` | how long before the deadline a timeout is reported | 50 |
/// | `SERVERLESS_SDK_EXPOSE_ERRORS` | `true`: 500 bodies carry the error text (development only) | `false` |
/// | `SERVERLESS_SDK_CAPTURE_CLIENT_ERRORS` | `true`: 4xx errors are also captured as exceptions | `false` |
/// | `SERVERLESS_SDK_EMF_METRICS` | `true`: one CloudWatch EMF metrics line per invocation | `false` |
/// | `SERVERLESS_SDK_REDACT_KEYS` | extra comma-separated keys whose values are masked | |
/// | `SERVERLESS_SDK_MAX_*` | the [`Limits`] | see there |
///
/// ```
/// use serverless_sdk::{Config, Exporter};
///
/// let config = Config::from_env()
///     .with_exporter(Exporter::None)
///     .with_service_name("checkout");
/// assert_eq!(config.service_name(), Some("checkout"));
/// ```
#[derive(Debug)]
pub struct Config {
    pub(crate) exporter: Exporter,
    pub(crate) service_name: Option<Cow<'static, str>>,
    pub(crate) export_timeout: Duration,
    pub(crate) timeout_margin: Duration,
    pub(crate) expose_errors: bool,
    pub(crate) capture_client_errors: bool,
    pub(crate) emf_metrics: bool,
    pub(crate) redact_keys: Vec<String>,
    pub(crate) limits: Limits,
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

fn env_bool(name: &str) -> Option<bool> {
    let v = env::var(name).ok()?;
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    env::var(name).ok()?.trim().parse().ok()
}

impl Config {
    /// Reads the configuration from the environment (see the table above). Makes no
    /// network call.
    #[must_use]
    pub fn from_env() -> Self {
        let defaults = Limits::default();
        let limits = Limits {
            max_spans: env_num("SERVERLESS_SDK_MAX_SPANS")
                .unwrap_or(defaults.max_spans)
                .max(1),
            max_tags: env_num("SERVERLESS_SDK_MAX_TAGS").unwrap_or(defaults.max_tags),
            max_value_bytes: env_num("SERVERLESS_SDK_MAX_VALUE_BYTES")
                .unwrap_or(defaults.max_value_bytes)
                .max(16),
            max_custom_bytes: env_num("SERVERLESS_SDK_MAX_CUSTOM_BYTES")
                .unwrap_or(defaults.max_custom_bytes)
                .max(16),
            max_events_per_span: env_num("SERVERLESS_SDK_MAX_EVENTS")
                .unwrap_or(defaults.max_events_per_span),
            max_line_bytes: env_num("SERVERLESS_SDK_MAX_LINE_BYTES")
                .unwrap_or(defaults.max_line_bytes)
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
        Self {
            exporter: Exporter::from_env(),
            service_name: env::var("OTEL_SERVICE_NAME")
                .ok()
                .filter(|s| !s.is_empty())
                .map(Cow::Owned),
            export_timeout: Duration::from_millis(
                env_num("SERVERLESS_SDK_EXPORT_TIMEOUT_MS").unwrap_or(2000),
            ),
            timeout_margin: Duration::from_millis(
                env_num("SERVERLESS_SDK_TIMEOUT_MARGIN_MS").unwrap_or(50),
            ),
            expose_errors: env_bool("SERVERLESS_SDK_EXPOSE_ERRORS").unwrap_or(false),
            capture_client_errors: env_bool("SERVERLESS_SDK_CAPTURE_CLIENT_ERRORS")
                .unwrap_or(false),
            emf_metrics: env_bool("SERVERLESS_SDK_EMF_METRICS").unwrap_or(false),
            redact_keys,
            limits,
        }
    }

    /// Chooses where telemetry goes.
    #[must_use]
    pub fn with_exporter(mut self, exporter: Exporter) -> Self {
        self.exporter = exporter;
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

/// The parts of the configuration the hot path reads, fixed at first use.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) limits: Limits,
    pub(crate) timeout_margin: Duration,
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) expose_errors: bool,
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) capture_client_errors: bool,
    pub(crate) emf_metrics: bool,
    pub(crate) redact_keys: Vec<String>,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

impl Settings {
    fn from_config(config: &Config) -> Self {
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
            emf_metrics: config.emf_metrics,
            redact_keys,
        }
    }
}

/// Fixes the settings; `false` if they were fixed already.
pub(crate) fn install(config: &Config) -> bool {
    SETTINGS.set(Settings::from_config(config)).is_ok()
}

/// The settings, read from the environment on first use if nothing was installed.
pub(crate) fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings::from_config(&Config::from_env()))
}

/// The size caps.
pub(crate) fn limits() -> &'static Limits {
    &settings().limits
}
