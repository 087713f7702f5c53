//! `#[route]`: sets the invocation's endpoint when the function runs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::{
    args::{Facade, RouteArgs},
    util::{self, emit_with_error},
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
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            return util::not_a_function(
                item,
                "#[route] goes on a function with a body: a handler or a function of your router",
            );
        }
    };
    let route = match syn::parse2::<RouteArgs>(args) {
        Ok(r) => r,
        Err(e) => return emit_with_error(&func, e),
    };
    // Stacked over `#[serverless_handler]`, the statement lands in the body the handler
    // then wraps, so it runs inside the invocation; stacked under it, the handler macro
    // takes the attribute and places the statement itself.
    let krate = route.krate.clone().unwrap_or_else(|| facade.default_path());
    let private = quote!(#krate::__private);
    let stmt = set_route_stmt(&private, &route);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = &func;
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
