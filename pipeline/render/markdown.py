"""Markdown pages: module reference pages, the index and the architecture page.

Facts come from the evidence graph (signatures, parameter types and defaults, bases,
decorators, ``file:line`` anchors, the module dependency diagram); prose comes only from
the validated records handed in. A symbol without a record is rendered from evidence
alone. Every output is deterministic: same inputs, same bytes.

All text from the repository or from a model is untrusted. It passes through
:func:`escape_text` (prose), :func:`code_span` (inline code), :func:`fence` (code blocks)
or the table-cell escaper, so it can neither inject HTML nor break the page's structure.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.agents.records import ApiRecord, ModuleDoc, Overview
from pipeline.evidence.graph import EvidenceGraph
from pipeline.evidence.model import (
    KEYWORD_ONLY,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    Param,
)
from pipeline.render.mermaid import module_dependency_diagram
from pipeline.render.paths import ARCHITECTURE_PAGE, INDEX_PAGE, anchor_id, module_pages

MODULE_KINDS = frozenset({"module", "package"})
CLASS_LIKE_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type", "impl"})
CALLABLE_KINDS = frozenset({"function", "method"})
DATA_KINDS = frozenset({"variable", "constant"})

_FENCE_LANG = {
    "python": "python",
    "javascript": "javascript",
    "typescript": "typescript",
    "tsx": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
}
# C0/C1 controls (tab and newline kept) and the bidirectional overrides that can make
# code read differently from how it runs.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BACKTICK_RUN = re.compile(r"`+")
_LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_ORDERED_ITEM = re.compile(r"(\d{1,9})([.)])")
# A line starting with one of these could open a block (heading, list, thematic break,
# setext underline, fence, table delimiter): escaping the character keeps it prose.
_BLOCK_STARTERS = frozenset("#=-+*_~:")
_INLINE_ESCAPES = {
    "\\": "\\\\",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "[": "\\[",
    "]": "\\]",
    "|": "\\|",
    "`": "\\`",
}
_ITER_TYPES = re.compile(
    r"(?:typing\.|collections\.abc\.|t\.)?"
    r"(?:Iterator|Iterable|Generator|AsyncIterator|AsyncIterable|AsyncGenerator)\[(.*)\]",
    re.DOTALL,
)
_SELF_NAMES = frozenset({"self", "cls", "&self", "&mut self", "mut self", "this"})
_LINK_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~/#-")
_MAX_VALUE = 80
_MAX_QUOTE = 1500
_MAX_SKIPPED_ROWS = 500
_SIGNATURE_WIDTH = 88


# -- escaping ---------------------------------------------------------------------------
def _clean(text: Any) -> str:
    """Untrusted text as a str with normalised line ends and no control characters."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE_CHARS.sub("\ufffd", text)


def _code_spans(line: str) -> list[tuple[bool, str]]:
    """Split a line into ``(is_code, text)`` pieces, pairing backtick strings as CommonMark does.

    A backtick string opens a code span only if a later string of the same length closes
    it; otherwise it is literal text and the scan goes on after it.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICK_RUN.finditer(line)]
    next_same: list[int | None] = [None] * len(runs)
    last_of_length: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):
        length = runs[i][1] - runs[i][0]
        next_same[i] = last_of_length.get(length)
        last_of_length[length] = i
    pieces: list[tuple[bool, str]] = []
    pos = 0
    i = 0
    while i < len(runs):
        close = next_same[i]
        if close is None:
            i += 1
            continue
        start, end = runs[i][0], runs[close][1]
        if start > pos:
            pieces.append((False, line[pos:start]))
        pieces.append((True, line[start:end]))
        pos = end
        i = close + 1
    if pos < len(line):
        pieces.append((False, line[pos:]))
    return pieces


def _escape_literal(text: str) -> str:
    return "".join(_INLINE_ESCAPES.get(ch, ch) for ch in text)


def _escape_line(line: str, *, table: bool = False) -> str:
    """Escape one line of prose; code spans are kept as written (they are shown literally).

    Outside code spans every backslash, backtick, bracket and pipe is escaped, so the only
    backtick strings left are the code spans found here and no link, image or reference
    definition can form. In a table cell, a pipe inside a code span gets an odd number of
    backslashes before it, so GFM does not split the cell there.
    """
    out: list[str] = []
    for is_code, piece in _code_spans(line):
        if not is_code:
            out.append(_escape_literal(piece))
        elif table:
            out.append(_escape_pipes_in_code(piece))
        else:
            out.append(piece)
    return "".join(out)


def _escape_pipes_in_code(code: str) -> str:
    out: list[str] = []
    backslashes = 0
    for ch in code:
        if ch == "|" and backslashes % 2 == 0:
            out.append("\\")
        out.append(ch)
        backslashes = backslashes + 1 if ch == "\\" else 0
    return "".join(out)


def _neutralise_start(line: str) -> str:
    """Make sure an escaped line of prose cannot open a block."""
    if not line:
        return line
    if line[0] in _BLOCK_STARTERS:
        return "\\" + line
    m = _ORDERED_ITEM.match(line)
    if m:
        return f"{m.group(1)}\\{m.group(2)}{line[m.end() :]}"
    return line


def escape_text(text: Any) -> str:
    """Untrusted prose as safe Markdown: one line per paragraph, paragraphs kept.

    ``<``, ``>`` and ``&`` become entities outside code spans; links and images cannot
    form; a paragraph cannot start a heading, list, table, fence or HTML block. Lines of a
    paragraph are joined (Markdown shows a soft line break as a space anyway), which also
    keeps every code span on one line where it can be checked.
    """
    paragraphs = _BLANK_LINE.split(_clean(text).strip())
    out = []
    for para in paragraphs:
        line = _LINE_BREAK.sub(" ", para.strip())
        if line:
            out.append(_neutralise_start(_escape_line(line)))
    return "\n\n".join(out)


def _inline(text: Any) -> str:
    """Untrusted text for a place that holds one line of inline content (heading, list item)."""
    return _escape_line(" ".join(_clean(text).split()))


def _cell(text: Any) -> str:
    """Untrusted text for a table cell: one line, pipes escaped even inside code spans."""
    return _escape_line(" ".join(_clean(text).split()), table=True)


def code_span(text: Any, *, table: bool = False) -> str:
    """``text`` as an inline code span, with a backtick fence longer than any run inside."""
    body = _LINE_BREAK.sub(" ", _clean(text)).replace("\n", " ")
    if not body:
        return "` `"
    longest = max((len(m.group()) for m in _BACKTICK_RUN.finditer(body)), default=0)
    ticks = "`" * (longest + 1)
    if body.strip(" ") and (body[0] in "` " or body[-1] in "` "):
        # CommonMark strips one space on each side, so the padding shows nothing.
        body = f" {body} "
    if table:
        body = _escape_pipes_in_code(body)
    return f"{ticks}{body}{ticks}"


def fence(code: Any, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run in ``code``."""
    body = _clean(code).rstrip("\n")
    longest = max((len(m.group()) for m in _BACKTICK_RUN.finditer(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    tag = re.sub(r"[^A-Za-z0-9_+-]", "", lang or "")
    return f"{ticks}{tag}\n{body}\n{ticks}"


def _dest(rel: str) -> str:
    """A link destination: anything outside a small safe set is percent-encoded."""
    return "".join(
        ch if ch in _LINK_SAFE else "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        for ch in rel
    )


def _link(text_md: str, rel: str | None) -> str:
    return f"[{text_md}]({_dest(rel)})" if rel else text_md


def _table(headers: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines.extend("| " + " | ".join(cell if cell else " " for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def first_paragraph(docstring: Any, limit: int = _MAX_QUOTE) -> str:
    """The first paragraph of a docstring (dedented, lines joined), at most ``limit`` chars."""
    text = inspect.cleandoc(_clean(docstring)) if docstring else ""
    para = _BLANK_LINE.split(text.strip(), maxsplit=1)[0] if text.strip() else ""
    para = " ".join(para.split())
    return para if len(para) <= limit else para[: limit - 1].rstrip() + "…"


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    m = re.search(r"(?<=[.!?])\s", text)
    return text[: m.start()] if m else text


def _quote(text: str) -> str:
    return "\n>\n".join(f"> {line}" for line in escape_text(text).split("\n\n"))


def _one_line(text: Any) -> str:
    """Source text (annotation, default) on one line: line breaks and their indentation
    become one space; other spacing is kept because it can be part of a literal."""
    return _LINE_BREAK.sub(" ", _clean(text)).strip()


# -- signatures -------------------------------------------------------------------------
def _opt_str(value: Any) -> str | None:
    return None if value is None else _one_line(value)


def _params_of(node: Mapping[str, Any]) -> list[Param]:
    out: list[Param] = []
    for p in node.get("params") or []:
        if isinstance(p, Param):
            out.append(Param(_one_line(p.name), p.kind, _opt_str(p.annotation), _opt_str(p.default)))
        elif isinstance(p, Mapping):
            out.append(
                Param(
                    _one_line(p.get("name") or ""),
                    str(p.get("kind") or POSITIONAL_OR_KEYWORD),
                    _opt_str(p.get("annotation")),
                    _opt_str(p.get("default")),
                )
            )
    return out


def _extra(node: Mapping[str, Any]) -> Mapping[str, Any]:
    extra = node.get("extra")
    return extra if isinstance(extra, Mapping) else {}


def _strings(value: Any) -> list[str]:
    """A list of strings from an evidence field that should hold one (a lone string counts)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def _bare(name: str) -> str:
    return name.strip().lstrip("*").lstrip(".").strip()


def shown_params(node: Mapping[str, Any]) -> list[Param]:
    """The parameters a reader passes: the signature's, without the bound ``self``/``cls``."""
    params = _params_of(node)
    if node.get("kind") != "method" or not params:
        return params
    first = params[0]
    positional = first.kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD)
    if node.get("language") == "python":
        bound = not _extra(node).get("is_staticmethod") or first.name in ("self", "cls")
        return params[1:] if bound and positional else params
    return params[1:] if first.name in _SELF_NAMES else params


def _py_param(p: Param) -> str:
    name = _bare(p.name)
    if p.kind == VAR_POSITIONAL:
        name = f"*{name}"
    elif p.kind == VAR_KEYWORD:
        name = f"**{name}"
    if p.annotation:
        return f"{name}: {p.annotation} = {p.default}" if p.default is not None else f"{name}: {p.annotation}"
    return f"{name}={p.default}" if p.default is not None else name


def _py_params(params: list[Param]) -> list[str]:
    parts: list[str] = []
    star_seen = False
    for i, p in enumerate(params):
        if p.kind == KEYWORD_ONLY and not star_seen:
            parts.append("*")
        if p.kind in (VAR_POSITIONAL, KEYWORD_ONLY):
            star_seen = True
        parts.append(_py_param(p))
        if p.kind == POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind != POSITIONAL_ONLY):
            parts.append("/")
    return parts


def _other_param(p: Param, lang: str) -> str:
    name, ann, default = p.name, p.annotation, p.default
    variadic = p.kind in (VAR_POSITIONAL, VAR_KEYWORD)
    if lang in ("javascript", "typescript", "tsx"):
        text = f"...{_bare(name)}" if variadic and not name.startswith("...") else name
        if ann and lang != "javascript":
            text += f": {ann}"
        return f"{text} = {default}" if default is not None else text
    if lang == "go":
        if variadic and ann and not ann.startswith("..."):
            ann = f"...{ann}"
        return f"{name} {ann}" if ann else name
    if lang == "rust":
        return f"{name}: {ann}" if ann else name
    if lang == "java":
        if variadic and ann and not ann.endswith("..."):
            ann = f"{ann}..."
        return f"{ann} {name}" if ann else name
    return f"{name} {ann}" if ann else name


def _join_params(head: str, parts: list[str], tail: str, wrap: int | None) -> str:
    line = f"{head}({', '.join(parts)}){tail}"
    if wrap is None or len(line) <= wrap or not parts:
        return line
    inner = "".join(f"    {part},\n" for part in parts)
    return f"{head}(\n{inner}){tail}"


def render_signature(node: Mapping[str, Any], *, wrap: int | None = None) -> str:
    """The signature of a symbol, from evidence only, in its language's own style.

    Python: ``async def name(a: int, /, b=1, *args, c, **kw) -> R``, ``class Name(Base)``,
    ``property name: type``, ``NAME: type = value``. Methods omit the bound ``self``/``cls``.
    Other languages: ``func Name(a int) error`` (Go), ``fn name(x: T) -> R`` (Rust),
    ``function name(a, ...rest)`` (JavaScript/TypeScript), ``R name(T a)`` (Java), and
    ``name(p T) R`` otherwise. With ``wrap``, a longer signature lists one parameter a line.
    """
    kind = str(node.get("kind") or "")
    name = _one_line(node.get("name") or "")
    lang = str(node.get("language") or "")
    extra = _extra(node)
    returns = _opt_str(node.get("returns"))
    if kind in CLASS_LIKE_KINDS:
        return _class_signature(node, kind, name, lang)
    if kind in DATA_KINDS:
        ann = _opt_str(extra.get("annotation"))
        value = _opt_str(extra.get("value"))
        text = f"{name}: {ann}" if ann else name
        return f"{text} = {value}" if value is not None else text
    if kind in MODULE_KINDS:
        return f"{'package' if kind == 'package' else 'module'} {_one_line(node.get('qualname') or name)}"
    if kind not in CALLABLE_KINDS:
        return f"{kind} {name}".strip()
    params = shown_params(node)
    is_async = bool(extra.get("is_async"))
    if lang == "python":
        if extra.get("is_property"):
            return f"property {name}: {returns}" if returns else f"property {name}"
        head = f"{'async ' if is_async else ''}def {name}"
        return _join_params(head, _py_params(params), f" -> {returns}" if returns else "", wrap)
    # Outside Python the signature shows every parameter as written (Rust's ``&self`` tells
    # how the receiver is borrowed); only the parameter table leaves the receiver out.
    params = _params_of(node)
    parts = [_other_param(p, lang) for p in params]
    if lang == "go":
        return _join_params(f"func {name}", parts, f" {returns}" if returns else "", wrap)
    if lang == "rust":
        return _join_params(
            f"{'async ' if is_async else ''}fn {name}", parts, f" -> {returns}" if returns else "", wrap
        )
    if lang in ("javascript", "typescript", "tsx"):
        star = "*" if extra.get("is_generator") else ""
        prefix = "async " if is_async else ""
        head = f"{prefix}{star}{name}" if kind == "method" else f"{prefix}function{star} {name}"
        tail = f": {returns}" if returns and lang != "javascript" else ""
        return _join_params(head, parts, tail, wrap)
    if lang == "java":
        return _join_params(f"{returns} {name}" if returns else name, parts, "", wrap)
    return _join_params(name, parts, f" {returns}" if returns else "", wrap)


def _class_signature(node: Mapping[str, Any], kind: str, name: str, lang: str) -> str:
    extra = _extra(node)
    bases = [_one_line(b) for b in _strings(extra.get("bases"))]
    if lang == "python":
        keywords = extra.get("keywords") if isinstance(extra.get("keywords"), Mapping) else {}
        args = bases + [f"{_one_line(k)}={_one_line(v)}" for k, v in keywords.items()]
        return f"class {name}({', '.join(args)})" if args else f"class {name}"
    if lang == "go":
        return f"type {name} {kind}" if kind in ("struct", "interface") else f"type {name}"
    if lang == "rust":
        if kind == "impl":
            return f"impl {name}"
        return f"{kind} {name}: {' + '.join(bases)}" if bases else f"{kind} {name}"
    if lang in ("javascript", "typescript", "tsx", "java"):
        return f"{kind} {name} extends {', '.join(bases)}" if bases else f"{kind} {name}"
    return f"{kind} {name}({', '.join(bases)})" if bases else f"{kind} {name}"


def _signature_block(node: Mapping[str, Any]) -> str:
    """Decorators (as written) above the signature; a property's own decorators are implied."""
    decorators = [_one_line(d).lstrip("@") for d in _strings(node.get("decorators"))]
    if _extra(node).get("is_property"):
        name = str(node.get("name") or "")
        own = {
            "property",
            "functools.cached_property",
            "cached_property",
            f"{name}.setter",
            f"{name}.deleter",
        }
        decorators = [d for d in decorators if d not in own]
    lines = [f"@{d}" for d in decorators]
    lines.append(render_signature(node, wrap=_SIGNATURE_WIDTH))
    return "\n".join(lines)


def _yield_type(annotation: str | None) -> str | None:
    if not annotation:
        return None
    m = _ITER_TYPES.fullmatch(annotation.strip())
    if not m:
        return None
    depth = 0
    inner = m.group(1)
    for i, ch in enumerate(inner):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            return inner[:i].strip()
    return inner.strip()


# -- page model ---------------------------------------------------------------------------
def _line(node: Mapping[str, Any]) -> int:
    value = node.get("line_start")
    return value if isinstance(value, int) else 0


def _where(node: Mapping[str, Any]) -> str:
    """``file:line_start`` of a symbol (just the file when the line is unknown)."""
    file = _one_line(node.get("file") or "")
    line = node.get("line_start")
    if isinstance(line, int) and file:
        return f"{file}:{line}"
    return file


def _source_order(graph: EvidenceGraph, ids: Iterable[str]) -> list[str]:
    g = graph.g
    return sorted(
        ids,
        key=lambda i: (
            str(g.nodes[i].get("file") or ""),
            _line(g.nodes[i]),
            str(g.nodes[i].get("qualname")),
            i,
        ),
    )


def _is_constant(node: Mapping[str, Any]) -> bool:
    if node.get("kind") == "constant":
        return True
    extra = _extra(node)
    if "is_constant" in extra:
        return bool(extra.get("is_constant"))
    name = str(node.get("name") or "")
    return name.isupper()


@dataclass(slots=True)
class _Entry:
    """One symbol to render, its heading level, and the entries nested under it."""

    id: str
    level: int
    children: list[_Entry] = field(default_factory=list)


@dataclass(slots=True)
class _Layout:
    classes: list[_Entry] = field(default_factory=list)
    functions: list[_Entry] = field(default_factory=list)
    constants: list[str] = field(default_factory=list)
    type_aliases: list[str] = field(default_factory=list)

    def ids(self) -> set[str]:
        out: set[str] = set(self.constants) | set(self.type_aliases)
        stack = [*self.classes, *self.functions]
        while stack:
            entry = stack.pop()
            out.add(entry.id)
            stack.extend(entry.children)
        return out


def _public_members(graph: EvidenceGraph, scope: str) -> list[str]:
    g = graph.g
    return _source_order(
        graph, [m for m in graph.members(scope).values() if m in g and g.nodes[m].get("public")]
    )


def _class_entry(graph: EvidenceGraph, cid: str, level: int, seen: set[str]) -> _Entry:
    seen.add(cid)
    entry = _Entry(cid, level)
    if level >= 5:  # headings stop at six levels; deeper nesting is not rendered
        return entry
    for mid in _public_members(graph, cid):
        if mid in seen:
            continue
        data = graph.g.nodes[mid]
        kind = data.get("kind")
        if kind in CALLABLE_KINDS and data.get("name") != "__init__":
            seen.add(mid)
            entry.children.append(_Entry(mid, level + 1))
        elif kind in CLASS_LIKE_KINDS:
            entry.children.append(_class_entry(graph, mid, level + 1, seen))
    return entry


def _layout(graph: EvidenceGraph, module_id: str) -> _Layout:
    """Which symbols a module page shows, in source order: public classes (with their public
    methods and nested classes), public functions, public constants and type aliases."""
    layout = _Layout()
    seen: set[str] = {module_id}
    for mid in _public_members(graph, module_id):
        data = graph.g.nodes[mid]
        kind = data.get("kind")
        if kind in CLASS_LIKE_KINDS:
            layout.classes.append(_class_entry(graph, mid, 3, seen))
        elif kind in CALLABLE_KINDS:
            layout.functions.append(_Entry(mid, 3))
        elif kind in DATA_KINDS and _extra(data).get("is_type_alias"):
            layout.type_aliases.append(mid)
        elif kind in DATA_KINDS and _is_constant(data):
            layout.constants.append(mid)
    return layout


@dataclass(slots=True)
class _Context:
    graph: EvidenceGraph
    pages: Mapping[str, str]
    module_id: str | None = None
    records: Mapping[str, ApiRecord | None] = field(default_factory=dict)
    _rendered: dict[str, set[str]] = field(default_factory=dict)

    def record(self, nid: str) -> ApiRecord | None:
        rec = self.records.get(nid)
        if rec is None:
            q = self.graph.g.nodes[nid].get("qualname")
            rec = self.records.get(q) if isinstance(q, str) else None
        return rec if isinstance(rec, ApiRecord) else None

    def rendered(self, module_id: str) -> set[str]:
        if module_id not in self._rendered:
            self._rendered[module_id] = _layout(self.graph, module_id).ids()
        return self._rendered[module_id]

    def href(self, nid: str) -> str | None:
        """Where an internal node is documented: its page, plus its anchor when it has one."""
        g = self.graph.g
        if nid not in g:
            return None
        data = g.nodes[nid]
        if data.get("kind") in MODULE_KINDS:
            return self.pages.get(str(data.get("qualname")))
        mid = self.graph.module_of(nid)
        if mid is None:
            return None
        rel = self.pages.get(str(g.nodes[mid].get("qualname")))
        if rel is None:
            return None
        if nid not in self.rendered(mid):
            return rel
        fragment = f"#{anchor_id(str(data.get('qualname')))}"
        return fragment if mid == self.module_id else f"{rel}{fragment}"

    def name_link(self, name: str, scope: str | None) -> str:
        """``name`` as inline code, linked when it resolves to a symbol of the repository."""
        clean = _clean(name).strip().strip("`").strip()
        if clean.endswith("()"):
            clean = clean[:-2]
        res = self.graph.resolve(clean, scope) if clean else None
        span = code_span(clean or name)
        return _link(span, self.href(res.id)) if res is not None and res.id is not None else span


# -- module page ----------------------------------------------------------------------------
def _param_rows(params: list[Param], rec: ApiRecord | None, lang: str) -> list[list[str]]:
    described = {_bare(pd.name): pd.description for pd in rec.params} if rec else {}
    rows = []
    for p in params:
        name = _bare(p.name)
        shown = name
        if lang == "python" and p.kind == VAR_POSITIONAL:
            shown = f"*{name}"
        elif lang == "python" and p.kind == VAR_KEYWORD:
            shown = f"**{name}"
        rows.append(
            [
                code_span(shown, table=True),
                code_span(p.annotation, table=True) if p.annotation else "",
                code_span(p.default, table=True) if p.default is not None else "",
                _cell(described.get(name, "")),
            ]
        )
    return rows


def _symbol_blocks(ctx: _Context, entry: _Entry) -> list[str]:
    g = ctx.graph.g
    nid = entry.id
    node = g.nodes[nid]
    lang = str(node.get("language") or "")
    kind = node.get("kind")
    extra = _extra(node)
    qualname = str(node.get("qualname") or node.get("name") or nid)
    rec = ctx.record(nid)
    heading = "#" * min(entry.level, 6)
    sub = "#" * min(entry.level + 1, 6)
    blocks = [f'<a id="{anchor_id(qualname)}"></a>', f"{heading} {code_span(qualname)}"]
    blocks.append(fence(_signature_block(node), _FENCE_LANG.get(lang, "text")))

    if rec is not None:
        blocks.append(escape_text(rec.summary))
        if rec.description:
            blocks.append(escape_text(rec.description))
    else:
        doc = first_paragraph(node.get("docstring"))
        if doc:
            blocks.extend(["From the source docstring:", _quote(doc)])

    # Parameters: a class documents its constructor's.
    param_rec = rec
    params: list[Param] = []
    if kind in CLASS_LIKE_KINDS:
        init = ctx.graph.members(nid, inherited=True).get("__init__")
        if init is not None and init in g:
            params = shown_params(g.nodes[init])
            if param_rec is None or not param_rec.params:
                param_rec = ctx.record(init) or param_rec
    elif kind in CALLABLE_KINDS and not extra.get("is_property"):
        params = shown_params(node)
    if params:
        rows = _param_rows(params, param_rec, lang)
        blocks.extend([f"{sub} Parameters", _table(["Name", "Type", "Default", "Description"], rows)])

    if kind in CLASS_LIKE_KINDS:
        attrs = _attribute_rows(extra.get("attributes"), lang)
        if attrs:
            blocks.extend([f"{sub} Attributes", _table(["Name", "Type", "Line"], attrs)])

    if kind in CALLABLE_KINDS:
        returns = _opt_str(node.get("returns"))
        if extra.get("is_generator"):
            ytype = _yield_type(returns)
            ytext = rec.yields if rec is not None else None
            if ytype or ytext:
                blocks.extend([f"{sub} Yields", _typed_text(ytype, ytext)])
            if rec is not None and rec.returns:
                blocks.extend([f"{sub} Returns", escape_text(rec.returns)])
        elif extra.get("is_property"):
            if rec is not None and rec.returns:
                blocks.extend([f"{sub} Returns", _typed_text(returns, rec.returns)])
        else:
            rtype = returns if returns and returns != "None" else None
            rtext = rec.returns if rec is not None else None
            if rtype or rtext:
                blocks.extend([f"{sub} Returns", _typed_text(rtype, rtext)])

        if rec is not None:
            raises = [
                f"- {ctx.name_link(r.exception, nid)}" + (f": {_inline(r.when)}" if r.when.strip() else "")
                for r in rec.raises
            ]
        else:
            names = sorted({_one_line(r) for r in _strings(extra.get("raises")) if r.strip()})
            raises = [f"- {ctx.name_link(r, nid)}" for r in names]
        if raises:
            blocks.extend([f"{sub} Raises", "\n".join(raises)])

    if rec is not None and rec.examples:
        blocks.append(f"{sub} Examples")
        blocks.extend(fence(ex, _FENCE_LANG.get(lang, "text")) for ex in rec.examples if ex.strip())
    if rec is not None and rec.see_also:
        links = [f"- {ctx.name_link(name, nid)}" for name in rec.see_also if name.strip()]
        if links:
            blocks.extend([f"{sub} See also", "\n".join(links)])

    where = _where(node)
    if where:
        blocks.append(f"Defined in {code_span(where)}")
    for child in entry.children:
        blocks.extend(_symbol_blocks(ctx, child))
    return blocks


def _typed_text(type_text: str | None, text: str | None) -> str:
    if type_text and text:
        return f"{code_span(type_text)}: {escape_text(text)}"
    if type_text:
        return code_span(type_text)
    return escape_text(text or "")


def _attribute_rows(attributes: Any, lang: str) -> list[list[str]]:
    rows = []
    seen: set[str] = set()
    for attr in attributes or []:
        if not isinstance(attr, Mapping):
            continue
        name = _one_line(attr.get("name") or "")
        if not name or name in seen or (lang == "python" and name.startswith("_")):
            continue
        seen.add(name)
        ann = _opt_str(attr.get("annotation"))
        line = attr.get("line")
        rows.append(
            [
                code_span(name, table=True),
                code_span(ann, table=True) if ann else "",
                str(line) if isinstance(line, int) else "",
            ]
        )
    return rows


def _data_table(ctx: _Context, ids: list[str]) -> str:
    g = ctx.graph.g
    rows = []
    for nid in ids:
        node = g.nodes[nid]
        extra = _extra(node)
        qualname = str(node.get("qualname") or node.get("name") or nid)
        value = _opt_str(extra.get("value"))
        if value is not None and len(value) > _MAX_VALUE:
            value = value[: _MAX_VALUE - 1] + "…"
        ann = _opt_str(extra.get("annotation"))
        rec = ctx.record(nid)
        about = rec.summary if rec is not None else first_paragraph(node.get("docstring"))
        rows.append(
            [
                f'<a id="{anchor_id(qualname)}"></a>{code_span(node.get("name") or qualname, table=True)}',
                code_span(ann, table=True) if ann else "",
                code_span(value, table=True) if value is not None else "",
                _cell(about),
                code_span(_where(node), table=True) if _where(node) else "",
            ]
        )
    return _table(["Name", "Type", "Value", "Description", "Defined in"], rows)


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _neutral_module_line(layout: _Layout) -> str:
    return (
        f"{_count(len(layout.classes), 'public class', 'public classes')}, "
        f"{_count(len(layout.functions), 'public function', 'public functions')}."
    )


def _nav(current: str | None = None) -> str:
    parts = []
    for label, rel in (("Index", INDEX_PAGE), ("Architecture", ARCHITECTURE_PAGE)):
        parts.append(label if rel == current else f"[{label}]({rel})")
    return " · ".join(parts)


def render_module_page(
    graph: EvidenceGraph,
    module_id: str,
    doc: ModuleDoc | None,
    records: Mapping[str, ApiRecord | None],
    *,
    pages: Mapping[str, str] | None = None,
) -> str:
    """The reference page of one module.

    Title, summary (the module record, else the docstring's first paragraph, else a count
    of its public symbols), the defining file, then every public symbol in source order:
    classes with their methods nested, functions, constants and type aliases in tables.
    ``records`` maps node ids (or qualnames) to validated records; ``None`` or a missing
    entry renders that symbol from evidence alone. ``pages`` maps module qualnames to page
    files (default: :func:`~pipeline.render.paths.module_pages`), for links between pages.
    """
    g = graph.g
    node = g.nodes[module_id]
    ctx = _Context(graph, pages if pages is not None else module_pages(graph), module_id, records)
    qualname = str(node.get("qualname") or module_id)
    layout = _layout(graph, module_id)
    blocks = [_nav(), f"# {code_span(qualname)}"]

    if doc is not None and doc.summary.strip():
        blocks.append(escape_text(doc.summary))
    else:
        text = first_paragraph(node.get("docstring"))
        blocks.extend(
            ["From the source docstring:", _quote(text)] if text else [_neutral_module_line(layout)]
        )

    files = node.get("files") if isinstance(node.get("files"), list) else [node.get("file")]
    files = sorted({_one_line(f) for f in files if isinstance(f, str) and f})
    if files:
        blocks.append("Defined in " + ", ".join(code_span(f) for f in files))

    submodules = _submodules(graph, qualname)
    if submodules:
        blocks.extend(
            ["## Submodules", "\n".join(f"- {_link(code_span(s), ctx.pages.get(s))}" for s in submodules)]
        )

    if layout.classes:
        kinds = {g.nodes[e.id].get("kind") for e in layout.classes}
        blocks.append("## Classes" if kinds == {"class"} else "## Types")
        for entry in layout.classes:
            blocks.extend(_symbol_blocks(ctx, entry))
    if layout.functions:
        blocks.append("## Functions")
        for entry in layout.functions:
            blocks.extend(_symbol_blocks(ctx, entry))
    if layout.constants:
        blocks.extend(["## Constants", _data_table(ctx, layout.constants)])
    if layout.type_aliases:
        blocks.extend(["## Type aliases", _data_table(ctx, layout.type_aliases)])
    return "\n\n".join(b for b in blocks if b) + "\n"


def _module_nodes(graph: EvidenceGraph) -> dict[str, str]:
    """``qualname -> node id`` of every module and package (first id in sorted order wins)."""
    out: dict[str, str] = {}
    for nid in sorted(graph.g.nodes):
        data = graph.g.nodes[nid]
        q = data.get("qualname")
        if data.get("kind") in MODULE_KINDS and isinstance(q, str):
            out.setdefault(q, nid)
    return out


def _submodules(graph: EvidenceGraph, qualname: str) -> list[str]:
    prefix = f"{qualname}."
    return sorted(
        q
        for q in _module_nodes(graph)
        if q.startswith(prefix) and q != qualname and "." not in q[len(prefix) :]
    )


# -- index and architecture ---------------------------------------------------------------
def _module_one_liner(graph: EvidenceGraph, nid: str | None, doc: ModuleDoc | None) -> str:
    if doc is not None and doc.summary.strip():
        return _first_sentence(doc.summary)
    if nid is None:
        return ""
    text = first_paragraph(graph.g.nodes[nid].get("docstring"))
    if text:
        return _first_sentence(text)
    return _neutral_module_line(_layout(graph, nid))


def _neutral_summary(graph: EvidenceGraph) -> str:
    languages: dict[str, int] = {}
    files = 0
    for data in graph.files():
        lang = data.get("language")
        if isinstance(lang, str) and lang:
            files += 1
            languages[lang] = languages.get(lang, 0) + 1
    modules = len(_module_nodes(graph))
    text = f"{_count(files, 'source file', 'source files')}, {_count(modules, 'module', 'modules')}."
    if languages:
        text += (
            " Files by language: " + ", ".join(f"{lang} {n}" for lang, n in sorted(languages.items())) + "."
        )
    return text


def _entry_point_blocks(ctx: _Context, level: str) -> list[str]:
    meta = ctx.graph.meta if isinstance(ctx.graph.meta, Mapping) else {}
    eps = [e for e in meta.get("entry_points") or () if isinstance(e, Mapping)]
    mains = sorted(_strings(meta.get("main_modules")))
    if not eps and not mains:
        return []
    blocks = [f"{level} Entry points"]
    if eps:
        rows = []
        for ep in sorted(
            eps, key=lambda e: tuple(str(e.get(k) or "") for k in ("name", "target", "source", "kind"))
        ):
            target = _one_line(ep.get("target") or "")
            res = ctx.graph.resolve(target.replace(":", ".")) if target else None
            href = ctx.href(res.id) if res is not None and res.id is not None else None
            rows.append(
                [
                    code_span(ep.get("name") or "", table=True),
                    _link(code_span(target, table=True), href) if target else "",
                    _cell(ep.get("kind") or ""),
                    code_span(ep.get("source"), table=True) if ep.get("source") else "",
                ]
            )
        blocks.append(_table(["Name", "Target", "Kind", "Declared in"], rows))
    if mains:
        blocks.append(
            "Modules that run as a program: "
            + ", ".join(_link(code_span(m), ctx.pages.get(m)) for m in mains)
            + "."
        )
    return blocks


def _dependency_rows(graph: EvidenceGraph) -> list[tuple[str, str, str, str, str]]:
    """``(ecosystem, group, name, spec, manifest)`` for every declared dependency, sorted."""
    g = graph.g
    rows: set[tuple[str, str, str, str, str]] = set()
    for nid, data in g.nodes(data=True):
        if data.get("kind") != "dependency":
            continue
        name = str(data.get("name") or data.get("qualname") or nid)
        eco = str(data.get("ecosystem") or "")
        found = False
        for src, _, edge in g.in_edges(nid, data=True):
            if edge.get("kind") != "depends_on":
                continue
            found = True
            manifest = g.nodes[src].get("path") or src
            rows.add(
                (eco, str(edge.get("group") or "main"), name, str(edge.get("spec") or ""), str(manifest))
            )
        if not found:
            rows.add((eco, "main", name, "", ""))
    return sorted(rows)


def render_index(
    graph: EvidenceGraph,
    pages: Mapping[str, str],
    *,
    title: str,
    overview: Overview | None,
    notes: list[str],
    module_docs: Mapping[str, ModuleDoc | None] | None = None,
) -> str:
    """The front page: project name, overview, a table of module pages, entry points,
    dependencies and notes. ``pages`` maps module qualnames to their page files; the
    one-line summaries come from ``module_docs`` (by qualname) or the module docstrings."""
    ctx = _Context(graph, pages)
    nodes = _module_nodes(graph)
    docs = module_docs or {}
    blocks = [f"# {_inline(title) or 'Reference'}"]
    if overview is not None and overview.summary.strip():
        blocks.append(escape_text(overview.summary))
    else:
        blocks.append(_neutral_summary(graph))
    blocks.append(
        f"See [Architecture]({ARCHITECTURE_PAGE}) for the components, the module dependency diagram "
        "and the configuration."
    )
    if pages:
        rows = [
            [_link(code_span(q, table=True), rel), _cell(_module_one_liner(graph, nodes.get(q), docs.get(q)))]
            for q, rel in sorted(pages.items())
        ]
        blocks.extend(["## Modules", _table(["Module", "Summary"], rows)])
    blocks.extend(_entry_point_blocks(ctx, "##"))
    deps = _dependency_rows(graph)
    if deps:
        rows = [
            [
                code_span(name, table=True),
                code_span(spec, table=True) if spec else "",
                _cell(f"{group} ({eco})" if eco else group),
                code_span(src, table=True) if src else "",
            ]
            for eco, group, name, spec, src in deps
        ]
        blocks.extend(["## Dependencies", _table(["Name", "Version", "Group", "Declared in"], rows)])
    notes = [n for n in notes if isinstance(n, str) and n.strip()]
    if notes:
        blocks.extend(["## Notes", "\n".join(f"- {_inline(n)}" for n in notes)])
    return "\n\n".join(b for b in blocks if b) + "\n"


def render_architecture(
    graph: EvidenceGraph,
    overview: Overview | None,
    *,
    pages: Mapping[str, str] | None = None,
    max_diagram_nodes: int = 40,
) -> str:
    """The architecture page: overview, components and relations (from the validated
    overview), then from evidence only: the module dependency diagram, entry points,
    dependencies by manifest group, CI files and the files that were skipped."""
    ctx = _Context(graph, pages if pages is not None else module_pages(graph))
    blocks = [_nav(ARCHITECTURE_PAGE), "# Architecture"]
    if overview is not None and overview.summary.strip():
        blocks.append(escape_text(overview.summary))
    else:
        blocks.append(_neutral_summary(graph))

    def module_link(name: str) -> str:
        clean = _one_line(name)
        return _link(code_span(clean, table=True), ctx.pages.get(clean))

    if overview is not None and overview.components:
        rows = [
            [_cell(c.name), _cell(c.role), ", ".join(module_link(m) for m in c.modules)]
            for c in overview.components
        ]
        blocks.extend(["## Components", _table(["Component", "Role", "Modules"], rows)])
    if overview is not None and overview.relations:
        rows = [
            [module_link(r.source), module_link(r.target), _cell(r.description)] for r in overview.relations
        ]
        blocks.extend(["## Relations", _table(["From", "To", "How"], rows)])

    diagram = module_dependency_diagram(graph, max_nodes=max_diagram_nodes)
    blocks.append("## Module dependencies")
    if diagram:
        blocks.extend(["Drawn from the import statements in the source.", diagram.rstrip("\n")])
    else:
        blocks.append("No modules were found.")

    blocks.extend(_entry_point_blocks(ctx, "##"))

    deps = _dependency_rows(graph)
    if deps:
        blocks.append("## Dependencies")
        groups: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for eco, group, name, spec, src in deps:
            groups.setdefault((eco, group), []).append((name, spec, src))
        for (eco, group), items in sorted(groups.items()):
            blocks.append(f"### {_inline(group)}" + (f" ({_inline(eco)})" if eco else ""))
            rows = [
                [
                    code_span(name, table=True),
                    code_span(spec, table=True) if spec else "",
                    code_span(src, table=True) if src else "",
                ]
                for name, spec, src in items
            ]
            blocks.append(_table(["Name", "Version", "Declared in"], rows))

    meta = graph.meta if isinstance(graph.meta, Mapping) else {}
    ci = sorted({_one_line(p) for p in _strings(meta.get("ci_files"))})
    if ci:
        blocks.extend(["## CI files", "\n".join(f"- {code_span(p)}" for p in ci)])

    skipped = [s for s in meta.get("skipped") or [] if isinstance(s, Mapping)]
    if skipped:
        items = sorted(
            {
                (
                    _one_line(s.get("path") or ""),
                    _one_line(s.get("reason") or ""),
                    _one_line(s.get("detail") or ""),
                )
                for s in skipped
            }
        )
        by_reason: dict[str, int] = {}
        for _, reason, _ in items:
            by_reason[reason] = by_reason.get(reason, 0) + 1
        blocks.append("## Skipped files")
        blocks.append(
            "Not parsed: " + ", ".join(f"{_inline(r)} {n}" for r, n in sorted(by_reason.items())) + "."
        )
        rows = [[code_span(p, table=True), _cell(r), _cell(d)] for p, r, d in items[:_MAX_SKIPPED_ROWS]]
        blocks.append(_table(["Path", "Reason", "Detail"], rows))
        if len(items) > _MAX_SKIPPED_ROWS:
            blocks.append(f"{len(items) - _MAX_SKIPPED_ROWS} more skipped files are not listed.")
    return "\n\n".join(b for b in blocks if b) + "\n"
