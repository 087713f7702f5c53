//! Response bodies the SDK hands to `lambda_http`.

use std::{
    future::ready,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use lambda_http::{Body, IntoResponse, Response};
use serverless_sdk::__private::{Held, classify_debug};

/// A response the SDK already converted: `lambda_http` passes it through untouched.
#[derive(Debug)]
pub struct ProxyResponse(pub Response<Body>);

impl IntoResponse for ProxyResponse {
    fn into_response(self) -> Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>> {
        Box::pin(ready(self.0))
    }
}

pin_project_lite::pin_project! {
    /// The body of a response returned by a `#[serverless_handler]`: the handler's own body,
    /// or the body the SDK wrote for a failure.
    ///
    /// The handler's body is polled inside its invocation. The invocation lasts until the
    /// last byte: an `Err` or a panic while the body streams is recorded on the invocation
    /// (an `exception` event, outcome `error:unhandled`) and the stream ends cleanly where
    /// it was, so `lambda_http` sends what was sent so far and serves the next request.
    pub struct SdkBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Stream { #[pin] inner: B, held: Held, ending: bool },
        Full { data: Option<Bytes> },
    }
}

impl<B> std::fmt::Debug for SdkBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkBody").finish_non_exhaustive()
    }
}

impl<B> SdkBody<B> {
    /// The handler's body, kept inside its invocation.
    pub(crate) fn stream(inner: B, held: Held) -> Self {
        Self {
            kind: Kind::Stream {
                inner,
                held,
                ending: false,
            },
        }
    }

    /// A body the SDK wrote.
    pub(crate) fn full(data: Bytes) -> Self {
        Self {
            kind: Kind::Full { data: Some(data) },
        }
    }
}

impl<B> HttpBody for SdkBody<B>
where
    B: HttpBody,
    B::Data: Into<Bytes>,
    B::Error: std::fmt::Debug,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Full { data } => Poll::Ready(
                data.take()
                    .filter(|d| !d.is_empty())
                    .map(|d| Ok(Frame::data(d))),
            ),
            KindProj::Stream {
                mut inner,
                held,
                ending,
            } => {
                if !*ending {
                    match held.run(|| inner.as_mut().poll_frame(cx)) {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(Some(Ok(frame)))) => {
                            return Poll::Ready(Some(Ok(frame.map_data(Into::into))));
                        }
                        Ok(Poll::Ready(Some(Err(error)))) => held.fail(&classify_debug(&error)),
                        Ok(Poll::Ready(None)) => {}
                        Err(panicked) => held.fail(&panicked),
                    }
                    *ending = true;
                }
                // The last byte is out: the invocation ends here.
                held.poll_close(cx).map(|()| None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { data } => data.as_ref().is_none_or(Bytes::is_empty),
            Kind::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Stream { inner, .. } => {
                let inner = inner.size_hint();
                // The stream may end early, never late.
                let mut hint = SizeHint::new();
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper);
                }
                hint
            }
        }
    }
}
