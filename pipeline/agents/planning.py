"""Planning: order the work so callees are documented before their callers.

Cycles (mutual recursion, classes that reference each other) are condensed into strongly
connected components, which are documented together at one level.
"""

from __future__ import annotations

import networkx as nx


def plan_levels(symbols: list[str], deps: dict[str, list[str]]) -> list[list[str]]:
    """Group ``symbols`` into levels: every dependency of a symbol is in an earlier level
    or in the same strongly connected component. Deterministic (sorted within levels)."""
    g = nx.DiGraph()
    g.add_nodes_from(symbols)
    for sid, ds in deps.items():
        for d in ds:
            if d in g and d != sid:
                g.add_edge(sid, d)  # sid depends on d
    cond = nx.condensation(g)
    # Depth = longest chain of dependencies below a component; leaves (no deps) are level 0.
    depth: dict[int, int] = {}
    for comp in reversed(list(nx.topological_sort(cond))):
        succ = list(cond.successors(comp))
        depth[comp] = 1 + max((depth[s] for s in succ), default=-1)
    levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for comp, d in depth.items():
        levels[d].extend(cond.nodes[comp]["members"])
    return [sorted(level) for level in levels]
