"""Python adapter: modules, classes, functions, variables, imports and calls from tree-sitter.

The structural knowledge lives in ``python.scm``: one query captures every definition,
import, call, ``raise``, ``yield``, ``return``, assignment and ``__main__`` guard in a
single pass. This module places each capture in its scope by byte offset (a binary search
over the sorted scope ranges, never a walk up the tree) and adds what a query cannot
express: parameter kinds, scope nesting, docstrings, ``__all__`` and publicness. Nothing
here recurses over the syntax tree, so arbitrarily deep code cannot exhaust the stack.

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
  are recorded as ``super().x`` (and not also as a call of ``super``); calls on other
  expressions (``a[0]()``, ``f()()``) are not recorded. Each (caller, callee) pair is
  recorded once, at its first call in source order. Calls, raises and imports inside
  functions or classes nested in a function count for the outer function; calls in
  decorators, default values and base-class lists belong to the enclosing scope, where
  Python evaluates them.
* **Function facts.** ``is_generator``, ``yields_value`` and ``returns_value`` look only at
  the function's own body (not nested functions, lambdas or classes). ``yields_value`` is
  a ``yield <expr>`` other than ``yield None``, or a ``yield from``. ``raises`` lists the
  raised expression as written (``raise X(...)``, ``raise mod.X`` and ``raise X from e``
  give ``X``/``mod.X``; ``raise err`` gives ``err``); a bare ``raise`` is not listed.
  ``__new__`` is a static method and ``__init_subclass__``/``__class_getitem__`` are
  class methods without a decorator, as in Python.
* **Class facts.** ``extra["attributes"]`` holds class-level assignments and annotations
  plus ``self.x = ...`` in any method that is not static, ``self`` being the method's first
  parameter as written (griffe only looks in ``__init__``); one entry per name, at its
  first line. ``is_abstract`` is true when the class derives from ``ABC``,
  uses ``ABCMeta`` or defines an abstract method.
* **Text** (names, annotations, defaults, docstrings) is decoded with the encoding a PEP 263
  comment declares when that codec is ASCII-compatible, else as UTF-8; undecodable bytes
  become U+FFFD, never an error.
* **Variables** are names bound by assignment (plain, annotated, chained, unpacked) or a
  ``type`` statement at module or class level, including inside ``if``/``try``/``with``
  blocks there; a string statement right after one is its docstring.
"""

from __future__ import annotations

import ast
import codecs
import inspect
import re
import warnings
from bisect import bisect_right
from functools import lru_cache
from operator import itemgetter
from typing import Any

import tree_sitter as ts
import tree_sitter_python

from pipeline.evidence.languages.base import LanguageAdapter, error_lines
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
_IMPLICIT_STATIC = frozenset({"__new__"})
_IMPLICIT_CLASSMETHOD = frozenset({"__init_subclass__", "__class_getitem__"})
_NO_CALLEES: frozenset[str] = frozenset()

_DOTTED = re.compile(r"[^\W\d]\w*(?:[\s\\]*\.[\s\\]*[^\W\d]\w*)*")
_LAYOUT = re.compile(r"[\s\\]+")
_CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*")
_MAIN_GUARDS = frozenset({'__name__=="__main__"', '"__main__"==__name__'})
_STRING_TYPES = frozenset({"string", "concatenated_string"})
_PATTERN_TYPES = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "parenthesized_expression"})
_SEQUENCE_TYPES = frozenset({"list", "tuple", "expression_list"})
_TYPED_PARAMS = frozenset({"typed_parameter", "typed_default_parameter", "default_parameter"})

# Scope kinds of the frame table.
_F_FUNCTION, _F_CLASS, _F_LAMBDA = 0, 1, 2
# Bits of a function frame's flags.
_GENERATOR, _YIELDS_VALUE, _RETURNS_VALUE = 1, 2, 4


def _is_private(name: str) -> bool:
    """``_x`` and ``__x`` are private; dunders such as ``__init__`` are public."""
    return name.startswith("_") and not (len(name) > 4 and name.startswith("__") and name.endswith("__"))


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)


def _source_encoding(source: bytes) -> str:
    """The PEP 263 encoding declared in the first two lines, when it is usable; else UTF-8.

    Only ASCII-compatible text codecs are accepted (as Python requires for source files);
    anything else, unknown names included, falls back to UTF-8.
    """
    head = source[:512].split(b"\n", 2)
    match = _CODING.search(b"\n".join(head[:2]))
    if match is None:
        return "utf-8"
    name = match.group(1).decode("ascii", "replace")
    try:
        if codecs.lookup(name).name in ("utf-8", "utf_8") or "ascii".encode(name) != b"ascii":
            return "utf-8"
        "ascii".encode(name).decode(name)
    except Exception:
        return "utf-8"
    return name


def _first_named(node: ts.Node) -> ts.Node | None:
    """The first named child that is not a comment."""
    child = node.named_child(0) if node.named_child_count else None
    while child is not None and child.type == "comment":
        child = child.next_named_sibling
    return child


def _dotted(text: str) -> str | None:
    """The dotted name ``text`` spells, without layout (``os.path.join``), or ``None``."""
    if not _DOTTED.fullmatch(text):
        return None
    if "\\" in text or " " in text or "\n" in text or "\t" in text or "\r" in text:
        text = _LAYOUT.sub("", text)
    return text


def _decorator_callee(expr: str) -> str:
    """The decorator as a callee path: ``functools.lru_cache(maxsize=1)`` -> ``functools.lru_cache``."""
    paren = expr.find("(")
    return _LAYOUT.sub("", expr[:paren] if paren >= 0 else expr)


def _literal_string(raw: str) -> str | None:
    """The value of one string literal as written (prefix and quotes included), or ``None``.

    Plain literals without escapes are sliced directly; anything else goes through
    ``ast.literal_eval``, which evaluates literals only and never runs code. f-strings,
    t-strings and bytes are not ``str`` constants: ``None``.
    """
    quote = 0
    while quote < len(raw) and raw[quote] not in "'\"":
        quote += 1
    prefix = raw[:quote].lower()
    if "f" in prefix or "b" in prefix or "t" in prefix:
        return None
    body = raw[quote:]
    q = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    if len(body) >= 2 * len(q) and body.endswith(q) and ("\\" not in body or "r" in prefix):
        value = body[len(q) : len(body) - len(q)]
        return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ast.literal_eval(raw)
    except Exception:
        # Broken escapes or an unterminated literal (syntax errors): keep the text.
        value = body.strip("'\"")
    return value if isinstance(value, str) else None


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
        self.outer = outer  # the decorated definition or the statement: span and hash
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


class _Scan:
    """The extraction of one file; :meth:`run` calls the phases in order."""

    def __init__(
        self, tree: ts.Tree, caps: dict[str, list[ts.Node]], source: bytes, rel_path: str, module: str
    ):
        self.tree = tree
        self.caps = caps
        self.src = source
        self.encoding = _source_encoding(source)
        self.rel_path = rel_path
        self.module = module
        filename = rel_path.rsplit("/", 1)[-1]
        self.filename = filename
        root = tree.root_node
        mod = _Rec(
            PACKAGE if filename.startswith("__init__.") else MODULE,
            module.rsplit(".", 1)[-1],
            module,
            root,
            root,
            -1,
        )
        mod.docstring = self.docstring(root)
        self.recs: list[_Rec] = [mod]
        self.all_events: list[tuple[int, str, ts.Node | None]] = []
        # Frame table, filled by frames().
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.parents: list[int] = []
        self.kinds: list[int] = []
        self.nodes: list[ts.Node] = []
        self.bodies: list[ts.Node | None] = []  # body block of each frame (None: broken)
        self.owner: list[int] = []  # record that owns calls/raises/imports in the frame
        self.own_rec: list[int] = []  # record of the frame itself when it is a symbol
        self.flags: list[int] = []
        self.fid: list[str] = []  # final symbol id of each record, after resolve()

    # -- small helpers ------------------------------------------------------------------
    def text(self, node: ts.Node | None) -> str:
        if node is None:
            return ""
        return self.src[node.start_byte : node.end_byte].decode(self.encoding, "replace")

    def frame_of(self, pos: int) -> int:
        """The innermost frame whose body contains byte ``pos`` (-1: module level)."""
        starts, ends, parents = self.starts, self.ends, self.parents
        i = bisect_right(starts, pos) - 1
        while i >= 0 and ends[i] <= pos:
            i = parents[i]
        return i

    def dotted(self, node: ts.Node) -> str | None:
        """The dotted name ``node`` spells (``os.path.join``), or ``None`` for other expressions."""
        return _dotted(self.text(node))

    def string_value(self, node: ts.Node) -> str | None:
        """The value of a ``string``/``concatenated_string`` node, or ``None`` if not a str."""
        if node.type == "string":
            return _literal_string(self.text(node))
        out = []
        for part in node.named_children:
            if part.type == "string":
                value = _literal_string(self.text(part))
                if value is None:
                    return None
                out.append(value)
        return "".join(out)

    def docstring(self, block: ts.Node | None) -> str | None:
        """The cleaned docstring of a body whose first statement is a plain string literal."""
        if block is None:
            return None
        return self._string_statement(_first_named(block))

    def _string_statement(self, statement: ts.Node | None) -> str | None:
        if statement is None or statement.type != "expression_statement" or statement.named_child_count != 1:
            return None
        expr = statement.named_child(0)
        if expr.type not in _STRING_TYPES:
            return None
        value = self.string_value(expr)
        return inspect.cleandoc(value.rstrip()) if value is not None else None

    def literal_names(self, node: ts.Node | None) -> list[str] | None:
        """The strings of a literal list/tuple (or a ``+`` of them), else ``None``.

        Only the top-level sequence may hold elements, and they must be strings:
        ``[["a"]]`` is not a list of names.
        """
        out: list[str] = []
        stack: list[tuple[ts.Node | None, bool]] = [(node, True)]
        while stack:
            n, top = stack.pop()
            if n is None:
                return None
            t = n.type
            if t in _STRING_TYPES and not top:
                value = self.string_value(n)
                if value is None:
                    return None
                out.append(value)
            elif t == "parenthesized_expression":
                stack.extend((c, top) for c in reversed(n.named_children) if c.type != "comment")
            elif t in _SEQUENCE_TYPES and top:
                stack.extend((c, False) for c in reversed(n.named_children) if c.type != "comment")
            elif t == "binary_operator" and top:
                op = n.child_by_field_name("operator")
                if op is None or op.type != "+":
                    return None
                stack.append((n.child_by_field_name("right"), True))
                stack.append((n.child_by_field_name("left"), True))
            elif t != "comment":
                return None
        return out

    # -- phases -------------------------------------------------------------------------
    def run(self) -> None:
        self.frames()
        self.definitions()
        self.flow()
        self.bindings()
        self.resolve()

    def frames(self) -> None:
        """Sort every function/class body and lambda by start and link each to its parent."""
        raw: list[tuple[int, int, int, ts.Node, ts.Node | None]] = []
        caps = self.caps
        for kind, key in (
            (_F_FUNCTION, "definition.function"),
            (_F_CLASS, "definition.class"),
            (_F_LAMBDA, "scope.lambda"),
        ):
            for node in caps.get(key, ()):
                body = node.child_by_field_name("body")
                if body is None:  # broken definition: an empty frame
                    raw.append((node.end_byte, -node.end_byte, kind, node, None))
                else:
                    raw.append((body.start_byte, -body.end_byte, kind, node, body))
        raw.sort(key=lambda f: (f[0], f[1]))
        n = len(raw)
        self.starts = [f[0] for f in raw]
        self.ends = ends = [-f[1] for f in raw]
        self.kinds = [f[2] for f in raw]
        self.nodes = [f[3] for f in raw]
        self.bodies = [f[4] for f in raw]
        self.parents = parents = [-1] * n
        self.owner = [0] * n
        self.own_rec = [-1] * n
        self.flags = [0] * n
        stack: list[int] = []
        for i, start in enumerate(self.starts):
            while stack and ends[stack[-1]] <= start:
                stack.pop()
            parents[i] = stack[-1] if stack else -1
            stack.append(i)

    def definitions(self) -> None:
        """Classes and functions in the module or in a symbol class become records."""
        recs, kinds, parents, owner, own_rec = self.recs, self.kinds, self.parents, self.owner, self.own_rec
        for i, node in enumerate(self.nodes):
            p = parents[i]
            kind = kinds[i]
            in_class = p >= 0 and kinds[p] == _F_CLASS and own_rec[p] >= 0
            name_node = None
            if kind != _F_LAMBDA and (p < 0 or in_class):
                name_node = node.child_by_field_name("name")
            if name_node is None:
                owner[i] = owner[p] if p >= 0 else 0
                continue
            name = self.text(name_node)
            parent_rec = own_rec[p] if p >= 0 else 0
            outer = node.parent
            if outer is None or outer.type != "decorated_definition":
                outer = node
            sym_kind = CLASS if kind == _F_CLASS else (METHOD if in_class else FUNCTION)
            rec = _Rec(sym_kind, name, f"{recs[parent_rec].qualname}.{name}", node, outer, parent_rec)
            rec.frame = i
            if outer is not node:
                rec.decorators = [
                    self.text(expr)
                    for d in outer.named_children
                    if d.type == "decorator" and (expr := _first_named(d)) is not None
                ]
            own_rec[i] = owner[i] = len(recs)
            recs.append(rec)
            if sym_kind == CLASS:
                self.fill_class(rec)
            else:
                self.fill_callable(rec, in_class)

    def fill_class(self, rec: _Rec) -> None:
        node = rec.node
        bases: list[str] = []
        keywords: dict[str, str] = {}
        supers = node.child_by_field_name("superclasses")
        if supers is not None:
            for arg in supers.named_children:
                if arg.type == "keyword_argument":
                    keywords[self.text(arg.child_by_field_name("name"))] = self.text(
                        arg.child_by_field_name("value")
                    )
                elif arg.type != "comment":
                    bases.append(self.text(arg))
        rec.docstring = self.docstring(self.bodies[rec.frame])
        meta = keywords.get("metaclass")
        rec.extra = {
            "bases": bases,
            "keywords": keywords,
            "is_abstract": any(b in _ABC_BASES for b in bases) or (meta is not None and meta in _ABC_META),
        }

    def fill_callable(self, rec: _Rec, in_class: bool) -> None:
        node = rec.node
        callees = {_decorator_callee(d) for d in rec.decorators} if rec.decorators else _NO_CALLEES
        is_static = not callees.isdisjoint(_STATIC) or (in_class and rec.name in _IMPLICIT_STATIC)
        is_classmethod = not callees.isdisjoint(_CLASSMETHOD) or (
            in_class and rec.name in _IMPLICIT_CLASSMETHOD
        )
        params = self.params(node.child_by_field_name("parameters"))
        returns = node.child_by_field_name("return_type")
        rec.params = params
        rec.returns = self.text(returns) if returns is not None else None
        rec.docstring = self.docstring(self.bodies[rec.frame])
        rec.extra = {
            "is_async": node.child_count > 0 and node.child(0).type == "async",
            "is_property": not callees.isdisjoint(_PROPERTY),
            "is_staticmethod": is_static,
            "is_classmethod": is_classmethod,
            "is_abstract": not callees.isdisjoint(_ABSTRACT),
            "is_overload": not callees.isdisjoint(_OVERLOAD),
        }
        if (
            in_class
            and not is_static
            and params
            and params[0].kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD)
        ):
            rec.self_name = params[0].name

    def params(self, parameters: ts.Node | None) -> list[Param]:
        """Every parameter of a ``parameters`` node with its kind, annotation and default."""
        params: list[Param] = []
        if parameters is None:
            return params
        kind = POSITIONAL_OR_KEYWORD
        for child in parameters.named_children:
            t = child.type
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
            target: ts.Node | None = child
            if t in _TYPED_PARAMS:
                ann = child.child_by_field_name("type")
                annotation = self.text(ann) if ann is not None else None
                value = child.child_by_field_name("value")
                default = self.text(value) if value is not None else None
                target = child.child_by_field_name("name")
                if target is None:
                    target = _first_named(child)
                if target is None:
                    continue
                t = target.type
            if t == "identifier":
                params.append(Param(self.text(target), kind, annotation, default))
            elif t == "list_splat_pattern":
                params.append(Param(self.text(_first_named(target)), VAR_POSITIONAL, annotation, None))
                kind = KEYWORD_ONLY
            elif t == "dictionary_splat_pattern":
                params.append(Param(self.text(_first_named(target)), VAR_KEYWORD, annotation, None))
            elif t == "tuple_pattern":  # Python 2 tuple parameter: keep it visible, as written
                params.append(Param(self.text(target), kind, annotation, default))
        return params

    def flow(self) -> None:
        """``raise``, ``yield`` and ``return`` facts, each credited to its frame or owner."""
        caps, recs, kinds, owner, flags = self.caps, self.recs, self.kinds, self.owner, self.flags
        for node in caps.get("raise", ()):
            exc = _first_named(node)
            cause = node.child_by_field_name("cause")
            if exc is None or (cause is not None and exc.start_byte == cause.start_byte):
                continue  # bare re-raise
            if exc.type == "call":
                exc = exc.child_by_field_name("function")
            name = self.dotted(exc) if exc is not None else None
            f = self.frame_of(node.start_byte)
            if name is not None and f >= 0:
                recs[owner[f]].raises.add(name)
        for node in caps.get("yield", ()):
            f = self.frame_of(node.start_byte)
            if f >= 0 and kinds[f] != _F_CLASS:
                value = _first_named(node)
                is_from = node.child_count > 1 and node.child(1).type == "from"
                valued = value is not None and (is_from or self.text(value) != "None")
                flags[f] |= _GENERATOR | (_YIELDS_VALUE if valued else 0)
        for node in caps.get("return", ()):
            f = self.frame_of(node.start_byte)
            if f >= 0 and kinds[f] == _F_FUNCTION:
                value = _first_named(node)
                if value is not None and self.text(value) != "None":
                    flags[f] |= _RETURNS_VALUE
        for rec in recs:
            if rec.kind in (FUNCTION, METHOD):
                bits = flags[rec.frame]
                rec.extra["is_generator"] = bool(bits & _GENERATOR)
                rec.extra["yields_value"] = bool(bits & _YIELDS_VALUE)
                rec.extra["returns_value"] = bool(bits & _RETURNS_VALUE)

    def bindings(self) -> None:
        """Module/class variables, ``self.x`` attributes and ``__all__`` changes."""
        recs, own_rec, frame_of = self.recs, self.own_rec, self.frame_of
        variables: list[_Rec] = []
        kept: list[tuple[int, ts.Node, int]] = []  # (position, assignment, scope record)
        for node in self.caps.get("assignment", ()):
            pos = node.start_byte
            f = frame_of(pos)
            scope = own_rec[f] if f >= 0 else 0
            if scope < 0:
                continue
            kind = recs[scope].kind
            if kind == FUNCTION:
                continue
            if kind == METHOD:  # only `self.x = ...`, possibly unpacked, binds something here
                left = node.child_by_field_name("left") if recs[scope].self_name is not None else None
                if left is None or (left.type != "attribute" and left.type not in _PATTERN_TYPES):
                    continue
            kept.append((pos, node, scope))
        # Captures come in no fixed order: source order keeps same-line attributes stable.
        kept.sort(key=itemgetter(0))
        for _pos, node, scope in kept:
            srec = recs[scope]
            if srec.kind == METHOD:
                self.self_attributes(node, srec)
                continue
            targets, ann_node, value_node = self.assign_targets(node)
            annotation = self.text(ann_node) if ann_node is not None and len(targets) == 1 else None
            line = node.start_point[0] + 1
            statement = node.parent or node
            value = self.text(value_node)[:_VALUE_LIMIT] if value_node is not None else None
            docstring = None
            for i, t in enumerate(targets):
                if t.type != "identifier":
                    continue
                name = self.text(t)
                if i == 0:
                    docstring = self._string_statement(_next_statement(statement))
                rec = _Rec(VARIABLE, name, f"{srec.qualname}.{name}", node, statement, scope)
                rec.extra = {
                    "value": value,
                    "annotation": annotation,
                    "is_constant": bool(_CONSTANT.fullmatch(name)),
                }
                rec.docstring = docstring
                variables.append(rec)
                if srec.kind == CLASS:
                    srec.attributes.append({"name": name, "annotation": annotation, "line": line})
                elif name == "__all__":
                    self.all_events.append((node.start_byte, "assign", value_node))
        for node in self.caps.get("all.augment", ()):
            op = node.child_by_field_name("operator")
            if op is not None and op.type == "+=" and frame_of(node.start_byte) == -1:
                self.all_events.append((node.start_byte, "extend", node.child_by_field_name("right")))
        for node in self.caps.get("type_alias", ()):
            f = frame_of(node.start_byte)
            scope = own_rec[f] if f >= 0 else 0
            if scope < 0 or recs[scope].kind in (FUNCTION, METHOD):
                continue
            ident = node.child_by_field_name("left")
            while ident is not None and ident.type != "identifier":
                ident = _first_named(ident)
            if ident is None:
                continue
            name = self.text(ident)
            right = node.child_by_field_name("right")
            rec = _Rec(VARIABLE, name, f"{recs[scope].qualname}.{name}", node, node, scope)
            rec.extra = {
                "value": self.text(right)[:_VALUE_LIMIT] if right is not None else None,
                "annotation": None,
                "is_constant": bool(_CONSTANT.fullmatch(name)),
                "is_type_alias": True,
            }
            variables.append(rec)
        # Source order decides which assignment of a name wins.
        variables.sort(key=lambda r: r.node.start_byte)
        recs.extend(variables)

    def self_attributes(self, node: ts.Node, method: _Rec) -> None:
        """Record ``self.x = ...`` (also unpacked, also annotated) on the method's class.

        ``node`` is an assignment whose left side is an attribute or a pattern.
        """
        targets, ann_node, _value = self.assign_targets(node)
        annotation = self.text(ann_node) if ann_node is not None and len(targets) == 1 else None
        line = node.start_point[0] + 1
        cls = self.recs[method.parent]
        for t in targets:
            if t.type != "attribute":
                continue
            obj = t.child_by_field_name("object")
            attr = t.child_by_field_name("attribute")
            if (
                obj is not None
                and attr is not None
                and obj.type == "identifier"
                and self.text(obj) == method.self_name
            ):
                cls.attributes.append({"name": self.text(attr), "annotation": annotation, "line": line})

    @staticmethod
    def assign_targets(assignment: ts.Node) -> tuple[list[ts.Node], ts.Node | None, ts.Node | None]:
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
        flat: list[ts.Node] = []
        stack = list(reversed(targets))
        while stack:  # unpack tuple/list targets without recursion
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

    def resolve(self) -> None:
        """Keep one record per qualname (see the module docstring) and fix every final id."""
        recs = self.recs
        winner: dict[str, int] = {}
        merged: dict[int, bytes] = {}  # property index -> source of its getter and accessors
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
                merged[prev_idx] = merged.get(prev_idx, self.node_bytes(prev.outer)) + self.node_bytes(
                    rec.outer
                )
                prev.hash = content_hash(merged[prev_idx])
                continue
            winner[rec.qualname] = idx
        alive = [True] * len(recs)
        ids: set[str] = {self.module}
        for idx in range(1, len(recs)):
            rec = recs[idx]
            alive[idx] = winner.get(rec.qualname) == idx and alive[rec.parent]
            if alive[idx]:
                ids.add(rec.qualname)
        self.alive = alive
        fid = [f"py:{self.module}"] * len(recs)
        for idx in range(1, len(recs)):
            qualname = recs[idx].qualname
            fid[idx] = f"py:{qualname}" if qualname in ids else fid[recs[idx].parent]
        self.fid = fid

    def node_bytes(self, node: ts.Node) -> bytes:
        return self.src[node.start_byte : node.end_byte]

    def calls(self) -> list[CallRecord]:
        """Call sites in source order, one per (caller, callee): the first occurrence is kept.

        Callee texts repeat within a file, so each distinct text is decoded and checked once.
        """
        src, encoding, starts, ends, parents = self.src, self.encoding, self.starts, self.ends, self.parents
        module_id = self.fid[0]
        # Caller id by frame; frame -1 (module level) reads the last entry.
        caller_ids = [self.fid[o] for o in self.owner]
        caller_ids.append(module_id)
        first: dict[tuple[str, str], ts.Node] = {}  # (caller, callee) -> node of its first call
        names: dict[bytes, str] = {}  # source text of a called name -> the name
        chains: dict[bytes, str] = {}  # source text of a called attribute -> dotted name, or ""

        for node in self.caps.get("call.name", ()):
            s = node.start_byte
            raw = src[s : node.end_byte]
            callee = names.get(raw)
            if callee is None:
                callee = names[raw] = raw.decode(encoding, "replace")
            if callee == "super":
                call = node.parent
                grand = call.parent if call is not None else None
                if grand is not None and grand.type == "attribute":
                    continue  # recorded as super().name
            f = bisect_right(starts, s) - 1  # frame_of(s), inlined in this hot loop
            while f >= 0 and ends[f] <= s:
                f = parents[f]
            key = (caller_ids[f], callee)
            prev = first.get(key)
            if prev is None or s < prev.start_byte:  # captures come in no fixed order
                first[key] = node
        for node in self.caps.get("call.super", ()):
            s = node.start_byte
            key = (
                caller_ids[self.frame_of(s)],
                f"super().{self.text(node.child_by_field_name('attribute'))}",
            )
            prev = first.get(key)
            if prev is None or s < prev.start_byte:
                first[key] = node
        for node in self.caps.get("call.attribute", ()):
            s = node.start_byte
            raw = src[s : node.end_byte]
            callee = chains.get(raw)
            if callee is None:
                callee = chains[raw] = _dotted(raw.decode(encoding, "replace")) or ""
            if not callee:
                continue
            f = bisect_right(starts, s) - 1
            while f >= 0 and ends[f] <= s:
                f = parents[f]
            caller = caller_ids[f]
            key = (caller, callee)
            prev = first.get(key)
            if prev is None or s < prev.start_byte:
                first[key] = node
            if caller == module_id and callee in ("__all__.extend", "__all__.append"):
                self.all_events.append((s, callee[8:], node.parent))
        ordered = sorted(first.items(), key=lambda item: item[1].start_byte)
        return [CallRecord(caller, callee, node.start_point[0] + 1) for (caller, callee), node in ordered]

    def imports(self) -> list[ImportRecord]:
        """One record per bound name, scoped to the owning symbol."""
        records: list[ImportRecord] = []
        for node in sorted(self.caps.get("import", ()), key=lambda n: n.start_byte):
            f = self.frame_of(node.start_byte)
            scope = self.fid[self.owner[f] if f >= 0 else 0]
            records.extend(self.import_records(node, scope))
        return records

    def import_records(self, node: ts.Node, scope: str) -> list[ImportRecord]:
        line = node.start_point[0] + 1
        records: list[ImportRecord] = []
        if node.type == "import_statement":
            for child in node.named_children:
                if child.type == "dotted_name":
                    name = _LAYOUT.sub("", self.text(child))
                    records.append(ImportRecord(scope, name, None, name.split(".", 1)[0], line))
                elif child.type == "aliased_import":
                    target = _LAYOUT.sub("", self.text(child.child_by_field_name("name")))
                    alias = self.text(child.child_by_field_name("alias")) or None
                    records.append(ImportRecord(scope, target, None, alias, line))
            return records
        level = 0
        module = ""
        if node.type == "future_import_statement":
            module = "__future__"
        else:
            mod_node = node.child_by_field_name("module_name")
            if mod_node is not None and mod_node.type == "relative_import":
                for c in mod_node.named_children:
                    if c.type == "import_prefix":
                        level = self.text(c).count(".")
                    elif c.type == "dotted_name":
                        module = _LAYOUT.sub("", self.text(c))
            elif mod_node is not None:
                module = _LAYOUT.sub("", self.text(mod_node))
        for child in node.children_by_field_name("name"):
            if child.type == "dotted_name":
                name = _LAYOUT.sub("", self.text(child))
                records.append(ImportRecord(scope, module, name, name, line, level))
            elif child.type == "aliased_import":
                name = _LAYOUT.sub("", self.text(child.child_by_field_name("name")))
                alias = self.text(child.child_by_field_name("alias")) or name
                records.append(ImportRecord(scope, module, name, alias, line, level))
        if any(c.type == "wildcard_import" for c in node.named_children):
            records.append(ImportRecord(scope, module, "*", None, line, level))
        return records

    def has_main(self) -> bool:
        if self.filename == "__main__.py":
            return True
        for node in self.caps.get("main.condition", ()):
            if self.frame_of(node.start_byte) == -1:
                guard = _LAYOUT.sub("", self.text(node)).replace("'", '"')
                if guard in _MAIN_GUARDS:
                    return True
        return False

    def exports(self) -> list[str] | None:
        """The literal ``__all__`` after its assignments and extensions in source order, or ``None``."""
        names: list[str] | None = None
        assigned = False
        for _pos, op, node in sorted(self.all_events, key=lambda e: e[0]):
            if op == "assign":
                assigned = True
                names = self.literal_names(node)
                continue
            if not assigned or names is None:
                continue
            arg = node
            if op in ("extend", "append") and node is not None and node.type == "call":
                args = node.child_by_field_name("arguments")
                arg = _first_named(args) if args is not None else None
            if op == "append":
                value = self.string_value(arg) if arg is not None and arg.type in _STRING_TYPES else None
                names = [*names, value] if value is not None else None
            else:
                more = self.literal_names(arg)
                names = names + more if more is not None else None
        return names

    def symbols(self, last_line: int, exports: list[str] | None) -> tuple[list[Symbol], list[Edge]]:
        """The surviving records as symbols in source order, with publicness and edges."""
        recs, alive, fid, src, rel_path = self.recs, self.alive, self.fid, self.src, self.rel_path
        mod_public = all(not _is_private(part) for part in self.module.split(".") if part)
        exported = set(exports) if exports is not None else None
        order = sorted((rec.outer.start_byte, idx) for idx, rec in enumerate(recs) if alive[idx])
        public = [False] * len(recs)
        symbols: list[Symbol] = []
        edges: list[Edge] = []
        for _pos, idx in order:
            rec = recs[idx]
            kind, parent = rec.kind, rec.parent
            if idx == 0:
                public[0] = mod_public
            elif parent == 0 and exported is not None:
                public[idx] = mod_public and rec.name in exported
            else:
                public[idx] = public[parent] and not _is_private(rec.name)
            if kind in (FUNCTION, METHOD):
                rec.extra["raises"] = sorted(rec.raises) if rec.raises else []
                if rec.extra["is_abstract"] and recs[parent].kind == CLASS:
                    # Classes are filled before their methods: complete the flag here.
                    recs[parent].extra["is_abstract"] = True
            elif kind == CLASS:
                rec.extra["attributes"] = _dedupe_attributes(rec.attributes)
            if idx == 0:
                start, end = 1, last_line
                digest = content_hash(src)
            else:
                outer = rec.outer
                start, end = outer.start_point[0] + 1, outer.end_point[0] + 1
                digest = rec.hash or content_hash(src[outer.start_byte : outer.end_byte])
            # Ids of surviving records (and of their parents, which survive too) are in fid.
            sym = Symbol(
                id=fid[idx],
                kind=kind,
                name=rec.name,
                qualname=rec.qualname,
                language="python",
                file=rel_path,
                line_start=start,
                line_end=end,
                hash=digest,
                public=public[idx],
                parent=None if idx == 0 else fid[parent],
                params=rec.params,
                returns=rec.returns,
                decorators=rec.decorators,
                docstring=rec.docstring,
                extra=rec.extra,
            )
            symbols.append(sym)
            if idx != 0:
                edges.append(Edge(sym.parent, sym.id, CONTAINS, line=start))
        return symbols, edges


def _next_statement(statement: ts.Node) -> ts.Node | None:
    nxt = statement.next_named_sibling
    while nxt is not None and nxt.type == "comment":
        nxt = nxt.next_named_sibling
    return nxt


def _property_accessor(rec: _Rec) -> str | None:
    """``"setter"``/``"deleter"`` when ``rec`` is decorated ``@<its name>.setter``/``.deleter``."""
    for d in rec.decorators:
        path = _decorator_callee(d)
        if path == f"{rec.name}.setter":
            return "setter"
        if path == f"{rec.name}.deleter":
            return "deleter"
    return None


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


@lru_cache(maxsize=8)
def _packages(modules: frozenset[str]) -> frozenset[str]:
    """Module names that have a submodule in ``modules`` (hence are packages)."""
    out: set[str] = set()
    for name in modules:
        parts = name.split(".")
        for i in range(1, len(parts)):
            out.add(".".join(parts[:i]))
    return frozenset(out)


class PythonAdapter(LanguageAdapter):
    """Evidence for Python files (``.py``): see the module docstring for the rules."""

    language = "python"
    query_file = "python.scm"

    def grammar(self) -> object:
        """Return the tree-sitter-python grammar."""
        return tree_sitter_python.language()

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
        names = list(chain) if stem == "__init__" and chain else [*chain, stem]
        return ".".join(n.replace(".", "_") for n in names)

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

    def extract(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        """Extract symbols, contains-edges, imports and calls from one Python file."""
        ev = self.new_evidence(source, rel_path, module)
        tree = self.parse(source)
        root = tree.root_node
        scan = _Scan(tree, self.captures(root), source, rel_path, module)
        scan.run()
        ev.calls = scan.calls()
        ev.imports = scan.imports()
        exports = scan.exports()
        scan.recs[0].extra = {"all": exports, "has_main": scan.has_main(), "has_errors": root.has_error}
        last_line = max(1, source.count(b"\n") + (0 if not source or source.endswith(b"\n") else 1))
        ev.symbols, ev.edges = scan.symbols(last_line, exports)
        if root.has_error:
            ev.has_errors = True
            ev.error_lines = error_lines(tree)
        return ev
