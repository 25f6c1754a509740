"""Go adapter: packages, structs, interfaces, functions, methods, imports and calls.

A Go package is one directory, so every file of a directory yields the same package
symbol id (the builder merges them). Methods are named after their receiver type
(``internal/store.Store.Get``) and attach to that type when it is declared in the same
file. Definitions are nested by byte span, never by recursion.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_go

from pipeline.evidence.languages.base import DefinitionMatch as _Def
from pipeline.evidence.languages.base import LanguageAdapter, error_lines, node_hash, span, text
from pipeline.evidence.languages.base import OpenFrame as _Frame
from pipeline.evidence.model import (
    CALLABLE_KINDS,
    CONTAINS,
    FUNCTION,
    METHOD,
    PACKAGE,
    POSITIONAL_OR_KEYWORD,
    VAR_POSITIONAL,
    CallRecord,
    Edge,
    FileEvidence,
    ImportRecord,
    Param,
    Symbol,
)

ROOT_PACKAGE = "main"  # qualname of the repository root directory's package
_MEMBER_CHAIN = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_CALLEE_TYPES = frozenset({"identifier", "selector_expression"})
_MAX_CALLEE_BYTES = 200
_MAJOR_VERSION = re.compile(r"v\d+")
_GOPKG_VERSION = re.compile(r"\.v\d+$")
_DOC_LINE = re.compile(r"^\s*\*? ?")


@dataclass(slots=True)
class _Facts:
    defs: dict[int, _Def] = field(default_factory=dict)
    package: str | None = None
    package_node: ts.Node | None = None
    imports: list[ts.Node] = field(default_factory=list)
    calls: list[tuple[ts.Node, ts.Node]] = field(default_factory=list)


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


def is_exported(name: str) -> bool:
    """Go's export rule: the name starts with an upper-case letter."""
    return bool(name) and name[0].isupper()


def _doc_comment(anchor: ts.Node) -> str | None:
    """The comment group ending on the line just above ``anchor`` (Go's doc comment rule)."""
    group: list[ts.Node] = []
    row = anchor.start_point[0]
    sib = anchor.prev_named_sibling
    while sib is not None and sib.type == "comment" and sib.end_point[0] == row - 1:
        group.append(sib)
        row = sib.start_point[0]
        sib = sib.prev_named_sibling
    # A comment trailing code on its own line belongs to that code, not to the group.
    if group and sib is not None and sib.end_point[0] == group[-1].start_point[0]:
        group.pop()
    if not group:
        return None
    lines: list[str] = []
    for comment in reversed(group):
        raw = text(comment)
        if raw.startswith("//"):
            lines.append(raw[3:] if raw.startswith("// ") else raw[2:])
        else:
            body = raw[2:-2] if raw.endswith("*/") else raw[2:]
            lines.extend(_DOC_LINE.sub("", line).rstrip() for line in body.splitlines())
    return "\n".join(lines).strip() or None


def _params(plist: ts.Node | None) -> list[Param]:
    """Parameters of a parameter list; unnamed parameters are called ``_``."""
    out: list[Param] = []
    if plist is None:
        return out
    for p in plist.named_children:
        if p.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        annotation = text(p.child_by_field_name("type")) or None
        kind = VAR_POSITIONAL if p.type == "variadic_parameter_declaration" else POSITIONAL_OR_KEYWORD
        names = [text(n) for n in p.children_by_field_name("name")] or ["_"]
        out.extend(Param(name, kind=kind, annotation=annotation) for name in names)
    return out


def _receiver(method: ts.Node) -> tuple[str, bool]:
    """The receiver's base type name and whether the receiver is a pointer."""
    plist = method.child_by_field_name("receiver")
    decl = (
        next((c for c in plist.named_children if c.type == "parameter_declaration"), None) if plist else None
    )
    node = decl.child_by_field_name("type") if decl is not None else None
    pointer = False
    # Bounded: a receiver type is at most `*T[...]` with optional parentheses.
    for _ in range(8):
        if node is None:
            break
        if node.type == "pointer_type":
            pointer = True
            node = node.named_child(0)
        elif node.type == "parenthesized_type":
            node = node.named_child(0)
        elif node.type == "generic_type":
            node = node.child_by_field_name("type")
        else:
            break
    return text(node), pointer


def _callee_text(node: ts.Node) -> str | None:
    kind = node.type
    if kind == "identifier":
        return text(node) or None
    if kind not in _CALLEE_TYPES or node.end_byte - node.start_byte > _MAX_CALLEE_BYTES:
        return None
    value = "".join(text(node).split())
    return value if _MEMBER_CHAIN.fullmatch(value) else None


def default_import_name(path: str) -> str:
    """The name an import binds when it has no alias: the last path element, without a
    major-version element (``/v2``) or a gopkg.in version suffix (``yaml.v3``)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return path
    last = parts[-1]
    if _MAJOR_VERSION.fullmatch(last) and len(parts) > 1:
        last = parts[-2]
    return _GOPKG_VERSION.sub("", last)


class GoAdapter(LanguageAdapter):
    """Go source files; the package directory is the module."""

    language = "go"
    query_file = "go.scm"
    id_prefix = "go"

    def grammar(self) -> object:
        """The grammar from the ``tree-sitter-go`` wheel."""
        return tree_sitter_go.language()

    def module_name(self, rel_path: str, files: frozenset[str]) -> str:
        """The package directory (``internal/store``); the repository root is ``main``."""
        return posixpath.dirname(rel_path) or ROOT_PACKAGE

    def extract(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        """Symbols, contains-edges, imports and calls of one Go file."""
        ev = self.new_evidence(source, rel_path, module)
        tree = self.parse(source)
        root = tree.root_node
        facts = self._collect(root)
        pkg = Symbol(
            id=f"{self.id_prefix}:{module}",
            kind=PACKAGE,
            name=facts.package or posixpath.basename(module),
            qualname=module,
            language=self.language,
            file=rel_path,
            line_start=1,
            line_end=_line_count(source),
            hash=ev.hash,
            public=True,
        )
        if facts.package:
            pkg.extra["package"] = facts.package
        if facts.package_node is not None:
            pkg.docstring = _doc_comment(facts.package_node)
        if root.has_error:
            ev.has_errors = True
            ev.error_lines = error_lines(tree)
            pkg.extra["has_errors"] = True
        ev.symbols.append(pkg)

        items: list[tuple[int, int, bool, object]] = [
            (d.node.start_byte, d.node.end_byte, True, d) for d in facts.defs.values()
        ]
        items += [(c.start_byte, c.end_byte, False, (c, callee)) for c, callee in facts.calls]
        items.sort(key=lambda it: (it[0], -it[1], not it[2]))
        parents = _enclosing([(s, e, c) for s, e, c, _ in items])

        by_id: dict[str, Symbol] = {pkg.id: pkg}
        root_frame = _Frame(pkg, local=False)
        # Every container precedes what it encloses, so its frame is set before it is read.
        frames = [root_frame] * len(items)
        for i, (_s, _e, is_def, payload) in enumerate(items):
            outer = frames[parents[i]] if parents[i] >= 0 else root_frame
            if not is_def:
                call, callee = payload  # type: ignore[misc]
                callee_text = _callee_text(callee)
                if callee_text:
                    ev.calls.append(CallRecord(outer.symbol.id, callee_text, call.start_point[0] + 1))
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
            receiver = sym.extra.get("receiver")
            if receiver is not None:
                owner = by_id.get(f"{self.id_prefix}:{module}.{receiver}")
                if owner is not None and owner.kind not in CALLABLE_KINDS:
                    sym.parent = owner.id
            parent = by_id.get(sym.parent or "", pkg)
            if parent is not pkg:
                sym.public = sym.public and parent.public
            ev.edges.append(Edge(parent.id, sym.id, CONTAINS))

        ev.imports = self._imports(facts, pkg.id)
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
                ident = caps["package"][0]
                facts.package = text(ident)
                facts.package_node = ident.parent
            if "import" in caps:
                facts.imports.append(caps["import"][0])
            if "call" in caps:
                facts.calls.append((caps["call"][0], caps["call.callee"][0]))
        return facts

    def _symbol(self, d: _Def, parent: Symbol, rel_path: str) -> Symbol:
        node = d.node
        name = text(d.name)
        scope = parent.qualname
        receiver = None
        pointer = False
        if node.type == "method_declaration":
            receiver, pointer = _receiver(node)
            if receiver:
                scope = f"{scope}.{receiver}"
        qualname = f"{scope}.{name}"
        anchor = node
        if node.type in ("type_spec", "type_alias"):
            # A lone `type X ...` carries its doc comment on the declaration, not the spec.
            decl = node.parent
            if decl is not None and decl.type == "type_declaration" and decl.named_child_count == 1:
                anchor = decl
        line_start, line_end = span(anchor)
        public = is_exported(name)
        if receiver is not None:
            public = public and is_exported(receiver)
        sym = Symbol(
            id=f"{self.id_prefix}:{qualname}",
            kind=d.kind,
            name=name,
            qualname=qualname,
            language=self.language,
            file=rel_path,
            line_start=line_start,
            line_end=line_end,
            hash=node_hash(anchor),
            public=public,
            parent=parent.id,
            docstring=_doc_comment(anchor),
        )
        if d.kind in (FUNCTION, METHOD):
            sym.params = _params(node.child_by_field_name("parameters"))
            sym.returns = text(node.child_by_field_name("result")) or None
            type_params = node.child_by_field_name("type_parameters")
            if type_params is not None:
                sym.extra["type_params"] = text(type_params)
            if receiver is not None:
                sym.extra["receiver"] = receiver
                sym.extra["pointer_receiver"] = pointer
        elif d.kind == "struct":
            sym.extra["bases"], sym.extra["fields"] = _struct_members(node.child_by_field_name("type"))
        elif d.kind == "interface":
            body = node.child_by_field_name("type")
            sym.extra["bases"] = (
                [text(c) for c in body.named_children if c.type == "type_elem"] if body else []
            )
        else:
            sym.extra["underlying"] = text(node.child_by_field_name("type"))
            if node.type == "type_alias":
                sym.extra["is_alias"] = True
        return sym

    def _imports(self, facts: _Facts, scope: str) -> list[ImportRecord]:
        records: list[ImportRecord] = []
        for spec in facts.imports:
            raw = text(spec.child_by_field_name("path"))
            path = raw[1:-1] if len(raw) >= 2 else raw
            alias_node = spec.child_by_field_name("name")
            line = spec.start_point[0] + 1
            if alias_node is None:
                records.append(ImportRecord(scope, path, None, default_import_name(path), line))
            elif alias_node.type == "dot":
                records.append(ImportRecord(scope, path, "*", None, line))
            elif alias_node.type == "blank_identifier":
                records.append(ImportRecord(scope, path, None, None, line))
            else:
                records.append(ImportRecord(scope, path, None, text(alias_node), line))
        return records

    def resolve_import(self, record: ImportRecord, module: str, modules: frozenset[str]) -> str:
        """Map an import path to the repository package whose directory it ends with.

        Without the module path from go.mod, the longest package directory that is a
        path suffix of the import wins (``example.com/app/internal/store`` ->
        ``internal/store``). Paths without a domain (the standard library) only match a
        directory exactly.
        """
        path = record.module
        if path in modules:
            return path
        first = path.split("/", 1)[0]
        if "." not in first:
            return path
        best = None
        for candidate in modules:
            if path.endswith("/" + candidate) and (best is None or len(candidate) > len(best)):
                best = candidate
        return best or path


def _struct_members(struct: ts.Node | None) -> tuple[list[str], list[str]]:
    """Embedded types (as written, with ``*``) and named fields of a struct type."""
    bases: list[str] = []
    fields: list[str] = []
    body = (
        next((c for c in struct.named_children if c.type == "field_declaration_list"), None)
        if struct
        else None
    )
    if body is None:
        return bases, fields
    for decl in body.named_children:
        if decl.type != "field_declaration":
            continue
        names = decl.children_by_field_name("name")
        if names:
            fields.extend(text(n) for n in names)
        else:
            star = "*" if any(c.type == "*" for c in decl.children) else ""
            bases.append(star + text(decl.child_by_field_name("type")))
    return bases, fields
