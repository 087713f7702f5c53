//! `#[route]`: sets the invocation's endpoint when the function runs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::{
    args::{Facade, RouteArgs},
    util,
};

/// The statement that records the route.
pub(crate) fn set_route_stmt(private: &TokenStream, route: &RouteArgs) -> TokenStream {
    let path = &route.path;
    let method = match &route.method {
        Some((m, _)) => quote!(::core::option::Option::Some(#m)),
        None => quote!(::core::option::Option::None),
    };
    quote!(#private::set_route(#method, #path);)
}

pub(crate) fn expand(args: TokenStream, item: TokenStream, facade: Facade) -> TokenStream {
    util::expand_fn(
        args,
        item,
        "#[route] goes on a function with a body: a handler or a function of your router",
        ItemFn::clone,
        |func, route: RouteArgs| Ok(expand_route(func, &route, facade)),
    )
}

fn expand_route(func: &ItemFn, route: &RouteArgs, facade: Facade) -> TokenStream {
    // Stacked over `#[serverless_handler]`, the statement lands in the body the handler
    // then wraps, so it runs inside the invocation; stacked under it, the handler macro
    // takes the attribute and places the statement itself.
    let krate = route.krate.clone().unwrap_or_else(|| facade.default_path());
    let private = quote!(#krate::__private);
    let stmt = set_route_stmt(&private, route);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = func;
    let stmts = &block.stmts;
    let body = util::braced(
        block,
        quote! {
            #stmt
            #(#stmts)*
        },
    );
    quote! {
        #(#attrs)*
        #vis #sig #body
    }
}
