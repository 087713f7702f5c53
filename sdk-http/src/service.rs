//! Any `lambda_http` service (an axum `Router`, a plain `service_fn`) run inside an
//! invocation: a tower layer for whoever composes their own service stack, and what the
//! `run` family wraps every service in.

use std::{
    fmt::Debug,
    marker::PhantomData,
    task::{Context, Poll},
};

use lambda_http::{IntoResponse, Request, Response, Service, tower::Layer};
use lambda_runtime::Diagnostic;
use serverless_sdk::__private::{ErrorInfo, Handled, HandlerMeta, Trigger, classify_debug, handle};

use crate::{
    body::{ProxyResponse, SdkBody},
    trigger::{Buffered, Http},
};

/// The response mode of a service that streams its `Response<B>` body as it comes, for
/// `lambda_http::run_with_streaming_response`.
pub type Streamed = Http;

static SERVICE_META: HandlerMeta = HandlerMeta {
    name: "handler",
    module: module_path!(),
    span_name: None,
};

/// A tower layer that runs each request of a `lambda_http` service inside an invocation:
/// root span, caught panics, proxy `500`s for `Err` values and panics. A
/// `#[serverless_handler]` inside joins the invocation instead of opening a second one.
/// The `run` family of this crate adds it; add it yourself when you compose the service
/// stack by hand.
///
/// ```
/// use lambda_http::{service_fn, tower::ServiceBuilder, Body, Error, Request, Response};
/// use serverless_sdk_http::HttpInvocationLayer;
///
/// async fn plain(_req: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("not annotated, still instrumented")))
/// }
/// let service = ServiceBuilder::new()
///     .layer(HttpInvocationLayer::new())
///     .service(service_fn(plain));
/// // lambda_http::run(service).await
/// # let _ = service;
/// ```
#[derive(Debug)]
pub struct HttpInvocationLayer<M = Buffered> {
    _mode: PhantomData<fn() -> M>,
}

impl<M> Clone for HttpInvocationLayer<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for HttpInvocationLayer<M> {}

impl Default for HttpInvocationLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpInvocationLayer {
    /// A layer for services served by `lambda_http::run`: responses are converted as
    /// `lambda_http` converts them.
    #[must_use]
    pub fn new() -> Self {
        Self { _mode: PhantomData }
    }

    /// A layer for services served by `lambda_http::run_with_streaming_response`: the
    /// response body streams, and the invocation lasts until its last byte.
    #[must_use]
    pub fn streaming() -> HttpInvocationLayer<Streamed> {
        HttpInvocationLayer { _mode: PhantomData }
    }
}

impl<S, M> Layer<S> for HttpInvocationLayer<M> {
    type Service = HttpInvocationService<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpInvocationService {
            inner,
            _mode: PhantomData,
        }
    }
}

/// The service of [`HttpInvocationLayer`].
#[derive(Debug)]
pub struct HttpInvocationService<S, M = Buffered> {
    inner: S,
    _mode: PhantomData<fn() -> M>,
}

impl<S: Clone, M> Clone for HttpInvocationService<S, M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _mode: PhantomData,
        }
    }
}

impl<S> HttpInvocationService<S> {
    /// Wraps `inner`, converting its responses as `lambda_http` does.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            _mode: PhantomData,
        }
    }
}

impl<S> HttpInvocationService<S, Streamed> {
    /// Wraps `inner`, streaming its response bodies.
    pub fn streaming(inner: S) -> Self {
        Self {
            inner,
            _mode: PhantomData,
        }
    }
}

fn not_ready<E: Debug>(error: E) -> Diagnostic {
    Diagnostic {
        error_type: "ServiceNotReady".to_owned(),
        error_message: format!("{error:?}"),
    }
}

impl<S, R, E> Service<Request> for HttpInvocationService<S, Buffered>
where
    S: Service<Request, Response = R, Error = E>,
    R: IntoResponse,
    E: Debug,
{
    type Response = ProxyResponse;
    type Error = Diagnostic;
    type Future = HttpInvocationFuture<Buffered, S, R, E>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Diagnostic>> {
        self.inner.poll_ready(cx).map_err(not_ready)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        call_in_invocation(&mut self.inner, request)
    }
}

/// The future of an [`HttpInvocationService`] over `S`, in the mode of the facade `F`.
pub type HttpInvocationFuture<F, S, R, E> =
    Handled<F, Request, Result<R, E>, <S as Service<Request>>::Future, fn(&E) -> ErrorInfo>;

/// Calls `inner` with `request` inside the request's invocation.
fn call_in_invocation<F, S, R, E>(
    inner: &mut S,
    request: Request,
) -> HttpInvocationFuture<F, S, R, E>
where
    Request: Trigger<F, Result<R, E>>,
    S: Service<Request, Response = R, Error = E>,
    E: Debug,
{
    handle(
        request,
        &SERVICE_META,
        |request| inner.call(request),
        classify_debug::<E> as fn(&E) -> ErrorInfo,
    )
}

impl<S, B, E> Service<Request> for HttpInvocationService<S, Streamed>
where
    S: Service<Request, Response = Response<B>, Error = E>,
    B: http_body::Body + Send + 'static,
    B::Data: Into<bytes::Bytes>,
    E: Debug,
{
    type Response = Response<SdkBody<B>>;
    type Error = Diagnostic;
    type Future = HttpInvocationFuture<Http, S, Response<B>, E>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Diagnostic>> {
        self.inner.poll_ready(cx).map_err(not_ready)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        call_in_invocation(&mut self.inner, request)
    }
}
