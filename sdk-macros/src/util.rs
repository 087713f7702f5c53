//! Helpers shared by the macros.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{ItemFn, Type, visit::Visit};

/// Several errors reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Expands an attribute macro on a function: parses the item (an error at its first tokens
/// if it is no function with a body, `not_fn` saying where the attribute goes) and the
/// arguments, then runs `expand`. On any error the user's function is emitted unchanged
/// (`emit` prepares it) next to the error, so IDEs and other diagnostics keep working.
pub(crate) fn expand_fn<A: syn::parse::Parse>(
    args: TokenStream,
    item: TokenStream,
    not_fn: &str,
    emit: fn(&ItemFn) -> ItemFn,
    expand: impl FnOnce(&ItemFn, A) -> syn::Result<TokenStream>,
) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => return not_a_function(item, not_fn),
    };
    match syn::parse2::<A>(args).and_then(|args| expand(&func, args)) {
        Ok(tokens) => tokens,
        Err(e) => emit_with_error(&emit(&func), e),
    }
}

/// The user's function unchanged plus the error, so IDEs and other diagnostics keep working.
pub(crate) fn emit_with_error(func: &ItemFn, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote! {
        #error
        #func
    }
}

/// The item unchanged plus an error for macros applied to something that is not a
/// function (a struct, a trait, a bodiless trait method).
pub(crate) fn not_a_function(item: TokenStream, message: &str) -> TokenStream {
    let error = syn::Error::new_spanned(first_tokens(&item), message).to_compile_error();
    quote! {
        #error
        #item
    }
}

/// The leading tokens of an item past its attributes and visibility: its keywords and
/// name (`struct Pricing`, `unsafe trait Store`), for pointing at it.
fn first_tokens(item: &TokenStream) -> TokenStream {
    const QUALIFIERS: &[&str] = &[
        "pub",
        "crate",
        "unsafe",
        "auto",
        "extern",
        "default",
        "async",
        "const",
        "static",
        "struct",
        "enum",
        "union",
        "trait",
        "impl",
        "mod",
        "type",
        "fn",
        "use",
        "macro_rules",
        "let",
        "mut",
    ];
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    // Attributes and the visibility's `(crate)` group.
    while i < tokens.len() {
        match (&tokens[i], tokens.get(i + 1)) {
            (TokenTree::Punct(p), Some(TokenTree::Group(g)))
                if p.as_char() == '#' && g.delimiter() == Delimiter::Bracket =>
            {
                i += 2;
            }
            (TokenTree::Ident(id), Some(TokenTree::Group(g)))
                if id == "pub" && g.delimiter() == Delimiter::Parenthesis =>
            {
                i += 2;
            }
            (TokenTree::Ident(id), _) if id == "pub" => i += 1,
            _ => break,
        }
    }
    // Keywords, then the name (or whatever comes first that is not a keyword).
    for tt in &tokens[i..] {
        tt.to_tokens(&mut out);
        match tt {
            TokenTree::Ident(id) if QUALIFIERS.contains(&id.to_string().as_str()) => {}
            TokenTree::Literal(_) => {} // `extern "C"`
            _ => break,
        }
    }
    if out.is_empty() { item.clone() } else { out }
}

/// Whether a type mentions `impl Trait` anywhere.
pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// The `Output` of an `impl Future<Output = ..>` return type, if that is what `ty` is.
pub(crate) fn is_impl_future(ty: &Type) -> bool {
    let Type::ImplTrait(it) = ty else {
        return false;
    };
    it.bounds.iter().any(|b| match b {
        syn::TypeParamBound::Trait(t) => {
            t.path.segments.last().is_some_and(|s| s.ident == "Future")
        }
        _ => false,
    })
}

/// Whether `ty` is `Pin<Box<dyn Future<..> + ..>>`, the shape `#[async_trait]` gives
/// async methods.
pub(crate) fn is_boxed_future(ty: &Type) -> bool {
    let Type::Path(p) = ty else {
        return false;
    };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    if last.ident != "Pin" {
        return false;
    }
    let tokens = last
        .arguments
        .to_token_stream()
        .to_string()
        .replace(' ', "");
    tokens.contains("Box<dyn") && tokens.contains("Future")
}

/// `{ tokens }` with the braces of `block`. A function whose braces are the user's keeps
/// the user's span, so rustc treats it as the user's code: `dead_code` and the other item
/// lints still fire on it.
pub(crate) fn braced(block: &syn::Block, tokens: TokenStream) -> TokenStream {
    let mut group = Group::new(Delimiter::Brace, tokens);
    group.set_span(block.brace_token.span.join());
    group.into_token_stream()
}
