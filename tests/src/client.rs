//! A minimal HTTP/1 client: one connection per request, whole bodies, `http://` only.
//!
//! Enough to talk to [`RuntimeApi`](crate::runtime_api::RuntimeApi) and
//! [`OtlpReceiver`](crate::otlp::OtlpReceiver) from tests without pulling in a full client.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let response = serverless_sdk_tests::client::get("http://127.0.0.1:9001/health").await?;
//! assert!(response.status().is_success());
//! # Ok(())
//! # }
//! ```

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, Uri, header::CONTENT_TYPE, header::HOST};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::io;
use tokio::{net::TcpStream, task::JoinHandle};

/// Sends `request` to the `http://host:port` in its URI and returns the response with its whole
/// body.
///
/// The URI must be absolute (`http://127.0.0.1:PORT/path`); it is sent in origin form with a
/// `Host` header, like any ordinary client would.
///
/// # Errors
///
/// An `InvalidInput` error for a URI without an `http` authority, otherwise any connection or
/// protocol error.
pub async fn send(request: Request<Full<Bytes>>) -> io::Result<Response<Bytes>> {
    let (mut parts, body) = request.into_parts();
    if parts
        .uri
        .scheme_str()
        .is_some_and(|scheme| scheme != "http")
    {
        return Err(invalid_input(format!(
            "only http:// is supported: {}",
            parts.uri
        )));
    }
    let authority = parts
        .uri
        .authority()
        .cloned()
        .ok_or_else(|| invalid_input(format!("URI without host: {}", parts.uri)))?;
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
    parts.uri = Uri::try_from(path).map_err(|err| invalid_input(err.to_string()))?;
    if !parts.headers.contains_key(HOST) {
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|err| invalid_input(err.to_string()))?;
        parts.headers.insert(HOST, host);
    }

    let stream = TcpStream::connect(authority.as_str()).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    // Aborted when this function returns or its future is dropped, which closes the connection.
    let _driver = AbortOnDrop(tokio::spawn(connection));
    let response = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    Ok(Response::from_parts(parts, body))
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `GET url`.
///
/// # Errors
///
/// See [`send`].
pub async fn get(url: &str) -> io::Result<Response<Bytes>> {
    send(build(Method::GET, url, None, Bytes::new())?).await
}

/// `POST url` with `body` and the given `Content-Type`.
///
/// # Errors
///
/// See [`send`].
pub async fn post(
    url: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> io::Result<Response<Bytes>> {
    send(build(Method::POST, url, Some(content_type), body.into())?).await
}

fn build(
    method: Method,
    url: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> io::Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder().method(method).uri(url);
    if let Some(content_type) = content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    builder
        .body(Full::new(body))
        .map_err(|err| invalid_input(err.to_string()))
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
