//! Endpoints for axum routers: the route template axum matched (`MatchedPath`) becomes the
//! invocation's endpoint, with no per-route code. Needs the `axum` feature.
//!
//! ```
//! use axum::{routing::get, Router};
//! use serverless_sdk_http::axum::EndpointLayer;
//!
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .route("/orders", get(|| async { "orders" }))
//!     .layer(EndpointLayer::new());
//! // serverless_sdk_http::run(app).await
//! # let _ = app;
//! ```

use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use lambda_http::{Service, tower::Layer};

/// Records the matched route of each request as the endpoint. Add it with
/// `Router::layer`, which runs it after routing. `set_endpoint` and `#[route]` still win.
#[derive(Clone, Copy, Debug, Default)]
pub struct EndpointLayer {
    _private: (),
}

impl EndpointLayer {
    /// A new layer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for EndpointLayer {
    type Service = EndpointService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EndpointService { inner }
    }
}

/// The service of [`EndpointLayer`].
#[derive(Clone, Debug)]
pub struct EndpointService<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for EndpointService<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Some(path) = request.extensions().get::<MatchedPath>() {
            serverless_sdk::__private::set_framework_endpoint(
                Some(request.method().as_str()),
                path.as_str(),
            );
        }
        self.inner.call(request)
    }
}
