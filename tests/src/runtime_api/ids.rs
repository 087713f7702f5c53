//! Request ids and X-Ray trace headers in the shapes Lambda uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// A random request id shaped like Lambda's (a version-4 UUID), e.g.
/// `8476a536-e9f4-4f73-9f2e-b0c1a6c5e2f0`.
pub fn generate_request_id() -> String {
    let mut hex = random_hex(32).into_bytes();
    hex[12] = b'4';
    hex[16] = b"89ab"[fastrand::usize(..4)];
    let hex = String::from_utf8_lossy(&hex).into_owned();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A fresh, sampled X-Ray trace header like the one Lambda puts in `Lambda-Runtime-Trace-Id`:
/// `Root=1-{epoch seconds as 8 hex}-{24 hex};Parent={16 hex};Sampled=1`.
pub fn generate_trace_header() -> String {
    let epoch_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    // X-Ray keeps the low 32 bits of the epoch second; the truncation is the format.
    let epoch_secs = epoch_secs & u64::from(u32::MAX);
    format!(
        "Root=1-{epoch_secs:08x}-{};Parent={};Sampled=1",
        random_hex(24),
        random_hex(16)
    )
}

/// The parts of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrayHeader {
    /// The X-Ray trace id, `1-{8 hex}-{24 hex}`.
    pub root: String,
    /// The parent segment id, 16 hex digits, if present.
    pub parent: Option<String>,
    /// The sampling decision, if present (`Sampled=1` / `Sampled=0`; `?` means undecided).
    pub sampled: Option<bool>,
}

impl XrayHeader {
    /// Parses a header such as `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.
    ///
    /// Unknown keys (`Lineage=…`, …) are ignored; `None` if there is no `Root`.
    pub fn parse(header: &str) -> Option<XrayHeader> {
        let mut root = None;
        let mut parent = None;
        let mut sampled = None;
        for part in header.split(';') {
            let Some((key, value)) = part.trim().split_once('=') else {
                continue;
            };
            match key {
                "Root" => root = Some(value.to_owned()),
                "Parent" => parent = Some(value.to_owned()),
                "Sampled" => {
                    sampled = match value {
                        "1" => Some(true),
                        "0" => Some(false),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        Some(XrayHeader {
            root: root?,
            parent,
            sampled,
        })
    }

    /// The 32-hex-digit OpenTelemetry trace id this X-Ray root maps to (the root without its
    /// `1-` version and dashes), or `None` if the root is malformed.
    pub fn otel_trace_id(&self) -> Option<String> {
        let mut parts = self.root.split('-');
        let (Some("1"), Some(time), Some(random), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let id = format!("{time}{random}").to_ascii_lowercase();
        (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
    }
}

fn random_hex(digits: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..digits)
        .map(|_| char::from(HEX[fastrand::usize(..HEX.len())]))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let id = generate_request_id();
        let groups: Vec<_> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(&id[14..15], "4");
        assert_ne!(generate_request_id(), id);
    }

    #[test]
    fn generated_trace_headers_parse_back() {
        let header = generate_trace_header();
        let parsed = XrayHeader::parse(&header).unwrap();
        assert_eq!(parsed.sampled, Some(true));
        assert_eq!(parsed.parent.as_deref().map(str::len), Some(16));
        assert_eq!(parsed.otel_trace_id().map(|id| id.len()), Some(32));
    }

    #[test]
    fn parses_aws_documentation_example() {
        let header = XrayHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0",
        )
        .unwrap();
        assert_eq!(header.parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert_eq!(
            header.otel_trace_id().as_deref(),
            Some("5759e988bd862e3fe1be46a994272793")
        );
        assert_eq!(XrayHeader::parse("Parent=53995c3f42cd8ad8"), None);
    }
}
