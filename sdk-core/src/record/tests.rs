//! What an invocation keeps in memory, recording and not (`OTEL_SDK_DISABLED`).

use std::sync::OnceLock;

use super::{
    capture::{capture_exception, capture_message},
    span::span,
    tag::{tag_event, try_tag_event},
};
use crate::{
    config::Settings,
    invocation::{Invocation, Opening, current},
};

/// What an invocation holds after a handler's worth of recording: its spans, events on
/// each, tags, and whether it failed.
fn record_a_handler(settings: &'static Settings) -> (usize, usize, usize, bool) {
    let inv = Invocation::open(Opening::detached(), settings);
    current::scoped(Some(inv.root()), || {
        let _work = span("work");
        {
            let _inner = span("inner");
            capture_exception(&std::io::Error::other("the cache is down"));
        }
        capture_message("falling back to the database");
        tag_event("customer", "42", None);
        assert_eq!(try_tag_event("plan", "free", None), Ok(()));
    });
    let state = inv.state();
    let events = state.spans.iter().map(|s| s.events.len()).sum();
    let result = (
        state.spans.len(),
        events,
        state.tags.len(),
        state.errors > 0,
    );
    drop(state);
    let _ = inv.close();
    result
}

#[test]
fn a_recording_invocation_keeps_spans_events_and_tags() {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    let settings = SETTINGS.get_or_init(Settings::default);
    assert_eq!(record_a_handler(settings), (3, 2, 2, true));
}

#[test]
fn with_the_sdk_disabled_an_invocation_keeps_its_root_span_only() {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    let settings = SETTINGS.get_or_init(|| Settings {
        recording: false,
        ..Settings::default()
    });
    assert_eq!(record_a_handler(settings), (1, 0, 0, false));
}
