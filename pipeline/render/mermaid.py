"""Mermaid diagrams drawn from the evidence graph (never from model text)."""

from __future__ import annotations

import re
from collections import Counter

from pipeline.evidence.graph import EvidenceGraph
from pipeline.evidence.model import IMPORTS

_MODULE_KINDS = ("module", "package")
_SEPARATORS = re.compile(r"[./]")
# Characters a Mermaid label shows as written; anything else becomes an entity code, so a
# module name cannot close the label, start a directive or carry markup.
_LABEL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/:* ")


def _label(text: str) -> str:
    return "".join(ch if ch in _LABEL_SAFE else f"#{ord(ch)};" for ch in text)


def module_import_edges(graph: EvidenceGraph) -> tuple[list[str], set[tuple[str, str]]]:
    """Every module qualname, and the internal ``(importer, imported)`` module pairs.

    An import of a symbol counts as an import of the module that defines it; imports of
    external names and a module's imports of itself are left out.
    """
    g = graph.g
    modules = sorted(
        {
            d["qualname"]
            for _, d in g.nodes(data=True)
            if d.get("kind") in _MODULE_KINDS and isinstance(d.get("qualname"), str)
        }
    )
    module_cache: dict[str, str | None] = {}

    def owner(nid: str) -> str | None:
        if nid not in module_cache:
            mid = graph.module_of(nid) if nid in g else None
            q = g.nodes[mid].get("qualname") if mid is not None else None
            module_cache[nid] = q if isinstance(q, str) else None
        return module_cache[nid]

    edges: set[tuple[str, str]] = set()
    for src, dst, data in g.edges(data=True):
        if data.get("kind") != IMPORTS:
            continue
        if g.nodes[dst].get("kind") in ("external", "file", "dependency", None):
            continue
        a, b = owner(src), owner(dst)
        if a is not None and b is not None and a != b:
            edges.add((a, b))
    return modules, edges


def _prefix(name: str, depth: int) -> str:
    """The first ``depth`` dotted (or slashed) parts of ``name``, as written."""
    for count, m in enumerate(_SEPARATORS.finditer(name), 1):
        if count == depth:
            return name[: m.start()]
    return name


def _depth(name: str) -> int:
    return len(_SEPARATORS.findall(name)) + 1


def module_dependency_diagram(graph: EvidenceGraph, *, max_nodes: int = 40) -> str:
    """A fenced Mermaid flowchart of the internal imports between modules.

    Shows the modules that take part in an internal import (every module when there are
    none). With more than ``max_nodes`` of them, modules are merged into their packages,
    one level at a time, until the diagram fits; if even top-level packages do not fit,
    the best-connected ``max_nodes`` are kept and the rest counted in a comment. Node ids
    are ``m0``, ``m1``, ... in name order; labels are escaped. Returns ``""`` when the
    graph has no modules.
    """
    max_nodes = max(1, max_nodes)
    modules, edges = module_import_edges(graph)
    if not modules:
        return ""
    shown = sorted({m for e in edges for m in e}) or modules

    depth = max(_depth(m) for m in shown)
    group = {m: m for m in shown}
    while len(set(group.values())) > max_nodes and depth > 1:
        depth -= 1
        group = {m: _prefix(m, depth) for m in shown}
    members: dict[str, list[str]] = {}
    for m, p in group.items():
        members.setdefault(p, []).append(m)
    labels = {p: p if ms == [p] else f"{p}.*" for p, ms in members.items()}
    collapsed = {(group[a], group[b]) for a, b in edges if group[a] != group[b]}

    nodes = sorted(members)
    omitted = 0
    if len(nodes) > max_nodes:
        degree: Counter[str] = Counter()
        for a, b in collapsed:
            degree[a] += 1
            degree[b] += 1
        keep = set(sorted(nodes, key=lambda n: (-degree[n], n))[:max_nodes])
        omitted = len(nodes) - len(keep)
        nodes = sorted(keep)
        collapsed = {(a, b) for a, b in collapsed if a in keep and b in keep}

    order = {n: i for i, n in enumerate(nodes)}
    ids = {n: f"m{i}" for n, i in order.items()}
    lines = ["```mermaid", "flowchart LR"]
    lines.extend(f'  {ids[n]}["{_label(labels[n])}"]' for n in nodes)
    lines.extend(
        f"  {ids[a]} --> {ids[b]}" for a, b in sorted(collapsed, key=lambda e: (order[e[0]], order[e[1]]))
    )
    if omitted:
        lines.append(f"  %% {omitted} more packages not shown")
    lines.append("```")
    return "\n".join(lines) + "\n"
