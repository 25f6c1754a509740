"""``EvidenceGraph``: the networkx graph of a repository and the queries validators need."""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from pipeline.evidence.model import (
    CALLABLE_KINDS,
    CALLS,
    CLASS,
    CONTAINS,
    DEFINES,
    DEPENDS_ON,
    IMPORTS,
    INHERITS,
    RAISES,
    SCHEMA_VERSION,
    Param,
)

_PY_BUILTINS = frozenset(dir(builtins))
_FILE_PREFIX = "file:"
_EXTERNAL_PREFIX = "ext:"
_DEPENDENCY_PREFIX = "dep:"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a name resolved to: an internal node id, or an external/builtin dotted name."""

    qualname: str
    id: str | None = None  # set when the name is a symbol of this repository

    @property
    def internal(self) -> bool:
        return self.id is not None


@dataclass(slots=True)
class Summary:
    files: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    files_with_errors: int = 0
    dependencies: int = 0


class EvidenceGraph:
    """The ground truth about a repository, held in a networkx ``MultiDiGraph``.

    Nodes are symbols (``kind`` module/class/function/...), files (``kind`` ``file``,
    id ``file:<path>``), declared dependencies (``kind`` ``dependency``, id
    ``dep:<ecosystem>:<name>``) and external names (``kind`` ``external``, id
    ``ext:<name>``). Edges carry a ``kind`` (``contains``, ``imports``, ``calls``,
    ``inherits``, ``raises``, ``depends_on``, ``defines``).
    """

    def __init__(
        self,
        repo: str = "",
        graph: nx.MultiDiGraph | None = None,
        *,
        loader: Callable[[], EvidenceGraph] | None = None,
    ) -> None:
        self.repo = repo
        self._g: nx.MultiDiGraph | None = graph if graph is not None or loader else nx.MultiDiGraph()
        self._loader = loader
        self._load_lock = threading.Lock()
        self._meta: dict[str, Any] = {}
        self._invalidate()

    @classmethod
    def deferred(cls, repo: str, loader: Callable[[], EvidenceGraph]) -> EvidenceGraph:
        """A graph that is loaded by ``loader`` on first use (a cached graph nobody has
        queried yet costs nothing: a no-op rebuild only compares fingerprints)."""
        return cls(repo, loader=loader)

    @property
    def loaded(self) -> bool:
        """Is the graph in memory (``False`` only for a deferred graph nobody has used yet)?"""
        return self._g is not None

    @property
    def g(self) -> nx.MultiDiGraph:
        """The networkx ``MultiDiGraph`` itself (loads a deferred graph)."""
        g = self._g
        if g is None:
            g = self._load()
        return g

    @g.setter
    def g(self, value: nx.MultiDiGraph) -> None:
        self._g = value
        self._loader = None
        self._invalidate()

    @property
    def meta(self) -> dict[str, Any]:
        if self._g is None:
            self._load()
        return self._meta

    @meta.setter
    def meta(self, value: dict[str, Any]) -> None:
        self._meta = value

    def _load(self) -> nx.MultiDiGraph:
        with self._load_lock:
            if self._g is None:
                assert self._loader is not None
                other = self._loader()
                self._meta = other._meta
                self._g = other.g
                self._loader = None
                self._invalidate()
        return self._g

    # -- building ---------------------------------------------------------------------
    def add_node(self, node_id: str, **attrs: Any) -> None:
        self.g.add_node(node_id, **attrs)
        self._invalidate()

    def add_edge(self, source: str, target: str, kind: str, **attrs: Any) -> None:
        self.g.add_edge(source, target, key=None, kind=kind, **attrs)
        self._invalidate()

    def append_edges(self, edges: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Add edges (``(source, target, attrs)``, both ends already nodes) and keep the
        lookup indexes current instead of rebuilding them: the bulk path of linking.

        Equivalent to ``g.add_edge(source, target, **attrs)`` for each edge (networkx picks the
        lowest free integer key; keys here are only ever appended, so that is the count), at a
        fraction of the cost on graphs with hundreds of thousands of edges."""
        g = self.g
        succ, pred, nodes = g._succ, g._pred, g._node
        indexed = self._members is not None
        touched = False
        for src, dst, attrs in edges:
            keys = succ[src].get(dst)
            if keys is None:
                keys = succ[src][dst] = pred[dst][src] = {}
                keys[0] = attrs
            else:
                key = len(keys)
                while key in keys:
                    key += 1
                keys[key] = attrs
            kind = attrs.get("kind")
            if kind in (CALLS, RAISES, DEFINES, DEPENDS_ON):
                continue
            touched = True
            if indexed:
                self._index_edge(src, dst, attrs, kind, nodes)
        _clear_nx_cache(g)
        if touched:
            self._forget_resolutions()

    def append_nodes(self, nodes: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Add new nodes (ids not yet in the graph) keeping the lookup indexes current."""
        g = self.g
        for nid, attrs in nodes:
            g._node[nid] = attrs
            g._succ[nid] = {}
            g._pred[nid] = {}
            if self._by_qualname is not None:
                q = attrs.get("qualname")
                if q and attrs.get("kind") not in ("file", "external", "dependency"):
                    self._by_qualname.setdefault(q, nid)
        _clear_nx_cache(g)
        self._forget_resolutions()

    def _forget_resolutions(self) -> None:
        self._inherited = {}
        self._head_memo = {}
        self._resolve_memo = {}
        self._scope_memo = {}
        self._walk_memo: dict[tuple[Resolution, str], Resolution | None] = {}

    def _invalidate(self) -> None:
        self._by_qualname = self._members = self._bindings = None
        self._bases = {}
        self._binding_lines: dict[str, dict[str, int]] = {}
        self._forget_resolutions()

    def _index_edge(
        self, src: str, dst: str, data: dict[str, Any], kind: Any, nodes: dict[str, dict[str, Any]]
    ) -> None:
        assert self._members is not None and self._bindings is not None
        if kind == CONTAINS:
            name = nodes[dst].get("name")
            if name:
                self._members.setdefault(src, {}).setdefault(name, dst)
        elif kind == INHERITS:
            self._bases.setdefault(src, []).append(dst)
        elif kind == IMPORTS and data.get("alias"):
            # Like Python, a later import of a name wins: the one on the highest line.
            alias, line = data["alias"], data.get("line") or 0
            lines = self._binding_lines.setdefault(src, {})
            if line >= lines.get(alias, -1):
                lines[alias] = line
                self._bindings.setdefault(src, {})[alias] = data.get("bound") or data.get("qualname") or dst

    def _index(self) -> None:
        g = self.g
        nodes = g._node
        by_q: dict[str, str] = {}
        for nid, data in nodes.items():
            q = data.get("qualname")
            if q and data.get("kind") not in ("file", "external", "dependency"):
                by_q.setdefault(q, nid)
        self._by_qualname, self._members, self._bindings = by_q, {}, {}
        self._bases = {}
        self._binding_lines = {}
        self._forget_resolutions()
        for src, dst, data in g.edges(data=True):
            kind = data.get("kind")
            if kind in (CONTAINS, INHERITS, IMPORTS):
                self._index_edge(src, dst, data, kind, nodes)

    # -- basic lookups ----------------------------------------------------------------
    def __contains__(self, node_id: object) -> bool:
        return node_id in self.g

    def node(self, node_id: str) -> dict[str, Any]:
        """Return the attributes of a node (``KeyError`` if absent)."""
        return self.g.nodes[node_id]

    def symbols(self, kinds: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Yield every symbol node (files, dependencies and externals excluded)."""
        wanted = set(kinds) if kinds is not None else None
        for _, data in self.g.nodes(data=True):
            kind = data.get("kind")
            if kind in ("file", "external", "dependency"):
                continue
            if wanted is None or kind in wanted:
                yield data

    def id_of(self, qualname: str) -> str | None:
        """Return the node id of an internal symbol by qualified name."""
        if self._by_qualname is None:
            self._index()
        assert self._by_qualname is not None
        return self._by_qualname.get(qualname)

    def exists(self, qualname: str) -> bool:
        """Does ``qualname`` name a symbol of this repository?"""
        return self.id_of(qualname) is not None

    def get(self, qualname: str) -> dict[str, Any] | None:
        nid = self.id_of(qualname)
        return self.g.nodes[nid] if nid else None

    def members(self, node_id: str, *, inherited: bool = False) -> dict[str, str]:
        """Names defined directly in a module or class (``name -> id``); with ``inherited``,
        also those of internal base classes (nearest first, like the MRO). Read-only."""
        if self._members is None:
            self._index()
        assert self._members is not None
        if not inherited:
            return self._members.get(node_id, {})
        cached = self._inherited.get(node_id)
        if cached is not None:
            return cached
        own = dict(self._members.get(node_id, {}))
        seen = {node_id}
        queue = list(self.bases(node_id))
        while queue:
            base = queue.pop(0)
            if base in seen:
                continue
            seen.add(base)
            for name, mid in self._members.get(base, {}).items():
                own.setdefault(name, mid)
            queue.extend(self.bases(base))
        self._inherited[node_id] = own
        return own

    def bindings(self, scope_id: str) -> dict[str, str]:
        """Names bound by imports in a scope: ``alias -> target qualname``."""
        if self._bindings is None:
            self._index()
        assert self._bindings is not None
        return self._bindings.get(scope_id, {})

    def parent(self, node_id: str) -> str | None:
        return self.g.nodes[node_id].get("parent")

    def module_of(self, node_id: str) -> str | None:
        """The id of the module (or package) that contains ``node_id``."""
        cur: str | None = node_id
        while cur is not None:
            if self.g.nodes[cur].get("kind") in ("module", "package"):
                return cur
            cur = self.g.nodes[cur].get("parent")
        return None

    def bases(self, class_id: str) -> list[str]:
        """Base classes of a class as node ids, in declaration order (bases that are not
        symbols of this repository are ``ext:`` nodes)."""
        if self._members is None:
            self._index()
        return self._bases.get(class_id, [])

    def _related(self, node_id: str, kind: str, *, incoming: bool) -> list[str]:
        edges = self.g.in_edges(node_id, data=True) if incoming else self.g.out_edges(node_id, data=True)
        out: list[str] = []
        for src, dst, d in edges:
            if d.get("kind") == kind:
                other = src if incoming else dst
                if other not in out:
                    out.append(other)
        return out

    def importers(self, node_id: str) -> list[str]:
        """Scopes (module/class/function ids) that import ``node_id``."""
        return self._related(node_id, IMPORTS, incoming=True)

    def callers(self, node_id: str) -> list[str]:
        return self._related(node_id, CALLS, incoming=True)

    def callees(self, node_id: str) -> list[str]:
        return self._related(node_id, CALLS, incoming=False)

    def signature(self, node_id_or_qualname: str) -> list[Param] | None:
        """The parameters of a callable, or ``None`` if it is not a callable of this repo.

        For a class, the parameters of its ``__init__`` (own or inherited) without ``self``.
        """
        nid = node_id_or_qualname if node_id_or_qualname in self.g else self.id_of(node_id_or_qualname)
        if nid is None:
            return None
        data = self.g.nodes[nid]
        if data.get("kind") == CLASS:
            init = self.members(nid, inherited=True).get("__init__")
            if init is None:
                return []
            params = self.signature(init) or []
            return params[1:] if params and params[0].name in ("self", "cls") else params
        if data.get("kind") not in CALLABLE_KINDS or data.get("params") is None:
            return None
        return [Param(**p) if isinstance(p, dict) else p for p in data["params"]]

    def dependencies(self) -> list[dict[str, Any]]:
        """Declared dependencies, from every manifest."""
        return [d for _, d in self.g.nodes(data=True) if d.get("kind") == "dependency"]

    def files(self) -> list[dict[str, Any]]:
        return [d for _, d in self.g.nodes(data=True) if d.get("kind") == "file"]

    def has_file(self, path: str) -> bool:
        return f"{_FILE_PREFIX}{path.lstrip('./')}" in self.g or f"{_FILE_PREFIX}{path}" in self.g

    def modules(self) -> list[dict[str, Any]]:
        return [d for d in self.symbols(("module", "package"))]

    # -- name resolution --------------------------------------------------------------
    def resolve(self, name: str, scope: str | None = None) -> Resolution | None:
        """Resolve a (possibly dotted, possibly relative) name as seen from ``scope``.

        ``scope`` is a node id (module, class or function) or ``None`` for the global view.
        Lookup order: the scope chain outwards (members, then names bound by imports),
        ``self``/``cls`` as the enclosing class, leading-dot relative module names,
        fully qualified names, then Python builtins. Attribute access continues through
        class members (inherited too), module members and re-exports. Returns ``None``
        when nothing of that name exists.
        """
        name = name.strip()
        if not name:
            return None
        if scope is not None:
            scope = self._effective_scope(scope)
        key = (name, scope)
        memo = self._resolve_memo
        if key in memo:
            return memo[key]
        found = self._resolve(name, scope)
        memo[key] = found
        return found

    def _effective_scope(self, scope: str) -> str:
        """A callable that binds no names of its own resolves exactly like its parent: use the
        parent, so lookups from the many functions of one class or module share a memo."""
        found = self._scope_memo.get(scope)
        if found is not None:
            return found
        nodes = self.g._node
        if self._members is None:
            self._index()
        assert self._members is not None and self._bindings is not None
        cur = scope
        while True:
            data = nodes.get(cur)
            if data is None or data.get("kind") not in CALLABLE_KINDS:
                break
            if cur in self._members or cur in self._bindings or data.get("parent") is None:
                break
            cur = data["parent"]
        self._scope_memo[scope] = cur
        return cur

    def _resolve(self, name: str, scope: str | None) -> Resolution | None:
        if name.startswith(".") and scope is not None:
            return self._resolve_relative(name, scope)
        head, _, rest = name.partition(".")
        start = self._lookup_head(head, scope) if scope is not None else None
        if start is not None:
            return self._walk(start, rest)
        nid = self.id_of(name)
        if nid is not None:
            return Resolution(name, nid)
        # Longest internal prefix, then attribute walk (``pkg.mod.Class.attr``).
        parts = name.split(".")
        for i in range(len(parts) - 1, 0, -1):
            pid = self.id_of(".".join(parts[:i]))
            if pid is not None:
                return self._walk(Resolution(".".join(parts[:i]), pid), ".".join(parts[i:]))
        if head in _PY_BUILTINS and scope_language(self, scope) in (None, "python"):
            return Resolution(f"builtins.{name}")
        return None

    def _lookup_head(self, head: str, scope: str) -> Resolution | None:
        nodes = self.g._node  # plain dict access: this is the hot path of linking
        cur: str | None = scope
        while cur is not None:
            data = nodes.get(cur)
            if data is None:
                return None
            kind = data.get("kind")
            if kind not in CALLABLE_KINDS:
                # Class and module scopes are shared by many lookups: memoise them.
                key = (head, cur, cur == scope)
                if key in self._head_memo:
                    return self._head_memo[key]
                found = self._lookup_in(head, cur, data, kind, cur == scope)
                if found is not None or data.get("parent") is None:
                    self._head_memo[key] = found
                    return found
            else:
                found = self._lookup_in(head, cur, data, kind, cur == scope)
                if found is not None:
                    return found
            cur = data.get("parent")
        return None

    def _lookup_in(
        self, head: str, cur: str, data: dict[str, Any], kind: Any, is_scope: bool
    ) -> Resolution | None:
        if kind == CLASS and (head in ("self", "cls") or (data.get("name") == head and not is_scope)):
            return Resolution(data["qualname"], cur)
        member = self.members(cur, inherited=kind == CLASS).get(head)
        if member is not None:
            return Resolution(self.g._node[member]["qualname"], member)
        bound = self.bindings(cur).get(head)
        if bound is not None:
            return self._resolve_target(bound)
        return None

    def _resolve_target(self, qualname: str, depth: int = 0) -> Resolution:
        """Follow an import target to the internal symbol it names, through re-exports."""
        nid = self.id_of(qualname)
        if nid is not None:
            return Resolution(qualname, nid)
        if depth < 8:
            mod, _, attr = qualname.rpartition(".")
            mid = self.id_of(mod) if mod else None
            if mid is not None and attr:
                bound = self.bindings(mid).get(attr)
                if bound is not None and bound != qualname:
                    return self._resolve_target(bound, depth + 1)
                member = self.members(mid).get(attr)
                if member is not None:
                    return Resolution(self.g.nodes[member]["qualname"], member)
        return Resolution(qualname)

    def _walk(self, start: Resolution, rest: str) -> Resolution | None:
        """Follow ``rest`` (``attr.attr``) from ``start``; the same walk from the same place is
        asked from many scopes (``os.path.join`` in every module), so it is memoised."""
        if not rest:
            return start
        key = (start, rest)
        memo = self._walk_memo
        if key in memo:
            return memo[key]
        found = memo[key] = self._walk_from(start, rest)
        return found

    def _walk_from(self, start: Resolution, rest: str) -> Resolution | None:
        cur = start
        for attr in [p for p in rest.split(".") if p]:
            if cur.id is None:
                # External: anything below it is external too, and we cannot check it.
                cur = Resolution(f"{cur.qualname}.{attr}")
                continue
            data = self.g.nodes[cur.id]
            member = self.members(cur.id, inherited=data.get("kind") == CLASS).get(attr)
            if member is not None:
                cur = Resolution(self.g.nodes[member]["qualname"], member)
                continue
            bound = self.bindings(cur.id).get(attr)
            if bound is not None:
                cur = self._resolve_target(bound)
                continue
            attrs = {a.get("name") for a in data.get("extra", {}).get("attributes", []) or []}
            if attr in attrs:
                cur = Resolution(f"{cur.qualname}.{attr}")
                continue
            sub = self.id_of(f"{cur.qualname}.{attr}")
            if sub is not None:
                cur = Resolution(f"{cur.qualname}.{attr}", sub)
                continue
            return None
        return cur

    def _resolve_relative(self, name: str, scope: str) -> Resolution | None:
        module = self.module_of(scope)
        if module is None:
            return None
        level = len(name) - len(name.lstrip("."))
        data = self.g.nodes[module]
        base = data["qualname"] if data.get("kind") == "package" else data["qualname"].rpartition(".")[0]
        for _ in range(level - 1):
            base = base.rpartition(".")[0]
        rest = name[level:]
        target = f"{base}.{rest}" if base and rest else base or rest
        return self.resolve(target) if target else None

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The public JSON contract (``schema_version`` 1)."""
        nodes = []
        for nid in sorted(self.g.nodes):
            data = dict(self.g.nodes[nid])
            data["id"] = nid
            nodes.append(data)
        edges = []
        for src, dst, d in self.g.edges(data=True):
            e = {"source": src, "target": dst}
            e.update(d)
            edges.append(e)
        # Stable sort on (source, kind) only: within one node and kind, the order edges were
        # added in is meaningful (bases in declaration order, calls in source order) and a graph
        # loaded back from this JSON must answer callees()/bases() exactly as the built one.
        edges.sort(key=lambda e: (e["source"], e["kind"]))
        return {
            "schema_version": SCHEMA_VERSION,
            "repo": self.repo,
            "meta": self.meta,
            "nodes": nodes,
            "edges": edges,
        }

    def to_json(self, path: Path | None = None, *, indent: int | None = 1) -> str:
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False)
        if path is not None:
            from pipeline.util import atomic_write_text

            atomic_write_text(path, text + "\n")
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceGraph:
        """Load the JSON contract (as written by :meth:`to_dict`); ``ValueError`` if it is not one."""
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            got = data.get("schema_version") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"unsupported evidence schema_version {got!r}")
        nodes, edges = data.get("nodes"), data.get("edges")
        if not isinstance(nodes, list) or not isinstance(edges, list):
            raise ValueError("evidence JSON needs 'nodes' and 'edges' lists")
        graph = cls(str(data.get("repo", "")))
        new_nodes = []
        for node in nodes:
            if not isinstance(node, dict) or not isinstance(node.get("id"), str):
                raise ValueError("every evidence node needs a string 'id'")
            attrs = dict(node)
            new_nodes.append((attrs.pop("id"), attrs))
        graph.append_nodes(dict(new_nodes).items())
        new_edges = []
        for edge in edges:
            if not isinstance(edge, dict):
                raise ValueError("every evidence edge must be an object")
            attrs = dict(edge)
            src, dst = attrs.pop("source", None), attrs.pop("target", None)
            if src not in graph.g._node or dst not in graph.g._node:
                raise ValueError(f"evidence edge {src!r} -> {dst!r} names a missing node")
            new_edges.append((src, dst, attrs))
        graph.append_edges(new_edges)
        meta = data.get("meta", {})
        graph.meta = meta if isinstance(meta, dict) else {}
        return graph

    @classmethod
    def load(cls, path: Path) -> EvidenceGraph:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def summary(self) -> Summary:
        s = Summary()
        for data in self.files():
            s.files += 1
            lang = data.get("language") or "other"
            s.languages[lang] = s.languages.get(lang, 0) + 1
            if data.get("has_errors"):
                s.files_with_errors += 1
        for data in self.symbols():
            s.symbols[data["kind"]] = s.symbols.get(data["kind"], 0) + 1
        for sk in self.meta.get("skipped", []):
            s.skipped[sk["reason"]] = s.skipped.get(sk["reason"], 0) + 1
        s.dependencies = len(self.dependencies())
        return s


def _clear_nx_cache(g: nx.MultiDiGraph) -> None:
    """Drop networkx's cached views after editing its dicts directly (as ``add_edge`` does)."""
    clear = getattr(nx, "_clear_cache", None)
    if clear is not None:
        clear(g)


def scope_language(graph: EvidenceGraph, scope: str | None) -> str | None:
    if scope is None or scope not in graph.g:
        return None
    return graph.g.nodes[scope].get("language")


def file_id(path: str) -> str:
    return f"{_FILE_PREFIX}{path}"


def external_id(name: str) -> str:
    return f"{_EXTERNAL_PREFIX}{name}"


def dependency_id(ecosystem: str, name: str) -> str:
    return f"{_DEPENDENCY_PREFIX}{ecosystem}:{name}"
