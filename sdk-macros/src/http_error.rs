//! `#[derive(HttpError)]`: an error type's HTTP status and public message, written beside
//! each variant as `#[http(404, "order {0} not found")]`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{
    Attribute, Data, DeriveInput, Fields, LitInt, LitStr, Token,
    parse::{Parse, ParseStream},
};

use crate::args::Facade;

/// `#[http(STATUS)]` or `#[http(STATUS, "message")]`.
struct HttpAttr {
    status: LitInt,
    message: Option<LitStr>,
}

impl Parse for HttpAttr {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let status: LitInt = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the status first: `#[http(404)]` or `#[http(404, \"order {0} not found\")]`",
            )
        })?;
        let code: u16 = status.base10_parse()?;
        if !(400..=599).contains(&code) {
            return Err(syn::Error::new(
                status.span(),
                format!("{code} is not an error status: an `HttpError` answers 400 to 599"),
            ));
        }
        let message = if input.is_empty() {
            None
        } else {
            input.parse::<Token![,]>()?;
            let message: LitStr = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected the public message as a string literal, e.g. `\"order {0} not found\"`",
                )
            })?;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            Some(message)
        };
        if !input.is_empty() {
            return Err(input.error("`#[http]` takes a status and a message, nothing more"));
        }
        Ok(Self { status, message })
    }
}

/// The one `#[http(..)]` among `attrs`, if any.
fn http_attr(attrs: &[Attribute]) -> syn::Result<Option<HttpAttr>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("http")) {
        if found.is_some() {
            return Err(syn::Error::new_spanned(
                attr,
                "`#[http]` set multiple times",
            ));
        }
        found = Some(attr.parse_args::<HttpAttr>()?);
    }
    Ok(found)
}

/// The message with `{0}`, `{1:?}` made `{_0}`, `{_1:?}`: names the bindings of a tuple
/// variant's fields, as `thiserror` writes them.
fn positional_to_named(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 4);
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '{' {
            if chars.peek() == Some(&'{') {
                out.push('{');
                chars.next();
            } else if chars.peek().is_some_and(char::is_ascii_digit) {
                out.push('_');
            }
        }
    }
    out
}

/// The pattern that binds a variant's (or struct's) fields, and the arm's message.
fn arm(fields: &Fields, http: &HttpAttr, private: &TokenStream) -> (TokenStream, TokenStream) {
    let (bind, uses_fields) = match fields {
        Fields::Unit => (quote!(), false),
        Fields::Unnamed(f) => {
            let names = (0..f.unnamed.len()).map(|i| format_ident!("_{}", i));
            (quote!((#(#names),*)), true)
        }
        Fields::Named(f) => {
            let names = f.named.iter().filter_map(|f| f.ident.as_ref());
            (quote!({ #(#names),* }), true)
        }
    };
    let message = match &http.message {
        None => {
            let status = &http.status;
            quote!(#private::Cow::Borrowed(#private::reason_phrase(#status)))
        }
        Some(text) if !text.value().contains('{') => quote!(#private::Cow::Borrowed(#text)),
        Some(text) => {
            let text = LitStr::new(&positional_to_named(&text.value()), text.span());
            quote!(#private::Cow::Owned(::std::format!(#text)))
        }
    };
    let bind = if uses_fields { bind } else { quote!() };
    (bind, message)
}

pub(crate) fn expand(item: TokenStream, facade: Facade) -> TokenStream {
    match syn::parse2::<DeriveInput>(item).and_then(|input| expand_derive(&input, facade)) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn expand_derive(input: &DeriveInput, facade: Facade) -> syn::Result<TokenStream> {
    let krate = facade.default_path();
    let private = quote!(#krate::__private);
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let default = http_attr(&input.attrs)?;
    let arms: Vec<(TokenStream, TokenStream, TokenStream)> = match &input.data {
        Data::Struct(data) => {
            let http = default.ok_or_else(|| {
                syn::Error::new(
                    name.span(),
                    "put the status on the struct: `#[http(404, \"not found\")]`",
                )
            })?;
            let (bind, message) = arm(&data.fields, &http, &private);
            let status = &http.status;
            vec![(quote!(Self #bind), quote!(#status), message)]
        }
        Data::Enum(data) => {
            let mut errors: Option<syn::Error> = None;
            let mut arms = Vec::new();
            for variant in &data.variants {
                let http = match http_attr(&variant.attrs) {
                    Ok(Some(http)) => http,
                    Ok(None) => match &default {
                        Some(d) => HttpAttr {
                            status: d.status.clone(),
                            message: d.message.clone(),
                        },
                        None => {
                            let e = syn::Error::new_spanned(
                                &variant.ident,
                                "every variant needs its status, e.g. `#[http(404)]`, or the enum a default one",
                            );
                            match &mut errors {
                                Some(all) => all.combine(e),
                                None => errors = Some(e),
                            }
                            continue;
                        }
                    },
                    Err(e) => return Err(e),
                };
                let ident = &variant.ident;
                let (bind, message) = arm(&variant.fields, &http, &private);
                let status = &http.status;
                let pattern = if bind.is_empty() {
                    match &variant.fields {
                        Fields::Unit => quote!(Self::#ident),
                        Fields::Unnamed(_) => quote!(Self::#ident(..)),
                        Fields::Named(_) => quote!(Self::#ident { .. }),
                    }
                } else {
                    quote!(Self::#ident #bind)
                };
                arms.push((pattern, quote!(#status), message));
            }
            if let Some(e) = errors {
                return Err(e);
            }
            arms
        }
        Data::Union(_) => {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[derive(HttpError)] goes on a struct or an enum",
            ));
        }
    };
    let status_arms = arms.iter().map(|(pattern, status, _)| {
        let pattern = wildcard(pattern);
        quote!(#pattern => #status,)
    });
    let message_arms = arms
        .iter()
        .map(|(pattern, _, message)| quote!(#[allow(unused_variables)] #pattern => #message,));
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #private::HttpError for #name #ty_generics #where_clause {
            fn status_code(&self) -> u16 {
                #[allow(clippy::match_same_arms)]
                match self {
                    #(#status_arms)*
                }
            }

            fn public_message(&self) -> #private::Cow<'static, str> {
                #[allow(clippy::match_same_arms)]
                match self {
                    #(#message_arms)*
                }
            }
        }
    })
}

/// A pattern with its bindings replaced by `..`: the status reads no field.
fn wildcard(pattern: &TokenStream) -> TokenStream {
    let tokens: Vec<proc_macro2::TokenTree> = pattern.clone().into_iter().collect();
    match tokens.last() {
        Some(proc_macro2::TokenTree::Group(g)) => {
            let head: TokenStream = tokens[..tokens.len() - 1].iter().cloned().collect();
            let rest = match g.delimiter() {
                proc_macro2::Delimiter::Parenthesis => quote!((..)),
                proc_macro2::Delimiter::Brace => quote!({ .. }),
                _ => quote!(#g),
            };
            quote!(#head #rest)
        }
        _ => pattern.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::positional_to_named;

    #[test]
    fn positional_arguments_name_their_bindings() {
        assert_eq!(
            positional_to_named("order {0} not found"),
            "order {_0} not found"
        );
        assert_eq!(positional_to_named("{0:?} and {1}"), "{_0:?} and {_1}");
        assert_eq!(positional_to_named("{{0}} {id}"), "{{0}} {id}");
    }
}
