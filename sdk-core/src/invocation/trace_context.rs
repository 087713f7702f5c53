//! Parsing the trace context an invocation arrives with: AWS X-Ray's
//! `Root=1-…;Parent=…;Sampled=…` and W3C `traceparent`.

use opentelemetry::trace::{SpanId, TraceId};

/// The remote parent of an invocation's root span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceParent {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: Option<SpanId>,
    /// Whether the caller sampled the trace; `None` for X-Ray's `Sampled=?` (or no `Sampled`
    /// at all): the caller left the decision to this function. Its spans are then recorded
    /// and propagated as sampled, and a parent-based sampler decides as it does for a trace
    /// that starts here.
    pub(crate) decision: Option<bool>,
}

impl TraceParent {
    /// Whether spans continuing this context are sampled: as the caller decided, or yes
    /// when it left the decision to this function.
    pub(crate) fn sampled(&self) -> bool {
        self.decision.unwrap_or(true)
    }

    /// Parses an X-Ray trace header, e.g.
    /// `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.
    pub(crate) fn from_xray(header: &str) -> Option<Self> {
        let mut trace_id = None;
        let mut span_id = None;
        let mut sampled = None;
        for part in header.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=')?;
            match key {
                "Root" => {
                    let mut pieces = value.split('-');
                    let (Some("1"), Some(time), Some(rest), None) =
                        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
                    else {
                        return None;
                    };
                    if time.len() != 8 || rest.len() != 24 {
                        return None;
                    }
                    let id = (hex_u128(time)? << 96) | hex_u128(rest)?;
                    trace_id = (id != 0).then(|| TraceId::from(id));
                }
                "Parent" => {
                    span_id = parse_span_id(value);
                }
                "Sampled" => {
                    sampled = match value {
                        "0" => Some(false),
                        "1" => Some(true),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        Some(Self {
            trace_id: trace_id?,
            span_id,
            decision: sampled,
        })
    }

    /// Parses a W3C `traceparent` header, e.g.
    /// `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
    pub(crate) fn from_w3c(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (Some(version), Some(trace), Some(span), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if version.len() != 2 || version == "ff" || trace.len() != 32 || flags.len() != 2 {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok().filter(|&t| t != 0)?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self {
            trace_id: TraceId::from(trace_id),
            span_id: Some(parse_span_id(span)?),
            decision: Some(flags & 1 == 1),
        })
    }
}

/// Hex digits only (no sign, no prefix), at most 32 of them.
fn hex_u128(digits: &str) -> Option<u128> {
    if digits.is_empty() || digits.len() > 32 {
        return None;
    }
    digits.bytes().try_fold(0u128, |n, b| {
        let d = char::from(b).to_digit(16)?;
        Some((n << 4) | u128::from(d))
    })
}

/// Formats an X-Ray `X-Amzn-Trace-Id` header.
#[cfg_attr(
    not(any(test, feature = "reqwest", feature = "aws-sdk")),
    allow(dead_code)
)]
pub(crate) fn xray_header(trace_id: TraceId, span_id: SpanId, sampled: bool) -> String {
    let hex = trace_id.to_string();
    format!(
        "Root=1-{}-{};Parent={span_id};Sampled={}",
        &hex[..8],
        &hex[8..],
        u8::from(sampled)
    )
}

fn parse_span_id(hex: &str) -> Option<SpanId> {
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16)
        .ok()
        .filter(|&id| id != 0)
        .map(SpanId::from)
}

/// Formats a W3C `traceparent` header.
#[cfg_attr(
    not(any(test, feature = "reqwest", feature = "aws-sdk")),
    allow(dead_code)
)]
pub(crate) fn w3c_header(trace_id: TraceId, span_id: SpanId, sampled: bool) -> String {
    format!("00-{trace_id}-{span_id}-{:02x}", u8::from(sampled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_xray_header() {
        let p = TraceParent::from_xray(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .expect("valid header");
        assert_eq!(p.trace_id.to_string(), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(
            p.span_id.map(|s| s.to_string()).as_deref(),
            Some("53995c3f42cd8ad8")
        );
        assert!(p.sampled());
        let unsampled =
            TraceParent::from_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")
                .expect("valid header");
        assert_eq!((p.decision, unsampled.decision), (Some(true), Some(false)));
        for undecided in [
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        ] {
            let deferred = TraceParent::from_xray(undecided).expect("valid header");
            assert!(
                deferred.decision.is_none() && deferred.sampled(),
                "{undecided}"
            );
        }
        let trailing = TraceParent::from_xray(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;",
        );
        assert_eq!(trailing, Some(p));
        assert_eq!(unsampled.span_id, None);
    }

    #[test]
    fn rejects_malformed_xray_headers() {
        for bad in [
            "",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3f",
            "Root=1-zzzzzzzz-bd862e3fe1be46a994272793",
            "Parent=53995c3f42cd8ad8",
            "garbage",
        ] {
            assert_eq!(TraceParent::from_xray(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_and_formats_w3c() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = TraceParent::from_w3c(header).expect("valid header");
        let span = p.span_id.expect("span id");
        assert_eq!(w3c_header(p.trace_id, span, p.sampled()), header);
        let xray = xray_header(p.trace_id, span, true);
        assert_eq!(
            TraceParent::from_xray(&xray).map(|x| (x.trace_id, x.span_id)),
            Some((p.trace_id, Some(span)))
        );
        assert_eq!(
            TraceParent::from_w3c("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(TraceParent::from_w3c("00-abc-def-01"), None);
    }
}
