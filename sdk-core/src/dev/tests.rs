#![allow(clippy::unwrap_used)]

use std::{ffi::OsString, ops::Range, time::Duration};

use super::{WaterfallException, WaterfallSpan, color_decision, render, render::format_duration};

const MS: u64 = 1_000_000;
const T0: u64 = 1_700_000_000_000_000_000;
const TRACE: &str = "a";

/// A span of trace `aaa…` lasting `ms` milliseconds after `T0`; ids repeat one character.
fn span(id: &str, parent: &str, name: &str, ms: Range<u64>) -> WaterfallSpan {
    WaterfallSpan {
        trace_id: TRACE.repeat(32),
        span_id: id.repeat(16),
        parent_span_id: parent.repeat(16),
        name: name.to_owned(),
        start_unix_nano: T0 + ms.start * MS,
        end_unix_nano: T0 + ms.end * MS,
        ..WaterfallSpan::default()
    }
}

fn attributes(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A root continuing a remote (X-Ray) parent that is not among the spans, an error with an
/// exception under it, an error with a status message only, and a last child.
fn sample() -> Vec<WaterfallSpan> {
    let mut root = span("1", "f", "my-function", 0..12);
    root.attributes = attributes(&[
        ("faas.trigger", "http"),
        ("http.response.status_code", "500"),
        ("serverless.tag.tenant", "acme"),
        ("unrelated", "true"),
    ]);
    let mut route = span("2", "1", "GET /users/{id}", 1..11);
    route.error = true;
    route.exceptions.push(WaterfallException {
        kind: "DbError".into(),
        message: "connection refused".into(),
        stacktrace: String::new(),
    });
    let mut query = span("3", "2", "db.query", 2..6);
    query.error = true;
    query.status_message = "timeout".into();
    let flush = span("4", "1", "flush", 11..12);
    vec![flush, query, route, root]
}

#[test]
fn renders_a_waterfall() {
    let text = render(&sample(), false);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("trace {} · 4 spans · 12.00 ms", "a".repeat(32))
    );
    assert!(lines[1].starts_with("my-function "), "{text}");
    assert!(
        lines[1].contains("12.00 ms  ✔  [████████████████████████]"),
        "{text}"
    );
    assert_eq!(lines[2], "│  faas.trigger               http");
    assert_eq!(lines[3], "│  http.response.status_code  500");
    assert_eq!(lines[4], "│  serverless.tag.tenant      acme");
    assert!(lines[5].starts_with("├─ GET /users/{id} "), "{text}");
    assert!(
        lines[5].contains("10.00 ms  ✘  [  ████████████████████  ]"),
        "{text}"
    );
    assert_eq!(lines[6], "│  │  ✘ DbError: connection refused");
    assert!(lines[7].starts_with("│  └─ db.query "), "{text}");
    assert_eq!(lines[8], "│        ✘ timeout");
    assert!(lines[9].starts_with("└─ flush "), "{text}");
    assert!(
        lines[9].ends_with(&format!("[{}██]", " ".repeat(22))),
        "{text}"
    );
    assert_eq!(lines.len(), 10, "{text}");
    assert!(!text.contains("unrelated"));
    assert!(!text.contains('\x1b'));

    let colored = render(&sample(), true);
    assert!(colored.contains("\x1b[31m✘\x1b[0m"), "{colored}");
}

#[test]
fn heads_the_tree_with_the_request_id() {
    let mut spans = sample();
    spans[3]
        .attributes
        .push(("faas.invocation_id".into(), "8f3c-req".into()));
    let text = render(&spans, false);
    assert_eq!(
        text.lines().next().unwrap(),
        format!(
            "request 8f3c-req · trace {} · 4 spans · 12.00 ms",
            "a".repeat(32)
        )
    );
    // Several invocations: no single request id to name.
    let mut other = span("5", "", "other", 20..21);
    other.trace_id = "b".repeat(32);
    other
        .attributes
        .push(("faas.invocation_id".into(), "9a-req".into()));
    spans.push(other);
    let text = render(&spans, false);
    assert!(text.starts_with("traces "), "{text}");
}

/// A panic's backtrace as `std` prints it, with the SDK's, tokio's and std's frames around
/// the function's own.
const BACKTRACE: &str = "   0: std::backtrace_rs::backtrace::libunwind::trace
             at /rustc/abc/library/std/src/../../backtrace/src/backtrace/libunwind.rs:117:9
   1: std::backtrace::Backtrace::create
             at /rustc/abc/library/std/src/backtrace.rs:331:13
   2: serverless_sdk::record::report::panic_hook::{{closure}}
             at ./sdk-core/src/record/report.rs:320:26
   3: std::panicking::rust_panic_with_hook
   4: orders::db::save::h0123456789abcdef
             at ./src/db.rs:42:9
   5: <F as core::future::into_future::IntoFuture>::into_future
   6: orders::handler::{{closure}}
             at ./src/main.rs:17:5
   7: <serverless_sdk::handler::Handled<F> as core::future::future::Future>::poll
   8: tokio::runtime::task::core::Core<T,S>::poll
   9: orders::main
             at ./src/main.rs:30:1
  10: main
  11: __libc_start_main";

#[test]
fn exceptions_show_the_functions_own_first_frames() {
    let mut spans = sample();
    spans[2].exceptions[0].stacktrace = BACKTRACE.into();
    let text = render(&spans, false);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[6], "│  │  ✘ DbError: connection refused");
    assert_eq!(lines[7], "│  │    at orders::db::save (./src/db.rs:42:9)");
    assert_eq!(
        lines[8],
        "│  │    at orders::handler::{{closure}} (./src/main.rs:17:5)"
    );
    assert_eq!(lines[9], "│  │    at orders::main (./src/main.rs:30:1)");
    assert!(lines[10].starts_with("│  └─ db.query "), "{text}");
}

#[test]
fn survives_cycles_duplicates_and_nothing() {
    let a = span("1", "2", "a", 0..1);
    let b = span("2", "1", "b", 0..1);
    let text = render(&[a.clone(), b, a], false);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert_eq!(render(&[], false), "(no spans)\n");
}

#[test]
fn formats_durations() {
    assert_eq!(format_duration(Duration::from_nanos(850)), "850 ns");
    assert_eq!(format_duration(Duration::from_micros(212)), "212 µs");
    assert_eq!(format_duration(Duration::from_micros(12_300)), "12.30 ms");
    assert_eq!(format_duration(Duration::from_millis(1_500)), "1.50 s");
}

#[test]
fn colour_only_on_a_terminal_unless_the_environment_says_otherwise() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    assert!(color_decision(true, env(&[])));
    assert!(!color_decision(false, env(&[])));
    assert!(!color_decision(true, env(&[("NO_COLOR", "1")])));
    assert!(
        color_decision(true, env(&[("NO_COLOR", "")])),
        "empty is unset"
    );
    assert!(color_decision(false, env(&[("CLICOLOR_FORCE", "1")])));
    assert!(!color_decision(false, env(&[("CLICOLOR_FORCE", "0")])));
    assert!(
        !color_decision(false, env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])),
        "NO_COLOR wins"
    );
    assert!(!color_decision(true, env(&[("CLICOLOR", "0")])));
    assert!(!color_decision(true, env(&[("TERM", "dumb")])));
    assert!(color_decision(true, env(&[("TERM", "xterm-256color")])));
}
