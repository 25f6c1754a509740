"""Hand-written docstrings as claims: Google, NumPy and Sphinx/reST docstrings parsed into
the same shape as an :class:`~pipeline.agents.records.ApiRecord`.

The parsing is griffe's (``parse_google``, ``parse_numpy``, ``parse_sphinx``); this module
picks the style, flattens griffe's sections into summary, description, parameters,
returns, yields, raises, attributes and examples, and rewrites the reST that the
validator does not read (roles such as ``:func:`json.dumps```, literal blocks after
``::``, doctest lines in running text) into the Markdown it does. Nothing here raises:
a docstring griffe cannot parse becomes a record with the text as its summary.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pipeline.agents.records import ApiRecord, ParamDoc, RaiseDoc

STYLES = ("google", "numpy", "sphinx")
# "plain": no section markers of any style; the text is summary and description only.
PLAIN = "plain"

# Section markers, checked in this order (a Sphinx field list is the least ambiguous).
_SPHINX_RE = re.compile(
    r"^[ \t]*:(?:param|parameter|arg|argument|key|keyword|type|raises?|except|exception|returns?|rtype"
    r"|yields?|ytype|var|ivar|cvar|vartype)\b[^:\n]*:",
    re.MULTILINE,
)
_NUMPY_RE = re.compile(
    r"^[ \t]*(?:Parameters|Other Parameters|Returns|Yields|Raises|Attributes|Examples?|Receives|Warns)"
    r"[ \t]*\n[ \t]*-{3,}[ \t]*$",
    re.MULTILINE,
)
_GOOGLE_RE = re.compile(
    r"^[ \t]*(?:Args|Arguments|Params|Parameters|Keyword Args|Keyword Arguments|Other Parameters|Returns?"
    r"|Yields?|Raises|Exceptions|Attributes|Examples?)[ \t]*:[ \t]*\n[ \t]+\S",
    re.MULTILINE,
)
# ``:func:`name```, ``:py:meth:`~pkg.Class.method```, ``:class:`text <target>```.
_ROLE_RE = re.compile(r":(?:[A-Za-z]+:)?[A-Za-z]+:`([^`\n]{1,300})`")
_ROLE_TARGET_RE = re.compile(r"^(.*?)\s*<([^<>]+)>$")
_MAX_DOCSTRING = 100_000


@dataclass(slots=True)
class DocstringRecord:
    """A parsed docstring: what it claims, in the shape of an API record."""

    style: str  # one of STYLES, or PLAIN
    summary: str = ""
    description: str = ""
    params: list[ParamDoc] = field(default_factory=list)
    returns: str | None = None
    yields: str | None = None
    raises: list[RaiseDoc] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)  # names of documented attributes

    def to_api_record(self) -> ApiRecord:
        """The claims as an :class:`ApiRecord`, ready for ``validate_record``."""
        return ApiRecord(
            summary=self.summary,
            description=self.description,
            params=list(self.params),
            returns=self.returns,
            yields=self.yields,
            raises=list(self.raises),
            examples=list(self.examples),
        )


def detect_style(text: str) -> str:
    """``google``, ``numpy`` or ``sphinx`` from the section markers the text uses, else ``plain``."""
    if not isinstance(text, str):
        return PLAIN
    if _SPHINX_RE.search(text):
        return "sphinx"
    if _NUMPY_RE.search(text):
        return "numpy"
    if _GOOGLE_RE.search(text):
        return "google"
    return PLAIN


def parse_docstring(text: Any, style: str | None = None) -> DocstringRecord:
    """Parse a docstring (any style; detected when ``style`` is ``None``) into its claims.

    Never raises: input that is not a string gives an empty record, and a docstring the
    parser rejects keeps its text as summary and description.
    """
    if not isinstance(text, str):
        return DocstringRecord(PLAIN)
    clean = inspect.cleandoc(text[:_MAX_DOCSTRING]).replace("\r\n", "\n").replace("\r", "\n")
    chosen = style if style in (*STYLES, PLAIN) else detect_style(clean)
    try:
        return _parse(clean, chosen)
    except Exception:
        # griffe failed on this text: keep what the text says without sections.
        summary, description = _split_summary(_to_markdown(clean)[0])
        return DocstringRecord(chosen, summary=summary, description=description)


def _parse(text: str, style: str) -> DocstringRecord:
    import griffe

    record = DocstringRecord(style)
    if style == PLAIN:
        sections: list[Any] = [griffe.DocstringSectionText(text)] if text else []
    else:
        parser = {"google": griffe.parse_google, "numpy": griffe.parse_numpy, "sphinx": griffe.parse_sphinx}
        with _quiet():
            sections = parser[style](griffe.Docstring(text), warnings=False)
    texts: list[str] = []
    for section in sections:
        kind = str(getattr(section.kind, "value", section.kind))
        value = section.value
        if kind in ("text", "admonition", "deprecated"):
            texts.append(_section_text(section))
        elif kind in ("parameters", "other parameters"):
            for p in value or []:
                name = str(getattr(p, "name", "") or "").strip()
                if name:
                    record.params.append(ParamDoc(name=name, description=_text(p.description)))
        elif kind == "returns":
            record.returns = _joined(value) or record.returns
        elif kind == "yields":
            record.yields = _joined(value) or record.yields
        elif kind == "raises":
            for r in value or []:
                name = _annotation(getattr(r, "annotation", None))
                if name:
                    record.raises.append(RaiseDoc(exception=name, when=_text(r.description)))
        elif kind == "examples":
            for sub_kind, sub_text in value or []:
                sub = str(getattr(sub_kind, "value", sub_kind))
                if sub == "examples":
                    record.examples.append(str(sub_text))
                else:
                    texts.append(str(sub_text))
        elif kind == "attributes":
            record.attributes.extend(str(a.name) for a in value or [] if getattr(a, "name", None))
    markdown, doctests = _to_markdown("\n\n".join(t for t in texts if t.strip()))
    record.examples.extend(doctests)
    record.summary, record.description = _split_summary(markdown)
    return record


@contextmanager
def _quiet() -> Iterator[None]:
    """griffe logs what it finds odd in a docstring; those notes are not findings here."""
    logger = logging.getLogger("griffe")
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def _section_text(section: Any) -> str:
    value = section.value
    if isinstance(value, str):
        return value
    # An admonition (``Note:``) keeps its text in ``value.contents``.
    contents = getattr(value, "contents", None)
    title = getattr(section, "title", None) or ""
    if isinstance(contents, str):
        return f"{title}: {contents}" if title else contents
    return str(value or "")


def _text(value: Any) -> str:
    return str(value or "").strip()


def _annotation(value: Any) -> str:
    """An exception or type annotation as text (griffe gives a string or an expression)."""
    if value is None:
        return ""
    return str(value).strip().strip("`").strip()


def _joined(items: Any) -> str | None:
    """One text for a Returns/Yields section: each item's description, else its type."""
    parts = []
    for item in items or []:
        desc = _text(getattr(item, "description", ""))
        parts.append(desc or _annotation(getattr(item, "annotation", None)))
    text = "\n".join(p for p in parts if p)
    return text or None


def _split_summary(text: str) -> tuple[str, str]:
    """The first paragraph (joined to one line) and the rest."""
    text = text.strip()
    if not text:
        return "", ""
    first, _, rest = text.partition("\n\n")
    if first.lstrip().startswith(("```", "~~~")):
        return "", text
    return " ".join(line.strip() for line in first.split("\n")), rest.strip()


def _to_markdown(text: str) -> tuple[str, list[str]]:
    """reST prose as Markdown the validator reads, and the doctest examples taken out of it.

    Roles become code spans (``:func:`~a.b``` -> `` `a.b` ``), literal blocks after ``::``
    become ``text`` fences (quoted output, not claims), and runs of ``>>>`` lines become
    examples.
    """
    text = _ROLE_RE.sub(_role_span, text)
    lines = text.split("\n")
    out: list[str] = []
    examples: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i].strip())
                i += 1
            examples.append("\n".join(block))
            continue
        out.append(line)
        i += 1
        if stripped.endswith("::") and not stripped.startswith(".."):
            if stripped == "::":
                out.pop()
            else:
                out[-1] = line.rstrip()[:-1]  # "Example::" reads "Example:"
            i = _literal_block(lines, i, out, len(line) - len(line.lstrip()))
    return "\n".join(out), examples


def _literal_block(lines: list[str], i: int, out: list[str], indent: int) -> int:
    """Copy the indented block starting at ``lines[i]`` (after blank lines) as a fence."""
    j = i
    while j < len(lines) and not lines[j].strip():
        j += 1
    body: list[str] = []
    while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
        body.append(lines[j])
        j += 1
    while body and not body[-1].strip():
        body.pop()
    if not body:
        return i
    width = min(len(b) - len(b.lstrip()) for b in body if b.strip())
    out.extend(["", "```text", *(b[width:] for b in body), "```", ""])
    return j


def _role_span(m: re.Match[str]) -> str:
    target = m.group(1).strip()
    explicit = _ROLE_TARGET_RE.match(target)
    if explicit is not None:
        target = explicit.group(2).strip()
    target = target.lstrip("~!.").strip()
    return f"`{target}`" if target else ""


def record_for_symbol(graph: Any, node_id: str) -> DocstringRecord | None:
    """The parsed docstring of a symbol, or ``None`` when it has none.

    A class's constructor parameters are often documented in ``__init__``'s docstring
    (NumPy and Sphinx habits): those count for the class when its own docstring lists none.
    """
    try:
        data = graph.node(node_id)
    except Exception:
        return None
    doc = data.get("docstring")
    record = parse_docstring(doc) if isinstance(doc, str) and doc.strip() else None
    if data.get("kind") == "class":
        try:
            init = graph.members(node_id).get("__init__")
        except Exception:
            init = None
        init_doc = graph.node(init).get("docstring") if init is not None else None
        if isinstance(init_doc, str) and init_doc.strip():
            parsed = parse_docstring(init_doc)
            if record is None:
                record = parsed
            else:
                if not record.params:
                    record.params = parsed.params
                if not record.raises:
                    record.raises = parsed.raises
    return record


__all__ = ["PLAIN", "STYLES", "DocstringRecord", "detect_style", "parse_docstring", "record_for_symbol"]
