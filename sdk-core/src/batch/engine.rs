//! Running a batch: each record in its CONSUMER span, its handler's panics caught, in the
//! order the source requires, and what happened written on the invocation's root span.

use std::{
    fmt,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
};

use futures_util::stream::{self, StreamExt};
use opentelemetry::{
    KeyValue,
    trace::{SpanKind, Status},
};

use super::{
    failure,
    records::{Described, RecordSpan},
};
use crate::{
    attributes as attr,
    invocation::{
        Current, Outcome,
        current::{self, CatchUnwindIn},
    },
    record::{report, span::SpanHandle},
};

/// The order records run in, and what a failure does to the records after it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Order {
    /// A standard SQS queue: every record runs, up to `limit` at a time.
    Any { limit: usize },
    /// An SQS FIFO queue: one at a time; a failure skips the later records of its message
    /// group (`whole_batch`: every later record).
    Fifo { whole_batch: bool },
    /// A Kinesis or DynamoDB stream: one at a time, until the first failure.
    Stream,
}

/// What a batch came to: the identifiers to report, in record order.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) failed: Vec<String>,
    skipped: usize,
    succeeded: usize,
}

/// A record handler as every source takes one: an async function of one record whose
/// error tells what failed. Implemented for every such `Fn`.
pub(crate) trait RecordHandler<R> {
    type Error: fmt::Display + fmt::Debug + 'static;
    type Future: Future<Output = Result<(), Self::Error>>;

    fn call(&self, record: R) -> Self::Future;
}

impl<R, H, F, E> RecordHandler<R> for H
where
    H: Fn(R) -> F,
    F: Future<Output = Result<(), E>>,
    E: fmt::Display + fmt::Debug + 'static,
{
    type Error = E;
    type Future = F;

    fn call(&self, record: R) -> F {
        self(record)
    }
}

/// Runs `records` through `handler` in `order`, `describe` telling each record's span,
/// identifier and message group.
pub(crate) async fn run<R, H: RecordHandler<R>>(
    records: Vec<R>,
    describe: fn(&R) -> Described,
    order: Order,
    handler: &H,
) -> Report {
    report::install_panic_hook();
    let parent = current::get();
    let parent = parent.as_ref();
    let total = records.len();
    let mut report = Report::default();
    match order {
        Order::Any { limit } if limit > 1 => {
            // On the caller's task, no spawn: the futures need be neither `Send` nor
            // `'static`. They complete in any order; the report lists records in theirs.
            let tasks = records.into_iter().enumerate().map(|(index, record)| {
                let described = describe(&record);
                async move {
                    let ok = run_one(parent, described.span, record, handler).await;
                    (index, described.id, ok)
                }
            });
            let mut done: Vec<_> = stream::iter(tasks).buffer_unordered(limit).collect().await;
            done.sort_unstable_by_key(|(index, _, _)| *index);
            for (_, id, ok) in done {
                report.count(ok, id);
            }
        }
        Order::Any { .. } => {
            for record in records {
                let described = describe(&record);
                let ok = run_one(parent, described.span, record, handler).await;
                report.count(ok, described.id);
            }
        }
        Order::Fifo { whole_batch } => {
            let mut failed_groups: Vec<String> = Vec::new();
            let mut stopped = false;
            for record in records {
                let described = describe(&record);
                let group = described.group.as_deref();
                let blocked =
                    stopped || group.is_some_and(|g| failed_groups.iter().any(|f| f == g));
                if blocked {
                    skip(parent, described.span, group, whole_batch);
                    report.skipped += 1;
                    report.failed.push(described.id);
                    continue;
                }
                let ok = run_one(parent, described.span, record, handler).await;
                if !ok {
                    stopped = whole_batch;
                    if let Some(group) = described.group {
                        failed_groups.push(group);
                    }
                }
                report.count(ok, described.id);
            }
        }
        Order::Stream => {
            let mut records = records.into_iter();
            while let Some(record) = records.next() {
                let described = describe(&record);
                let ok = run_one(parent, described.span, record, handler).await;
                report.count(ok, described.id);
                if !ok {
                    // Lambda checkpoints before the failed record and delivers the rest again.
                    report.skipped = records.len();
                    break;
                }
            }
        }
    }
    report.summarize(parent, total);
    report
}

impl Report {
    fn count(&mut self, ok: bool, id: String) {
        if ok {
            self.succeeded += 1;
        } else {
            self.failed.push(id);
        }
    }

    /// Writes the batch's counts on the root span; a batch of which no record succeeded
    /// fails the invocation (`error:handled`), though its response is well-formed.
    fn summarize(&self, parent: Option<&Current>, total: usize) {
        let Some(c) = parent else {
            return;
        };
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let mut state = c.inv.state();
        if state.closed {
            return;
        }
        if total > 0 && self.succeeded == 0 {
            state.raise_outcome(Outcome::ErrorHandled);
        }
        let Some(root) = state.root() else {
            return;
        };
        for kv in [
            KeyValue::new(attr::MESSAGING_BATCH_MESSAGE_COUNT, count(total)),
            KeyValue::new(attr::BATCH_FAILED_COUNT, count(self.failed.len())),
            KeyValue::new(attr::BATCH_SKIPPED_COUNT, count(self.skipped)),
        ] {
            match root.attributes.iter_mut().find(|a| a.key == kv.key) {
                Some(existing) => *existing = kv,
                None => root.attributes.push(kv),
            }
        }
        if total > 0 && self.succeeded == 0 {
            root.status = Status::error("every record of the batch failed");
        }
    }
}

impl RecordSpan {
    /// Starts the record's CONSUMER span under `parent`, with this name, these attributes
    /// and links.
    fn start(self, parent: Option<&Current>) -> SpanHandle {
        SpanHandle::start_linked(
            parent,
            self.name.into(),
            SpanKind::Consumer,
            self.attributes,
            self.links,
        )
    }
}

/// Runs one record inside its span, started under `parent`: the handler's `Err` or panic
/// (when it is called or while its future runs) fails this record only, recorded on its
/// span. Whether it succeeded.
async fn run_one<R, H: RecordHandler<R>>(
    parent: Option<&Current>,
    span: RecordSpan,
    record: R,
    handler: &H,
) -> bool {
    let span = span.start(parent);
    // Past the span cap the record still runs, inside the span that started the batch.
    let current = span.cur.clone().or_else(|| parent.cloned());
    let called = current::scoped(current.clone(), || {
        catch_unwind(AssertUnwindSafe(|| handler.call(record)))
    });
    let failure = match called {
        Err(payload) => Some(report::ErrorReport::from_panic(&*payload)),
        Ok(future) => match CatchUnwindIn::new(future, current).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(failure::guarded_report(&error)),
            Err(payload) => Some(report::ErrorReport::from_panic(&*payload)),
        },
    };
    if let Some(failure) = &failure {
        span.record_report(failure, false);
    }
    span.close();
    failure.is_none()
}

/// The span of a FIFO record reported failed without being run, with the `exception` event
/// that says why.
fn skip(parent: Option<&Current>, record: RecordSpan, group: Option<&str>, whole_batch: bool) {
    let span = record.start(parent);
    span.set_attribute(KeyValue::new(attr::BATCH_SKIPPED, true));
    let message = match (group, whole_batch) {
        (Some(group), false) => {
            format!("not run: an earlier record of message group {group} failed in this batch")
        }
        _ => "not run: an earlier record of this FIFO batch failed".to_owned(),
    };
    let report = report::ErrorReport::new(
        failure::SKIPPED_TYPE.to_owned(),
        message,
        Vec::new(),
        None,
        None,
    );
    span.record_report(&report, false);
    span.close();
}
