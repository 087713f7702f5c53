//! Traces as trees: grouping spans, navigating parents and children, and rendering a trace as a
//! terminal waterfall.
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
use std::{
    cmp::Ordering,
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    fmt::Write,
    time::Duration,
};

/// Attributes shown under the root span by [`render_tree`], in this order, when present; all
/// `serverless.tag.*` attributes follow.
pub const KEY_ATTRIBUTES: &[&str] = &[
    "faas.trigger",
    "faas.coldstart",
    "http.request.method",
    "http.route",
    "serverless.endpoint",
    "url.path",
    "http.response.status_code",
    "serverless.outcome",
];

/// Prefix of the attributes holding user tags.
pub const TAG_PREFIX: &str = "serverless.tag.";

const BAR_WIDTH: usize = 24;
const MAX_LABEL_WIDTH: usize = 56;

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

/// Renders the spans of one trace as a tree with a waterfall: per span its name, duration,
/// status (✔ ok or unset, ✘ error) and a bar placing it in time relative to the whole trace;
/// under the root its [`KEY_ATTRIBUTES`] and tags; under each span its exceptions.
///
/// With `color`, ANSI escape codes highlight names, statuses and bars. Spans of several traces
/// are rendered as several trees on one time axis.
pub fn render_tree(spans: &[FlatSpan], color: bool) -> String {
    let paint = Paint { enabled: color };
    let mut out = String::new();
    if spans.is_empty() {
        out.push_str("(no spans)\n");
        return out;
    }

    let origin = spans
        .iter()
        .map(|span| span.start_unix_nano)
        .min()
        .unwrap_or(0);
    let end = spans
        .iter()
        .map(|span| span.end_unix_nano.max(span.start_unix_nano))
        .max()
        .unwrap_or(origin);
    let total = end.saturating_sub(origin).max(1);

    let mut trace_ids: Vec<&str> = spans.iter().map(|span| span.trace_id.as_str()).collect();
    trace_ids.dedup();
    trace_ids.sort_unstable();
    trace_ids.dedup();
    let count = spans.len();
    let _ = writeln!(
        out,
        "{} {} · {count} span{} · {}",
        if trace_ids.len() == 1 {
            "trace"
        } else {
            "traces"
        },
        paint.bold(&trace_ids.join(", ")),
        if count == 1 { "" } else { "s" },
        format_duration(Duration::from_nanos(end - origin)),
    );

    let rows = layout(spans);
    let label_width = rows
        .iter()
        .map(|row| row.prefix.chars().count() + row.span.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_LABEL_WIDTH);

    for row in &rows {
        let span = row.span;
        let prefix_width = row.prefix.chars().count();
        let name = truncate(&span.name, label_width.saturating_sub(prefix_width).max(1));
        let padding = label_width.saturating_sub(prefix_width + name.chars().count());
        let name = if row.depth == 0 {
            paint.bold(&name)
        } else {
            name
        };
        let status = if span.is_error() {
            paint.red("✘")
        } else {
            paint.green("✔")
        };
        let bar = bar(span, origin, total);
        let bar = if span.is_error() {
            paint.red(&bar)
        } else {
            paint.cyan(&bar)
        };
        let _ = writeln!(
            out,
            "{}{name}{:padding$}  {:>9}  {status}  [{bar}]",
            paint.dim(&row.prefix),
            "",
            format_duration(span.duration()),
        );

        let detail_prefix = paint.dim(&row.detail_prefix);
        if row.depth == 0 {
            let attributes = key_attributes(span);
            let key_width = attributes
                .iter()
                .map(|(key, _)| key.len())
                .max()
                .unwrap_or(0);
            for (key, value) in attributes {
                let _ = writeln!(
                    out,
                    "{detail_prefix}{}  {value}",
                    paint.dim(&format!("{key:key_width$}"))
                );
            }
        }
        for line in problems(span) {
            let _ = writeln!(out, "{detail_prefix}{}", paint.red(&format!("✘ {line}")));
        }
    }
    out
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

    /// The trace as a tree ([`render_tree`] without colour), for failure messages.
    pub fn render(&self) -> String {
        render_tree(&self.spans, false)
    }
}

/// One line of the tree.
struct Row<'a> {
    span: &'a FlatSpan,
    depth: usize,
    /// Connectors before the name.
    prefix: String,
    /// Connectors before detail lines under the span.
    detail_prefix: String,
}

/// Orders spans depth-first from their roots; every span appears exactly once, even with
/// duplicate ids or parent cycles.
fn layout(spans: &[FlatSpan]) -> Vec<Row<'_>> {
    let ids = span_ids(spans);
    let mut children: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (index, span) in spans.iter().enumerate() {
        children
            .entry((span.trace_id.as_str(), span.parent_span_id.as_str()))
            .or_default()
            .push(index);
    }
    for siblings in children.values_mut() {
        siblings.sort_by(|&a, &b| by_start(&spans[a], &spans[b]));
    }

    let mut roots: Vec<usize> = (0..spans.len())
        .filter(|&index| !has_parent_in(&spans[index], &ids))
        .collect();
    roots.sort_by(|&a, &b| by_start(&spans[a], &spans[b]));

    let mut rows = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    for root in roots {
        push_subtree(spans, &children, root, &mut visited, &mut rows);
    }
    // Spans caught in a parent cycle have no root; show them rather than lose them.
    while let Some(index) = visited.iter().position(|seen| !seen) {
        push_subtree(spans, &children, index, &mut visited, &mut rows);
    }
    rows
}

fn push_subtree<'a>(
    spans: &'a [FlatSpan],
    children: &HashMap<(&str, &str), Vec<usize>>,
    root: usize,
    visited: &mut [bool],
    rows: &mut Vec<Row<'a>>,
) {
    // (span, depth, prefix, prefix for its children); an explicit stack, as traces can be deep.
    let mut stack = vec![(root, 0, String::new(), String::new())];
    while let Some((index, depth, prefix, child_prefix)) = stack.pop() {
        if std::mem::replace(&mut visited[index], true) {
            continue;
        }
        let span = &spans[index];
        let kids: Vec<usize> = children
            .get(&(span.trace_id.as_str(), span.span_id.as_str()))
            .map(|kids| kids.iter().copied().filter(|&kid| !visited[kid]).collect())
            .unwrap_or_default();
        let guide = if kids.is_empty() { "   " } else { "│  " };
        rows.push(Row {
            span,
            depth,
            prefix,
            detail_prefix: format!("{child_prefix}{guide}"),
        });
        for (position, &kid) in kids.iter().enumerate().rev() {
            let last = position + 1 == kids.len();
            let (connector, continuation) = if last {
                ("└─ ", "   ")
            } else {
                ("├─ ", "│  ")
            };
            stack.push((
                kid,
                depth + 1,
                format!("{child_prefix}{connector}"),
                format!("{child_prefix}{continuation}"),
            ));
        }
    }
}

/// The bar showing where `span` lies within `[origin, origin + total]`.
fn bar(span: &FlatSpan, origin: u64, total: u64) -> String {
    let scale = |nanos: u64| {
        let cells = u128::from(nanos) * BAR_WIDTH as u128 / u128::from(total);
        usize::try_from(cells).unwrap_or(BAR_WIDTH).min(BAR_WIDTH)
    };
    let offset = scale(span.start_unix_nano.saturating_sub(origin)).min(BAR_WIDTH - 1);
    let end = scale(span.end_unix_nano.saturating_sub(origin));
    let length = end.saturating_sub(offset).max(1).min(BAR_WIDTH - offset);
    format!(
        "{}{}{}",
        " ".repeat(offset),
        "█".repeat(length),
        " ".repeat(BAR_WIDTH - offset - length)
    )
}

/// [`KEY_ATTRIBUTES`] then tags, as present on `span`.
fn key_attributes(span: &FlatSpan) -> Vec<(&str, String)> {
    let tags: BTreeMap<&str, String> = span
        .attributes
        .iter()
        .filter(|(key, _)| key.starts_with(TAG_PREFIX))
        .map(|(key, value)| (key.as_str(), value.to_string()))
        .collect();
    KEY_ATTRIBUTES
        .iter()
        .filter_map(|&key| span.attr(key).map(|value| (key, value.to_string())))
        .chain(tags)
        .collect()
}

/// `type: message` of each exception event, and the status message of an error span without
/// exception events.
fn problems(span: &FlatSpan) -> Vec<String> {
    let exceptions: Vec<String> = span
        .events_named("exception")
        .map(|event| {
            match (
                event.attr_str("exception.type"),
                event.attr_str("exception.message"),
            ) {
                (Some(kind), Some(message)) => format!("{kind}: {message}"),
                (Some(kind), None) => kind.to_owned(),
                (None, Some(message)) => message.to_owned(),
                (None, None) => "exception".to_owned(),
            }
        })
        .collect();
    if exceptions.is_empty() && span.is_error() && !span.status_message.is_empty() {
        return vec![span.status_message.clone()];
    }
    exceptions
}

/// `850 ns`, `212 µs`, `12.30 ms`, `1.50 s`.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos < 1_000 {
        format!("{nanos} ns")
    } else if nanos < 1_000_000 {
        format!("{} µs", nanos / 1_000)
    } else if nanos < 1_000_000_000 {
        format!("{:.2} ms", duration.as_secs_f64() * 1_000.0)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
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

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut truncated: String = text.chars().take(width.saturating_sub(1)).collect();
    truncated.push('…');
    truncated
}

/// Optional ANSI styling.
#[derive(Clone, Copy)]
struct Paint {
    enabled: bool,
}

impl Paint {
    fn style(self, code: &str, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn bold(self, text: &str) -> String {
        self.style("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.style("2", text)
    }

    fn red(self, text: &str) -> String {
        self.style("31", text)
    }

    fn green(self, text: &str) -> String {
        self.style("32", text)
    }

    fn cyan(self, text: &str) -> String {
        self.style("36", text)
    }
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
            events: Vec::new(),
            links: Vec::new(),
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

    #[test]
    fn renders_a_waterfall() {
        let trace = &by_trace(&sample())[0];
        let text = render_tree(trace, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("trace {} · 4 spans · 12.00 ms", "a".repeat(32))
        );
        assert!(lines[1].starts_with("my-function "), "{text}");
        assert!(
            lines[1].contains("12.00 ms  ✔  [████████████████████████]"),
            "{text}"
        );
        assert_eq!(lines[2], "│  faas.trigger               http");
        assert_eq!(lines[3], "│  http.response.status_code  500");
        assert_eq!(lines[4], "│  serverless.tag.tenant      acme");
        assert!(lines[5].starts_with("├─ GET /users/{id} "), "{text}");
        assert!(
            lines[5].contains("10.00 ms  ✘  [  ████████████████████  ]"),
            "{text}"
        );
        assert_eq!(lines[6], "│  │  ✘ DbError: connection refused");
        assert!(lines[7].starts_with("│  └─ db.query "), "{text}");
        assert_eq!(lines[8], "│        ✘ timeout");
        assert!(lines[9].starts_with("└─ flush "), "{text}");
        assert!(
            lines[9].ends_with(&format!("[{}██]", " ".repeat(22))),
            "{text}"
        );
        assert_eq!(lines.len(), 10, "{text}");
        assert!(!text.contains("unrelated"));
        assert!(!text.contains('\x1b'));

        let colored = render_tree(trace, true);
        assert!(colored.contains("\x1b[31m✘\x1b[0m"), "{colored}");
    }

    #[test]
    fn survives_cycles_and_duplicates() {
        let a = span("a", "1", "2", "a", 0, 1);
        let b = span("a", "2", "1", "b", 0, 1);
        let text = render_tree(&[a.clone(), b, a], false);
        assert_eq!(text.lines().count(), 4, "{text}");
        assert_eq!(render_tree(&[], false), "(no spans)\n");
    }

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(Duration::from_nanos(850)), "850 ns");
        assert_eq!(format_duration(Duration::from_micros(212)), "212 µs");
        assert_eq!(format_duration(Duration::from_micros(12_300)), "12.30 ms");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1.50 s");
    }
}
