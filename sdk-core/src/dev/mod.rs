//! Dev mode: every invocation's trace drawn as a waterfall on stderr, right after its
//! response, while you develop.
//!
//! Turn it on with `SERVERLESS_SDK_DEV=true` (or [`Config::with_dev_mode`](crate::Config::with_dev_mode)),
//! typically under the local Lambda emulator:
//!
//! ```sh
//! cargo lambda watch --env-var SERVERLESS_SDK_DEV=true
//! ```
//!
//! Each tree is headed by the request id and the trace id, so the same trace can be found in
//! the backend the configured exporter sends to (dev mode prints *in addition* to it). Under
//! the root span come its key attributes and tags; under every span its errors, with their
//! type, message and the first frames of their stack that are the function's own (stack
//! traces are captured when `RUST_BACKTRACE=1`, as for any Rust program):
//!
//! ```text
//! request 7f3c1d2e-… · trace 0af7651916cd43dd8448eb211c80319c · 3 spans · 12.40 ms
//! POST /orders              12.40 ms  ✘  [████████████████████████]
//! │  faas.trigger               http
//! │  http.response.status_code  500
//! │  serverless.outcome         error:unhandled
//! ├─ validate                 210 µs  ✔  [█                       ]
//! └─ db.put_item             11.80 ms  ✘  [ ███████████████████████]
//!       ✘ DbError: connection refused
//!         at orders::save (./src/main.rs:42:9)
//! ```
//!
//! Colour is used only on a terminal, and never with `NO_COLOR` set; `CLICOLOR_FORCE=1` forces
//! it (see [`color_for`]). A function started with dev mode on says so in one line on stderr
//! at cold start, so it is never left on in production unnoticed; it is off unless the
//! variable turns it on. With the mode off, the only cost is one branch per invocation, and
//! building without the `dev` feature (on by default) removes even that.
//!
//! [`render`] is the same renderer as a function, for traces read back from any exporter.

mod records;
mod render;
mod waterfall;

pub use waterfall::{WaterfallException, WaterfallSpan};

use std::{
    ffi::OsString,
    io::{IsTerminal, Write},
};

use crate::invocation::Finished;

/// The environment variable that turns dev mode on: `true` (or `1`).
pub const ENV: &str = "SERVERLESS_SDK_DEV";

/// Renders spans as a tree with a waterfall: per span its name, duration, status (✔ ok or
/// unset, ✘ error) and a bar placing it in time relative to the whole trace; under each root
/// its key attributes (`faas.trigger`, `http.route`, `http.response.status_code`,
/// `serverless.outcome`, …) and `serverless.tag.*` tags; under each span its exceptions and
/// the first frames of their stacks that are not the standard library's, tokio's, the Lambda
/// runtime's or this SDK's. The header names the trace, and the request id when one root
/// carries `faas.invocation_id`.
///
/// With `color`, ANSI escape codes highlight names, statuses and bars; see [`color_for`].
///
/// ```
/// use serverless_sdk::dev::{render, WaterfallException, WaterfallSpan};
///
/// let trace = "0af7651916cd43dd8448eb211c80319c".to_owned();
/// let root = WaterfallSpan {
///     trace_id: trace.clone(),
///     span_id: "00000000000000a1".into(),
///     name: "GET /users/{id}".into(),
///     start_unix_nano: 0,
///     end_unix_nano: 4_000_000,
///     error: true,
///     attributes: vec![
///         ("faas.invocation_id".into(), "req-1".into()),
///         ("http.response.status_code".into(), "500".into()),
///     ],
///     ..WaterfallSpan::default()
/// };
/// let query = WaterfallSpan {
///     trace_id: trace,
///     span_id: "00000000000000a2".into(),
///     parent_span_id: "00000000000000a1".into(),
///     name: "db.query".into(),
///     start_unix_nano: 1_000_000,
///     end_unix_nano: 3_000_000,
///     error: true,
///     exceptions: vec![WaterfallException {
///         kind: "DbError".into(),
///         message: "connection refused".into(),
///         ..WaterfallException::default()
///     }],
///     ..WaterfallSpan::default()
/// };
/// let text = render(&[root, query], false);
/// let lines: Vec<&str> = text.lines().collect();
/// assert_eq!(lines[0], "request req-1 · trace 0af7651916cd43dd8448eb211c80319c · 2 spans · 4.00 ms");
/// assert!(lines[1].starts_with("GET /users/{id}"));
/// assert_eq!(lines[2], "│  http.response.status_code  500");
/// assert!(lines[3].starts_with("└─ db.query"));
/// assert_eq!(lines[4], "      ✘ DbError: connection refused");
/// ```
#[must_use]
pub fn render(spans: &[WaterfallSpan], color: bool) -> String {
    render::render(spans, color)
}

/// Whether to colour output written to `stream`: never with `NO_COLOR` set (to anything but
/// the empty string), always with `CLICOLOR_FORCE` set to anything but `0`, never with
/// `CLICOLOR=0`; otherwise only when `stream` is a terminal that is not `TERM=dumb`.
///
/// ```
/// // Under `cargo test`, standard output is captured, not a terminal.
/// let colored = serverless_sdk::dev::color_for(&std::io::stdout());
/// if std::env::var_os("CLICOLOR_FORCE").is_none() {
///     assert!(!colored || std::io::IsTerminal::is_terminal(&std::io::stdout()));
/// }
/// ```
#[must_use]
pub fn color_for(stream: &impl IsTerminal) -> bool {
    color_decision(stream.is_terminal(), |name| std::env::var_os(name))
}

/// [`color_for`]'s rule, over a terminal test and an environment lookup (the conventions of
/// <https://no-color.org> and <https://bixense.com/clicolors/>, in the precedence `anstream`
/// gives them).
fn color_decision(terminal: bool, var: impl Fn(&str) -> Option<OsString>) -> bool {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    if set("NO_COLOR").is_some() {
        return false;
    }
    if set("CLICOLOR_FORCE").is_some_and(|value| value != "0") {
        return true;
    }
    if set("CLICOLOR").is_some_and(|value| value == "0") {
        return false;
    }
    terminal && set("TERM").is_none_or(|term| term != "dumb")
}

/// The line a function with dev mode on prints on stderr at cold start.
pub(crate) const NOTICE: &str = "serverless_sdk: dev mode is on (SERVERLESS_SDK_DEV=true): every \
invocation's trace is printed on stderr after its response. Leave it off in production.";

/// Says at cold start that dev mode is on.
pub(crate) fn announce() {
    let _ = writeln!(std::io::stderr().lock(), "{NOTICE}");
}

/// The waterfall of a closed invocation, coloured for stderr: built before the invocation is
/// handed to the exporter, written by [`print`] after.
pub(crate) fn waterfall(finished: &Finished) -> String {
    let stderr = std::io::stderr();
    let mut text = render(&records::waterfall(finished), color_for(&stderr));
    text.push('\n');
    text
}

/// Writes a waterfall on stderr in one write, so that concurrent invocations' trees do not
/// interleave. A failed write is ignored: dev output never fails the function.
pub(crate) fn print(waterfall: &str) {
    let _ = std::io::stderr().lock().write_all(waterfall.as_bytes());
}

#[cfg(test)]
mod tests;
