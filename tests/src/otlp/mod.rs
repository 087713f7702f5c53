//! An OTLP/HTTP trace receiver, and flat views of the spans it receives.
//!
//! [`OtlpReceiver`] accepts `POST /v1/traces` in both OTLP/HTTP encodings
//! (`application/x-protobuf` and `application/json`), plain or with `Content-Encoding: gzip`,
//! answers like a collector, and records what it decoded with the request's headers. Faults can
//! be injected at any time: a delay, an error status, or holding requests without answering.
//!
//! [`FlatSpan`] is the form tests assert on; [`parse_json_lines`] extracts spans from OTLP/JSON
//! lines in a function's output.

mod envelope;
mod flat;
mod sigv4;

pub use envelope::{ENVELOPE_KEY, Envelope, parse_envelope_line, parse_envelope_lines};
pub use flat::{
    AttrValue, FlatEvent, FlatLink, FlatSpan, STATUS_ERROR, STATUS_OK, STATUS_UNSET,
    parse_export_request, parse_json_line, parse_json_lines,
};
pub use sigv4::SigV4Check;

use crate::{
    lock,
    server::{HttpResponse, Server, json_response, response, text_response},
    tls::TestCa,
};
use http::{
    HeaderMap, Method, Request, StatusCode, header::CONTENT_ENCODING, header::CONTENT_TYPE,
};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::{
    fmt,
    io::{self, Read},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};
use tokio::sync::{Notify, watch};

/// The path traces are exported to.
pub const TRACES_PATH: &str = "/v1/traces";

/// The two OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtlpEncoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

/// One export request the receiver accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedExport {
    /// How it was encoded.
    pub encoding: OtlpEncoding,
    /// The HTTP request headers (e.g. to check `OTEL_EXPORTER_OTLP_HEADERS` or `User-Agent`).
    pub headers: HeaderMap,
    /// Whether the body arrived gzipped (`Content-Encoding: gzip`), and was gunzipped.
    pub gzipped: bool,
    /// The size of the body as it arrived, in bytes.
    pub body_bytes: usize,
    /// The decoded request.
    pub request: ExportTraceServiceRequest,
    /// When it was accepted.
    pub received_at: SystemTime,
}

/// A running OTLP/HTTP trace receiver on `127.0.0.1` and an ephemeral port.
///
/// Cheap to clone; the server stops when the last clone is dropped or on
/// [`OtlpReceiver::shutdown`].
///
/// Requests are only recorded when answered with success, so spans of an export that the
/// receiver failed (and that the exporter may retry) are not counted twice.
#[derive(Clone)]
pub struct OtlpReceiver {
    shared: Arc<Shared>,
    server: Arc<Server>,
    /// Behind TLS ([`OtlpReceiver::start_tls`]): the authority a client must trust.
    tls: Option<Arc<TestCa>>,
}

impl fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpReceiver")
            .field("endpoint", &self.endpoint())
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl OtlpReceiver {
    /// Starts a receiver on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start() -> io::Result<OtlpReceiver> {
        OtlpReceiver::start_with_check(None).await
    }

    /// Starts a receiver that, as AWS X-Ray's OTLP endpoint, accepts only requests signed
    /// with SigV4 by `check`'s credentials: it recomputes each request's signature from what
    /// it received and answers `403` to a missing or wrong one (counted in
    /// [`OtlpReceiver::bad_signatures`], not recorded).
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start_sigv4(check: SigV4Check) -> io::Result<OtlpReceiver> {
        OtlpReceiver::start_with_check(Some(check)).await
    }

    async fn start_with_check(sigv4: Option<SigV4Check>) -> io::Result<OtlpReceiver> {
        let shared = Arc::new(Shared {
            sigv4,
            ..Shared::default()
        });
        let server = Server::start_with(&shared, handle, false).await?;
        Ok(OtlpReceiver {
            shared,
            server: Arc::new(server),
            tls: None,
        })
    }

    /// Starts a receiver behind TLS, with a certificate for `localhost` signed by a new
    /// [`TestCa`]: its [`OtlpReceiver::endpoint`] is `https://localhost:PORT`, and a client
    /// trusts it with `SSL_CERT_FILE` set to [`OtlpReceiver::ca_file`].
    ///
    /// # Errors
    ///
    /// If the port cannot be bound or the certificates cannot be made.
    pub async fn start_tls() -> io::Result<OtlpReceiver> {
        let ca = TestCa::new()?;
        let shared = Arc::new(Shared::default());
        let state = Arc::clone(&shared);
        let server = Server::start_tls(
            move |request| handle(Arc::clone(&state), request),
            ca.acceptor(),
        )
        .await?;
        Ok(OtlpReceiver {
            shared,
            server: Arc::new(server),
            tls: Some(Arc::new(ca)),
        })
    }

    /// The PEM file of the authority a TLS receiver's certificate chains to; `None` for a
    /// plain-HTTP receiver.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.tls.as_deref().map(TestCa::ca_file)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT` (behind TLS: `https://localhost:PORT`), the value for
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        match self.tls {
            None => format!("http://{}", self.addr()),
            Some(_) => format!("https://localhost:{}", self.addr().port()),
        }
    }

    /// [`OtlpReceiver::endpoint`] and `/v1/traces`: `http://127.0.0.1:PORT/v1/traces` (behind
    /// TLS: `https://localhost:PORT/v1/traces`), the value for
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn traces_endpoint(&self) -> String {
        format!("{}{TRACES_PATH}", self.endpoint())
    }

    /// Delays every answer by `delay` (zero: no delay).
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared.state).faults.delay = delay;
    }

    /// Answers every export with `status` and an empty body, without recording it; any 2xx
    /// status answers normally (and records).
    pub fn set_status(&self, status: u16) {
        lock(&self.shared.state).faults.status = status;
    }

    /// While `true`, requests are held without an answer (until the client gives up, or until
    /// this is set back to `false`, when held requests proceed normally).
    pub fn set_hang(&self, hang: bool) {
        self.shared.hang.send_replace(hang);
    }

    /// Removes every fault: no delay, status 200, no hang.
    pub fn clear_faults(&self) {
        lock(&self.shared.state).faults = Faults::default();
        self.set_hang(false);
    }

    /// Number of `POST /v1/traces` requests received so far, whatever their fate.
    pub fn requests(&self) -> usize {
        lock(&self.shared.state).requests
    }

    /// Number of requests rejected as undecodable or of an unsupported content type or encoding.
    pub fn rejected(&self) -> usize {
        lock(&self.shared.state).rejected
    }

    /// Number of requests answered `403` because their SigV4 signature is missing or wrong
    /// (see [`OtlpReceiver::start_sigv4`]).
    pub fn bad_signatures(&self) -> usize {
        lock(&self.shared.state).bad_signatures.len()
    }

    /// Why each request answered `403` was rejected, in arrival order.
    pub fn signature_errors(&self) -> Vec<String> {
        lock(&self.shared.state).bad_signatures.clone()
    }

    /// Asserts that no request was refused for its signature and that every request that
    /// arrived was verified and recorded (see [`OtlpReceiver::start_sigv4`]); call it once
    /// the function has settled, so that every export was made or given up.
    #[track_caller]
    pub fn assert_every_request_signed(&self) {
        assert_eq!(self.bad_signatures(), 0, "{:?}", self.signature_errors());
        assert_eq!(
            self.received().len(),
            self.requests(),
            "every request verified and accepted"
        );
    }

    /// While `true`, the body of every request is changed by one byte before it is checked
    /// and decoded, as a proxy on the way could do.
    pub fn set_tamper_body(&self, tamper: bool) {
        lock(&self.shared.state).faults.tamper_body = tamper;
    }

    /// Every accepted export, in arrival order.
    pub fn received(&self) -> Vec<ReceivedExport> {
        lock(&self.shared.state).received.clone()
    }

    /// The decoded requests of every accepted export.
    pub fn export_requests(&self) -> Vec<ExportTraceServiceRequest> {
        lock(&self.shared.state)
            .received
            .iter()
            .map(|export| export.request.clone())
            .collect()
    }

    /// All spans accepted so far, flattened, in arrival order.
    pub fn spans(&self) -> Vec<FlatSpan> {
        lock(&self.shared.state)
            .received
            .iter()
            .flat_map(|export| FlatSpan::from_request(&export.request))
            .collect()
    }

    /// Waits until at least `count` spans have been accepted, or `timeout`; returns all spans
    /// accepted by then (check the length: fewer than `count` means the wait timed out).
    pub async fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<FlatSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let spans = self.spans();
            if spans.len() >= count {
                return spans;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.spans();
            }
        }
    }

    /// Forgets everything received (faults are kept).
    pub fn clear(&self) {
        let mut state = lock(&self.shared.state);
        state.received.clear();
        state.requests = 0;
        state.rejected = 0;
        state.bad_signatures.clear();
    }

    /// Stops the server and closes every connection. Idempotent.
    pub fn shutdown(&self) {
        self.server.shutdown();
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    hang: watch::Sender<bool>,
    changed: Notify,
    /// The credentials every request must be signed with, if any.
    sigv4: Option<SigV4Check>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            state: Mutex::new(State::default()),
            hang: watch::Sender::new(false),
            changed: Notify::new(),
            sigv4: None,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    requests: usize,
    rejected: usize,
    bad_signatures: Vec<String>,
    received: Vec<ReceivedExport>,
    faults: Faults,
}

#[derive(Debug, Clone, Copy)]
struct Faults {
    delay: Duration,
    status: u16,
    tamper_body: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            delay: Duration::ZERO,
            status: 200,
            tamper_body: false,
        }
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> HttpResponse {
    if request.uri().path() != TRACES_PATH {
        return text_response(StatusCode::NOT_FOUND, "only /v1/traces is supported\n");
    }
    if request.method() != Method::POST {
        return text_response(StatusCode::METHOD_NOT_ALLOWED, "");
    }
    lock(&shared.state).requests += 1;

    let (parts, body) = request.into_parts();
    let gzipped = parts
        .headers
        .get(CONTENT_ENCODING)
        .is_some_and(|e| e.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let body = match body.collect().await {
        Ok(body) => Ok(tampered(&shared, body.to_bytes())),
        Err(err) => Err((StatusCode::BAD_REQUEST, format!("unreadable body: {err}"))),
    };
    if let (Some(check), Ok(body)) = (&shared.sigv4, &body)
        && let Err(why) = check.verify(&parts.method, &parts.uri, &parts.headers, body)
    {
        lock(&shared.state).bad_signatures.push(why.clone());
        shared.changed.notify_waiters();
        return json_response(
            StatusCode::FORBIDDEN,
            &serde_json::json!({ "message": why }),
        );
    }
    let body_bytes = body.as_ref().map_or(0, bytes::Bytes::len);
    let decoded = body.and_then(|body| decode(&parts.headers, &body));
    let (encoding, export) = match decoded {
        Ok(decoded) => decoded,
        Err((status, message)) => {
            lock(&shared.state).rejected += 1;
            shared.changed.notify_waiters();
            return text_response(status, message);
        }
    };

    // Hold the request while hanging; a closed channel cannot happen as `shared` owns it.
    let _ = shared.hang.subscribe().wait_for(|hang| !hang).await;
    let faults = lock(&shared.state).faults;
    if !faults.delay.is_zero() {
        tokio::time::sleep(faults.delay).await;
    }
    let status = StatusCode::from_u16(faults.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !status.is_success() {
        return response(status, "text/plain; charset=utf-8", "");
    }

    lock(&shared.state).received.push(ReceivedExport {
        encoding,
        headers: parts.headers,
        gzipped,
        body_bytes,
        request: export,
        received_at: SystemTime::now(),
    });
    shared.changed.notify_waiters();
    match encoding {
        OtlpEncoding::Protobuf => response(
            status,
            "application/x-protobuf",
            ExportTraceServiceResponse::default().encode_to_vec(),
        ),
        OtlpEncoding::Json => response(status, "application/json", "{}"),
    }
}

/// `body`, with its first byte changed while the receiver is told to tamper with bodies.
fn tampered(shared: &Shared, body: bytes::Bytes) -> bytes::Bytes {
    if !lock(&shared.state).faults.tamper_body || body.is_empty() {
        return body;
    }
    let mut changed = body.to_vec();
    changed[0] ^= 0x01;
    changed.into()
}

type Rejection = (StatusCode, String);

fn decode(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(OtlpEncoding, ExportTraceServiceRequest), Rejection> {
    let gunzipped;
    let body = match headers.get(CONTENT_ENCODING) {
        None => body,
        Some(encoding) if encoding.as_bytes().eq_ignore_ascii_case(b"identity") => body,
        Some(encoding) if encoding.as_bytes().eq_ignore_ascii_case(b"gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|err| (StatusCode::BAD_REQUEST, format!("invalid gzip body: {err}")))?;
            gunzipped = out;
            &gunzipped
        }
        Some(encoding) => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Encoding {encoding:?}"),
            ));
        }
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match content_type.as_str() {
        "application/x-protobuf" => ExportTraceServiceRequest::decode(body)
            .map(|request| (OtlpEncoding::Protobuf, request))
            .map_err(|err| (StatusCode::BAD_REQUEST, format!("invalid protobuf: {err}"))),
        "application/json" => serde_json::from_slice(body)
            .map(|request| (OtlpEncoding::Json, request))
            .map_err(|err| (StatusCode::BAD_REQUEST, format!("invalid OTLP/JSON: {err}"))),
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Type {other:?}"),
        )),
    }
}
