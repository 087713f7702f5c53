//! Bad input gets a clear error and loses nothing: invalid and oversized tags, more tags
//! than the cap, endpoints that are not paths, spans left open, 10,000 spans in one
//! invocation, huge and truncated events.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::sync::{Arc, Mutex, OnceLock};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use serverless_sdk::{
    Config, Exporter, TagError, serverless_handler, set_endpoint, span, try_tag_event,
};

fn output() -> Arc<Mutex<Vec<u8>>> {
    static OUT: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    OUT.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        serverless_sdk::init(Config::from_env().with_exporter(Exporter::Writer(buf.clone())));
        buf
    })
    .clone()
}

fn take_spans() -> Vec<Vec<Value>> {
    let out = output();
    let text = String::from_utf8(std::mem::take(&mut *out.lock().unwrap())).unwrap();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

fn attr(span: &Value, key: &str) -> Value {
    span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| a["value"].clone())
        .unwrap_or(Value::Null)
}

fn warnings(span: &Value) -> Vec<String> {
    span["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "serverless.warning")
        .map(|e| {
            attr(e, "message")["stringValue"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
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
            set_endpoint("api/no-leading-slash?token=abc");
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
        "huge" => {
            let len = event.payload["blob"].as_str().map_or(0, str::len);
            results.push(len.to_string());
        }
        _ => {}
    }
    Ok(json!(results))
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn bad_input_is_reported_and_bounded() {
    output();
    let _ = take_spans();

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
    let spans = take_spans();
    let root = &spans[0][0];
    assert_eq!(attr(root, "serverless.tag.ok-tag")["stringValue"], "v");
    assert_eq!(
        attr(root, "serverless.tag.bad_tag_with_spaces")["stringValue"],
        "v"
    );
    assert_eq!(
        attr(root, &format!("serverless.tag.{}", "x".repeat(256)))["stringValue"],
        "v"
    );
    let big = attr(root, "serverless.tag.big")["stringValue"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(big.len() <= 4096 && big.ends_with("..."));
    let custom = attr(root, "serverless.tag.bigcustom.custom")["stringValue"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(custom.len() <= 8192);
    // Six tags were recorded before the loop: 44 more fit under the cap of 50, 17 did not.
    assert_eq!(attr(root, "serverless.tags.dropped")["intValue"], "17");
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
    let spans = take_spans();
    assert_eq!(
        attr(&spans[0][0], "http.route")["stringValue"],
        "/api/no-leading-slash"
    );
    assert!(!serde_json::to_string(&spans[0]).unwrap().contains("abc"));
    assert!(
        warnings(&spans[0][0])
            .iter()
            .any(|w| w.contains("not a clean path"))
    );
    assert_eq!(attr(&spans[1][0], "http.route"), Value::Null);
    assert!(
        warnings(&spans[1][0])
            .iter()
            .any(|w| w.contains("is empty"))
    );

    // A span left open is closed with the invocation and flagged.
    handler(event(json!({ "case": "open-spans" })))
        .await
        .unwrap();
    let spans = take_spans();
    let open = spans[0].iter().find(|s| s["name"] == "left-open").unwrap();
    assert_eq!(attr(open, "serverless.span.unclosed")["boolValue"], true);
    assert_eq!(
        attr(&spans[0][0], "serverless.spans.unclosed")["intValue"],
        "1"
    );
    let closed = spans[0].iter().find(|s| s["name"] == "closed").unwrap();
    assert_eq!(attr(closed, "serverless.span.unclosed"), Value::Null);

    // 10,000 spans: 1,000 recorded (root included), the rest counted. The 1,000 fit one
    // 256 KB log line (about 200 bytes each); what a longer line keeps is tested with the
    // encoder (`export/tests.rs`).
    handler(event(json!({ "case": "many-spans" })))
        .await
        .unwrap();
    let spans = take_spans();
    assert_eq!(spans.len(), 1, "one line");
    assert_eq!(spans[0].len(), 1000);
    assert_eq!(
        attr(&spans[0][0], "serverless.spans.dropped")["intValue"],
        "9001"
    );
    assert_eq!(
        attr(&spans[0][0], "serverless.export.dropped_spans"),
        Value::Null
    );

    // A 5 MB event is handled; its telemetry stays one bounded line.
    let blob = "z".repeat(5 * 1024 * 1024);
    let results = handler(event(json!({ "case": "huge", "blob": blob })))
        .await
        .unwrap();
    assert_eq!(results, json!([(5 * 1024 * 1024).to_string()]));
    let spans = take_spans();
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
