//! Handing the event to the handler: deserialising it into the handler's type, recording
//! how a handler that is not annotated ends, and keeping a streamed response inside its
//! invocation until its last chunk.
//!
//! An event that does not fit the handler's type is reported with `errorType`
//! `Runtime.UnmarshalError`, its size and serde's message (with the path to the field), to
//! Lambda and to telemetry, instead of as `lambda_runtime::deserializer::DeserializeError`.

use std::{
    fmt,
    future::Future,
    marker::PhantomData,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use lambda_runtime::{
    Diagnostic, FunctionResponse, IntoFunctionResponse, LambdaEvent, Service, StreamResponse,
};
use opentelemetry::KeyValue;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{
    attributes as attr,
    invocation::{
        Current, Outcome,
        current::{self, PanicPayload},
    },
    record::{capture::record_exception, report::ErrorReport},
};

/// The `errorType` of an event that does not deserialise into the handler's type, after
/// AWS's own `Runtime.UnmarshalError`.
pub const UNMARSHAL_ERROR_TYPE: &str = "Runtime.UnmarshalError";

/// The handler under the SDK's runtime: decodes each event itself, records the outcome of
/// handlers that do not record their own, and streams a streamed response (`B` and `S` are
/// the handler's buffered and streamed response types) inside its invocation.
pub(crate) struct Decode<F, A, B, S> {
    inner: F,
    _types: Types<(A, B, S)>,
}

/// The types a service is about, owned by none of its values.
type Types<T> = PhantomData<fn() -> T>;

impl<F: Clone, A, B, S> Clone for Decode<F, A, B, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _types: PhantomData,
        }
    }
}

impl<F, A, B, S> Decode<F, A, B, S> {
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner,
            _types: PhantomData,
        }
    }
}

/// Why an event could not be handed to the handler.
#[derive(Debug)]
struct UnmarshalError {
    message: String,
}

impl fmt::Display for UnmarshalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UnmarshalError {}

/// Records on the current invocation that its event could not be handed to the handler,
/// and gives the Lambda error for it.
pub(crate) fn unmarshal_failure(
    current: Option<&Current>,
    size: usize,
    message: String,
) -> Diagnostic {
    if let Some(c) = current {
        let mut report = ErrorReport::from_error(
            &UnmarshalError {
                message: message.clone(),
            },
            None,
            None,
        );
        UNMARSHAL_ERROR_TYPE.clone_into(&mut report.type_name);
        record_exception(c, &report, false, Outcome::ErrorUnhandled);
        c.inv.with_span(0, |span| {
            span.attributes.push(KeyValue::new(
                attr::EVENT_SIZE_BYTES,
                i64::try_from(size).unwrap_or(i64::MAX),
            ));
        });
        c.inv.state().handler_reported = true;
    }
    Diagnostic {
        error_type: UNMARSHAL_ERROR_TYPE.to_owned(),
        error_message: message,
    }
}

impl<F, A, R, B, S> Service<LambdaEvent<Box<RawValue>>> for Decode<F, A, B, S>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Error: Into<Diagnostic>,
    A: for<'de> Deserialize<'de>,
    R: IntoFunctionResponse<B, S>,
{
    type Response = FunctionResponse<B, InInvocation<S>>;
    type Error = Diagnostic;
    type Future = DecodeFuture<F::Future, B, S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Diagnostic>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, event: LambdaEvent<Box<RawValue>>) -> Self::Future {
        let current = current::get();
        let raw = event.payload.get();
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        let payload = match serde_path_to_error::deserialize::<_, A>(&mut deserializer) {
            Ok(payload) => payload,
            Err(error) => {
                let path = error.path().to_string();
                let at = if path == "." {
                    String::new()
                } else {
                    format!(" at `{path}`")
                };
                let message = format!(
                    "the event ({} bytes) does not fit the handler's payload type{at}: {}",
                    raw.len(),
                    error.inner()
                );
                return DecodeFuture::Failed {
                    diagnostic: Some(unmarshal_failure(current.as_ref(), raw.len(), message)),
                };
            }
        };
        let event = LambdaEvent::new(payload, event.context);
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(event))) {
            Ok(fut) => DecodeFuture::Inner {
                fut,
                current,
                _types: PhantomData,
            },
            Err(payload) => DecodeFuture::Failed {
                diagnostic: Some(panicked(current.as_ref(), &*payload)),
            },
        }
    }
}

/// Records a panic of a handler that does not record its own.
fn panicked(current: Option<&Current>, payload: &(dyn std::any::Any + Send)) -> Diagnostic {
    let report = ErrorReport::from_panic(payload);
    let diagnostic = Diagnostic {
        error_type: report.type_name.clone(),
        error_message: report.message.clone(),
    };
    failed(current, &report);
    diagnostic
}

/// Records the failure of a handler that does not record its own outcome.
fn failed(current: Option<&Current>, report: &ErrorReport) {
    let Some(c) = current else { return };
    if c.inv.state().handler_reported {
        return;
    }
    record_exception(c, report, false, Outcome::ErrorUnhandled);
}

pin_project_lite::pin_project! {
    /// The future of [`Decode`].
    #[project = DecodeProj]
    pub(crate) enum DecodeFuture<Fut, B, S> {
        Inner {
            #[pin]
            fut: Fut,
            current: Option<Current>,
            _types: Types<(B, S)>,
        },
        Failed { diagnostic: Option<Diagnostic> },
    }
}

impl<Fut, R, E, B, S> Future for DecodeFuture<Fut, B, S>
where
    Fut: Future<Output = Result<R, E>>,
    E: Into<Diagnostic>,
    R: IntoFunctionResponse<B, S>,
{
    type Output = Result<FunctionResponse<B, InInvocation<S>>, Diagnostic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            DecodeProj::Inner { fut, current, .. } => {
                let polled: Result<Poll<Result<R, E>>, PanicPayload> =
                    catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
                match polled {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(Ok(response))) => {
                        Poll::Ready(Ok(in_invocation(response.into_response(), current.take())))
                    }
                    Ok(Poll::Ready(Err(error))) => {
                        let diagnostic: Diagnostic = error.into();
                        let report = ErrorReport::new(
                            diagnostic.error_type.clone(),
                            diagnostic.error_message.clone(),
                            Vec::new(),
                            None,
                            None,
                        );
                        failed(current.as_ref(), &report);
                        Poll::Ready(Err(diagnostic))
                    }
                    Err(payload) => Poll::Ready(Err(panicked(current.as_ref(), &*payload))),
                }
            }
            DecodeProj::Failed { diagnostic } => match diagnostic.take() {
                Some(d) => Poll::Ready(Err(d)),
                None => Poll::Pending,
            },
        }
    }
}

/// A streamed response's body kept inside its invocation: recorded on the invocation's root
/// span as its status, and streamed with the invocation current.
fn in_invocation<B, S>(
    response: FunctionResponse<B, S>,
    current: Option<Current>,
) -> FunctionResponse<B, InInvocation<S>> {
    match response {
        FunctionResponse::BufferedResponse(body) => FunctionResponse::BufferedResponse(body),
        FunctionResponse::StreamingResponse(StreamResponse {
            metadata_prelude,
            stream,
        }) => {
            if let Some(c) = &current {
                c.inv.state().status_code = Some(metadata_prelude.status_code.as_u16());
            }
            FunctionResponse::StreamingResponse(StreamResponse {
                metadata_prelude,
                stream: InInvocation {
                    inner: stream,
                    current,
                    ended: false,
                },
            })
        }
    }
}

/// The stream of a streamed response, polled inside its invocation. An `Err` item or a
/// panic while it streams is recorded on the invocation (an `exception` event, outcome
/// `error:unhandled`: the client saw a response cut short) and ends the stream cleanly
/// where it was.
pub struct InInvocation<S> {
    inner: S,
    current: Option<Current>,
    ended: bool,
}

impl<S: Unpin> Unpin for InInvocation<S> {}

impl<S, D, E> futures_core::Stream for InInvocation<S>
where
    S: futures_core::Stream<Item = Result<D, E>> + Unpin,
    E: Into<lambda_runtime::Error>,
{
    type Item = Result<D, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let inner = &mut this.inner;
        let polled = current::scoped(this.current.clone(), || {
            catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll_next(cx)))
        });
        let report = match polled {
            Ok(Poll::Ready(Some(Err(error)))) => {
                let error: lambda_runtime::Error = error.into();
                ErrorReport::from_error(&*error, Some(std::any::type_name::<E>()), None)
            }
            Ok(Poll::Ready(None)) => {
                this.ended = true;
                return Poll::Ready(None);
            }
            Ok(poll) => return poll,
            Err(payload) => ErrorReport::from_panic(&*payload),
        };
        this.ended = true;
        if let Some(c) = &this.current {
            record_exception(c, &report, false, Outcome::ErrorUnhandled);
            c.inv.state().handler_reported = true;
        }
        Poll::Ready(None)
    }
}
