//! Setting the SDK up at cold start.

use crate::{config::Config, installed, record::report};

/// The error type of the runtime loop.
pub type Error = lambda_runtime::Error;

/// Installs the SDK's configuration and exporter, together. Call it once at cold start,
/// before the first invocation; [`run`](crate::run) calls it with [`Config::from_env`] when you have
/// not. Makes no network call. Returns `true` if this call installed the configuration, and
/// `false` (changing nothing at all) if the SDK was installed already.
///
/// ```
/// use serverless_sdk::{export::Exporter, Config};
///
/// assert!(serverless_sdk::init(Config::from_env().with_exporter(Exporter::None)));
/// assert!(!serverless_sdk::init(Config::from_env()), "a second init changes nothing");
/// ```
pub fn init(config: Config) -> bool {
    let installed = installed::install(config);
    report::install_panic_hook();
    installed
}

/// Sets the SDK up from the environment unless [`init`] already did, and installs the
/// `tracing` subscriber when the program has none.
pub(crate) fn ensure_init() {
    if !installed::is_installed() {
        let _ = init(Config::from_env());
    }
    #[cfg(feature = "tracing")]
    crate::integrations::tracing::install();
}
