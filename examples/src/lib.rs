//! Runnable examples of `serverless_sdk`. Each binary under `src/bin/` but `quickstart` is an
//! ordinary Lambda function, one per feature of the seed SDK (`cargo lambda build` builds it
//! as it is; its module documentation says how to run it locally and what telemetry to
//! expect):
//!
//! | binary | shows |
//! |---|---|
//! | `capture_exception` | `capture_exception(&exc)` and `ctx.serverless_sdk().capture_exception(&exc)` in a handler that still answers its own `500` |
//! | `spans` | `span` guards, `#[span]` on sync and async fns, `span(..).instrument(fut)`, `.in_current_span()` across `tokio::spawn` |
//! | `tag_event` | `tag_event` with custom JSON, free function and through the context |
//! | `router` | `#[route(GET, "/users/{id}")]` on a hand-written router, `set_endpoint` |
//! | `axum_router` | an axum `Router` with `EndpointLayer`, served by `serverless_sdk_http::run` |
//! | `throw_error` | `400` responses: `req.payload()` parse errors, an `HttpError` type, a hand-built one |
//! | `create_account` | an `Err` whose Lambda `errorType` is `AccountAlreadyExistsException`, for Step Functions |
//! | `sqs_consumer` | a span per SQS record, partial batch failures, `run_with_init` configuration |
//!
//! `quickstart` runs instrumented handlers locally against the test kit's Runtime API and
//! prints their traces. `tests/<example>.rs` runs each example binary the same way and
//! checks its responses and telemetry.
