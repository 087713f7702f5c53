//! Expansion snapshots: what each macro generates for a few inputs, formatted with
//! `prettyplease` and compared with `tests/snapshots/<name>.rs`.
//!
//! After a deliberate change to the generated code, regenerate them with
//! `UPDATE_SNAPSHOTS=1 cargo test -p serverless_sdk_macros snapshots` and review the diff.

use std::{fmt::Write as _, fs, path::PathBuf};

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
        "// Regenerate: UPDATE_SNAPSHOTS=1 cargo test -p serverless_sdk_macros snapshots\n//\n",
    );
    for line in input.lines() {
        let _ = writeln!(actual, "// {line}");
    }
    actual.push('\n');
    actual.push_str(&output);

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.rs"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        fs::create_dir_all(path.parent().expect("snapshot directory")).expect("create snapshots/");
        fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "expansion of `{name}` differs from {}:\n{}\nIf the change is intended, run \
         `UPDATE_SNAPSHOTS=1 cargo test -p serverless_sdk_macros snapshots` and review the diff.",
        path.display(),
        diff(&expected, &actual),
    );
}

/// Formats generated items like `rustfmt` would (close enough to review).
fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
    prettyplease::unparse(&file)
}

/// A line diff (`-` expected, `+` actual) with two lines of context around changes.
fn diff(expected: &str, actual: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            let _ = writeln!(out, "{op} {line}");
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    out
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
