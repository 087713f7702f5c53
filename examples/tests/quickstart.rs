//! The quickstart runs to completion and prints every response and trace tree, without colour
//! codes when its output is not a terminal.

use std::{process::Stdio, time::Duration};

#[tokio::test]
async fn quickstart_runs_to_completion() {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_quickstart"));
    command
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the quickstart finishes within a minute")
        .expect("the quickstart runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{:?}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "• create an order (tagged, span tree)\n    → 200 {\"in_stock\":true,\"total\":3750}",
        "• get an order (#[route] template)\n    → 200 {\"id\":42,\"row\":84}",
        "• client error (404 from HttpError)\n    → 404 {\"message\":\"order 7 not found\",\"requestId\":\"",
        "• malformed JSON body (400)\n    → 400 {\"message\":\"Invalid JSON body\"}",
        "• an Err (500, not a 502)\n    → 500 {\"message\":\"Internal Server Error\",\"requestId\":\"",
        "• a panic (500, process keeps serving)\n    → 500 {\"message\":\"Internal Server Error\",\"requestId\":\"",
        "• SQS batch with a bad record\n    → {\"batchItemFailures\":[{\"itemIdentifier\":\"MessageID_1\"}]}",
        "── traces ──",
        "7 OTLP/JSON lines",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing in\n{stdout}"
        );
    }
    // Standard output is a pipe here: no colour codes, even without NO_COLOR.
    assert!(!stdout.contains('\x1b'), "escape codes in\n{stdout}");
    let trees = stdout
        .lines()
        .filter(|line| line.starts_with("request ") && line.contains(" · trace "))
        .count();
    assert!(trees >= 7, "{trees} trace trees in\n{stdout}");
    // The outgoing call to the inventory service is a CLIENT span in the order's tree.
    assert!(stdout.contains("GET 127.0.0.1"), "{stdout}");
    for root in ["POST /orders", "GET /orders/{id}", "GET /inventory"] {
        assert!(
            stdout.lines().any(|line| line.starts_with(root)),
            "no {root} trace in\n{stdout}"
        );
    }
}
