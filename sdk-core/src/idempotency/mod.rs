//! Idempotency: run a handler, or any async function such as a batch record handler, at
//! most once per idempotency key, and answer retries and duplicates with the stored
//! response. The Rust twin of the idempotency utility of Powertools for AWS Lambda.
//!
//! Lambda retries: asynchronous events twice, stream batches until they expire, SQS
//! messages until they reach the dead-letter queue. A function that created an order row
//! before failing creates a second one on retry unless it is idempotent. Wrap the work in
//! [`Idempotency::run`]: the first call with a key runs it and stores its response; later
//! calls with the same key return that response without running it again.
//!
//! Cargo feature `idempotency`.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use serde_json::{json, Value};
//! use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let idem = Idempotency::new(InMemoryStore::new()).key_pointer("/orderId");
//! let rows = AtomicU32::new(0);
//!
//! let event = json!({ "orderId": "o-1", "qty": 2 });
//! let ctx = lambda_runtime::Context::default(); // the invocation's context
//! let create_order = || async {
//!     let row = rows.fetch_add(1, Ordering::SeqCst) + 1;
//!     Ok::<_, std::io::Error>(json!({ "orderId": "o-1", "row": row }))
//! };
//!
//! let first: Value = idem.run(&event, &ctx, create_order).await?;
//! let second: Value = idem.run(&event, &ctx, create_order).await?; // a retry
//! assert_eq!(first, second);
//! assert_eq!(rows.load(Ordering::SeqCst), 1); // one order row
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! 1. The key: the event (any `Serialize` type, as JSON) or the part of it chosen with
//!    [`key_pointer`](Idempotency::key_pointer) or [`key_with`](Idempotency::key_with),
//!    hashed: SHA-256 of its canonical JSON (object keys sorted), hex. The record's key is
//!    `"{function_name}#{hash}"`. Neither the key nor the event is ever stored or reported,
//!    only hashes.
//! 2. One conditional write claims the key: a record with status `INPROGRESS`, an
//!    expiration (now + [`expires_after`](Idempotency::expires_after), one hour by default)
//!    and an in-progress expiration, the invocation's deadline ([`lambda_runtime::Context::deadline`]).
//!    It succeeds only if no record holds the key, or the record expired, or it is in
//!    progress past its in-progress expiration (an attempt that timed out or crashed): of
//!    two concurrent attempts, one wins.
//! 3. The winner runs the function. On `Ok` it stores the response (JSON) with status
//!    `COMPLETED` and a fresh expiration; on `Err` it deletes the record, so a retry runs
//!    the function again.
//! 4. A loser reads the existing record (from the same round trip on DynamoDB): completed,
//!    it returns the stored response ("replayed"); in progress, it returns
//!    [`IdempotencyError::InProgress`] (retry later). With
//!    [`validate_pointer`](Idempotency::validate_pointer), a record whose validated part
//!    of the event differs gives [`IdempotencyError::PayloadMismatch`] instead of a silent
//!    replay.
//!
//! # Failures
//!
//! | what fails | result | the record |
//! |---|---|---|
//! | the function returns `Err(e)` | [`IdempotencyError::Function(e)`](IdempotencyError::Function) | deleted: the retry runs |
//! | the function panics, or the future of `run` is dropped while it runs | the panic goes on to the handler, which reports it | deleted by a task spawned on the tokio runtime, without waiting; if that fails, freed at its in-progress expiration |
//! | the invocation times out or the process dies | | freed at its in-progress expiration |
//! | the store, claiming the key or reading the record (an outage) | [`IdempotencyError::Store`]; the function does not run (fail closed: running it could run it twice) | unchanged |
//! | the store, saving the response | [`IdempotencyError::Store`], with [`StoreError::function_ran`] | in progress until its in-progress expiration, so a duplicate meanwhile is not run again |
//! | the store, deleting after `Err` | the function's error | in progress until its in-progress expiration |
//!
//! Nothing here panics. Without a deadline (`Context::deadline` of 0, or
//! [`run_until`](Idempotency::run_until) with `None`) an in-progress record holds its key
//! until its expiration.
//!
//! # Telemetry
//!
//! Each use is a span named `idempotency` with `idempotency.key_hash` (the SHA-256 of the
//! key, never the key) and `idempotency.outcome`: `run`, `replayed`, `in_progress` or
//! `payload_mismatch`. The function runs inside the span when the outcome is `run`. An
//! idempotency error is also recorded on the span as an `exception` (status ERROR) whose
//! type is its `errorType` (`IdempotencyAlreadyInProgressError`, …).
//!
//! # The DynamoDB table
//!
//! A string partition key `id` (no sort key) and TTL on `expiration`; on-demand billing
//! suits it. With the AWS CLI:
//!
//! ```sh
//! aws dynamodb create-table --table-name idempotency \
//!   --attribute-definitions AttributeName=id,AttributeType=S \
//!   --key-schema AttributeName=id,KeyType=HASH \
//!   --billing-mode PAY_PER_REQUEST
//! aws dynamodb update-time-to-live --table-name idempotency \
//!   --time-to-live-specification Enabled=true,AttributeName=expiration
//! ```
//!
//! Or in CloudFormation / SAM:
//!
//! ```yaml
//! IdempotencyTable:
//!   Type: AWS::DynamoDB::Table
//!   Properties:
//!     AttributeDefinitions:
//!       - { AttributeName: id, AttributeType: S }
//!     KeySchema:
//!       - { AttributeName: id, KeyType: HASH }
//!     TimeToLiveSpecification: { AttributeName: expiration, Enabled: true }
//!     BillingMode: PAY_PER_REQUEST
//! ```
//!
//! The function needs `dynamodb:PutItem`, `dynamodb:GetItem`, `dynamodb:UpdateItem` and
//! `dynamodb:DeleteItem` on it. Records use Powertools' attribute names (`id`,
//! `expiration`, `in_progress_expiration`, `status`, `data`, `validation`), renamed with
//! the setters of [`DynamoDbStore`].
//!
//! # In a handler and in record handlers
//!
//! [`Idempotency`] is cheap to clone and `Send + Sync`: build it once in `main`, then use
//! it from every invocation, and from record handlers running concurrently (each SQS
//! message keyed by `/messageId`, say).
//!
//! ```no_run
//! use lambda_runtime::{service_fn, LambdaEvent};
//! use serde_json::{json, Value};
//! use serverless_sdk::{
//!     serverless_handler,
//!     idempotency::{DynamoDbStore, Idempotency, IdempotencyError},
//! };
//!
//! #[serverless_handler]
//! async fn create_order(
//!     event: LambdaEvent<Value>,
//!     idem: &Idempotency<DynamoDbStore>,
//! ) -> Result<Value, IdempotencyError<std::io::Error>> {
//!     idem.run(&event.payload, &event.context, || async {
//!         // insert the order row ...
//!         Ok(json!({ "orderId": event.payload["orderId"], "status": "created" }))
//!     })
//!     .await
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), serverless_sdk::Error> {
//!     # let client: aws_sdk_dynamodb::Client = unimplemented!();
//!     // let client = aws_sdk_dynamodb::Client::new(&aws_config::load_defaults(..).await);
//!     let store = DynamoDbStore::new(client, std::env::var("IDEMPOTENCY_TABLE")?);
//!     let idem = Idempotency::new(store).key_pointer("/orderId");
//!     serverless_sdk::run(service_fn(|event| create_order(event, &idem))).await
//! }
//! ```
//!
//! To choose the store at run time (DynamoDB on Lambda, memory for a local run), wrap
//! either in [`AnyStore`]: the handler then takes `&Idempotency<AnyStore>`. The example
//! `examples/src/bin/idempotent_orders.rs` does that, and
//! `examples/src/bin/idempotent_sqs_orders.rs` uses idempotency in a `process_sqs` record
//! handler.

mod any;
mod dynamodb;
mod error;
mod key;
mod memory;
mod store;
#[cfg(test)]
mod tests;

use std::{
    fmt,
    future::Future,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use lambda_runtime::Context;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

pub use any::AnyStore;
pub use dynamodb::DynamoDbStore;
pub use error::{IdempotencyError, StoreError};
pub use memory::InMemoryStore;
use store::epoch_ms;
pub use store::{PutOutcome, Record, RecordStatus, Store};

use key::Selector;

/// The span every use opens.
const SPAN: &str = "idempotency";
/// Span attribute: the SHA-256 of the key, hex.
const KEY_HASH: &str = "idempotency.key_hash";
/// Span attribute: `run`, `replayed`, `in_progress` or `payload_mismatch`.
const OUTCOME: &str = "idempotency.outcome";
/// How many times the claim is retried when the store changes between the conditional
/// write and the read of the record that blocked it (as Powertools does).
const MAX_RETRIES: usize = 2;
/// The default lifetime of a record.
const DEFAULT_EXPIRY: Duration = Duration::from_secs(60 * 60);

/// Runs functions at most once per idempotency key; see the [module docs](self).
///
/// Built once (usually in `main`) with a store and options, then shared: cloning it is
/// two reference-count increments, and it is `Send + Sync` when the store is.
///
/// ```
/// use std::time::Duration;
/// use serde_json::Value;
/// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
///
/// let idem = Idempotency::new(InMemoryStore::new())
///     .key_with(|event: &Value| Some(serde_json::json!([event["customer"], event["cart"]])))
///     .validate_pointer("/amount")
///     .expires_after(Duration::from_secs(24 * 60 * 60))
///     .function_name("checkout");
/// let for_a_task = idem.clone();
/// # let _ = for_a_task;
/// ```
pub struct Idempotency<S> {
    store: Arc<S>,
    settings: Arc<Settings>,
}

#[derive(Clone, Debug)]
struct Settings {
    key: Selector,
    validation: Option<Selector>,
    expires_after: Duration,
    function_name: String,
}

impl<S> Clone for Idempotency<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            settings: Arc::clone(&self.settings),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Idempotency<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotency")
            .field("store", &self.store)
            .field("key", &self.settings.key)
            .field("validation", &self.settings.validation)
            .field("expires_after", &self.settings.expires_after)
            .field("function_name", &self.settings.function_name)
            .finish()
    }
}

/// A JSON pointer as given, or `/name` for a bare field name.
fn pointer(p: String) -> String {
    if p.is_empty() || p.starts_with('/') {
        p
    } else {
        format!("/{p}")
    }
}

impl<S> Idempotency<S> {
    /// Idempotency over `store`, keyed by the whole event, records kept for one hour, and
    /// the function name from `AWS_LAMBDA_FUNCTION_NAME` (`local` when unset).
    ///
    /// ```
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    /// let idem = Idempotency::new(InMemoryStore::new());
    /// # let _ = idem;
    /// ```
    #[must_use]
    pub fn new(store: S) -> Self {
        let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "local".to_owned());
        Self {
            store: Arc::new(store),
            settings: Arc::new(Settings {
                key: Selector::Whole,
                validation: None,
                expires_after: DEFAULT_EXPIRY,
                function_name,
            }),
        }
    }

    fn settings(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// Keys by the value at a JSON pointer (RFC 6901: `/orderId`, `/detail/id`,
    /// `/Records/0/messageId`); a bare name such as `orderId` is read as `/orderId`. An
    /// event where it names nothing, `null` or an empty value gives
    /// [`IdempotencyError::MissingKey`].
    ///
    /// ```
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    /// let idem = Idempotency::new(InMemoryStore::new()).key_pointer("/body/orderId");
    /// # let _ = idem;
    /// ```
    #[must_use]
    pub fn key_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.settings().key = Selector::Pointer(self::pointer(pointer.into()));
        self
    }

    /// Keys by the value `f` derives from the event (as JSON); `None` gives
    /// [`IdempotencyError::MissingKey`]. Several fields make one key as an array.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    ///
    /// let idem = Idempotency::new(InMemoryStore::new())
    ///     .key_with(|event: &Value| Some(json!([event["user"], event["requestId"]])));
    /// # let _ = idem;
    /// ```
    #[must_use]
    pub fn key_with(mut self, f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static) -> Self {
        self.settings().key = Selector::With(Arc::new(f));
        self
    }

    /// Turns on payload validation over the value at a JSON pointer: its hash is stored with
    /// the record, and a later call with the same key but a different value there gives
    /// [`IdempotencyError::PayloadMismatch`] instead of the stored response.
    ///
    /// ```
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    /// let idem = Idempotency::new(InMemoryStore::new())
    ///     .key_pointer("/orderId")
    ///     .validate_pointer("/amount");
    /// # let _ = idem;
    /// ```
    #[must_use]
    pub fn validate_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.settings().validation = Some(Selector::Pointer(self::pointer(pointer.into())));
        self
    }

    /// Turns on payload validation over the value `f` derives from the event (as JSON);
    /// `None` is validated as `null`.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    ///
    /// let idem = Idempotency::new(InMemoryStore::new())
    ///     .key_pointer("/orderId")
    ///     .validate_with(|event: &Value| Some(json!([event["amount"], event["currency"]])));
    /// # let _ = idem;
    /// ```
    #[must_use]
    pub fn validate_with(
        mut self,
        f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static,
    ) -> Self {
        self.settings().validation = Some(Selector::With(Arc::new(f)));
        self
    }

    /// How long a completed record answers duplicates (default one hour), in whole
    /// seconds. It is also the longest an in-progress record without a deadline holds its
    /// key.
    ///
    /// ```
    /// use std::time::Duration;
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    /// let idem = Idempotency::new(InMemoryStore::new()).expires_after(Duration::from_secs(600));
    /// # let _ = idem;
    /// ```
    #[must_use]
    pub fn expires_after(mut self, expiry: Duration) -> Self {
        self.settings().expires_after = expiry;
        self
    }

    /// The prefix of record keys (default `AWS_LAMBDA_FUNCTION_NAME`): give each use in one
    /// function its own (`"orders.handler"`, `"orders.record"`) when they share a table
    /// and their keys could collide.
    ///
    /// ```
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    /// let idem = Idempotency::new(InMemoryStore::new()).function_name("orders.record");
    /// # let _ = idem;
    /// ```
    #[must_use]
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.settings().function_name = name.into();
        self
    }

    /// The store.
    ///
    /// ```
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    /// let idem = Idempotency::new(InMemoryStore::new());
    /// assert!(idem.store().is_empty());
    /// ```
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<S: Store + 'static> Idempotency<S> {
    /// Runs `f` unless a record for the event's key exists: the invocation's form, with
    /// the in-progress expiration taken from `ctx.deadline` (the invocation's remaining
    /// time). Returns `f`'s response, or the stored one when the key was seen before.
    ///
    /// `f` is called at most once, and only when this call claimed the key. Its response
    /// is stored as JSON, so `R` must deserialise from what it serialises to.
    ///
    /// # Errors
    ///
    /// [`IdempotencyError::InProgress`] while another attempt holds the key,
    /// [`IdempotencyError::PayloadMismatch`], [`IdempotencyError::MissingKey`],
    /// [`IdempotencyError::Store`], or `f`'s own error as [`IdempotencyError::Function`].
    ///
    /// ```
    /// use serde_json::json;
    /// use serverless_sdk::idempotency::{Idempotency, IdempotencyError, InMemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let idem = Idempotency::new(InMemoryStore::new()).key_pointer("/orderId");
    /// let mut ctx = lambda_runtime::Context::default();
    /// ctx.deadline = 4_102_444_800_000; // the Runtime API's deadline, epoch millis
    ///
    /// let event = json!({ "orderId": "o-7" });
    /// let failed = idem
    ///     .run(&event, &ctx, || async { Err::<u32, _>("payment declined") })
    ///     .await;
    /// assert!(matches!(failed, Err(IdempotencyError::Function("payment declined"))));
    ///
    /// // The failure deleted the record: the retry runs.
    /// let retried = idem.run(&event, &ctx, || async { Ok::<u32, &str>(42) }).await;
    /// assert_eq!(retried.ok(), Some(42));
    /// # }
    /// ```
    pub async fn run<T, R, E, F, Fut>(
        &self,
        event: &T,
        ctx: &Context,
        f: F,
    ) -> Result<R, IdempotencyError<E>>
    where
        T: Serialize + ?Sized,
        R: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let deadline = (ctx.deadline > 0).then(|| UNIX_EPOCH + Duration::from_millis(ctx.deadline));
        self.run_until(event, deadline, f).await
    }

    /// [`run`](Self::run) with the attempt's deadline given directly: its in-progress
    /// record frees the key at `deadline`, or, with `None`, only at its expiration.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use serverless_sdk::idempotency::{Idempotency, InMemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let idem = Idempotency::new(InMemoryStore::new());
    /// let deadline = SystemTime::now() + Duration::from_secs(30);
    /// let sum = idem
    ///     .run_until(&[1, 2, 3], Some(deadline), || async { Ok::<u32, std::io::Error>(6) })
    ///     .await;
    /// assert_eq!(sum.ok(), Some(6));
    /// # }
    /// ```
    pub async fn run_until<T, R, E, F, Fut>(
        &self,
        event: &T,
        deadline: Option<SystemTime>,
        f: F,
    ) -> Result<R, IdempotencyError<E>>
    where
        T: Serialize + ?Sized,
        R: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let Some((key_hash, validation)) = self.hashes(event) else {
            return Err(refuse(None, IdempotencyError::MissingKey));
        };
        let key = format!("{}#{key_hash}", self.settings.function_name);
        let in_progress_expiration = deadline.map(epoch_ms);
        for _ in 0..=MAX_RETRIES {
            let now_ms = epoch_ms(SystemTime::now());
            let record = Record {
                key: key.clone(),
                status: RecordStatus::InProgress,
                expiration: self.expiration(now_ms),
                in_progress_expiration,
                data: None,
                validation: validation.clone(),
            };
            let existing = match self.store.put_in_progress(&record, now_ms).await {
                Ok(PutOutcome::Stored) => return self.execute(record, &key_hash, f).await,
                Ok(PutOutcome::Exists(Some(existing))) => existing,
                Ok(PutOutcome::Exists(None)) => match self.store.get(&key).await {
                    Ok(Some(existing)) => existing,
                    // Deleted between the two calls: claim again.
                    Ok(None) => continue,
                    Err(e) => {
                        let e = IdempotencyError::Store(e.during(error::READING));
                        return Err(refuse(Some(&key_hash), e));
                    }
                },
                Err(e) => {
                    let e = IdempotencyError::Store(e.during(error::CLAIMING));
                    return Err(refuse(Some(&key_hash), e));
                }
            };
            if existing.is_replaceable_at(now_ms) {
                // Expired between the two calls: claim again.
                continue;
            }
            if validation.is_some() && existing.validation != validation {
                return Err(refuse(None, IdempotencyError::PayloadMismatch { key_hash }));
            }
            return match existing.status {
                RecordStatus::InProgress => {
                    Err(refuse(None, IdempotencyError::InProgress { key_hash }))
                }
                RecordStatus::Completed => replay(&existing, &key_hash),
            };
        }
        let e = StoreError::new("the record that blocked the key kept changing")
            .during(error::CLAIMING);
        Err(refuse(Some(&key_hash), IdempotencyError::Store(e)))
    }

    /// The key's hash and the validation hash, `None` when the event has no key.
    fn hashes<T: Serialize + ?Sized>(&self, event: &T) -> Option<(String, Option<String>)> {
        let event = serde_json::to_value(event).ok()?;
        let key = self.settings.key.key_hash(&event)?;
        let validation = self
            .settings
            .validation
            .as_ref()
            .map(|v| v.hash(&event).unwrap_or_else(|| key::hash(&Value::Null)));
        Some((key, validation))
    }

    /// A record's expiration for a write at `now_ms`, in epoch seconds.
    fn expiration(&self, now_ms: u64) -> u64 {
        (now_ms / 1000).saturating_add(self.settings.expires_after.as_secs())
    }

    /// Runs `f` for a claimed key, inside the `idempotency` span (outcome `run`), and
    /// settles the record.
    async fn execute<R, E, F, Fut>(
        &self,
        record: Record,
        key_hash: &str,
        f: F,
    ) -> Result<R, IdempotencyError<E>>
    where
        R: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        // The guard is not `Send`: it is moved onto the future before any `.await`.
        let settled = {
            let span = crate::span(SPAN);
            span.set_attribute(KEY_HASH, key_hash.to_owned());
            span.set_attribute(OUTCOME, "run");
            span.instrument(self.settle(record, f))
        };
        settled.await
    }

    async fn settle<R, E, F, Fut>(&self, mut record: Record, f: F) -> Result<R, IdempotencyError<E>>
    where
        R: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        // Until the outcome is settled, a panic in `f` or a dropped future releases the key.
        let mut release = Release {
            store: Some(Arc::clone(&self.store)),
            key: &record.key,
        };
        match f().await {
            Err(e) => {
                // A failed delete leaves the record to its in-progress expiration; the
                // function's error is what the caller needs.
                let _ = self.store.delete(release.key).await;
                release.disarm();
                Err(IdempotencyError::Function(e))
            }
            Ok(response) => {
                // The function ran: from here on, the record must not be deleted.
                release.disarm();
                let data = serde_json::to_string(&response).map_err(|e| {
                    IdempotencyError::Store(StoreError::new(e).during(error::SAVING))
                })?;
                record.status = RecordStatus::Completed;
                record.expiration = self.expiration(epoch_ms(SystemTime::now()));
                record.data = Some(data);
                match self.store.complete(&record).await {
                    Ok(()) => Ok(response),
                    Err(e) => Err(IdempotencyError::Store(e.during(error::SAVING))),
                }
            }
        }
    }
}

/// Returns the stored response of a completed record, in an `idempotency` span with the
/// outcome `replayed`.
fn replay<R: DeserializeOwned, E>(
    record: &Record,
    key_hash: &str,
) -> Result<R, IdempotencyError<E>> {
    match serde_json::from_str(record.data.as_deref().unwrap_or("null")) {
        Ok(response) => {
            let span = crate::span(SPAN);
            span.set_attribute(KEY_HASH, key_hash.to_owned());
            span.set_attribute(OUTCOME, "replayed");
            Ok(response)
        }
        Err(e) => {
            // serde_json's message can quote the stored response: keep only where it broke.
            let e = StoreError::new(format!(
                "the stored response does not deserialise as `{}` ({:?} error at line {}, column {})",
                crate::errors::short_type_name(std::any::type_name::<R>()),
                e.classify(),
                e.line(),
                e.column()
            ))
            .during(error::REPLAYING);
            Err(refuse(Some(key_hash), IdempotencyError::Store(e)))
        }
    }
}

/// Reports an idempotency error on an `idempotency` span and returns it. The key hash is
/// `key_hash`, or the one the error carries.
fn refuse<E>(key_hash: Option<&str>, error: IdempotencyError<E>) -> IdempotencyError<E> {
    let span = crate::span(SPAN);
    let key_hash = match &error {
        IdempotencyError::InProgress { key_hash }
        | IdempotencyError::PayloadMismatch { key_hash } => Some(key_hash.as_str()),
        _ => key_hash,
    };
    if let Some(hash) = key_hash {
        span.set_attribute(KEY_HASH, hash.to_owned());
    }
    match &error {
        IdempotencyError::InProgress { .. } => span.set_attribute(OUTCOME, "in_progress"),
        IdempotencyError::PayloadMismatch { .. } => span.set_attribute(OUTCOME, "payload_mismatch"),
        _ => {}
    }
    if let Some(e) = error.for_span() {
        e.record(&span);
    }
    error
}

/// Deletes a claimed record if dropped armed: the function panicked or the future of
/// `run` was dropped before the outcome was settled. The delete runs as a task on the
/// current tokio runtime, not awaited; without a runtime, or if it fails, the record's
/// in-progress expiration frees the key.
struct Release<'a, S: Store + 'static> {
    store: Option<Arc<S>>,
    key: &'a str,
}

impl<S: Store + 'static> Release<'_, S> {
    fn disarm(&mut self) {
        self.store = None;
    }
}

impl<S: Store + 'static> Drop for Release<'_, S> {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let key = self.key.to_owned();
            drop(runtime.spawn(async move {
                let _ = store.delete(&key).await;
            }));
        }
    }
}
