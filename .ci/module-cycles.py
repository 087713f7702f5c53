#!/usr/bin/env python3
"""Checks that the files of a crate's source tree import each other one way: builds the
graph whose edge a -> b says file a names an item of module b (through `crate::`,
`super::`, `self::` or a child module's name), prints it, and fails on any cycle.

Usage: module-cycles.py [SRC_DIR]   (default: sdk-core/src)
"""
import os
import re
import sys
from glob import glob

ROOT = sys.argv[1] if len(sys.argv) > 1 else "sdk-core/src"
IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def module_of(path):
    parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


FILES = {module_of(f): f for f in glob(os.path.join(ROOT, "**", "*.rs"), recursive=True)}


def resolve(path):
    """The longest prefix of `path` that is a module of the tree."""
    for n in range(len(path), 0, -1):
        if tuple(path[:n]) in FILES:
            return tuple(path[:n])
    return ()


def use_paths(tree):
    """Flattens `a::{b, c::{d, e}}` into its paths."""
    if "{" not in tree:
        return [tree]
    head, body = tree[: tree.index("{")], tree[tree.index("{") + 1 : -1]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "{") - (ch == "}")
        cur += ch
    if cur:
        parts.append(cur)
    return [p for part in parts for p in use_paths(head + part)]


def edges_of(module, source):
    # Macro bodies expand in other crates; comments name nothing; a file's test module
    # (last in the file) is not part of the graph the crate is built from.
    source = re.sub(r"macro_rules!\s*\w+\s*\{.*?\n\}\n", "", source, flags=re.S)
    source = re.split(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", source)[0]
    source = re.sub(r"//.*", "", source)
    parent = module[:-1]
    targets = set()

    def add(base, rest):
        segments = [s for s in rest.split("::") if IDENT.match(s)]
        target = resolve(list(base) + segments)
        if target and target != module:
            targets.add(target)

    # `super` inside an inline `mod name { .. }` is the file's own module.
    inline = []
    for found in re.finditer(r"\bmod\s+\w+\s*\{", source):
        depth, end = 0, found.end() - 1
        for end in range(found.end() - 1, len(source)):
            depth += (source[end] == "{") - (source[end] == "}")
            if depth == 0:
                break
        inline.append((found.start(), end))
    for found in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]*);", source, re.S):
        nested = any(start < found.start() < end for start, end in inline)
        for path in use_paths(re.sub(r"\s+", "", found.group(1))):
            path = re.sub(r"as\w+$", "", path)
            head, _, rest = path.partition("::")
            base = {"crate": (), "super": module if nested else parent, "self": module}[head]
            add(base, rest)
    for found in re.finditer(r"\bcrate::((?:\w+::)*\w+)", source):
        add((), found.group(1))
    for child in {m[-1] for m in FILES if len(m) == len(module) + 1 and m[: len(module)] == module}:
        if re.search(r"(?<![:\w])" + child + r"::", source):
            targets.add(module + (child,))
    return targets


GRAPH = {m: edges_of(m, open(f, encoding="utf-8").read()) for m, f in FILES.items()}


def cycles():
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in GRAPH:
        if v not in index:
            visit(v)
    return found


def name(module):
    return "::".join(module) or "crate"


for module in sorted(GRAPH):
    print(f"{name(module)} -> {', '.join(sorted(name(t) for t in GRAPH[module]))}")
found = cycles()
if found:
    for component in found:
        print("cycle:", " <-> ".join(sorted(name(m) for m in component)), file=sys.stderr)
    sys.exit(1)
print(f"{len(GRAPH)} modules, no cycle")
