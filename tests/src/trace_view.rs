//! Traces as trees: grouping spans, navigating parents and children, and rendering a trace as a
//! terminal waterfall (with the SDK's dev-mode renderer, `serverless_sdk::dev::render`).
//!
//! A *root* here is a span whose parent is not among the spans at hand: a span without a parent,
//! but also one continuing a remote trace (for instance a Lambda handler span whose parent is the
//! X-Ray segment from `Lambda-Runtime-Trace-Id`).
//!
//! ```text
//! trace 0af7651916cd43dd8448eb211c80319c · 4 spans · 12.00 ms
//! my-function          12.00 ms  ✔  [████████████████████████]
//! │  faas.trigger               http
//! │  http.response.status_code  500
//! │  serverless.tag.tenant      acme
//! ├─ GET /users/{id}   10.00 ms  ✘  [  ████████████████████  ]
//! │  │  ✘ DbError: connection refused
//! │  └─ db.query        4.00 ms  ✘  [    ████████            ]
//! │        ✘ timeout
//! └─ flush              1.00 ms  ✔  [                      ██]
//! ```

use crate::otlp::FlatSpan;
use serverless_sdk::dev::{WaterfallException, WaterfallSpan};
use std::{
    cmp::Ordering,
    collections::{BTreeSet, HashMap, HashSet},
};

/// Groups spans by trace id. Traces are ordered by their earliest start; within a trace, the
/// root (see [`root_of`]) comes first, then the other spans by start time.
pub fn by_trace(spans: &[FlatSpan]) -> Vec<Vec<FlatSpan>> {
    let mut traces: Vec<Vec<FlatSpan>> = Vec::new();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for span in spans {
        let index = *index_of.entry(span.trace_id.as_str()).or_insert_with(|| {
            traces.push(Vec::new());
            traces.len() - 1
        });
        traces[index].push(span.clone());
    }
    for trace in &mut traces {
        let root_id = root_of(trace).map(|root| root.span_id.clone());
        trace.sort_by(|a, b| {
            let a_root = Some(&a.span_id) == root_id.as_ref();
            let b_root = Some(&b.span_id) == root_id.as_ref();
            b_root.cmp(&a_root).then_with(|| by_start(a, b))
        });
    }
    traces.sort_by(|a, b| {
        let start = |trace: &[FlatSpan]| trace.iter().map(|span| span.start_unix_nano).min();
        start(a).cmp(&start(b)).then_with(|| {
            a.first()
                .map(|s| &s.trace_id)
                .cmp(&b.first().map(|s| &s.trace_id))
        })
    });
    traces
}

/// The root of a trace: among the spans whose parent is not in `spans`, the one starting first
/// (and, on a tie, lasting longest). `None` only for an empty slice.
pub fn root_of(spans: &[FlatSpan]) -> Option<&FlatSpan> {
    let ids = span_ids(spans);
    spans
        .iter()
        .filter(|span| !has_parent_in(span, &ids))
        .min_by(|a, b| by_start(a, b).then_with(|| b.duration().cmp(&a.duration())))
        .or_else(|| spans.iter().min_by(|a, b| by_start(a, b)))
}

/// The direct children of `parent` among `spans`, by start time.
pub fn children_of<'a>(spans: &'a [FlatSpan], parent: &FlatSpan) -> Vec<&'a FlatSpan> {
    let mut children: Vec<&FlatSpan> = spans
        .iter()
        .filter(|span| {
            span.trace_id == parent.trace_id
                && span.parent_span_id == parent.span_id
                && span.span_id != parent.span_id
        })
        .collect();
    children.sort_by(|a, b| by_start(a, b));
    children
}

/// Renders spans as a tree with a waterfall, the way dev mode draws an invocation on stderr
/// (see `serverless_sdk::dev::render`): per span its name, duration, status and a bar placing
/// it in time; under each root its key attributes and tags; under each span its exceptions.
///
/// With `color`, ANSI escape codes highlight names, statuses and bars. Spans of several traces
/// are rendered as several trees on one time axis.
pub fn render_tree(spans: &[FlatSpan], color: bool) -> String {
    let spans: Vec<WaterfallSpan> = spans.iter().map(waterfall_span).collect();
    serverless_sdk::dev::render(&spans, color)
}

/// A decoded span as the renderer takes it.
fn waterfall_span(span: &FlatSpan) -> WaterfallSpan {
    WaterfallSpan {
        trace_id: span.trace_id.clone(),
        span_id: span.span_id.clone(),
        parent_span_id: span.parent_span_id.clone(),
        name: span.name.clone(),
        start_unix_nano: span.start_unix_nano,
        end_unix_nano: span.end_unix_nano,
        error: span.is_error(),
        status_message: span.status_message.clone(),
        attributes: span
            .attributes
            .iter()
            .map(|(key, value)| (key.clone(), value.to_string()))
            .collect(),
        exceptions: span
            .events_named("exception")
            .map(|event| {
                let text = |key: &str| event.attr_str(key).unwrap_or_default().to_owned();
                WaterfallException {
                    kind: text("exception.type"),
                    message: text("exception.message"),
                    stacktrace: text("exception.stacktrace"),
                }
            })
            .collect(),
    }
}

/// The request ids of the invocation root spans among `spans` (the spans carrying
/// `faas.invocation_id`).
pub fn invocation_ids(spans: &[FlatSpan]) -> BTreeSet<String> {
    spans
        .iter()
        .filter_map(|span| span.attr_str(INVOCATION_ID))
        .map(str::to_owned)
        .collect()
}

/// The root spans of invocations and of failed initialisations among `spans`: the spans
/// carrying `serverless.outcome`.
pub fn invocation_roots(spans: &[FlatSpan]) -> Vec<&FlatSpan> {
    spans
        .iter()
        .filter(|span| span.attr("serverless.outcome").is_some())
        .collect()
}

/// The attribute naming the invocation on its root span.
const INVOCATION_ID: &str = "faas.invocation_id";

/// `(child, parent)` name pairs, sorted, to compare with [`Trace::edges`].
pub fn edges(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut edges: Vec<(String, String)> = pairs
        .iter()
        .map(|(child, parent)| ((*child).to_owned(), (*parent).to_owned()))
        .collect();
    edges.sort();
    edges
}

/// One invocation's trace: the root span whose `faas.invocation_id` is the invocation's request
/// id, and every span sharing its trace id. The assertion helpers panic with the trace rendered
/// by [`render_tree`].
///
/// ```
/// use serverless_sdk_tests::{otlp::parse_json_lines, trace_view::Trace};
///
/// # let stdout = "";
/// let spans = parse_json_lines(stdout);
/// # if false {
/// let trace = Trace::of(&spans, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
/// trace.assert_child_of(trace.named("db.query"), &trace.root);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The invocation's root span.
    pub root: FlatSpan,
    /// Every span of the trace, the root included, in the order given to [`Trace::of`].
    pub spans: Vec<FlatSpan>,
}

impl Trace {
    /// The trace of the invocation `request_id` among `spans`.
    ///
    /// # Panics
    ///
    /// Unless exactly one span carries `faas.invocation_id = request_id`.
    pub fn of(spans: &[FlatSpan], request_id: &str) -> Trace {
        let roots: Vec<&FlatSpan> = spans
            .iter()
            .filter(|span| span.attr_str(INVOCATION_ID) == Some(request_id))
            .collect();
        assert_eq!(
            roots.len(),
            1,
            "expected exactly one root span for {request_id}:\n{}",
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

    /// Every span named `name`, in order.
    pub fn all_named(&self, name: &str) -> Vec<&FlatSpan> {
        self.spans.iter().filter(|span| span.name == name).collect()
    }

    /// The one span named `name`.
    ///
    /// # Panics
    ///
    /// If there is none, or several.
    pub fn named(&self, name: &str) -> &FlatSpan {
        self.one(&format!("span named {name:?}"), |span| span.name == name)
    }

    /// The one span whose attribute `key` is the string `value` (e.g. the HTTP client span
    /// whose `url.full` is a given URL).
    ///
    /// # Panics
    ///
    /// If there is none, or several.
    pub fn with_attr(&self, key: &str, value: &str) -> &FlatSpan {
        self.one(&format!("span with {key} = {value:?}"), |span| {
            span.attr_str(key) == Some(value)
        })
    }

    fn one(&self, what: &str, matches: impl Fn(&FlatSpan) -> bool) -> &FlatSpan {
        let found: Vec<&FlatSpan> = self.spans.iter().filter(|span| matches(span)).collect();
        assert_eq!(
            found.len(),
            1,
            "expected exactly one {what}:\n{}",
            self.render()
        );
        found[0]
    }

    /// The spans of kind `kind` ([`FlatSpan::kind_name`], e.g. `client`).
    pub fn of_kind(&self, kind: &str) -> Vec<&FlatSpan> {
        self.spans
            .iter()
            .filter(|span| span.kind_name() == kind)
            .collect()
    }

    /// The names of all spans, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.spans.iter().map(|span| span.name.clone()).collect();
        names.sort();
        names
    }

    /// The direct children of `parent`, by start time.
    pub fn children(&self, parent: &FlatSpan) -> Vec<&FlatSpan> {
        children_of(&self.spans, parent)
    }

    /// The names of the direct children of `parent`, sorted.
    pub fn child_names(&self, parent: &FlatSpan) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .children(parent)
            .into_iter()
            .map(|span| span.name.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    /// The direct child of `parent` named `name`.
    ///
    /// # Panics
    ///
    /// If there is none.
    pub fn child(&self, parent: &FlatSpan, name: &str) -> &FlatSpan {
        self.children(parent)
            .into_iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no {name:?} under {:?}:\n{}", parent.name, self.render()))
    }

    /// The CONSUMER spans under the root (one per record of a batch), by start time.
    pub fn records(&self) -> Vec<&FlatSpan> {
        self.children(&self.root)
            .into_iter()
            .filter(|span| span.kind_name() == "consumer")
            .collect()
    }

    /// The name of the parent of `span`, if it is in this trace.
    pub fn parent_name(&self, span: &FlatSpan) -> Option<&str> {
        self.spans
            .iter()
            .find(|parent| parent.span_id == span.parent_span_id)
            .map(|parent| parent.name.as_str())
    }

    /// Every `(child, parent)` name pair below the root, sorted (`?` for a parent outside the
    /// trace); compare with [`edges`].
    pub fn edges(&self) -> Vec<(String, String)> {
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

    /// Asserts that `child` is a direct child of `parent`, in the same trace, and lies within
    /// it in time.
    pub fn assert_child_of(&self, child: &FlatSpan, parent: &FlatSpan) {
        assert_eq!(
            child.parent_span_id,
            parent.span_id,
            "{:?} should be a child of {:?}:\n{}",
            child.name,
            parent.name,
            self.render()
        );
        assert_eq!(child.trace_id, parent.trace_id);
        assert!(
            child.start_unix_nano >= parent.start_unix_nano
                && child.end_unix_nano <= parent.end_unix_nano,
            "{:?} [{}, {}] is not within {:?} [{}, {}]:\n{}",
            child.name,
            child.start_unix_nano,
            child.end_unix_nano,
            parent.name,
            parent.start_unix_nano,
            parent.end_unix_nano,
            self.render()
        );
    }

    /// Asserts that the span named each of `names` is a direct child of `parent`
    /// ([`Trace::assert_child_of`]).
    pub fn assert_children(&self, parent: &FlatSpan, names: &[&str]) {
        for name in names {
            self.assert_child_of(self.named(name), parent);
        }
    }

    /// Asserts what the root span of every HTTP invocation carries: kind server, trigger
    /// `http`, the request's method and the response's status code.
    pub fn assert_http_root(&self, method: &str, status: i64) {
        let root = &self.root;
        assert_eq!(root.kind_name(), "server", "{}", self.render());
        assert_eq!(root.attr_str("faas.trigger"), Some("http"));
        assert_eq!(root.attr_str("http.request.method"), Some(method));
        assert_eq!(root.attr_i64("http.response.status_code"), Some(status));
    }

    /// Asserts the endpoint recorded on the root span: with a `route`, the root is named
    /// `"{method} {route}"` and carries it as `http.route` and `serverless.endpoint`; without
    /// one (`None`), it is named `function_name` and carries neither.
    pub fn assert_endpoint(&self, function_name: &str, method: &str, route: Option<&str>) {
        let root = &self.root;
        match route {
            Some(route) => {
                assert_eq!(root.name, format!("{method} {route}"), "{}", self.render());
                assert_eq!(root.attr_str("http.route"), Some(route));
                assert_eq!(root.attr_str("serverless.endpoint"), Some(route));
            }
            None => {
                assert_eq!(root.name, function_name, "{}", self.render());
                assert_eq!(root.attr("http.route"), None);
                assert_eq!(root.attr("serverless.endpoint"), None);
            }
        }
    }

    /// [`Trace::assert_http_root`] and [`Trace::assert_endpoint`], and the `url.path` the
    /// request was sent to.
    pub fn assert_http_request(
        &self,
        function_name: &str,
        method: &str,
        route: Option<&str>,
        url_path: &str,
        status: i64,
    ) {
        self.assert_http_root(method, status);
        assert_eq!(self.root.attr_str("url.path"), Some(url_path));
        self.assert_endpoint(function_name, method, route);
    }

    /// Asserts what the root span of a batch invocation carries: the name
    /// `process {destination}`, kind consumer, trigger `pubsub`, the `messaging.system` and
    /// destination, how many `messages` the batch held and how many `failed`, and the outcome
    /// `success`: a record's failure is the record's, not the invocation's.
    pub fn assert_batch_root(&self, system: &str, destination: &str, messages: i64, failed: i64) {
        let root = &self.root;
        assert_eq!(
            root.name,
            format!("process {destination}"),
            "{}",
            self.render()
        );
        assert_eq!(root.kind_name(), "consumer");
        root.assert_attrs([
            ("faas.trigger", "pubsub".into()),
            ("messaging.system", system.into()),
            ("messaging.destination.name", destination.into()),
            ("messaging.batch.message_count", messages.into()),
            ("serverless.batch.failed_count", failed.into()),
            ("serverless.outcome", "success".into()),
        ]);
    }

    /// [`Trace::assert_batch_root`] for a Kinesis batch from the one shard of the AWS samples
    /// (`shardId-000000000000`), first delivery: also the partition, and how many records
    /// were `skipped` (never run) after the first failure.
    pub fn assert_kinesis_root(&self, stream: &str, messages: i64, failed: i64, skipped: i64) {
        self.assert_batch_root("aws_kinesis", stream, messages, failed);
        let root = &self.root;
        assert_eq!(
            root.attr_str("messaging.destination.partition.id"),
            Some("shardId-000000000000")
        );
        assert_eq!(
            root.attr_i64("serverless.batch.skipped_count"),
            Some(skipped)
        );
        assert_eq!(root.attr_bool("serverless.redelivered"), None);
    }

    /// The trace as a tree ([`render_tree`] without colour), for failure messages.
    pub fn render(&self) -> String {
        render_tree(&self.spans, false)
    }
}

fn span_ids(spans: &[FlatSpan]) -> HashSet<(&str, &str)> {
    spans
        .iter()
        .map(|span| (span.trace_id.as_str(), span.span_id.as_str()))
        .collect()
}

fn has_parent_in(span: &FlatSpan, ids: &HashSet<(&str, &str)>) -> bool {
    !span.parent_span_id.is_empty()
        && span.parent_span_id != span.span_id
        && ids.contains(&(span.trace_id.as_str(), span.parent_span_id.as_str()))
}

fn by_start(a: &FlatSpan, b: &FlatSpan) -> Ordering {
    a.start_unix_nano
        .cmp(&b.start_unix_nano)
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.span_id.cmp(&b.span_id))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::otlp::{AttrValue, FlatEvent, STATUS_ERROR};
    use std::collections::BTreeMap;

    const MS: u64 = 1_000_000;
    const T0: u64 = 1_700_000_000_000_000_000;

    fn span(
        trace: &str,
        id: &str,
        parent: &str,
        name: &str,
        start_ms: u64,
        end_ms: u64,
    ) -> FlatSpan {
        FlatSpan {
            trace_id: trace.repeat(32),
            span_id: id.repeat(16),
            parent_span_id: parent.repeat(16),
            name: name.to_owned(),
            kind: 1,
            start_unix_nano: T0 + start_ms * MS,
            end_unix_nano: T0 + end_ms * MS,
            attributes: BTreeMap::new(),
            dropped_attributes_count: 0,
            events: Vec::new(),
            links: Vec::new(),
            flags: 0x101,
            status_code: 0,
            status_message: String::new(),
            resource: BTreeMap::new(),
            scope_name: String::new(),
            scope_version: String::new(),
        }
    }

    fn sample() -> Vec<FlatSpan> {
        // The root continues a remote (X-Ray) parent that is not exported.
        let mut root = span("a", "1", "f", "my-function", 0, 12);
        root.attributes
            .insert("faas.trigger".into(), AttrValue::String("http".into()));
        root.attributes
            .insert("http.response.status_code".into(), AttrValue::Int(500));
        root.attributes.insert(
            "serverless.tag.tenant".into(),
            AttrValue::String("acme".into()),
        );
        root.attributes
            .insert("unrelated".into(), AttrValue::Bool(true));
        let mut route = span("a", "2", "1", "GET /users/{id}", 1, 11);
        route.status_code = STATUS_ERROR;
        route.events.push(FlatEvent {
            name: "exception".into(),
            time_unix_nano: T0 + 5 * MS,
            attributes: [
                (
                    "exception.type".to_owned(),
                    AttrValue::String("DbError".into()),
                ),
                (
                    "exception.message".to_owned(),
                    AttrValue::String("connection refused".into()),
                ),
            ]
            .into(),
        });
        let mut query = span("a", "3", "2", "db.query", 2, 6);
        query.status_code = STATUS_ERROR;
        query.status_message = "timeout".into();
        let flush = span("a", "4", "1", "flush", 11, 12);
        let other_trace = span("b", "5", "", "other", 20, 21);
        vec![flush, query, other_trace, route, root]
    }

    #[test]
    fn groups_by_trace_root_first() {
        let traces = by_trace(&sample());
        assert_eq!(traces.len(), 2);
        let names: Vec<&str> = traces[0].iter().map(|span| span.name.as_str()).collect();
        assert_eq!(
            names,
            ["my-function", "GET /users/{id}", "db.query", "flush"]
        );
        assert_eq!(traces[1][0].name, "other");
    }

    #[test]
    fn navigates_the_tree() {
        let spans = sample();
        let trace = &by_trace(&spans)[0];
        let root = root_of(trace).unwrap();
        assert_eq!(root.name, "my-function");
        let children: Vec<&str> = children_of(trace, root)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(children, ["GET /users/{id}", "flush"]);
        assert_eq!(root_of(&[]), None);
    }

    /// What the renderer needs of a decoded span reaches it: attributes of any type as text,
    /// exception events, error statuses, parents.
    #[test]
    fn renders_decoded_spans() {
        let trace = &by_trace(&sample())[0];
        let text = render_tree(trace, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3], "│  http.response.status_code  500");
        assert_eq!(lines[4], "│  serverless.tag.tenant      acme");
        assert!(lines[5].contains("✘"), "{text}");
        assert_eq!(lines[6], "│  │  ✘ DbError: connection refused");
        assert!(lines[7].starts_with("│  └─ db.query "), "{text}");
        assert_eq!(lines[8], "│        ✘ timeout");
        assert_eq!(lines.len(), 10, "{text}");
    }
}
