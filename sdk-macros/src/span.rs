//! `#[span]`: a span around a function, sync or async.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{ItemFn, LitStr, ReturnType, Type};

use crate::{
    args::{Facade, SpanArgs},
    util,
};

pub(crate) fn expand(args: TokenStream, item: TokenStream, facade: Facade) -> TokenStream {
    util::expand_fn(
        args,
        item,
        "#[span] goes on a function with a body (free fn, method or async fn)",
        ItemFn::clone,
        |func, args: SpanArgs| expand_span(func, args, facade),
    )
}

fn expand_span(func: &ItemFn, args: SpanArgs, facade: Facade) -> syn::Result<TokenStream> {
    let sig = &func.sig;
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span,
            "#[span] cannot instrument a `const fn`: spans record time at run time; remove `const` or the attribute",
        ));
    }
    let krate = args.krate.unwrap_or_else(|| facade.default_path());
    let private = quote!(#krate::__private);
    let fn_name = sig.ident.to_string();
    let label = args
        .label
        .unwrap_or_else(|| LitStr::new(&fn_name, sig.ident.span()));
    let attrs = &func.attrs;
    let vis = &func.vis;
    let block = &func.block;
    let span_var = quote_spanned!(Span::mixed_site()=> __sls_span);
    let ret_var = quote_spanned!(Span::mixed_site()=> __sls_ret);
    let start =
        |kind: TokenStream| quote!(#private::#kind(#label, #fn_name, ::core::module_path!()));
    let record = |target: TokenStream| quote!(#private::record_result!(&#ret_var, #target););

    let ret_ty: Option<&Type> = match &sig.output {
        ReturnType::Type(_, ty) => Some(ty),
        ReturnType::Default => None,
    };
    let has_impl = ret_ty.is_some_and(util::contains_impl_trait);

    let body = if sig.asyncness.is_some() {
        // The span moves onto the body's future: entered on every poll, never held by a
        // guard across `.await`. A future dropped before it completes leaves its span
        // flagged cancelled.
        let start = start(quote!(start_async_span));
        let typed_body = match (ret_ty, has_impl) {
            (_, true) => quote!(async move #block),
            (Some(ty), false) => quote!(#private::typed_future::<#ty, _>(async move #block)),
            (None, false) => quote!(#private::typed_future::<(), _>(async move #block)),
        };
        let record = if has_impl {
            quote!()
        } else {
            record(quote!(&#span_var))
        };
        quote! {
            let #span_var = #start;
            let #ret_var = #span_var.scope(#typed_body).await;
            #record
            #span_var.close();
            #ret_var
        }
    } else if ret_ty.is_some_and(|t| util::is_impl_future(t) || util::is_boxed_future(t)) {
        // A future built here and polled later: the span follows the future.
        let start = start(quote!(start_span));
        let boxed = ret_ty.is_some_and(util::is_boxed_future);
        let fut_var = quote_spanned!(Span::mixed_site()=> __sls_future);
        let wrap = if boxed {
            quote!(#private::instrument_boxed(#span_var, #fut_var))
        } else {
            quote!(#private::instrument(#span_var, #fut_var))
        };
        quote! {
            let #span_var = #start;
            #[allow(clippy::redundant_closure_call)]
            let #fut_var = (|| #block)();
            #wrap
        }
    } else {
        let start = start(quote!(enter_span));
        match (ret_ty, has_impl) {
            (_, true) => quote! {
                let #span_var = #start;
                #block
            },
            (ty, false) => {
                let ty = ty.map_or_else(|| quote!(()), |t| quote!(#t));
                let record = record(quote!(#span_var.handle()));
                quote! {
                    let #span_var = #start;
                    #[allow(clippy::redundant_closure_call)]
                    let #ret_var: #ty = (|| -> #ty #block)();
                    #record
                    #ret_var
                }
            }
        }
    };
    let body = util::braced(block, body);
    Ok(quote! {
        #(#attrs)*
        #vis #sig #body
    })
}
