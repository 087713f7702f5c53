//! Dev mode (`SERVERLESS_SDK_DEV=true`): example binaries, each its own process against the
//! test kit's local Runtime API, draw every invocation's trace on stderr after its response
//! (the request id and the exported trace id heading the tree, names nested as the spans
//! are, errors with their type and message); with the mode off, stderr carries none of it.

use serverless_sdk_tests::prelude::*;

/// The cold-start notice.
const NOTICE: &str = "serverless_sdk: dev mode is on (SERVERLESS_SDK_DEV=true)";

/// The tree printed on stderr for `invocation`, from its header line to the blank line that
/// ends it, without colour codes.
async fn waterfall(function: &Function, invocation: &InvokeOutcome) -> Vec<String> {
    let header = format!("request {} · trace ", invocation.request_id);
    function
        .wait_for(
            || format!("a waterfall headed {header:?} on stderr"),
            || {
                let lines: Vec<String> = function
                    .process
                    .stderr_lines()
                    .iter()
                    .map(|line| strip_ansi(line))
                    .collect();
                let start = lines.iter().position(|line| line.starts_with(&header))?;
                let tree: Vec<String> = lines[start..]
                    .iter()
                    .take_while(|line| !line.is_empty())
                    .cloned()
                    .collect();
                // Written in one piece: once the header is there, so is the rest.
                (lines.len() > start + tree.len()).then_some(tree)
            },
        )
        .await
}

/// The span lines of a tree, as `prefix + name` (the columns after the name dropped).
fn outline(tree: &[String]) -> Vec<String> {
    tree[1..]
        .iter()
        .filter(|line| line.contains(" [") && line.ends_with(']'))
        .map(|line| {
            let name = line
                .find(|c: char| !"│├└─ ".contains(c))
                .unwrap_or_default();
            let end = line[name..].find("  ").map_or(line.len(), |end| name + end);
            line[..end].to_owned()
        })
        .collect()
}

/// Starts the `spans` example with `env` and invokes it once with the schedule event,
/// checking that it answered.
async fn invoke_spans(env: &[(&str, &str)]) -> (Function, InvokeOutcome) {
    let function = example_function!("spans", env).await;
    let report = function.invoke(&events::eventbridge_schedule()).await;
    function.response(&report);
    (function, report)
}

#[tokio::test]
async fn dev_mode_draws_each_invocation_on_stderr() {
    let (function, report) = invoke_spans(&[("SERVERLESS_SDK_DEV", "true")]).await;
    let tree = waterfall(&function, &report).await;

    // The trace id is the one exported, so the trace can be found in the backend.
    let trace = function.trace(&report).await;
    assert!(
        tree[0].starts_with(&format!(
            "request {} · trace {} · 10 spans · ",
            report.request_id, trace.root.trace_id
        )),
        "{tree:#?}"
    );
    assert_eq!(
        outline(&tree),
        [
            "spans",
            "├─ load-rates",
            "│  └─ parse_rates",
            "├─ db.fetch_orders",
            "│  ├─ db.query",
            "│  └─ checksum",
            "├─ pricing",
            "└─ publish",
            "   ├─ render",
            "   └─ upload",
        ],
        "{tree:#?}"
    );
    let detail = |key: &str| {
        tree.iter().find_map(|line| {
            let mut words = line.trim_start_matches("│").split_whitespace();
            (words.next() == Some(key)).then(|| words.collect::<Vec<_>>().join(" "))
        })
    };
    assert_eq!(
        detail("faas.trigger").as_deref(),
        Some("timer"),
        "{tree:#?}"
    );
    assert_eq!(detail("serverless.outcome").as_deref(), Some("success"));
    // stderr is a pipe here: no colour.
    let stderr = function.process.stderr_text();
    assert!(!stderr.contains('\x1b'), "{stderr}");
    // Said once, at cold start, before any tree.
    assert_eq!(stderr.matches(NOTICE).count(), 1, "{stderr}");
    assert!(stderr.find(NOTICE) < stderr.find("request "), "{stderr}");
    // And the exporter still got the invocation on stdout.
    assert_eq!(trace.spans.len(), 10);
    function.stop().await;
}

#[tokio::test]
async fn dev_mode_shows_errors_with_their_first_frames() {
    // The quickstart's API function, whose `GET /panic` panics.
    let function = example_function!(
        "quickstart",
        &[
            ("QUICKSTART_FUNCTION", "api"),
            ("SERVERLESS_SDK_DEV", "1"),
            // Backtraces off: dev mode captures them anyway.
            ("RUST_BACKTRACE", "0"),
            ("CLICOLOR_FORCE", "1"),
        ]
    )
    .await;
    let panic = function
        .invoke(&events::apigw_v1("GET", "/panic", "/panic", None))
        .await;
    assert_eq!(function.response(&panic)["statusCode"], 500);
    let tree = waterfall(&function, &panic).await;
    // CLICOLOR_FORCE colours even a pipe.
    let stderr = function.process.stderr_text();
    assert!(stderr.contains("\x1b[31m✘"), "{stderr}");
    let plain = tree.join("\n");
    let lines: Vec<&str> = plain.lines().collect();
    assert!(lines[1].starts_with("GET /panic "), "{plain}");
    assert!(lines[1].contains(" ✘ "), "{plain}");
    assert!(
        lines.contains(&"   http.response.status_code  500"),
        "{plain}"
    );
    let error = lines
        .iter()
        .position(|line| line.trim() == "✘ Panic: the quickstart panicked on purpose")
        .unwrap_or_else(|| panic!("no error line in\n{plain}"));
    // The frames shown are the function's own, where it panicked, not std's or the SDK's.
    let frame = lines.get(error + 1).copied().unwrap_or_default().trim();
    assert!(
        frame.starts_with("at quickstart::api::") && frame.contains("quickstart.rs:"),
        "{plain}"
    );
    function.stop().await;
}

#[tokio::test]
async fn dev_mode_draws_invocations_that_sampling_drops() {
    // Dev mode on, and a sampler that keeps no invocation.
    let env = [
        ("SERVERLESS_SDK_DEV", "true"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ];
    let (function, report) = invoke_spans(&env).await;
    let tree = waterfall(&function, &report).await;
    assert!(tree[0].contains("· 10 spans ·"), "{tree:#?}");
    // Sampled out: nothing was exported.
    assert!(function.stdout_spans().is_empty());
    function.stop().await;
}

#[tokio::test]
async fn without_dev_mode_stderr_has_no_trees() {
    let (function, report) = invoke_spans(&[("SERVERLESS_SDK_DEV", "false")]).await;
    function.trace(&report).await;
    // Dev output would follow the export, before the next poll.
    function.settle().await;
    let stderr = function.process.stderr_text();
    assert!(!stderr.contains("dev mode"), "{stderr}");
    assert!(!stderr.contains(&report.request_id), "{stderr}");
    assert!(
        !stderr.contains('✔') && !stderr.contains("├─") && !stderr.contains(" · trace "),
        "{stderr}"
    );
    function.stop().await;
}

/// `text` without its ANSI SGR sequences (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
