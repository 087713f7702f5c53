//! Helpers shared by the macros.

use proc_macro2::TokenStream;
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

/// The leading tokens of an item (its keyword and name), for pointing at it.
fn first_tokens(item: &TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, tt) in item.clone().into_iter().enumerate() {
        let is_attr_or_vis = matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#')
            || matches!(&tt, proc_macro2::TokenTree::Group(_));
        tt.to_tokens(&mut out);
        if i >= 2 && !is_attr_or_vis {
            break;
        }
    }
    out
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
