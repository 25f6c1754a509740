"""Rust adapter: modules, structs, enums, traits, functions, impl methods, uses and calls.

Module qualnames follow the crate's module tree (``src/a/b.rs`` -> ``crate::a::b``).
Methods of ``impl`` blocks are named after the implementing type
(``crate::a::Store::get``) and attach to that type's symbol when it is declared in the
same file; an ``impl`` block is never a symbol of its own. Definitions are nested by
byte span, never by recursion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_rust

from pipeline.evidence.languages.base import DefinitionMatch as _Def
from pipeline.evidence.languages.base import LanguageAdapter, error_lines, node_hash, span, text
from pipeline.evidence.model import (
    CALLABLE_KINDS,
    CONTAINS,
    FUNCTION,
    METHOD,
    MODULE,
    POSITIONAL_OR_KEYWORD,
    VAR_POSITIONAL,
    CallRecord,
    Edge,
    FileEvidence,
    ImportRecord,
    Param,
    Symbol,
)

CRATE = "crate"
_SEP = "::"
_PATH = re.compile(r"[^\W\d]\w*(?:(?:\.|::)[^\W\d]\w*)*")
_CALLEE_TYPES = frozenset({"identifier", "field_expression", "scoped_identifier", "generic_function"})
_MAX_CALLEE_BYTES = 200
_DOC_LINE = re.compile(r"^\s*\*? ?")
_COMMENTS = ("line_comment", "block_comment")
# Sweep item tags; containers (definitions, impls) sort before the rest at equal spans.
_DEF, _IMPL, _CALL, _USE, _MOD_DECL = range(5)


@dataclass(slots=True)
class _Impl:
    node: ts.Node
    type: ts.Node
    trait: ts.Node | None


@dataclass(slots=True)
class _Frame:
    """An open container during the nesting sweep.

    ``symbol`` owns what is nested inside (the enclosing callable for local items);
    ``prefix`` is the qualname prefix for nested definitions (``crate::a::Type`` inside an
    impl); ``module`` is the nearest module, the scope of ``use`` and ``mod`` records.
    """

    symbol: Symbol
    module: Symbol
    prefix: str
    local: bool
    impl_type: str | None = None
    impl_trait: str | None = None


@dataclass(slots=True)
class _Facts:
    defs: dict[int, _Def] = field(default_factory=dict)
    impls: list[_Impl] = field(default_factory=list)
    mod_decls: list[tuple[ts.Node, ts.Node]] = field(default_factory=list)
    uses: list[ts.Node] = field(default_factory=list)
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


def _doc_text(comment: ts.Node) -> str:
    doc = comment.child_by_field_name("doc")
    body = text(doc)
    if comment.type == "line_comment":
        return body[1:].rstrip("\r\n") if body.startswith(" ") else body.rstrip("\r\n")
    return "\n".join(_DOC_LINE.sub("", line).rstrip() for line in body.splitlines()).strip()


def _is_doc(comment: ts.Node, marker: str) -> bool:
    return comment.child_by_field_name(marker) is not None and comment.child_by_field_name("doc") is not None


def _leading(node: ts.Node) -> tuple[str | None, list[str]]:
    """Outer doc comments (``///``, ``/** */``) and attributes written above an item."""
    docs: list[str] = []
    attrs: list[str] = []
    sib = node.prev_named_sibling
    while sib is not None:
        if sib.type == "attribute_item":
            attrs.append(" ".join(text(c) for c in sib.named_children))
        elif sib.type in _COMMENTS:
            if _is_doc(sib, "outer"):
                docs.append(_doc_text(sib))
            elif _is_doc(sib, "inner"):
                break
        else:
            break
        sib = sib.prev_named_sibling
    doc = "\n".join(reversed(docs)).strip() or None
    return doc, attrs[::-1]


def _module_doc(root: ts.Node) -> str | None:
    """Inner doc comments (``//!``, ``/*! */``) at the top of the file."""
    docs: list[str] = []
    for i in range(root.named_child_count):
        child = root.named_child(i)
        if child is None or child.type not in (*_COMMENTS, "inner_attribute_item"):
            break
        if child.type in _COMMENTS and _is_doc(child, "inner"):
            docs.append(_doc_text(child))
    return "\n".join(docs).strip() or None


def _params(plist: ts.Node | None) -> tuple[list[Param], str | None]:
    """Parameters of a function, and its ``self`` parameter as written (not a parameter)."""
    out: list[Param] = []
    receiver = None
    if plist is None:
        return out, receiver
    for p in plist.named_children:
        if p.type == "self_parameter":
            receiver = text(p)
        elif p.type == "parameter":
            pattern = p.child_by_field_name("pattern")
            out.append(Param(text(pattern), annotation=text(p.child_by_field_name("type")) or None))
        elif p.type == "variadic_parameter":
            pattern = p.child_by_field_name("pattern")
            out.append(Param(text(pattern) or "...", kind=VAR_POSITIONAL))
        elif p.type not in ("attribute_item", *_COMMENTS):
            # Closure-style or type-only parameters (`fn f(_: u8)` parses as a parameter).
            out.append(Param(text(p), kind=POSITIONAL_OR_KEYWORD))
    return out, receiver


def _type_name(node: ts.Node | None) -> str:
    """The base name of an impl's self type (``&'a mut Store<T>`` -> ``Store``)."""
    for _ in range(16):  # types nest shallowly here; the bound keeps hostile input cheap
        if node is None:
            return ""
        if node.type in ("reference_type", "pointer_type", "generic_type"):
            node = node.child_by_field_name("type")
        elif node.type == "scoped_type_identifier":
            node = node.child_by_field_name("name")
        elif node.type == "dynamic_type":
            node = node.child_by_field_name("trait")
        else:
            break
    return text(node)


def _callee_text(node: ts.Node) -> str | None:
    if node.type == "generic_function":
        node = node.child_by_field_name("function") or node
    kind = node.type
    if kind == "identifier":
        return text(node) or None
    if kind not in _CALLEE_TYPES or node.end_byte - node.start_byte > _MAX_CALLEE_BYTES:
        return None
    value = "".join(text(node).split())
    return value if _PATH.fullmatch(value) else None


def use_records(node: ts.Node, scope: str) -> list[ImportRecord]:
    """One record per name a ``use`` declaration binds (``use a::{B, C as D}`` -> B, D)."""
    line = node.start_point[0] + 1
    argument = node.child_by_field_name("argument")
    records: list[ImportRecord] = []
    stack: list[tuple[str, ts.Node | None]] = [("", argument)]
    while stack:
        prefix, tree = stack.pop()
        if tree is None:
            continue
        kind = tree.type
        if kind in ("scoped_use_list", "use_list"):
            path = tree.child_by_field_name("path") if kind == "scoped_use_list" else None
            inner = _join(prefix, _compact(path)) if path is not None else prefix
            items = tree.child_by_field_name("list") if kind == "scoped_use_list" else tree
            if items is not None:
                stack.extend((inner, c) for c in reversed(items.named_children) if c.type not in _COMMENTS)
        elif kind == "use_as_clause":
            full = _join(prefix, _compact(tree.child_by_field_name("path")))
            records.append(_binding(scope, full, text(tree.child_by_field_name("alias")), line))
        elif kind == "use_wildcard":
            path = _compact(tree).removesuffix("*").removesuffix(_SEP)
            records.append(ImportRecord(scope, _join(prefix, path), "*", None, line))
        elif kind == "self":
            records.append(ImportRecord(scope, prefix, None, prefix.rsplit(_SEP, 1)[-1], line))
        else:
            full = _join(prefix, _compact(tree))
            records.append(_binding(scope, full, full.rsplit(_SEP, 1)[-1], line))
    return records


def _compact(node: ts.Node | None) -> str:
    return "".join(text(node).split())


def _join(prefix: str, path: str) -> str:
    if not prefix:
        return path
    return f"{prefix}{_SEP}{path}" if path else prefix


def _binding(scope: str, full: str, alias: str, line: int) -> ImportRecord:
    module, sep, name = full.rpartition(_SEP)
    if not sep or not module:
        return ImportRecord(scope, full.removeprefix(_SEP), None, alias, line)
    return ImportRecord(scope, module, name, alias, line)


class RustAdapter(LanguageAdapter):
    """Rust source files; module qualnames follow the crate's module tree."""

    language = "rust"
    query_file = "rust.scm"
    id_prefix = "rs"

    def __init__(self) -> None:
        super().__init__()
        self._roots: tuple[frozenset[str], frozenset[str]] | None = None

    def grammar(self) -> object:
        """The grammar from the ``tree-sitter-rust`` wheel."""
        return tree_sitter_rust.language()

    def module_name(self, rel_path: str, files: frozenset[str]) -> str:
        """The module path: ``src/lib.rs`` -> ``crate``, ``src/a/b.rs`` -> ``crate::a::b``.

        In a repository with several crates, each crate is named after its directory
        (``crates/io-util/src/lib.rs`` -> ``io_util``). Files outside a ``src`` folder
        (``tests/``, ``examples/``, ``build.rs``) are named after their path.
        """
        parts = rel_path.split("/")
        parts[-1] = parts[-1].removesuffix(".rs")
        if "src" in parts[:-1]:
            cut = len(parts) - 2 - parts[-2::-1].index("src")
            prefix, inner = parts[:cut], parts[cut + 1 :]
            root = self._crate_name("/".join(prefix), files)
            if inner in (["lib"], ["main"]):
                inner = []
        else:
            root, inner = "", parts
        if inner and inner[-1] == "mod":
            inner = inner[:-1]
        return _SEP.join(p for p in [root, *inner] if p) or CRATE

    def _crate_name(self, prefix: str, files: frozenset[str]) -> str:
        cached = self._roots
        if cached is None or cached[0] is not files:
            roots = frozenset(
                f.rsplit("/src/", 1)[0] if "/src/" in f else "" for f in files if f.endswith(".rs")
            )
            cached = (files, roots)
            self._roots = cached
        if len(cached[1]) <= 1 or not prefix:
            return CRATE
        return prefix.rsplit("/", 1)[-1].replace("-", "_")

    # -- extraction ----------------------------------------------------------------------
    def extract(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        """Symbols, contains-edges, use/mod records and calls of one Rust file."""
        ev = self.new_evidence(source, rel_path, module)
        tree = self.parse(source)
        root = tree.root_node
        mod = Symbol(
            id=f"{self.id_prefix}:{module}",
            kind=MODULE,
            name=module.rsplit(_SEP, 1)[-1],
            qualname=module,
            language=self.language,
            file=rel_path,
            line_start=1,
            line_end=_line_count(source),
            hash=ev.hash,
            public=True,
            docstring=_module_doc(root),
        )
        if root.has_error:
            ev.has_errors = True
            ev.error_lines = error_lines(tree)
            mod.extra["has_errors"] = True
        ev.symbols.append(mod)
        facts = self._collect(root)

        items: list[tuple[int, int, int, object]] = [
            (d.node.start_byte, d.node.end_byte, _DEF, d) for d in facts.defs.values()
        ]
        items += [(i.node.start_byte, i.node.end_byte, _IMPL, i) for i in facts.impls]
        items += [(c.start_byte, c.end_byte, _CALL, (c, callee)) for c, callee in facts.calls]
        items += [(u.start_byte, u.end_byte, _USE, u) for u in facts.uses]
        items += [(m.start_byte, m.end_byte, _MOD_DECL, (m, n)) for m, n in facts.mod_decls]
        items.sort(key=lambda it: (it[0], -it[1], it[2]))
        parents = _enclosing([(s, e, tag in (_DEF, _IMPL)) for s, e, tag, _ in items])

        by_id: dict[str, Symbol] = {mod.id: mod}
        trait_impls: list[tuple[str, str]] = []
        root_frame = _Frame(mod, mod, module, local=False)
        # Every container precedes what it encloses, so its frame is set before it is read.
        frames = [root_frame] * len(items)
        for i, (_s, _e, tag, payload) in enumerate(items):
            outer = frames[parents[i]] if parents[i] >= 0 else root_frame
            if tag == _CALL:
                call, callee = payload  # type: ignore[misc]
                callee_text = _callee_text(callee)
                if callee_text:
                    ev.calls.append(CallRecord(outer.symbol.id, callee_text, call.start_point[0] + 1))
            elif tag == _USE:
                ev.imports.extend(use_records(payload, outer.module.id))  # type: ignore[arg-type]
            elif tag == _MOD_DECL:
                node, name = payload  # type: ignore[misc]
                ev.imports.append(
                    ImportRecord(
                        outer.module.id, f"self{_SEP}{text(name)}", None, text(name), node.start_point[0] + 1
                    )
                )
            elif (
                outer.local
                or outer.symbol.kind in CALLABLE_KINDS
                # Associated types of an impl belong to the implemented trait, not the type's API.
                or (outer.impl_type is not None and tag == _DEF and payload.kind != METHOD)  # type: ignore[attr-defined]
            ):
                frames[i] = _Frame(outer.symbol, outer.module, outer.prefix, local=True)
            elif tag == _IMPL:
                impl: _Impl = payload  # type: ignore[assignment]
                type_name = _type_name(impl.type)
                trait = text(impl.trait) if impl.trait is not None else None
                if trait:
                    trait_impls.append((f"{outer.prefix}{_SEP}{type_name}", trait))
                frames[i] = _Frame(
                    outer.symbol, outer.module, f"{outer.prefix}{_SEP}{type_name}", False, type_name, trait
                )
            else:
                sym = self._symbol(payload, outer, rel_path)  # type: ignore[arg-type]
                existing = by_id.get(sym.id)
                if existing is not None:
                    existing.extra["overloads"] = existing.extra.get("overloads", 1) + 1
                    frames[i] = _Frame(existing, outer.module, existing.qualname, local=False)
                    continue
                by_id[sym.id] = sym
                ev.symbols.append(sym)
                module_sym = sym if sym.kind == MODULE else outer.module
                frames[i] = _Frame(sym, module_sym, sym.qualname, local=False)

        for owner_qualname, trait in trait_impls:
            owner = by_id.get(f"{self.id_prefix}:{owner_qualname}")
            if owner is not None and owner.kind not in CALLABLE_KINDS:
                owner.extra.setdefault("bases", []).append(trait)
        for sym in ev.symbols[1:]:
            receiver = sym.extra.get("receiver")
            if receiver is not None:
                owner = by_id.get(f"{self.id_prefix}:{sym.qualname.rsplit(_SEP, 1)[0]}")
                if owner is not None and owner.kind not in CALLABLE_KINDS:
                    sym.parent = owner.id
            parent = by_id.get(sym.parent or "", mod)
            if parent is not mod:
                sym.public = sym.public and parent.public
            ev.edges.append(Edge(parent.id, sym.id, CONTAINS))
        ev.imports.sort(key=lambda r: r.line)
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
            if "impl" in caps:
                trait = caps.get("impl.trait")
                facts.impls.append(_Impl(caps["impl"][0], caps["impl.type"][0], trait[0] if trait else None))
            if "mod.decl" in caps:
                facts.mod_decls.append((caps["mod.decl"][0], caps["name"][0]))
            if "use" in caps:
                facts.uses.append(caps["use"][0])
            if "call" in caps:
                facts.calls.append((caps["call"][0], caps["call.callee"][0]))
        return facts

    def _symbol(self, d: _Def, outer: _Frame, rel_path: str) -> Symbol:
        node = d.node
        name = text(d.name)
        qualname = f"{outer.prefix}{_SEP}{name}"
        doc, attrs = _leading(node)
        visibility = next((c for c in node.named_children if c.type == "visibility_modifier"), None)
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
            public=text(visibility) == "pub",
            parent=outer.symbol.id,
            decorators=attrs,
            docstring=doc,
        )
        if visibility is not None:
            sym.extra["visibility"] = text(visibility)
        if outer.impl_trait is not None or outer.symbol.kind == "trait":
            # Trait items and trait-impl methods take the trait's visibility.
            sym.public = True
        if d.kind in (FUNCTION, METHOD):
            sym.params, receiver = _params(node.child_by_field_name("parameters"))
            sym.returns = text(node.child_by_field_name("return_type")) or None
            modifiers = next((c for c in node.named_children if c.type == "function_modifiers"), None)
            words = set(text(modifiers).split()) if modifiers is not None else set()
            sym.extra["is_async"] = "async" in words
            if "unsafe" in words:
                sym.extra["is_unsafe"] = True
            if "const" in words:
                sym.extra["is_const"] = True
            type_params = node.child_by_field_name("type_parameters")
            if type_params is not None:
                sym.extra["type_params"] = text(type_params)
            if d.kind == METHOD:
                if receiver is not None:
                    sym.extra["self"] = receiver
                else:
                    sym.extra["is_static"] = True
            if outer.impl_type is not None:
                sym.extra["receiver"] = outer.impl_type
                if outer.impl_trait is not None:
                    sym.extra["trait"] = outer.impl_trait
        elif d.kind == "struct":
            body = node.child_by_field_name("body")
            fields = [c for c in body.named_children if c.type == "field_declaration"] if body else []
            sym.extra["fields"] = [text(f.child_by_field_name("name")) for f in fields]
            sym.extra["bases"] = []
        elif d.kind == "enum":
            body = node.child_by_field_name("body")
            variants = [c for c in body.named_children if c.type == "enum_variant"] if body else []
            sym.extra["variants"] = [text(v.child_by_field_name("name")) for v in variants]
            sym.extra["bases"] = []
        elif d.kind == "trait":
            bounds = node.child_by_field_name("bounds")
            sym.extra["bases"] = [text(b) for b in bounds.named_children] if bounds is not None else []
        return sym

    def resolve_import(self, record: ImportRecord, module: str, modules: frozenset[str]) -> str:
        """Resolve ``crate::``/``self::``/``super::`` paths (and paths starting with a local
        module) to absolute module-tree paths; other paths are external and stay as written."""
        scope = record.scope.split(":", 1)[1] if record.scope.startswith(f"{self.id_prefix}:") else module
        path = record.module.removeprefix(_SEP)
        if record.name not in (None, "*"):
            path = _join(path, record.name)
        parts = path.split(_SEP)
        here = scope.split(_SEP)
        if parts[0] == CRATE:
            base, rest = here[:1], parts[1:]
        elif parts[0] in ("self", "super"):
            base, rest = here, parts
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super" and len(base) > 1:
                    base = base[:-1]
                rest = rest[1:]
        elif _join(scope, parts[0]) in modules:
            base, rest = here, parts
        elif _join(here[0], parts[0]) in modules:
            base, rest = here[:1], parts
        else:
            return path
        return _SEP.join(base + rest)
