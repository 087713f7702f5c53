//! Reading the event source of arbitrary bytes: never panics, anything that is not JSON is
//! rejected, and anything that is not a JSON object is of source `other`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serverless_sdk::{__private::read_event_source, export::TriggerKind};

fuzz_target!(|data: &[u8]| {
    let read = read_event_source(data);
    let is_json = serde_json::from_slice::<serde_json::de::IgnoredAny>(data).is_ok();
    assert_eq!(read.is_ok(), is_json, "accepted exactly the JSON payloads");
    if is_json && !starts_an_object(data) {
        assert_eq!(read.ok(), Some(TriggerKind::Other));
    }
});

fn starts_an_object(data: &[u8]) -> bool {
    data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}
