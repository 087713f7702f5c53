//! End-to-end tests of the examples: each example binary runs as its own process, as on
//! Lambda, against the test kit's local Runtime API, with real AWS sample events (and the
//! event files its documentation points to). The tests check the exact responses and the
//! telemetry each binary prints on stdout (one OTLP/JSON line per invocation): span names
//! and parentage, endpoints, tags, `exception` events and outcomes.
//!
//! Set `SERVERLESS_SDK_TESTS_ECHO=1` to see the functions' output while a test runs.

use std::{path::Path, process::Stdio, time::Duration};

use serde_json::{Value, json};
use serverless_sdk_tests::{
    events,
    otlp::{FlatSpan, parse_json_lines},
    runtime_api::{FunctionProcess, InvokeOutcome, RuntimeApi},
    trace_view::render_tree,
};

/// How long a wait for a response or telemetry may take.
const WAIT: Duration = Duration::from_secs(20);

/* ------------------------------------- harness ------------------------------------- */

/// An example binary running as the Lambda function `name` against its own Runtime API.
struct Function {
    api: RuntimeApi,
    process: FunctionProcess,
}

impl Function {
    /// Starts the binary `exe` as the function `name`, with `env` on top of the Lambda
    /// environment.
    async fn start(exe: &str, name: &str, env: &[(&str, &str)]) -> Function {
        let api = RuntimeApi::start().await.expect("a local Runtime API");
        let mut command = api.function_command(Path::new(exe), name);
        command.envs(env.iter().copied());
        let process = FunctionProcess::spawn(command).expect("the example starts");
        Function { api, process }
    }

    /// Invokes the function with `event`.
    async fn invoke(&self, event: &Value) -> InvokeOutcome {
        self.api.invoke(event.to_string()).await
    }

    /// The JSON response of `outcome`, which must be one.
    fn response(&self, outcome: &InvokeOutcome) -> Value {
        outcome.json().unwrap_or_else(|| {
            panic!(
                "{} did not answer with JSON: {:?}\nstderr:\n{}",
                outcome.request_id,
                outcome.result,
                self.process.stderr_text()
            )
        })
    }

    /// The proxy response of `outcome`, with a JSON body parsed (so that the comparison does
    /// not depend on the order of keys); see [`proxy_response`].
    fn proxy(&self, outcome: &InvokeOutcome) -> Value {
        parse_body(self.response(outcome))
    }

    /// Waits until stdout holds the telemetry of every invocation in `outcomes`; returns
    /// every span printed so far.
    async fn spans(&self, outcomes: &[&InvokeOutcome]) -> Vec<FlatSpan> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let spans = parse_json_lines(&self.process.stdout_text());
            let missing: Vec<&str> = outcomes
                .iter()
                .map(|outcome| outcome.request_id.as_str())
                .filter(|id| {
                    !spans
                        .iter()
                        .any(|span| span.attr_str("faas.invocation_id") == Some(id))
                })
                .collect();
            if missing.is_empty() {
                return spans;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no telemetry for {missing:?}\nstdout:\n{}\nstderr:\n{}",
                self.process.stdout_text(),
                self.process.stderr_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The trace of `outcome`.
    async fn trace(&self, outcome: &InvokeOutcome) -> Trace {
        Trace::of(&self.spans(&[outcome]).await, &outcome.request_id)
    }

    async fn stop(self) {
        self.process.kill().await.expect("the example stops");
    }
}

/// One invocation's spans.
#[derive(Debug)]
struct Trace {
    root: FlatSpan,
    spans: Vec<FlatSpan>,
}

impl Trace {
    /// The trace whose root span carries `request_id`.
    fn of(spans: &[FlatSpan], request_id: &str) -> Trace {
        let roots: Vec<&FlatSpan> = spans
            .iter()
            .filter(|span| span.attr_str("faas.invocation_id") == Some(request_id))
            .collect();
        assert_eq!(
            roots.len(),
            1,
            "one root span for {request_id}:\n{}",
            render_tree(spans, false)
        );
        let root = roots[0].clone();
        let spans = spans
            .iter()
            .filter(|span| span.trace_id == root.trace_id)
            .cloned()
            .collect();
        Trace { root, spans }
    }

    /// The spans named `name`.
    fn all_named(&self, name: &str) -> Vec<&FlatSpan> {
        self.spans.iter().filter(|span| span.name == name).collect()
    }

    /// The one span named `name`.
    fn named(&self, name: &str) -> &FlatSpan {
        let found = self.all_named(name);
        assert_eq!(found.len(), 1, "one span {name:?} in\n{}", self.render());
        found[0]
    }

    /// The name of the parent of `span`, within this trace.
    fn parent_name(&self, span: &FlatSpan) -> Option<&str> {
        self.spans
            .iter()
            .find(|parent| parent.span_id == span.parent_span_id)
            .map(|parent| parent.name.as_str())
    }

    /// Every `(child, parent)` pair below the root, sorted.
    fn edges(&self) -> Vec<(String, String)> {
        let mut edges: Vec<(String, String)> = self
            .spans
            .iter()
            .filter(|span| span.span_id != self.root.span_id)
            .map(|span| {
                (
                    span.name.clone(),
                    self.parent_name(span).unwrap_or("?").to_owned(),
                )
            })
            .collect();
        edges.sort();
        edges
    }

    /// Asserts that `child` is a direct child of `parent` and lies within it in time.
    fn assert_child_of(&self, child: &FlatSpan, parent: &FlatSpan) {
        assert_eq!(
            child.parent_span_id,
            parent.span_id,
            "{} under {}:\n{}",
            child.name,
            parent.name,
            self.render()
        );
        assert!(
            parent.start_unix_nano <= child.start_unix_nano
                && child.end_unix_nano <= parent.end_unix_nano,
            "{} within {}:\n{}",
            child.name,
            parent.name,
            self.render()
        );
    }

    fn render(&self) -> String {
        render_tree(&self.spans, false)
    }
}

/// The names of a span's events.
fn event_names(span: &FlatSpan) -> Vec<&str> {
    span.events
        .iter()
        .map(|event| event.name.as_str())
        .collect()
}

/// `(child, parent)` pairs, for comparing with [`Trace::edges`].
fn edges(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut edges: Vec<(String, String)> = pairs
        .iter()
        .map(|(child, parent)| ((*child).to_owned(), (*parent).to_owned()))
        .collect();
    edges.sort();
    edges
}

/// API Gateway payload formats: REST API (v1) and HTTP API (v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Rest,
    Http,
}

/// A proxy response with its body parsed, if it is JSON.
fn parse_body(mut response: Value) -> Value {
    if let Some(parsed) = response["body"]
        .as_str()
        .and_then(|body| serde_json::from_str::<Value>(body).ok())
    {
        response["body"] = parsed;
    }
    response
}

/// The proxy response `lambda_http` sends for each payload format, with a JSON body parsed
/// as [`Function::proxy`] does.
fn proxy_response(api: Api, status: u16, headers: &[(&str, &str)], body: &str) -> Value {
    parse_body(raw_proxy_response(api, status, headers, body))
}

/// The proxy response `lambda_http` sends for each payload format, as it sends it.
fn raw_proxy_response(api: Api, status: u16, headers: &[(&str, &str)], body: &str) -> Value {
    let single: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let multi: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!([value])))
        .collect();
    match api {
        Api::Rest => json!({
            "statusCode": status,
            "headers": {},
            "multiValueHeaders": multi,
            "body": body,
            "isBase64Encoded": false,
        }),
        Api::Http => json!({
            "statusCode": status,
            "headers": single,
            "multiValueHeaders": {},
            "body": body,
            "isBase64Encoded": false,
            "cookies": [],
        }),
    }
}

/// The path the client called `path` with: a REST API's starts with the stage
/// (`testStage` in the sample); the HTTP API sample's `$default` stage adds nothing.
fn url_path(api: Api, path: &str) -> String {
    match api {
        Api::Rest => format!("/testStage{path}"),
        Api::Http => path.to_owned(),
    }
}

/// The SDK's JSON body for a client error or a 500.
fn sdk_error_body(message: &str, outcome: &InvokeOutcome) -> String {
    json!({ "message": message, "requestId": outcome.request_id }).to_string()
}

/// An event file of `examples/events/`, as the examples' documentation uses them.
fn event_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Asserts what every HTTP root span carries, and its endpoint (`None`: no endpoint, the
/// root keeps the function's name).
fn assert_http_root(
    trace: &Trace,
    function: &str,
    method: &str,
    route: Option<&str>,
    url_path: &str,
    status: i64,
) {
    let root = &trace.root;
    assert_eq!(root.kind_name(), "server");
    assert_eq!(root.attr_str("faas.trigger"), Some("http"));
    assert_eq!(root.attr_str("http.request.method"), Some(method));
    assert_eq!(root.attr_str("url.path"), Some(url_path));
    assert_eq!(root.attr_i64("http.response.status_code"), Some(status));
    match route {
        Some(route) => {
            assert_eq!(root.name, format!("{method} {route}"), "{}", trace.render());
            assert_eq!(root.attr_str("http.route"), Some(route));
            assert_eq!(root.attr_str("serverless.endpoint"), Some(route));
        }
        None => {
            assert_eq!(root.name, function, "{}", trace.render());
            assert_eq!(root.attr("http.route"), None);
            assert_eq!(root.attr("serverless.endpoint"), None);
        }
    }
}

/* ---------------------------------- capture_exception -------------------------------- */

#[tokio::test]
async fn capture_exception_records_the_error_and_answers_500() {
    let function = Function::start(
        env!("CARGO_BIN_EXE_capture_exception"),
        "capture_exception",
        &[],
    )
    .await;
    let free_fn = function
        .invoke(&events::apigw_v2("GET", "/hello", "GET /hello", None))
        .await;
    let via_context = function
        .invoke(&events::apigw_v2(
            "GET",
            "/hello?via=context",
            "GET /hello",
            None,
        ))
        .await;
    let rest_api = function
        .invoke(&events::apigw_v1("GET", "/hello", "/hello", None))
        .await;
    let documented = function.invoke(&event_file("capture-exception.json")).await;
    let documented_via_context = function
        .invoke(&event_file("capture-exception-via-context.json"))
        .await;

    let seed_answer = |api| {
        raw_proxy_response(
            api,
            500,
            &[("content-type", "application/json")],
            r#"{"name": "bob"}"#,
        )
    };
    for outcome in [&free_fn, &via_context, &documented, &documented_via_context] {
        assert_eq!(function.response(outcome), seed_answer(Api::Http));
    }
    assert_eq!(function.response(&rest_api), seed_answer(Api::Rest));

    let spans = function
        .spans(&[
            &free_fn,
            &via_context,
            &rest_api,
            &documented,
            &documented_via_context,
        ])
        .await;
    for (outcome, api) in [
        (&free_fn, Api::Http),
        (&via_context, Api::Http),
        (&rest_api, Api::Rest),
        (&documented, Api::Http),
        (&documented_via_context, Api::Http),
    ] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_eq!(trace.spans.len(), 1, "{}", trace.render());
        assert_http_root(
            &trace,
            "capture_exception",
            "GET",
            Some("/hello"),
            &url_path(api, "/hello"),
            500,
        );
        let root = &trace.root;
        assert_eq!(root.attr_str("serverless.outcome"), Some("error:handled"));
        assert!(root.is_error(), "{}", trace.render());
        assert_eq!(event_names(root), ["exception"], "{}", trace.render());
        let exception = &root.events[0];
        assert_eq!(exception.attr_str("exception.type"), Some("RealStuffError"));
        assert_eq!(exception.attr_str("exception.message"), Some("aa"));
        assert_eq!(
            exception
                .attr("exception.handled")
                .and_then(|v| v.as_bool()),
            Some(true)
        );
        assert!(
            exception
                .attr_str("code.file.path")
                .is_some_and(|file| file.ends_with("capture_exception.rs")),
            "{exception:?}"
        );
    }
    function.stop().await;
}

/* ---------------------------------------- spans -------------------------------------- */

#[tokio::test]
async fn spans_nest_across_guards_macros_futures_and_spawned_tasks() {
    let function = Function::start(env!("CARGO_BIN_EXE_spans"), "spans", &[]).await;
    let scheduled = function.invoke(&events::eventbridge_schedule()).await;
    let documented = function
        .invoke(&event_file("eventbridge-schedule.json"))
        .await;

    for outcome in [&scheduled, &documented] {
        assert_eq!(
            function.response(outcome),
            json!({
                "reportDate": "2015-10-08",
                "orders": 3,
                "totalCents": 5774,
                "receipt": "s3://reports/2015-10-08.csv",
            })
        );
    }

    let spans = function.spans(&[&scheduled, &documented]).await;
    for outcome in [&scheduled, &documented] {
        let trace = Trace::of(&spans, &outcome.request_id);
        let root = &trace.root;
        assert_eq!(root.name, "spans");
        assert_eq!(root.attr_str("faas.trigger"), Some("timer"));
        assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
        assert!(!root.is_error());
        assert_eq!(
            trace.edges(),
            edges(&[
                ("load-rates", "spans"),
                ("parse_rates", "load-rates"),
                ("db.fetch_orders", "spans"),
                ("db.query", "db.fetch_orders"),
                ("checksum", "db.fetch_orders"),
                ("pricing", "spans"),
                ("publish", "spans"),
                ("render", "publish"),
                ("upload", "publish"),
            ]),
            "{}",
            trace.render()
        );
        for (child, parent) in [
            ("load-rates", root.name.as_str()),
            ("parse_rates", "load-rates"),
            ("db.fetch_orders", root.name.as_str()),
            ("db.query", "db.fetch_orders"),
            ("checksum", "db.fetch_orders"),
            ("pricing", root.name.as_str()),
            ("publish", root.name.as_str()),
            ("render", "publish"),
            ("upload", "publish"),
        ] {
            let parent = if parent == root.name {
                root
            } else {
                trace.named(parent)
            };
            trace.assert_child_of(trace.named(child), parent);
        }
        // `#[span]` functions say where they are.
        for (span, function_name) in [
            ("parse_rates", "parse_rates"),
            ("db.fetch_orders", "fetch_orders"),
            ("db.query", "query_orders"),
            ("checksum", "checksum"),
            ("upload", "upload"),
        ] {
            assert_eq!(
                trace.named(span).attr_str("code.function"),
                Some(function_name)
            );
        }
        assert_eq!(trace.named("pricing").attr("code.function"), None);
        assert!(trace.spans.iter().all(|span| span.events.is_empty()));
    }
    function.stop().await;
}

/* -------------------------------------- tag_event ------------------------------------ */

#[tokio::test]
async fn tag_event_tags_the_invocation_with_custom_json() {
    let function = Function::start(env!("CARGO_BIN_EXE_tag_event"), "tag_event", &[]).await;
    let body = r#"{"customerId": "42", "plan": "free-trial"}"#;
    let rest_api = function
        .invoke(&events::apigw_v1(
            "POST",
            "/customers",
            "/customers",
            Some(body),
        ))
        .await;
    let http_api = function
        .invoke(&events::apigw_v2(
            "POST",
            "/customers",
            "POST /customers",
            Some(r#"{"customerId": "7", "plan": "pro"}"#),
        ))
        .await;
    let documented = function.invoke(&event_file("tag-event.json")).await;
    let malformed = function
        .invoke(&events::apigw_v2(
            "POST",
            "/customers",
            "POST /customers",
            Some("{\"customerId\": 42}"),
        ))
        .await;

    let created = |api, id: &str, plan: &str| {
        proxy_response(
            api,
            201,
            &[("content-type", "application/json")],
            &json!({ "customerId": id, "plan": plan, "welcome": true }).to_string(),
        )
    };
    assert_eq!(
        function.proxy(&rest_api),
        created(Api::Rest, "42", "free-trial")
    );
    assert_eq!(function.proxy(&http_api), created(Api::Http, "7", "pro"));
    assert_eq!(
        function.proxy(&documented),
        created(Api::Rest, "42", "free-trial")
    );
    let no_body = function
        .invoke(&events::apigw_v2(
            "POST",
            "/customers",
            "POST /customers",
            None,
        ))
        .await;
    let response = function.response(&malformed);
    assert_eq!(response["statusCode"], 400, "{response}");
    let message: Value =
        serde_json::from_str(response["body"].as_str().unwrap_or_default()).expect("a JSON body");
    assert!(
        message["message"]
            .as_str()
            .is_some_and(|text| text.starts_with("Invalid JSON body: invalid type: integer `42`")),
        "{message}"
    );
    assert_eq!(
        function.response(&no_body),
        raw_proxy_response(Api::Http, 400, &[], "a JSON body is required")
    );

    let spans = function
        .spans(&[&rest_api, &http_api, &documented, &malformed, &no_body])
        .await;
    for (outcome, api, id, plan) in [
        (&rest_api, Api::Rest, "42", "free-trial"),
        (&http_api, Api::Http, "7", "pro"),
        (&documented, Api::Rest, "42", "free-trial"),
    ] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_http_root(
            &trace,
            "tag_event",
            "POST",
            Some("/customers"),
            &url_path(api, "/customers"),
            201,
        );
        let root = &trace.root;
        assert_eq!(root.attr_str("serverless.tag.customer-id"), Some(id));
        assert_eq!(
            root.attr_str("serverless.tag.customer-id.custom")
                .map(|custom| serde_json::from_str::<Value>(custom).expect("custom JSON")),
            Some(json!({ "demoUser": "true", "freeTrialExpires": "2020-09-01" }))
        );
        assert_eq!(root.attr_str("serverless.tag.plan"), Some(plan));
        assert_eq!(root.attr("serverless.tag.plan.custom"), None);
        assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
        assert!(root.events.is_empty(), "{}", trace.render());
    }
    // The JSON exactly as exported.
    assert_eq!(
        Trace::of(&spans, &rest_api.request_id)
            .root
            .attr_str("serverless.tag.customer-id.custom"),
        Some(r#"{"demoUser":"true","freeTrialExpires":"2020-09-01"}"#)
    );
    // No sign-up, no tags.
    for outcome in [&malformed, &no_body] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_http_root(
            &trace,
            "tag_event",
            "POST",
            Some("/customers"),
            &url_path(Api::Http, "/customers"),
            400,
        );
        assert!(
            trace
                .root
                .attributes
                .keys()
                .all(|key| !key.starts_with("serverless.tag.")),
            "{}",
            trace.render()
        );
    }
    function.stop().await;
}

/* ---------------------------------------- router ------------------------------------- */

/// One request to the router example and what it must answer.
#[derive(Debug)]
struct RouterCase {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    status: u16,
    /// `Ok(JSON body)` from a route, or `Err(public message)` of a `RouterError`.
    answer: Result<&'static str, &'static str>,
    /// The route template recorded as the endpoint.
    endpoint: Option<&'static str>,
}

const ROUTER_CASES: [RouterCase; 6] = [
    RouterCase {
        method: "GET",
        path: "/users/42",
        body: None,
        status: 200,
        answer: Ok(r#"{"id":"42","name":"user 42"}"#),
        endpoint: Some("/users/{id}"),
    },
    RouterCase {
        method: "POST",
        path: "/users",
        body: Some(r#"{"name":"carol"}"#),
        status: 201,
        answer: Ok(r#"{"created":{"name":"carol"}}"#),
        endpoint: Some("/users"),
    },
    RouterCase {
        method: "GET",
        path: "/users/42/orders",
        body: None,
        status: 200,
        answer: Ok(r#"{"orders":["o-1","o-2"],"user":"42"}"#),
        endpoint: Some("/users/{id}/orders"),
    },
    RouterCase {
        method: "GET",
        path: "/api/foo/bar",
        body: None,
        status: 200,
        answer: Ok(r#"{"legacy":"/api/foo/bar"}"#),
        endpoint: Some("/api/foo"),
    },
    RouterCase {
        method: "GET",
        path: "/users/7",
        body: None,
        status: 404,
        answer: Err("user 7 not found"),
        endpoint: Some("/users/{id}"),
    },
    RouterCase {
        method: "DELETE",
        path: "/nowhere",
        body: None,
        status: 404,
        answer: Err("Not Found"),
        endpoint: None,
    },
];

#[tokio::test]
async fn router_records_each_route_template_behind_a_catch_all() {
    let function = Function::start(env!("CARGO_BIN_EXE_router"), "router", &[]).await;
    for api in [Api::Rest, Api::Http] {
        let mut outcomes = Vec::new();
        for case in ROUTER_CASES {
            let event = match api {
                Api::Rest => events::apigw_v1(case.method, case.path, "/{proxy+}", case.body),
                Api::Http => events::apigw_v2(case.method, case.path, "ANY /{proxy+}", case.body),
            };
            outcomes.push(function.invoke(&event).await);
        }
        let spans = function.spans(&outcomes.iter().collect::<Vec<_>>()).await;
        for (case, outcome) in ROUTER_CASES.iter().zip(&outcomes) {
            let (headers, body) = match case.answer {
                Ok(body) => (vec![("content-type", "application/json")], body.to_owned()),
                // The SDK's client-error response for `RouterError`.
                Err(message) => (
                    vec![
                        ("content-type", "application/json"),
                        ("x-request-id", outcome.request_id.as_str()),
                    ],
                    sdk_error_body(message, outcome),
                ),
            };
            assert_eq!(
                function.proxy(outcome),
                proxy_response(api, case.status, &headers, &body),
                "{api:?} {case:?}"
            );
            let trace = Trace::of(&spans, &outcome.request_id);
            assert_http_root(
                &trace,
                "router",
                case.method,
                case.endpoint,
                &url_path(api, case.path),
                i64::from(case.status),
            );
            assert_eq!(trace.spans.len(), 1, "{}", trace.render());
            let root = &trace.root;
            assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
            if case.answer.is_err() {
                assert_eq!(event_names(root), ["serverless.client_error"]);
                assert_eq!(
                    root.events[0].attr_str("exception.type"),
                    Some("RouterError")
                );
            } else {
                assert!(root.events.is_empty(), "{}", trace.render());
            }
        }
    }

    for (file, route) in [
        ("router-get-user.json", "/users/{id}"),
        ("router-api-foo.json", "/api/foo"),
    ] {
        let outcome = function.invoke(&event_file(file)).await;
        assert_eq!(function.response(&outcome)["statusCode"], 200, "{file}");
        let trace = function.trace(&outcome).await;
        assert_eq!(trace.root.attr_str("http.route"), Some(route), "{file}");
    }
    function.stop().await;
}

/* ------------------------------------- axum_router ----------------------------------- */

#[tokio::test]
async fn axum_router_endpoints_come_from_the_matched_route() {
    // Behind a REST API the request path starts with the stage, which axum's routes do not
    // know: this `lambda_http` setting leaves it out (the example's documentation says so).
    let function = Function::start(
        env!("CARGO_BIN_EXE_axum_router"),
        "axum_router",
        &[("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")],
    )
    .await;
    for api in [Api::Http, Api::Rest] {
        let event = |method: &str, path: &str, body: Option<&str>| match api {
            Api::Http => events::apigw_v2(method, path, "$default", body),
            Api::Rest => events::apigw_v1(method, path, "/{proxy+}", body),
        };
        let user = function.invoke(&event("GET", "/users/42", None)).await;
        let order = function
            .invoke(&event(
                "POST",
                "/orders",
                Some(r#"{"customerId": "42", "items": 3}"#),
            ))
            .await;
        let health = function.invoke(&event("GET", "/health", None)).await;
        let missing = function.invoke(&event("GET", "/nowhere", None)).await;

        // axum's own responses, passed through untouched.
        let user_body = r#"{"id":42,"name":"user 42"}"#;
        let order_body = r#"{"items":3,"orderId":"o-42-3"}"#;
        assert_eq!(
            function.proxy(&user),
            proxy_response(
                api,
                200,
                &[
                    ("content-length", &user_body.len().to_string()),
                    ("content-type", "application/json")
                ],
                user_body
            ),
            "{api:?}"
        );
        assert_eq!(
            function.proxy(&order),
            proxy_response(
                api,
                201,
                &[
                    ("content-length", &order_body.len().to_string()),
                    ("content-type", "application/json")
                ],
                order_body
            ),
            "{api:?}"
        );
        assert_eq!(
            function.proxy(&health),
            proxy_response(
                api,
                200,
                &[
                    ("content-length", "2"),
                    ("content-type", "text/plain; charset=utf-8")
                ],
                "ok"
            ),
            "{api:?}"
        );
        assert_eq!(
            function.proxy(&missing),
            proxy_response(api, 404, &[], ""),
            "{api:?}"
        );

        let spans = function.spans(&[&user, &order, &health, &missing]).await;
        let trace = Trace::of(&spans, &user.request_id);
        assert_http_root(
            &trace,
            "axum_router",
            "GET",
            Some("/users/{id}"),
            "/users/42",
            200,
        );
        assert_eq!(trace.spans.len(), 1);

        let trace = Trace::of(&spans, &order.request_id);
        assert_http_root(
            &trace,
            "axum_router",
            "POST",
            Some("/orders"),
            "/orders",
            201,
        );
        assert_eq!(
            trace.root.attr_str("serverless.tag.customer-id"),
            Some("42")
        );
        assert_eq!(trace.edges(), edges(&[("db.insert_order", "POST /orders")]));
        trace.assert_child_of(trace.named("db.insert_order"), &trace.root);

        let trace = Trace::of(&spans, &health.request_id);
        assert_http_root(
            &trace,
            "axum_router",
            "GET",
            Some("/health"),
            "/health",
            200,
        );
        let trace = Trace::of(&spans, &missing.request_id);
        assert_http_root(&trace, "axum_router", "GET", None, "/nowhere", 404);
        for outcome in [&user, &order, &health, &missing] {
            let root = Trace::of(&spans, &outcome.request_id).root;
            assert_eq!(root.attr_str("serverless.outcome"), Some("success"));
            assert!(root.events.is_empty(), "{root:?}");
        }
    }

    for (file, route) in [
        ("axum-get-user.json", "GET /users/{id}"),
        ("axum-create-order.json", "POST /orders"),
    ] {
        let outcome = function.invoke(&event_file(file)).await;
        let status = function.response(&outcome)["statusCode"].clone();
        assert!(status == 200 || status == 201, "{file}: {status}");
        assert_eq!(function.trace(&outcome).await.root.name, route, "{file}");
    }
    function.stop().await;
}

/* ------------------------------------- throw_error ----------------------------------- */

#[tokio::test]
async fn throw_error_answers_400_three_ways() {
    let function = Function::start(env!("CARGO_BIN_EXE_throw_error"), "throw_error", &[]).await;
    let valid = function
        .invoke(&events::apigw_v1(
            "POST",
            "/throw",
            "/throw",
            Some(r#"{"blah": "blah1"}"#),
        ))
        .await;
    let invalid = function
        .invoke(&events::apigw_v1(
            "POST",
            "/throw",
            "/throw",
            Some(r#"{"blah": "#),
        ))
        .await;
    let empty = function
        .invoke(&events::apigw_v1("POST", "/throw", "/throw", None))
        .await;

    // The seed's own answer.
    assert_eq!(
        function.proxy(&valid),
        proxy_response(
            Api::Rest,
            400,
            &[
                ("content-type", "application/json"),
                ("context.aws_request_id", valid.request_id.as_str()),
            ],
            "Bad Request"
        )
    );
    // The SDK's mapping of the parse error.
    let parse_error = serde_json::from_str::<Value>(r#"{"blah": "#)
        .expect_err("not JSON")
        .to_string();
    let invalid_headers = [
        ("content-type", "application/json"),
        ("x-request-id", invalid.request_id.as_str()),
    ];
    assert_eq!(
        function.proxy(&invalid),
        proxy_response(
            Api::Rest,
            400,
            &invalid_headers,
            &sdk_error_body(&format!("Invalid JSON body: {parse_error}"), &invalid)
        )
    );
    // The `HttpError` type's default message, the reason phrase.
    let empty_headers = [
        ("content-type", "application/json"),
        ("x-request-id", empty.request_id.as_str()),
    ];
    assert_eq!(
        function.proxy(&empty),
        proxy_response(
            Api::Rest,
            400,
            &empty_headers,
            &sdk_error_body("Bad Request", &empty)
        )
    );

    let spans = function.spans(&[&valid, &invalid, &empty]).await;
    for outcome in [&valid, &invalid, &empty] {
        let trace = Trace::of(&spans, &outcome.request_id);
        assert_http_root(
            &trace,
            "throw_error",
            "POST",
            Some("/throw"),
            &url_path(Api::Rest, "/throw"),
            400,
        );
        assert_eq!(
            trace.root.attr_str("serverless.outcome"),
            Some("success"),
            "{}",
            trace.render()
        );
        assert!(!trace.root.is_error());
    }
    assert!(Trace::of(&spans, &valid.request_id).root.events.is_empty());
    for (outcome, message) in [
        (&invalid, parse_error.as_str()),
        (&empty, "POST /throw needs a JSON body"),
    ] {
        let root = Trace::of(&spans, &outcome.request_id).root;
        assert_eq!(event_names(&root), ["serverless.client_error"]);
        assert_eq!(
            root.events[0].attr_str("exception.type"),
            Some("ThrowError")
        );
        assert!(
            root.events[0]
                .attr_str("exception.message")
                .is_some_and(|text| text.contains(message)),
            "{:?}",
            root.events[0]
        );
    }

    let documented = function.invoke(&event_file("throw-error.json")).await;
    let response = function.response(&documented);
    assert_eq!(
        (&response["statusCode"], &response["body"]),
        (&json!(400), &json!("Bad Request"))
    );
    let documented = function
        .invoke(&event_file("throw-error-invalid-json.json"))
        .await;
    let response = function.response(&documented);
    assert_eq!(response["statusCode"], 400);
    assert!(
        response["body"]
            .as_str()
            .is_some_and(|body| body.contains("Invalid JSON body")),
        "{response}"
    );
    function.stop().await;
}

/* ------------------------------------ create_account --------------------------------- */

#[tokio::test]
async fn create_account_fails_with_the_step_functions_error_name() {
    let function =
        Function::start(env!("CARGO_BIN_EXE_create_account"), "create_account", &[]).await;
    let created = function
        .invoke(&json!({ "username": "carol", "email": "carol@example.com" }))
        .await;
    let taken = function
        .invoke(&json!({ "username": "alice", "email": "alice@example.com" }))
        .await;
    let unreadable = function.invoke(&json!({ "user": 1 })).await;

    assert_eq!(
        function.response(&created),
        json!({ "username": "carol", "created": true })
    );
    let error = taken.error().expect("a Lambda error");
    assert_eq!(error.error_type, "AccountAlreadyExistsException");
    assert_eq!(error.error_message, "Account is in use!");
    let error = unreadable.error().expect("a Lambda error");
    assert_eq!(error.error_type, "Runtime.UnmarshalError");
    assert!(
        error.error_message.contains("missing field `username`"),
        "{error:?}"
    );

    let spans = function.spans(&[&created, &taken, &unreadable]).await;
    let trace = Trace::of(&spans, &created.request_id);
    assert_eq!(trace.root.name, "create_account");
    assert_eq!(trace.root.attr_str("serverless.outcome"), Some("success"));
    assert_eq!(
        trace.root.attr_str("serverless.tag.username"),
        Some("carol")
    );
    assert_eq!(
        trace.edges(),
        edges(&[
            ("db.username_taken", "create_account"),
            ("db.insert_account", "create_account"),
        ])
    );
    assert!(trace.root.events.is_empty());

    let trace = Trace::of(&spans, &taken.request_id);
    let root = &trace.root;
    assert_eq!(root.name, "create_account");
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));
    assert_eq!(root.attr_str("serverless.tag.username"), Some("alice"));
    assert!(root.is_error());
    assert_eq!(
        trace.edges(),
        edges(&[("db.username_taken", "create_account")])
    );
    assert_eq!(event_names(root), ["exception"]);
    let exception = &root.events[0];
    assert_eq!(
        exception.attr_str("exception.type"),
        Some("AccountAlreadyExistsException")
    );
    assert_eq!(
        exception.attr_str("exception.message"),
        Some("Account is in use!")
    );
    assert_eq!(
        exception
            .attr("exception.handled")
            .and_then(|v| v.as_bool()),
        Some(false)
    );

    let root = Trace::of(&spans, &unreadable.request_id).root;
    assert_eq!(root.attr_str("serverless.outcome"), Some("error:unhandled"));
    assert_eq!(
        root.event("exception")
            .and_then(|event| event.attr_str("exception.type")),
        Some("Runtime.UnmarshalError")
    );

    let documented = function.invoke(&event_file("create-account.json")).await;
    assert_eq!(
        function.response(&documented),
        json!({ "username": "carol", "created": true })
    );
    let documented = function
        .invoke(&event_file("create-account-taken.json"))
        .await;
    assert_eq!(
        documented.error().map(|error| error.error_type.as_str()),
        Some("AccountAlreadyExistsException")
    );
    function.stop().await;
}

/* -------------------------------------- quickstart ----------------------------------- */

#[tokio::test]
async fn quickstart_runs_to_completion() {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_quickstart"));
    command
        .env("NO_COLOR", "1")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the quickstart finishes within a minute")
        .expect("the quickstart runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{:?}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "• create an order (tagged, span tree)\n    → 200 {\"in_stock\":true,\"total\":3750}",
        "• get an order (#[route] template)\n    → 200 {\"id\":42,\"row\":84}",
        "• client error (404 from HttpError)\n    → 404 {\"message\":\"order 7 not found\",\"requestId\":\"",
        "• malformed JSON body (400)\n    → 400 {\"message\":\"Invalid JSON body\"}",
        "• an Err (500, not a 502)\n    → 500 {\"message\":\"Internal Server Error\",\"requestId\":\"",
        "• a panic (500, process keeps serving)\n    → 500 {\"message\":\"Internal Server Error\",\"requestId\":\"",
        "• SQS batch with a bad record\n    → {\"batchItemFailures\":[]}",
        "── traces ──",
        "7 OTLP/JSON lines",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing in\n{stdout}"
        );
    }
    let trees = stdout
        .lines()
        .filter(|line| line.starts_with("trace "))
        .count();
    assert!(trees >= 7, "{trees} trace trees in\n{stdout}");
    // The outgoing call to the inventory service is a CLIENT span in the order's tree.
    assert!(stdout.contains("GET 127.0.0.1"), "{stdout}");
    for root in ["POST /orders", "GET /orders/{id}", "GET /inventory"] {
        assert!(
            stdout.lines().any(|line| line.starts_with(root)),
            "no {root} trace in\n{stdout}"
        );
    }
}

/* ---------------------------------------- clients ---------------------------------------- */

/// `clients`: an HTTP API call and an S3 PutObject (against moto) are CLIENT spans under
/// the invocation, carrying no credentials.
#[tokio::test]
async fn clients_calls_become_client_spans() {
    use serverless_sdk_tests::{moto::Moto, server};

    let moto = Moto::start().await.unwrap_or_else(|e| panic!("{e}"));
    // The report bucket (moto does not check signatures).
    let create = http::Request::put(format!("{}/reports", moto.endpoint()))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("a request");
    let created = serverless_sdk_tests::client::send(create)
        .await
        .expect("moto answers");
    assert!(created.status().is_success(), "{created:?}");
    let rates = server::Server::start(
        |_request| async {
            server::json_response(http::StatusCode::OK, &json!({ "base": "EUR", "USD": 1.08 }))
        },
        false,
    )
    .await
    .expect("the rates API");
    let rates_url = format!("http://{}", rates.addr());
    let secret = "moto-SECRET-clients-example";
    let env = |bucket: &'static str| {
        vec![
            ("RATES_API_URL", rates_url.clone()),
            ("REPORTS_BUCKET", bucket.to_owned()),
            ("AWS_ENDPOINT_URL", moto.endpoint().to_owned()),
            ("AWS_ACCESS_KEY_ID", "AKIDCLIENTSEXAMPLE".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
        ]
    };
    for (bucket, status) in [("reports", 200), ("missing-bucket", 502)] {
        let vars = env(bucket);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let function = Function::start(env!("CARGO_BIN_EXE_clients"), "clients", &vars).await;
        let outcome = function.invoke(&event_file("clients-report.json")).await;
        let response = function.proxy(&outcome);
        assert_eq!(response["statusCode"], status, "{response}");
        if status == 200 {
            assert_eq!(response["body"], json!({ "stored": "reports/q3.json" }));
        }
        let trace = function.trace(&outcome).await;
        assert_eq!(trace.root.name, "GET /reports/{id}");
        let http_span = trace.named("GET 127.0.0.1");
        assert_eq!(http_span.kind_name(), "client");
        assert_eq!(http_span.parent_span_id, trace.root.span_id);
        assert_eq!(http_span.attr_i64("http.response.status_code"), Some(200));
        let s3 = trace.named("S3.PutObject");
        assert_eq!(s3.kind_name(), "client");
        assert_eq!(s3.parent_span_id, trace.root.span_id);
        assert_eq!(s3.attr_str("rpc.system"), Some("aws-api"));
        assert_eq!(s3.attr_str("aws.s3.bucket"), Some(bucket));
        assert_eq!(s3.attr_str("aws.s3.key"), Some("reports/q3.json"));
        assert!(s3.attr_str("aws.request_id").is_some());
        if status == 200 {
            assert_eq!(s3.status_code, 0);
        } else {
            assert_eq!(s3.attr_str("error.type"), Some("NoSuchBucket"));
            assert_eq!(s3.status_code, 2);
        }
        let telemetry = function.process.stdout_text();
        assert!(!telemetry.contains(secret));
        assert!(!telemetry.contains("Signature="));
        function.stop().await;
    }
}

/* ------------------------------------ documentation ---------------------------------- */

/// Every `--data-file` the examples' documentation names exists and is JSON, and every
/// event file is used by some example.
#[test]
fn documented_event_files_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut used = std::collections::BTreeSet::new();
    let sources = std::fs::read_dir(root.join("src/bin")).expect("src/bin");
    for source in sources {
        let path = source.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("a source file");
        for (index, _) in text.match_indices("--data-file examples/events/") {
            let rest = &text[index + "--data-file examples/events/".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '`')
                .collect();
            let _ = event_file(&name);
            used.insert(name);
        }
    }
    let files: std::collections::BTreeSet<String> = std::fs::read_dir(root.join("events"))
        .expect("events/")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert_eq!(used, files);
}
