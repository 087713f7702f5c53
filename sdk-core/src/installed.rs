//! The SDK as installed in this process: the settings every invocation reads and the
//! export pipeline, fixed together, once, at cold start.

use std::sync::OnceLock;

use crate::{
    config::{Config, Settings},
    export::Pipeline,
    internal_error,
};

/// The settings and the pipeline, installed together.
pub(crate) struct Installed {
    pub(crate) settings: Settings,
    pub(crate) pipeline: Pipeline,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

fn build(mut config: Config) -> Installed {
    for warning in &config.warnings {
        internal_error::report("config", warning);
    }
    // `OTEL_SDK_DISABLED`: nothing leaves the process, not even dev mode's waterfalls or the
    // metrics line, and invocations record nothing beyond their root span
    // (`Settings::recording`).
    if config.sdk_disabled {
        config.dev_mode = false;
        config.emf_metrics = false;
        config.exporter = crate::export::Exporter::None;
    }
    #[cfg(feature = "dev")]
    if config.dev_mode {
        crate::dev::announce();
        crate::record::report::always_capture_backtraces();
    }
    Installed {
        settings: Settings::from_config(&config),
        pipeline: Pipeline::build(&mut config),
    }
}

/// Installs `config`: all of it, or nothing if the SDK was installed already. Returns
/// whether this call installed it. What did not parse in the configuration is reported
/// once, here.
pub(crate) fn install(config: Config) -> bool {
    let mut installed = false;
    INSTALLED.get_or_init(|| {
        installed = true;
        build(config)
    });
    installed
}

/// The installed SDK, set up from the environment on first use if nothing was installed.
pub(crate) fn get() -> &'static Installed {
    INSTALLED.get_or_init(|| build(Config::from_env()))
}

/// Whether the SDK has been installed in this process.
pub(crate) fn is_installed() -> bool {
    INSTALLED.get().is_some()
}
