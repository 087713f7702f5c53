//! Tags: `tag_event`, which makes one invocation findable among millions.

use std::{borrow::Cow, error::Error, fmt};

use super::{capture::warn, redact};
use crate::{
    attributes as attr,
    invocation::{Current, Tag, current},
};

/// Why a tag was changed or refused; returned by [`try_tag_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagError {
    /// No invocation is running on this task.
    OutsideInvocation,
    /// The invocation already holds the maximum number of tags; the tag was dropped.
    TooManyTags {
        /// The cap.
        max: usize,
    },
    /// The name had characters outside `[A-Za-z0-9_.-]` or was not 1–256 long; it was
    /// recorded under the sanitised name.
    InvalidName {
        /// The name as given.
        given: String,
        /// The name it was recorded under.
        recorded: String,
    },
    /// The value or custom JSON was cut to the size limit.
    Truncated,
}

impl fmt::Display for TagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutsideInvocation => f.write_str("tag_event called outside an invocation"),
            Self::TooManyTags { max } => {
                write!(f, "the invocation already has {max} tags; tag dropped")
            }
            Self::InvalidName { given, recorded } => write!(
                f,
                "tag name {given:?} must match [A-Za-z0-9_.-]{{1,256}}; recorded as {recorded:?}"
            ),
            Self::Truncated => f.write_str("tag value or custom JSON cut to the size limit"),
        }
    }
}

impl Error for TagError {}

/// Tags the current invocation so it can be found among millions: `tag` with `value`,
/// plus optional `custom` JSON shown alongside.
///
/// The Rust twin of the Python SDK's `tag_event('customer-id', id, {'demoUser': 'true'})`. Each
/// tag becomes the root-span attribute `serverless.tag.<tag>` (and
/// `serverless.tag.<tag>.custom` for the JSON). Values under sensitive keys are masked. Bad
/// input is fixed up and reported as a `serverless.warning` event rather than lost; use
/// [`try_tag_event`] to see what happened.
///
/// ```
/// use serverless_sdk::tag_event;
/// use serde_json::json;
///
/// tag_event("customer-id", "42", json!({ "demoUser": "true", "freeTrialExpires": "2020-09-01" }));
/// tag_event("plan", "free", None);
/// ```
pub fn tag_event(
    tag: impl AsRef<str>,
    value: impl AsRef<str>,
    custom: impl Into<Option<serde_json::Value>>,
) {
    let _ = try_tag_event(tag, value, custom);
}

/// [`tag_event`], telling whether the tag was recorded as given.
///
/// ```
/// use serverless_sdk::{errors::TagError, try_tag_event};
///
/// // Outside an invocation nothing is recorded:
/// assert_eq!(try_tag_event("plan", "free", None), Err(TagError::OutsideInvocation));
/// ```
pub fn try_tag_event(
    tag: impl AsRef<str>,
    value: impl AsRef<str>,
    custom: impl Into<Option<serde_json::Value>>,
) -> Result<(), TagError> {
    current::with(|c| match c {
        // `OTEL_SDK_DISABLED`: accepted, not recorded.
        Some(c) if !c.inv.settings.recording => Ok(()),
        Some(c) => add_tag(c, tag.as_ref(), value.as_ref(), custom.into()),
        None => Err(TagError::OutsideInvocation),
    })
}

fn is_valid_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn sanitize_tag_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if is_valid_tag_char(c) { c } else { '_' })
        .take(256)
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

pub(crate) fn add_tag(
    c: &Current,
    name: &str,
    value: &str,
    custom: Option<serde_json::Value>,
) -> Result<(), TagError> {
    let settings = c.inv.settings;
    let limits = &settings.limits;
    let mut problem = None;
    let valid = !name.is_empty() && name.len() <= 256 && name.chars().all(is_valid_tag_char);
    let name = if valid {
        Cow::Borrowed(name)
    } else {
        let recorded = sanitize_tag_name(name);
        problem = Some(TagError::InvalidName {
            given: redact::truncate(name.to_owned(), 300).0,
            recorded: recorded.clone(),
        });
        Cow::Owned(recorded)
    };
    let (value, value_cut) = redact::clean_named_value(&name, value, settings);
    let key = attr::tag_key(&name);
    let mut custom_cut = false;
    let custom = custom.map(|mut json| {
        redact::redact_json(&mut json, settings);
        let text = json.to_string();
        let (text, cut) = redact::truncate(text, limits.max_custom_bytes);
        custom_cut = cut;
        text
    });
    if problem.is_none() && (value_cut || custom_cut) {
        problem = Some(TagError::Truncated);
    }
    {
        let mut state = c.inv.state();
        if state.closed {
            return Err(TagError::OutsideInvocation);
        }
        if let Some(existing) = state.tags.iter_mut().find(|t| t.key == key) {
            existing.value = value;
            existing.custom = custom;
        } else if state.tags.len() >= limits.max_tags {
            state.dropped_tags += 1;
            return Err(TagError::TooManyTags {
                max: limits.max_tags,
            });
        } else {
            state.tags.push(Tag { key, value, custom });
        }
    }
    match problem {
        Some(problem) => {
            warn(c, &problem.to_string());
            Err(problem)
        }
        None => Ok(()),
    }
}
