//! [`AnyStore`]: one type for a store chosen at run time, such as DynamoDB on Lambda and
//! memory for a local run.

use std::{fmt, future::Future, pin::Pin};

use super::{
    error::StoreError,
    store::{PutOutcome, Record, Store},
};

/// A future a type-erased store returns.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// [`Store`] with its futures boxed, so that it can be a trait object.
trait DynStore: Send + Sync {
    fn put_in_progress<'a>(&'a self, record: &'a Record, now_ms: u64) -> BoxFuture<'a, PutOutcome>;
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Record>>;
    fn complete<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, ()>;
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

impl<S: Store> DynStore for S {
    fn put_in_progress<'a>(&'a self, record: &'a Record, now_ms: u64) -> BoxFuture<'a, PutOutcome> {
        Box::pin(Store::put_in_progress(self, record, now_ms))
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Record>> {
        Box::pin(Store::get(self, key))
    }
    fn complete<'a>(&'a self, record: &'a Record) -> BoxFuture<'a, ()> {
        Box::pin(Store::complete(self, record))
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(Store::delete(self, key))
    }
}

/// Any [`Store`], behind one type: for a store chosen at run time, typically
/// [`DynamoDbStore`](super::DynamoDbStore) when a table is configured and
/// [`InMemoryStore`](super::InMemoryStore) for a local run, so that the handler takes one
/// `&Idempotency<AnyStore>` either way.
///
/// [`Store`]'s futures are not boxed, so the trait cannot be a trait object; `AnyStore`
/// boxes them: one allocation per store call, two or three per `run`. Over the in-memory
/// store the benches cannot tell it from the unwrapped store beyond their noise
/// (`BENCHMARKS.md`), and it is nothing next to a DynamoDB round trip.
///
/// ```
/// use serverless_sdk::idempotency::{AnyStore, DynamoDbStore, Idempotency, InMemoryStore};
/// # fn dynamodb_client() -> aws_sdk_dynamodb::Client { unreachable!("not called here") }
///
/// /// DynamoDB when `IDEMPOTENCY_TABLE` names a table, else memory.
/// fn store(table: Option<String>) -> AnyStore {
///     match table {
///         Some(table) => AnyStore::new(DynamoDbStore::new(dynamodb_client(), table)),
///         None => AnyStore::new(InMemoryStore::new()),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let idem = Idempotency::new(store(None)).key_pointer("/orderId");
/// let event = serde_json::json!({ "orderId": "o-1" });
/// let ctx = lambda_runtime::Context::default();
/// let first = idem.run(&event, &ctx, || async { Ok::<u32, std::io::Error>(1) }).await;
/// let again = idem.run(&event, &ctx, || async { Ok::<u32, std::io::Error>(2) }).await;
/// assert_eq!((first.ok(), again.ok()), (Some(1), Some(1)));
/// assert_eq!(format!("{:?}", idem.store()), "AnyStore(InMemoryStore)");
/// # }
/// ```
pub struct AnyStore {
    inner: Box<dyn DynStore>,
    /// The short type name of the store inside, for `Debug`.
    name: String,
}

impl AnyStore {
    /// Wraps `store`.
    ///
    /// ```
    /// use serverless_sdk::idempotency::{AnyStore, InMemoryStore};
    /// let store = AnyStore::new(InMemoryStore::new());
    /// assert_eq!(store.store_type(), "InMemoryStore");
    /// ```
    #[must_use]
    pub fn new<S: Store + 'static>(store: S) -> Self {
        Self {
            inner: Box::new(store),
            name: crate::errors::short_type_name(std::any::type_name::<S>()),
        }
    }

    /// The short type name of the store inside (`DynamoDbStore`, `InMemoryStore`), to say
    /// which one was chosen (in a log line at cold start, say).
    ///
    /// ```
    /// use serverless_sdk::idempotency::{AnyStore, InMemoryStore};
    /// assert_eq!(AnyStore::new(InMemoryStore::new()).store_type(), "InMemoryStore");
    /// ```
    #[must_use]
    pub fn store_type(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AnyStore")
            .field(&format_args!("{}", self.name))
            .finish()
    }
}

impl Store for AnyStore {
    async fn put_in_progress(
        &self,
        record: &Record,
        now_ms: u64,
    ) -> Result<PutOutcome, StoreError> {
        self.inner.put_in_progress(record, now_ms).await
    }

    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get(key).await
    }

    async fn complete(&self, record: &Record) -> Result<(), StoreError> {
        self.inner.complete(record).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
}
