//! The engine inside an invocation, its spans and root attributes read off the records.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry::{
    Value,
    trace::{SpanKind, Status},
};

use super::{
    engine::{self, Order, Report},
    records::{Described, RecordSpan},
};
use crate::{
    attributes as attr,
    config::Settings,
    invocation::{Invocation, Opening, Outcome, SpanRecord, current::WithCurrent},
};

fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(Settings::default)
}

/// A record of the tests: its id, its message group, and what its handler does.
#[derive(Clone, Copy, Debug)]
struct Rec {
    id: &'static str,
    group: Option<&'static str>,
    does: Does,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Does {
    Succeed,
    Fail,
    Panic,
    PanicWhenCalled,
    Wait(u64),
}

fn rec(id: &'static str, does: Does) -> Rec {
    Rec {
        id,
        group: None,
        does,
    }
}

fn in_group(group: &'static str, id: &'static str, does: Does) -> Rec {
    Rec {
        id,
        group: Some(group),
        does,
    }
}

fn describe(record: &Rec) -> Described {
    Described {
        span: RecordSpan {
            name: format!("process {}", record.id),
            attributes: vec![opentelemetry::KeyValue::new(
                attr::MESSAGING_MESSAGE_ID,
                record.id,
            )],
            links: Vec::new(),
        },
        id: record.id.to_owned(),
        group: record.group.map(str::to_owned),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("record {0} is broken")]
struct Broken(&'static str);

/// Runs `records` in `order` inside a fresh invocation; the report and the invocation.
fn run(records: Vec<Rec>, order: Order) -> (Report, Arc<Invocation>) {
    let (report, inv, _) = run_counting(records, order);
    (report, inv)
}

/// [`run`], and the most records that ran at once.
fn run_counting(records: Vec<Rec>, order: Order) -> (Report, Arc<Invocation>, usize) {
    crate::record::report::install_panic_hook();
    let inv = Invocation::open(Opening::detached(), settings());
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let handler = |record: Rec| {
        if record.does == Does::PanicWhenCalled {
            panic!("{} panicked before its future", record.id);
        }
        let (running, most) = (Arc::clone(&running), Arc::clone(&most));
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            let result = match record.does {
                Does::Succeed | Does::PanicWhenCalled => Ok(()),
                Does::Fail => Err(Broken(record.id)),
                Does::Panic => panic!("{} panicked", record.id),
                Does::Wait(ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok(())
                }
            };
            running.fetch_sub(1, Ordering::SeqCst);
            result
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let report = runtime.block_on(WithCurrent::new(
        engine::run(records, describe, order, &handler),
        Some(inv.root()),
    ));
    let most = most.load(Ordering::SeqCst);
    (report, inv, most)
}

fn record_spans(inv: &Invocation) -> Vec<(String, bool, usize)> {
    let state = inv.state();
    state
        .spans
        .iter()
        .skip(1)
        .map(|s: &SpanRecord| {
            assert_eq!(s.kind, SpanKind::Consumer);
            assert_eq!(s.parent, Some(0));
            assert!(s.end.is_some(), "{} ended", s.name);
            let exceptions = s.events.iter().filter(|e| e.name == "exception").count();
            (
                s.name.to_string(),
                matches!(s.status, Status::Error { .. }),
                exceptions,
            )
        })
        .collect()
}

fn root_int(inv: &Invocation, key: &str) -> Option<i64> {
    let state = inv.state();
    state.spans[0]
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .and_then(|kv| match kv.value {
            Value::I64(n) => Some(n),
            _ => None,
        })
}

fn outcome(inv: &Invocation) -> Option<Outcome> {
    inv.state().outcome
}

#[test]
fn a_failed_or_panicking_record_fails_alone() {
    let (report, inv) = run(
        vec![
            rec("m1", Does::Succeed),
            rec("m2", Does::Fail),
            rec("m3", Does::Panic),
            rec("m4", Does::PanicWhenCalled),
            rec("m5", Does::Succeed),
        ],
        Order::Any { limit: 1 },
    );
    assert_eq!(report.failed, ["m2", "m3", "m4"]);
    assert_eq!(
        record_spans(&inv),
        [
            ("process m1".to_owned(), false, 0),
            ("process m2".to_owned(), true, 1),
            ("process m3".to_owned(), true, 1),
            ("process m4".to_owned(), true, 1),
            ("process m5".to_owned(), false, 0),
        ]
    );
    {
        let state = inv.state();
        let exception = &state.spans[2].events[0];
        let get = |key: &str| attr::text_of(&exception.attributes, key);
        assert_eq!(get(attr::EXCEPTION_TYPE).as_deref(), Some("Broken"));
        assert_eq!(
            get(attr::EXCEPTION_MESSAGE).as_deref(),
            Some("record m2 is broken")
        );
        let panic = &state.spans[3].events[0];
        assert!(
            panic
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == attr::EXCEPTION_TYPE && kv.value.as_str() == "Panic")
        );
    }
    assert_eq!(root_int(&inv, attr::MESSAGING_BATCH_MESSAGE_COUNT), Some(5));
    assert_eq!(root_int(&inv, attr::BATCH_FAILED_COUNT), Some(3));
    assert_eq!(root_int(&inv, attr::BATCH_SKIPPED_COUNT), Some(0));
    assert_eq!(
        outcome(&inv),
        None,
        "a partial failure is no failed invocation"
    );
}

#[test]
fn a_batch_of_which_nothing_succeeded_fails_the_invocation() {
    let (report, inv) = run(
        vec![rec("m1", Does::Fail), rec("m2", Does::Panic)],
        Order::Any { limit: 1 },
    );
    assert_eq!(report.failed, ["m1", "m2"]);
    assert_eq!(outcome(&inv), Some(Outcome::ErrorHandled));
    assert!(matches!(inv.state().spans[0].status, Status::Error { .. }));
    let (report, inv) = run(Vec::new(), Order::Any { limit: 1 });
    assert!(report.failed.is_empty());
    assert_eq!(outcome(&inv), None, "an empty batch did not fail");
}

#[test]
fn standard_queues_run_records_concurrently_within_the_limit() {
    let records: Vec<Rec> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .enumerate()
        .map(|(i, id)| match i {
            2 | 5 => rec(id, Does::Fail),
            _ => rec(id, Does::Wait(20 - 2 * i as u64)),
        })
        .collect();
    let (report, inv, most) = run_counting(records, Order::Any { limit: 3 });
    assert_eq!(report.failed, ["c", "f"], "in record order");
    assert_eq!(most, 3);
    assert_eq!(record_spans(&inv).len(), 7);
    assert_eq!(root_int(&inv, attr::BATCH_FAILED_COUNT), Some(2));
}

#[test]
fn fifo_failures_skip_the_rest_of_their_group_in_order() {
    let batch = || {
        vec![
            in_group("a", "a1", Does::Succeed),
            in_group("a", "a2", Does::Fail),
            in_group("b", "b1", Does::Succeed),
            in_group("a", "a3", Does::Succeed),
            in_group("b", "b2", Does::Panic),
            in_group("b", "b3", Does::Succeed),
            in_group("c", "c1", Does::Succeed),
        ]
    };
    let (report, inv) = run(batch(), Order::Fifo { whole_batch: false });
    assert_eq!(report.failed, ["a2", "a3", "b2", "b3"]);
    let spans = record_spans(&inv);
    assert_eq!(spans.len(), 7, "skipped records get a span too");
    assert!(
        spans
            .iter()
            .all(|(_, failed, exceptions)| *exceptions == usize::from(*failed))
    );
    assert_eq!(root_int(&inv, attr::BATCH_SKIPPED_COUNT), Some(2));
    assert_eq!(root_int(&inv, attr::BATCH_FAILED_COUNT), Some(4));

    let (report, inv) = run(batch(), Order::Fifo { whole_batch: true });
    assert_eq!(report.failed, ["a2", "b1", "a3", "b2", "b3", "c1"]);
    assert_eq!(root_int(&inv, attr::BATCH_SKIPPED_COUNT), Some(5));
    let state = inv.state();
    let skipped = &state.spans[3];
    assert!(
        skipped
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == attr::BATCH_SKIPPED)
    );
}

#[test]
fn streams_stop_at_the_first_failure() {
    let (report, inv) = run(
        vec![
            rec("100", Does::Succeed),
            rec("200", Does::Panic),
            rec("300", Does::Succeed),
            rec("400", Does::Fail),
        ],
        Order::Stream,
    );
    assert_eq!(report.failed, ["200"]);
    assert_eq!(
        record_spans(&inv),
        [
            ("process 100".to_owned(), false, 0),
            ("process 200".to_owned(), true, 1),
        ]
    );
    assert_eq!(root_int(&inv, attr::BATCH_SKIPPED_COUNT), Some(2));
    assert_eq!(outcome(&inv), None);
    let (report, inv) = run(
        vec![rec("1", Does::Fail), rec("2", Does::Succeed)],
        Order::Stream,
    );
    assert_eq!(report.failed, ["1"]);
    assert_eq!(outcome(&inv), Some(Outcome::ErrorHandled));
}

#[test]
fn outside_an_invocation_records_still_run() {
    let handler = |record: Rec| async move {
        match record.does {
            Does::Fail => Err(Broken(record.id)),
            _ => Ok(()),
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let report = runtime.block_on(engine::run(
        vec![rec("x", Does::Fail), rec("y", Does::Succeed)],
        describe,
        Order::Any { limit: 2 },
        &handler,
    ));
    assert_eq!(report.failed, ["x"]);
}

/// The processors' futures are `Send` when the record handler's are, so handlers served by
/// `run_concurrent` (which needs `Send`) can use them.
#[test]
fn the_processors_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    async fn save(_: super::SqsMessage) -> Result<(), std::io::Error> {
        Ok(())
    }
    let fut = super::SqsProcessor::new()
        .concurrency(4)
        .process(super::SqsEvent::default(), save);
    assert_send(&fut);
    async fn index(_: super::KinesisEventRecord) -> Result<(), String> {
        Ok(())
    }
    assert_send(&super::process_kinesis(
        super::KinesisEvent::default(),
        index,
    ));
}
