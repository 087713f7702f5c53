//! `tag_event`: the seed's customer-id case. A sign-up endpoint tags each invocation with the
//! customer it served, plus custom JSON shown alongside
//! (`{"demoUser": "true", "freeTrialExpires": "2020-09-01"}`), so the invocations of one
//! customer can be found among millions.
//!
//! Both forms of the seed are here: the free function
//! `tag_event("customer-id", id, json!({...}))` (Python's `from serverless_sdk import
//! tag_event`), and the Lambda context's `ctx.serverless_sdk().tag_event(...)` (Python's
//! `context.serverless_sdk.tagEvent(...)`), which tags the plan.
//!
//! # Run it locally
//!
//! ```sh
//! cargo lambda watch                      # in one terminal, at the workspace root
//! cargo lambda invoke tag_event --data-file tests/fixtures/tag-event.json
//! ```
//!
//! The event is an API Gateway REST API `POST /customers` with the body
//! `{"customerId": "42", "plan": "free-trial"}`; the response body is
//! `{"customerId":"42","plan":"free-trial","welcome":true}` (status 201). A body that is not
//! that JSON gets a `400` from the SDK, no body at all a `400` from the handler.
//!
//! # Telemetry
//!
//! One root span `POST /customers` (the REST API resource is the endpoint), with:
//!
//! * `serverless.tag.customer-id = 42`
//! * `serverless.tag.customer-id.custom = {"demoUser":"true","freeTrialExpires":"2020-09-01"}`
//! * `serverless.tag.plan = free-trial`
//! * `serverless.outcome = success`, `http.response.status_code = 201`
//!
//! Values under sensitive keys (`password`, `token`, …) are masked, and a tag name outside
//! `[A-Za-z0-9_.-]` is fixed up with a `serverless.warning` event: see `try_tag_event`.
//!
//! Build it for Lambda with `cargo lambda build --release --bin tag_event`.

use lambda_http::{
    Body, Error, Request, RequestExt, RequestPayloadExt, Response, http::header::CONTENT_TYPE,
};
use serde_json::json;
use serverless_sdk_http::{ContextExt, serverless_handler, tag_event};

/// The sign-up request.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignUp {
    customer_id: String,
    plan: String,
}

#[serverless_handler]
async fn sign_up(req: Request) -> Result<Response<Body>, Error> {
    // A body that is not a `SignUp` answers 400 {"message": "Invalid JSON body: …"}.
    let Some(sign_up) = req.payload::<SignUp>()? else {
        return Ok(Response::builder()
            .status(400)
            .body(Body::from("a JSON body is required"))?);
    };

    // `from serverless_sdk import tag_event`
    tag_event(
        "customer-id",
        &sign_up.customer_id,
        json!({ "demoUser": "true", "freeTrialExpires": "2020-09-01" }),
    );
    // `context.serverless_sdk.tagEvent(...)`
    if let Some(context) = req.lambda_context_ref() {
        context
            .serverless_sdk()
            .tag_event("plan", &sign_up.plan, None);
    }

    let body = json!({
        "customerId": sign_up.customer_id,
        "plan": sign_up.plan,
        "welcome": true,
    });
    Ok(Response::builder()
        .status(201)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    serverless_sdk_http::run(lambda_http::service_fn(sign_up)).await
}
