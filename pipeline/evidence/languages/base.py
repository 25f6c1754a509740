"""The generic tree-sitter engine shared by every language adapter."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import tree_sitter as ts

from pipeline.evidence.model import FileEvidence, ImportRecord, Symbol, content_hash

_QUERY_DIR = Path(__file__).parent


class LanguageAdapter:
    """Turns one source file into a :class:`FileEvidence`.

    Subclasses set ``language`` and ``query_file`` and implement :meth:`grammar`,
    :meth:`module_name` and :meth:`extract`. Parsers are per thread (tree-sitter parsers
    are not thread-safe); compiled queries are shared.
    """

    language: ClassVar[str] = ""
    query_file: ClassVar[str | None] = None  # file name in this folder, e.g. "python.scm"

    def __init__(self) -> None:
        self._lang = ts.Language(self.grammar())
        self._local = threading.local()
        self._queries: dict[str, ts.Query] = {}

    # -- to implement -------------------------------------------------------------------
    def grammar(self) -> object:
        """Return the grammar capsule, e.g. ``tree_sitter_python.language()``."""
        raise NotImplementedError

    def module_name(self, rel_path: str, files: frozenset[str]) -> str:
        """Return the module's qualified name for ``rel_path`` given every file in the repo."""
        raise NotImplementedError

    def extract(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        """Extract symbols, contains-edges, imports and calls from one file."""
        raise NotImplementedError

    def resolve_import(self, record: ImportRecord, module: str, modules: frozenset[str]) -> str:
        """Return the absolute target of ``record`` (an internal module/symbol qualname when
        it can be resolved against ``modules``, else the external name as written)."""
        return record.module if record.name in (None, "*") else f"{record.module}.{record.name}"

    # -- engine -------------------------------------------------------------------------
    @property
    def ts_language(self) -> ts.Language:
        return self._lang

    def parse(self, source: bytes) -> ts.Tree:
        parser = getattr(self._local, "parser", None)
        if parser is None:
            parser = ts.Parser(self._lang)
            self._local.parser = parser
        return parser.parse(source)

    def query(self, name: str | None = None) -> ts.Query:
        """Compile (once) and return the query file ``name`` (default ``query_file``)."""
        name = name or self.query_file
        if name is None:
            raise ValueError(f"{type(self).__name__} has no query file")
        q = self._queries.get(name)
        if q is None:
            q = ts.Query(self._lang, (_QUERY_DIR / name).read_text(encoding="utf-8"))
            self._queries[name] = q
        return q

    def matches(self, node: ts.Node, name: str | None = None) -> list[tuple[int, dict[str, list[ts.Node]]]]:
        return ts.QueryCursor(self.query(name)).matches(node)

    def captures(self, node: ts.Node, name: str | None = None) -> dict[str, list[ts.Node]]:
        return ts.QueryCursor(self.query(name)).captures(node)

    def new_evidence(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        return FileEvidence(path=rel_path, language=self.language, hash=content_hash(source), module=module)


def text(node: ts.Node | None) -> str:
    """Source text of a node ('' for None); invalid UTF-8 is replaced, never raised."""
    if node is None:
        return ""
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def error_lines(tree: ts.Tree, limit: int = 50) -> list[int]:
    """1-based lines of ERROR/MISSING nodes (at most ``limit``), walking only broken subtrees."""
    lines: list[int] = []
    stack = [tree.root_node]
    while stack and len(lines) < limit:
        node = stack.pop()
        if node.is_error or node.is_missing:
            lines.append(node.start_point[0] + 1)
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return sorted(set(lines))


def span(node: ts.Node) -> tuple[int, int]:
    """1-based inclusive (start, end) lines of a node."""
    return node.start_point[0] + 1, node.end_point[0] + 1


def node_hash(node: ts.Node) -> str:
    return content_hash(node.text or b"")


def iter_named(node: ts.Node, types: Iterable[str]) -> Iterable[ts.Node]:
    wanted = set(types)
    return (c for c in node.named_children if c.type in wanted)


@dataclass(slots=True)
class DefinitionMatch:
    """One definition found by a query: its pattern index, kind, node and name node."""

    pattern: int
    kind: str
    node: ts.Node
    name: ts.Node


@dataclass(slots=True)
class OpenFrame:
    """An open definition during an adapter's nesting sweep (``local``: inside a body)."""

    symbol: Symbol
    local: bool
