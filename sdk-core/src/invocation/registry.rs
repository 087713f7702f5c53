//! Running invocations by request id, so that `ctx.serverless_sdk()` finds its invocation
//! even from a task the user spawned without propagating the current span.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::Invocation;

static RUNNING: Mutex<Vec<Weak<Invocation>>> = Mutex::new(Vec::new());

pub(crate) fn insert(inv: &Arc<Invocation>) {
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    running.retain(|w| w.strong_count() > 0);
    running.push(Arc::downgrade(inv));
}

pub(crate) fn remove(request_id: &str) {
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    running.retain(|w| {
        w.upgrade()
            .is_some_and(|inv| &*inv.request_id != request_id)
    });
}

pub(crate) fn find(request_id: &str) -> Option<Arc<Invocation>> {
    let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    running
        .iter()
        .filter_map(Weak::upgrade)
        .find(|inv| &*inv.request_id == request_id)
}
