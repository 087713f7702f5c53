//! Choosing the part of an event that names it, and hashing it: SHA-256 of a canonical
//! JSON text, in lowercase hex.

use std::{fmt, io, sync::Arc};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The function that derives a key (or a validation value) from an event.
pub(super) type SelectFn = dyn Fn(&Value) -> Option<Value> + Send + Sync;

/// Which part of the event a hash covers.
#[derive(Clone)]
pub(super) enum Selector {
    /// The whole event.
    Whole,
    /// The value at a JSON pointer (RFC 6901), e.g. `/orderId`.
    Pointer(String),
    /// A value computed by the user's closure.
    With(Arc<SelectFn>),
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Whole => f.write_str("Whole"),
            Self::Pointer(p) => f.debug_tuple("Pointer").field(p).finish(),
            Self::With(_) => f.write_str("With(..)"),
        }
    }
}

impl Selector {
    /// Hashes the selected value, `None` when there is nothing to select: the pointer names
    /// no value, or the closure returned `None`.
    pub(super) fn hash(&self, event: &Value) -> Option<String> {
        match self {
            Self::Whole => Some(hash(event)),
            Self::Pointer(p) => event.pointer(p).map(hash),
            Self::With(f) => f(event).as_ref().map(hash),
        }
    }

    /// Hashes the selected value as an idempotency key: `None` when it is missing or
    /// empty (see [`is_empty_key`]).
    pub(super) fn key_hash(&self, event: &Value) -> Option<String> {
        match self {
            Self::Whole => (!is_empty_key(event)).then(|| hash(event)),
            Self::Pointer(p) => event.pointer(p).filter(|v| !is_empty_key(v)).map(hash),
            Self::With(f) => f(event).filter(|v| !is_empty_key(v)).as_ref().map(hash),
        }
    }
}

/// Whether a selected value cannot serve as a key: `null`, `""`, `[]`, `{}`, or an array
/// of nulls only (several pointers none of which matched).
pub(super) fn is_empty_key(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(Value::is_null),
        Value::Object(map) => map.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// SHA-256 of the canonical JSON text of `value`, lowercase hex.
pub(super) fn hash(value: &Value) -> String {
    let mut hasher = HashWriter(Sha256::new());
    // Writing into a hasher cannot fail, and neither can serialising a `Value`'s scalars.
    let _ = write_canonical(&mut hasher, value);
    hex(&hasher.0.finalize())
}

/// Writes the canonical form of `value`: no whitespace, object keys sorted by their UTF-8
/// bytes at every level, strings and numbers as serde_json writes them. The order does not
/// depend on serde_json's `preserve_order` feature, which any crate in the build may enable.
pub(super) fn write_canonical<W: io::Write>(out: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.write_all(b"{")?;
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, k)?;
                out.write_all(b":")?;
                write_canonical(out, v)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(out, v)?;
            }
            out.write_all(b"]")
        }
        scalar => Ok(serde_json::to_writer(out, scalar)?),
    }
}

struct HashWriter(Sha256);

impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn canonical(value: &Value) -> String {
        let mut out = Vec::new();
        write_canonical(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn canonical_form_sorts_keys_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"z": [1, {"y": 2, "x": 1}], "c": "é\n"}}"#)
                .unwrap();
        assert_eq!(
            canonical(&a),
            r#"{"a":{"c":"é\n","z":[1,{"x":1,"y":2}]},"b":1}"#
        );
        let b: Value =
            serde_json::from_str(r#"{"a": {"c": "é\n", "z": [1, {"x": 1, "y": 2}]}, "b": 1}"#)
                .unwrap();
        assert_eq!(hash(&a), hash(&b));
    }

    #[test]
    fn hash_is_sha256_hex_of_the_canonical_text() {
        // echo -n '{"a":1}' | sha256sum
        assert_eq!(
            hash(&json!({ "a": 1 })),
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
        assert_ne!(hash(&json!("1")), hash(&json!(1)));
    }

    #[test]
    fn empty_values_are_no_key() {
        for v in [
            json!(null),
            json!(""),
            json!([]),
            json!({}),
            json!([null, null]),
        ] {
            assert!(is_empty_key(&v), "{v}");
        }
        for v in [json!(0), json!(false), json!("x"), json!([null, 1])] {
            assert!(!is_empty_key(&v), "{v}");
        }
        let event = json!({ "orderId": "", "id": 7 });
        assert_eq!(Selector::Pointer("/orderId".into()).key_hash(&event), None);
        assert_eq!(Selector::Pointer("/missing".into()).key_hash(&event), None);
        assert_eq!(
            Selector::Pointer("/id".into()).key_hash(&event),
            Some(hash(&json!(7)))
        );
    }
}
