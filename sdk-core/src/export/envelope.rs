//! The one-line envelope of `otlp-stdout-span-exporter` 0.18, which serverless-otlp-forwarder
//! reads from CloudWatch Logs: a JSON object around the invocation's OTLP protobuf
//! `ExportTraceServiceRequest`, gzipped and base64-encoded.
//!
//! ```json
//! {"__otel_otlp_stdout":"0.18.0","source":"checkout","endpoint":"http://localhost:4318/v1/traces",
//!  "method":"POST","content-type":"application/x-protobuf","content-encoding":"gzip",
//!  "payload":"H4sIAAAA…","base64":true}
//! ```
//!
//! The keys and their order are the ones that crate writes. `source` is the SDK's
//! `service.name`; `level` is there when `OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL` is set (as
//! that crate does); the gzip level is `OTLP_STDOUT_SPAN_EXPORTER_COMPRESSION_LEVEL` (0–9,
//! default 6) unless set in code; both are read by the configuration (`config.rs`). Unlike
//! that crate, the envelope never carries the `OTEL_EXPORTER_OTLP_*HEADERS`: their values
//! are often API keys, and the envelope is a log line.
//!
//! The protobuf is written straight from the records by `proto.rs`, gzipped by `gzip.rs`,
//! and base64-encoded into the line; the protobuf and the gzip stream have buffers kept
//! from one invocation to the next (`reuse.rs`), and so has the compressor.

use base64::{Engine, engine::general_purpose::STANDARD};

use super::gzip::Gzip;
use super::proto::{self, ProtoPrelude};
use super::records::InvocationView;
use super::reuse::{KEPT_BUFFER_BYTES, Reused};

/// The format version the envelope declares: the `otlp-stdout-span-exporter` release whose
/// format this is.
pub(crate) const VERSION: &str = "0.18.0";

/// Writes envelopes for one process: the fixed text around the payload, built once.
pub(crate) struct Envelope {
    /// Everything before the payload's base64, ending in `"payload":"`.
    head: Vec<u8>,
    /// Everything after it, the newline included.
    tail: Vec<u8>,
    gzip: Gzip,
    scratch: Reused<Scratch>,
}

/// The protobuf and the gzip stream of the invocation being written.
#[derive(Default)]
struct Scratch {
    proto: Vec<u8>,
    gzip: Vec<u8>,
}

impl Envelope {
    /// The envelope of the service `source`, at gzip `level` (0–9), with the `level` key
    /// `log_level` when there is one.
    pub(crate) fn new(source: &str, level: u32, log_level: Option<&str>) -> Self {
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(b"{\"__otel_otlp_stdout\":\"");
        head.extend_from_slice(VERSION.as_bytes());
        head.extend_from_slice(b"\",\"source\":");
        // Escaped as JSON once, here; the name is whatever the user set.
        let _ = serde_json::to_writer(&mut head, source);
        head.extend_from_slice(
            b",\"endpoint\":\"http://localhost:4318/v1/traces\",\"method\":\"POST\",\
              \"content-type\":\"application/x-protobuf\",\"content-encoding\":\"gzip\",\
              \"payload\":\"",
        );
        let mut tail = b"\",\"base64\":true".to_vec();
        if let Some(log_level) = log_level {
            tail.extend_from_slice(b",\"level\":\"");
            tail.extend_from_slice(log_level.as_bytes());
            tail.push(b'"');
        }
        tail.extend_from_slice(b"}\n");
        Self {
            head,
            tail,
            gzip: Gzip::new(level),
            scratch: Reused::new(Scratch::default, |s| {
                s.proto.capacity() > KEPT_BUFFER_BYTES || s.gzip.capacity() > KEPT_BUFFER_BYTES
            }),
        }
    }

    /// Appends the envelope of `view`, and its newline, to `line`.
    pub(crate) fn write(
        &self,
        prelude: &ProtoPrelude,
        view: &InvocationView<'_>,
        line: &mut Vec<u8>,
    ) -> Result<(), String> {
        self.scratch.with(|Scratch { proto, gzip }| {
            let start = proto::encode(prelude, view, proto);
            gzip.clear();
            self.gzip.append(&proto[start..], gzip)?;
            line.extend_from_slice(&self.head);
            let at = line.len();
            line.resize(at + base64::encoded_len(gzip.len(), true).unwrap_or(0), 0);
            let written = STANDARD
                .encode_slice(&gzip[..], &mut line[at..])
                .map_err(|e| format!("base64: {e}"))?;
            line.truncate(at + written);
            line.extend_from_slice(&self.tail);
            Ok(())
        })
    }
}
