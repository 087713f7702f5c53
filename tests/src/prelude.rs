//! What the suites use most, in one import: `use serverless_sdk_tests::prelude::*;`.

pub use crate::{
    events, example_function,
    function::{Function, RequestId, run_function_child},
    otlp::{FlatEvent, FlatSpan, OtlpReceiver, parse_json_lines},
    proxy::{self, Source},
    recorder::Recorder,
    runtime_api::{InvokeOptions, InvokeOutcome, InvokeResult},
    trace_view::{Trace, edges, render_tree},
};
