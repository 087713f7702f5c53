//! Type-name shortening on arbitrary strings: never panics and never grows the name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = std::str::from_utf8(data) {
        let short = serverless_sdk::errors::short_type_name(name);
        assert!(short.len() <= name.len());
    }
});
