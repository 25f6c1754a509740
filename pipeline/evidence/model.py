"""The evidence data model: plain dataclasses that know nothing about how they are filled.

Language adapters (``pipeline.evidence.languages``) fill a :class:`FileEvidence` per
source file; the builder links them into an :class:`~pipeline.evidence.graph.EvidenceGraph`.
Everything here serialises to the public JSON contract (``schema_version`` 1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

# Parameter kinds, named as in ``inspect.Parameter`` (lower-case).
POSITIONAL_ONLY = "positional_only"
POSITIONAL_OR_KEYWORD = "positional_or_keyword"
VAR_POSITIONAL = "var_positional"
KEYWORD_ONLY = "keyword_only"
VAR_KEYWORD = "var_keyword"
PARAM_KINDS = (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, VAR_POSITIONAL, KEYWORD_ONLY, VAR_KEYWORD)

# Symbol kinds shared by every language; adapters may add language-specific ones
# (``struct``, ``interface``, ``trait``, ``enum``, ``type``, ``constant``, ...).
PACKAGE = "package"
MODULE = "module"
CLASS = "class"
FUNCTION = "function"
METHOD = "method"
VARIABLE = "variable"
CALLABLE_KINDS = frozenset({FUNCTION, METHOD})
SCOPE_KINDS = frozenset({PACKAGE, MODULE, CLASS, "struct", "interface", "trait", "enum", "impl"})

# Edge kinds.
CONTAINS = "contains"
IMPORTS = "imports"
CALLS = "calls"
INHERITS = "inherits"
RAISES = "raises"
DEPENDS_ON = "depends_on"
DEFINES = "defines"  # file -> top-level symbol (module) defined in it


def content_hash(data: bytes | str) -> str:
    """Return a short, stable content hash (sha256, 16 hex digits)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(slots=True)
class Param:
    """One parameter of a callable, with annotation and default as source text."""

    name: str
    kind: str = POSITIONAL_OR_KEYWORD
    annotation: str | None = None
    default: str | None = None


@dataclass(slots=True)
class Symbol:
    """A named thing in the code: module, class, function, method, variable, ...

    ``qualname`` is the dotted import path for Python (``pkg.sub.Class.method``) and
    ``<module path>.<name>`` for other languages. ``parent`` is the id of the enclosing
    symbol (``None`` for a module). ``extra`` holds kind-specific facts:

    * callables: ``is_async``, ``is_generator``, ``is_property``, ``is_staticmethod``,
      ``is_classmethod``, ``is_abstract``, ``returns_value`` (a ``return <expr>`` exists),
      ``raises`` (exception names as written), ``calls`` is kept out of here (edges).
    * classes: ``bases`` (as written), ``attributes`` (names of class-level assignments).
    * modules: ``all`` (the ``__all__`` list when literal), ``has_main`` (``__main__`` guard
      or ``__main__.py``), ``has_errors`` (the parser recovered from syntax errors).
    * variables: ``value`` (source text, truncated), ``annotation``, ``is_constant``.
    """

    id: str
    kind: str
    name: str
    qualname: str
    language: str
    file: str
    line_start: int
    line_end: int
    hash: str
    public: bool
    parent: str | None = None
    params: list[Param] | None = None
    returns: str | None = None
    decorators: list[str] = field(default_factory=list)
    docstring: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_callable(self) -> bool:
        return self.kind in CALLABLE_KINDS

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSON contract's node form (``extra`` is shared, not copied)."""
        d: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "qualname": self.qualname,
            "language": self.language,
            "file": self.file,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "hash": self.hash,
            "public": self.public,
            "parent": self.parent,
        }
        if self.params is not None:
            d["params"] = [
                {"name": p.name, "kind": p.kind, "annotation": p.annotation, "default": p.default}
                for p in self.params
            ]
            d["returns"] = self.returns
        d["decorators"] = list(self.decorators)
        d["docstring"] = self.docstring
        d["extra"] = self.extra
        return d


@dataclass(slots=True)
class ImportRecord:
    """An import statement as written, resolved by the builder.

    ``module`` is the imported module path as written (for Python without the leading
    dots; ``level`` counts them). ``name`` is the imported member (``from m import name``)
    or ``None`` for ``import m``; ``"*"`` for a star import. ``alias`` is the local name
    bound in ``scope`` (``None`` when nothing is bound, e.g. a JS side-effect import).
    """

    scope: str
    module: str
    name: str | None
    alias: str | None
    line: int
    level: int = 0


@dataclass(slots=True)
class CallRecord:
    """A call site: ``callee`` is the called expression as written (``self.f``, ``os.path.join``)."""

    caller: str
    callee: str
    line: int


@dataclass(slots=True)
class Edge:
    """A directed relation between two node ids (targets may be external names)."""

    source: str
    target: str
    kind: str
    line: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source, "target": self.target, "kind": self.kind}
        if self.line is not None:
            d["line"] = self.line
        d.update(self.attrs)
        return d


@dataclass(slots=True)
class FileEvidence:
    """Everything one adapter learned from one file, before cross-file linking.

    This is the unit the per-file cache stores, keyed by the file's content hash.
    """

    path: str
    language: str
    hash: str
    module: str
    symbols: list[Symbol] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    imports: list[ImportRecord] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    has_errors: bool = False
    error_lines: list[int] = field(default_factory=list)


@dataclass(slots=True)
class SkippedFile:
    """A file the builder did not parse, and why (``binary``, ``too_large``, ...)."""

    path: str
    reason: str
    detail: str = ""


@dataclass(slots=True)
class Dependency:
    """A declared dependency from a manifest (``pyproject.toml``, ``package.json``, ...)."""

    name: str
    spec: str
    source: str  # manifest path relative to the repo
    group: str = "main"  # "main", an optional-dependency group, "dev", ...
    ecosystem: str = "pypi"


@dataclass(slots=True)
class EntryPoint:
    """A declared entry point: console script, package.json bin, Go main package, ..."""

    name: str
    target: str
    source: str
    kind: str = "console_script"


@dataclass(slots=True)
class ConfigFile:
    """A configuration or CI file found in the repository."""

    path: str
    kind: str  # "pyproject", "requirements", "setup.cfg", "package.json", "go.mod", "cargo", "ci", ...
    data: dict[str, Any] = field(default_factory=dict)
