"""Python adapter: modules, classes, functions, variables, imports and calls from tree-sitter.

The structural knowledge lives in ``python.scm``: one query captures every definition,
import, call, ``raise``, ``yield``, ``return``, assignment and ``__main__`` guard in a
single pass. This module places each capture in its scope by byte offset (a binary search
over the sorted scope ranges, never a walk up the tree) and adds what a query cannot
express: parameter kinds, scope nesting, docstrings, ``__all__`` and publicness.

Rules that are choices rather than Python semantics:

* **One symbol per qualname.** Python binds the last definition of a name, so among
  classes and functions with the same qualname the last one wins, together with its
  members (an ``if``/``else`` pair of class definitions keeps only the second class and
  its methods), as griffe does. ``typing.overload`` stubs therefore give way to the
  implementation. A plain assignment never replaces a class or function of the same
  name (``f = cache(f)`` keeps ``f`` a function), and among variables the last assignment
  wins but keeps an earlier annotation when it has none.
* **Properties.** A ``@x.setter``/``@x.deleter`` method is merged into the property ``x``
  (``extra["setter"]``/``extra["deleter"]``); its ``raises`` join the property's and the
  hash covers both definitions.
* **Spans.** ``line_start`` is the first decorator's line (griffe's ``lineno`` is the
  ``def`` line; ours covers the whole definition), and ``hash`` is the hash of the same
  decorated node, so editing a decorator changes it.
* **Calls.** A callee is recorded as written when it is a name or an attribute chain
  (``foo``, ``self.bar``, ``os.path.join``); ``super().x(...)`` and ``super(C, self).x(...)``
  are recorded as ``super().x``; calls on other expressions (``a[0]()``, ``f()()``) are not
  recorded. Calls, raises and imports inside functions nested in a function count for the
  outer function; calls in decorators, default values and base-class lists belong to the
  enclosing scope, where Python evaluates them.
* **Scope facts.** ``is_generator``, ``yields_value`` and ``returns_value`` look only at the
  function's own body (not nested functions, lambdas or classes). ``yields_value`` is a
  ``yield <expr>`` other than ``yield None``, or a ``yield from``. ``raises`` lists the
  raised expression as written (``raise X(...)``, ``raise mod.X``, ``raise X from e`` give
  ``X``/``mod.X``); a bare ``raise`` is not listed.
* **Class facts.** ``extra["attributes"]`` holds class-level assignments and annotations
  plus ``self.x = ...`` in any method (griffe only looks in ``__init__``), one entry per
  name at its first line. ``is_abstract`` is true when the class derives from ``ABC``,
  uses ``ABCMeta`` or defines an abstract method.
"""

from __future__ import annotations

import ast
import inspect
import re
import warnings
from bisect import bisect_right
from functools import lru_cache
from typing import Any

import tree_sitter as ts
import tree_sitter_python

from pipeline.evidence.languages.base import LanguageAdapter, error_lines, node_hash, text
from pipeline.evidence.model import (
    CLASS,
    CONTAINS,
    FUNCTION,
    KEYWORD_ONLY,
    METHOD,
    MODULE,
    PACKAGE,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    VARIABLE,
    CallRecord,
    Edge,
    FileEvidence,
    ImportRecord,
    Param,
    Symbol,
    content_hash,
)

_SUFFIXES = (".py", ".pyi", ".pyw")
_PACKAGE_MARKERS = ("__init__.py", "__init__.pyi")
_SOURCE_ROOTS = frozenset({"src"})
_VALUE_LIMIT = 200

# Decorators recognised by their callee as written (call arguments stripped).
_PROPERTY = frozenset(
    {"property", "cached_property", "functools.cached_property", "abstractproperty", "abc.abstractproperty"}
)
_STATIC = frozenset({"staticmethod", "abstractstaticmethod", "abc.abstractstaticmethod"})
_CLASSMETHOD = frozenset({"classmethod", "abstractclassmethod", "abc.abstractclassmethod"})
_ABSTRACT = frozenset(
    {
        "abstractmethod",
        "abc.abstractmethod",
        "abstractproperty",
        "abc.abstractproperty",
        "abstractclassmethod",
        "abc.abstractclassmethod",
        "abstractstaticmethod",
        "abc.abstractstaticmethod",
    }
)
_OVERLOAD = frozenset({"overload", "typing.overload", "typing_extensions.overload"})
_ABC_BASES = frozenset({"ABC", "abc.ABC"})
_ABC_META = frozenset({"ABCMeta", "abc.ABCMeta"})
# Methods Python makes static or class methods without a decorator.
_IMPLICIT_STATIC = frozenset({"__new__"})
_IMPLICIT_CLASSMETHOD = frozenset({"__init_subclass__", "__class_getitem__"})

_DOTTED = re.compile(r"[^\W\d]\w*(?:[\s\\]*\.[\s\\]*[^\W\d]\w*)*")
_LAYOUT = re.compile(r"[\s\\]+")
_CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*")
_MAIN_GUARDS = frozenset({'__name__=="__main__"', '"__main__"==__name__'})
_STRING_TYPES = frozenset({"string", "concatenated_string"})
_PATTERN_TYPES = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "parenthesized_expression"})

# Scope kinds of the frame table.
_F_FUNCTION, _F_CLASS, _F_LAMBDA = 0, 1, 2


def _is_private(name: str) -> bool:
    """``_x`` and ``__x`` are private; dunders such as ``__init__`` are public."""
    return name.startswith("_") and not (len(name) > 4 and name.startswith("__") and name.endswith("__"))


def _dotted(node: ts.Node) -> str | None:
    """The dotted name ``node`` spells (``os.path.join``), or ``None`` for other expressions."""
    t = text(node)
    if not _DOTTED.fullmatch(t):
        return None
    if "\\" in t or " " in t or "\n" in t or "\t" in t or "\r" in t:
        t = _LAYOUT.sub("", t)
    return t


def _first_named(node: ts.Node) -> ts.Node | None:
    """The first named child that is not a comment."""
    child = node.named_child(0) if node.named_child_count else None
    while child is not None and child.type == "comment":
        child = child.next_named_sibling
    return child


def _decorator_callee(expr: str) -> str:
    """The decorator as a callee path: ``functools.lru_cache(maxsize=1)`` -> ``functools.lru_cache``."""
    paren = expr.find("(")
    return _LAYOUT.sub("", expr[:paren] if paren >= 0 else expr)


def _string_value(node: ts.Node) -> str | None:
    """The value of a string literal node (``string`` or ``concatenated_string``), never raising.

    f-strings and bytes are not strings Python would bind as a docstring: ``None``.
    """
    parts = node.named_children if node.type == "concatenated_string" else [node]
    for part in parts:
        if part.type == "comment":
            continue
        start = part.named_child(0) if part.named_child_count else None
        prefix = text(start).lower() if start is not None and start.type == "string_start" else ""
        if "f" in prefix or "b" in prefix or "t" in prefix:
            return None
    raw = text(node)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ast.literal_eval(raw.strip())
    except Exception:
        value = _strip_quotes(parts)
    return value if isinstance(value, str) else None


def _strip_quotes(parts: list[ts.Node]) -> str:
    """Best-effort string value when the literal does not evaluate (broken escapes, errors)."""
    out: list[str] = []
    for part in parts:
        if part.type == "comment":
            continue
        out.extend(text(c) for c in part.named_children if c.type in ("string_content", "escape_sequence"))
    return "".join(out)


def _docstring(block: ts.Node | None) -> str | None:
    """The cleaned docstring of a body (first statement is a plain string literal)."""
    if block is None:
        return None
    first = _first_named(block)
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return None
    expr = first.named_child(0)
    if expr is None or expr.type not in _STRING_TYPES:
        return None
    value = _string_value(expr)
    return inspect.cleandoc(value) if value is not None else None


def _next_docstring(statement: ts.Node) -> str | None:
    """An attribute docstring: a string statement right after an assignment."""
    nxt = statement.next_named_sibling
    while nxt is not None and nxt.type == "comment":
        nxt = nxt.next_named_sibling
    if nxt is None or nxt.type != "expression_statement" or nxt.named_child_count != 1:
        return None
    expr = nxt.named_child(0)
    if expr is None or expr.type not in _STRING_TYPES:
        return None
    value = _string_value(expr)
    return inspect.cleandoc(value) if value is not None else None


def _literal_names(node: ts.Node | None) -> list[str] | None:
    """The strings of a literal list/tuple expression (``+`` of literals allowed), else ``None``."""
    if node is None:
        return None
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        t = n.type
        if t in _STRING_TYPES:
            value = _string_value(n)
            if value is None:
                return None
            out.append(value)
        elif t in ("list", "tuple", "expression_list", "parenthesized_expression"):
            stack.extend(reversed([c for c in n.named_children if c.type != "comment"]))
        elif t == "binary_operator":
            op = n.child_by_field_name("operator")
            if op is None or op.type != "+":
                return None
            stack.append(n.child_by_field_name("right"))
            stack.append(n.child_by_field_name("left"))
        elif t == "comment":
            continue
        else:
            return None
    return out


def _params(parameters: ts.Node | None) -> list[Param]:
    """Every parameter of a ``parameters`` node with its kind, annotation and default."""
    params: list[Param] = []
    if parameters is None:
        return params
    kind = POSITIONAL_OR_KEYWORD
    for child in parameters.named_children:
        t = child.type
        if t == "comment":
            continue
        if t == "positional_separator":
            for p in params:
                if p.kind == POSITIONAL_OR_KEYWORD:
                    p.kind = POSITIONAL_ONLY
            continue
        if t == "keyword_separator":
            kind = KEYWORD_ONLY
            continue
        annotation: str | None = None
        default: str | None = None
        target = child
        if t in ("typed_parameter", "typed_default_parameter", "default_parameter"):
            ann = child.child_by_field_name("type")
            annotation = text(ann) if ann is not None else None
            value = child.child_by_field_name("value")
            default = text(value) if value is not None else None
            name_node = child.child_by_field_name("name")
            target = name_node if name_node is not None else _first_named(child)
            if target is None:
                continue
        tt = target.type
        if tt == "identifier":
            params.append(Param(text(target), kind, annotation, default))
        elif tt == "list_splat_pattern":
            name = _first_named(target)
            params.append(Param(text(name), VAR_POSITIONAL, annotation, None))
            kind = KEYWORD_ONLY
        elif tt == "dictionary_splat_pattern":
            name = _first_named(target)
            params.append(Param(text(name), VAR_KEYWORD, annotation, None))
        elif tt == "tuple_pattern":  # Python 2 tuple parameter: keep it visible, as written
            params.append(Param(text(target), kind, annotation, default))
    return params


def _assign_targets(assignment: ts.Node) -> tuple[list[ts.Node], ts.Node | None, ts.Node | None]:
    """Targets of a (possibly chained) assignment, its annotation node and its value node."""
    targets: list[ts.Node] = []
    annotation = None
    node: ts.Node | None = assignment
    value = None
    while node is not None and node.type == "assignment":
        left = node.child_by_field_name("left")
        if left is not None:
            targets.append(left)
        if annotation is None:
            annotation = node.child_by_field_name("type")
        value = node.child_by_field_name("right")
        node = value
    # Unpack tuple/list targets iteratively (nesting depth is the source's, not bounded).
    flat: list[ts.Node] = []
    stack = list(reversed(targets))
    while stack:
        n = stack.pop()
        if n.type in _PATTERN_TYPES:
            stack.extend(reversed([c for c in n.named_children if c.type != "comment"]))
        elif n.type == "list_splat_pattern":
            inner = _first_named(n)
            if inner is not None:
                stack.append(inner)
        else:
            flat.append(n)
    return flat, annotation, value


class _Rec:
    """A definition or variable found in the file, before duplicates are resolved."""

    __slots__ = (
        "attributes",
        "decorators",
        "docstring",
        "extra",
        "frame",
        "hash",
        "kind",
        "name",
        "node",
        "outer",
        "params",
        "parent",
        "qualname",
        "raises",
        "returns",
        "self_name",
    )

    def __init__(
        self, kind: str, name: str, qualname: str, node: ts.Node, outer: ts.Node, parent: int
    ) -> None:
        self.kind = kind
        self.name = name
        self.qualname = qualname
        self.node = node
        self.outer = outer
        self.parent = parent
        self.frame = -1
        self.decorators: list[str] = []
        self.params: list[Param] | None = None
        self.returns: str | None = None
        self.docstring: str | None = None
        self.extra: dict[str, Any] = {}
        self.raises: set[str] = set()
        self.attributes: list[dict[str, Any]] = []
        self.self_name: str | None = None
        self.hash: str | None = None


class PythonAdapter(LanguageAdapter):
    """Evidence for Python files (``.py``): see the module docstring for the rules."""

    language = "python"
    query_file = "python.scm"

    def grammar(self) -> object:
        """Return the tree-sitter-python grammar."""
        return tree_sitter_python.language()

    # -- module names ----------------------------------------------------------------------
    def module_name(self, rel_path: str, files: frozenset[str]) -> str:
        """Return the dotted import path of ``rel_path`` from the repository layout.

        The package chain is the run of directories, walking up from the file, that hold an
        ``__init__.py``: ``src/pkg/mod.py`` -> ``pkg.mod``, ``pkg/__init__.py`` -> ``pkg``,
        ``pkg/__main__.py`` -> ``pkg.__main__``. A file whose directory is not a package is
        named by its path relative to the nearest source root, which is the deepest ``src``
        directory above it or else the repository root: ``tools/run.py`` -> ``tools.run``,
        ``src/run.py`` -> ``run`` (this keeps script names unique and matches namespace
        packages). Components are kept as written (spaces, dashes and non-ASCII letters
        included) except that a ``.`` inside one becomes ``_``, so the dotted structure holds;
        a top-level ``__init__.py`` is ``__init__``. Never raises.
        """
        parts = [p for p in rel_path.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts:
            return "_"
        stem = parts[-1]
        for suffix in _SUFFIXES:
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        dirs = parts[:-1]
        k = len(dirs)
        while k > 0 and any("/".join(dirs[:k]) + "/" + marker in files for marker in _PACKAGE_MARKERS):
            k -= 1
        if k < len(dirs):
            chain = dirs[k:]
        else:
            roots = [i for i, d in enumerate(dirs) if d in _SOURCE_ROOTS]
            chain = dirs[roots[-1] + 1 :] if roots else dirs
        names = [*chain, stem] if stem != "__init__" or not chain else list(chain)
        return ".".join(n.replace(".", "_") for n in names)

    # -- import resolution -----------------------------------------------------------------
    def resolve_import(self, record: ImportRecord, module: str, modules: frozenset[str]) -> str:
        """Return the absolute dotted target of ``record`` imported from ``module``.

        Relative imports are resolved against the importing module's package: the module
        itself when it is a package (some module in ``modules`` lives under it), else its
        parent. ``from pkg import sub`` gives ``pkg.sub``, which is the submodule when
        ``pkg.sub`` is in ``modules`` and otherwise the member ``sub`` of ``pkg``. Absolute
        names stay as written. A relative import that climbs above the top-level package
        cannot be resolved and is returned as written, with its leading dots.
        """
        member = [] if record.name in (None, "*") else [record.name]
        written = [record.module] if record.module else []
        if record.level <= 0:
            return ".".join([*written, *member])
        base = module.split(".") if module else []
        if module not in _packages(modules):
            base = base[:-1]
        drop = record.level - 1
        if drop >= len(base):
            return "." * record.level + ".".join([*written, *member])
        return ".".join([*base[: len(base) - drop], *written, *member])

    # -- extraction ------------------------------------------------------------------------
    def extract(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        """Extract symbols, contains-edges, imports and calls from one Python file."""
        ev = self.new_evidence(source, rel_path, module)
        tree = self.parse(source)
        root = tree.root_node
        caps = self.captures(root)

        filename = rel_path.rsplit("/", 1)[-1]
        is_package = filename.startswith("__init__.")
        last_line = max(1, source.count(b"\n") + (0 if not source or source.endswith(b"\n") else 1))
        mod_name = module.rsplit(".", 1)[-1]
        mod_rec = _Rec(PACKAGE if is_package else MODULE, mod_name, module, root, root, -1)
        mod_rec.docstring = _docstring(root)
        recs: list[_Rec] = [mod_rec]

        # -- frame table: every function/class body and lambda, sorted by start --------------
        raw_frames: list[tuple[int, int, int, ts.Node]] = []
        for node in caps.get("definition.function", ()):
            body = node.child_by_field_name("body")
            s, e = (body.start_byte, body.end_byte) if body is not None else (node.end_byte, node.end_byte)
            raw_frames.append((s, -e, _F_FUNCTION, node))
        for node in caps.get("definition.class", ()):
            body = node.child_by_field_name("body")
            s, e = (body.start_byte, body.end_byte) if body is not None else (node.end_byte, node.end_byte)
            raw_frames.append((s, -e, _F_CLASS, node))
        for node in caps.get("scope.lambda", ()):
            body = node.child_by_field_name("body")
            s, e = (body.start_byte, body.end_byte) if body is not None else (node.end_byte, node.end_byte)
            raw_frames.append((s, -e, _F_LAMBDA, node))
        raw_frames.sort(key=lambda f: (f[0], f[1]))
        n_frames = len(raw_frames)
        starts = [f[0] for f in raw_frames]
        ends = [-f[1] for f in raw_frames]
        parents = [-1] * n_frames
        owner = [0] * n_frames  # record index of the symbol that owns calls/raises in the frame
        own_rec = [-1] * n_frames  # record index when the frame is itself a symbol
        flags = [0] * n_frames  # bit 1: generator, 2: yields a value, 4: returns a value
        stack: list[int] = []
        for i in range(n_frames):
            s = starts[i]
            while stack and ends[stack[-1]] <= s:
                stack.pop()
            parents[i] = stack[-1] if stack else -1
            stack.append(i)

        def frame_of(pos: int) -> int:
            i = bisect_right(starts, pos) - 1
            while i >= 0 and ends[i] <= pos:
                i = parents[i]
            return i

        # -- definitions become records when they sit in the module or a symbol class --------
        for i, (_s, _e, fkind, node) in enumerate(raw_frames):
            p = parents[i]
            parent_owner = owner[p] if p >= 0 else 0
            if fkind == _F_LAMBDA:
                owner[i] = parent_owner
                continue
            in_class = p >= 0 and raw_frames[p][2] == _F_CLASS and own_rec[p] >= 0
            if p >= 0 and not in_class:
                owner[i] = parent_owner
                continue
            parent_rec = own_rec[p] if p >= 0 else 0
            name_node = node.child_by_field_name("name")
            name = text(name_node) if name_node is not None else ""
            if not name:
                owner[i] = parent_owner
                continue
            outer = (
                node.parent
                if node.parent is not None and node.parent.type == "decorated_definition"
                else node
            )
            kind = CLASS if fkind == _F_CLASS else (METHOD if in_class else FUNCTION)
            rec = _Rec(kind, name, f"{recs[parent_rec].qualname}.{name}", node, outer, parent_rec)
            rec.frame = i
            if outer is not node:
                rec.decorators = [
                    text(expr)
                    for d in outer.named_children
                    if d.type == "decorator" and (expr := _first_named(d)) is not None
                ]
            own_rec[i] = owner[i] = len(recs)
            recs.append(rec)
            if kind == CLASS:
                self._fill_class(rec)
            else:
                self._fill_callable(rec, in_class)

        # -- module-level facts ----------------------------------------------------------
        all_events: list[tuple[int, str, ts.Node | None]] = []
        has_main = filename == "__main__.py"
        for node in caps.get("main.condition", ()):
            if (
                frame_of(node.start_byte) == -1
                and _LAYOUT.sub("", text(node)).replace("'", '"') in _MAIN_GUARDS
            ):
                has_main = True
        for node in caps.get("all.augment", ()):
            op = node.child_by_field_name("operator")
            if frame_of(node.start_byte) == -1 and op is not None and op.type == "+=":
                all_events.append((node.start_byte, "extend", node.child_by_field_name("right")))

        # -- calls -----------------------------------------------------------------------
        calls: list[tuple[int, int, str, int]] = []
        for node in caps.get("call.name", ()):
            callee = text(node)
            if callee == "super":
                parent = node.parent
                if parent is not None and parent.parent is not None and parent.parent.type == "attribute":
                    continue  # recorded as super().name below
            f = frame_of(node.start_byte)
            calls.append((node.start_byte, owner[f] if f >= 0 else 0, callee, node.start_point[0] + 1))
        for node in caps.get("call.attribute", ()):
            callee = _dotted(node)
            if callee is None:
                callee = _super_callee(node)
                if callee is None:
                    continue
            f = frame_of(node.start_byte)
            calls.append((node.start_byte, owner[f] if f >= 0 else 0, callee, node.start_point[0] + 1))
            if f == -1 and callee in ("__all__.extend", "__all__.append") and node.parent is not None:
                all_events.append((node.start_byte, callee.rsplit(".", 1)[1], node.parent))

        # -- raises, yields, returns -------------------------------------------------------
        for node in caps.get("raise", ()):
            exc = _first_named(node)
            cause = node.child_by_field_name("cause")
            if exc is None or (cause is not None and exc.start_byte == cause.start_byte):
                continue  # bare re-raise
            if exc.type == "call":
                exc = exc.child_by_field_name("function")
            name = _dotted(exc) if exc is not None else None
            if name is None:
                continue
            f = frame_of(node.start_byte)
            if f >= 0:
                recs[owner[f]].raises.add(name)
        for node in caps.get("yield", ()):
            f = frame_of(node.start_byte)
            if f >= 0 and raw_frames[f][2] != _F_CLASS:
                value = _first_named(node)
                is_from = node.child_count > 1 and node.child(1).type == "from"
                flags[f] |= 1 | (2 if value is not None and (is_from or text(value) != "None") else 0)
        for node in caps.get("return", ()):
            f = frame_of(node.start_byte)
            if f >= 0 and raw_frames[f][2] == _F_FUNCTION:
                value = _first_named(node)
                if value is not None and text(value) != "None":
                    flags[f] |= 4

        # -- imports ---------------------------------------------------------------------
        imports: list[tuple[int, ImportRecord]] = []
        for node in caps.get("import", ()):
            f = frame_of(node.start_byte)
            scope = owner[f] if f >= 0 else 0
            for record in _import_records(node):
                imports.append((scope, record))

        # -- variables and attributes --------------------------------------------------------
        for node in caps.get("assignment", ()):
            f = frame_of(node.start_byte)
            if f == -1:
                scope = 0
            else:
                scope = own_rec[f]
                if scope < 0:
                    continue
            srec = recs[scope]
            if srec.kind == FUNCTION or (srec.kind == METHOD and srec.self_name is None):
                continue
            targets, ann_node, value_node = _assign_targets(node)
            annotation = text(ann_node) if ann_node is not None else None
            line = node.start_point[0] + 1
            if srec.kind == METHOD:
                cls = recs[srec.parent]
                for t in targets:
                    if t.type != "attribute":
                        continue
                    obj = t.child_by_field_name("object")
                    attr = t.child_by_field_name("attribute")
                    if obj is None or attr is None or obj.type != "identifier" or text(obj) != srec.self_name:
                        continue
                    ann = annotation if len(targets) == 1 else None
                    cls.attributes.append({"name": text(attr), "annotation": ann, "line": line})
                continue
            statement = node.parent if node.parent is not None else node
            value = text(value_node)[:_VALUE_LIMIT] if value_node is not None else None
            for t in targets:
                if t.type != "identifier":
                    continue
                name = text(t)
                ann = annotation if len(targets) == 1 else None
                rec = _Rec(VARIABLE, name, f"{srec.qualname}.{name}", node, statement, scope)
                rec.extra = {
                    "value": value,
                    "annotation": ann,
                    "is_constant": bool(_CONSTANT.fullmatch(name)),
                }
                rec.docstring = _next_docstring(statement)
                recs.append(rec)
                if srec.kind == CLASS:
                    srec.attributes.append({"name": name, "annotation": ann, "line": line})
                if scope == 0 and name == "__all__":
                    all_events.append((node.start_byte, "assign", value_node))
        for node in caps.get("type_alias", ()):
            f = frame_of(node.start_byte)
            scope = 0 if f == -1 else own_rec[f]
            if scope < 0 or recs[scope].kind not in (MODULE, PACKAGE, CLASS):
                continue
            left = node.child_by_field_name("left")
            ident = left
            while ident is not None and ident.type != "identifier":
                ident = _first_named(ident)
            if ident is None:
                continue
            name = text(ident)
            right = node.child_by_field_name("right")
            rec = _Rec(VARIABLE, name, f"{recs[scope].qualname}.{name}", node, node, scope)
            rec.extra = {
                "value": text(right)[:_VALUE_LIMIT] if right is not None else None,
                "annotation": None,
                "is_constant": bool(_CONSTANT.fullmatch(name)),
                "is_type_alias": True,
            }
            recs.append(rec)

        # -- per-frame facts into their records -------------------------------------------
        for rec in recs:
            if rec.kind in (FUNCTION, METHOD):
                bits = flags[rec.frame]
                rec.extra["is_generator"] = bool(bits & 1)
                rec.extra["yields_value"] = bool(bits & 2)
                rec.extra["returns_value"] = bool(bits & 4)

        # -- one symbol per qualname --------------------------------------------------------
        winner: dict[str, int] = {}
        for idx in range(1, len(recs)):
            rec = recs[idx]
            prev_idx = winner.get(rec.qualname)
            if prev_idx is None:
                winner[rec.qualname] = idx
                continue
            prev = recs[prev_idx]
            if rec.kind == VARIABLE:
                if prev.kind == VARIABLE:
                    if rec.extra["annotation"] is None:
                        rec.extra["annotation"] = prev.extra["annotation"]
                    winner[rec.qualname] = idx
                continue
            accessor = _property_accessor(rec)
            if accessor and prev.kind in (FUNCTION, METHOD) and prev.extra.get("is_property"):
                prev.extra[accessor] = True
                prev.raises |= rec.raises
                prev.hash = content_hash((prev.outer.text or b"") + (rec.outer.text or b""))
                continue
            winner[rec.qualname] = idx
        alive = [False] * len(recs)
        alive[0] = True
        for idx in range(1, len(recs)):
            rec = recs[idx]
            alive[idx] = winner.get(rec.qualname) == idx and alive[rec.parent]
        ids = {recs[i].qualname for i in range(len(recs)) if alive[i]}

        def final_id(idx: int) -> str:
            while idx > 0 and recs[idx].qualname not in ids:
                idx = recs[idx].parent
            return f"py:{recs[idx].qualname}"

        # -- module facts, publicness and symbols -------------------------------------------
        exported = _exports(all_events)
        mod_public = all(not _is_private(part) for part in module.split(".") if part)
        mod_rec.extra = {"all": exported, "has_main": has_main, "has_errors": root.has_error}
        order = sorted((i for i in range(len(recs)) if alive[i]), key=lambda i: (recs[i].outer.start_byte, i))
        public = [False] * len(recs)
        symbols: list[Symbol] = []
        abstract_classes: set[int] = set()
        for idx in order:
            rec = recs[idx]
            if idx == 0:
                public[0] = mod_public
            elif rec.parent == 0 and exported is not None:
                public[idx] = mod_public and rec.name in exported
            else:
                public[idx] = public[rec.parent] and not _is_private(rec.name)
            if rec.kind in (FUNCTION, METHOD):
                rec.extra["raises"] = sorted(rec.raises)
                if rec.extra.get("is_abstract") and recs[rec.parent].kind == CLASS:
                    abstract_classes.add(rec.parent)
            elif rec.kind == CLASS:
                rec.extra["attributes"] = _dedupe_attributes(rec.attributes)
            start, end = (
                (1, last_line) if idx == 0 else (rec.outer.start_point[0] + 1, rec.outer.end_point[0] + 1)
            )
            sym = Symbol(
                id=f"py:{rec.qualname}",
                kind=rec.kind,
                name=rec.name,
                qualname=rec.qualname,
                language=self.language,
                file=rel_path,
                line_start=start,
                line_end=end,
                hash=rec.hash or node_hash(rec.outer),
                public=public[idx],
                parent=None if idx == 0 else f"py:{recs[rec.parent].qualname}",
                params=rec.params,
                returns=rec.returns,
                decorators=rec.decorators,
                docstring=rec.docstring,
                extra=rec.extra,
            )
            symbols.append(sym)
            if sym.parent is not None:
                ev.edges.append(Edge(sym.parent, sym.id, CONTAINS, line=start))
        # Classes are filled before their methods are known; complete the flag here (the
        # extra dict is shared with the Symbol).
        for idx in abstract_classes:
            recs[idx].extra["is_abstract"] = True

        ev.symbols = symbols
        ev.imports = []
        for scope, record in imports:
            record.scope = final_id(scope)
            ev.imports.append(record)
        calls.sort(key=lambda c: c[0])
        ev.calls = [CallRecord(final_id(scope), callee, line) for _pos, scope, callee, line in calls]
        if root.has_error:
            ev.has_errors = True
            ev.error_lines = error_lines(tree)
        return ev

    # -- per-definition details -----------------------------------------------------------
    @staticmethod
    def _fill_class(rec: _Rec) -> None:
        node = rec.node
        bases: list[str] = []
        keywords: dict[str, str] = {}
        supers = node.child_by_field_name("superclasses")
        if supers is not None:
            for arg in supers.named_children:
                if arg.type == "comment":
                    continue
                if arg.type == "keyword_argument":
                    key = arg.child_by_field_name("name")
                    val = arg.child_by_field_name("value")
                    keywords[text(key)] = text(val)
                else:
                    bases.append(text(arg))
        rec.docstring = _docstring(node.child_by_field_name("body"))
        meta = keywords.get("metaclass")
        rec.extra = {
            "bases": bases,
            "keywords": keywords,
            "is_abstract": any(b in _ABC_BASES for b in bases) or (meta is not None and meta in _ABC_META),
        }

    @staticmethod
    def _fill_callable(rec: _Rec, in_class: bool) -> None:
        node = rec.node
        callees = {_decorator_callee(d) for d in rec.decorators}
        is_static = bool(callees & _STATIC) or (in_class and rec.name in _IMPLICIT_STATIC)
        is_classmethod = bool(callees & _CLASSMETHOD) or (in_class and rec.name in _IMPLICIT_CLASSMETHOD)
        params = _params(node.child_by_field_name("parameters"))
        returns = node.child_by_field_name("return_type")
        rec.params = params
        rec.returns = text(returns) if returns is not None else None
        rec.docstring = _docstring(node.child_by_field_name("body"))
        first = node.child(0)
        rec.extra = {
            "is_async": first is not None and first.type == "async",
            "is_property": bool(callees & _PROPERTY),
            "is_staticmethod": is_static,
            "is_classmethod": is_classmethod,
            "is_abstract": bool(callees & _ABSTRACT),
            "is_overload": bool(callees & _OVERLOAD),
        }
        if (
            in_class
            and not is_static
            and params
            and params[0].kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD)
        ):
            rec.self_name = params[0].name


def _property_accessor(rec: _Rec) -> str | None:
    """``"setter"``/``"deleter"`` when ``rec`` is decorated ``@<its name>.setter``/``.deleter``."""
    for d in rec.decorators:
        path = _decorator_callee(d)
        if path == f"{rec.name}.setter":
            return "setter"
        if path == f"{rec.name}.deleter":
            return "deleter"
    return None


def _super_callee(node: ts.Node) -> str | None:
    """``super().name`` for ``super(...).name``; ``None`` for any other non-dotted callee."""
    obj = node.child_by_field_name("object")
    attr = node.child_by_field_name("attribute")
    if obj is None or attr is None or obj.type != "call":
        return None
    fn = obj.child_by_field_name("function")
    if fn is None or fn.type != "identifier" or text(fn) != "super":
        return None
    return f"super().{text(attr)}"


def _exports(events: list[tuple[int, str, ts.Node | None]]) -> list[str] | None:
    """The literal ``__all__`` after its assignments and extensions in source order, or ``None``."""
    names: list[str] | None = None
    seen_assign = False
    for _pos, op, node in sorted(events, key=lambda e: e[0]):
        if op == "assign":
            seen_assign = True
            names = _literal_names(node)
            continue
        if not seen_assign or names is None:
            continue
        if op == "extend":
            arg = node
            if arg is not None and arg.type == "call":
                args = arg.child_by_field_name("arguments")
                arg = _first_named(args) if args is not None else None
            more = _literal_names(arg)
            names = names + more if more is not None else None
        elif op == "append" and node is not None:
            args = node.child_by_field_name("arguments")
            arg = _first_named(args) if args is not None else None
            value = _string_value(arg) if arg is not None and arg.type in _STRING_TYPES else None
            names = [*names, value] if value is not None else None
    return names


def _dedupe_attributes(attributes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per attribute name, at its first line, with the first annotation seen."""
    out: dict[str, dict[str, Any]] = {}
    for attr in sorted(attributes, key=lambda a: a["line"]):
        prev = out.get(attr["name"])
        if prev is None:
            out[attr["name"]] = dict(attr)
        elif prev["annotation"] is None and attr["annotation"] is not None:
            prev["annotation"] = attr["annotation"]
    return list(out.values())


def _import_records(node: ts.Node) -> list[ImportRecord]:
    """One record per bound name of an import statement (scope filled in by the caller)."""
    line = node.start_point[0] + 1
    records: list[ImportRecord] = []
    if node.type == "import_statement":
        for child in node.named_children:
            if child.type == "dotted_name":
                name = _LAYOUT.sub("", text(child))
                records.append(ImportRecord("", name, None, name.split(".", 1)[0], line))
            elif child.type == "aliased_import":
                target = child.child_by_field_name("name")
                alias = child.child_by_field_name("alias")
                records.append(
                    ImportRecord("", _LAYOUT.sub("", text(target)), None, text(alias) or None, line)
                )
        return records
    level = 0
    if node.type == "future_import_statement":
        module = "__future__"
    else:
        mod_node = node.child_by_field_name("module_name")
        module = ""
        if mod_node is not None and mod_node.type == "relative_import":
            for c in mod_node.named_children:
                if c.type == "import_prefix":
                    level = text(c).count(".")
                elif c.type == "dotted_name":
                    module = _LAYOUT.sub("", text(c))
        elif mod_node is not None:
            module = _LAYOUT.sub("", text(mod_node))
    for child in node.children_by_field_name("name"):
        if child.type == "dotted_name":
            name = _LAYOUT.sub("", text(child))
            records.append(ImportRecord("", module, name, name, line, level))
        elif child.type == "aliased_import":
            target = child.child_by_field_name("name")
            alias = child.child_by_field_name("alias")
            name = _LAYOUT.sub("", text(target))
            records.append(ImportRecord("", module, name, text(alias) or name, line, level))
    if any(c.type == "wildcard_import" for c in node.named_children):
        records.append(ImportRecord("", module, "*", None, line, level))
    return records


@lru_cache(maxsize=8)
def _packages(modules: frozenset[str]) -> frozenset[str]:
    """Module names that have a submodule in ``modules`` (hence are packages)."""
    out: set[str] = set()
    for name in modules:
        parts = name.split(".")
        for i in range(1, len(parts)):
            out.add(".".join(parts[:i]))
    return frozenset(out)
