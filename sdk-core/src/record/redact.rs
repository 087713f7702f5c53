//! Masking secrets and cutting values before anything reaches telemetry: the one place
//! every captured message, tag, custom JSON and attribute passes through. Values under
//! sensitive keys are masked in free text (`password=…`, `"token": "…"`,
//! `Authorization: Bearer …`) and in JSON objects; values are cut to the size limits.

use std::borrow::Cow;

use serde_json::Value;

use crate::config::Settings;

pub(crate) use crate::invocation::source::strip_query;

/// What a masked value is replaced with.
pub const MASK: &str = "[REDACTED]";

pub(crate) fn is_sensitive_key(key: &str, keys: &[String]) -> bool {
    keys.iter()
        .any(|k| contains_ignore_ascii_case(key.as_bytes(), k.as_bytes()))
}

/// Whether `haystack` contains `needle` (lower-case, not empty), ignoring ASCII case;
/// without allocating, for the short names and words it is asked about.
fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return false;
    };
    haystack.len() >= needle.len()
        && haystack
            .windows(needle.len())
            .any(|w| w[0].to_ascii_lowercase() == first && w.eq_ignore_ascii_case(needle))
}

/// The characters a key may continue with before its separator (`password_hash=`).
fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The value to record under `name`: masked whole when the name itself is sensitive,
/// otherwise with secrets in its text masked; then cut to the size limit. Returns whether
/// it was cut.
pub(crate) fn clean_named_value(name: &str, value: &str, settings: &Settings) -> (String, bool) {
    let value = if is_sensitive_key(name, &settings.redact_keys) {
        MASK.to_owned()
    } else {
        redact_text_with(value, &settings.redact_keys).into_owned()
    };
    truncate(value, settings.limits.max_value_bytes)
}

/// Masks the values of sensitive keys in a JSON value, recursively.
pub(crate) fn redact_json(value: &mut Value, settings: &Settings) {
    redact_json_with(value, &settings.redact_keys);
}

fn redact_json_with(value: &mut Value, keys: &[String]) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive_key(k, keys) && !v.is_null() {
                    *v = Value::String(MASK.to_owned());
                } else {
                    redact_json_with(v, keys);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_json_with(v, keys)),
        Value::String(s) => {
            if let Cow::Owned(masked) = redact_text_with(s, keys) {
                *s = masked;
            }
        }
        _ => {}
    }
}

/// Masks values that follow sensitive keys in free text.
pub(crate) fn redact_text<'a>(text: &'a str, settings: &Settings) -> Cow<'a, str> {
    redact_text_with(text, &settings.redact_keys)
}

/// A message as telemetry records it: secrets masked, trailing white space trimmed, cut to
/// the value limit.
pub(crate) fn clean_text(text: &str, settings: &Settings) -> String {
    truncate(
        redact_text(text.trim_end(), settings).into_owned(),
        settings.limits.max_value_bytes,
    )
    .0
}

/// [`clean_text`] of a text no longer needed: it is kept (trimmed and cut in place) when
/// nothing in it is masked, rather than copied.
pub(crate) fn clean_owned_text(mut text: String, settings: &Settings) -> String {
    text.truncate(text.trim_end().len());
    let text = match redact_text(&text, settings) {
        Cow::Borrowed(_) => text,
        Cow::Owned(masked) => masked,
    };
    truncate(text, settings.limits.max_value_bytes).0
}

/// Cuts a string to at most `max` bytes on a char boundary, marking the cut. Returns
/// whether it was cut.
pub(crate) fn truncate(mut s: String, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push_str("...");
    (s, true)
}

fn redact_text_with<'a>(text: &'a str, keys: &[String]) -> Cow<'a, str> {
    // A value is only ever masked after `=` or `:`: text with neither holds nothing to mask.
    if !text.bytes().any(|b| b == b'=' || b == b':') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    // Byte ranges of values to mask, found after each occurrence of each key.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    // A key made of identifier characters only (all the default ones) is masked when it
    // occurs in the identifier before a separator (`db_password_hash: ..`, `"token": ..`):
    // so only the identifier before each `=` or `:` needs looking at.
    let simple = |k: &String| !k.is_empty() && k.bytes().all(is_ident);
    let all_simple = keys.iter().all(simple);
    for (sep, _) in bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'=' | b':'))
    {
        let mut end = sep;
        while end > 0 && matches!(bytes[end - 1], b'"' | b'\'' | b' ') {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && is_ident(bytes[start - 1]) {
            start -= 1;
        }
        let word = &bytes[start..end];
        if !word.is_empty()
            && keys.iter().any(|k| {
                (all_simple || simple(k)) && contains_ignore_ascii_case(word, k.as_bytes())
            })
            && let Some(range) = value_after_key(bytes, end)
        {
            ranges.push(range);
        }
    }
    // Any other key: every occurrence in the text.
    if !all_simple {
        let lower = text.to_ascii_lowercase();
        for key in keys.iter().filter(|k| !k.is_empty() && !simple(k)) {
            let mut from = 0;
            while let Some(pos) = lower[from..].find(key.as_str()) {
                let key_end = from + pos + key.len();
                from = key_end;
                if let Some(range) = value_after_key(bytes, key_end) {
                    ranges.push(range);
                }
            }
        }
    }
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(mask_ranges(text, ranges))
}

/// `text` with each byte range replaced by [`MASK`]; a range that starts inside an earlier
/// one is skipped.
fn mask_ranges(text: &str, mut ranges: Vec<(usize, usize)>) -> String {
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for (start, end) in ranges {
        if start < cursor {
            continue;
        }
        out.push_str(&text[cursor..start]);
        out.push_str(MASK);
        cursor = end;
    }
    out.push_str(&text[cursor..]);
    out
}

/// Finds the value after a key ending at `i`: the key may be followed by the rest of an
/// identifier (`password_hash`), a closing quote, then `=` or `:`, then the value, quoted or
/// not. `Bearer` / `Basic` schemes keep their credential masked too.
fn value_after_key(bytes: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    while i < bytes.len() && is_ident(bytes[i]) {
        i += 1;
    }
    while i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'' || bytes[i] == b' ') {
        i += 1;
    }
    if i >= bytes.len() || !(bytes[i] == b'=' || bytes[i] == b':') {
        return None;
    }
    i += 1;
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    let quote = match bytes.get(i) {
        Some(&q @ (b'"' | b'\'')) => {
            i += 1;
            Some(q)
        }
        _ => None,
    };
    let start = i;
    let stop = |b: u8| match quote {
        Some(q) => b == q,
        None => b.is_ascii_whitespace() || matches!(b, b',' | b';' | b'&' | b'}' | b')' | b']'),
    };
    while i < bytes.len() && !stop(bytes[i]) {
        i += 1;
    }
    // `Authorization: Bearer abc`: the credential is the next word.
    let word = &bytes[start..i];
    if quote.is_none()
        && (word.eq_ignore_ascii_case(b"bearer") || word.eq_ignore_ascii_case(b"basic"))
    {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        while i < bytes.len() && !stop(bytes[i]) {
            i += 1;
        }
    }
    (i > start).then_some((start, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Vec<String> {
        crate::config::DEFAULT_REDACT_KEYS
            .iter()
            .map(|k| (*k).to_owned())
            .collect()
    }

    #[test]
    fn masks_values_after_sensitive_keys_in_text() {
        let keys = keys();
        let cases = [
            (
                "login failed password=hunter2 user=bob",
                "login failed password=[REDACTED] user=bob",
            ),
            (
                r#"{"token": "abc.def", "ok": 1}"#,
                r#"{"token": "[REDACTED]", "ok": 1}"#,
            ),
            (
                "Authorization: Bearer eyJhbGci.x.y done",
                "Authorization: [REDACTED] done",
            ),
            ("api_key='k-123'", "api_key='[REDACTED]'"),
            ("db_password_hash: xyz", "db_password_hash: [REDACTED]"),
            ("nothing to see", "nothing to see"),
            ("the password is safe", "the password is safe"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_text_with(input, &keys), expected, "{input}");
        }
    }

    /// The search before the identifier-only shortcut: every occurrence of every key.
    fn redact_by_full_search(text: &str, keys: &[String]) -> String {
        if !text.contains(['=', ':']) {
            return text.to_owned();
        }
        let lower = text.to_ascii_lowercase();
        let mut ranges = Vec::new();
        for key in keys {
            let mut from = 0;
            while let Some(pos) = lower[from..].find(key.as_str()) {
                let key_end = from + pos + key.len();
                from = key_end;
                if let Some(range) = value_after_key(text.as_bytes(), key_end) {
                    ranges.push(range);
                }
            }
        }
        mask_ranges(text, ranges)
    }

    #[test]
    fn the_identifier_shortcut_masks_what_a_full_search_masks() {
        let mut keys = keys();
        keys.push("my.key".to_owned());
        let words = [
            "password",
            "PassWord",
            "db_password_hash",
            "x-api-key",
            "apikey",
            "token",
            "my.key",
            "user",
            "session_id",
            "bearer",
            "é",
            "ok",
            "a-b_c",
        ];
        let glue = [
            "=", ": ", " = ", "\":\"", "'='", " ", ", ", "=Bearer ", ":", "&", "\"",
        ];
        // Every sequence of two words and glues, followed by a value.
        for a in words {
            for g1 in glue {
                for b in words {
                    for g2 in glue {
                        let text = format!("{a}{g1}{b}{g2}v4lue, tail={a}");
                        assert_eq!(
                            redact_text_with(&text, &keys),
                            redact_by_full_search(&text, &keys),
                            "{text}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn masks_json_values_under_sensitive_keys() {
        let mut v = json!({
            "user": "bob",
            "Password": "hunter2",
            "nested": { "apiKey": "k", "list": [{ "session_token": "s" }] },
            "note": "secret=shh"
        });
        redact_json_with(&mut v, &keys());
        assert_eq!(
            v,
            json!({
                "user": "bob",
                "Password": MASK,
                "nested": { "apiKey": MASK, "list": [{ "session_token": MASK }] },
                "note": "secret=[REDACTED]"
            })
        );
    }
}
