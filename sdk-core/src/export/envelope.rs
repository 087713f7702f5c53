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
//! default 6, read in `config.rs`) unless set in code. Unlike that crate, the envelope never carries the
//! `OTEL_EXPORTER_OTLP_*HEADERS`: their values are often API keys, and the envelope is a
//! log line.
//!
//! The protobuf is written straight from the records by `proto.rs`; the protobuf, the gzip
//! stream and the line each have a buffer kept from one invocation to the next, and so does
//! the deflate compressor (reset, not rebuilt: a new one allocates and clears a few hundred
//! KB of tables, which costs more than compressing a few KB). The gzip stream around its
//! deflate data is the one `flate2`'s `GzEncoder` writes: its header, taken once from that
//! encoder, then the CRC-32 (`flate2::Crc`) and the length of the input.

use std::{
    borrow::Cow,
    env,
    sync::{Mutex, PoisonError},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use flate2::{Compress, Compression, Crc, FlushCompress, Status, write::GzEncoder};

use super::proto::{self, ProtoPrelude};
use super::records::{InvocationView, Plan};
use crate::invocation::Finished;

/// The format version the envelope declares: the `otlp-stdout-span-exporter` release whose
/// format this is.
pub(crate) const VERSION: &str = "0.18.0";

/// Writes envelopes for one process: the fixed text around the payload, built once.
pub(crate) struct Envelope {
    /// Everything before the payload's base64, ending in `"payload":"`.
    head: Vec<u8>,
    /// Everything after it, the newline included.
    tail: Vec<u8>,
    level: Compression,
    /// The 10-byte gzip header `GzEncoder` writes at this level.
    gzip_header: Vec<u8>,
    scratch: Mutex<Scratch>,
}

/// The protobuf and the gzip stream of the invocation being written, and the compressor.
#[derive(Default)]
struct Scratch {
    proto: Vec<u8>,
    gzip: Vec<u8>,
    compress: Option<Compress>,
}

/// Scratch buffers that grew past this after a large invocation are given back.
const KEPT_SCRATCH_BYTES: usize = 1024 * 1024;

impl Envelope {
    /// The envelope of the service `source`, at gzip `level` (0–9), with the `level` key
    /// that `OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL` asks for.
    pub(crate) fn new(source: &str, level: u32) -> Self {
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
        if let Some(log_level) = log_level_from_env() {
            tail.extend_from_slice(b",\"level\":\"");
            tail.extend_from_slice(log_level.as_bytes());
            tail.push(b'"');
        }
        tail.extend_from_slice(b"}\n");
        let level = Compression::new(level.min(9));
        // The header of an empty gzip stream at this level: the first 10 bytes.
        let mut gzip_header = GzEncoder::new(Vec::new(), level)
            .finish()
            .unwrap_or_default();
        gzip_header.truncate(10);
        Self {
            head,
            tail,
            level,
            gzip_header,
            scratch: Mutex::new(Scratch::default()),
        }
    }

    /// Writes the envelope of `finished`, and its newline, into `line` (cleared first),
    /// within `max_line_bytes`: a longer line is written again from fewer spans, as the
    /// OTLP/JSON line is (see `Plan::smaller`).
    pub(crate) fn write(
        &self,
        prelude: &ProtoPrelude,
        finished: &Finished,
        max_line_bytes: usize,
        line: &mut Vec<u8>,
    ) -> Result<(), Cow<'static, str>> {
        let mut scratch = self.scratch.lock().unwrap_or_else(PoisonError::into_inner);
        let mut plan = Plan::All;
        let result = loop {
            self.write_plan(
                prelude,
                &InvocationView::new(finished, plan),
                &mut scratch,
                line,
            )
            .map_err(|e| Cow::Owned(format!("cannot write the envelope: {e}")))?;
            if line.len() <= max_line_bytes {
                break Ok(());
            }
            match plan.smaller(finished) {
                Some(smaller) => plan = smaller,
                None => {
                    break Err(format!(
                        "an invocation's envelope is {} bytes even after truncation (limit {max_line_bytes})",
                        line.len(),
                    )
                    .into());
                }
            }
        };
        if scratch.proto.capacity() > KEPT_SCRATCH_BYTES
            || scratch.gzip.capacity() > KEPT_SCRATCH_BYTES
        {
            *scratch = Scratch::default();
        }
        result
    }

    fn write_plan(
        &self,
        prelude: &ProtoPrelude,
        view: &InvocationView<'_>,
        scratch: &mut Scratch,
        line: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let Scratch {
            proto,
            gzip,
            compress,
        } = scratch;
        let start = proto::encode(prelude, view, proto);
        let input = &proto[start..];
        let compress = compress.get_or_insert_with(|| Compress::new(self.level, false));
        compress.reset();
        gzip.clear();
        gzip.extend_from_slice(&self.gzip_header);
        let mut consumed = 0;
        loop {
            // `compress_vec` writes into the spare capacity only.
            if gzip.capacity() - gzip.len() < 64 {
                gzip.reserve(input.len() / 2 + 64);
            }
            let before = compress.total_in();
            let status = compress
                .compress_vec(&input[consumed..], gzip, FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            consumed += usize::try_from(compress.total_in() - before).unwrap_or(0);
            if status == Status::StreamEnd {
                break;
            }
        }
        let mut crc = Crc::new();
        crc.update(input);
        gzip.extend_from_slice(&crc.sum().to_le_bytes());
        gzip.extend_from_slice(&crc.amount().to_le_bytes());
        line.clear();
        line.extend_from_slice(&self.head);
        let at = line.len();
        line.resize(at + base64::encoded_len(gzip.len(), true).unwrap_or(0), 0);
        let written = STANDARD
            .encode_slice(&gzip[..], &mut line[at..])
            .map_err(std::io::Error::other)?;
        line.truncate(at + written);
        line.extend_from_slice(&self.tail);
        Ok(())
    }
}

/// `OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL` as `otlp-stdout-span-exporter` writes it
/// (`DEBUG`, `INFO`, `WARN`, `ERROR`), if set to one of its values.
fn log_level_from_env() -> Option<&'static str> {
    let value = env::var("OTLP_STDOUT_SPAN_EXPORTER_LOG_LEVEL").ok()?;
    match value.to_ascii_lowercase().as_str() {
        "debug" => Some("DEBUG"),
        "info" => Some("INFO"),
        "warn" | "warning" => Some("WARN"),
        "error" => Some("ERROR"),
        _ => None,
    }
}
