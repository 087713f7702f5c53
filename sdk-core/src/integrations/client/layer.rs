//! CLIENT spans for tower HTTP clients: `hyper_util`'s legacy client and any
//! `Service<http::Request<B>>` stack.

use std::{
    any::type_name,
    error::Error,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use lambda_runtime::tower::{Layer, Service};

use super::{
    http_span::{HttpCall, Target, transport_error_kind},
    options::{AwsSdkRequest, ClientOptions},
};

/// A tower [`Layer`] that gives every request of the HTTP client it wraps a CLIENT span and
/// trace headers; see the [module docs](crate::integrations::client).
///
/// Put it closest to the client (inside timeouts, retries or error boxing): the service it
/// wraps must fail with a concrete error type (`S::Error: std::error::Error`), which is how
/// transport failures are named.
///
/// With `hyper_util`'s client (`hyper_util::client::legacy::Client`, a
/// `Service<http::Request<B>>`):
///
/// ```no_run
/// use lambda_runtime::tower::{Layer, Service};
/// use serverless_sdk::integrations::client::{HttpClientLayer, HttpClientService};
///
/// // `client` is e.g. `Client::builder(TokioExecutor::new()).build_http()`.
/// fn traced<C>(client: C) -> HttpClientService<C> {
///     HttpClientLayer::new().layer(client)
/// }
///
/// async fn fetch<C, B>(client: C) -> Result<u16, C::Error>
/// where
///     C: Service<http::Request<String>, Response = http::Response<B>>,
///     C::Error: std::error::Error + 'static,
/// {
///     let mut client = traced(client);
///     let request = http::Request::get("http://example.com/").body(String::new()).unwrap();
///     // A CLIENT span "GET example.com"; the request carries its `traceparent`.
///     let response = client.call(request).await?;
///     Ok(response.status().as_u16())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct HttpClientLayer {
    options: ClientOptions,
}

super::options::client_options_builders!(HttpClientLayer);

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService {
            inner,
            options: self.options.clone(),
        }
    }
}

/// An HTTP client service whose requests get CLIENT spans; made by [`HttpClientLayer`].
///
/// ```
/// use lambda_runtime::tower::{Layer, Service, service_fn};
/// use serverless_sdk::integrations::client::{HttpClientLayer, HttpClientService};
///
/// let client = service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::io::Error>(http::Response::new(()))
/// });
/// let traced: HttpClientService<_> = HttpClientLayer::new().layer(client);
/// # let _ = traced;
/// ```
#[derive(Clone, Debug)]
pub struct HttpClientService<S> {
    inner: S,
    options: ClientOptions,
}

impl<S> HttpClientService<S> {
    /// The wrapped client.
    ///
    /// ```
    /// use lambda_runtime::tower::Layer;
    /// let traced = serverless_sdk::integrations::client::HttpClientLayer::new().layer(42);
    /// assert_eq!(*traced.get_ref(), 42);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the client.
    ///
    /// ```
    /// use lambda_runtime::tower::Layer;
    /// let traced = serverless_sdk::integrations::client::HttpClientLayer::new().layer(42);
    /// assert_eq!(traced.into_inner(), 42);
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResB> Service<http::Request<B>> for HttpClientService<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResB>>,
    S::Error: Error + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let call = if req.extensions().get::<AwsSdkRequest>().is_some() {
            // The AWS SDK interceptor reports this call as an operation already.
            None
        } else {
            Target::from_uri(req.uri(), req.headers())
                .and_then(|target| HttpCall::start(&self.options, req.method().as_str(), &target))
        };
        if let Some(call) = &call {
            call.inject(&self.options, req.headers_mut());
        }
        ResponseFuture {
            inner: self.inner.call(req),
            call,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpClientService`]: ends the request's span when the
    /// response head arrives or the request fails (or when dropped).
    ///
    /// ```
    /// use lambda_runtime::tower::{Layer, Service, service_fn};
    /// use serverless_sdk::integrations::client::{HttpClientLayer, ResponseFuture};
    ///
    /// # async fn demo() {
    /// let mut client = HttpClientLayer::new().layer(service_fn(|_req: http::Request<()>| async {
    ///     Ok::<_, std::io::Error>(http::Response::new(()))
    /// }));
    /// let future: ResponseFuture<_> = client.call(http::Request::new(()));
    /// let response = future.await.unwrap();
    /// assert_eq!(response.status(), 200);
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo());
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<HttpCall>,
    }
}

impl<F, ResB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResB>, E>>,
    E: Error + 'static,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(call) = this.call.take() {
            match &result {
                Ok(response) => call.finish_status(response.status().as_u16()),
                Err(error) => call.finish_error(
                    transport_error_kind(error).unwrap_or_else(|| type_name::<E>().to_owned()),
                ),
            }
        }
        Poll::Ready(result)
    }
}
