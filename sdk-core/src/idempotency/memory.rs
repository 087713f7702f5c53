//! [`InMemoryStore`]: records in a mutex-protected map, for tests and local runs.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
};

use super::{
    error::StoreError,
    store::{PutOutcome, Record, Store, epoch_ms},
};

/// A [`Store`] in process memory: for tests, local runs, and functions that only need to
/// absorb duplicates reaching the same execution environment.
///
/// Lambda runs many execution environments side by side and freezes or discards them at
/// will, so in production a shared store ([`DynamoDbStore`](super::DynamoDbStore)) is what
/// makes a function run once per key.
///
/// Expiry is honest: an expired record, or an in-progress one past its in-progress
/// expiry, no longer holds its key, [`get`](Store::get) no longer returns a record past its
/// expiration, and expired records are dropped as the map grows, so memory stays bounded
/// by the live records.
///
/// ```
/// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
///
/// let idem = Idempotency::new(InMemoryStore::new()).key_pointer("/orderId");
/// assert!(idem.store().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    records: HashMap<String, Record>,
    /// The size at which the next insertion sweeps expired records out.
    sweep_at: usize,
}

/// The smallest map worth sweeping.
const MIN_SWEEP: usize = 64;

impl InMemoryStore {
    /// An empty store.
    ///
    /// ```
    /// let store = serverless_sdk::idempotency::InMemoryStore::new();
    /// assert_eq!(store.len(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the store holds, expired ones not yet swept included.
    ///
    /// ```
    /// let store = serverless_sdk::idempotency::InMemoryStore::new();
    /// assert_eq!(store.len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    ///
    /// ```
    /// assert!(serverless_sdk::idempotency::InMemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }

    /// Drops every record.
    ///
    /// ```
    /// let store = serverless_sdk::idempotency::InMemoryStore::new();
    /// store.clear();
    /// assert!(store.is_empty());
    /// ```
    pub fn clear(&self) {
        self.lock().records.clear();
    }

    /// The map, even if a thread panicked while holding it: every operation leaves it
    /// consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for InMemoryStore {
    async fn put_in_progress(
        &self,
        record: &Record,
        now_ms: u64,
    ) -> Result<PutOutcome, StoreError> {
        let mut state = self.lock();
        match state.records.get(&record.key) {
            Some(old) if !old.is_replaceable_at(now_ms) => {
                return Ok(PutOutcome::Exists(Some(old.clone())));
            }
            _ => {}
        }
        if state.records.len() >= state.sweep_at {
            state.records.retain(|_, r| !r.is_replaceable_at(now_ms));
            state.sweep_at = (state.records.len() * 2).max(MIN_SWEEP);
        }
        state.records.insert(record.key.clone(), record.clone());
        Ok(PutOutcome::Stored)
    }

    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let now_s = epoch_ms(std::time::SystemTime::now()) / 1000;
        Ok(self
            .lock()
            .records
            .get(key)
            .filter(|r| r.expiration >= now_s)
            .cloned())
    }

    async fn complete(&self, record: &Record) -> Result<(), StoreError> {
        let mut state = self.lock();
        match state.records.get_mut(&record.key) {
            Some(stored) => {
                stored.status = record.status;
                stored.expiration = record.expiration;
                stored.data.clone_from(&record.data);
                stored.validation.clone_from(&record.validation);
            }
            None => {
                state.records.insert(record.key.clone(), record.clone());
            }
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().records.remove(key);
        Ok(())
    }
}
