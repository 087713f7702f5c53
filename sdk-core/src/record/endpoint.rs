//! Endpoints: `set_endpoint`, `#[route]` and routes discovered from the event or a
//! router, the most explicit source winning.

use super::{capture::warn, redact};
use crate::invocation::{Current, Endpoint, EndpointSource, current};

/// Sets the invocation's routed endpoint, e.g. `/api/foo`: the root span is named after it
/// and carries it as `http.route`. An explicit endpoint wins over one discovered from the
/// event or a router.
///
/// ```
/// serverless_sdk::set_endpoint("/api/foo");
/// ```
pub fn set_endpoint(path: impl AsRef<str>) {
    current::with(|c| {
        if let Some(c) = c {
            set_endpoint_in(c, None, path.as_ref(), EndpointSource::Explicit);
        }
    });
}

/// [`set_endpoint`] with the HTTP method: the root span is then named `"{method} {path}"`.
///
/// ```
/// serverless_sdk::set_endpoint_with_method("GET", "/api/users/{id}");
/// ```
pub fn set_endpoint_with_method(method: impl AsRef<str>, path: impl AsRef<str>) {
    current::with(|c| {
        if let Some(c) = c {
            set_endpoint_in(
                c,
                Some(method.as_ref()),
                path.as_ref(),
                EndpointSource::Explicit,
            );
        }
    });
}

/// Checks an endpoint: a path starting with `/`, without query string, whitespace or
/// control characters, at most 1024 bytes. Returns the cleaned path and what was wrong.
pub(crate) fn clean_endpoint(path: &str) -> Result<(String, Option<String>), String> {
    let trimmed = redact::strip_query(path.trim());
    if trimmed.is_empty() {
        return Err(format!(
            "endpoint {path:?} is empty; expected a path such as \"/api/foo\""
        ));
    }
    let mut cleaned: String = trimmed
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if !cleaned.starts_with('/') {
        cleaned.insert(0, '/');
    }
    let (cleaned, _) = redact::truncate(cleaned, 1024);
    let problem = (cleaned != path)
        .then(|| format!("endpoint {path:?} is not a clean path; recorded as {cleaned:?}"));
    Ok((cleaned, problem))
}

pub(crate) fn set_endpoint_in(
    c: &Current,
    method: Option<&str>,
    path: &str,
    source: EndpointSource,
) {
    let (path, problem) = match clean_endpoint(path) {
        Ok(ok) => ok,
        Err(message) => {
            warn(c, &message);
            return;
        }
    };
    if let Some(problem) = problem {
        warn(c, &problem);
    }
    let method = method
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_ascii_uppercase);
    let mut state = c.inv.state();
    if state.endpoint.as_ref().is_some_and(|e| e.source > source) {
        return;
    }
    let method = method.or_else(|| {
        state
            .endpoint
            .as_ref()
            .filter(|e| e.path == path)
            .and_then(|e| e.method.clone())
    });
    state.endpoint = Some(Endpoint {
        path,
        method,
        source,
    });
}
