//! What the code `#[serverless_handler]`, `#[span]` and `#[route]` generate calls, and the
//! building blocks the facade crates (`serverless_sdk_http`) build their triggers from. Not
//! a public API: names here change without notice.
//!
//! The contract with the macro crate, all of it:
//!
//! * a handler expands to one call, [`handle`]`::<ViaFacade, ..>(event, &META, body,
//!   |error| classify!(ViaFacade, error))`, its return type written [`Output`]`<Event,
//!   Return>`, the body's future typed with [`typed_future`], `META` a [`HandlerMeta`];
//! * a `#[span]` function calls [`start_span`] / [`start_async_span`] / [`enter_span`] /
//!   [`instrument`] / [`instrument_boxed`] and [`record_result!`](record_result);
//! * `#[route]` calls [`set_route`];
//! * `#[derive(HttpError)]` implements [`HttpError`] with [`Cow`] and [`reason_phrase`].
#![allow(missing_docs, unreachable_pub)]

pub use crate::__classify as classify;
pub use crate::__record_result as record_result;
pub use crate::handler::errors::{HttpError, reason_phrase};
pub use crate::handler::{
    Completion, Handled, HandlerMeta, HandlerOutcome, HandlerResult, Held, Root, Start, Trigger,
    classify::{Core, ErrorInfo, Facade, Probe, classify_debug, ladder},
    handle, typed_future,
};
pub use crate::invocation::{Outcome, source::EventSource};
pub use crate::record::{
    report::{ErrorReport, Site},
    span::{
        SpanGuard, SpanHandle,
        support::{enter_span, instrument, instrument_boxed, start_async_span, start_span},
    },
};
pub use crate::runtime::layer::{Layered, with_layers};
pub use lambda_runtime::{Context, Diagnostic, LambdaEvent};
pub use std::borrow::Cow;

use crate::{
    invocation::{EndpointSource, current},
    record::endpoint::set_endpoint_in,
};

/// The facade the macros of this crate expand for.
pub type ViaFacade = Core;

/// What a handler annotated through this crate returns, for a handler returning `Return`
/// (a `Result`, seen through [`HandlerResult`] so that any other type is one error at the
/// return type).
pub type Output<Event, Return> = <Event as Trigger<
    ViaFacade,
    Result<<Return as HandlerResult>::Ok, <Return as HandlerResult>::Err>,
>>::Output;

/// Sets the endpoint from `#[route]`.
#[inline]
pub fn set_route(method: Option<&'static str>, path: &'static str) {
    current::with(|c| {
        if let Some(c) = c {
            set_endpoint_in(c, method, path, EndpointSource::Explicit);
        }
    });
}

/// Sets the endpoint a web framework matched (axum's `MatchedPath`); an explicit
/// `set_endpoint` / `#[route]` still wins.
#[inline]
pub fn set_framework_endpoint(method: Option<&str>, path: &str) {
    current::with(|c| {
        if let Some(c) = c {
            set_endpoint_in(c, method, path, EndpointSource::Framework);
        }
    });
}

/// Sets the SDK up from the environment unless it was already.
pub fn ensure_init() {
    crate::runtime::ensure_init();
}

/// The kind of source a raw event comes from, or why it is no event at all: the event
/// reader, for fuzzing.
///
/// # Errors
///
/// Why the payload is not an event.
pub fn read_event_source(payload: &[u8]) -> Result<crate::invocation::TriggerKind, String> {
    crate::invocation::source::read(payload)
        .map(|source| source.trigger())
        .map_err(|bad| bad.to_string())
}
