//! What a handler records while it runs: spans, captured errors and messages, tags and the
//! endpoint, all masked and cut in one place ([`redact`]) before they reach telemetry.

pub(crate) mod capture;
pub(crate) mod context;
pub(crate) mod endpoint;
pub(crate) mod redact;
pub(crate) mod report;
pub(crate) mod span;
pub(crate) mod tag;

#[cfg(test)]
mod tests;
