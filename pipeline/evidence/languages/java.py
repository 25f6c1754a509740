"""Java adapter: classes, interfaces, enums, records, methods, imports and calls.

Each file is a module named ``<package>.<FileStem>`` (``com.example.Foo``); its types and
members are dotted below it (``com.example.Foo.Foo.run``). A member is public only when
it and every enclosing type are public (interface members are implicitly public).
Definitions are nested by byte span, never by recursion.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_java

from pipeline.evidence.languages.base import DefinitionMatch as _Def
from pipeline.evidence.languages.base import LanguageAdapter, error_lines, node_hash, span, text
from pipeline.evidence.languages.base import OpenFrame as _Frame
from pipeline.evidence.model import (
    CALLABLE_KINDS,
    CONTAINS,
    METHOD,
    MODULE,
    VAR_POSITIONAL,
    CallRecord,
    Edge,
    FileEvidence,
    ImportRecord,
    Param,
    Symbol,
)

# Conventional source roots: the package path starts after the last one found.
_SOURCE_ROOTS = ("java", "src")
_CHAIN = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_MAX_CALLEE_BYTES = 200
_DOC_LINE = re.compile(r"^\s*\*? ?")
_INTERFACE_KINDS = frozenset({"interface"})


@dataclass(slots=True)
class _Facts:
    defs: dict[int, _Def] = field(default_factory=dict)
    package: str | None = None
    imports: list[ts.Node] = field(default_factory=list)
    calls: list[tuple[ts.Node, ts.Node, ts.Node | None]] = field(default_factory=list)


def _enclosing(spans: list[tuple[int, int, bool]]) -> list[int]:
    """Return, for each span, the index of the innermost enclosing container span (-1: none).

    ``spans`` are ``(start_byte, end_byte, is_container)`` sorted by ``(start, -end)``;
    syntax nodes nest or are disjoint, so one stack suffices whatever the depth.
    """
    parents: list[int] = []
    stack: list[int] = []
    for i, (start, _end, container) in enumerate(spans):
        while stack and spans[stack[-1]][1] <= start:
            stack.pop()
        parents.append(stack[-1] if stack else -1)
        if container:
            stack.append(i)
    return parents


def _line_count(source: bytes) -> int:
    return max(1, source.count(b"\n") + (0 if source.endswith(b"\n") else 1))


def _compact(node: ts.Node | None) -> str:
    return "".join(text(node).split())


def _javadoc(node: ts.Node) -> str | None:
    sib = node.prev_named_sibling
    if sib is None or sib.type != "block_comment":
        return None
    raw = text(sib)
    if not raw.startswith("/**"):
        return None
    body = raw[3:-2] if raw.endswith("*/") else raw[3:]
    return "\n".join(_DOC_LINE.sub("", line).rstrip() for line in body.splitlines()).strip() or None


def _modifiers(node: ts.Node) -> tuple[set[str], list[str]]:
    """Modifier keywords and annotations (as written, without ``@``) of a declaration."""
    mods = next((c for c in node.named_children if c.type == "modifiers"), None)
    if mods is None:
        return set(), []
    words = {c.type for c in mods.children if not c.is_named}
    annotations = [
        text(c).removeprefix("@").strip()
        for c in mods.named_children
        if c.type in ("annotation", "marker_annotation")
    ]
    return words, annotations


def _params(plist: ts.Node | None) -> list[Param]:
    out: list[Param] = []
    if plist is None:
        return out
    for p in plist.named_children:
        if p.type == "formal_parameter":
            annotation = text(p.child_by_field_name("type")) + text(p.child_by_field_name("dimensions"))
            out.append(Param(text(p.child_by_field_name("name")), annotation=annotation or None))
        elif p.type == "spread_parameter":
            typ = next(
                (c for c in p.named_children if c.type not in ("modifiers", "variable_declarator")), None
            )
            declarator = next((c for c in p.named_children if c.type == "variable_declarator"), None)
            name = text(declarator.child_by_field_name("name")) if declarator is not None else ""
            out.append(Param(name, kind=VAR_POSITIONAL, annotation=text(typ) or None))
    return out


def _bases(node: ts.Node) -> list[str]:
    bases: list[str] = []
    for child in node.named_children:
        if child.type == "superclass":
            bases.extend(text(c) for c in child.named_children)
        elif child.type in ("super_interfaces", "extends_interfaces"):
            for type_list in child.named_children:
                bases.extend(text(c) for c in type_list.named_children)
    return bases


def _callee(call: ts.Node, callee: ts.Node, obj: ts.Node | None) -> str | None:
    if call.type == "object_creation_expression":
        if callee.type == "generic_type":
            callee = callee.named_child(0) or callee
        name = _compact(callee) if callee.end_byte - callee.start_byte <= _MAX_CALLEE_BYTES else ""
        return name if _CHAIN.fullmatch(name) else None
    name = text(callee)
    if obj is None:
        return name or None
    if obj.end_byte - obj.start_byte > _MAX_CALLEE_BYTES:
        return None
    receiver = _compact(obj)
    return f"{receiver}.{name}" if _CHAIN.fullmatch(receiver) else None


class JavaAdapter(LanguageAdapter):
    """Java source files; the module is the package plus the file's class name."""

    language = "java"
    query_file = "java.scm"
    id_prefix = "java"

    def grammar(self) -> object:
        """The grammar from the ``tree-sitter-java`` wheel."""
        return tree_sitter_java.language()

    def module_name(self, rel_path: str, files: frozenset[str]) -> str:
        """A dotted name from the path below the source root (``src/main/java/a/B.java`` ->
        ``a.B``); :meth:`extract` replaces it with the file's declared package."""
        parts = rel_path.removesuffix(".java").split("/")
        for root in _SOURCE_ROOTS:
            if root in parts[:-1]:
                cut = len(parts) - 2 - parts[-2::-1].index(root)
                return ".".join(parts[cut + 1 :])
        return ".".join(parts)

    def extract(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        """Symbols, contains-edges, imports and calls of one Java file.

        When the file declares a package, the evidence's module is ``<package>.<FileStem>``
        whatever :meth:`module_name` guessed from the path.
        """
        tree = self.parse(source)
        root = tree.root_node
        facts = self._collect(root)
        stem = posixpath.basename(rel_path).removesuffix(".java")
        if facts.package:
            module = f"{facts.package}.{stem}"
        ev = self.new_evidence(source, rel_path, module)
        mod = Symbol(
            id=f"{self.id_prefix}:{module}",
            kind=MODULE,
            name=stem,
            qualname=module,
            language=self.language,
            file=rel_path,
            line_start=1,
            line_end=_line_count(source),
            hash=ev.hash,
            public=True,
        )
        if facts.package:
            mod.extra["package"] = facts.package
        if root.has_error:
            ev.has_errors = True
            ev.error_lines = error_lines(tree)
            mod.extra["has_errors"] = True
        ev.symbols.append(mod)

        items: list[tuple[int, int, bool, object]] = [
            (d.node.start_byte, d.node.end_byte, True, d) for d in facts.defs.values()
        ]
        items += [(c[0].start_byte, c[0].end_byte, False, c) for c in facts.calls]
        items.sort(key=lambda it: (it[0], -it[1], not it[2]))
        parents = _enclosing([(s, e, c) for s, e, c, _ in items])

        by_id: dict[str, Symbol] = {mod.id: mod}
        root_frame = _Frame(mod, local=False)
        # Every container precedes what it encloses, so its frame is set before it is read.
        frames = [root_frame] * len(items)
        for i, (_s, _e, is_def, payload) in enumerate(items):
            outer = frames[parents[i]] if parents[i] >= 0 else root_frame
            if not is_def:
                call, callee, obj = payload  # type: ignore[misc]
                name = _callee(call, callee, obj)
                if name:
                    ev.calls.append(CallRecord(outer.symbol.id, name, call.start_point[0] + 1))
                continue
            if outer.local or outer.symbol.kind in CALLABLE_KINDS:
                frames[i] = _Frame(outer.symbol, local=True)
                continue
            sym = self._symbol(payload, outer.symbol, rel_path)  # type: ignore[arg-type]
            existing = by_id.get(sym.id)
            if existing is not None:
                existing.extra["overloads"] = existing.extra.get("overloads", 1) + 1
                frames[i] = _Frame(existing, local=False)
                continue
            by_id[sym.id] = sym
            ev.symbols.append(sym)
            frames[i] = _Frame(sym, local=False)

        for sym in ev.symbols[1:]:
            parent = by_id.get(sym.parent or "", mod)
            if parent is not mod:
                sym.public = sym.public and parent.public
            ev.edges.append(Edge(parent.id, sym.id, CONTAINS))
        ev.imports = [r for node in facts.imports if (r := self._import(node, mod.id)) is not None]
        return ev

    def _collect(self, root: ts.Node) -> _Facts:
        facts = _Facts()
        for pattern, caps in self.matches(root):
            for key, nodes in caps.items():
                if key.startswith("def."):
                    node = nodes[0]
                    known = facts.defs.get(node.id)
                    if known is None or pattern < known.pattern:
                        facts.defs[node.id] = _Def(pattern, key[4:], node, caps["name"][0])
            if "package" in caps and facts.package is None:
                facts.package = _compact(caps["package"][0]) or None
            if "import" in caps:
                facts.imports.append(caps["import"][0])
            if "call" in caps:
                obj = caps.get("call.object")
                facts.calls.append((caps["call"][0], caps["call.callee"][0], obj[0] if obj else None))
        return facts

    def _symbol(self, d: _Def, parent: Symbol, rel_path: str) -> Symbol:
        node = d.node
        name = text(d.name)
        qualname = f"{parent.qualname}.{name}"
        words, annotations = _modifiers(node)
        # Interface members are implicitly public.
        public = "private" not in words if parent.kind in _INTERFACE_KINDS else "public" in words
        line_start, line_end = span(node)
        sym = Symbol(
            id=f"{self.id_prefix}:{qualname}",
            kind=d.kind,
            name=name,
            qualname=qualname,
            language=self.language,
            file=rel_path,
            line_start=line_start,
            line_end=line_end,
            hash=node_hash(node),
            public=public,
            parent=parent.id,
            decorators=annotations,
            docstring=_javadoc(node),
        )
        for word in ("static", "abstract", "final", "default", "synchronized"):
            if word in words:
                sym.extra[f"is_{word}"] = True
        if d.kind == METHOD:
            sym.params = _params(node.child_by_field_name("parameters"))
            if node.type in ("constructor_declaration", "compact_constructor_declaration"):
                sym.extra["is_constructor"] = True
            else:
                returns = text(node.child_by_field_name("type")) + text(
                    node.child_by_field_name("dimensions")
                )
                sym.returns = returns or None
            throws = next((c for c in node.named_children if c.type == "throws"), None)
            if throws is not None:
                sym.extra["raises"] = [text(t) for t in throws.named_children]
        else:
            sym.extra["bases"] = _bases(node)
            if node.type == "record_declaration":
                sym.extra["is_record"] = True
                sym.extra["components"] = [p.name for p in _params(node.child_by_field_name("parameters"))]
            elif node.type == "annotation_type_declaration":
                sym.extra["is_annotation"] = True
        return sym

    def _import(self, node: ts.Node, scope: str) -> ImportRecord | None:
        path_node = next(
            (c for c in node.named_children if c.type in ("identifier", "scoped_identifier")), None
        )
        if path_node is None:
            return None
        path = _compact(path_node)
        line = node.start_point[0] + 1
        if any(c.type == "asterisk" for c in node.named_children):
            return ImportRecord(scope, path, "*", None, line)
        module, _, name = path.rpartition(".")
        if not module:
            return ImportRecord(scope, path, None, path, line)
        return ImportRecord(scope, module, name, name, line)

    def resolve_import(self, record: ImportRecord, module: str, modules: frozenset[str]) -> str:
        """The dotted path as written (``com.x.Y``); it names an internal module when a
        file declares that package and class name."""
        if record.name in (None, "*"):
            return record.module
        return f"{record.module}.{record.name}"
