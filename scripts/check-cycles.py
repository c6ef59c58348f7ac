#!/usr/bin/env python3
"""Fails when a crate's modules import each other in a circle (house style habit 13).

A module is a file under the crate's `src/` (`a/b.rs` and `a/b/mod.rs` are both `a::b`). An edge
A -> B is a `use` (or `pub use`) in A, or a path written in A's code, that names an item of B:

- `crate::x::y::Item` names module `x::y` (the longest path that is a module);
- `super::Item` and `self::Item` resolve the same way, relative to A;
- a path that stops at a module (`use super::grants;`) names that module;
- a `use` path starting with a child module's name (`use grants::token;`) is relative.

Items a parent module re-exports (`pub use grants::token;` in `oauth/mod.rs`) count as the
parent's: a child importing `super::token` depends on the parent, and the parent on the child, so
that is a cycle. Children import from the module that defines the item. `#[cfg(test)]` modules
are skipped (tests may reach anywhere).

Usage: check-cycles.py CRATE_SRC_DIR...   (exit 1 and a report on the first cycle found)
"""

import re
import sys
from pathlib import Path

USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    """Drops `#[cfg(test)] mod … { … }` blocks and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    marker = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")
    while True:
        m = marker.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    return "".join(out)


def expand_use(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)  # drop renames (before the spaces that mark them go)
    tree = re.sub(r"\s+", "", tree)

    def expand(prefix: str, t: str) -> list:
        if "{" not in t:
            return [prefix + t]
        head, rest = t.split("{", 1)
        body = rest[: rest.rfind("}")]
        items, depth, cur = [], 0, ""
        for ch in body:
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            cur += ch
        if cur:
            items.append(cur)
        out = []
        for item in items:
            out += expand(prefix + head, item)
        return out

    return [p.rstrip(":") for p in expand("", tree) if p]


def resolve(module: tuple, path: str, modules: set):
    parts = [p for p in path.split("::") if p]
    if not parts:
        return None
    if module + (parts[0],) in modules:
        # A path relative to this module (`use grants::token;` in the parent of `grants`).
        parts = ["self"] + parts
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    elif parts[0] in ("super", "self"):
        base = module
        rest = parts
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    best = base
    for k in range(1, len(rest) + 1):
        candidate = base + tuple(rest[:k])
        if candidate in modules:
            best = candidate
    return best


def cycles_in(src: Path) -> list:
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f): f for f in files}
    edges = {m: set() for m in modules}
    for m, f in modules.items():
        text = strip_tests(f.read_text())
        paths = []
        for use in USE.findall(text):
            paths += expand_use(use)
        paths += [p0 + p1 for p0, p1 in PATH.findall(text)]
        # Paths through a child module in code (`admin::router()`): the child's name, then `::`.
        for child in {c[-1] for c in modules if c[:-1] == m and c}:
            if re.search(r"(?<![\w:])" + re.escape(child) + r"::", text):
                paths.append("self::" + child)
        for p in paths:
            target = resolve(m, p, set(modules))
            if target is not None and target != m and target in modules:
                edges[m].add(target)
    # Tarjan's strongly connected components.
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in modules:
        if v not in index:
            visit(v)
    return [(comp, edges) for comp in out]


def name(m: tuple) -> str:
    return "::".join(m) or "(crate root)"


def main() -> int:
    failed = False
    for arg in sys.argv[1:]:
        src = Path(arg)
        for comp, edges in cycles_in(src):
            failed = True
            members = set(comp)
            print(f"{src}: modules import each other in a circle:")
            for m in sorted(comp):
                back = sorted(name(t) for t in edges[m] if t in members)
                print(f"  {name(m)} -> {', '.join(back)}")
    if failed:
        print("check-cycles: give what the modules share a module of its own (STYLE.md habit 13)")
        return 1
    print(f"check-cycles: no module cycles in {', '.join(sys.argv[1:])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
