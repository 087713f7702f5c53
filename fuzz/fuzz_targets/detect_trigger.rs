//! Event-to-trigger detection on arbitrary bytes: never panics, and anything that is not
//! a JSON object is `Other`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serverless_sdk::{TriggerKind, detect_trigger};

fuzz_target!(|data: &[u8]| {
    let kind = detect_trigger(data);
    if serde_json_is_not_object(data) {
        assert_eq!(kind, TriggerKind::Other);
    }
});

fn serde_json_is_not_object(data: &[u8]) -> bool {
    let trimmed = data.iter().skip_while(|b| b.is_ascii_whitespace()).next();
    trimmed != Some(&b'{')
}
