//! The waterfall: spans laid out depth-first as a tree, each with its duration, status and a
//! bar placing it on the trace's time axis.

use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap, HashSet},
    fmt::Write,
    time::Duration,
};

use anstyle::{AnsiColor, Style};

use super::waterfall::{WaterfallException, WaterfallSpan};
use crate::attributes::TAG_PREFIX;

/// Attributes shown under a root span, in this order, when present; its
/// `serverless.tag.*` attributes follow.
const KEY_ATTRIBUTES: &[&str] = &[
    "faas.trigger",
    "faas.coldstart",
    "http.request.method",
    "http.route",
    "serverless.endpoint",
    "url.path",
    "http.response.status_code",
    "serverless.outcome",
];

/// How many frames of a stack trace an exception shows.
const FRAMES: usize = 3;
const BAR_WIDTH: usize = 24;
const MAX_LABEL_WIDTH: usize = 56;

pub(super) fn render(spans: &[WaterfallSpan], color: bool) -> String {
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

    let rows = layout(spans);
    header(&mut out, spans, &rows, paint, end - origin);

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
        let (status, bar) = if span.error {
            (paint.red("✘"), paint.red(&bar(span, origin, total)))
        } else {
            (paint.green("✔"), paint.cyan(&bar(span, origin, total)))
        };
        let _ = writeln!(
            out,
            "{}{name}{:padding$}  {:>9}  {status}  [{bar}]",
            paint.dim(&row.prefix),
            "",
            format_duration(Duration::from_nanos(
                span.end_unix_nano.saturating_sub(span.start_unix_nano)
            )),
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
        if span.exceptions.is_empty() && span.error && !span.status_message.is_empty() {
            let _ = writeln!(
                out,
                "{detail_prefix}{}",
                paint.red(&format!("✘ {}", span.status_message))
            );
        }
        for exception in &span.exceptions {
            let _ = writeln!(
                out,
                "{detail_prefix}{}",
                paint.red(&format!("✘ {}", problem(exception)))
            );
            for frame in frames(&exception.stacktrace).take(FRAMES) {
                let _ = writeln!(
                    out,
                    "{detail_prefix}  {}",
                    paint.dim(&format!("at {frame}"))
                );
            }
        }
    }
    out
}

/// `request <id> · trace <id> · N spans · duration`: the ids a developer looks the trace up
/// by in their backend.
fn header(out: &mut String, spans: &[WaterfallSpan], rows: &[Row<'_>], paint: Paint, nanos: u64) {
    let mut trace_ids: Vec<&str> = spans.iter().map(|span| span.trace_id.as_str()).collect();
    trace_ids.sort_unstable();
    trace_ids.dedup();
    let request_ids: Vec<&str> = rows
        .iter()
        .filter(|row| row.depth == 0)
        .filter_map(|row| attribute(row.span, "faas.invocation_id"))
        .collect();
    if let [request_id] = request_ids.as_slice() {
        let _ = write!(out, "request {} · ", paint.bold(request_id));
    }
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
        format_duration(Duration::from_nanos(nanos)),
    );
}

/// One line of the tree.
struct Row<'a> {
    span: &'a WaterfallSpan,
    depth: usize,
    /// Connectors before the name.
    prefix: String,
    /// Connectors before detail lines under the span.
    detail_prefix: String,
}

/// Orders spans depth-first from their roots; every span appears exactly once, even with
/// duplicate ids or parent cycles.
fn layout(spans: &[WaterfallSpan]) -> Vec<Row<'_>> {
    let ids: HashSet<(&str, &str)> = spans
        .iter()
        .map(|span| (span.trace_id.as_str(), span.span_id.as_str()))
        .collect();
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

    let has_parent = |span: &WaterfallSpan| {
        !span.parent_span_id.is_empty()
            && span.parent_span_id != span.span_id
            && ids.contains(&(span.trace_id.as_str(), span.parent_span_id.as_str()))
    };
    let mut roots: Vec<usize> = (0..spans.len())
        .filter(|&index| !has_parent(&spans[index]))
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
    spans: &'a [WaterfallSpan],
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
            let (connector, continuation) = if position + 1 == kids.len() {
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
fn bar(span: &WaterfallSpan, origin: u64, total: u64) -> String {
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

fn attribute<'a>(span: &'a WaterfallSpan, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.as_str())
}

/// [`KEY_ATTRIBUTES`] then tags, as present on `span`.
fn key_attributes(span: &WaterfallSpan) -> Vec<(&str, &str)> {
    let tags: BTreeMap<&str, &str> = span
        .attributes
        .iter()
        .filter(|(key, _)| key.starts_with(TAG_PREFIX))
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    KEY_ATTRIBUTES
        .iter()
        .filter_map(|&key| attribute(span, key).map(|value| (key, value)))
        .chain(tags)
        .collect()
}

/// `type: message`.
fn problem(exception: &WaterfallException) -> String {
    match (exception.kind.is_empty(), exception.message.is_empty()) {
        (false, false) => format!("{}: {}", exception.kind, exception.message),
        (false, true) => exception.kind.clone(),
        (true, false) => exception.message.clone(),
        (true, true) => "exception".to_owned(),
    }
}

/// Frames a stack trace's reader wants first: those of the function's own code, not of the
/// standard library, the async runtime, the Lambda runtime or this SDK.
const MACHINERY: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "backtrace::",
    "tokio::",
    "futures_util::",
    "futures_core::",
    "lambda_runtime::",
    "lambda_http::",
    "tower::",
    "tower_service::",
    "hyper::",
    "hyper_util::",
    "serverless_sdk::",
    "serverless_sdk_http::",
    "anyhow::",
    "__rust",
    "__rustc::",
    "rust_begin_unwind",
    "rust_panic",
    "__libc_start",
];

/// Entry points below `main` that no reader needs.
const ENTRY: &[&str] = &["main", "_start", "start_thread", "clone", "clone3"];

/// `symbol (file:line)` of each of the function's own frames of a Rust backtrace as `std`
/// prints it (`  3: my_crate::handler\n             at ./src/main.rs:42:9`).
fn frames(stacktrace: &str) -> impl Iterator<Item = String> + '_ {
    let mut lines = stacktrace.lines().map(str::trim).peekable();
    std::iter::from_fn(move || {
        loop {
            let line = lines.next()?;
            let Some((number, symbol)) = line.split_once(": ") else {
                continue;
            };
            if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let location = lines
                .next_if(|next| next.starts_with("at "))
                .map(|at| at.trim_start_matches("at "));
            let symbol = collapse_closures(strip_hash(symbol));
            let plain = symbol.trim_start_matches('<');
            if ENTRY.contains(&plain)
                || MACHINERY.iter().any(|prefix| plain.starts_with(prefix))
                || generic_impl(plain)
            {
                continue;
            }
            return Some(match location {
                Some(location) => format!("{symbol} ({location})"),
                None => symbol,
            });
        }
    })
}

/// `F as core::future::Future>::poll`: a blanket implementation's frame, which names no code
/// of the function's own.
fn generic_impl(symbol: &str) -> bool {
    symbol.split_once(" as ").is_some_and(|(ty, _)| {
        !ty.is_empty() && ty.len() <= 2 && ty.bytes().all(|b| b.is_ascii_uppercase())
    })
}

/// `api::{{closure}}` for `api::{{closure}}::{{closure}}`: an async fn's nested closures name
/// the same code.
fn collapse_closures(symbol: &str) -> String {
    const CLOSURE: &str = "::{{closure}}";
    let mut collapsed = symbol.to_owned();
    let twice = CLOSURE.repeat(2);
    while collapsed.contains(&twice) {
        collapsed = collapsed.replace(&twice, CLOSURE);
    }
    collapsed
}

/// A symbol without its `::h0123456789abcdef` hash suffix.
fn strip_hash(symbol: &str) -> &str {
    match symbol.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => symbol,
    }
}

fn by_start(a: &WaterfallSpan, b: &WaterfallSpan) -> Ordering {
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

/// `850 ns`, `212 µs`, `12.30 ms`, `1.50 s`.
pub(super) fn format_duration(duration: Duration) -> String {
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

/// Optional ANSI styling.
#[derive(Clone, Copy)]
struct Paint {
    enabled: bool,
}

impl Paint {
    fn style(self, style: Style, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    fn bold(self, text: &str) -> String {
        self.style(Style::new().bold(), text)
    }

    fn dim(self, text: &str) -> String {
        self.style(Style::new().dimmed(), text)
    }

    fn red(self, text: &str) -> String {
        self.style(AnsiColor::Red.on_default(), text)
    }

    fn green(self, text: &str) -> String {
        self.style(AnsiColor::Green.on_default(), text)
    }

    fn cyan(self, text: &str) -> String {
        self.style(AnsiColor::Cyan.on_default(), text)
    }
}
