//! Expansion snapshots: what each macro generates for a few inputs, formatted with
//! `prettyplease` and compared by `expect-test` with `tests/snapshots/<name>.expanded.snap`
//! (generated Rust, kept out of the build and of the tree's source files by its extension).
//!
//! After a deliberate change to the generated code, regenerate them with
//! `UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots` and review the diff.

use std::fmt::Write as _;

use expect_test::expect_file;
use proc_macro2::TokenStream;
use quote::quote;

use crate::args::Facade;

type Expand = fn(TokenStream, TokenStream, Facade) -> TokenStream;

/// Expands `attr` on `item` with `expand` and checks the result against the snapshot `name`.
fn check(name: &str, expand: Expand, attr_text: &str, args: TokenStream, item: TokenStream) {
    let input = format!("#[{attr_text}]\n{}", pretty(item.clone()));
    let output = pretty(expand(args, item, Facade::Core));
    let mut actual =
        String::from("// Expansion snapshot, checked by `sdk-macros/src/snapshots.rs`.\n");
    actual.push_str(
        "// Regenerate: UPDATE_EXPECT=1 cargo test -p serverless_sdk_macros snapshots\n//\n",
    );
    for line in input.lines() {
        let _ = writeln!(actual, "// {line}");
    }
    actual.push('\n');
    actual.push_str(&output);
    // Relative to this file.
    expect_file![format!("../tests/snapshots/{name}.expanded.snap")].assert_eq(&actual);
}

/// Formats generated items like `rustfmt` would (close enough to review).
fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
    prettyplease::unparse(&file)
}

#[test]
fn span_async() {
    check(
        "span_async",
        crate::span::expand,
        "span(\"pricing\")",
        quote!("pricing"),
        quote! {
            async fn price(q: u64) -> Result<u64, E> {
                let unit = fetch_unit_price().await?;
                Ok(q * unit)
            }
        },
    );
}

#[test]
fn span_sync() {
    check(
        "span_sync",
        crate::span::expand,
        "span",
        quote!(),
        quote! {
            fn checksum(d: &[u8]) -> u32 {
                d.iter().map(|b| u32::from(*b)).sum()
            }
        },
    );
}

#[test]
fn handler_async() {
    check(
        "handler_async",
        crate::handler::expand,
        "serverless_handler",
        quote!(),
        quote! {
            async fn hello(event: LambdaEvent<Value>) -> Result<Value, E> {
                Ok(event.payload)
            }
        },
    );
}

#[test]
fn handler_sync_is_rejected() {
    check(
        "handler_sync_is_rejected",
        crate::handler::expand,
        "serverless_handler",
        quote!(),
        quote! {
            fn hello(event: LambdaEvent<Value>) -> Result<Value, E> {
                Ok(event.payload)
            }
        },
    );
}

#[test]
fn handler_with_route_and_context() {
    check(
        "handler_with_route_and_context",
        crate::handler::expand,
        "serverless_handler(name = \"orders\")",
        quote!(name = "orders"),
        quote! {
            #[route(POST, "/orders")]
            async fn orders(event: Value, ctx: Context) -> Result<Value, E> {
                Ok(event)
            }
        },
    );
}

#[test]
fn route_sync() {
    check(
        "route_sync",
        crate::route::expand,
        "route(GET, \"/users/{id}\")",
        quote!(GET, "/users/{id}"),
        quote! {
            fn get_user() {}
        },
    );
}

#[test]
fn route_async() {
    check(
        "route_async",
        crate::route::expand,
        "route(\"/orders\")",
        quote!("/orders"),
        quote! {
            async fn list_orders() -> Vec<u64> {
                Vec::new()
            }
        },
    );
}
