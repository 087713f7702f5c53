//! `#[serverless_handler]`: turns a handler into one call to `__private::handle`.
//!
//! The handler keeps its shape: its visibility, generics, `where` clause and arguments stay
//! as written, so it plugs into `service_fn(handler)`, `service_fn(|ev| handler(ev, &client))`
//! or `service_fn(move |req| handler(req, state.clone()))` as before. Which argument is the
//! event is found by [`find_event`]; every other argument is state, passed through.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens as _, quote, quote_spanned};
use syn::{
    Attribute, FnArg, ItemFn, PatType, Path, ReturnType, Type, punctuated::Punctuated,
    spanned::Spanned as _, token::Comma,
};

use crate::{
    args::{Facade, HandlerArgs, RouteArgs},
    util,
};

pub(crate) fn expand(args: TokenStream, item: TokenStream, facade: Facade) -> TokenStream {
    util::expand_fn(
        args,
        item,
        "#[serverless_handler] goes on an `async fn` handler, e.g. `async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error>`",
        strip_markers,
        |func, args: HandlerArgs| expand_handler(func, args, facade),
    )
}

/// Whether an attribute is this crate's `#[route(..)]`: `route`, or a path to it through
/// one of the facades (`serverless_sdk::route`) or the `crate = ".."` path. Another crate's
/// `#[actix_web::route]` is not.
pub(crate) fn is_route_attr(attr: &Attribute, krate: &Path) -> bool {
    let path = attr.path();
    let Some(last) = path.segments.last() else {
        return false;
    };
    if last.ident != "route" {
        return false;
    }
    if path.segments.len() == 1 {
        return path.leading_colon.is_none();
    }
    let prefix: Vec<String> = path
        .segments
        .iter()
        .take(path.segments.len() - 1)
        .map(|s| s.ident.to_string())
        .collect();
    let ours: Vec<String> = krate.segments.iter().map(|s| s.ident.to_string()).collect();
    prefix == ours
        || (prefix.len() == 1
            && matches!(prefix[0].as_str(), "serverless_sdk" | "serverless_sdk_http"))
}

/// The marker attributes a handler's arguments may carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    Event,
    Context,
}

fn marker_of(attr: &Attribute) -> Option<Marker> {
    let path = attr.path();
    if path.is_ident("event") {
        Some(Marker::Event)
    } else if path.is_ident("context") {
        Some(Marker::Context)
    } else {
        None
    }
}

/// The function with the argument markers removed, as rustc must see it.
fn strip_markers(func: &ItemFn) -> ItemFn {
    let mut func = func.clone();
    for arg in &mut func.sig.inputs {
        if let FnArg::Typed(t) = arg {
            t.attrs.retain(|a| marker_of(a).is_none());
        }
    }
    func
}

/// The last segment of a type path: `LambdaEvent` for `lambda_runtime::LambdaEvent<T>`.
fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Group(g) => type_name(&g.elem),
        Type::Paren(p) => type_name(&p.elem),
        _ => None,
    }
}

/// Which of the arguments are the event and the Lambda context.
struct Shape {
    event: usize,
    context: Option<usize>,
}

/// Finds the event and the context among the arguments:
///
/// 1. an argument marked `#[event]` (or `#[context]`) is the event (the context);
/// 2. otherwise the argument whose type is written `LambdaEvent<T>` or `Request` is the
///    event, and the one written `Context` the context;
/// 3. with a context and no event yet, the event is the argument just before the context:
///    the `(event: T, ctx: Context)` shape, state arguments after it;
/// 4. a handler with a single argument takes it as its event.
///
/// Every other argument is state. Anything ambiguous is an error that says what to write.
fn find_event(args: &[&PatType], all: &TokenStream, sig_span: Span) -> syn::Result<Shape> {
    let marked = |marker: Marker| -> syn::Result<Option<usize>> {
        let found: Vec<usize> = (0..args.len())
            .filter(|&i| args[i].attrs.iter().any(|a| marker_of(a) == Some(marker)))
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            [_, second, ..] => Err(syn::Error::new_spanned(
                args[*second],
                format!(
                    "`#[{}]` marks one argument of a handler",
                    if marker == Marker::Event {
                        "event"
                    } else {
                        "context"
                    }
                ),
            )),
        }
    };
    let named = |names: &[&str]| -> Vec<usize> {
        (0..args.len())
            .filter(|&i| type_name(&args[i].ty).is_some_and(|n| names.contains(&n.as_str())))
            .collect()
    };
    let one_named = |names: &[&str], what: &str| -> syn::Result<Option<usize>> {
        match named(names).as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            [_, second, ..] => Err(syn::Error::new_spanned(
                args[*second],
                format!("two arguments look like the {what}; mark the {what} with `#[{what}]`"),
            )),
        }
    };

    let mut event = marked(Marker::Event)?;
    let mut context = marked(Marker::Context)?;
    if event.is_none() {
        event = one_named(&["LambdaEvent", "Request"], "event")?.filter(|e| Some(*e) != context);
    }
    if context.is_none() {
        context = one_named(&["Context"], "context")?.filter(|c| Some(*c) != event);
    }
    match (event, context) {
        (Some(e), Some(c)) => {
            let carries_context =
                type_name(&args[e].ty).is_some_and(|n| n == "LambdaEvent" || n == "Request");
            if carries_context {
                return Err(syn::Error::new_spanned(
                    args[c],
                    "this event already carries its Lambda context: use `event.context` (or `req.lambda_context()`) instead of a `Context` argument",
                ));
            }
            if e + 1 != c {
                return Err(syn::Error::new_spanned(
                    args[c],
                    "the context comes right after the event: `(event: T, ctx: Context, ..state)`",
                ));
            }
            Ok(Shape {
                event: e,
                context: Some(c),
            })
        }
        (Some(e), None) => Ok(Shape {
            event: e,
            context: None,
        }),
        (None, Some(0)) => Err(syn::Error::new_spanned(
            args[0],
            "the context comes after the event: `(event: T, ctx: Context)`",
        )),
        (None, Some(c)) => Ok(Shape {
            event: c - 1,
            context: Some(c),
        }),
        (None, None) => match args.len() {
            0 => Err(syn::Error::new(
                sig_span,
                "a handler takes the event: `(event: LambdaEvent<T>)`, `(event: T, ctx: Context)` or `(req: Request)`, then any state it borrows",
            )),
            1 => Ok(Shape {
                event: 0,
                context: None,
            }),
            _ => Err(syn::Error::new_spanned(
                all,
                "cannot tell which argument is the event: write its type as `LambdaEvent<T>` or `Request`, put a `ctx: Context` right after it, or mark it with `#[event]`",
            )),
        },
    }
}

fn expand_handler(func: &ItemFn, args: HandlerArgs, facade: Facade) -> syn::Result<TokenStream> {
    let sig = &func.sig;
    let mut errors = util::Errors::default();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span,
            "#[serverless_handler] needs an `async fn`: Lambda handlers are async, write `async fn`",
        ));
    }
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new(c.span, "a handler cannot be a `const fn`"));
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        errors.push(syn::Error::new(
            u.span,
            "a handler cannot be an `unsafe fn`: the runtime calls it with nothing to uphold; keep `unsafe` blocks inside it",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "a handler cannot have an `extern` ABI: the runtime calls it as a Rust `async fn`",
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new_spanned(v, "a handler cannot be variadic"));
    }
    if let Some(r) = sig.receiver() {
        errors.push(syn::Error::new_spanned(
            r,
            "#[serverless_handler] goes on a free function, not a method; call the method from a free `async fn`",
        ));
    }
    let ret_ty: Box<Type> = match &sig.output {
        ReturnType::Type(_, ty) => ty.clone(),
        ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "a handler must return `Result<_, _>`: add `-> Result<Response, Error>`",
            ));
            Box::new(syn::parse_quote!(()))
        }
    };
    if util::contains_impl_trait(&ret_ty) {
        errors.push(syn::Error::new(
            ret_ty.span(),
            "#[serverless_handler] needs a nameable return type; replace `impl Trait` with the concrete type",
        ));
    }
    let typed: Vec<&PatType> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let all_args = sig.inputs.to_token_stream();
    let shape = match find_event(&typed, &all_args, sig.paren_token.span.join()) {
        Ok(shape) => Some(shape),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    errors.finish()?;
    let Some(shape) = shape else {
        unreachable!("a missing shape was reported above")
    };

    let named_crate = args.krate.is_some();
    let krate = args.krate.unwrap_or_else(|| facade.default_path());
    let private = quote!(#krate::__private);

    // `#[route]` attributes on the handler run inside the invocation it opens. The
    // attribute's path is still named once (`use route as _;`), so the import that brought
    // it stays used.
    let mut attrs = Vec::new();
    let mut route_stmts = Vec::new();
    for attr in &func.attrs {
        if is_route_attr(attr, &krate) {
            let route: RouteArgs = attr.parse_args()?;
            let path = attr.path();
            route_stmts.push(quote! {
                #[allow(unused_imports)]
                use #path as _;
            });
            route_stmts.push(crate::route::set_route_stmt(&private, &route));
        } else {
            attrs.push(attr);
        }
    }

    let event_var = quote_spanned!(Span::mixed_site()=> __sls_event);
    let event_arg = typed[shape.event];
    let (event_ty, unpack): (TokenStream, TokenStream) = match shape.context {
        None => {
            let (pat, ty) = (&event_arg.pat, &event_arg.ty);
            (quote!(#ty), quote!(let #pat: #ty = #event_var;))
        }
        Some(c) => {
            let ctx_arg = typed[c];
            let (p0, t0) = (&event_arg.pat, &event_arg.ty);
            let (p1, t1) = (&ctx_arg.pat, &ctx_arg.ty);
            (
                quote!(#private::LambdaEvent<#t0>),
                quote!(let (#p0, #p1): (#t0, #t1) = (#event_var.payload, #event_var.context);),
            )
        }
    };
    // An event type the facade surely knows: then a type that does not fit can only be the
    // return type's fault. `Request` is one for the HTTP facade only (or a facade named with
    // `crate = ".."`).
    let plainly_an_event = shape.context.is_some()
        || type_name(&event_arg.ty).is_some_and(|n| {
            n == "LambdaEvent"
                || (n == "Request" && (matches!(facade, Facade::Http) || named_crate))
        });

    // The wrapped function's arguments: the event in its place (as `LambdaEvent<T>` for the
    // `(event, ctx)` pair), every state argument as written.
    let mut inputs: Punctuated<TokenStream, Comma> = Punctuated::new();
    for (i, arg) in typed.iter().enumerate() {
        if Some(i) == shape.context {
            continue;
        }
        if i == shape.event {
            inputs.push(quote!(#event_var: #event_ty));
            continue;
        }
        let mut arg = (*arg).clone();
        arg.attrs.retain(|a| marker_of(a).is_none());
        inputs.push(arg.to_token_stream());
    }

    let vis = &func.vis;
    let ident = &sig.ident;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let stmts = &func.block.stmts;
    let fn_name = ident.to_string();
    let span_name = match &args.name {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let meta = quote_spanned!(Span::mixed_site()=> __SLS_META);
    let err = quote_spanned!(Span::mixed_site()=> __sls_err);

    // Where rustc reports a type that does not fit. A return type that is not a `Result`
    // is named only through `<Return as HandlerResult>::{Ok, Err}`, spanned at the return
    // type: it is one error there, and everything built from it is then quiet. An event
    // type the facade does not know fails `Trigger` in the return type, the `handle` call
    // and its `.await`: all three span the event type (the return type, when the argument
    // is plainly an event and the trouble can only be the response type).
    let ret_tokens = ret_ty.to_token_stream();
    let (ret_lo, ret_hi) = (first_span(&ret_tokens), last_span(&ret_tokens));
    let (in_lo, in_hi) = (first_span(&event_ty), last_span(&event_ty));
    let via_result = |item: &str| {
        let open = quote_spanned!(ret_lo=> <);
        let item = syn::Ident::new(item, ret_hi);
        quote!(#open #ret_ty as #private::HandlerResult>::#item)
    };
    let (ok_ty, err_ty) = (via_result("Ok"), via_result("Err"));
    let result_ty = quote!(::core::result::Result<#ok_ty, #err_ty>);
    let (out_lo, out_hi) = if plainly_an_event {
        (ret_lo, ret_hi)
    } else {
        (in_lo, in_hi)
    };
    let output_ty = {
        let open = quote_spanned!(out_lo=> <);
        let output = syn::Ident::new("Output", out_hi);
        quote!(#open #event_ty as #private::Trigger<#private::ViaFacade, #result_ty>>::#output)
    };
    let handle = respan_all(quote!(#private::handle), in_lo);
    let turbofish = {
        let open = quote_spanned!(in_lo=> ::<);
        let close = quote_spanned!(in_hi=> >);
        quote!(#open #private::ViaFacade, #event_ty, #result_ty, _, _, _ #close)
    };
    let via = quote!(#private::ViaFacade);
    // An error type the probes cannot read is reported at that type.
    let at_error_type = error_type_span(&ret_ty).unwrap_or(ret_lo);
    let classify = {
        let path = respan_all(quote!(#private::classify), at_error_type);
        quote_spanned!(at_error_type=> #path!(#via, #err))
    };
    let await_at_input = quote_spanned!(in_lo=> .await);
    // The body's future is typed at the return type (so `?` knows its error type) and
    // seen through `into_result`, so that a return type that is not a `Result` is reported
    // once, at the return type.
    let into_result = via_result("into_result");
    let body = parenthesized(
        ret_hi,
        quote! {
            #private::typed_future::<#ret_ty, _>(async move {
                #unpack
                #(#route_stmts)*
                #(#stmts)*
            }).await
        },
    );
    // The event as the argument of `handle`: where rustc reports a type that is no event.
    let event_arg_var = syn::Ident::new("__sls_event", Span::mixed_site().located_at(in_lo));
    let handle_args = parenthesized(
        in_hi,
        quote! {
            #event_arg_var,
            &#meta,
            move |#event_var: #event_ty| async move { #into_result #body },
            |#err| #classify,
        },
    );
    let asyncness = &sig.asyncness;
    let fn_token = &sig.fn_token;
    // The braces keep the user's spans, so the item is the user's code to rustc
    // (`dead_code` and the other item lints still fire on it).
    let block = util::braced(
        &func.block,
        quote! {
            static #meta: #private::HandlerMeta = #private::HandlerMeta {
                name: #fn_name,
                module: ::core::module_path!(),
                span_name: #span_name,
            };
            #handle #turbofish #handle_args #await_at_input
        },
    );

    Ok(quote! {
        #(#attrs)*
        #vis #asyncness #fn_token #ident #generics (#inputs) -> #output_ty
            #where_clause
        #block
    })
}

/// The span of `E` in a return type written `Result<T, E>` (any path ending in `Result`).
fn error_type_span(ret_ty: &Type) -> Option<Span> {
    let Type::Path(p) = ret_ty else {
        return None;
    };
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [_, syn::GenericArgument::Type(e)] => Some(first_span(&e.to_token_stream())),
        _ => None,
    }
}

/// `tokens`, every token moved to `span`: a path that reads as the user's code there.
fn respan_all(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}

/// `(tokens)`, both parentheses at `span`: a call with these arguments ends at `span`.
fn parenthesized(span: Span, tokens: TokenStream) -> Group {
    let mut group = Group::new(Delimiter::Parenthesis, tokens);
    group.set_span(span);
    group
}

/// The span of the first token of `tokens`.
fn first_span(tokens: &TokenStream) -> Span {
    match tokens.clone().into_iter().next() {
        Some(TokenTree::Group(g)) => g.span_open(),
        Some(t) => t.span(),
        None => Span::call_site(),
    }
}

/// The span of the last token of `tokens`.
fn last_span(tokens: &TokenStream) -> Span {
    match tokens.clone().into_iter().last() {
        Some(TokenTree::Group(g)) => g.span_close(),
        Some(t) => t.span(),
        None => Span::call_site(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(tokens: TokenStream) -> Attribute {
        let item: ItemFn = syn::parse2(quote!(#tokens fn f() {})).expect("a function");
        item.attrs.into_iter().next().expect("one attribute")
    }

    #[test]
    fn only_this_crates_route_is_taken() {
        let ours: Path = syn::parse_quote!(::serverless_sdk);
        let renamed: Path = syn::parse_quote!(my_app::sdk);
        for (tokens, krate, expected) in [
            (quote!(#[route("/a")]), &ours, true),
            (quote!(#[serverless_sdk::route("/a")]), &ours, true),
            (
                quote!(#[serverless_sdk_http::route(GET, "/a")]),
                &ours,
                true,
            ),
            (quote!(#[my_app::sdk::route("/a")]), &renamed, true),
            (
                quote!(#[actix_web::route("/a", method = "GET")]),
                &ours,
                false,
            ),
            (quote!(#[::route("/a")]), &ours, false),
            (quote!(#[routes("/a")]), &ours, false),
        ] {
            assert_eq!(
                is_route_attr(&attr(tokens.clone()), krate),
                expected,
                "{tokens}"
            );
        }
    }
}
