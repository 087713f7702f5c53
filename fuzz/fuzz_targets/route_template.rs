//! The `#[route]` template parser on arbitrary strings: never panics, and whatever it
//! accepts is a clean path template.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../sdk-macros/src/route_template.rs"]
mod route_template;

fuzz_target!(|data: &[u8]| {
    let Ok(template) = std::str::from_utf8(data) else {
        return;
    };
    if route_template::validate(template).is_ok() {
        assert!(template.starts_with('/'));
        assert!(template == "/" || !template.ends_with('/'));
        assert!(!template.contains("//"));
        assert!(!template.contains(char::is_whitespace));
        assert!(!template.contains(['?', '#']));
        let opens = template.matches('{').count();
        let closes = template.matches('}').count();
        assert_eq!(opens, closes);
        assert!(!template.contains("{}"));
    }
});
