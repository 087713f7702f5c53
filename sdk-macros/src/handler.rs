//! `#[serverless_handler]`: turns a handler into a call to `__private::handle`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
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
        errors.push(syn::Error::new(
            r.span(),
            "#[serverless_handler] goes on a free function, not a method; call the method from a free `async fn`",
        ));
    }
    let inputs: Vec<_> = sig.inputs.iter().collect();
    if inputs.is_empty() || inputs.len() > 2 {
        let span = if inputs.is_empty() {
            sig.paren_token.span.join()
        } else {
            sig.inputs.span()
        };
        errors.push(syn::Error::new(
            span,
            format!(
                "a handler takes the event: `(event: LambdaEvent<T>)`, `(event: T, ctx: Context)` or `(req: Request)`; this one takes {} argument{}",
                inputs.len(),
                if inputs.len() == 1 { "" } else { "s" }
            ),
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
    errors.finish()?;

    let krate = args.krate.unwrap_or_else(|| facade.default_path());
    let private = quote!(#krate::__private);

    // `#[route]` attributes on the handler run inside the invocation it opens.
    let mut attrs = Vec::new();
    let mut route_stmts = Vec::new();
    for attr in &func.attrs {
        if is_route_attr(attr) {
            let route: RouteArgs = attr.parse_args()?;
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
    let (input_ty, unpack): (TokenStream, TokenStream) = match typed.as_slice() {
        [one] => {
            let (pat, ty) = (&one.pat, &one.ty);
            (quote!(#ty), quote!(let #pat: #ty = #event;))
        }
        [event_arg, ctx_arg] => {
            let (p0, t0) = (&event_arg.pat, &event_arg.ty);
            let (p1, t1) = (&ctx_arg.pat, &ctx_arg.ty);
            (
                quote!(#private::LambdaEvent<#t0>),
                quote!(let (#p0, #p1): (#t0, #t1) = (#event.payload, #event.context);),
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

    Ok(quote! {
        #(#attrs)*
        #vis async fn #ident #impl_generics (#event: #input_ty)
            -> <#input_ty as #private::Trigger<#ret_ty>>::Output
            #where_clause
        {
            static #meta: #private::HandlerMeta = #private::HandlerMeta {
                name: #fn_name,
                module: ::core::module_path!(),
                span_name: #span_name,
            };
            #private::handle::<#input_ty, #ret_ty, _, _, _>(
                #event,
                &#meta,
                |#event: #input_ty| #private::typed_future::<#ret_ty, _>(async move {
                    #unpack
                    #(#route_stmts)*
                    #(#stmts)*
                }),
                |#err: &<#ret_ty as #private::HandlerResult>::Err| {
                    #[allow(unused_imports)]
                    use #private::{
                        ReportViaError as _, ReportViaBox as _, ReportViaDisplay as _,
                        ReportViaDebug as _, TextViaDisplay as _, TextViaDebug as _,
                        ErrorTypeViaTrait as _, ErrorTypeDefault as _, HttpViaTrait as _,
                        HttpViaBox as _, HttpDefault as _,
                    };
                    #private::ErrorInfo {
                        report: (&&&#private::Probe(#err)).__sls_report(),
                        display: (&&#private::Probe(#err)).__sls_text(),
                        error_type: (&&#private::Probe(#err)).__sls_error_type(),
                        http: (&&#private::Probe(#err)).__sls_http(),
                    }
                },
            )
            .await
        }
    })
}
