//! The small HTTP/1 server both local services are built on.

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use std::{
    convert::Infallible,
    future::Future,
    io,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpListener,
    task::JoinHandle,
    task::JoinSet,
};
use tokio_rustls::TlsAcceptor;

/// Response type of every handler.
pub type HttpResponse = Response<Full<Bytes>>;

/// A running server on `127.0.0.1:<ephemeral port>`.
///
/// Dropping it (or calling [`Server::shutdown`]) stops accepting and closes every open
/// connection, including requests that are still being handled.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `127.0.0.1:0` and serves every connection with `handler` on the current tokio
    /// runtime.
    pub async fn start<H, Fut>(handler: H, title_case_headers: bool) -> io::Result<Server>
    where
        H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        Server::start_on(handler, title_case_headers, None).await
    }

    /// [`Server::start`] behind TLS: each connection's handshake is made with `acceptor`
    /// first (a connection whose handshake fails is closed).
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start_tls<H, Fut>(handler: H, acceptor: TlsAcceptor) -> io::Result<Server>
    where
        H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        Server::start_on(handler, false, Some(acceptor)).await
    }

    async fn start_on<H, Fut>(
        handler: H,
        title_case_headers: bool,
        tls: Option<TlsAcceptor>,
    ) -> io::Result<Server>
    where
        H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, handler, title_case_headers, tls));
        Ok(Server { addr, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// [`Server::start`] with a handler that is given `state` along with each request.
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start_with<S, Fut>(
        state: &Arc<S>,
        handler: fn(Arc<S>, Request<Incoming>) -> Fut,
        title_case_headers: bool,
    ) -> io::Result<Server>
    where
        S: Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        let state = Arc::clone(state);
        Server::start(
            move |request| handler(Arc::clone(&state), request),
            title_case_headers,
        )
        .await
    }

    /// Stops the server; idempotent.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop<H, Fut>(
    listener: TcpListener,
    handler: H,
    title_case_headers: bool,
    tls: Option<TlsAcceptor>,
) where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = HttpResponse> + Send + 'static,
{
    // Owning the connection tasks here means aborting this task aborts all of them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Best effort: a failure only costs latency.
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    let tls = tls.clone();
                    connections.spawn(async move {
                        match tls {
                            None => serve(stream, handler, title_case_headers).await,
                            // A failed handshake is the client's to report.
                            Some(tls) => if let Ok(stream) = tls.accept(stream).await {
                                serve(stream, handler, title_case_headers).await;
                            },
                        }
                    });
                }
                // Typically EMFILE; back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves one connection's requests with `handler`.
async fn serve<S, H, Fut>(stream: S, handler: H, title_case_headers: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = HttpResponse> + Send + 'static,
{
    let service = service_fn(move |req| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler(req).await) }
    });
    let mut builder = http1::Builder::new();
    builder.title_case_headers(title_case_headers);
    // Connection errors (client went away mid-request, ...) are not ours to report.
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A port on `127.0.0.1` that nothing listens on: bound to an ephemeral port and released at
/// once, so connecting to it is refused (unless another process takes that port meanwhile).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let port = serverless_sdk_tests::server::closed_port().await;
/// let endpoint = format!("https://127.0.0.1:{port}");
/// # }
/// ```
///
/// # Panics
///
/// If no port can be bound.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap_or_else(|err| panic!("no port on 127.0.0.1 can be bound: {err}"));
    listener
        .local_addr()
        .unwrap_or_else(|err| panic!("the bound port has no address: {err}"))
        .port()
}

/// A response with `body` and the given content type.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    response(status, "application/json", body.to_string())
}

/// A plain-text response, for the cases no real service defines a body for.
pub fn text_response(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    response(status, "text/plain; charset=utf-8", body)
}
