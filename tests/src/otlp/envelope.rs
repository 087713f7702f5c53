//! The one-line envelope of `otlp-stdout-span-exporter` (and of the SDK's
//! `Exporter::OtlpStdout`), read as serverless-otlp-forwarder reads it from CloudWatch Logs:
//! a JSON object whose `payload` is a base64-encoded, gzipped OTLP protobuf
//! `ExportTraceServiceRequest`.

use base64::{Engine, engine::general_purpose::STANDARD};
use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::Value;
use std::io::Read;

/// The key that marks a line as an envelope; its value is the format's version.
pub const ENVELOPE_KEY: &str = "__otel_otlp_stdout";

/// One envelope line, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The JSON object, `payload` included.
    pub json: Value,
    /// Its keys in the order the line has them.
    pub keys: Vec<String>,
    /// The gzip stream the payload held (base64-decoded), as written.
    pub gzip: Vec<u8>,
    /// The protobuf request it held (gunzipped).
    pub protobuf: Vec<u8>,
    /// That request, decoded with the official protobuf types.
    pub request: ExportTraceServiceRequest,
}

/// Decodes `line` if it is an envelope: `None` for any other line.
///
/// ```
/// use serverless_sdk_tests::otlp::parse_envelope_line;
///
/// assert!(parse_envelope_line(r#"{"resourceSpans":[]}"#).is_none());
/// assert!(parse_envelope_line(r#"{"__otel_otlp_stdout":"0.18.0","payload":"x"}"#).unwrap().is_err());
/// ```
///
/// # Errors
///
/// For an envelope whose payload is not base64 of gzip of an `ExportTraceServiceRequest`,
/// or that does not say so (`base64: true`, `content-encoding: gzip`,
/// `content-type: application/x-protobuf`).
pub fn parse_envelope_line(line: &str) -> Option<Result<Envelope, String>> {
    let json: Value = serde_json::from_str(line.trim()).ok()?;
    json.get(ENVELOPE_KEY)?;
    Some(decode(line, json))
}

/// The keys of the top-level object `line` in their order in the text.
fn keys_in_order(line: &str, json: &Value) -> Vec<String> {
    let mut keys: Vec<(usize, String)> = json
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .map(|key| {
            let quoted = format!("{}:", Value::from(key.as_str()));
            (line.find(&quoted).unwrap_or(usize::MAX), key.clone())
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, key)| key).collect()
}

fn decode(line: &str, json: Value) -> Result<Envelope, String> {
    for (key, expected) in [
        ("content-type", Value::from("application/x-protobuf")),
        ("content-encoding", Value::from("gzip")),
        ("base64", Value::from(true)),
    ] {
        if json.get(key) != Some(&expected) {
            return Err(format!("{key} is {:?}, expected {expected}", json.get(key)));
        }
    }
    let payload = json["payload"].as_str().ok_or("no payload")?;
    let gzip = STANDARD
        .decode(payload)
        .map_err(|e| format!("payload is not base64: {e}"))?;
    let mut protobuf = Vec::new();
    GzDecoder::new(&gzip[..])
        .read_to_end(&mut protobuf)
        .map_err(|e| format!("payload is not gzip: {e}"))?;
    let request = ExportTraceServiceRequest::decode(&protobuf[..])
        .map_err(|e| format!("payload is not an ExportTraceServiceRequest: {e}"))?;
    Ok(Envelope {
        keys: keys_in_order(line, &json),
        json,
        gzip,
        protobuf,
        request,
    })
}

/// Every envelope among `text`'s lines, decoded; panics on an envelope that does not decode.
///
/// # Panics
///
/// If an envelope line does not decode.
pub fn parse_envelope_lines(text: &str) -> Vec<Envelope> {
    text.lines()
        .filter_map(parse_envelope_line)
        .map(|decoded| decoded.unwrap_or_else(|e| panic!("an envelope line does not decode: {e}")))
        .collect()
}
