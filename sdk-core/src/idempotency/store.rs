//! The persistence interface: the records [`Idempotency`](super::Idempotency) keeps and
//! the four operations it needs from a store.

use std::{
    future::Future,
    time::{SystemTime, UNIX_EPOCH},
};

use super::error::StoreError;

/// Where an idempotency record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    /// An attempt claimed the key and is running the function.
    InProgress,
    /// The function returned `Ok`; the record holds its response.
    Completed,
}

impl RecordStatus {
    /// The stored form, the same as Powertools for AWS Lambda: `INPROGRESS`, `COMPLETED`.
    ///
    /// ```
    /// use serverless_sdk::idempotency::RecordStatus;
    /// assert_eq!(RecordStatus::InProgress.as_str(), "INPROGRESS");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "INPROGRESS",
            Self::Completed => "COMPLETED",
        }
    }

    /// Parses the stored form; `None` for anything else.
    ///
    /// ```
    /// use serverless_sdk::idempotency::RecordStatus;
    /// assert_eq!(RecordStatus::parse("COMPLETED"), Some(RecordStatus::Completed));
    /// assert_eq!(RecordStatus::parse("EXPIRED"), None);
    /// ```
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "INPROGRESS" => Some(Self::InProgress),
            "COMPLETED" => Some(Self::Completed),
            _ => None,
        }
    }
}

/// One idempotency record, as a [`Store`] keeps it.
///
/// It holds hashes and the function's serialised response, never the raw key or event.
///
/// ```
/// use serverless_sdk::idempotency::{Record, RecordStatus};
///
/// let record = Record {
///     key: "orders#5e1f".into(),
///     status: RecordStatus::InProgress,
///     expiration: 1_700_003_600,
///     in_progress_expiration: Some(1_700_000_030_000),
///     data: None,
///     validation: None,
/// };
/// // Live until its in-progress expiry, then another attempt may take the key over.
/// assert!(!record.is_replaceable_at(1_700_000_029_999));
/// assert!(record.is_replaceable_at(1_700_000_030_001));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The partition key: `"{function_name}#{sha256 of the key, hex}"`.
    pub key: String,
    /// In progress or completed.
    pub status: RecordStatus,
    /// When the record expires, in seconds since the Unix epoch (a DynamoDB TTL value).
    /// An expired record no longer holds its key.
    pub expiration: u64,
    /// When an in-progress attempt is presumed dead (the invocation's deadline), in
    /// milliseconds since the Unix epoch; `None` when the deadline was unknown, so only
    /// [`expiration`](Self::expiration) frees the key.
    pub in_progress_expiration: Option<u64>,
    /// The function's response as JSON, once completed.
    pub data: Option<String>,
    /// The hash of the validated part of the event, when payload validation is on.
    pub validation: Option<String>,
}

impl Record {
    /// Whether a new attempt may overwrite this record at `now_ms` (milliseconds since the
    /// Unix epoch): it has expired, or it is in progress past its in-progress expiry.
    ///
    /// This is the condition [`Store::put_in_progress`] must apply atomically; the DynamoDB
    /// form is `attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND
    /// attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)`.
    #[must_use]
    pub fn is_replaceable_at(&self, now_ms: u64) -> bool {
        self.expiration < now_ms / 1000
            || (self.status == RecordStatus::InProgress
                && self.in_progress_expiration.is_some_and(|t| t < now_ms))
    }
}

/// What [`Store::put_in_progress`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record was written: this attempt holds the key.
    Stored,
    /// A live record holds the key. It is returned when the store read it in the same round
    /// trip (DynamoDB's `ReturnValuesOnConditionCheckFailure`); with `None` the caller
    /// reads it with [`Store::get`].
    Exists(Option<Record>),
}

/// A place to keep idempotency records: [`InMemoryStore`](super::InMemoryStore),
/// [`DynamoDbStore`](super::DynamoDbStore), or your own (Redis, a SQL table, …).
///
/// Implement the methods with `async fn`; the futures must be `Send`. Errors are returned,
/// never panicked: [`Idempotency`](super::Idempotency) turns them into
/// [`IdempotencyError::Store`](super::IdempotencyError::Store).
///
/// ```
/// use std::{collections::HashMap, sync::Mutex};
/// use serverless_sdk::idempotency::{PutOutcome, Record, Store, StoreError};
///
/// /// A store that keeps records in a map (what `InMemoryStore` does, minus the clean-up).
/// #[derive(Default)]
/// struct MapStore(Mutex<HashMap<String, Record>>);
///
/// impl MapStore {
///     fn map(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Record>>, StoreError> {
///         self.0.lock().map_err(|_| StoreError::new("poisoned"))
///     }
/// }
///
/// impl Store for MapStore {
///     async fn put_in_progress(&self, record: &Record, now_ms: u64) -> Result<PutOutcome, StoreError> {
///         let mut map = self.map()?;
///         match map.get(&record.key) {
///             Some(old) if !old.is_replaceable_at(now_ms) => Ok(PutOutcome::Exists(Some(old.clone()))),
///             _ => {
///                 map.insert(record.key.clone(), record.clone());
///                 Ok(PutOutcome::Stored)
///             }
///         }
///     }
///     async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
///         Ok(self.map()?.get(key).cloned())
///     }
///     async fn complete(&self, record: &Record) -> Result<(), StoreError> {
///         self.map()?.insert(record.key.clone(), record.clone());
///         Ok(())
///     }
///     async fn delete(&self, key: &str) -> Result<(), StoreError> {
///         self.map()?.remove(key);
///         Ok(())
///     }
/// }
///
/// let idem = serverless_sdk::idempotency::Idempotency::new(MapStore::default());
/// # let _ = idem;
/// ```
pub trait Store: Send + Sync {
    /// Writes `record` (status in progress) unless a record that is not
    /// [replaceable](Record::is_replaceable_at) at `now_ms` holds its key, atomically: of
    /// two concurrent calls for one key, at most one may return [`PutOutcome::Stored`].
    fn put_in_progress(
        &self,
        record: &Record,
        now_ms: u64,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;

    /// Reads the record for `key`, with strong consistency where the store offers a choice.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;

    /// Marks the record completed: stores `record`'s status, response
    /// ([`data`](Record::data)), [`expiration`](Record::expiration) and
    /// [`validation`](Record::validation) under its key.
    fn complete(&self, record: &Record) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes the record for `key` (the function failed: a retry must run it). Deleting a
    /// missing record is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One store shared by several [`Idempotency`](super::Idempotency) configurations (a handler
/// and its record handler, say, with different keys).
impl<S: Store> Store for std::sync::Arc<S> {
    fn put_in_progress(
        &self,
        record: &Record,
        now_ms: u64,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send {
        (**self).put_in_progress(record, now_ms)
    }
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        (**self).get(key)
    }
    fn complete(&self, record: &Record) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).complete(record)
    }
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete(key)
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
