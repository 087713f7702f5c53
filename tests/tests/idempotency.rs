//! `serverless_sdk::idempotency`: one suite of scenarios, run against `InMemoryStore` and
//! against `DynamoDbStore` on moto's DynamoDB (a table of its own per run), plus the
//! DynamoDB record layout, a store outage, and the `idempotency` span as exported.
//!
//! moto must be installed (`python3 -m pip install 'moto[server]==5.2.5'`); without it the
//! DynamoDB tests fail and say so.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{
        Arc, LazyLock, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use serverless_sdk::{
    Config, ErrorType,
    export::Exporter,
    idempotency::{
        AnyStore, DynamoDbStore, Idempotency, IdempotencyError, InMemoryStore, PutOutcome, Record,
        RecordStatus, Store,
    },
    serverless_handler,
};
use serverless_sdk_tests::moto::{ACCESS_KEY_ID, Moto, SECRET_ACCESS_KEY};
use tokio::sync::Notify;

// ---------------------------------------------------------------------------------------
// The suite, generic over the store.
// ---------------------------------------------------------------------------------------

fn in_30s() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(30))
}

/// Idempotency over the shared store, with a prefix of its own per scenario so scenarios
/// never see each other's records.
fn idem<S: Store + 'static>(store: &Arc<S>, scenario: &str) -> Idempotency<Arc<S>> {
    Idempotency::new(Arc::clone(store))
        .key_pointer("/orderId")
        .function_name(format!("suite.{scenario}"))
}

/// An order-creating function: counts its runs, answers with the run's number.
async fn create_order(runs: &AtomicUsize, event: &Value) -> Result<Value, std::io::Error> {
    let row = runs.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(json!({ "orderId": event["orderId"], "row": row }))
}

/// Runs `create_order` for `event` under `idem`, which must succeed.
async fn order<S: Store + 'static>(
    idem: &Idempotency<S>,
    runs: &AtomicUsize,
    event: &Value,
) -> Value {
    idem.run_until(event, in_30s(), || create_order(runs, event))
        .await
        .unwrap()
}

async fn suite<S: Store + 'static>(store: S) {
    let store = Arc::new(store);
    first_call_runs_second_replays(&store).await;
    concurrent_duplicates_run_once(&store).await;
    a_failure_lets_the_retry_run(&store).await;
    an_expired_in_progress_record_is_taken_over(&store).await;
    a_payload_mismatch_is_rejected(&store).await;
    an_event_without_a_key_is_rejected(&store).await;
}

async fn first_call_runs_second_replays<S: Store + 'static>(store: &Arc<S>) {
    let idem = idem(store, "replay");
    let runs = AtomicUsize::new(0);
    let event = json!({ "orderId": "o-1", "qty": 2 });
    let first = order(&idem, &runs, &event).await;
    assert_eq!(first, json!({ "orderId": "o-1", "row": 1 }));
    let second = order(&idem, &runs, &event).await;
    assert_eq!(second, first, "the second call replays the stored response");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

async fn concurrent_duplicates_run_once<S: Store + 'static>(store: &Arc<S>) {
    let idem = idem(store, "concurrent");
    let runs = Arc::new(AtomicUsize::new(0));
    let event = json!({ "orderId": "o-1" });
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (idem, runs, event) = (idem.clone(), Arc::clone(&runs), event.clone());
            tokio::spawn(async move {
                idem.run_until(&event, in_30s(), || async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    create_order(&runs, &event).await
                })
                .await
            })
        })
        .collect();
    let (mut ran_or_replayed, mut in_progress) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(response) => {
                assert_eq!(response, json!({ "orderId": "o-1", "row": 1 }));
                ran_or_replayed += 1;
            }
            Err(e @ IdempotencyError::InProgress { .. }) => {
                assert_eq!(e.error_type(), "IdempotencyAlreadyInProgressError");
                in_progress += 1;
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the function ran exactly once"
    );
    assert_eq!(ran_or_replayed + in_progress, 10);
    assert!(in_progress >= 1, "no duplicate saw the attempt in progress");
}

async fn a_failure_lets_the_retry_run<S: Store + 'static>(store: &Arc<S>) {
    let idem = idem(store, "failure");
    let runs = AtomicUsize::new(0);
    let event = json!({ "orderId": "o-1" });
    let failed = idem
        .run_until(&event, in_30s(), || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err::<Value, _>(std::io::Error::other("payment declined"))
        })
        .await;
    let Err(IdempotencyError::Function(e)) = failed else {
        panic!("{failed:?}")
    };
    assert_eq!(e.to_string(), "payment declined");
    let retried = order(&idem, &runs, &event).await;
    assert_eq!(retried, json!({ "orderId": "o-1", "row": 2 }));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

async fn an_expired_in_progress_record_is_taken_over<S: Store + 'static>(store: &Arc<S>) {
    let idem = idem(store, "takeover");
    let runs = AtomicUsize::new(0);
    let event = json!({ "orderId": "o-1" });
    // An attempt whose invocation times out in 1 s: it claims the key, then hangs, and its
    // process is killed (the future is forgotten, never dropped, so nothing cleans up).
    let deadline = SystemTime::now() + Duration::from_secs(1);
    let started = Notify::new();
    let mut dead = Box::pin(idem.run_until(&event, Some(deadline), || async {
        started.notify_one();
        std::future::pending::<()>().await;
        Ok::<Value, std::io::Error>(Value::Null)
    }));
    tokio::select! {
        _ = &mut dead => unreachable!("the dead attempt finished"),
        () = started.notified() => {}
    }
    std::mem::forget(dead);

    let blocked = idem
        .run_until(&event, in_30s(), || create_order(&runs, &event))
        .await;
    assert!(
        matches!(blocked, Err(IdempotencyError::InProgress { .. })),
        "{blocked:?}"
    );
    let past = deadline + Duration::from_millis(100);
    tokio::time::sleep(past.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let taken_over = order(&idem, &runs, &event).await;
    assert_eq!(taken_over, json!({ "orderId": "o-1", "row": 1 }));
    let replayed = order(&idem, &runs, &event).await;
    assert_eq!(replayed, taken_over);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

async fn a_payload_mismatch_is_rejected<S: Store + 'static>(store: &Arc<S>) {
    let idem = idem(store, "mismatch").validate_pointer("/amount");
    let runs = AtomicUsize::new(0);
    let paid = json!({ "orderId": "o-1", "amount": 10 });
    let first = idem
        .run_until(&paid, in_30s(), || create_order(&runs, &paid))
        .await
        .unwrap();
    let same = json!({ "amount": 10, "orderId": "o-1", "note": "resent" });
    let replayed = idem
        .run_until(&same, in_30s(), || create_order(&runs, &same))
        .await
        .unwrap();
    assert_eq!(replayed, first);
    let changed = json!({ "orderId": "o-1", "amount": 99 });
    let rejected = idem
        .run_until(&changed, in_30s(), || create_order(&runs, &changed))
        .await;
    let Err(err) = rejected else {
        panic!("a reused key with another payload replayed: {rejected:?}")
    };
    assert!(
        matches!(err, IdempotencyError::PayloadMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(err.error_type(), "IdempotencyValidationError");
    assert!(!err.to_string().contains("o-1"), "{err}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

async fn an_event_without_a_key_is_rejected<S: Store + 'static>(store: &Arc<S>) {
    let idem = idem(store, "nokey");
    let runs = AtomicUsize::new(0);
    let event = json!({ "qty": 1 });
    let r = idem
        .run_until(&event, in_30s(), || create_order(&runs, &event))
        .await;
    let Err(err) = r else { panic!("{r:?}") };
    assert_eq!(err.error_type(), "IdempotencyKeyError");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_against_the_in_memory_store() {
    suite(InMemoryStore::new()).await;
}

/// The same through `AnyStore`, the type-erased store a function picks at run time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_against_the_in_memory_store_as_any_store() {
    suite(AnyStore::new(InMemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_against_dynamodb_on_moto() {
    let moto = start_moto().await;
    let client = dynamodb_client(moto.endpoint());
    let table = create_table(&moto).await;
    suite(DynamoDbStore::new(client, table)).await;
}

// ---------------------------------------------------------------------------------------
// DynamoDB specifics.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_records_use_the_powertools_layout() {
    let moto = start_moto().await;
    let client = dynamodb_client(moto.endpoint());
    let table = create_table(&moto).await;
    // The table as documented: TTL on `expiration`.
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expiration"));
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
    let idem = Idempotency::new(DynamoDbStore::new(client.clone(), &table))
        .key_pointer("/orderId")
        .validate_pointer("/amount")
        .function_name("orders")
        .expires_after(Duration::from_secs(600));
    let mut ctx = Context::default();
    ctx.deadline = epoch_ms(SystemTime::now()) + 30_000;
    let event = json!({ "orderId": "order-SECRET-77", "amount": 10 });
    let response: Value = idem
        .run(&event, &ctx, || async {
            Ok::<_, std::io::Error>(json!({ "created": true }))
        })
        .await
        .unwrap();
    assert_eq!(response, json!({ "created": true }));

    let items = client.scan().table_name(&table).send().await.unwrap();
    let [item] = items.items() else {
        panic!("{items:?}")
    };
    let s = |name: &str| item[name].as_s().unwrap().clone();
    let n = |name: &str| item[name].as_n().unwrap().parse::<u64>().unwrap();
    let id = s("id");
    let hash = id.strip_prefix("orders#").unwrap();
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(s("status"), "COMPLETED");
    assert_eq!(s("data"), r#"{"created":true}"#);
    assert_eq!(s("validation").len(), 64);
    let now_s = epoch_ms(SystemTime::now()) / 1000;
    assert!((now_s + 590..=now_s + 600).contains(&n("expiration")));
    assert_eq!(n("in_progress_expiration"), ctx.deadline);
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "data",
            "expiration",
            "id",
            "in_progress_expiration",
            "status",
            "validation"
        ]
    );
    assert!(!format!("{item:?}").contains("SECRET"), "{item:?}");

    // A failed claim returns the record that holds the key in the same round trip
    // (`ReturnValuesOnConditionCheckFailure`), no `GetItem` needed.
    let claim = Record {
        key: id.clone(),
        status: RecordStatus::InProgress,
        expiration: now_s + 600,
        in_progress_expiration: Some(ctx.deadline),
        data: None,
        validation: None,
    };
    let outcome = idem
        .store()
        .put_in_progress(&claim, epoch_ms(SystemTime::now()))
        .await
        .unwrap();
    let PutOutcome::Exists(Some(existing)) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(existing.key, id);
    assert_eq!(existing.status, RecordStatus::Completed);
    assert_eq!(existing.data.as_deref(), Some(r#"{"created":true}"#));
    assert_eq!(idem.store().get(&id).await.unwrap(), Some(existing));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_attribute_names_are_configurable() {
    let moto = start_moto().await;
    let client = dynamodb_client(moto.endpoint());
    let table = create_table_with(&moto, "pk", "ttl").await;
    let store = DynamoDbStore::new(client.clone(), &table)
        .key_attr("pk")
        .expiry_attr("ttl")
        .in_progress_expiry_attr("lock_until")
        .status_attr("state")
        .data_attr("response")
        .validation_attr("payload_hash");
    let idem = Idempotency::new(store)
        .key_pointer("/id")
        .validate_pointer("/v");
    let runs = AtomicUsize::new(0);
    let event = json!({ "id": 1, "v": 2 });
    for _ in 0..2 {
        let r = order(&idem, &runs, &event).await;
        assert_eq!(r["row"], 1);
    }
    let items = client.scan().table_name(&table).send().await.unwrap();
    let [item] = items.items() else {
        panic!("{items:?}")
    };
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "lock_until",
            "payload_hash",
            "pk",
            "response",
            "state",
            "ttl"
        ]
    );
}

#[tokio::test]
async fn a_dynamodb_outage_fails_closed_without_running_the_function() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = dynamodb_client(&format!("http://127.0.0.1:{closed}"));
    let idem = Idempotency::new(DynamoDbStore::new(client, "idempotency")).key_pointer("/orderId");
    let runs = AtomicUsize::new(0);
    let event = json!({ "orderId": "o-1" });
    let r = idem
        .run_until(&event, in_30s(), || create_order(&runs, &event))
        .await;
    let Err(err) = r else { panic!("{r:?}") };
    assert_eq!(err.error_type(), "IdempotencyPersistenceLayerError");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "the idempotency store failed while claiming the idempotency key: DynamoDB PutItem failed:"
        ),
        "{message}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

async fn start_moto() -> Moto {
    Moto::start().await.unwrap_or_else(|e| panic!("{e}"))
}

fn epoch_ms(t: SystemTime) -> u64 {
    u64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// A DynamoDB client for moto: plain HTTP through `hyper_util`, fixed credentials, no
/// retries.
fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let credentials = aws_sdk_dynamodb::config::Credentials::new(
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        None,
        None,
        "test",
    );
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .http_client(serverless_sdk_tests::moto::aws_http_client(
            serverless_sdk_tests::moto::hyper_client(),
        ))
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

async fn create_table(moto: &Moto) -> String {
    create_table_with(moto, "id", "expiration").await
}

/// Creates an idempotency table of a unique name (the kit's, as the module docs define it)
/// with the partition key `key` and TTL on `ttl`.
async fn create_table_with(moto: &Moto, key: &str, ttl: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let table = format!(
        "idempotency-{}-{}-{}",
        std::process::id(),
        epoch_ms(SystemTime::now()),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    moto.create_idempotency_table_with(&table, key, ttl)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    table
}

// ---------------------------------------------------------------------------------------
// Telemetry: the `idempotency` span as exported, through a `#[serverless_handler]`.
// ---------------------------------------------------------------------------------------

const SECRET_ORDER_ID: &str = "order-SECRET-4242";

static OUT: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

fn output() -> Arc<Mutex<Vec<u8>>> {
    OUT.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        serverless_sdk::init(Config::from_env().with_exporter(Exporter::Writer(buf.clone())));
        buf
    })
    .clone()
}

fn take_lines() -> Vec<Value> {
    let out = output();
    let mut buf = out.lock().unwrap();
    let text = String::from_utf8(std::mem::take(&mut *buf)).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

static ORDERS: LazyLock<Idempotency<InMemoryStore>> = LazyLock::new(|| {
    Idempotency::new(InMemoryStore::new())
        .key_pointer("/orderId")
        .validate_pointer("/amount")
        .function_name("telemetry")
});

#[serverless_handler]
async fn create_order_handler(
    event: LambdaEvent<Value>,
) -> Result<Value, IdempotencyError<std::io::Error>> {
    ORDERS
        .run(&event.payload, &event.context, || async {
            let _insert = serverless_sdk::span("db.insert");
            Ok(json!({ "created": true }))
        })
        .await
}

fn spans(line: &Value) -> Vec<Value> {
    line["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap()
        .clone()
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"]["stringValue"])
}

#[tokio::test]
async fn each_use_is_an_idempotency_span_with_its_outcome_and_key_hash() {
    output();
    let _ = take_lines();
    let mut ctx = Context::default();
    ctx.deadline = epoch_ms(SystemTime::now()) + 30_000;
    let call = |amount: u32| {
        create_order_handler(LambdaEvent::new(
            json!({ "orderId": SECRET_ORDER_ID, "amount": amount }),
            ctx.clone(),
        ))
    };
    assert_eq!(call(10).await.unwrap(), json!({ "created": true }));
    assert_eq!(call(10).await.unwrap(), json!({ "created": true }));
    let mismatch = call(99).await.unwrap_err();
    assert_eq!(mismatch.error_type, "IdempotencyValidationError");

    let lines = take_lines();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let mut hashes = Vec::new();
    for (line, outcome) in lines.iter().zip(["run", "replayed", "payload_mismatch"]) {
        let text = line.to_string();
        assert!(
            !text.contains(SECRET_ORDER_ID),
            "the raw key leaked: {text}"
        );
        let spans = spans(line);
        let root = &spans[0];
        let idem = spans
            .iter()
            .find(|s| s["name"] == "idempotency")
            .unwrap_or_else(|| panic!("no idempotency span: {spans:#?}"));
        assert_eq!(idem["parentSpanId"], root["spanId"]);
        assert_eq!(attr(idem, "idempotency.outcome").unwrap(), outcome);
        let hash = attr(idem, "idempotency.key_hash")
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(hash.len(), 64);
        hashes.push(hash.to_owned());
        let insert = spans.iter().find(|s| s["name"] == "db.insert");
        if outcome == "run" {
            // The function runs inside the span.
            assert_eq!(insert.unwrap()["parentSpanId"], idem["spanId"]);
        } else {
            assert!(insert.is_none(), "the function ran again");
        }
        if outcome == "payload_mismatch" {
            assert_eq!(idem["status"]["code"], 2);
            let exception = &idem["events"][0];
            assert_eq!(exception["name"], "exception");
            let ty = exception["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "exception.type")
                .unwrap();
            assert_eq!(ty["value"]["stringValue"], "IdempotencyValidationError");
        }
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
}
