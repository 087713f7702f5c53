//! The algorithm against [`InMemoryStore`] and a few faulty stores.

use std::{
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::ErrorType;

fn in_30s() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(30))
}

fn idem() -> Idempotency<InMemoryStore> {
    Idempotency::new(InMemoryStore::new())
        .key_pointer("/orderId")
        .function_name("orders")
}

/// A function that counts its runs and answers with the run's number.
/// A retry of `event` runs the function (once, for the first time).
async fn assert_the_retry_runs(idem: &Idempotency<InMemoryStore>, event: &Value) {
    let runs = AtomicUsize::new(0);
    let retried = idem.run_until(event, in_30s(), || counted(&runs)).await;
    assert_eq!(retried.unwrap(), json!({ "run": 1 }));
}

async fn counted(runs: &AtomicUsize) -> Result<Value, std::io::Error> {
    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(json!({ "run": n }))
}

#[tokio::test]
async fn records_hold_hashes_under_the_function_name() {
    let idem = idem().validate_pointer("/qty");
    let event = json!({ "orderId": "secret-order-id", "qty": 1 });
    let deadline = in_30s();
    let _: u8 = idem
        .run_until(&event, deadline, || async { Ok::<_, std::io::Error>(7) })
        .await
        .unwrap();
    let key = format!("orders#{}", key::hash(&json!("secret-order-id")));
    let record = idem.store().get(&key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(record.data.as_deref(), Some("7"));
    assert_eq!(record.validation, Some(key::hash(&json!(1))));
    assert_eq!(record.in_progress_expiration, deadline.map(epoch_ms));
    let now_s = epoch_ms(SystemTime::now()) / 1000;
    assert!((now_s + 3590..=now_s + 3600).contains(&record.expiration));
    assert!(!format!("{record:?}").contains("secret-order-id"));
}

#[tokio::test]
async fn typed_events_are_keyed_by_their_json_form() {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Order {
        order_id: String,
        qty: u32,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Created {
        row: usize,
    }
    let idem = idem();
    let runs = AtomicUsize::new(0);
    let order = Order {
        order_id: "o-1".into(),
        qty: 3,
    };
    let f = || async {
        let row = runs.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Created { row })
    };
    assert_eq!(
        idem.run_until(&order, in_30s(), f).await.unwrap(),
        Created { row: 0 }
    );
    assert_eq!(
        idem.run_until(&order, in_30s(), f).await.unwrap(),
        Created { row: 0 }
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let _ = order.qty;
}

#[tokio::test]
async fn a_failure_deletes_the_record_so_the_retry_runs() {
    let idem = idem();
    let event = json!({ "orderId": "o-1" });
    let failed = idem
        .run_until(&event, in_30s(), || async { Err::<Value, _>("declined") })
        .await;
    assert!(matches!(
        failed,
        Err(IdempotencyError::Function("declined"))
    ));
    assert!(idem.store().is_empty());
    assert_the_retry_runs(&idem, &event).await;
}

#[tokio::test]
async fn a_panic_releases_the_key() {
    let idem = idem();
    let event = json!({ "orderId": "o-1" });
    let task = {
        let (idem, event) = (idem.clone(), event.clone());
        tokio::spawn(async move {
            idem.run_until(&event, in_30s(), || async {
                if event["orderId"] == "o-1" {
                    panic!("kaboom");
                }
                Ok::<u8, std::io::Error>(0)
            })
            .await
        })
    };
    assert!(task.await.unwrap_err().is_panic());
    // The delete runs as a task of its own.
    for _ in 0..100 {
        if idem.store().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_the_retry_runs(&idem, &event).await;
}

#[tokio::test]
async fn a_dropped_attempt_releases_the_key() {
    let idem = idem();
    let event = json!({ "orderId": "o-1" });
    let hung = idem.run_until(&event, in_30s(), || async {
        std::future::pending::<()>().await;
        Ok::<u8, std::io::Error>(0)
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(20), hung)
            .await
            .is_err()
    );
    tokio::task::yield_now().await;
    assert_the_retry_runs(&idem, &event).await;
}

#[tokio::test]
async fn without_a_deadline_an_in_progress_record_holds_the_key_until_it_expires() {
    let idem = idem();
    let event = json!({ "orderId": "o-1" });
    let mut hung = Box::pin(idem.run_until(&event, None, || async {
        std::future::pending::<()>().await;
        Ok::<Value, std::io::Error>(Value::Null)
    }));
    assert!(
        tokio::time::timeout(Duration::from_millis(10), &mut hung)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let runs = AtomicUsize::new(0);
    let blocked = idem.run_until(&event, in_30s(), || counted(&runs)).await;
    assert!(matches!(blocked, Err(IdempotencyError::InProgress { .. })));
    std::mem::forget(hung);
}

#[tokio::test]
async fn an_expired_completed_record_runs_again() {
    let idem = idem();
    let event = json!({ "orderId": "o-1" });
    let key = format!("orders#{}", key::hash(&json!("o-1")));
    let old = Record {
        key: key.clone(),
        status: RecordStatus::Completed,
        expiration: epoch_ms(SystemTime::now()) / 1000 - 1,
        in_progress_expiration: None,
        data: Some(r#"{"run":0}"#.into()),
        validation: None,
    };
    idem.store().complete(&old).await.unwrap();
    let runs = AtomicUsize::new(0);
    let ran = idem.run_until(&event, in_30s(), || counted(&runs)).await;
    assert_eq!(ran.unwrap(), json!({ "run": 1 }));
}

#[tokio::test]
async fn the_whole_event_is_the_default_key_whatever_its_key_order() {
    let idem = Idempotency::new(InMemoryStore::new());
    let runs = AtomicUsize::new(0);
    let a: Value = serde_json::from_str(r#"{"a": 1, "b": [1, {"y": 1, "x": 2}]}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"b": [1, {"x": 2, "y": 1}], "a": 1}"#).unwrap();
    idem.run_until(&a, in_30s(), || counted(&runs))
        .await
        .unwrap();
    idem.run_until(&b, in_30s(), || counted(&runs))
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_deadline_comes_from_the_context() {
    let idem = idem();
    let mut ctx = Context::default();
    ctx.deadline = epoch_ms(SystemTime::now()) + 30_000;
    let event = json!({ "orderId": "o-1" });
    let mut hung = Box::pin(idem.run(&event, &ctx, || async {
        std::future::pending::<()>().await;
        Ok::<u8, std::io::Error>(0)
    }));
    assert!(
        tokio::time::timeout(Duration::from_millis(10), &mut hung)
            .await
            .is_err()
    );
    let key = format!("orders#{}", key::hash(&json!("o-1")));
    let record = idem.store().get(&key).await.unwrap().unwrap();
    assert_eq!(record.in_progress_expiration, Some(ctx.deadline));
    std::mem::forget(hung);
}

/// A store whose calls fail on demand.
#[derive(Default)]
struct Faulty {
    inner: InMemoryStore,
    fail_put: AtomicBool,
    fail_complete: AtomicBool,
    fail_delete: AtomicBool,
    /// Report a failed condition without the record (as a store that cannot return it).
    hide_existing: AtomicBool,
}

/// [`Idempotency`] keyed by `/orderId` over a [`Faulty`] store, with the fault that `fault`
/// picks turned on.
fn faulty(fault: impl FnOnce(&Faulty) -> &AtomicBool) -> Idempotency<Faulty> {
    let idem = Idempotency::new(Faulty::default()).key_pointer("/orderId");
    fault(idem.store()).store(true, Ordering::SeqCst);
    idem
}

fn fail(flag: &AtomicBool, op: &str) -> Result<(), StoreError> {
    if flag.load(Ordering::SeqCst) {
        Err(StoreError::new(format!("{op}: connection refused")))
    } else {
        Ok(())
    }
}

impl Store for Faulty {
    async fn put_in_progress(
        &self,
        record: &Record,
        now_ms: u64,
    ) -> Result<PutOutcome, StoreError> {
        fail(&self.fail_put, "put")?;
        match self.inner.put_in_progress(record, now_ms).await? {
            PutOutcome::Exists(_) if self.hide_existing.load(Ordering::SeqCst) => {
                Ok(PutOutcome::Exists(None))
            }
            other => Ok(other),
        }
    }
    async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get(key).await
    }
    async fn complete(&self, record: &Record) -> Result<(), StoreError> {
        fail(&self.fail_complete, "complete")?;
        self.inner.complete(record).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        fail(&self.fail_delete, "delete")?;
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn a_store_outage_fails_closed() {
    let idem = faulty(|store| &store.fail_put);
    let runs = AtomicUsize::new(0);
    let r = idem
        .run_until(&json!({ "orderId": "o-1" }), in_30s(), || counted(&runs))
        .await;
    let Err(err) = r else {
        panic!("ran without the store")
    };
    assert_eq!(err.error_type(), "IdempotencyPersistenceLayerError");
    assert_eq!(
        err.to_string(),
        "the idempotency store failed while claiming the idempotency key: put: connection refused"
    );
    let IdempotencyError::Store(store_error) = &err else {
        panic!("{err:?}");
    };
    assert!(!store_error.function_ran());
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_lost_response_keeps_the_key_in_progress() {
    let idem = faulty(|store| &store.fail_complete);
    let runs = AtomicUsize::new(0);
    let event = json!({ "orderId": "o-1" });
    let r = idem.run_until(&event, in_30s(), || counted(&runs)).await;
    let Err(IdempotencyError::Store(e)) = r else {
        panic!("{r:?}")
    };
    assert!(e.function_ran());
    idem.store().fail_complete.store(false, Ordering::SeqCst);
    let duplicate = idem.run_until(&event, in_30s(), || counted(&runs)).await;
    assert!(matches!(
        duplicate,
        Err(IdempotencyError::InProgress { .. })
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_delete_still_returns_the_function_error() {
    let idem = faulty(|store| &store.fail_delete);
    let event = json!({ "orderId": "o-1" });
    let r = idem
        .run_until(&event, in_30s(), || async { Err::<u8, _>("declined") })
        .await;
    assert!(matches!(r, Err(IdempotencyError::Function("declined"))));
}

#[tokio::test]
async fn a_store_without_the_existing_record_is_read_back() {
    let idem = faulty(|store| &store.hide_existing);
    let runs = AtomicUsize::new(0);
    let event = json!({ "orderId": "o-1" });
    idem.run_until(&event, in_30s(), || counted(&runs))
        .await
        .unwrap();
    let replayed = idem.run_until(&event, in_30s(), || counted(&runs)).await;
    assert_eq!(replayed.unwrap(), json!({ "run": 1 }));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stored_response_of_another_shape_is_a_store_error_without_its_content() {
    let idem = idem();
    let event = json!({ "orderId": "o-1" });
    let _: String = idem
        .run_until(&event, in_30s(), || async {
            Ok::<_, std::io::Error>("alice@example.com".to_owned())
        })
        .await
        .unwrap();
    let r: Result<u32, IdempotencyError<std::io::Error>> =
        idem.run_until(&event, in_30s(), || async { Ok(1) }).await;
    let Err(err) = r else { panic!("{r:?}") };
    assert_eq!(err.error_type(), "IdempotencyPersistenceLayerError");
    assert!(!err.to_string().contains("alice"), "{err}");
}

#[test]
fn error_types_match_powertools() {
    type E = IdempotencyError<std::io::Error>;
    let cases: [(E, &str); 5] = [
        (
            E::InProgress {
                key_hash: "h".into(),
            },
            "IdempotencyAlreadyInProgressError",
        ),
        (
            E::PayloadMismatch {
                key_hash: "h".into(),
            },
            "IdempotencyValidationError",
        ),
        (E::MissingKey, "IdempotencyKeyError"),
        (
            E::Store(StoreError::new("x")),
            "IdempotencyPersistenceLayerError",
        ),
        (E::Function(std::io::Error::other("x")), "Error"),
    ];
    for (err, name) in cases {
        assert_eq!(err.error_type(), name);
    }
    fn boxed() -> Result<(), lambda_runtime::Error> {
        let e: IdempotencyError<lambda_runtime::Error> = IdempotencyError::MissingKey;
        Err(e)?
    }
    assert!(boxed().is_err());
}

#[test]
fn idempotency_is_shareable() {
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    send_sync::<Idempotency<InMemoryStore>>();
    send_sync::<Idempotency<DynamoDbStore>>();
    fn send<T: Send>(_: &T) {}
    let idem = idem();
    let event = json!({ "orderId": "o-1" });
    let fut = idem.run_until(&event, None, || async { Ok::<u8, std::io::Error>(1) });
    send(&fut);
}

#[tokio::test]
async fn the_in_memory_store_sweeps_expired_records() {
    let store = InMemoryStore::new();
    let now_ms = epoch_ms(SystemTime::now());
    for i in 0..64 {
        let record = Record {
            key: format!("k{i}"),
            status: RecordStatus::InProgress,
            expiration: now_ms / 1000 + 3600,
            in_progress_expiration: Some(now_ms + 10),
            data: None,
            validation: None,
        };
        assert_eq!(
            store.put_in_progress(&record, now_ms).await.unwrap(),
            PutOutcome::Stored
        );
    }
    assert_eq!(store.len(), 64);
    let later = Record {
        key: "fresh".into(),
        status: RecordStatus::InProgress,
        expiration: now_ms / 1000 + 3600,
        in_progress_expiration: None,
        data: None,
        validation: None,
    };
    store.put_in_progress(&later, now_ms + 1000).await.unwrap();
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn any_store_forwards_every_operation() {
    let idem = Idempotency::new(AnyStore::new(InMemoryStore::new()))
        .key_pointer("/orderId")
        .function_name("orders");
    let event = json!({ "orderId": "o-1" });
    let failed = idem
        .run_until(&event, in_30s(), || async {
            Err::<Value, _>(std::io::Error::other("declined"))
        })
        .await;
    assert!(matches!(failed, Err(IdempotencyError::Function(_))));
    // The failure deleted the record through the wrapper: the retry runs.
    let runs = AtomicUsize::new(0);
    let first = idem.run_until(&event, in_30s(), || counted(&runs)).await;
    let again = idem.run_until(&event, in_30s(), || counted(&runs)).await;
    assert_eq!(first.unwrap(), json!({ "run": 1 }));
    assert_eq!(again.unwrap(), json!({ "run": 1 }));
    let key = format!("orders#{}", key::hash(&json!("o-1")));
    let record = idem.store().get(&key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(idem.store().store_type(), "InMemoryStore");
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    send_sync::<Idempotency<AnyStore>>();
}
