//! Bad input gets a clear error and loses nothing: invalid and oversized tags, more tags
//! than the cap, an error after the event cap, endpoints that are not paths, spans left open, 10,000 spans in one
//! invocation, huge and truncated events.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use serverless_sdk::{
    Config, errors::TagError, export::Exporter, serverless_handler, set_endpoint, span,
    try_tag_event,
};
use serverless_sdk_tests::{events::lambda_event as event, otlp::FlatSpan, recorder::Recorder};

/// What the SDK of this process exports.
fn recorder() -> Recorder {
    Recorder::global(|recorder| {
        serverless_sdk::init(Config::from_env().with_exporter(Exporter::Writer(recorder.writer())));
    })
}

/// The messages of the `serverless.warning` events of `span`.
fn warnings(span: &FlatSpan) -> Vec<&str> {
    span.events_named("serverless.warning")
        .map(|event| event.attr_str("message").unwrap())
        .collect()
}

/// `span` without its (random, hex) ids, for searching what it recorded.
fn recorded_text(span: &FlatSpan) -> String {
    let without_ids = FlatSpan {
        trace_id: String::new(),
        span_id: String::new(),
        parent_span_id: String::new(),
        ..span.clone()
    };
    format!("{without_ids:?}")
}

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    let mut results = Vec::new();
    match event.payload["case"].as_str().unwrap_or_default() {
        "tags" => {
            results.push(format!("{:?}", try_tag_event("ok-tag", "v", None)));
            results.push(format!(
                "{:?}",
                try_tag_event("bad tag/with spaces", "v", None)
            ));
            results.push(format!("{:?}", try_tag_event("", "v", None)));
            results.push(format!("{:?}", try_tag_event("x".repeat(300), "v", None)));
            results.push(format!(
                "{:?}",
                try_tag_event("big", "v".repeat(10_000), None)
            ));
            let custom = json!({ "blob": "c".repeat(20_000) });
            results.push(format!("{:?}", try_tag_event("bigcustom", "v", custom)));
            for i in 0..60 {
                let _ = try_tag_event(format!("many{i}"), "v", None);
            }
            results.push(format!("{:?}", try_tag_event("one-too-many", "v", None)));
        }
        "endpoints" => {
            set_endpoint("api/no-leading-slash?token=not-a-hex-secret");
        }
        "empty-endpoint" => {
            set_endpoint("   ");
        }
        "open-spans" => {
            let guard = span("left-open");
            std::mem::forget(guard);
            let _closed = span("closed");
        }
        "many-spans" => {
            for _ in 0..10_000 {
                let _s = span("tiny");
            }
        }
        "full-events" => {
            for i in 0..200 {
                serverless_sdk::capture_message(format!("message {i}"));
            }
            return Err(std::io::Error::other("failed after the event cap"));
        }
        "huge" => {
            let len = event.payload["blob"].as_str().map_or(0, str::len);
            results.push(len.to_string());
        }
        _ => {}
    }
    Ok(json!(results))
}

#[tokio::test]
async fn bad_input_is_reported_and_bounded() {
    let recorder = recorder();
    let _ = recorder.take_text();

    // Tags: clear errors, the tag kept (sanitised or cut) where it can be.
    let results = handler(event(json!({ "case": "tags" }))).await.unwrap();
    let results: Vec<String> = serde_json::from_value(results).unwrap();
    assert_eq!(results[0], "Ok(())");
    assert!(results[1].starts_with("Err(InvalidName"), "{}", results[1]);
    assert!(results[1].contains("bad_tag_with_spaces"), "{}", results[1]);
    assert!(results[2].contains("InvalidName"));
    assert!(results[3].contains("InvalidName"));
    assert_eq!(
        results[4],
        format!("{:?}", Err::<(), _>(TagError::Truncated))
    );
    assert_eq!(
        results[5],
        format!("{:?}", Err::<(), _>(TagError::Truncated))
    );
    assert_eq!(
        results[6],
        format!("{:?}", Err::<(), _>(TagError::TooManyTags { max: 50 }))
    );
    let spans = recorder.take_exports();
    let root = &spans[0][0];
    assert_eq!(root.attr_str("serverless.tag.ok-tag"), Some("v"));
    assert_eq!(
        root.attr_str("serverless.tag.bad_tag_with_spaces"),
        Some("v")
    );
    assert_eq!(
        root.attr_str(&format!("serverless.tag.{}", "x".repeat(256))),
        Some("v")
    );
    let big = root.attr_str("serverless.tag.big").unwrap();
    assert!(big.len() <= 4096 && big.ends_with("..."));
    let custom = root.attr_str("serverless.tag.bigcustom.custom").unwrap();
    assert!(custom.len() <= 8192);
    // Six tags were recorded before the loop: 44 more fit under the cap of 50, 17 did not.
    assert_eq!(root.attr_i64("serverless.tags.dropped"), Some(17));
    assert!(
        warnings(root)
            .iter()
            .any(|w| w.contains("must match [A-Za-z0-9_.-]{1,256}"))
    );

    // Endpoints that are not paths are cleaned (query string gone) and flagged; an empty
    // one is refused with a warning.
    handler(event(json!({ "case": "endpoints" })))
        .await
        .unwrap();
    handler(event(json!({ "case": "empty-endpoint" })))
        .await
        .unwrap();
    let spans = recorder.take_exports();
    assert_eq!(
        spans[0][0].attr_str("http.route"),
        Some("/api/no-leading-slash")
    );
    assert!(
        spans[0]
            .iter()
            .all(|span| !recorded_text(span).contains("not-a-hex-secret"))
    );
    assert!(
        warnings(&spans[0][0])
            .iter()
            .any(|w| w.contains("not a clean path"))
    );
    assert_eq!(spans[1][0].attr("http.route"), None);
    assert!(
        warnings(&spans[1][0])
            .iter()
            .any(|w| w.contains("is empty"))
    );

    // A span left open is closed with the invocation and flagged.
    handler(event(json!({ "case": "open-spans" })))
        .await
        .unwrap();
    let spans = recorder.take_exports();
    let open = spans[0].iter().find(|s| s.name == "left-open").unwrap();
    assert_eq!(open.attr_bool("serverless.span.unclosed"), Some(true));
    assert_eq!(spans[0][0].attr_i64("serverless.spans.unclosed"), Some(1));
    let closed = spans[0].iter().find(|s| s.name == "closed").unwrap();
    assert_eq!(closed.attr("serverless.span.unclosed"), None);

    // 10,000 spans: 1,000 recorded (root included), the rest counted. The 1,000 fit one
    // 256 KB log line (about 200 bytes each); what a longer line keeps is tested with the
    // encoder (`export/tests.rs`).
    handler(event(json!({ "case": "many-spans" })))
        .await
        .unwrap();
    let spans = recorder.take_exports();
    assert_eq!(spans.len(), 1, "one line");
    assert_eq!(spans[0].len(), 1000);
    assert_eq!(spans[0][0].attr_i64("serverless.spans.dropped"), Some(9001));
    assert_eq!(spans[0][0].attr("serverless.export.dropped_spans"), None);

    // The root's events full of messages: the error that fails the invocation is still
    // recorded, beyond the cap of 128.
    let failed = handler(event(json!({ "case": "full-events" }))).await;
    assert!(failed.is_err());
    let spans = recorder.take_exports();
    let root = &spans[0][0];
    assert_eq!(root.events.len(), 129, "128 messages and the error");
    let exception = root.events.last().unwrap();
    assert_eq!(exception.name, "exception");
    assert_eq!(
        exception.attr_str("exception.message"),
        Some("failed after the event cap")
    );

    // A 5 MB event is handled; its telemetry stays one bounded line.
    let blob = "z".repeat(5 * 1024 * 1024);
    let results = handler(event(json!({ "case": "huge", "blob": blob })))
        .await
        .unwrap();
    assert_eq!(results, json!([(5 * 1024 * 1024).to_string()]));
    let spans = recorder.take_exports();
    assert_eq!(spans.len(), 1);
}

#[test]
fn truncated_and_malformed_events_are_not_http() {
    use serverless_sdk::{__private::read_event_source, export::TriggerKind};
    let full = br#"{"requestContext":{"http":{"method":"GET"}},"rawPath":"/x"}"#;
    for cut in 0..full.len() {
        let read = read_event_source(&full[..cut]);
        assert!(
            read.is_err(),
            "{:?} read as {read:?}",
            String::from_utf8_lossy(&full[..cut])
        );
    }
    assert_eq!(read_event_source(full), Ok(TriggerKind::Http));
    assert!(read_event_source(&[0xff, 0xfe, b'{']).is_err());
}
