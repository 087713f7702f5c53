//! Route templates (`/api/users/{id}`): the checks `#[route]` runs at compile time.
//!
//! Self-contained (no dependencies) so a fuzz target can include this file as it is.

/// Why a route template was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The template is empty.
    Empty,
    /// The template does not start with `/`.
    NoLeadingSlash,
    /// Two slashes in a row, or a trailing slash after a segment.
    EmptySegment {
        /// Byte offset of the empty segment.
        at: usize,
    },
    /// A `{` without its `}`, a `}` without its `{`, or a brace inside a parameter.
    UnbalancedBrace {
        /// Byte offset of the offending brace.
        at: usize,
    },
    /// `{}` or a parameter name that is not an identifier (optionally ending in `+`).
    BadParameter {
        /// The text between the braces.
        name: String,
    },
    /// A character a path template cannot hold (whitespace, `?`, `#`, control characters).
    BadCharacter {
        /// The character.
        ch: char,
        /// Byte offset of the character.
        at: usize,
    },
}

impl core::fmt::Display for RouteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Empty => f.write_str("the route is empty; write a path such as \"/api/foo\""),
            Self::NoLeadingSlash => f.write_str("the route must start with `/`, e.g. \"/api/foo\""),
            Self::EmptySegment { at } => write!(
                f,
                "the route has an empty segment at byte {at}; remove the extra `/`"
            ),
            Self::UnbalancedBrace { at } => write!(
                f,
                "unbalanced brace at byte {at}; parameters are written `{{name}}`"
            ),
            Self::BadParameter { name } => write!(
                f,
                "`{{{name}}}` is not a valid parameter; use an identifier such as `{{id}}` (or `{{proxy+}}` for a greedy one)"
            ),
            Self::BadCharacter { ch, at } => write!(
                f,
                "the route cannot contain {ch:?} (byte {at}); a route is a path without query string or spaces"
            ),
        }
    }
}

fn is_valid_parameter(name: &str) -> bool {
    let name = name.strip_suffix('+').unwrap_or(name);
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a route template: a leading `/`, no empty segment, balanced `{param}` segments
/// with identifier names, no whitespace, query string or fragment. `/` alone is valid.
pub fn validate(template: &str) -> Result<(), RouteError> {
    if template.is_empty() {
        return Err(RouteError::Empty);
    }
    if !template.starts_with('/') {
        return Err(RouteError::NoLeadingSlash);
    }
    if template == "/" {
        return Ok(());
    }
    let mut param_start: Option<usize> = None;
    let mut segment_start = 1;
    for (i, ch) in template.char_indices().skip(1) {
        match ch {
            '/' => {
                if param_start.is_some() {
                    return Err(RouteError::UnbalancedBrace { at: i });
                }
                if i == segment_start {
                    return Err(RouteError::EmptySegment { at: i });
                }
                segment_start = i + 1;
            }
            '{' => {
                if param_start.is_some() {
                    return Err(RouteError::UnbalancedBrace { at: i });
                }
                param_start = Some(i);
            }
            '}' => {
                let Some(start) = param_start.take() else {
                    return Err(RouteError::UnbalancedBrace { at: i });
                };
                let name = &template[start + 1..i];
                if !is_valid_parameter(name) {
                    return Err(RouteError::BadParameter {
                        name: name.to_owned(),
                    });
                }
            }
            c if c.is_whitespace() || c.is_control() || c == '?' || c == '#' => {
                return Err(RouteError::BadCharacter { ch: c, at: i });
            }
            _ => {}
        }
    }
    if let Some(start) = param_start {
        return Err(RouteError::UnbalancedBrace { at: start });
    }
    if segment_start == template.len() {
        return Err(RouteError::EmptySegment {
            at: template.len() - 1,
        });
    }
    Ok(())
}

/// HTTP methods `#[route]` accepts, upper case.
pub const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_templates() {
        for ok in [
            "/",
            "/api/foo",
            "/api/users/{id}",
            "/{proxy+}",
            "/org/{org_id}/user/{user}/orders",
            "/files/{name}.json",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_templates() {
        let bad = |name: &str| RouteError::BadParameter { name: name.into() };
        for (template, error) in [
            ("", RouteError::Empty),
            ("api/foo", RouteError::NoLeadingSlash),
            ("/api//foo", RouteError::EmptySegment { at: 5 }),
            ("/api/foo/", RouteError::EmptySegment { at: 8 }),
            ("/users/{id", RouteError::UnbalancedBrace { at: 7 }),
            ("/users/id}", RouteError::UnbalancedBrace { at: 9 }),
            ("/users/{{id}}", RouteError::UnbalancedBrace { at: 8 }),
            ("/users/{}", bad("")),
            ("/users/{1x}", bad("1x")),
            ("/a b", RouteError::BadCharacter { ch: ' ', at: 2 }),
            ("/a?x=1", RouteError::BadCharacter { ch: '?', at: 2 }),
        ] {
            assert_eq!(validate(template), Err(error), "{template:?}");
        }
    }
}
