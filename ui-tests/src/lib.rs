//! Compile-time tests for the `serverless_sdk` attribute macros (`#[serverless_handler]`,
//! `#[span]`, `#[route]`).
//!
//! The cases live in `tests/ui/pass` (shapes that must compile) and `tests/ui/fail` (misuses
//! that must be rejected, with the expected compiler output next to each in a `.stderr`
//! file). They run with `cargo test -p serverless_sdk_ui_tests`; regenerate the `.stderr`
//! files with `TRYBUILD=overwrite cargo test -p serverless_sdk_ui_tests`.
//!
//! `tests/lint_clean.rs` holds annotated functions under `clippy::pedantic`, checked by
//! `cargo clippy -p serverless_sdk_ui_tests --all-targets -- -D warnings`.
