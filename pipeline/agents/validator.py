"""The rule-based validator: every claim a model writes is checked against the evidence graph.

No model is involved. Each rule has a stable name, a severity and a message that points
at the evidence (``file:line``) that contradicts the claim (see :data:`RULES`). The public
functions are pure: they read the graph (and, when the graph's repository folder is on
disk, the source text of the symbol a claim is about) and return findings; they never
raise, whatever the input.

Precision comes first: a name that exists in the repository but cannot be typed (a local
variable, an attribute of an untyped object) is accepted; only what the evidence
contradicts is reported.
"""

from __future__ import annotations

import builtins
import difflib
import functools
import itertools
import os
import re
import sys
import textwrap
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.agents import refs
from pipeline.agents.records import ApiRecord, Finding, ModuleDoc, Overview, Severity
from pipeline.evidence.graph import EvidenceGraph
from pipeline.evidence.model import (
    CALLABLE_KINDS,
    CALLS,
    CLASS,
    IMPORTS,
    INHERITS,
    KEYWORD_ONLY,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    RAISES,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    Param,
)
from pipeline.evidence.walk import ALWAYS_SKIPPED_DIRS

RULES: dict[str, tuple[Severity, str]] = {
    "unknown-identifier": ("error", "a referenced name does not resolve in the evidence graph"),
    "param-missing": ("error", "a parameter of the signature is not documented"),
    "param-unknown": ("error", "a documented parameter is not in the signature"),
    "param-duplicate": ("warning", "a parameter is documented more than once"),
    "raises-unverified": (
        "error",
        "a documented exception is raised neither by the symbol nor by its callees",
    ),
    "returns-on-procedure": ("error", "a return value is documented for a callable that returns nothing"),
    "yields-on-non-generator": (
        "error",
        "yielded values are documented for a callable that is not a generator",
    ),
    "returns-missing": ("warning", "a callable that returns a value has no returns documentation"),
    "yields-missing": ("warning", "a generator has no yields documentation"),
    "unknown-file": ("error", "a referenced file does not exist in the repository"),
    "unknown-dependency": ("error", "a named dependency is not declared in any manifest"),
    "unknown-module": ("error", "a named module does not exist"),
    "unknown-relation": ("error", "a stated module relation has no import behind it"),
    "example-syntax": ("error", "a code example does not parse"),
    "example-unknown-call": ("error", "a code example calls or imports something that does not exist"),
    "example-unknown-keyword": (
        "error",
        "a code example passes arguments the callee's signature does not take",
    ),
    "example-missing-argument": (
        "error",
        "a code example leaves out an argument the callee's signature requires",
    ),
    "mermaid-edge": ("error", "a diagram edge has no import between the two modules behind it"),
    "empty-summary": ("error", "the summary is empty or a placeholder"),
    "prompt-echo": (
        "error",
        "the output follows instructions or brings in content from outside the repository",
    ),
    "validator-error": ("warning", "part of the input could not be checked (a validator fault, not a claim)"),
}

_BUILTINS = frozenset(dir(builtins))
_TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BUILTIN_EXCEPTIONS = {
    name: obj
    for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException)
}
_STDLIB = frozenset(sys.stdlib_module_names)
_SELF_NAMES = ("self", "cls")
_MODULE_KINDS = ("module", "package")
_NON_SYMBOL_KINDS = ("file", "external", "dependency")
# Always defined in any module or object; not claims about the repository.
_DUNDER_GLOBALS = frozenset(
    {
        "__name__",
        "__file__",
        "__doc__",
        "__all__",
        "__main__",
        "__init__",
        "__dict__",
        "__class__",
        "__module__",
    }
)
# Decorators that leave a callable's signature as written.
_TRANSPARENT_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "property",
        "abstractmethod",
        "cache",
        "lru_cache",
        "cached_property",
        "wraps",
        "override",
        "final",
        "setter",
        "getter",
        "deleter",
        "contextmanager",
        "asynccontextmanager",
        "total_ordering",
        "dataclass",
        "unique",
    }
)
_DATACLASS_MARKERS = frozenset(
    {"dataclass", "define", "frozen", "mutable", "attrs", "s", "dataclass_transform"}
)
# Bases that add no constructor parameters.
_TRANSPARENT_BASES = frozenset({"object", "ABC", "Generic", "Protocol"})
_FIELD_BASES = frozenset({"NamedTuple", "TypedDict", "BaseModel", "BaseSettings", "Struct"})
_PLACEHOLDERS = frozenset(
    {
        "todo",
        "tbd",
        "fixme",
        "xxx",
        "...",
        "…",
        "n/a",
        "na",
        "none",
        "null",
        "-",
        "placeholder",
        "summary",
        "tba",
    }
)
_NOTHING = frozenset({"", "none", "nothing", "n/a", "null", "-", "no return value", "does not return"})
_ITERATOR_HINT = re.compile(r"\b(?:Async)?(?:Iterator|Iterable|Generator)\b")
_INJECTION_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), why)
    for p, why in (
        (
            r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+)?"
            r"(?:previous|prior|above|earlier|preceding|original|system)\s+"
            r"(?:instructions?|prompts?|directions|rules|messages?)",
            "instruction-override text",
        ),
        (r"\bas an ai language model\b", "assistant boilerplate"),
        (r"\bas an ai(?: assistant)?,\s*i\b", "assistant boilerplate"),
        (r"\bi(?:'m| am) (?:just )?an ai(?: language model| assistant)?\b", "assistant boilerplate"),
        (r"<\s*script\b", "a <script> tag"),
        (r"<\s*iframe\b", "an <iframe> tag"),
        (r"<\s*(?:object|embed|meta|form)\b[^>]*>", "raw HTML"),
        (r"\bjavascript\s*:", "a javascript: URL"),
        (r"<\s*[A-Za-z][A-Za-z0-9]*\b[^>]*\bon[a-z]+\s*=", "an HTML event handler"),
        (r"<\s*/?\s*(?:tool_call|tool_use|function_call|tool_result)\b", "a fake tool call"),
        (r"<\s*(?:img|svg|link|style|base)\b[^>]*>", "raw HTML"),
        (
            r"<\|(?:im_start|im_end|endoftext|system|user|assistant|eot_id|start_header_id)\|>",
            "chat-template tokens",
        ),
        (r"\[/?INST\]|<<SYS>>|<start_of_turn>|<end_of_turn>", "chat-template tokens"),
    )
)
# Reserved documentation hosts (RFC 2606) and local addresses bring nothing from outside.
_HARMLESS_URL = re.compile(
    r"^(?:https?://)?(?:[\w-]+\.)*(?:example\.(?:com|org|net)|localhost|127\.0\.0\.1)(?:[:/]|$)"
)
# A phrase that names dependencies, followed directly by a run of backticked names.
_DEPENDENCY_CLAIM = re.compile(
    r"\b(?:depends?\s+(?:on|upon)|depending\s+on|requires?"
    r"|(?:run[- ]?time\s+)?dependenc(?:y|ies)(?:\s+(?:on|is|are))?"
    r"|built\s+on(?:\s+top\s+of)?|third[- ]party\s+(?:packages?|librar(?:y|ies)))\s*:?\s*(?:(?:a|an|the)\s+)?"
    r"((?:`[^`\n]{1,100}`(?:\s*(?:,|and|or|&|\+)\s*)?){1,30})",
    re.IGNORECASE,
)
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_ANCHOR_RE = re.compile(r"<a\s+(?:id|name)\s*=\s*[\"']([^\"']{1,500})[\"']")
_SECTION_KINDS = {
    "parameters": "params",
    "parameter": "params",
    "params": "params",
    "arguments": "params",
    "args": "params",
    "raises": "raises",
    "exceptions": "raises",
    "throws": "raises",
    "returns": "returns",
    "return": "returns",
    "yields": "yields",
    "examples": "examples",
    "example": "examples",
}
_MAX_TEXT = 2_000_000
_MAX_SOURCE_BYTES = 2_000_000
_RAISE_DEPTH = 4


# -- per-graph index ----------------------------------------------------------------------


@dataclass(slots=True)
class _Index:
    """Facts derived once per graph (and rebuilt when the graph changes)."""

    names: dict[str, list[str]] = field(default_factory=dict)  # simple name -> internal node ids
    attr_names: set[str] = field(default_factory=set)  # class attribute names anywhere
    module_ids: dict[str, str] = field(default_factory=dict)  # module qualname -> id
    top_names: set[str] = field(default_factory=set)  # first components of module qualnames
    ext_heads: set[str] = field(default_factory=set)  # first components of external import targets
    ext_aliases: set[str] = field(default_factory=set)  # local names bound to external imports
    dependencies: dict[str, dict[str, Any]] = field(default_factory=dict)  # normalised name -> node
    files: list[str] = field(default_factory=list)
    dirs: set[str] = field(default_factory=set)
    imports: dict[tuple[str, str], str] = field(default_factory=dict)  # (module id, module id) -> "file:line"
    subclasses: dict[str, list[str]] = field(default_factory=dict)
    methods: dict[str, list[str]] = field(default_factory=dict)  # method name -> ids
    repo_root: str | None = None
    sources: dict[str, str | None] = field(default_factory=dict)  # file -> text (or None)
    attribute_calls: dict[str, set[str]] = field(default_factory=dict)  # node id -> method names
    raised: dict[str, dict[str, str]] = field(default_factory=dict)  # node id -> raised names
    repo_words: set[str] | None = None  # built on first need


_INDEX_CACHE: weakref.WeakKeyDictionary[EvidenceGraph, tuple[object, _Index]] = weakref.WeakKeyDictionary()


def _graph_version(graph: EvidenceGraph) -> object:
    """A token that changes whenever the graph does.

    The graph drops its own name index on every change and rebuilds it on the next
    lookup, so that index object identifies a version; counting edges instead would cost
    a walk over all of them on every call.
    """
    graph.id_of("")
    token = getattr(graph, "_by_qualname", None)
    if token is None:
        return (graph.g.number_of_nodes(), graph.g.number_of_edges())
    return token


def _index(graph: EvidenceGraph) -> _Index:
    version = _graph_version(graph)
    cached = _INDEX_CACHE.get(graph)
    # The graph's index object is compared by identity: a rebuilt one may be equal in
    # content while edges changed.
    if cached is not None and (cached[0] is version or (isinstance(version, tuple) and cached[0] == version)):
        return cached[1]
    idx = _build_index(graph)
    _INDEX_CACHE[graph] = (version, idx)
    return idx


def _build_index(graph: EvidenceGraph) -> _Index:
    idx = _Index()
    g = graph.g
    for nid, data in g.nodes(data=True):
        kind = data.get("kind")
        if kind == "file":
            path = str(data.get("path") or nid[5:])
            idx.files.append(path)
            parts = path.split("/")
            for i in range(1, len(parts)):
                idx.dirs.add("/".join(parts[:i]))
            continue
        if kind == "external":
            head = str(data.get("qualname") or data.get("name") or "").split(".", 1)[0]
            if head:
                idx.ext_heads.add(head)
            continue
        if kind == "dependency":
            name = str(data.get("name") or "")
            for variant in _dependency_variants(name):
                idx.dependencies.setdefault(variant, data)
            continue
        name = data.get("name")
        if name:
            idx.names.setdefault(str(name), []).append(nid)
        if kind in _MODULE_KINDS and data.get("qualname"):
            idx.module_ids.setdefault(str(data["qualname"]), nid)
            idx.top_names.add(str(data["qualname"]).split(".", 1)[0])
        if kind == CLASS:
            for attr in (data.get("extra") or {}).get("attributes") or []:
                if isinstance(attr, dict) and attr.get("name"):
                    idx.attr_names.add(str(attr["name"]))
                elif isinstance(attr, str):
                    idx.attr_names.add(attr)
        if kind in CALLABLE_KINDS and name:
            parent = data.get("parent")
            if parent in g and g.nodes[parent].get("kind") == CLASS:
                idx.methods.setdefault(str(name), []).append(nid)
    for src, dst, data in g.edges(data=True):
        kind = data.get("kind")
        if kind == INHERITS and dst in g and g.nodes[dst].get("kind") not in _NON_SYMBOL_KINDS:
            idx.subclasses.setdefault(dst, []).append(src)
        elif kind == IMPORTS:
            _index_import(graph, idx, src, dst, data)
            target = str(g.nodes[dst].get("qualname") or "")
            # A re-export the builder could not follow is not an external name.
            external = g.nodes[dst].get("kind") == "external" and target.split(".", 1)[0] not in idx.top_names
            if data.get("alias") and external:
                idx.ext_aliases.add(str(data["alias"]))
    idx.ext_heads -= idx.top_names  # a re-export the builder left unresolved is still internal
    # Files the builder saw but did not parse (skipped, configuration, CI) exist too.
    meta = graph.meta if isinstance(graph.meta, dict) else {}
    extra_files = [s.get("path") for s in meta.get("skipped") or [] if isinstance(s, dict)]
    extra_files += [c.get("path") for c in meta.get("configs") or [] if isinstance(c, dict)]
    extra_files += list(meta.get("ci_files") or [])
    for path in extra_files:
        if isinstance(path, str) and path:
            idx.files.append(path)
            parts = path.split("/")
            for i in range(1, len(parts)):
                idx.dirs.add("/".join(parts[:i]))
    repo = graph.repo
    if repo and os.path.isabs(repo) and os.path.isdir(repo):
        idx.repo_root = os.path.realpath(repo)
    return idx


def _index_import(graph: EvidenceGraph, idx: _Index, src: str, dst: str, data: dict[str, Any]) -> None:
    g = graph.g
    if src not in g or g.nodes[src].get("kind") in _NON_SYMBOL_KINDS:
        return
    src_mod = _safe_module_of(graph, src)
    if src_mod is None:
        return
    targets: set[str] = set()
    qualname = str(data.get("qualname") or g.nodes[dst].get("qualname") or "")
    if g.nodes[dst].get("kind") not in _NON_SYMBOL_KINDS:
        mod = _safe_module_of(graph, dst)
        if mod is not None:
            targets.add(mod)
    if qualname:
        # A re-exported name (``from pkg import Name``) counts for the package and the
        # module that defines it.
        try:
            res = graph.resolve(qualname)
        except Exception:
            res = None
        if res is not None and res.id is not None:
            mod = _safe_module_of(graph, res.id)
            if mod is not None:
                targets.add(mod)
        parts = qualname.split(".")
        for i in range(len(parts), 0, -1):
            mid = graph.id_of(".".join(parts[:i]))
            if mid is not None and g.nodes[mid].get("kind") in _MODULE_KINDS:
                targets.add(mid)
                break
    where = f"{g.nodes[src].get('file', '')}:{data.get('line') or g.nodes[src].get('line_start') or 1}"
    for t in targets:
        if t != src_mod:
            idx.imports.setdefault((src_mod, t), where)


def _safe_module_of(graph: EvidenceGraph, node_id: str) -> str | None:
    seen: set[str] = set()
    cur: str | None = node_id
    while cur is not None and cur in graph.g and cur not in seen:
        seen.add(cur)
        if graph.g.nodes[cur].get("kind") in _MODULE_KINDS:
            return cur
        cur = graph.g.nodes[cur].get("parent")
    return None


def _dependency_variants(name: str) -> set[str]:
    base = re.sub(r"[-_.]+", "-", name.strip().lower())
    if not base:
        return set()
    out = {base, base.replace("-", "_"), base.replace("-", "")}
    # Distribution names often differ from import names by a prefix (python-dateutil).
    for prefix in ("python-", "py-"):
        if base.startswith(prefix) and len(base) > len(prefix):
            out.add(base[len(prefix) :].replace("-", "_"))
    if "/" in base:  # npm scopes, Go module paths: the last part is the imported name
        out.add(base.rsplit("/", 1)[-1])
    return out


# -- source text ----------------------------------------------------------------------------


def _source(idx: _Index, path: str) -> str | None:
    """Text of a repository file, read without leaving the repository (``None`` if unavailable)."""
    if path in idx.sources:
        return idx.sources[path]
    text: str | None = None
    if idx.repo_root and path and not os.path.isabs(path):
        try:
            full = os.path.realpath(os.path.join(idx.repo_root, path))
            inside = full.startswith(idx.repo_root + os.sep) and os.path.isfile(full)
            if inside and os.path.getsize(full) <= _MAX_SOURCE_BYTES:
                with open(full, "rb") as fh:
                    text = fh.read(_MAX_SOURCE_BYTES).decode("utf-8", "replace")
        except OSError:
            text = None
    idx.sources[path] = text
    return text


def _span_text(graph: EvidenceGraph, idx: _Index, node_id: str | None) -> str:
    """The source text of a symbol (whole file for a module), or ``''``."""
    if node_id is None or node_id not in graph.g:
        return ""
    data = graph.g.nodes[node_id]
    text = _source(idx, str(data.get("file") or ""))
    if not text:
        return ""
    if data.get("kind") in _MODULE_KINDS:
        return text
    lines = text.split("\n")
    try:
        start, end = int(data.get("line_start") or 1), int(data.get("line_end") or len(lines))
    except (TypeError, ValueError):
        return ""
    return "\n".join(lines[max(start - 1, 0) : max(end, start)])


def _evidence_words(graph: EvidenceGraph, idx: _Index, node_id: str | None) -> set[str]:
    """Names the evidence around a symbol spells out: the source of its module (code,
    strings, docstrings), its recorded facts and, for a method, those of its class.

    A bare name found there is something the repository says (a value such as
    ``"too_large"``, a key, a local variable), not an invention.
    """
    if node_id is None or node_id not in graph.g:
        return set()
    words = _fact_words(graph, node_id)
    parent = graph.g.nodes[node_id].get("parent")
    if _kind(graph, parent) == CLASS and parent is not None:
        words |= _fact_words(graph, parent)
    module = _safe_module_of(graph, node_id)
    text = _source(idx, str(graph.g.nodes[module].get("file") or "")) if module is not None else None
    if text:
        words.update(_TOKEN_RE.findall(text))
    return words


def _fact_words(graph: EvidenceGraph, node_id: str) -> set[str]:
    data = graph.g.nodes[node_id]
    parts = [str(data.get("docstring") or ""), str(data.get("returns") or "")]
    for p in data.get("params") or []:
        if isinstance(p, dict):
            parts.extend(str(p.get(k) or "") for k in ("name", "annotation", "default"))
    parts.extend(str(d) for d in data.get("decorators") or [])
    extra = data.get("extra") or {}
    parts.extend(str(r) for r in extra.get("raises") or [])
    parts.extend(str(b) for b in extra.get("bases") or [])
    parts.append(str(extra.get("value") or ""))
    for attr in extra.get("attributes") or []:
        parts.append(str(attr.get("name") if isinstance(attr, dict) else attr))
    return set(_TOKEN_RE.findall("\n".join(parts)))


_LOCAL = threading.local()


def _parse_python(code: str) -> Any:
    """Parse Python with the adapter's grammar (tree-sitter parsers are per thread)."""
    parse = getattr(_LOCAL, "parse", None)
    if parse is None:
        try:
            from pipeline.evidence.languages import get_adapter

            parse = get_adapter("python").parse
        except Exception:  # the adapter is unavailable: the grammar alone is enough
            import tree_sitter as ts
            import tree_sitter_python

            parse = ts.Parser(ts.Language(tree_sitter_python.language())).parse
        _LOCAL.parse = parse
    return parse(code.encode("utf-8", "surrogatepass"))


def _error_lines(tree: Any, limit: int = 20) -> list[int]:
    from pipeline.evidence.languages.base import error_lines

    return error_lines(tree, limit)


# -- helpers ------------------------------------------------------------------------------


def _loc(graph: EvidenceGraph, node_id: str | None) -> str:
    """``file:line`` of a node, or ``''``."""
    if node_id is None or node_id not in graph.g:
        return ""
    data = graph.g.nodes[node_id]
    path = data.get("file") or data.get("path")
    if not path:
        return ""
    return f"{path}:{data.get('line_start') or 1}"


def _qualname(graph: EvidenceGraph, node_id: str | None) -> str:
    if node_id is None or node_id not in graph.g:
        return str(node_id or "")
    return str(graph.g.nodes[node_id].get("qualname") or node_id)


def _at(where: str) -> str:
    return f" ({where})" if where else ""


def _finding(rule: str, message: str, evidence: str = "", claim: str = "", subject: str = "") -> Finding:
    return Finding(rule, RULES[rule][0], message, evidence, claim[:500], subject)


def _resolve(graph: EvidenceGraph, name: str, scope: str | None) -> Any:
    try:
        return graph.resolve(name, scope if scope in graph.g else None)
    except Exception:
        return None


def documentable_params(graph: EvidenceGraph, node_id: str) -> list[Param] | None:
    """The parameters a record of ``node_id`` must document, exactly as the validator checks
    them: a callable's signature without a bound ``self``/``cls``; for a class, its
    constructor's (``__init__``/``__new__``, inherited too, or the fields of a dataclass,
    attrs, NamedTuple, TypedDict or pydantic model). ``None`` when the node takes no
    parameters (a module, a variable) or the evidence cannot tell (a class whose
    constructor comes from another library's base class)."""
    if node_id not in graph.g:
        return None
    data = graph.g.nodes[node_id]
    if data.get("kind") == CLASS:
        return _constructor_params(graph, node_id)
    if data.get("kind") not in CALLABLE_KINDS:
        return None
    try:
        params = graph.signature(node_id)
    except Exception:
        return None
    if params is None:
        return None
    params = [p for p in params if p.name not in ("*", "/", "")]
    if params and params[0].name in _SELF_NAMES and _is_method(graph, node_id):
        extra = data.get("extra") or {}
        if not extra.get("is_staticmethod"):
            params = params[1:]
    return params


def _is_method(graph: EvidenceGraph, node_id: str) -> bool:
    parent = graph.g.nodes[node_id].get("parent")
    return _kind(graph, parent) == CLASS or graph.g.nodes[node_id].get("kind") == "method"


def _kind(graph: EvidenceGraph, node_id: str | None) -> str | None:
    if node_id is None or node_id not in graph.g:
        return None
    return graph.g.nodes[node_id].get("kind")


def _mro(graph: EvidenceGraph, class_id: str) -> list[str]:
    out: list[str] = []
    queue = [class_id]
    while queue and len(out) < 64:
        cur = queue.pop(0)
        if cur in out or cur not in graph.g:
            continue
        out.append(cur)
        queue.extend(b for b in graph.bases(cur) if _kind(graph, b) == CLASS)
    return out


def _constructor_params(graph: EvidenceGraph, class_id: str) -> list[Param] | None:
    mro = _mro(graph, class_id)
    for cid in mro:
        members = graph.members(cid)
        init = members.get("__init__") or members.get("__new__")
        if init is not None:
            params = [p for p in graph.signature(init) or [] if p.name not in ("*", "/", "")]
            return params[1:] if params and params[0].name in _SELF_NAMES else params
    base_names = {name for cid in mro for name in _base_names(graph.g.nodes[cid])}
    if any(_fields_make_constructor(graph.g.nodes[cid]) for cid in mro):
        fields: dict[str, Param] = {}
        for cid in reversed(mro):
            for attr in (graph.g.nodes[cid].get("extra") or {}).get("attributes") or []:
                if not isinstance(attr, dict) or not attr.get("name") or not attr.get("annotation"):
                    continue
                if "ClassVar" in str(attr["annotation"]) or str(attr["name"]).startswith("__"):
                    continue
                fields[str(attr["name"])] = Param(str(attr["name"]), annotation=str(attr["annotation"]))
        return list(fields.values())
    internal = set(mro)
    for cid in mro:
        for _, dst, d in graph.g.out_edges(cid, data=True):
            external = d.get("kind") == INHERITS and dst not in internal
            if external and _last(_qualname(graph, dst)) not in _TRANSPARENT_BASES:
                return None  # an external base decides the constructor
    if base_names - _TRANSPARENT_BASES - {""} and not internal - {class_id}:
        return None  # bases as written that the builder did not link
    return []


def _base_names(data: dict[str, Any]) -> set[str]:
    """A class's bases as written, by last name (``typing.NamedTuple[...]`` -> ``NamedTuple``)."""
    return {_last(_strip_call(str(b)).split("[", 1)[0]) for b in (data.get("extra") or {}).get("bases") or []}


def _fields_make_constructor(data: dict[str, Any]) -> bool:
    """Whether a class's constructor is made from its fields (a dataclass, a NamedTuple, ...)."""
    decorators = {_last(_strip_call(str(d)).lstrip("@")) for d in data.get("decorators") or []}
    return bool(decorators & _DATACLASS_MARKERS or _base_names(data) & _FIELD_BASES)


def _explicit_constructor(graph: EvidenceGraph, class_id: str) -> bool:
    """Whether the class's constructor is a written ``__init__`` or ``__new__`` (whose parameters
    and defaults the evidence holds), not one a decorator or base class makes."""
    for cid in _mro(graph, class_id):
        if _fields_make_constructor(graph.g.nodes[cid]):
            return False
        members = graph.members(cid)
        if "__init__" in members or "__new__" in members:
            return _signature_is_literal(graph, members.get("__init__") or members["__new__"])
    return False


def _strip_call(text: str) -> str:
    text = text.strip()
    paren = text.find("(")
    return text[:paren] if paren > 0 else text


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1].strip()


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    try:
        got = difflib.get_close_matches(word, list(candidates)[:5000], n=1, cutoff=0.75)
    except Exception:
        return None
    return got[0] if got else None


def _norm_param(name: str) -> str:
    name = name.strip().strip("`").strip()
    name = name.split(":", 1)[0].split("=", 1)[0].split("(", 1)[0].strip()
    return name.lstrip("*").strip()


def _is_nothing(text: str | None) -> bool:
    if text is None:
        return True
    t = text.strip().strip("`*_ ").rstrip(".").strip().lower()
    return t in _NOTHING


# -- checking context -------------------------------------------------------------------------


@dataclass(slots=True)
class _Ctx:
    graph: EvidenceGraph
    idx: _Index
    subject: str  # id of what the claims are about (symbol, module, page)
    scope: str | None  # node id names resolve from
    params: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)  # names in the subject's own code
    strict_bare: bool = True  # check plain lowercase words too (a symbol's own prose)
    where: str = ""  # prefix for messages: "summary", "README.md:12"
    page_names: set[str] = field(default_factory=set)  # names the text's own code blocks define
    line_offset: int = 0  # lines of the page above the text being checked
    skip: set[str] = field(default_factory=set)  # names another rule checks (parameter/raises entries)
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule: str, message: str, evidence: str = "", claim: str = "") -> None:
        prefix = f"{self.where}: " if self.where else ""
        self.findings.append(_finding(rule, prefix + message, evidence, claim, self.subject))


def _guard(ctx: _Ctx, what: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as exc:  # a validator fault must not hide the other findings
        ctx.add("validator-error", f"could not check {what}: {type(exc).__name__}: {exc}"[:300])


# -- identifiers ------------------------------------------------------------------------------


def _resolves(ctx: _Ctx, name: str) -> bool:
    g = ctx.graph
    head, _, rest = name.partition(".")
    if not head:
        return False
    if head in _SELF_NAMES:
        if _resolve(g, name, ctx.scope) is not None:
            return True
        # ``self.store.adjust``: an instance attribute set in a method may not be recorded.
        first = rest.split(".", 1)[0]
        return not first or first in ctx.words or first in ctx.idx.attr_names or _has_library_base(ctx)
    if head in ctx.params or head in ctx.page_names:
        return True  # a parameter or a name the page's own code defines: untyped
    if _resolve(g, name, ctx.scope) is not None or _global_resolves(ctx, name):
        return True
    if _is_dunder(name.rsplit(".", 1)[-1]):
        prefix = name.rsplit(".", 1)[0] if "." in name else ""
        return not prefix or _resolves(ctx, prefix)
    if rest and (_resolve(g, head, ctx.scope) is not None or head in ctx.idx.names):
        return False  # the head is known, so what follows it must be too
    # A local variable or value of the code the text is about: what follows it cannot be typed.
    return head in ctx.words or (not rest and _has_library_base(ctx))


def _has_library_base(ctx: _Ctx) -> bool:
    """Is the subject (or the class of a method) derived from a class of another library?
    Then any inherited member is possible (``invoke`` of a LangChain model) and cannot be
    checked. Builtin bases (``Exception``) are known and do not count."""
    g = ctx.graph
    cls = ctx.scope if _kind(g, ctx.scope) == CLASS else _safe_parent(g, ctx.scope) if ctx.scope else None
    if cls is None or _kind(g, cls) != CLASS:
        return False
    for cid in _mro(g, cls):
        for _, dst, d in g.g.out_edges(cid, data=True):
            if d.get("kind") != INHERITS or _kind(g, dst) != "external":
                continue
            q = _qualname(g, dst)
            if not q.startswith("builtins.") and q not in _BUILTINS and _last(q) not in _TRANSPARENT_BASES:
                return True
    return False


def _global_resolves(ctx: _Ctx, name: str) -> bool:
    """Resolution from anywhere in the repository: the head names any internal symbol."""
    g, idx = ctx.graph, ctx.idx
    head, _, rest = name.partition(".")
    for nid in idx.names.get(head, [])[:50]:
        q = _qualname(g, nid)
        if not rest or _resolve(g, f"{q}.{rest}", None) is not None:
            return True
    if rest and any(_kind(g, nid) in ("module", "package") for nid in idx.names.get(head, [])):
        return False  # an internal package shadows a same-named dependency: its members are known
    if head in idx.attr_names:
        return True  # an attribute of some class: what follows cannot be typed
    if head in idx.ext_heads or head in _STDLIB or head in idx.dependencies or head in idx.ext_aliases:
        return True
    # A module named by a suffix of its qualname (``storage.memory.X``).
    if rest:
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            suffix = ".".join(parts[:i])
            for q, mid in idx.module_ids.items():
                if q.endswith("." + suffix):
                    tail = ".".join(parts[i:])
                    if not tail or _resolve(g, f"{_qualname(g, mid)}.{tail}", None) is not None:
                        return True
    return False


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _check_identifier(ctx: _Ctx, ref: refs.Ref) -> None:
    name = ref.value
    if not refs.is_identifier(name):
        return
    head = name.split(".", 1)[0]
    internal_head = (
        head in ctx.idx.names or head in ctx.params or head in _SELF_NAMES or head in ctx.page_names
    )
    if "." in name and not internal_head and (ref.origin == refs.PROSE or not ctx.strict_bare):
        # A dotted name that does not start at something of this repository: in running
        # text a word ("Node.js"), in a README an example (``pkg.sub.Class``).
        return
    if "." not in name and not ctx.strict_bare and not refs.looks_like_code(name):
        return  # a plain word in a README (`make`, `pytest`): not a claim about the code
    if "." not in name and name.isupper() and not ctx.strict_bare:
        return  # environment variables and acronyms
    if name in _DUNDER_GLOBALS or name in _BUILTINS or len(name) == 1 or ref.raw.strip() in ctx.skip:
        return  # one-letter names are placeholders (``f(x)``, ``a.b``)
    if _resolves(ctx, name):
        return
    if not ctx.strict_bare and "." not in name and name in _repo_words(ctx.graph, ctx.idx):
        return  # a key, option or value the code spells out (``schema_version``)
    message, evidence = _explain_unresolved(ctx, name)
    ctx.add("unknown-identifier", message, evidence, ref.raw)


def _repo_words(graph: EvidenceGraph, idx: _Index) -> set[str]:
    """Every name-like token of the repository's source files and recorded facts."""
    if idx.repo_words is not None:
        return idx.repo_words
    words: set[str] = set()
    budget = 64_000_000
    for path in idx.files:
        if budget <= 0:
            break
        kept = path in idx.sources
        text = _source(idx, path)
        if not kept:
            idx.sources.pop(path, None)  # read once for this; do not keep every file
        if text:
            budget -= len(text)
            words.update(_TOKEN_RE.findall(text))
    for _, data in graph.g.nodes(data=True):
        words.update(_TOKEN_RE.findall(repr(data)[:100_000]))
    idx.repo_words = words
    return words


def _explain_unresolved(ctx: _Ctx, name: str) -> tuple[str, str]:
    g = ctx.graph
    parts = name.split(".")
    # The longest prefix that does resolve is the evidence the rest contradicts.
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        res = _resolve(g, prefix, ctx.scope)
        target = res.id if res is not None and res.id is not None else None
        if target is None:
            for nid in ctx.idx.names.get(parts[0], [])[:1]:
                r2 = _resolve(g, ".".join([_qualname(g, nid), *parts[1:i]]), None)
                target = r2.id if r2 is not None else None
        if target is not None:
            members = _member_names(g, target)
            hint = _closest(parts[i], members)
            where = _loc(g, target)
            msg = f"`{name}`: `{_qualname(g, target)}`{_at(where)} has no member `{parts[i]}`"
            if hint:
                msg += f" (did you mean `{hint}`?)"
            return msg, where
    scope_q = _qualname(g, ctx.scope) if ctx.scope else "the repository"
    where = _loc(g, ctx.scope)
    hint = _closest(parts[0], list(ctx.idx.names) + sorted(ctx.params))
    msg = f"`{name}` does not resolve from `{scope_q}`{_at(where)}"
    if hint:
        hint_ids = ctx.idx.names.get(hint, [])
        hint_where = _loc(g, hint_ids[0]) if hint_ids else ""
        msg += f"; did you mean `{hint}`{_at(hint_where)}?"
        where = where or hint_where
    return msg, where


def _member_names(graph: EvidenceGraph, node_id: str) -> list[str]:
    try:
        names = list(graph.members(node_id, inherited=_kind(graph, node_id) == CLASS))
    except Exception:
        names = []
    extra = graph.g.nodes[node_id].get("extra") or {}
    names.extend(str(a.get("name")) for a in extra.get("attributes") or [] if isinstance(a, dict))
    return names


# -- files ----------------------------------------------------------------------------------


def _file_exists(ctx: _Ctx, path: str) -> bool:
    g, idx = ctx.graph, ctx.idx
    p = path.rstrip("/")
    if not p:
        return True
    try:
        if g.has_file(p):
            return True
    except Exception:
        pass
    if p in idx.dirs or any(f == p or f.endswith("/" + p) for f in idx.files):
        return True
    if any(d.endswith("/" + p) for d in idx.dirs):
        return True
    if idx.repo_root:
        try:
            full = os.path.realpath(os.path.join(idx.repo_root, p))
            if full.startswith(idx.repo_root + os.sep) and os.path.exists(full):
                return True
        except (OSError, ValueError):
            pass
    return False


def _check_file(ctx: _Ctx, raw: str, path: str, *, base_dir: str = "") -> None:
    p = refs.normalise_path(path)
    if not p or p.startswith(("/", "~", "$")) or any(c in p for c in "*?<>{}[]|\\ "):
        return
    p = re.sub(r":\d+(?::\d+)?$", "", p)  # ``file.py:42``
    candidates = [p]
    if base_dir:
        joined = os.path.normpath(os.path.join(base_dir, p)).replace(os.sep, "/")
        if not joined.startswith(".."):
            candidates.insert(0, joined)
    stripped = p
    while stripped.startswith("../"):
        stripped = stripped[3:]
    candidates.append(stripped)
    first = stripped.split("/", 1)[0]
    if first in ALWAYS_SKIPPED_DIRS or first.startswith(".pipeline"):
        return
    if any(_file_exists(ctx, c) for c in candidates if c):
        return
    base = stripped.rstrip("/").rsplit("/", 1)[-1]
    if base in ctx.words or stripped in _span_words(ctx):
        return  # a file the code itself names (an output it writes)
    ext = base.rsplit(".", 1)[-1].lower() if "." in base else ""
    nested = "/" in stripped.rstrip("/")
    checkable = ext in refs.STRONG_EXTENSIONS or base in refs.KNOWN_DOTTED_FILE_NAMES
    if not checkable and ctx.idx.repo_root:
        # Other files are only checked where the evidence covers them: a folder of the
        # repository that lacks the file, or a well-known file name at the root.
        parent = stripped.rstrip("/").rsplit("/", 1)[0] if nested else ""
        checkable = (nested and _file_exists(ctx, parent)) or base in refs.KNOWN_FILE_NAMES
    if not checkable:
        return
    hint = _closest(stripped, ctx.idx.files) or _closest(base, [f.rsplit("/", 1)[-1] for f in ctx.idx.files])
    evidence = ""
    msg = f"no file `{stripped}` in the repository"
    if hint:
        full = next((f for f in ctx.idx.files if f == hint or f.endswith("/" + hint)), hint)
        evidence = f"{full}:1"
        msg += f"; closest: `{full}`{_at(evidence)}"
    ctx.add("unknown-file", msg, evidence, raw)


def _span_words(ctx: _Ctx) -> str:
    return _span_text(ctx.graph, ctx.idx, ctx.scope) if ctx.scope else ""


# -- dependencies ---------------------------------------------------------------------------


def _check_dependencies(ctx: _Ctx, text: str) -> set[str]:
    """Check the backticked names a sentence calls dependencies ("depends on `x`", "requires
    `x` and `y`", "dependencies: `x`"); return the spans handled here."""
    handled: set[str] = set()
    prose, _ = refs.split_fences(text)
    for m in _DEPENDENCY_CLAIM.finditer(prose):
        for content, _line in refs.code_spans(m.group(1)):
            name = re.split(r"[\s<>=!~;\[]", content.strip(), maxsplit=1)[0]  # "pydantic>=2" -> "pydantic"
            if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/@-]*", name):
                continue
            if content in handled or not _is_dependency_claim(ctx, content, name):
                continue
            head = name.split(".", 1)[0]
            handled.add(content)
            variants = _dependency_variants(name)
            if variants & set(ctx.idx.dependencies) or head in _STDLIB or head in ctx.idx.ext_heads:
                continue
            declared = sorted({str(d.get("name")) for d in ctx.idx.dependencies.values()})
            manifests = _manifest_files(ctx.graph)
            evidence = f"{manifests[0]}:1" if manifests else ""
            msg = f"`{name}` is named as a dependency but no manifest declares it"
            if declared:
                msg += f" (declared: {', '.join(declared[:12])}{' …' if len(declared) > 12 else ''})"
            if evidence:
                msg += f"; see {evidence}"
            ctx.add("unknown-dependency", msg, evidence, content)
    return handled


def _is_dependency_claim(ctx: _Ctx, content: str, name: str) -> bool:
    """Is a backticked name in a dependency sentence a package name (not code, a file, a value)?"""
    if name != content.strip() and not re.match(r"^[\w.@/-]+\s*(?:[<>=!~]=?|\[)", content.strip()):
        return False  # an expression or a command, not a package (a version spec is fine)
    if name in _BUILTINS or refs.is_keyword(name) or name.isupper() or not re.search(r"[a-z]", name):
        return False
    got = refs.classify(name)
    if got is not None and got[0] != refs.IDENTIFIER:
        return False  # a file name
    head = name.split(".", 1)[0]
    idx = ctx.idx
    if head in idx.top_names or head in idx.names or head in idx.attr_names:
        return False  # something of this repository named in the sentence
    if head in ctx.params or head in ctx.words or head in ctx.page_names:
        return False
    if (
        refs.is_identifier(name)
        and _resolve(ctx.graph, name, ctx.scope) is not None
        and head not in idx.ext_heads
    ):
        return False
    return refs.looks_like_code(name) is False or "-" in name or "/" in name or name.islower()


def _manifest_files(graph: EvidenceGraph) -> list[str]:
    out = []
    for src, _, d in graph.g.edges(data=True):
        if d.get("kind") == "depends_on":
            out.append(str(graph.g.nodes[src].get("path") or src.removeprefix("file:")))
    return sorted(set(out))


# -- modules and relations ----------------------------------------------------------------------


def _find_modules(ctx: _Ctx, name: str) -> list[str]:
    """Module ids a name (dotted, a file path or a folder) stands for; ``[]`` if none."""
    g, idx = ctx.graph, ctx.idx
    n = name.strip().strip("`").strip()
    for suffix in (".*", "/*", "/**", "/"):
        if n.endswith(suffix):
            n = n[: -len(suffix)]
    if not n:
        return []
    if n in idx.module_ids:
        return [idx.module_ids[n]]
    if "/" in n or _SOURCE_SUFFIX.search(n):
        path = refs.normalise_path(n)
        out = [
            mid for mid in idx.module_ids.values() if any(_path_names(f, path) for f in _module_files(g, mid))
        ]
        if out:
            return out
        n = _SOURCE_SUFFIX.sub("", path).replace("/", ".")
        if n in idx.module_ids:
            return [idx.module_ids[n]]
    out = [mid for q, mid in idx.module_ids.items() if q.endswith("." + n)]
    if out:
        return out
    # A namespace package (a folder without ``__init__``) has no node of its own.
    return [mid for q, mid in idx.module_ids.items() if q.startswith(n + ".")]


_SOURCE_SUFFIX = re.compile(r"\.(?:py|pyi|js|mjs|cjs|jsx|ts|tsx|mts|cts|go|rs|java)$")


def _path_names(file: str, path: str) -> bool:
    """Does ``path`` (as written: full, a tail, without extension, or a folder) name ``file``?"""
    if not file:
        return False
    stem = _SOURCE_SUFFIX.sub("", file)
    for candidate in (file, stem):
        if candidate == path or candidate.endswith("/" + path):
            return True
    return file.startswith(path + "/") or ("/" + path + "/") in file


def _module_files(graph: EvidenceGraph, mid: str) -> set[str]:
    data = graph.g.nodes[mid]
    files = {str(data.get("file") or "")}
    files.update(str(f) for f in data.get("files") or [])
    return files


def _expand(ctx: _Ctx, mids: list[str]) -> set[str]:
    out = set(mids)
    prefixes = [_qualname(ctx.graph, m) + "." for m in mids]
    for q, mid in ctx.idx.module_ids.items():
        if any(q.startswith(p) for p in prefixes):
            out.add(mid)
    return out


def _import_between(ctx: _Ctx, sources: set[str], targets: set[str]) -> str | None:
    for (a, b), where in ctx.idx.imports.items():
        if a in sources and b in targets:
            return where
    return None


def _unknown_module(ctx: _Ctx, name: str, claim: str) -> None:
    clean = name.strip().strip("`").strip()
    hint = _closest(clean, ctx.idx.module_ids)
    evidence = _loc(ctx.graph, ctx.idx.module_ids[hint]) if hint else ""
    msg = f"no module `{clean}` in the repository"
    parts = clean.replace("/", ".").split(".")
    for i in range(len(parts) - 1, 0, -1):
        parent = ctx.idx.module_ids.get(".".join(parts[:i]))
        if parent is not None:
            where = _loc(ctx.graph, parent)
            msg = f"`{_qualname(ctx.graph, parent)}`{_at(where)} has no module `{parts[i]}`"
            evidence = evidence or where
            break
    if hint:
        msg += f"; closest: `{hint}`{_at(_loc(ctx.graph, ctx.idx.module_ids[hint]))}"
    ctx.add("unknown-module", msg, evidence, claim)


def _check_relation(ctx: _Ctx, source: str, target: str, claim: str) -> None:
    src, dst = _find_modules(ctx, source), _find_modules(ctx, target)
    if not src:
        _unknown_module(ctx, source, claim)
    if not dst:
        _unknown_module(ctx, target, claim)
    if not src or not dst:
        return
    s_set, t_set = _expand(ctx, src), _expand(ctx, dst)
    if _import_between(ctx, s_set, t_set) is not None:
        return
    evidence = _loc(ctx.graph, src[0])
    msg = f"`{source}`{_at(evidence)} does not import `{target}`"
    reverse = _import_between(ctx, t_set, s_set)
    if reverse is not None:
        msg += f"; the import goes the other way ({reverse})"
        evidence = reverse
    ctx.add("unknown-relation", msg, evidence, claim)


_MERMAID_ARROW = re.compile(
    r"\s*(?:<?[-=.]{2,}[->ox]|--\s*[^->|]{1,80}?\s*-->|<?-\.+->|~~~)(?:\|[^|]{0,200}\|)?\s*"
)
_MERMAID_NODE = re.compile(
    r"^\s*([A-Za-z0-9_.:/-]+)\s*(?:(\[\[|\[\(|\(\(|\[/|\[\\|\[|\(\[|\(|\{\{|\{|>)(.*?)[\]\)\}/\\]*)?\s*$"
)


def _check_mermaid(ctx: _Ctx, code: str, line: int) -> None:
    labels: dict[str, str] = {}
    edges: list[tuple[str, str, str, int]] = []
    for k, raw_line in enumerate(code.split("\n"), 1):
        text = raw_line.split("%%", 1)[0].strip().rstrip(";")
        if not text or re.match(
            r"^(?:graph|flowchart|subgraph|end|classDef|class|style|linkStyle|click)\b", text
        ):
            continue
        for stmt in text.split(";"):
            pieces = _MERMAID_ARROW.split(stmt)
            nodes: list[str] = []
            for piece in pieces:
                for part in piece.split("&"):
                    m = _MERMAID_NODE.match(part)
                    if m is None:
                        continue
                    node_id = m.group(1)
                    if m.group(3):
                        labels[node_id] = m.group(3).strip().strip("\"'`")
                    nodes.append(node_id)
            has_arrow = len(pieces) > 1 and not re.search(r"~~~|---(?!>)", stmt)
            if has_arrow:
                edges.extend((a, b, stmt, line + k) for a, b in itertools.pairwise(nodes))
    found: dict[str, list[str]] = {}

    def module(node_id: str) -> list[str]:
        if node_id not in found:
            found[node_id] = _mermaid_module(ctx, node_id, labels)
        return found[node_id]

    checked: set[tuple[str, str]] = set()
    for a, b, stmt, at_line in edges:
        if (a, b) in checked:
            continue
        checked.add((a, b))
        ma, mb = module(a), module(b)
        if not ma or not mb:
            continue  # a node that is not a module: a concept, not a checkable claim
        sa, sb = _expand(ctx, ma), _expand(ctx, mb)
        if _import_between(ctx, sa, sb) or _import_between(ctx, sb, sa):
            continue
        evidence = _loc(ctx.graph, ma[0])
        qa, qb = _qualname(ctx.graph, ma[0]), _qualname(ctx.graph, mb[0])
        msg = f"diagram edge on line {at_line}: no import between `{qa}`{_at(evidence)}"
        ctx.add("mermaid-edge", f"{msg} and `{qb}`{_at(_loc(ctx.graph, mb[0]))}", evidence, stmt.strip())


def _mermaid_module(ctx: _Ctx, node_id: str, labels: dict[str, str]) -> list[str]:
    for cand in (labels.get(node_id, ""), node_id, node_id.replace("_", ".")):
        cand = re.sub(r"<[^>]*>", " ", cand).strip().split(" ")[0] if cand else ""
        cand = cand.removesuffix(".*")
        if cand and (refs.is_identifier(cand) or "/" in cand):
            found = _find_modules(ctx, cand)
            if found:
                return found
    return []


# -- examples -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Example:
    names: set[str] = field(default_factory=set)  # names the example binds
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualname
    external: set[str] = field(default_factory=set)  # local names bound to external modules
    types: dict[str, str] = field(default_factory=dict)  # variable -> internal class id
    assigned: dict[str, int] = field(default_factory=dict)


def _check_example(
    ctx: _Ctx, code: str, label: str, module_scope: str | None, *, signatures: bool = False
) -> None:
    lang, body = refs.unfence(code)
    if lang is not None and lang not in ("", "python", "py", "python3", "pycon", "pyi", "doctest"):
        return
    body = refs.strip_doctest(body)
    if not body.strip():
        return
    tree = _parse_python(body)
    bad = _error_lines(tree)
    if bad and signatures and _is_signature_block(body):
        return  # a rendered signature (``def f(a) -> R`` without a body), not an example
    if bad:
        first = bad[0]
        lines = body.split("\n")
        shown = lines[first - 1].strip() if 0 < first <= len(lines) else ""
        where = _loc(ctx.graph, ctx.subject if ctx.subject in ctx.graph.g else None)
        msg = f"{label} does not parse (line {first}: `{shown[:80]}`)"
        if where:
            msg += f"; it documents `{_qualname(ctx.graph, ctx.subject)}` ({where})"
        ctx.add("example-syntax", msg, where, shown)
        return
    ex = _Example()
    _collect_bindings(tree.root_node, ex)
    for node in _walk_nodes(tree.root_node):
        if node.type in ("import_statement", "import_from_statement"):
            _check_example_import(ctx, node, ex, label)
    _infer_types(ctx, tree.root_node, ex, module_scope)
    for node in _walk_nodes(tree.root_node):
        if node.type == "call":
            _check_call(ctx, node, ex, label, module_scope)


def _is_signature_block(code: str) -> bool:
    lines = [ln for ln in code.split("\n") if ln.strip()]
    while lines and lines[0].lstrip().startswith("@"):
        lines = lines[1:]
    head = "\n".join(lines).strip()
    if not head:
        return False
    head = head.removeprefix("property ")
    if re.match(r"(?:async\s+)?def\s|class\s", head):
        head += ":\n    ..."
    return not _error_lines(_parse_python(head))


def _walk_nodes(root: Any) -> Iterator[Any]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def _t(node: Any) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _collect_bindings(root: Any, ex: _Example) -> None:
    for node in _walk_nodes(root):
        kind = node.type
        if kind in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
            for name in _target_names(node.child_by_field_name("left")):
                ex.names.add(name)
                if kind == "assignment":
                    ex.assigned[name] = ex.assigned.get(name, 0) + 1
        elif kind in ("function_definition", "class_definition"):
            ex.names.update(_target_names(node.child_by_field_name("name")))
            ex.names.update(_parameter_names(node.child_by_field_name("parameters")))
        elif kind == "lambda":
            ex.names.update(_parameter_names(node.child_by_field_name("parameters")))
        elif kind == "named_expression":
            ex.names.update(_target_names(node.child_by_field_name("name")))
        elif kind == "as_pattern":
            for child in node.children:
                if child.type == "as_pattern_target":
                    for sub in child.named_children:
                        ex.names.update(_target_names(sub))
        elif kind in ("global_statement", "nonlocal_statement", "splat_pattern", "keyword_pattern"):
            ex.names.update(_t(c) for c in node.named_children if c.type == "identifier")
        elif kind == "case_pattern" and node.named_child_count == 1:
            child = node.named_children[0]
            if child.type == "dotted_name" and child.named_child_count == 1:
                ex.names.add(_t(child))  # a capture pattern: ``case x:``


def _target_names(node: Any) -> list[str]:
    """Names an assignment target binds (``a``, ``a, (b, *c)``); ``x.y`` and ``x[0]`` bind none."""
    if node is None:
        return []
    if node.type == "identifier":
        return [_t(node)]
    if node.type in (
        "pattern_list",
        "tuple_pattern",
        "list_pattern",
        "tuple",
        "list",
        "list_splat_pattern",
        "parenthesized_expression",
        "list_splat",
        "expression_list",
    ):
        out: list[str] = []
        for child in node.named_children:
            out.extend(_target_names(child))
        return out
    return []


def _parameter_names(node: Any) -> list[str]:
    if node is None:
        return []
    out: list[str] = []
    for child in node.named_children:
        if child.type == "identifier":
            out.append(_t(child))
        elif child.type in ("default_parameter", "typed_default_parameter"):
            out.extend(_target_names(child.child_by_field_name("name")))
        elif child.type in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern"):
            for sub in child.named_children:
                if sub.type == "identifier":
                    out.append(_t(sub))
                    break
                if sub.type in ("list_splat_pattern", "dictionary_splat_pattern"):
                    out.extend(_parameter_names(sub))
                    break
    return out


def _check_example_import(ctx: _Ctx, node: Any, ex: _Example, label: str) -> None:
    g, idx = ctx.graph, ctx.idx
    if node.type == "import_statement":
        for child in node.named_children:
            if child.type == "dotted_name":
                module, alias = _t(child), _t(child).split(".", 1)[0]
                bound = alias
            elif child.type == "aliased_import":
                module = _t(child.child_by_field_name("name"))
                alias = _t(child.child_by_field_name("alias"))
                bound = module
            else:
                continue
            ok, internal = _import_target_ok(ctx, module)
            if not ok:
                _report_bad_import(ctx, module, label, _t(node))
                ex.names.add(alias)
                continue
            if internal:
                ex.imports[alias] = bound
            else:
                ex.external.add(alias)
        return
    module_node = node.child_by_field_name("module_name")
    module = _t(module_node)
    if module.startswith("."):
        res = _resolve(g, module, ctx.scope)
        module = res.qualname if res is not None else module.lstrip(".")
    names: list[tuple[str, str]] = []
    for child in node.named_children:
        if child == module_node:
            continue
        if child.type == "dotted_name":
            names.append((_t(child), _t(child)))
        elif child.type == "aliased_import":
            names.append((_t(child.child_by_field_name("name")), _t(child.child_by_field_name("alias"))))
        elif child.type == "wildcard_import":
            ok, internal = _import_target_ok(ctx, module)
            if not ok:
                _report_bad_import(ctx, module, label, _t(node))
            # names from a star import cannot be listed: accept anything unbound
            ex.external.add("*")
    ok, internal = _import_target_ok(ctx, module)
    if not ok:
        _report_bad_import(ctx, module, label, _t(node))
        ex.names.update(alias for _, alias in names)
        return
    for name, alias in names:
        if not internal:
            ex.external.add(alias)
            continue
        full = f"{module}.{name}"
        res = _resolve(g, full, None)
        if res is None and module in idx.module_ids:
            # ``from pkg import submodule`` of a namespace-like package
            res = _resolve(g, full, idx.module_ids[module])
        if res is None:
            _report_bad_import(ctx, full, label, _t(node))
            ex.names.add(alias)
            continue
        ex.imports[alias] = res.qualname


def _import_target_ok(ctx: _Ctx, module: str) -> tuple[bool, bool]:
    """``(exists, internal)`` for a module named in an example's import."""
    head = module.split(".", 1)[0]
    if head in ctx.idx.top_names or ctx.graph.id_of(module) is not None:
        return _resolve(ctx.graph, module, None) is not None, True
    if head in _STDLIB or head in ctx.idx.ext_heads or _dependency_variants(head) & set(ctx.idx.dependencies):
        return True, False
    return False, False


def _report_bad_import(ctx: _Ctx, name: str, label: str, statement: str) -> None:
    msg, evidence = _explain_unresolved(ctx, name)
    if name.split(".", 1)[0] not in ctx.idx.top_names:
        msg = f"`{name}`, which is neither a module of this repository, a declared dependency"
        msg += " nor the standard library"
        evidence = ""
    ctx.add("example-unknown-call", f"{label} imports {msg}", evidence, statement)


def _infer_types(ctx: _Ctx, root: Any, ex: _Example, module_scope: str | None) -> None:
    """``x = SomeInternalClass(...)`` (bound once): the type of ``x`` is known."""
    for node in _walk_nodes(root):
        if node.type != "assignment":
            continue
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None or left.type != "identifier" or right.type != "call":
            continue
        name = _t(left)
        if ex.assigned.get(name, 0) != 1:
            continue
        target = _example_target(ctx, _t(right.child_by_field_name("function")), ex, module_scope)
        if target is not None and _kind(ctx.graph, target) == CLASS:
            ex.types[name] = target


def _example_target(ctx: _Ctx, dotted: str, ex: _Example, module_scope: str | None) -> str | None:
    """The internal node a dotted name in an example resolves to, if known."""
    if not refs.is_identifier(dotted):
        return None
    head, _, rest = dotted.partition(".")
    g = ctx.graph
    if head in ex.imports:
        res = _resolve(g, f"{ex.imports[head]}.{rest}" if rest else ex.imports[head], None)
        return res.id if res is not None else None
    if head in ex.names or head in ex.external:
        return None
    res = _resolve(g, dotted, module_scope)
    if res is not None:
        return res.id
    for nid in ctx.idx.names.get(head, [])[:5]:
        if _kind(g, nid) in (*_MODULE_KINDS, CLASS) or _kind(g, _safe_parent(g, nid)) in _MODULE_KINDS:
            r2 = _resolve(g, f"{_qualname(g, nid)}.{rest}" if rest else _qualname(g, nid), None)
            if r2 is not None:
                return r2.id
    return None


def _safe_parent(graph: EvidenceGraph, node_id: str) -> str | None:
    return graph.g.nodes[node_id].get("parent") if node_id in graph.g else None


def _check_call(ctx: _Ctx, node: Any, ex: _Example, label: str, module_scope: str | None) -> None:
    fn = node.child_by_field_name("function")
    if fn is None:
        return
    g = ctx.graph
    bound_instance = False
    target: str | None = None
    if fn.type == "identifier" or (fn.type == "attribute" and refs.is_identifier(_t(fn))):
        dotted = _t(fn)
        head, _, rest = dotted.partition(".")
        if head in ex.types:
            cls = ex.types[head]
            first, _, deeper = rest.partition(".")
            if first:
                member = _member_of(g, cls, first)
                if member is None:
                    where = _loc(g, cls)
                    hint = _closest(first, _member_names(g, cls))
                    msg = f"{label} calls `{dotted}()`: `{_qualname(g, cls)}`{_at(where)}"
                    msg += f" has no member `{first}`"
                    ctx.add(
                        "example-unknown-call",
                        msg + (f" (did you mean `{hint}`?)" if hint else ""),
                        where,
                        _t(node),
                    )
                    return
                if deeper:
                    return
                target, bound_instance = member, True
            else:
                return
        elif head in ex.names or head in ex.external or "*" in ex.external or head in _SELF_NAMES:
            return
        elif head in ex.imports:
            target = _example_target(ctx, dotted, ex, module_scope)
            if (
                target is None
                and _resolve(g, f"{ex.imports[head]}.{rest}" if rest else ex.imports[head], None) is None
            ):
                msg, evidence = _explain_unresolved(
                    ctx, f"{ex.imports[head]}.{rest}" if rest else ex.imports[head]
                )
                ctx.add("example-unknown-call", f"{label} calls `{dotted}()`: {msg}", evidence, _t(node))
                return
        else:
            if head in _BUILTINS and not rest:
                return
            res = _resolve(g, dotted, module_scope)
            if res is None:
                sub = _Ctx(g, ctx.idx, ctx.subject, module_scope, strict_bare=True)
                if head in ctx.params or _global_resolves(sub, dotted):
                    # Known somewhere, but not from this example's imports or scope: which symbol
                    # it runs is a guess, too weak to judge its arguments by.
                    return
                else:
                    msg, evidence = _explain_unresolved(sub, dotted)
                    ctx.add("example-unknown-call", f"{label} calls `{dotted}()`: {msg}", evidence, _t(node))
                    return
            else:
                target = res.id
    elif fn.type == "attribute":
        obj = fn.child_by_field_name("object")
        attr = _t(fn.child_by_field_name("attribute"))
        if obj is not None and obj.type == "call":
            inner = _example_target(ctx, _t(obj.child_by_field_name("function")), ex, module_scope)
            if inner is not None and _kind(g, inner) == CLASS:
                member = _member_of(g, inner, attr)
                if member is None:
                    where = _loc(g, inner)
                    msg = f"{label} calls `.{attr}()` on `{_qualname(g, inner)}`{_at(where)}"
                    msg += ", which has no such member"
                    ctx.add("example-unknown-call", msg, where, _t(node))
                    return
                target, bound_instance = member, True
    if target is not None:
        _check_arguments(ctx, node, target, bound_instance, label)


def _member_of(graph: EvidenceGraph, class_id: str, name: str) -> str | None:
    """The id of a class member (inherited too); ``''`` when it exists but has no node
    (an attribute, a member of an external base); ``None`` when it does not exist."""
    try:
        member = graph.members(class_id, inherited=True).get(name)
    except Exception:
        member = None
    if member is not None:
        return member
    for cid in _mro(graph, class_id):
        extra = graph.g.nodes[cid].get("extra") or {}
        if any(isinstance(a, dict) and a.get("name") == name for a in extra.get("attributes") or []):
            return ""
    if _is_dunder(name) or _has_external_base(graph, class_id):
        return ""
    return None


def _has_external_base(graph: EvidenceGraph, class_id: str) -> bool:
    for cid in _mro(graph, class_id):
        for _, dst, d in graph.g.out_edges(cid, data=True):
            external = d.get("kind") == INHERITS and _kind(graph, dst) == "external"
            if external and _last(_qualname(graph, dst)) not in _TRANSPARENT_BASES:
                return True
    return False


def _check_arguments(ctx: _Ctx, call: Any, target: str, bound_instance: bool, label: str) -> None:
    g = ctx.graph
    if not target or target not in g.g:
        return
    data = g.g.nodes[target]
    kind = data.get("kind")
    if kind not in CALLABLE_KINDS and kind != CLASS:
        return
    if kind in CALLABLE_KINDS and not _signature_is_literal(g, target):
        return
    # Whether every parameter's default is known: a dataclass's fields are read without theirs.
    defaults_known = data.get("language") == "python"
    unbound = False  # an instance method called on its class: the first argument is `self`
    if kind == CLASS:
        params = _constructor_params(g, target)
        defaults_known = defaults_known and _explicit_constructor(g, target)
    else:
        try:
            params = g.signature(target)
        except Exception:
            params = None
        if params is None:
            return
        params = [p for p in params if p.name not in ("*", "/", "")]
        extra = data.get("extra") or {}
        takes_self = params and params[0].name in _SELF_NAMES and not extra.get("is_staticmethod")
        if takes_self and _is_method(g, target):
            if bound_instance or extra.get("is_classmethod"):
                params = params[1:]
            else:
                unbound = True
    if params is None:
        return
    args = call.child_by_field_name("arguments")
    if args is None or args.type != "argument_list":
        return
    positional = 0
    splat = kw_splat = False
    keywords: list[tuple[str, Any]] = []
    for arg in args.named_children:
        if arg.type == "keyword_argument":
            keywords.append((_t(arg.child_by_field_name("name")), arg))
        elif arg.type == "list_splat":
            splat = True
        elif arg.type == "dictionary_splat":
            kw_splat = True
        elif arg.type != "comment":
            positional += 1
    where = _signature_loc(g, target)
    qual = _qualname(g, target)
    shown = ", ".join(_show_param(p) for p in params)
    has_var_kw = any(p.kind == VAR_KEYWORD for p in params)
    has_var_pos = any(p.kind == VAR_POSITIONAL for p in params)
    by_name = {p.name.lstrip("*"): p for p in params}
    for name, arg in keywords:
        p = by_name.get(name)
        if p is not None and p.kind not in (POSITIONAL_ONLY, VAR_POSITIONAL, VAR_KEYWORD):
            continue
        if p is None and has_var_kw:
            continue
        reason = (
            "takes it only by position" if p is not None and p.kind == POSITIONAL_ONLY else "has no parameter"
        )
        hint = _closest(name, list(by_name)) if p is None else None
        msg = (
            f"{label} passes `{name}=` to `{qual}`, which {reason} `{name}` (signature at {where}: ({shown}))"
        )
        ctx.add(
            "example-unknown-keyword", msg + (f"; did you mean `{hint}`?" if hint else ""), where, _t(arg)
        )
    capacity = sum(1 for p in params if p.kind in (POSITIONAL_ONLY, "positional_or_keyword"))
    if not splat and not has_var_pos and positional > capacity:
        msg = f"{label} passes {positional} positional arguments to `{qual}`, which takes at most {capacity}"
        ctx.add("example-unknown-keyword", f"{msg} (signature at {where}: ({shown}))", where, _t(call))
        return
    if splat or kw_splat or not defaults_known:
        return
    by_position = [p.name for p in params if p.kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD)]
    given = set(by_position[:positional]) | {name for name, _ in keywords}
    missing = [
        p.name
        for p in params
        if p.default is None
        and p.kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, KEYWORD_ONLY)
        and p.name not in given
    ]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        msg = f"{label} calls `{qual}` without {names}, which it requires"
        if unbound:
            msg += " (an instance method called on its class: its first argument is taken as "
            msg += f"`{params[0].name}`)"
        ctx.add("example-missing-argument", f"{msg} (signature at {where}: ({shown}))", where, _t(call))


def _signature_loc(graph: EvidenceGraph, node_id: str) -> str:
    """Where a callable's signature is written: a class's is its ``__init__``'s."""
    if _kind(graph, node_id) == CLASS:
        for cid in _mro(graph, node_id):
            init = graph.members(cid).get("__init__")
            if init is not None:
                return _loc(graph, init)
    return _loc(graph, node_id)


def _signature_is_literal(graph: EvidenceGraph, node_id: str) -> bool:
    """Is the written signature the one callers see? Unknown external decorators may change it."""
    for dec in graph.g.nodes[node_id].get("decorators") or []:
        name = _strip_call(str(dec)).lstrip("@").strip()
        if _last(name) in _TRANSPARENT_DECORATORS or name.endswith((".setter", ".getter", ".deleter")):
            continue
        res = _resolve(graph, name, graph.g.nodes[node_id].get("parent"))
        if res is not None and res.id is not None:
            continue  # an internal decorator: assumed to wrap with functools.wraps
        return False
    return True


def _show_param(p: Param) -> str:
    prefix = "*" if p.kind == VAR_POSITIONAL else "**" if p.kind == VAR_KEYWORD else ""
    return prefix + p.name.lstrip("*")


# -- record rules -------------------------------------------------------------------------------


def _check_params(ctx: _Ctx, sid: str, documented: list[str], *, claim_all: bool = True) -> None:
    g = ctx.graph
    params = documentable_params(g, sid)
    where = _signature_loc(g, sid)
    qual = _qualname(g, sid)
    names = [_norm_param(n) for n in documented]
    seen: set[str] = set()
    for raw, name in zip(documented, names, strict=True):
        if not name:
            continue
        if name in seen:
            msg = f"parameter `{name}` of `{qual}`{_at(where)} is documented more than once"
            ctx.add("param-duplicate", msg, where, raw)
            continue
        seen.add(name)
    if params is None:
        if _kind(g, sid) not in CALLABLE_KINDS and _kind(g, sid) != CLASS:
            for name in dict.fromkeys(n for n in names if n):
                msg = f"`{qual}`{_at(where)} is a {_kind(g, sid)}, it has no parameter `{name}`"
                ctx.add("param-unknown", msg, where, name)
        return
    actual = [p.name.lstrip("*") for p in params]
    shown = ", ".join(_show_param(p) for p in params) or "no parameters"
    for name in dict.fromkeys(n for n in names if n):
        if name not in actual:
            hint = _closest(name, actual)
            msg = f"`{qual}` has no parameter `{name}` (signature at {where}: {shown})"
            ctx.add("param-unknown", msg + (f"; did you mean `{hint}`?" if hint else ""), where, name)
    if claim_all:
        for p in params:
            if p.name.lstrip("*") not in seen:
                msg = f"parameter `{_show_param(p)}` of `{qual}` (signature at {where}) is not documented"
                ctx.add("param-missing", msg, where, _show_param(p))


def _raised_names(graph: EvidenceGraph, idx: _Index, sid: str) -> dict[str, str]:
    """Exception names (last dotted component) the symbol may raise -> ``file:line`` of the
    raiser, including the base classes of each raised internal exception."""
    cached = idx.raised.get(sid)
    if cached is not None:
        return cached
    out: dict[str, str] = {}
    idx.raised[sid] = out
    # An abstract or base method documents what its overrides raise too.
    frontier = [sid, *_overrides(graph, idx, sid)]
    seen = set(frontier)
    depth = 0
    while frontier and depth <= _RAISE_DEPTH:
        nxt: list[str] = []
        for nid in frontier:
            for name, exc_id in _direct_raises(graph, nid):
                for anc in _exception_ancestry(graph, name, exc_id):
                    out.setdefault(anc, _loc(graph, nid))
            for callee in _callees(graph, idx, nid):
                if callee not in seen:
                    seen.add(callee)
                    nxt.append(callee)
        frontier = nxt
        depth += 1
    return out


def _direct_raises(graph: EvidenceGraph, nid: str) -> list[tuple[str, str | None]]:
    data = graph.g.nodes[nid]
    out: list[tuple[str, str | None]] = []
    for written in (data.get("extra") or {}).get("raises") or []:
        name = _strip_call(str(written))
        if not name:
            continue
        res = _resolve(graph, name, nid)
        out.append((res.qualname if res is not None else name, res.id if res is not None else None))
        if res is not None and _last(res.qualname) != _last(name):
            out.append((name, None))  # an alias (``raise Missing``) counts as written too
    for _, dst, d in graph.g.out_edges(nid, data=True):
        if d.get("kind") == RAISES:
            out.append((_qualname(graph, dst), dst if _kind(graph, dst) not in _NON_SYMBOL_KINDS else None))
    return out


def _exception_ancestry(graph: EvidenceGraph, name: str, exc_id: str | None) -> set[str]:
    names = {_last(name)}
    if exc_id is not None and _kind(graph, exc_id) == CLASS:
        for cid in _mro(graph, exc_id):
            names.add(_last(_qualname(graph, cid)))
            for base in (graph.g.nodes[cid].get("extra") or {}).get("bases") or []:
                names.add(_last(_strip_call(str(base))))
            for _, dst, d in graph.g.out_edges(cid, data=True):
                if d.get("kind") == INHERITS:
                    names.add(_last(_qualname(graph, dst)))
    for n in list(names):
        builtin = _BUILTIN_EXCEPTIONS.get(n)
        if builtin is not None:
            names.update(k.__name__ for k in builtin.__mro__ if issubclass(k, BaseException))
    return names


def _callees(graph: EvidenceGraph, idx: _Index, nid: str) -> list[str]:
    out: list[str] = []
    for _, dst, d in graph.g.out_edges(nid, data=True):
        if d.get("kind") == CALLS and _kind(graph, dst) not in _NON_SYMBOL_KINDS:
            out.append(dst)
    kind = _kind(graph, nid)
    if kind == CLASS:
        members = graph.members(nid, inherited=True)
        out.extend(members[m] for m in ("__init__", "__post_init__", "__new__") if m in members)
    # Calls through an attribute the builder could not type (``self.store.adjust``): any
    # internal method of that name may run (dynamic dispatch).
    for method in _attribute_calls(graph, idx, nid):
        out.extend(idx.methods.get(method, [])[:20])
    # A call to a method may run any override of it.
    for callee in list(out):
        out.extend(_overrides(graph, idx, callee))
    return list(dict.fromkeys(o for o in out if o != nid))


def _overrides(graph: EvidenceGraph, idx: _Index, method: str) -> list[str]:
    parent = _safe_parent(graph, method)
    if parent is None or _kind(graph, parent) != CLASS:
        return []
    name = str(graph.g.nodes[method].get("name"))
    out = []
    for sub in _all_subclasses(idx, parent):
        override = graph.members(sub).get(name)
        if override is not None:
            out.append(override)
    return out


def _all_subclasses(idx: _Index, cid: str) -> list[str]:
    out: list[str] = []
    queue = list(idx.subclasses.get(cid, []))
    while queue and len(out) < 100:
        cur = queue.pop(0)
        if cur in out:
            continue
        out.append(cur)
        queue.extend(idx.subclasses.get(cur, []))
    return out


def _attribute_calls(graph: EvidenceGraph, idx: _Index, nid: str) -> set[str]:
    cached = idx.attribute_calls.get(nid)
    if cached is None:
        cached = idx.attribute_calls[nid] = _find_attribute_calls(graph, idx, nid)
    return cached


def _find_attribute_calls(graph: EvidenceGraph, idx: _Index, nid: str) -> set[str]:
    data = graph.g.nodes[nid]
    if data.get("language") not in (None, "python") or data.get("kind") not in CALLABLE_KINDS:
        return set()
    text = _span_text(graph, idx, nid)
    if not text:
        return set()
    tree = _parse_python(textwrap.dedent(text))
    out: set[str] = set()
    external: dict[str, bool] = {}
    for node in _walk_nodes(tree.root_node):
        if node.type != "call":
            continue
        fn = node.child_by_field_name("function")
        if fn is None or fn.type != "attribute":
            continue
        head = _t(fn.child_by_field_name("object")).split(".", 1)[0].split("(", 1)[0]
        if head not in external:
            res = _resolve(graph, head, nid) if refs.is_identifier(head) else None
            # ``json.dumps``, ``os.path.join``: a call into another library, not a dispatch.
            external[head] = res is not None and res.id is None and head not in _SELF_NAMES
        if not external[head]:
            out.add(_t(fn.child_by_field_name("attribute")))
    return out


def _check_raises(ctx: _Ctx, sid: str, documented: list[str]) -> None:
    g = ctx.graph
    if _kind(g, sid) not in (*CALLABLE_KINDS, CLASS):
        return
    raised: dict[str, str] | None = None
    where = _loc(g, sid)
    qual = _qualname(g, sid)
    for raw in documented:
        m = re.search(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", raw or "")
        if m is None:
            continue
        name = m.group(0)
        res = _resolve(g, name, sid)
        if raised is None:
            raised = _raised_names(g, ctx.idx, sid)
        # An import alias (``Missing`` for ``UnknownItemError``) compares by what it names.
        if _last(name) in raised or (res is not None and _last(res.qualname) in raised):
            continue
        found = ", ".join(sorted(raised)[:12]) or "nothing"
        msg = f"`{qual}`{_at(where)} does not raise `{name}`, nor do its callees (raised: {found})"
        ctx.add("raises-unverified", msg, where, raw)


def _check_returns(
    ctx: _Ctx, sid: str, returns: str | None, yields: str | None, *, check_missing: bool = True
) -> None:
    g = ctx.graph
    data = g.g.nodes[sid]
    kind = data.get("kind")
    if kind not in CALLABLE_KINDS:
        return
    extra = data.get("extra") or {}
    decorators = [str(d) for d in data.get("decorators") or []]
    is_property = bool(extra.get("is_property")) or any("property" in d for d in decorators)
    where = _loc(g, sid)
    qual = _qualname(g, sid)
    annotation = str(data.get("returns") or "").strip()
    is_generator = bool(extra.get("is_generator"))
    # An abstract method's body says nothing; its annotation still does, when there is one.
    abstract = (
        bool(extra.get("is_abstract")) or any(_last(_strip_call(d)) == "abstractmethod" for d in decorators)
    ) and not annotation
    returns_value = bool(extra.get("returns_value"))
    has_returns, has_yields = not _is_nothing(returns), not _is_nothing(yields)
    no_annotation = annotation in ("", "None")
    if is_property:
        # A property's value is its return: only a yields claim can be wrong here.
        if has_yields and not is_generator and not _ITERATOR_HINT.search(annotation):
            msg = f"`{qual}`{_at(where)} is a property, not a generator, yet yielded values are documented"
            ctx.add("yields-on-non-generator", msg, where, yields or "")
        return
    if has_returns and not returns_value and no_annotation and not is_generator and not abstract:
        why = "has no `return <value>`" + (" and is annotated `-> None`" if annotation == "None" else "")
        ctx.add(
            "returns-on-procedure",
            f"`{qual}`{_at(where)} {why}, yet a return value is documented",
            where,
            returns or "",
        )
    if has_yields and not is_generator and not abstract and not _ITERATOR_HINT.search(annotation):
        msg = f"`{qual}`{_at(where)} is not a generator (no `yield`), yet yielded values are documented"
        ctx.add("yields-on-non-generator", msg, where, yields or "")
    if not check_missing:
        return
    if returns_value and not is_generator and not has_returns and not _is_dunder(str(data.get("name") or "")):
        ctx.add("returns-missing", f"`{qual}`{_at(where)} returns a value that is not documented", where)
    if is_generator and not has_yields and not has_returns:
        ctx.add(
            "yields-missing", f"`{qual}`{_at(where)} is a generator; what it yields is not documented", where
        )


def _check_summary(ctx: _Ctx, summary: str) -> None:
    t = (summary or "").strip()
    core = re.sub(r"[\s`*_#>.:;!,\-\"'()\[\]]+", " ", t).strip().lower()
    low = t.lower().rstrip(".")
    placeholder = (
        not core
        or low in _PLACEHOLDERS
        or core in _PLACEHOLDERS
        or re.match(r"(?:todo|tbd|fixme|xxx)\s*[:(\-–—!]", low) is not None
        or re.fullmatch(r"<[^>]{0,60}>|\{[^}]{0,60}\}|\[[^\]]{0,60}\]", t) is not None
    )
    if placeholder:
        where = _loc(ctx.graph, ctx.subject if ctx.subject in ctx.graph.g else None)
        ctx.add("empty-summary", f"the summary is empty or a placeholder: {t[:60]!r}{_at(where)}", where, t)


def _check_prompt_echo(ctx: _Ctx, text: str, *, allowed_urls: str | None) -> None:
    """Instruction-following text, raw HTML, and (when ``allowed_urls`` is given) URLs not in it."""
    if not text:
        return
    # Code spans and blocks quote code (a test's input, an escaped tag): only prose counts.
    prose = refs.mask_code_spans(refs.split_fences(text)[0])
    where = _loc(ctx.graph, ctx.subject if ctx.subject in ctx.graph.g else None)
    reported: set[str] = set()
    for pattern, why in _INJECTION_PATTERNS:
        m = pattern.search(prose)
        if m is not None and why not in reported:
            reported.add(why)
            ctx.add("prompt-echo", f"contains {why}: {m.group(0)[:80]!r}{_at(where)}", where, m.group(0))
    if allowed_urls is None:
        return
    for url in refs.urls(text):
        if url in allowed_urls or url.rstrip("/") in allowed_urls or _HARMLESS_URL.match(url):
            continue
        msg = f"the URL {url[:120]} does not appear in the evidence{_at(where)}"
        msg += "; claims must come from the repository"
        ctx.add("prompt-echo", msg, where, url)


# -- prose ----------------------------------------------------------------------------------


def _check_prose(
    ctx: _Ctx, text: str, *, module_scope: str | None, base_dir: str = "", page: bool = False
) -> None:
    """Identifiers, files, dependency claims and code blocks of a piece of Markdown prose."""
    if not text:
        return
    text = text[:_MAX_TEXT]
    handled = _check_dependencies(ctx, text)
    _, blocks = refs.split_fences(text)
    seen: set[tuple[str, str]] = set()
    for ref in refs.references(text):
        if ref.raw in handled or (ref.kind, ref.raw) in seen:
            continue  # a claim repeated in one text is one claim
        seen.add((ref.kind, ref.raw))
        if ref.kind == refs.IDENTIFIER:
            _guard(ctx, f"`{ref.raw[:60]}`", lambda ref=ref: _check_identifier(ctx, ref))
        elif ref.kind in (refs.FILE, refs.FILE_OR_IDENTIFIER):
            _guard(ctx, f"`{ref.raw[:60]}`", lambda ref=ref: _check_file_ref(ctx, ref, base_dir))
    for target in dict.fromkeys(t for t, _ in refs.links(text)):
        _guard(ctx, "a link", lambda target=target: _check_link(ctx, target, base_dir))
    for n, block in enumerate(blocks, 1):
        label = f"code block {n} (line {block.line + ctx.line_offset})"
        if block.lang == "mermaid":
            _guard(
                ctx, label, lambda block=block: _check_mermaid(ctx, block.code, block.line + ctx.line_offset)
            )
        elif block.lang in ("python", "py", "python3", "pycon", "doctest") or (
            block.lang == "" and block.code.lstrip().startswith(">>>")
        ):
            _guard(
                ctx,
                label,
                lambda block=block, label=label: _check_example(
                    ctx, block.code, label, module_scope, signatures=page
                ),
            )


def _check_file_ref(ctx: _Ctx, ref: refs.Ref, base_dir: str) -> None:
    """A path or file name, unless it is a qualified name in disguise (``pkg.languages.java``,
    ``src/app/cli.main`` for languages whose module names are paths)."""
    value = ref.value
    if ctx.graph.id_of(value) is not None or _resolve(ctx.graph, value, ctx.scope) is not None:
        return
    if refs.is_identifier(value) and _resolves(ctx, value):
        return
    if _file_exists(ctx, re.sub(r":\d+(?::\d+)?$", "", value)):
        return
    head = value.split("/", 1)[0].split(".", 1)[0]
    if "/" in value and "." in value and value.rsplit(".", 1)[0] in ctx.idx.module_ids:
        # ``dir/module.Name``: a symbol of a module named by its path
        msg, evidence = _explain_unresolved(ctx, value)
        ctx.add("unknown-identifier", msg, evidence, ref.raw)
        return
    ext = value.rsplit(".", 1)[-1].lower() if "." in value.rsplit("/", 1)[-1] else ""
    if "/" not in value:
        if ext not in refs.BARE_FILE_EXTENSIONS and value not in refs.KNOWN_DOTTED_FILE_NAMES:
            # ``llama.cpp``, ``config.json``: a project or an output file as often as a file of
            # the repository; only a dotted name inside a package of the repository is a claim.
            if refs.is_identifier(value) and value.count(".") >= 2 and head in ctx.idx.top_names:
                msg, evidence = _explain_unresolved(ctx, value)
                ctx.add("unknown-identifier", msg, evidence, ref.raw)
            return
        if not ctx.strict_bare:
            # In a README or an overview a bare file name is usually a kind of file
            # (``setup.cfg``, ``go.sum``), not a file of this repository.
            return
    _check_file(ctx, ref.raw, value, base_dir=base_dir)


def _check_link(ctx: _Ctx, target: str, base_dir: str) -> None:
    t = target.strip()
    if not t or t.startswith(("#", "/", "mailto:")) or refs.has_scheme(t) or t.startswith("www."):
        return
    path = refs.normalise_path(t)
    if not path or path.lower().endswith((".md", ".html", ".htm", ".rst")) or path.endswith("/"):
        # Pages of the generated documentation and folders are not repository claims.
        return
    _check_file(ctx, target, path, base_dir=base_dir)


# -- public API ---------------------------------------------------------------------------------


def _never_raises(fn: Callable[..., list[Finding]]) -> Callable[..., list[Finding]]:
    """A fault in the validator becomes one ``validator-error`` finding, never an exception."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> list[Finding]:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            return [_finding("validator-error", f"could not validate: {type(exc).__name__}: {exc}"[:300])]

    return wrapper


@_never_raises
def validate_record(graph: EvidenceGraph, symbol_id: str, record: ApiRecord) -> list[Finding]:
    """Check what the API agent wrote about one symbol (node id ``symbol_id``) against the
    evidence: names, parameters, raises, returns/yields, files, examples, summary, echoes."""
    idx = _index(graph)
    known = isinstance(symbol_id, str) and symbol_id in graph.g
    ctx = _Ctx(graph, idx, str(symbol_id), symbol_id if known else None)
    if not known:
        ctx.add(
            "unknown-identifier", f"`{symbol_id}` is not a symbol of the evidence graph", "", str(symbol_id)
        )
    if known:
        _guard(ctx, "the signature", lambda: ctx.params.update(_all_param_names(graph, symbol_id)))
        _guard(ctx, "the source", lambda: ctx.words.update(_evidence_words(graph, idx, symbol_id)))
    module_scope = _safe_module_of(graph, symbol_id) if known else None
    # Examples are Python; for a symbol in another language there is nothing to run them against.
    python = not known or graph.g.nodes[symbol_id].get("language") in (None, "python")
    _guard(ctx, "summary", lambda: _check_summary(ctx, record.summary))
    fields: list[tuple[str, str]] = [("summary", record.summary), ("description", record.description)]
    fields += [(f"parameter `{p.name}`", p.description) for p in record.params]
    fields += [("returns", record.returns or ""), ("yields", record.yields or "")]
    fields += [(f"raises `{r.exception}`", r.when) for r in record.raises]
    for where, text in fields:
        ctx.where = where
        _guard(ctx, where, lambda text=text: _check_prose(ctx, text, module_scope=module_scope))
    ctx.where = "see_also"
    for entry in record.see_also:
        _guard(ctx, "see_also", lambda entry=entry: _check_see_also(ctx, entry))
    ctx.where = ""
    if known:
        _guard(ctx, "parameters", lambda: _check_params(ctx, symbol_id, [p.name for p in record.params]))
        _guard(ctx, "raises", lambda: _check_raises(ctx, symbol_id, [r.exception for r in record.raises]))
        _guard(ctx, "returns", lambda: _check_returns(ctx, symbol_id, record.returns, record.yields))
    for n, example in enumerate(record.examples if python else [], 1):
        label = f"example {n}"
        _guard(
            ctx, label, lambda example=example, label=label: _check_example(ctx, example, label, module_scope)
        )
    allowed = _span_text(graph, idx, symbol_id) if known else ""
    if known:
        allowed += "\n" + str(graph.g.nodes[symbol_id].get("docstring") or "")
    everything = "\n".join(
        [record.summary, record.description, record.returns or "", record.yields or ""]
        + [p.description for p in record.params]
        + [r.when for r in record.raises]
        + list(record.see_also)
        + list(record.examples)
    )
    _guard(ctx, "prompt echo", lambda: _check_prompt_echo(ctx, everything, allowed_urls=allowed))
    return ctx.findings


def _all_param_names(graph: EvidenceGraph, sid: str) -> set[str]:
    out: set[str] = set()
    try:
        params = graph.signature(sid)
    except Exception:
        params = None
    for p in params or []:
        out.add(p.name.lstrip("*"))
    if _kind(graph, sid) == CLASS:
        for p in _constructor_params(graph, sid) or []:
            out.add(p.name.lstrip("*"))
    return out


def _check_see_also(ctx: _Ctx, entry: str) -> None:
    text = (entry or "").strip()
    if not text:
        return
    inner = text.strip("`").strip()
    got = refs.classify(inner)
    if got is not None and got[0] == refs.IDENTIFIER and " " not in inner:
        _check_identifier(ctx, refs.Ref(refs.IDENTIFIER, got[1], text, 1, refs.CODE))
        return
    if "`" in text:
        _check_prose(ctx, text, module_scope=None)


@_never_raises
def validate_overview(graph: EvidenceGraph, overview: Overview) -> list[Finding]:
    """Check the architecture overview: modules, relations, dependencies and prose."""
    idx = _index(graph)
    ctx = _Ctx(graph, idx, "overview", None, strict_bare=False)
    _guard(ctx, "summary", lambda: _check_summary(ctx, overview.summary))
    ctx.where = "summary"
    _guard(ctx, "summary", lambda: _check_prose(ctx, overview.summary, module_scope=None))
    for comp in overview.components:
        ctx.where = f"component `{comp.name}`"
        for module in comp.modules:
            if module.strip():
                _guard(ctx, "a component module", lambda module=module: _check_component_module(ctx, module))
        _guard(ctx, "a component role", lambda comp=comp: _check_prose(ctx, comp.role, module_scope=None))
    for rel in overview.relations:
        ctx.where = f"relation `{rel.source}` -> `{rel.target}`"
        claim = f"{rel.source} -> {rel.target}"
        _guard(
            ctx,
            "a relation",
            lambda rel=rel, claim=claim: _check_relation(ctx, rel.source, rel.target, claim),
        )
        _guard(ctx, "a relation", lambda rel=rel: _check_prose(ctx, rel.description, module_scope=None))
    ctx.where = ""
    meta = graph.meta if isinstance(graph.meta, dict) else {}
    allowed = _all_docstrings(graph) + "\n" + repr(meta.get("configs", ""))
    everything = "\n".join(
        [overview.summary]
        + [c.role for c in overview.components]
        + [c.name for c in overview.components]
        + [r.description for r in overview.relations]
    )
    _guard(ctx, "prompt echo", lambda: _check_prompt_echo(ctx, everything, allowed_urls=allowed))
    return ctx.findings


def _check_component_module(ctx: _Ctx, module: str) -> None:
    if not _find_modules(ctx, module):
        _unknown_module(ctx, module.strip(), module)


def _all_docstrings(graph: EvidenceGraph) -> str:
    return "\n".join(str(d.get("docstring") or "") for _, d in graph.g.nodes(data=True) if d.get("docstring"))


@_never_raises
def validate_module_doc(graph: EvidenceGraph, module_id: str, doc: ModuleDoc) -> list[Finding]:
    """Check the prose at the top of a module page (names resolve from the module ``module_id``)."""
    idx = _index(graph)
    known = isinstance(module_id, str) and module_id in graph.g
    ctx = _Ctx(graph, idx, str(module_id), module_id if known else None)
    if not known:
        ctx.add("unknown-module", f"`{module_id}` is not a module of the evidence graph", "", str(module_id))
    else:
        _guard(ctx, "the source", lambda: ctx.words.update(_evidence_words(graph, idx, module_id)))
    _guard(ctx, "summary", lambda: _check_summary(ctx, doc.summary))
    ctx.where = "summary"
    _guard(ctx, "summary", lambda: _check_prose(ctx, doc.summary, module_scope=module_id if known else None))
    ctx.where = ""
    allowed = ""
    if known:
        allowed = (
            _span_text(graph, idx, module_id) + "\n" + str(graph.g.nodes[module_id].get("docstring") or "")
        )
        for member in graph.members(module_id).values():
            allowed += "\n" + str(graph.g.nodes[member].get("docstring") or "")
    _guard(ctx, "prompt echo", lambda: _check_prompt_echo(ctx, doc.summary, allowed_urls=allowed))
    return ctx.findings


@dataclass(slots=True)
class _Section:
    symbol: str | None
    level: int
    start: int  # 0-based line index of the heading
    subsections: list[tuple[str, int, list[str]]] = field(default_factory=list)  # kind, line, lines


@_never_raises
def validate_markdown(graph: EvidenceGraph, text: str, *, source: str = "") -> list[Finding]:
    """Check any Markdown file (a generated page or a hand-written README).

    Referenced identifiers, file paths, links, Python code blocks and Mermaid diagrams
    are checked everywhere. In generated pages, a heading that names a symbol (its
    qualname in backticks, or an ``<a id="...">`` anchor with its id) opens that symbol's
    section: names in it resolve from the symbol, and its Parameters / Raises / Returns /
    Yields subsections are checked against the signature and the raise evidence.
    """
    idx = _index(graph)
    ctx = _Ctx(graph, idx, source, None, strict_bare=False)
    if not isinstance(text, str) or not text.strip():
        return ctx.findings
    text = text[:_MAX_TEXT]
    base_dir = os.path.dirname(source).replace(os.sep, "/") if source else ""
    label = source or "markdown"
    try:
        prose, blocks = refs.split_fences(text)
        ctx.page_names = _names_defined_in_blocks(blocks)
        chunks = _sections(graph, idx, prose, text)
    except Exception as exc:
        ctx.add("validator-error", f"could not split the page: {type(exc).__name__}")
        return ctx.findings
    page_module: str | None = None
    for sec, chunk, first_line in chunks:
        if sec.symbol is not None and _kind(graph, sec.symbol) in _MODULE_KINDS:
            page_module = sec.symbol
        # Text under a plain heading of a module page (a constants table) is still about the module.
        scope = sec.symbol or page_module
        sub = _Ctx(graph, idx, sec.symbol or source, scope, strict_bare=sec.symbol is not None)
        sub.page_names = ctx.page_names
        sub.where = f"{label}:{first_line}" if first_line else label
        for kind, _line, lines in sec.subsections:
            if kind in ("params", "raises"):
                sub.skip.update(_entry_names(lines))
        if sec.symbol is not None:
            sid = sec.symbol
            _guard(
                sub, "the signature", lambda sid=sid, sub=sub: sub.params.update(_all_param_names(graph, sid))
            )
            _guard(
                sub, "the source", lambda sid=sid, sub=sub: sub.words.update(_evidence_words(graph, idx, sid))
            )
        module_scope = _safe_module_of(graph, scope) if scope else None
        if sec.symbol is not None:
            # In a symbol's section a block quote is its docstring, quoted as evidence: the
            # author's words, not a claim of the page.
            chunk = re.sub(r"(?m)^ {0,3}>.*$", "", chunk)
        sub.line_offset = max(first_line - 1, 0)
        _guard(
            sub,
            "the text",
            lambda sub=sub, s=chunk, m=module_scope: _check_prose(
                sub, s, module_scope=m, base_dir=base_dir, page=True
            ),
        )
        for f in sub.findings:
            ctx.findings.append(_relocate(f, label, chunk, sub.line_offset))
        if sec.symbol is not None:
            rec_ctx = _Ctx(graph, idx, sec.symbol, sec.symbol)
            rec_ctx.where = f"{label}:{sec.start + 1}"
            _guard(rec_ctx, "a symbol section", lambda sec=sec, c=rec_ctx: _check_section(c, sec))
            ctx.findings.extend(rec_ctx.findings)
    # Block quotes on generated pages quote the repository's own docstrings (escaped): they
    # are the code's words, not claims a model made.
    unquoted = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    _guard(ctx, "prompt echo", lambda: _check_prompt_echo(ctx, unquoted, allowed_urls=None))
    return ctx.findings


def _relocate(f: Finding, label: str, chunk: str, offset: int) -> Finding:
    """Findings from prose carry the section's first line; point them at the claim's line."""
    if not f.claim or not f.message.startswith(label + ":"):
        return f
    pos = chunk.find(f.claim)
    if pos < 0:
        return f
    line = offset + chunk.count("\n", 0, pos) + 1
    _, _, rest = f.message.partition(": ")
    return Finding(f.rule, f.severity, f"{label}:{line}: {rest}", f.evidence, f.claim, f.subject)


def _names_defined_in_blocks(blocks: list[refs.CodeBlock]) -> set[str]:
    names: set[str] = set()
    for block in blocks:
        if block.lang not in ("python", "py", "python3", "pycon", "doctest", ""):
            continue
        code = refs.strip_doctest(block.code)
        try:
            tree = _parse_python(code)
        except Exception:
            continue
        ex = _Example()
        _collect_bindings(tree.root_node, ex)
        names.update(ex.names)
    return names


def _sections(graph: EvidenceGraph, idx: _Index, prose: str, text: str) -> list[tuple[_Section, str, int]]:
    """Split a page at symbol headings: ``(section, text of the section, first line)``."""
    lines = text.split("\n")
    prose_lines = prose.split("\n")
    out: list[tuple[_Section, str, int]] = []
    current = _Section(None, 0, -1)
    start = 0
    for i, line in enumerate(prose_lines):
        m = _HEADING_RE.match(line)
        if m is None:
            if current.subsections and current.symbol is not None:
                current.subsections[-1][2].append(line)
            continue
        level, title = len(m.group(1)), m.group(2)
        kind = _SECTION_KINDS.get(re.sub(r"[^a-z]", "", title.lower()))
        if kind is not None and current.symbol is not None and level > current.level:
            current.subsections.append((kind, i + 1, []))
            continue
        symbol = _heading_symbol(graph, idx, title)
        if symbol is not None or (current.symbol is not None and level <= current.level):
            out.append((current, "\n".join(lines[start:i]), start + 1))
            current = _Section(symbol, level, i)
            start = i
        elif current.subsections:
            current.subsections.append(("other", i + 1, []))
    out.append((current, "\n".join(lines[start:]), start + 1))
    return out


def _heading_symbol(graph: EvidenceGraph, idx: _Index, title: str) -> str | None:
    m = _ANCHOR_RE.search(title)
    if m is not None:
        anchor = m.group(1)
        if anchor in graph.g and _kind(graph, anchor) not in _NON_SYMBOL_KINDS:
            return anchor
        nid = graph.id_of(anchor)
        if nid is not None:
            return nid
    for content, _ in refs.code_spans(title):
        name = content.strip()
        name = re.sub(r"\(.*\)$", "", name, flags=re.DOTALL).strip()  # a signature: ``f(a, b)``
        nid = graph.id_of(name)
        if nid is not None:
            return nid
        break
    return None


def _check_section(ctx: _Ctx, sec: _Section) -> None:
    sid = sec.symbol
    if sid is None:
        return
    for kind, line, raw_lines in sec.subsections:
        lines = [ln for ln in raw_lines if ln.strip() and not re.match(r"^ {0,3}>", ln)]
        entries = _entry_names(lines)
        ctx.where = f"{ctx.where.rsplit(':', 1)[0]}:{line}"
        if kind == "params":
            _check_params(ctx, sid, entries, claim_all=True)
        elif kind == "raises":
            _check_raises(ctx, sid, entries)
        elif kind == "returns" and lines:
            _check_returns(ctx, sid, "\n".join(lines), None, check_missing=False)
        elif kind == "yields" and lines:
            _check_returns(ctx, sid, None, "\n".join(lines), check_missing=False)


def _entry_names(lines: list[str]) -> list[str]:
    """The names a Parameters/Raises subsection lists: first column of a table, or the
    leading name of each list item."""
    out: list[str] = []
    table_rows = [ln for ln in lines if ln.strip().startswith("|")]
    if table_rows:
        for k, row in enumerate(table_rows):
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            if not cells or re.fullmatch(r":?-{2,}:?", cells[0] or "") or set(cells[0]) <= set("-: "):
                continue
            nxt = table_rows[k + 1] if k + 1 < len(table_rows) else ""
            if re.fullmatch(r"\s*\|?\s*:?-{2,}.*", nxt):
                continue  # the header row
            name = _first_name(cells[0])
            if name:
                out.append(name)
        return out
    for ln in lines:
        m = re.match(r"^\s{0,3}[-*+]\s+(.*)$", ln)
        if m is None:
            continue
        name = _first_name(m.group(1))
        if name:
            out.append(name)
    return out


def _first_name(cell: str) -> str:
    spans = refs.code_spans(cell)
    if spans:
        return spans[0][0].strip()
    m = re.match(r"^\s*(?:\*\*|__)?(\**[A-Za-z_][A-Za-z0-9_.]*)", cell)
    return m.group(1) if m else ""


__all__ = [
    "RULES",
    "documentable_params",
    "validate_markdown",
    "validate_module_doc",
    "validate_overview",
    "validate_record",
]
