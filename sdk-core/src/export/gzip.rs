//! Gzip streams, for the OTLP/HTTP request body (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`) and
//! the envelope's payload: libdeflate, whose whole-buffer compressor suits bodies that are
//! in memory whole. One compressor is kept per process (`reuse.rs`): allocating one costs
//! more than compressing a few KB.

use libdeflater::{CompressionLvl, Compressor};

use super::reuse::Reused;

/// Gzips at one level.
pub(crate) struct Gzip {
    compressor: Reused<Compressor>,
}

impl Gzip {
    /// Gzip at `level` (0–9, clamped): 0 stores, 1 is the fastest, 6 the usual default,
    /// 9 the smallest.
    pub(crate) fn new(level: u32) -> Self {
        let level = i32::try_from(level.min(9)).unwrap_or(6);
        let level = CompressionLvl::new(level).unwrap_or_default();
        Self {
            compressor: Reused::new(move || Compressor::new(level), |_| false),
        }
    }

    /// Appends the gzip stream of `input` to `out`; on an error `out` is as it was.
    pub(crate) fn append(&self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        self.compressor.with(|compressor| {
            let at = out.len();
            out.resize(at + compressor.gzip_compress_bound(input.len()), 0);
            match compressor.gzip_compress(input, &mut out[at..]) {
                Ok(written) => {
                    out.truncate(at + written);
                    Ok(())
                }
                Err(e) => {
                    out.truncate(at);
                    Err(format!("gzip: {e:?}"))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(zipped: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(zipped)
            .read_to_end(&mut out)
            .expect("a gzip stream another implementation reads");
        out
    }

    #[test]
    fn every_level_round_trips_through_another_implementation() {
        let body = b"an ExportTraceServiceRequest".repeat(50);
        for level in 0..=10 {
            let gzip = Gzip::new(level);
            let mut out = b"kept".to_vec();
            gzip.append(&body, &mut out).expect("gzip");
            assert_eq!(&out[..4], b"kept", "appended after what was there");
            assert_eq!(gunzip(&out[4..]), body, "level {level}");
            if level > 0 {
                assert!(out.len() - 4 < body.len() / 4, "level {level} compresses");
            }
        }
    }

    #[test]
    fn the_kept_compressor_starts_each_stream_afresh() {
        let gzip = Gzip::new(6);
        let (mut first, mut second) = (Vec::new(), Vec::new());
        gzip.append(b"one invocation", &mut first).expect("gzip");
        gzip.append(b"the next one", &mut second).expect("gzip");
        assert_eq!(gunzip(&second), b"the next one");
        let mut again = Vec::new();
        gzip.append(b"one invocation", &mut again).expect("gzip");
        assert_eq!(first, again, "nothing carried over between streams");
    }
}
