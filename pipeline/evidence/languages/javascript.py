"""JavaScript, TypeScript and TSX adapters.

The definitions, exports, imports and call sites are found by ``javascript.scm`` /
``typescript.scm``; this module turns query matches into evidence: it nests definitions
by their byte spans (no recursion, so arbitrarily deep code is safe), reads parameters,
JSDoc comments and decorators, and resolves relative import specifiers to modules.
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_javascript
import tree_sitter_typescript

from pipeline.evidence.languages.base import LanguageAdapter, error_lines, node_hash, span, text
from pipeline.evidence.model import (
    CALLABLE_KINDS,
    CLASS,
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

# Longest first, so ".d.ts" never loses to ".ts" (".d" stays in the module name: a
# declaration file and its implementation are different modules).
_EXTENSIONS = (".tsx", ".mts", ".cts", ".ts", ".jsx", ".mjs", ".cjs", ".js")
_MEMBER_CHAIN = re.compile(r"[A-Za-z_$#][\w$#]*(?:\??\.[A-Za-z_$#][\w$#]*)*")
_CALLEE_TYPES = frozenset({"identifier", "member_expression", "this", "super"})
_MAX_CALLEE_BYTES = 200
_PRIVATE_TAGS = re.compile(r"@(private|internal)\b")
_FILE_TAGS = re.compile(r"@(file|fileoverview|overview|module|license)\b")
_DOC_LINE = re.compile(r"^\s*\*? ?")


@dataclass(slots=True)
class _Def:
    pattern: int
    kind: str
    node: ts.Node
    name: ts.Node | None
    value: ts.Node | None


@dataclass(slots=True)
class _Facts:
    """What the query found, keyed by node id."""

    defs: dict[int, _Def] = field(default_factory=dict)
    exported: set[int] = field(default_factory=set)
    export_stmt: dict[int, ts.Node] = field(default_factory=dict)
    export_names: set[str] = field(default_factory=set)
    imports: list[ts.Node] = field(default_factory=list)
    reexports: list[ts.Node] = field(default_factory=list)
    requires: list[tuple[ts.Node, ts.Node, ts.Node]] = field(default_factory=list)
    calls: list[tuple[ts.Node, ts.Node]] = field(default_factory=list)


@dataclass(slots=True)
class _Frame:
    """An open definition during the nesting sweep.

    ``symbol`` owns what is nested inside (the enclosing callable for local definitions,
    which are not symbols themselves).
    """

    symbol: Symbol
    local: bool


def _enclosing(spans: list[tuple[int, int, bool]]) -> list[int]:
    """Return, for each span, the index of the innermost enclosing container span (-1: none).

    ``spans`` are ``(start_byte, end_byte, is_container)`` sorted by ``(start, -end)``.
    Syntax nodes either nest or are disjoint, so one stack of open containers suffices
    whatever the nesting depth.
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


def _clean_block_doc(raw: str) -> str:
    """Body of a ``/** ... */`` comment without the delimiters and leading ``*`` columns."""
    body = raw[3:]
    if body.endswith("*/"):
        body = body[:-2]
    lines = [_DOC_LINE.sub("", line).rstrip() for line in body.splitlines()]
    return "\n".join(lines).strip()


def _line_count(source: bytes) -> int:
    return max(1, source.count(b"\n") + (0 if source.endswith(b"\n") else 1))


def _type_text(node: ts.Node | None) -> str | None:
    """Type annotation text without its leading colon (``: number`` -> ``number``)."""
    if node is None:
        return None
    value = text(node).strip()
    if value.startswith(":"):
        value = value[1:].strip()
    return value or None


def _string_value(node: ts.Node | None) -> str:
    raw = text(node)
    if len(raw) >= 2 and raw[0] in "'\"`" and raw[-1] == raw[0]:
        return raw[1:-1]
    return raw


def _decorator(node: ts.Node) -> str:
    """A decorator as written, without its ``@``."""
    return text(node).removeprefix("@").strip()


def _has_token(node: ts.Node, token: str) -> bool:
    return any(not c.is_named and c.type == token for c in node.children)


def _callee_text(node: ts.Node) -> str | None:
    """The callee as written when it is a name or a member chain (``this.a.b``), else None."""
    kind = node.type
    if kind == "identifier":
        return text(node) or None
    if kind not in _CALLEE_TYPES or node.end_byte - node.start_byte > _MAX_CALLEE_BYTES:
        return None
    value = "".join(text(node).split())
    return value if _MEMBER_CHAIN.fullmatch(value) else None


def _params_of(fn: ts.Node) -> list[Param]:
    """Parameters of a function-like node (declaration, method, arrow, signature)."""
    single = fn.child_by_field_name("parameter")
    if single is not None:
        return [Param(text(single))]
    plist = fn.child_by_field_name("parameters")
    if plist is None:
        return []
    out: list[Param] = []
    for p in plist.named_children:
        annotation = default = None
        if p.type in ("required_parameter", "optional_parameter"):
            pattern = p.child_by_field_name("pattern")
            annotation = _type_text(p.child_by_field_name("type"))
            value = p.child_by_field_name("value")
            default = text(value) if value is not None else None
        elif p.type == "assignment_pattern":
            pattern = p.child_by_field_name("left")
            default = text(p.child_by_field_name("right")) or None
        elif p.type in ("comment", "decorator"):
            continue
        else:
            pattern = p
        if pattern is None or pattern.type == "this":
            continue
        kind = POSITIONAL_OR_KEYWORD
        name = text(pattern)
        if pattern.type == "rest_pattern":
            kind = VAR_POSITIONAL
            name = name[3:].strip() if name.startswith("...") else name
        out.append(Param(name, kind=kind, annotation=annotation, default=default))
    return out


_JS_TS_EXTENSIONS = frozenset({"js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx"})


@functools.lru_cache(maxsize=4)
def _shared_stems(files: frozenset[str]) -> dict[str, int]:
    """How many JS/TS files share each extension-less path (one pass per repository)."""
    counts: dict[str, int] = {}
    for f in files:
        if f.rsplit(".", 1)[-1].lower() in _JS_TS_EXTENSIONS:
            stem = _strip_extension(f)
            counts[stem] = counts.get(stem, 0) + 1
    return counts


class JavaScriptAdapter(LanguageAdapter):
    """ES modules and CommonJS: functions, classes, methods, imports, requires and calls."""

    language = "javascript"
    query_file = "javascript.scm"
    id_prefix = "js"

    def grammar(self) -> object:
        """The grammar from the ``tree-sitter-javascript`` wheel."""
        return tree_sitter_javascript.language()

    def module_name(self, rel_path: str, files: frozenset[str]) -> str:
        """The repo-relative path without its extension (``src/utils/math``), or with it
        when another JS/TS file shares that stem (``bad.js`` beside ``bad.ts``), so every
        module keeps a name, and a page, of its own."""
        stem = _strip_extension(rel_path)
        return rel_path if _shared_stems(files).get(stem, 0) > 1 else stem

    # -- extraction ----------------------------------------------------------------------
    def extract(self, source: bytes, rel_path: str, module: str) -> FileEvidence:
        """Symbols, contains-edges, imports and calls of one JS/TS file."""
        ev = self.new_evidence(source, rel_path, module)
        tree = self.parse(source)
        root = tree.root_node
        mod = Symbol(
            id=f"{self.id_prefix}:{module}",
            kind=MODULE,
            name=posixpath.basename(module) or module,
            qualname=module,
            language=self.language,
            file=rel_path,
            line_start=1,
            line_end=_line_count(source),
            hash=ev.hash,
            public=True,
        )
        if root.has_error:
            ev.has_errors = True
            ev.error_lines = error_lines(tree)
            mod.extra["has_errors"] = True
        ev.symbols.append(mod)

        facts = self._collect(root)
        module_doc = self._module_doc(root)
        if module_doc is not None:
            mod.docstring = _clean_block_doc(text(module_doc))
        skip_doc = module_doc.id if module_doc is not None else None

        items: list[tuple[int, int, bool, object]] = [
            (d.node.start_byte, d.node.end_byte, True, d) for d in facts.defs.values()
        ]
        items += [(c.start_byte, c.end_byte, False, (c, callee)) for c, callee in facts.calls]
        items.sort(key=lambda it: (it[0], -it[1], not it[2]))
        parents = _enclosing([(s, e, c) for s, e, c, _ in items])

        by_id: dict[str, Symbol] = {mod.id: mod}
        root_frame = _Frame(mod, local=False)
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
            sym = self._symbol(payload, outer.symbol, facts, rel_path, skip_doc)  # type: ignore[arg-type]
            existing = by_id.get(sym.id)
            if existing is not None:
                existing.extra["overloads"] = existing.extra.get("overloads", 1) + 1
                frames[i] = _Frame(existing, local=False)
                continue
            by_id[sym.id] = sym
            ev.symbols.append(sym)
            frames[i] = _Frame(sym, local=False)

        for sym in ev.symbols[1:]:
            parent = by_id[sym.parent] if sym.parent else mod
            if parent is mod:
                sym.public = sym.public or sym.name in facts.export_names
            else:
                sym.public = sym.public and parent.public
            ev.edges.append(Edge(parent.id, sym.id, CONTAINS))

        ev.imports = self._imports(facts, mod.id)
        return ev

    def _collect(self, root: ts.Node) -> _Facts:
        facts = _Facts()
        for pattern, caps in self.matches(root):
            for key, nodes in caps.items():
                if key.startswith("def."):
                    node = nodes[0]
                    known = facts.defs.get(node.id)
                    if known is None or pattern < known.pattern:
                        name = caps.get("name")
                        value = caps.get("value")
                        facts.defs[node.id] = _Def(
                            pattern, key[4:], node, name[0] if name else None, value[0] if value else None
                        )
            if "exported" in caps:
                stmt = caps.get("export.stmt")
                for node in caps["exported"]:
                    facts.exported.add(node.id)
                    if stmt:
                        facts.export_stmt[node.id] = stmt[0]
            for node in caps.get("export.name", ()):
                facts.export_names.add(text(node))
            if "import" in caps:
                facts.imports.append(caps["import"][0])
            if "reexport" in caps:
                facts.reexports.append(caps["reexport"][0])
            if "require" in caps:
                facts.requires.append(
                    (caps["require"][0], caps["require.binding"][0], caps["require.source"][0])
                )
            if "call" in caps:
                facts.calls.append((caps["call"][0], caps["call.callee"][0]))
        return facts

    def _module_doc(self, root: ts.Node) -> ts.Node | None:
        """A leading ``/** */`` comment that documents the file rather than the next declaration."""
        first = root.named_child(0) if root.named_child_count else None
        if first is not None and first.type == "hash_bang_line":
            first = first.next_named_sibling
        if first is None or first.type != "comment" or not text(first).startswith("/**"):
            return None
        nxt = first.next_named_sibling
        if (
            nxt is None
            or _FILE_TAGS.search(text(first))
            or nxt.start_point[0] > first.end_point[0] + 1
            or nxt.type in ("import_statement", "comment", "expression_statement")
        ):
            return first
        return None

    def _symbol(self, d: _Def, parent: Symbol, facts: _Facts, rel_path: str, skip_doc: int | None) -> Symbol:
        node = d.node
        name = text(d.name) if d.name is not None else "default"
        qualname = f"{parent.qualname}.{name}"
        decl = node
        if node.type == "variable_declarator":
            container = node.parent
            if container is not None and container.named_child_count == 1:
                decl = container
        stmt = facts.export_stmt.get(node.id)
        anchor = stmt if stmt is not None else decl

        decorators = [_decorator(c) for c in node.children_by_field_name("decorator")]
        if stmt is not None:
            decorators = [_decorator(c) for c in stmt.children_by_field_name("decorator")] + decorators
        doc = None
        sib = anchor.prev_named_sibling
        member_decorators: list[str] = []
        while sib is not None and sib.type == "decorator":
            member_decorators.append(_decorator(sib))
            sib = sib.prev_named_sibling
        decorators = member_decorators[::-1] + decorators
        if sib is not None and sib.type == "comment" and sib.id != skip_doc and text(sib).startswith("/**"):
            doc = _clean_block_doc(text(sib))

        line_start, line_end = span(decl)
        sym = Symbol(
            id=f"{self.id_prefix}:{qualname}",
            kind=d.kind,
            name=name,
            qualname=qualname,
            language=self.language,
            file=rel_path,
            line_start=line_start,
            line_end=line_end,
            hash=node_hash(decl),
            public=False,
            parent=parent.id,
            decorators=decorators,
            docstring=doc,
        )
        if parent.kind == MODULE:
            sym.public = node.id in facts.exported
        else:
            # Members are public unless marked otherwise; the parent's visibility is applied later.
            sym.public = not name.startswith("#") and not (doc and _PRIVATE_TAGS.search(doc))
            access = next((c for c in node.children if c.type == "accessibility_modifier"), None)
            if access is not None:
                sym.extra["accessibility"] = text(access)
                sym.public = sym.public and text(access) == "public"
            if parent.kind == "namespace":
                sym.public = node.id in facts.exported

        if d.kind in (FUNCTION, METHOD):
            fn = d.value if d.value is not None else node
            sym.params = _params_of(fn)
            sym.returns = _type_text(fn.child_by_field_name("return_type"))
            sym.extra["is_async"] = _has_token(fn, "async")
            if "generator" in fn.type or _has_token(fn, "*"):
                sym.extra["is_generator"] = True
            if _has_token(node, "static"):
                sym.extra["is_static"] = True
            if _has_token(node, "get"):
                sym.extra["is_property"] = True
            if node.type == "abstract_method_signature" or _has_token(node, "abstract"):
                sym.extra["is_abstract"] = True
            if node.type in ("function_signature", "method_signature", "abstract_method_signature"):
                sym.extra["is_signature"] = True
        elif d.kind in (CLASS, "interface"):
            sym.extra["bases"] = _bases(node)
            if node.type == "abstract_class_declaration":
                sym.extra["is_abstract"] = True
        return sym

    # -- imports -------------------------------------------------------------------------
    def _imports(self, facts: _Facts, scope: str) -> list[ImportRecord]:
        records: list[ImportRecord] = []
        for node in facts.imports:
            line = node.start_point[0] + 1
            spec = _string_value(node.child_by_field_name("source"))
            before = len(records)
            for child in node.named_children:
                if child.type == "import_clause":
                    for part in child.named_children:
                        if part.type == "identifier":
                            records.append(ImportRecord(scope, spec, "default", text(part), line))
                        elif part.type == "namespace_import":
                            alias = next(
                                (text(c) for c in part.named_children if c.type == "identifier"), None
                            )
                            records.append(ImportRecord(scope, spec, "*", alias, line))
                        elif part.type == "named_imports":
                            for s in part.named_children:
                                if s.type == "import_specifier":
                                    name = text(s.child_by_field_name("name"))
                                    alias = s.child_by_field_name("alias")
                                    records.append(
                                        ImportRecord(scope, spec, name, text(alias) if alias else name, line)
                                    )
                elif child.type == "import_require_clause":
                    spec = _string_value(child.child_by_field_name("source"))
                    alias = next((text(c) for c in child.named_children if c.type == "identifier"), None)
                    records.append(ImportRecord(scope, spec, None, alias, line))
            if len(records) == before:
                # A side-effect import (`import './x'`, `import {} from './x'`) binds nothing.
                records.append(ImportRecord(scope, spec, None, None, line))
        for node in facts.reexports:
            line = node.start_point[0] + 1
            spec = _string_value(node.child_by_field_name("source"))
            clause = next((c for c in node.named_children if c.type == "export_clause"), None)
            ns = next((c for c in node.named_children if c.type == "namespace_export"), None)
            if clause is not None:
                for s in clause.named_children:
                    if s.type == "export_specifier":
                        name = text(s.child_by_field_name("name"))
                        alias = s.child_by_field_name("alias")
                        records.append(ImportRecord(scope, spec, name, text(alias) if alias else name, line))
            elif ns is not None:
                alias = next((text(c) for c in ns.named_children if c.type in ("identifier", "string")), None)
                records.append(ImportRecord(scope, spec, "*", alias, line))
            else:
                records.append(ImportRecord(scope, spec, "*", None, line))
        for node, binding, source in facts.requires:
            line = node.start_point[0] + 1
            spec = _string_value(source)
            if binding.type == "object_pattern":
                for part in binding.named_children:
                    if part.type == "shorthand_property_identifier_pattern":
                        records.append(ImportRecord(scope, spec, text(part), text(part), line))
                    elif part.type == "pair_pattern":
                        key, value = part.child_by_field_name("key"), part.child_by_field_name("value")
                        records.append(ImportRecord(scope, spec, text(key), text(value), line))
            else:
                records.append(ImportRecord(scope, spec, None, text(binding), line))
        records.sort(key=lambda r: r.line)
        return records

    def resolve_import(self, record: ImportRecord, module: str, modules: frozenset[str]) -> str:
        """Resolve a relative specifier to a repo module (``./math`` -> ``src/utils/math``).

        Bare specifiers (packages, ``node:`` builtins, path aliases) stay as written. A named
        import resolves to ``<module>.<name>``; default, namespace and side-effect imports
        resolve to the module itself.
        """
        spec = record.module
        member = record.name if record.name not in (None, "*", "default") else None
        target = spec
        if spec in (".", "..") or spec.startswith(("./", "../")):
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(module), spec))
            if joined != ".." and not joined.startswith("../"):
                joined = "" if joined == "." else joined
                target = _find_module(joined, modules) or _strip_extension(joined)
        return f"{target}.{member}" if member else target


def _strip_extension(path: str) -> str:
    lower = path.lower()
    for ext in _EXTENSIONS:
        if lower.endswith(ext):
            return path[: -len(ext)]
    return path


def _find_module(path: str, modules: frozenset[str]) -> str | None:
    """The module a resolved relative path denotes: the file itself, or its ``index``."""
    stem = _strip_extension(path)
    prefix = f"{stem}/" if stem else ""
    for candidate in (stem, f"{prefix}index", f"{stem}.d", f"{prefix}index.d"):
        if candidate in modules:
            return candidate
    return None


def _bases(node: ts.Node) -> list[str]:
    """Superclass and implemented/extended interfaces, as written."""
    bases: list[str] = []
    for child in node.named_children:
        if child.type == "class_heritage":
            for clause in child.named_children:
                if clause.type == "extends_clause":
                    value = text(clause).strip()
                    bases.append(value[len("extends") :].strip() if value.startswith("extends") else value)
                elif clause.type == "implements_clause":
                    bases.extend(text(t) for t in clause.named_children)
                elif clause.type != "comment":
                    # JavaScript: the heritage holds the superclass expression directly.
                    bases.append(text(clause))
        elif child.type == "extends_type_clause":
            bases.extend(text(t) for t in child.named_children)
    return bases


class TypeScriptAdapter(JavaScriptAdapter):
    """TypeScript: adds interfaces, type aliases, enums, namespaces, signatures and types."""

    language = "typescript"
    query_file = "typescript.scm"
    id_prefix = "ts"

    def grammar(self) -> object:
        """The grammar from the ``tree-sitter-typescript`` wheel."""
        return tree_sitter_typescript.language_typescript()


class TsxAdapter(TypeScriptAdapter):
    """TypeScript with JSX."""

    language = "tsx"
    id_prefix = "tsx"

    def grammar(self) -> object:
        """The TSX grammar from the ``tree-sitter-typescript`` wheel."""
        return tree_sitter_typescript.language_tsx()
