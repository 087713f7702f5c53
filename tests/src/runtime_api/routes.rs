//! The HTTP side of [`RuntimeApi`](super::RuntimeApi).

use super::{
    Answer, ErrorReport, InvokeResult, MAX_PAYLOAD_BYTES, Phase, QueuedEvent, Shared, State,
    generate_request_id,
};
use crate::lock;
use crate::server::{HttpResponse, json_response, response, text_response};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;
use std::{
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

const PREFIX: &str = "/2018-06-01/runtime/";
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";
const INVOCATION_ID_HEADER: &str = "lambda-runtime-invocation-id";
const RESPONSE_MODE_HEADER: &str = "lambda-runtime-function-response-mode";
const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Response,
    Error,
}

/// Routes one request.
pub(super) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> HttpResponse {
    let path = request.uri().path().to_owned();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return not_found();
    };
    let segments: Vec<&str> = route.split('/').collect();
    let method = request.method().clone();
    match (segments.as_slice(), method) {
        (["invocation", "next"], Method::GET) => next(&shared).await,
        (["invocation", id, "response"], Method::POST) if !id.is_empty() => {
            complete(&shared, id, request, Kind::Response).await
        }
        (["invocation", id, "error"], Method::POST) if !id.is_empty() => {
            complete(&shared, id, request, Kind::Error).await
        }
        (["init", "error"], Method::POST) => init_error(&shared, request).await,
        (
            ["invocation", "next"] | ["invocation", _, "response" | "error"] | ["init", "error"],
            _,
        ) => text_response(StatusCode::METHOD_NOT_ALLOWED, ""),
        _ => not_found(),
    }
}

/// `GET /runtime/invocation/next`: waits for an event, in turn with other waiting polls.
async fn next(shared: &Shared) -> HttpResponse {
    let _poll = PollGuard::enter(shared);
    let mut queue = shared.queue_rx.lock().await;
    while let Some(event) = queue.recv().await {
        if let Some(response) = deliver(shared, event) {
            return response;
        }
    }
    // `shared` owns the sender too, so the queue never closes while we run.
    internal_error()
}

/// Hands `event` out, unless its invocation was abandoned meanwhile.
fn deliver(shared: &Shared, event: QueuedEvent) -> Option<HttpResponse> {
    let invocation_id = generate_request_id();
    {
        let mut state = lock(&shared.state);
        let State { slots, stats, .. } = &mut *state;
        let slot = slots
            .get_mut(&event.request_id)
            .filter(|slot| slot.generation == event.generation && slot.phase == Phase::Queued)?;
        // A closed channel means the `invoke` future was dropped: nobody wants the answer.
        if slot.delivered.take()?.send(()).is_err() {
            slot.phase = Phase::Expired;
            return None;
        }
        slot.phase = Phase::Running {
            delivered_at: Instant::now(),
        };
        slot.invocation_id = Some(invocation_id.clone());
        stats.events_delivered += 1;
    }

    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(event.timeout)
        .as_millis();
    let deadline = u64::try_from(deadline).unwrap_or(u64::MAX);
    let mut response = response(StatusCode::OK, "application/json", event.payload);
    let headers = response.headers_mut();
    headers.extend(event.headers);
    headers.insert(DEADLINE_HEADER, HeaderValue::from(deadline));
    if let Ok(invocation_id) = HeaderValue::from_str(&invocation_id) {
        headers.insert(INVOCATION_ID_HEADER, invocation_id);
    }
    Some(response)
}

/// `POST /runtime/invocation/{id}/response` and `…/error`.
async fn complete(
    shared: &Shared,
    request_id: &str,
    request: Request<Incoming>,
    kind: Kind,
) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|collected| collected.to_bytes()) else {
        return text_response(StatusCode::BAD_REQUEST, "truncated request body");
    };
    let headers = parts.headers;
    let streaming = headers
        .get(RESPONSE_MODE_HEADER)
        .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"streaming"));
    let too_large = kind == Kind::Response && !streaming && body.len() > MAX_PAYLOAD_BYTES;
    let result = match kind {
        Kind::Response if too_large => InvokeResult::Error(ErrorReport {
            error_type: "Function.ResponseSizeTooLarge".to_owned(),
            error_message: format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
                body.len()
            ),
            header_error_type: None,
            stack_trace: None,
            raw: Bytes::new(),
        }),
        Kind::Response => InvokeResult::Response(body),
        Kind::Error => {
            InvokeResult::Error(ErrorReport::parse(headers.get(ERROR_TYPE_HEADER), body))
        }
    };

    let mut state = lock(&shared.state);
    let State { slots, stats, .. } = &mut *state;
    let Some(slot) = slots.get_mut(request_id) else {
        stats.unknown_responses += 1;
        return invalid_request_id();
    };
    let delivered_at = match slot.phase {
        Phase::Running { delivered_at } => delivered_at,
        // Not handed out yet: the function cannot know this id.
        Phase::Queued => {
            stats.unknown_responses += 1;
            return invalid_request_id();
        }
        Phase::Answered => {
            stats.duplicate_responses += 1;
            return invalid_request_id();
        }
        Phase::Expired => {
            stats.late_responses += 1;
            return gone("the invocation has timed out");
        }
    };
    if let Some(echo) = headers.get(INVOCATION_ID_HEADER)
        && slot.invocation_id.as_deref().map(str::as_bytes) != Some(echo.as_bytes())
    {
        stats.invocation_id_mismatches += 1;
        return gone("Lambda-Runtime-Invocation-Id does not match the invocation");
    }

    slot.phase = Phase::Answered;
    match kind {
        Kind::Response => stats.responses += 1,
        Kind::Error => stats.errors += 1,
    }
    if let Some(answer) = slot.answer.take() {
        // The invoker may have stopped waiting; the answer is then simply dropped.
        let _ = answer.send(Answer {
            result,
            latency: delivered_at.elapsed(),
            streaming,
            request_headers: headers,
        });
    }
    if too_large {
        json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({
                "errorMessage": format!("Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."),
                "errorType": "RequestEntityTooLarge",
            }),
        )
    } else {
        accepted()
    }
}

/// `POST /runtime/init/error`.
async fn init_error(shared: &Shared, request: Request<Incoming>) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|collected| collected.to_bytes()) else {
        return text_response(StatusCode::BAD_REQUEST, "truncated request body");
    };
    let report = ErrorReport::parse(parts.headers.get(ERROR_TYPE_HEADER), body);
    lock(&shared.state).stats.init_errors += 1;
    shared
        .init_errors
        .send_modify(|reports| reports.push(report));
    accepted()
}

/// Counts a `/next` poll while it waits.
struct PollGuard<'a> {
    shared: &'a Shared,
}

impl<'a> PollGuard<'a> {
    fn enter(shared: &'a Shared) -> PollGuard<'a> {
        let mut state = lock(&shared.state);
        state.stats.next_polls += 1;
        state.stats.polls_waiting += 1;
        PollGuard { shared }
    }
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.stats.polls_waiting = state.stats.polls_waiting.saturating_sub(1);
    }
}

fn accepted() -> HttpResponse {
    json_response(StatusCode::ACCEPTED, &json!({ "status": "OK" }))
}

fn invalid_request_id() -> HttpResponse {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "errorMessage": "Invalid request ID", "errorType": "InvalidRequestID" }),
    )
}

fn gone(message: &str) -> HttpResponse {
    json_response(
        StatusCode::GONE,
        &json!({ "errorMessage": message, "errorType": "InvalidRequestID" }),
    )
}

fn internal_error() -> HttpResponse {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({ "errorMessage": "Internal Server Error", "errorType": "InternalServerError" }),
    )
}

fn not_found() -> HttpResponse {
    text_response(StatusCode::NOT_FOUND, "404 page not found\n")
}
