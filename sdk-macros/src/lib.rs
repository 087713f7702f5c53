//! Attribute macros for [`serverless_sdk`](https://docs.rs/serverless_sdk): use them through
//! that crate (or `serverless_sdk_http`), which documents them and provides the runtime
//! they call.
//!
//! The generated code reaches the runtime only through `::serverless_sdk::__private` (or
//! `::serverless_sdk_http::__private` for the macros re-exported by `serverless_sdk_http`,
//! or the path given with `crate = "..."`) and `::core`.

use proc_macro::TokenStream;

mod args;
mod handler;
mod http_error;
mod route;
#[allow(dead_code, unreachable_pub)]
mod route_template;
#[cfg(test)]
mod snapshots;
mod span;
mod util;

use args::Facade;

/// Defines attribute macros, each expanded by `$module::expand` for `$facade`.
macro_rules! attribute_macros {
    ($($(#[$attr:meta])* $name:ident => $module:ident, $facade:ident;)*) => {$(
        $(#[$attr])*
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            $module::expand(args.into(), item.into(), Facade::$facade).into()
        }
    )*};
}

attribute_macros! {
    /// Wraps a Lambda handler; see `serverless_sdk::serverless_handler`.
    serverless_handler => handler, Core;
    /// Wraps a function in a span; see `serverless_sdk::span`.
    span => span, Core;
    /// Sets the invocation's endpoint; see `serverless_sdk::route`.
    route => route, Core;
    /// `serverless_handler` for code that depends on `serverless_sdk_http` only.
    #[doc(hidden)]
    serverless_handler_via_http => handler, Http;
    /// `span` for code that depends on `serverless_sdk_http` only.
    #[doc(hidden)]
    span_via_http => span, Http;
    /// `route` for code that depends on `serverless_sdk_http` only.
    #[doc(hidden)]
    route_via_http => route, Http;
}

/// Derives `HttpError` from `#[http(STATUS)]` / `#[http(STATUS, "message")]` on each
/// variant; see `serverless_sdk::HttpError`.
#[proc_macro_derive(HttpError, attributes(http))]
pub fn derive_http_error(item: TokenStream) -> TokenStream {
    http_error::expand(item.into(), Facade::Core).into()
}

/// `HttpError` for code that depends on `serverless_sdk_http` only.
#[doc(hidden)]
#[proc_macro_derive(HttpErrorViaHttp, attributes(http))]
pub fn derive_http_error_via_http(item: TokenStream) -> TokenStream {
    http_error::expand(item.into(), Facade::Http).into()
}
