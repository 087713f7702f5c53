//! `#[serverless_handler]`: turns a handler into a call to `__private::handle`.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens as _, quote, quote_spanned};
use syn::{Attribute, FnArg, ItemFn, ReturnType, Type, spanned::Spanned as _};

use crate::{
    args::{Facade, HandlerArgs, RouteArgs},
    util::{self, emit_with_error},
};

pub(crate) fn expand(args: TokenStream, item: TokenStream, facade: Facade) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            return util::not_a_function(
                item,
                "#[serverless_handler] goes on an `async fn` handler, e.g. `async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error>`",
            );
        }
    };
    let args = match syn::parse2::<HandlerArgs>(args) {
        Ok(a) => a,
        Err(e) => return emit_with_error(&func, e),
    };
    match expand_handler(&func, args, facade) {
        Ok(tokens) => tokens,
        Err(e) => emit_with_error(&func, e),
    }
}

/// Whether an attribute is `#[route(..)]` (however it is imported).
pub(crate) fn is_route_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "route")
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
    if let Some(r) = sig.receiver() {
        errors.push(syn::Error::new_spanned(
            r,
            "#[serverless_handler] goes on a free function, not a method; call the method from a free `async fn`",
        ));
    }
    let inputs: Vec<_> = sig.inputs.iter().collect();
    if inputs.is_empty() || inputs.len() > 2 {
        let message = format!(
            "a handler takes the event: `(event: LambdaEvent<T>)`, `(event: T, ctx: Context)` or `(req: Request)`; this one takes {} argument{}",
            inputs.len(),
            if inputs.len() == 1 { "" } else { "s" }
        );
        errors.push(if inputs.is_empty() {
            syn::Error::new(sig.paren_token.span.join(), message)
        } else {
            // Point at the arguments past the second.
            let extra: TokenStream = inputs[2..].iter().map(|a| a.to_token_stream()).collect();
            syn::Error::new_spanned(extra, message)
        });
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
    errors.finish()?;

    let krate = args.krate.unwrap_or_else(|| facade.default_path());
    let private = quote!(#krate::__private);

    // `#[route]` attributes on the handler run inside the invocation it opens. The
    // attribute's path is still named once (`use route as _;`), so the import that brought
    // it stays used.
    let mut attrs = Vec::new();
    let mut route_stmts = Vec::new();
    for attr in &func.attrs {
        if is_route_attr(attr) {
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

    let typed: Vec<&syn::PatType> = inputs
        .iter()
        .map(|arg| match arg {
            FnArg::Typed(t) => Ok(t),
            FnArg::Receiver(r) => Err(syn::Error::new(r.span(), "unexpected receiver")),
        })
        .collect::<syn::Result<_>>()?;
    let event = quote_spanned!(Span::mixed_site()=> __sls_event);
    // The event type the wrapped function takes, the statements that bind the user's
    // arguments from it, and whether that type is plainly one the SDK supports.
    let (input_ty, unpack, plainly_an_event): (TokenStream, TokenStream, bool) =
        match typed.as_slice() {
            [one] => {
                let (pat, ty) = (&one.pat, &one.ty);
                let named = |name: &str| match &**ty {
                    Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
                    _ => false,
                };
                (
                    quote!(#ty),
                    quote!(let #pat: #ty = #event;),
                    named("LambdaEvent") || named("Request"),
                )
            }
            [event_arg, ctx_arg] => {
                let (p0, t0) = (&event_arg.pat, &event_arg.ty);
                let (p1, t1) = (&ctx_arg.pat, &ctx_arg.ty);
                (
                    quote!(#private::LambdaEvent<#t0>),
                    quote!(let (#p0, #p1): (#t0, #t1) = (#event.payload, #event.context);),
                    true,
                )
            }
            _ => unreachable!("arity checked above"),
        };

    let vis = &func.vis;
    let ident = &sig.ident;
    let (impl_generics, _, where_clause) = sig.generics.split_for_impl();
    let stmts = &func.block.stmts;
    let fn_name = ident.to_string();
    let span_name = match &args.name {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let err = quote_spanned!(Span::mixed_site()=> __sls_err);
    let meta = quote_spanned!(Span::mixed_site()=> __SLS_META);

    // A return type that is not a `Result`, or an argument that is not an event, must read
    // as one error at the offending type. So the generated code names the result type
    // through `HandlerResult` (`Trigger<String>` would also call a good event type
    // unsupported), every generated type or call that needs `#ret_ty: HandlerResult` spans
    // exactly the return type, and every one that needs `Trigger` spans exactly the
    // argument type: rustc reports a failed bound once per span.
    let ret_tokens = ret_ty.to_token_stream();
    let (ret_lo, ret_hi) = (first_span(&ret_tokens), last_span(&ret_tokens));
    let (in_lo, in_hi) = (first_span(&input_ty), last_span(&input_ty));
    let via_result = |item: &str| {
        let open = quote_spanned!(ret_lo=> <);
        let item = syn::Ident::new(item, ret_hi);
        quote!(#open #ret_ty as #private::HandlerResult>::#item)
    };
    let (ok_ty, err_ty, into_result) = (
        via_result("Ok"),
        via_result("Err"),
        via_result("into_result"),
    );
    let err_ref = {
        let amp = quote_spanned!(ret_lo=> &);
        quote!(#amp #err_ty)
    };
    // The signature's return type needs both bounds and rustc reports its failures on the
    // whole type: span it at the return type when the argument is plainly an event.
    let output_ty = {
        let (lo, hi) = if plainly_an_event {
            (ret_lo, ret_hi)
        } else {
            (in_lo, in_hi)
        };
        let open = quote_spanned!(lo=> <);
        let output = syn::Ident::new("Output", hi);
        quote!(#open #input_ty as #private::Trigger<::core::result::Result<#ok_ty, #err_ty>>>::#output)
    };
    let handle = {
        let path = respan_first(quote!(#private::handle), in_lo);
        let close = quote_spanned!(in_hi=> >);
        let result_ty = quote_spanned!(in_lo=> ::core::result::Result<#ok_ty, #err_ty #close);
        quote!(#path::<#input_ty, #result_ty, _, _, _ #close)
    };
    let event_arg = syn::Ident::new("__sls_event", Span::mixed_site().located_at(in_lo));
    let await_at_input = quote_spanned!(in_lo=> .await);

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
    // An error type the probes cannot print is reported at that type.
    let at_error_type = Span::call_site().located_at(error_type_span(&ret_ty).unwrap_or(ret_lo));
    let report = syn::Ident::new("__sls_report", at_error_type);
    let text = syn::Ident::new("__sls_text", at_error_type);
    let classify = quote! {
        |#err: #err_ref| {
            #[allow(unused_imports)]
            use #private::{
                ReportViaError as _, ReportViaBox as _, ReportViaDisplay as _,
                ReportViaDebug as _, TextViaDisplay as _, TextViaDebug as _,
                ErrorTypeViaTrait as _, ErrorTypeDefault as _, HttpViaTrait as _,
                HttpViaBox as _, HttpDefault as _,
            };
            // Settles the error type before the probes: when the return type is not a
            // `Result` (reported above), it becomes `{type error}` and the probes stay
            // silent instead of adding "multiple applicable items" errors.
            trait __SlsKnown { fn __sls_known(&self) {} }
            impl<T: ?::core::marker::Sized> __SlsKnown for T {}
            (*#err).__sls_known();
            #private::ErrorInfo {
                report: (&&&#private::Probe(#err)).#report(),
                display: (&&#private::Probe(#err)).#text(),
                error_type: (&&#private::Probe(#err)).__sls_error_type(),
                http: (&&#private::Probe(#err)).__sls_http(),
            }
        }
    };
    let handle_args = parenthesized(
        in_hi,
        quote! {
            #event_arg,
            &#meta,
            |#event: #input_ty| async move { #into_result #body },
            #classify,
        },
    );
    // `async fn` and the braces keep the user's spans, so the item is the user's code to
    // rustc (`dead_code` and the other item lints still fire on it).
    let asyncness = &sig.asyncness;
    let fn_token = &sig.fn_token;
    let block = util::braced(
        &func.block,
        quote! {
            static #meta: #private::HandlerMeta = #private::HandlerMeta {
                name: #fn_name,
                module: ::core::module_path!(),
                span_name: #span_name,
            };
            #handle #handle_args #await_at_input
        },
    );

    Ok(quote! {
        #(#attrs)*
        #vis #asyncness #fn_token #ident #impl_generics (#event: #input_ty) -> #output_ty
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

/// `tokens` with its first token (both halves of a leading `::`) moved to `span`.
fn respan_first(tokens: TokenStream, span: Span) -> TokenStream {
    let mut tokens: Vec<_> = tokens.into_iter().collect();
    let leading_colons = tokens
        .iter()
        .take(2)
        .take_while(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ':'))
        .count();
    for t in tokens.iter_mut().take(leading_colons.max(1)) {
        t.set_span(span);
    }
    tokens.into_iter().collect()
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

/// `(tokens)`, both parentheses at `span`: a call with these arguments ends at `span`.
fn parenthesized(span: Span, tokens: TokenStream) -> Group {
    let mut group = Group::new(Delimiter::Parenthesis, tokens);
    group.set_span(span);
    group
}
