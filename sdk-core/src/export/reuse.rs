//! What an export keeps from one invocation to the next (its buffers, the gzip compressor),
//! so that a warm invocation allocates nothing for them. Invocations that export at the same
//! time (lambda_runtime's concurrent mode) never wait for each other: one of them uses the
//! kept value, the others a fresh one.

use std::sync::{Mutex, TryLockError};

/// A value reused by one export at a time, made at the first export (not at cold start:
/// a compressor costs an allocation of a few hundred KB).
pub(crate) struct Reused<T> {
    kept: Mutex<Option<T>>,
    /// Builds the value at the first export, for an export that finds the kept one in use,
    /// and after one that grew too large or whose export panicked.
    fresh: Box<dyn Fn() -> T + Send + Sync>,
    /// Whether a value grew past what is worth keeping after a large invocation.
    oversized: fn(&T) -> bool,
}

impl<T> Reused<T> {
    pub(crate) fn new(
        fresh: impl Fn() -> T + Send + Sync + 'static,
        oversized: fn(&T) -> bool,
    ) -> Self {
        Self {
            kept: Mutex::new(None),
            fresh: Box::new(fresh),
            oversized,
        }
    }

    /// Runs `f` with the kept value, or with a fresh one while another export holds it. A
    /// value left by an export that panicked is replaced before use.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut kept = match self.kept.try_lock() {
            Ok(kept) => kept,
            Err(TryLockError::Poisoned(poisoned)) => {
                let mut kept = poisoned.into_inner();
                *kept = None;
                self.kept.clear_poison();
                kept
            }
            Err(TryLockError::WouldBlock) => return f(&mut (self.fresh)()),
        };
        let value = kept.get_or_insert_with(&self.fresh);
        let result = f(value);
        if (self.oversized)(value) {
            *kept = None;
        }
        result
    }
}

/// A buffer that grew past this after a large invocation is given back.
pub(crate) const KEPT_BUFFER_BYTES: usize = 1024 * 1024;

/// Whether a kept buffer holds more than [`KEPT_BUFFER_BYTES`].
pub(crate) fn oversized_buffer(buf: &Vec<u8>) -> bool {
    buf.capacity() > KEPT_BUFFER_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffers() -> Reused<Vec<u8>> {
        Reused::new(Vec::new, oversized_buffer)
    }

    #[test]
    fn the_kept_buffer_is_reused_and_a_large_one_given_back() {
        let reused = buffers();
        reused.with(|buf| buf.extend_from_slice(b"first"));
        let kept = reused.with(|buf| (buf.clone(), buf.capacity()));
        assert_eq!(
            kept.0, b"first",
            "the second export sees the first one's buffer"
        );
        reused.with(|buf| buf.resize(KEPT_BUFFER_BYTES + 1, 0));
        assert_eq!(reused.with(|buf| buf.capacity()), 0, "given back");
        assert!(
            buffers()
                .kept
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none(),
            "made at first use"
        );
    }

    #[test]
    fn an_export_that_finds_it_in_use_gets_a_fresh_one_without_waiting() {
        let reused = buffers();
        reused.with(|outer| {
            outer.push(1);
            let inner = reused.with(|inner| inner.len());
            assert_eq!(inner, 0, "a fresh buffer, not a deadlock");
        });
    }

    #[test]
    fn a_panic_inside_leaves_a_fresh_value_for_the_next_export() {
        let reused = buffers();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reused.with(|buf| {
                buf.extend_from_slice(b"half-written");
                panic!("an encoder panicked");
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(reused.with(|buf| buf.len()), 0);
        assert!(!reused.kept.is_poisoned());
    }
}
