//! Faults injected into the exporter never change the handler's result: a write error, a
//! panic while writing (which also poisons the exporter's lock), and export resumes
//! afterwards.

#![allow(clippy::unwrap_used)] // Tests unwrap: a failure is the test failing.

use std::{
    io::{self, Write},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering},
    },
};

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use serverless_sdk::{Config, export, export::Exporter, serverless_handler};
use serverless_sdk_tests::events::lambda_event as event;
use serverless_sdk_tests::recorder::Recorder;

const OK: u8 = 0;
const IO_ERROR: u8 = 1;
const PANIC: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(OK);

/// Writes into a [`Recorder`], or fails as `MODE` says.
struct FaultyWriter(Recorder);

impl Write for FaultyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match MODE.load(Ordering::SeqCst) {
            IO_ERROR => Err(io::Error::other("disk full")),
            PANIC => panic!("the exporter's writer panicked"),
            _ => self.0.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What reached the exporter's writer of this process.
fn written() -> Recorder {
    Recorder::global(|recorder| {
        let writer = FaultyWriter(recorder.clone());
        serverless_sdk::init(
            Config::from_env().with_exporter(Exporter::Writer(Arc::new(Mutex::new(writer)))),
        );
    })
}

#[serverless_handler]
async fn handler(event: LambdaEvent<Value>) -> Result<Value, std::io::Error> {
    if event.payload["fail"] == true {
        return Err(std::io::Error::other("handler failed"));
    }
    Ok(json!({ "echo": event.payload["n"] }))
}

#[tokio::test]
async fn exporter_faults_never_reach_the_handler() {
    let out = written();
    for mode in [IO_ERROR, PANIC, IO_ERROR] {
        MODE.store(mode, Ordering::SeqCst);
        let (_, failures_before) = export::stats();
        let ok = handler(event(json!({ "n": mode }))).await.unwrap();
        assert_eq!(ok, json!({ "echo": mode }));
        let err = handler(event(json!({ "fail": true }))).await.unwrap_err();
        assert_eq!(err.error_type, "Error");
        assert_eq!(err.error_message, "handler failed");
        if mode == IO_ERROR {
            assert_eq!(export::stats().1, failures_before + 2);
        }
    }
    assert!(out.is_empty());
    // The writer's lock was poisoned by the panic; export resumes anyway.
    MODE.store(OK, Ordering::SeqCst);
    handler(event(json!({ "n": 9 }))).await.unwrap();
    // One line, an OTLP/JSON export.
    assert_eq!(out.take_exports().len(), 1);
}
