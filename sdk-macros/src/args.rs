//! Parsing and validating the macros' arguments, one setter per key.

use proc_macro2::Span;
use syn::{
    Ident, LitStr, Path, Token,
    ext::IdentExt,
    parse::{Parse, ParseStream},
};

use crate::route_template::{self, METHODS};

/// Which crate the generated code reaches the runtime through.
#[derive(Clone, Copy)]
pub(crate) enum Facade {
    Core,
    Http,
}

impl Facade {
    pub(crate) fn default_path(self) -> Path {
        match self {
            Self::Core => syn::parse_quote!(::serverless_sdk),
            Self::Http => syn::parse_quote!(::serverless_sdk_http),
        }
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, key: &str, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, format!("`{key}` set multiple times")));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_crate_path(lit: &LitStr) -> syn::Result<Path> {
    lit.parse::<Path>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`crate` must name a path, e.g. `crate = \"my_reexport::serverless_sdk\"`, not {:?}",
                lit.value()
            ),
        )
    })
}

/// One `key = "value"` option.
fn parse_option(
    input: ParseStream<'_>,
    valid: &[&str],
    mut set: impl FnMut(&Ident, LitStr) -> syn::Result<()>,
) -> syn::Result<()> {
    let key: Ident = input.call(Ident::parse_any)?;
    let key_name = key.to_string();
    if !valid.contains(&key_name.as_str()) {
        let list = valid
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(syn::Error::new(
            key.span(),
            format!("unknown option `{key_name}`; expected one of {list}"),
        ));
    }
    let eq: Option<Token![=]> = input.parse()?;
    if eq.is_none() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key_name}` needs a value: `{key_name} = \"...\"`"),
        ));
    }
    let value: LitStr = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("the value of `{key_name}` must be a string literal"),
        )
    })?;
    set(&key, value)
}

/// Comma-separated `name = "..."` and `crate = "..."` options, each set once (`name` counts
/// as set when it comes in already given, as `#[span("label")]` gives it); anything else
/// is an error that says `unexpected`.
fn parse_name_and_crate(
    input: ParseStream<'_>,
    mut name: Option<LitStr>,
    check_name: fn(&LitStr) -> syn::Result<()>,
    unexpected: &str,
) -> syn::Result<(Option<LitStr>, Option<Path>)> {
    let mut krate = None;
    while !input.is_empty() {
        if !(input.peek(Ident) || input.peek(Token![crate])) || !input.peek2(Token![=]) {
            return Err(input.error(unexpected));
        }
        parse_option(input, &["name", "crate"], |key, value| {
            if key == "name" {
                check_name(&value)?;
                set_once(&mut name, value, "name", key.span())
            } else {
                let path = parse_crate_path(&value)?;
                set_once(&mut krate, path, "crate", key.span())
            }
        })?;
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok((name, krate))
}

/// `#[serverless_handler(name = "...", crate = "...")]`
pub(crate) struct HandlerArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

impl Parse for HandlerArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (name, krate) = parse_name_and_crate(
            input,
            None,
            |name| {
                if name.value().trim().is_empty() {
                    return Err(syn::Error::new(name.span(), "`name` cannot be empty"));
                }
                Ok(())
            },
            "options are written `key = \"value\"`: `name = \"...\"` or `crate = \"...\"`",
        )?;
        Ok(Self { name, krate })
    }
}

/// `#[span]`, `#[span("label")]`, `#[span(name = "label", crate = "...")]`
pub(crate) struct SpanArgs {
    pub(crate) label: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

impl Parse for SpanArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let positional = if input.peek(LitStr) {
            let label: LitStr = input.parse()?;
            check_label(&label)?;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            Some(label)
        } else {
            None
        };
        let (label, krate) = parse_name_and_crate(
            input,
            positional,
            check_label,
            "expected a string label, e.g. `#[span(\"db.query\")]`, or an option `name = \"...\"` / `crate = \"...\"`",
        )?;
        Ok(Self { label, krate })
    }
}

fn check_label(label: &LitStr) -> syn::Result<()> {
    if label.value().trim().is_empty() {
        return Err(syn::Error::new(
            label.span(),
            "the span label cannot be empty; write e.g. `#[span(\"db.query\")]`",
        ));
    }
    Ok(())
}

/// `#[route("/api/foo")]`, `#[route(GET, "/api/users/{id}")]`, plus `crate = "..."`.
pub(crate) struct RouteArgs {
    pub(crate) method: Option<(String, Span)>,
    pub(crate) path: LitStr,
    pub(crate) krate: Option<Path>,
}

impl Parse for RouteArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input.error(
                "#[route] needs a path: `#[route(\"/api/foo\")]` or `#[route(GET, \"/api/users/{id}\")]`",
            ));
        }
        let mut method = None;
        if input.peek(Ident) && !input.peek2(Token![=]) {
            let ident: Ident = input.parse()?;
            let name = ident.to_string().to_ascii_uppercase();
            if !METHODS.contains(&name.as_str()) {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "unknown HTTP method `{ident}`; expected one of {}",
                        METHODS.join(", ")
                    ),
                ));
            }
            method = Some((name, ident.span()));
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(e.span(), "expected `,` and the path after the method, e.g. `#[route(GET, \"/api/foo\")]`")
            })?;
        }
        let path: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the route path as a string literal, e.g. `#[route(\"/api/foo\")]`",
            )
        })?;
        if let Err(err) = route_template::validate(&path.value()) {
            return Err(syn::Error::new(
                path.span(),
                format!("invalid route {:?}: {err}", path.value()),
            ));
        }
        let mut krate = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            parse_option(input, &["crate"], |key, value| {
                let path = parse_crate_path(&value)?;
                set_once(&mut krate, path, "crate", key.span())
            })?;
        }
        Ok(Self {
            method: method.filter(|(m, _)| m != "ANY"),
            path,
            krate,
        })
    }
}
