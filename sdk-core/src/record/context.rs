//! The SDK's operations bound to one invocation, reached from its Lambda context.

use std::{borrow::Cow, fmt, sync::Arc};

use super::{
    capture::{Capture, capture_message, record_owned_exception},
    endpoint::set_endpoint_in,
    report::Site,
    span::{SpanGuard, SpanHandle, span},
    tag::add_tag,
};
use crate::invocation::{Current, EndpointSource, Invocation, Outcome, current, registry};
use std::panic::Location;

/// The SDK's operations bound to one invocation, from `ctx.serverless_sdk()`.
///
/// It finds its invocation by request id, so it works in any task, even one spawned
/// without propagating the current span.
#[derive(Clone)]
pub struct Sdk {
    inv: Option<Arc<Invocation>>,
}

impl fmt::Debug for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sdk")
            .field("request_id", &self.inv.as_ref().map(|i| &*i.request_id))
            .finish()
    }
}

impl Sdk {
    fn for_request(request_id: &str) -> Self {
        let inv = current::with(|c| {
            c.filter(|c| &*c.inv.request_id == request_id)
                .map(|c| c.inv.clone())
        })
        .or_else(|| registry::find(request_id));
        Self { inv }
    }

    /// Where this handle records: the current span when it belongs to this invocation, else
    /// the root span.
    fn target(&self) -> Option<Current> {
        let inv = self.inv.as_ref()?;
        Some(current::with(|c| {
            c.filter(|c| Arc::ptr_eq(&c.inv, inv))
                .cloned()
                .unwrap_or_else(|| inv.root())
        }))
    }

    /// See [`capture_exception`](crate::capture_exception).
    #[track_caller]
    pub fn capture_exception<E: Capture + ?Sized>(&self, error: &E) {
        let site = Location::caller();
        if let Some(c) = self.target() {
            record_owned_exception(
                &c,
                error.report(Some(Site::caller(site))),
                true,
                Outcome::ErrorHandled,
            );
        }
    }

    /// See [`capture_message`](crate::capture_message).
    pub fn capture_message(&self, message: impl AsRef<str>) {
        if let Some(c) = self.target() {
            current::scoped(Some(c), || capture_message(message));
        }
    }

    /// See [`tag_event`](crate::tag_event).
    pub fn tag_event(
        &self,
        tag: impl AsRef<str>,
        value: impl AsRef<str>,
        custom: impl Into<Option<serde_json::Value>>,
    ) {
        if let Some(c) = self.target() {
            let _ = add_tag(&c, tag.as_ref(), value.as_ref(), custom.into());
        }
    }

    /// See [`set_endpoint`](crate::set_endpoint).
    pub fn set_endpoint(&self, path: impl AsRef<str>) {
        if let Some(c) = self.target() {
            set_endpoint_in(&c, None, path.as_ref(), EndpointSource::Explicit);
        }
    }

    /// See [`set_endpoint_with_method`](crate::set_endpoint_with_method).
    pub fn set_endpoint_with_method(&self, method: impl AsRef<str>, path: impl AsRef<str>) {
        if let Some(c) = self.target() {
            set_endpoint_in(
                &c,
                Some(method.as_ref()),
                path.as_ref(),
                EndpointSource::Explicit,
            );
        }
    }

    /// See [`span`](fn@crate::span): a span in this invocation.
    pub fn span(&self, label: impl Into<Cow<'static, str>>) -> SpanGuard {
        let Some(c) = self.target() else {
            return SpanGuard::enter(SpanHandle::NONE);
        };
        let previous = current::replace(Some(c));
        let guard = span(label);
        // The guard restores `previous` when it is dropped; if nothing was recorded it
        // entered nothing, so restore it now.
        if !guard.handle().is_recording() {
            drop(current::replace(previous));
            return guard;
        }
        // `enter` saw `c` as the span to restore; make it restore the caller's instead.
        guard.restoring(previous)
    }
}

/// The SDK's operations from the Lambda context, `ctx.serverless_sdk()`, for
/// `lambda_runtime::Context` (and so for `lambda_http` requests' contexts too): the twin of
/// the Python SDK's `context.serverless_sdk`.
///
/// ```
/// use serverless_sdk::ContextExt;
///
/// async fn hello(event: lambda_runtime::LambdaEvent<serde_json::Value>) -> Result<(), std::io::Error> {
///     if let Err(exc) = std::fs::read("/missing") {
///         event.context.serverless_sdk().capture_exception(&exc);
///     }
///     event.context.serverless_sdk().set_endpoint("/api/foo");
///     Ok(())
/// }
/// ```
pub trait ContextExt {
    /// The SDK operations for this invocation.
    fn serverless_sdk(&self) -> Sdk;
}

impl ContextExt for lambda_runtime::Context {
    fn serverless_sdk(&self) -> Sdk {
        Sdk::for_request(&self.request_id)
    }
}
