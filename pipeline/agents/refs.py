"""What a piece of prose or Markdown refers to: identifiers, file paths, code blocks, links, URLs.

Everything here is text-only (no evidence graph): it finds candidate references and
classifies them; :mod:`pipeline.agents.validator` decides whether they hold. Every
function is linear in the size of its input and never raises on any string.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from functools import lru_cache

IDENTIFIER = "identifier"
FILE = "file"
# ``config.json``, ``response.json``: a file name or an attribute, only the evidence can tell.
FILE_OR_IDENTIFIER = "file_or_identifier"

CODE = "code"  # inside backticks
PROSE = "prose"  # in running text

# Extensions that only ever name files in prose about code (an attribute called ``py`` or
# ``toml`` is not a thing): ``name.toml`` is classified as a file, not a dotted name.
STRONG_EXTENSIONS = frozenset(
    {
        "py",
        "pyi",
        "pyx",
        "pxd",
        "ipynb",
        "mjs",
        "cjs",
        "jsx",
        "tsx",
        "mts",
        "cts",
        "java",
        "kt",
        "cpp",
        "hpp",
        "cc",
        "toml",
        "cfg",
        "ini",
        "scm",
    }
)
# Extensions that also occur as attribute names (``response.json``, ``node.js``) or name
# files a program writes rather than files of the repository.
WEAK_EXTENSIONS = frozenset(
    {
        "js",
        "ts",
        "go",
        "rs",
        "sh",
        "c",
        "h",
        "md",
        "rst",
        "txt",
        "json",
        "yaml",
        "yml",
        "lock",
        "html",
        "htm",
        "css",
        "csv",
        "xml",
        "svg",
        "png",
        "jpg",
        "gif",
        "log",
        "sql",
        "proto",
        "env",
        "gguf",
        "whl",
        "gz",
        "zip",
    }
)
FILE_EXTENSIONS = STRONG_EXTENSIONS | WEAK_EXTENSIONS
# Extensions that make a bare ``name.ext`` (no folder) a file of the repository: ``setup.py``
# is one, ``llama.cpp`` and ``report.json`` need not be.
BARE_FILE_EXTENSIONS = frozenset({"py", "pyi", "pyx", "toml", "cfg", "ini", "ipynb", "scm"})
# File names without an extension that are still obviously files.
KNOWN_FILE_NAMES = frozenset(
    {"Makefile", "Dockerfile", "LICENSE", "LICENCE", "NOTICE", "Justfile", "Procfile", "Gemfile", "Rakefile"}
)

# Manifest names that read like dotted identifiers.
KNOWN_DOTTED_FILE_NAMES = frozenset(
    {"go.mod", "go.sum", "go.work", "Cargo.lock", "Pipfile.lock", "poetry.lock"}
)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED_RE = re.compile(rf"{_NAME}(?:\.{_NAME})*")
_CALL_FORM_RE = re.compile(rf"({_NAME}(?:\.{_NAME})*)\s*\((.*)\)", re.DOTALL)
_ENTRY_POINT_RE = re.compile(rf"({_NAME}(?:\.{_NAME})*):({_NAME}(?:\.{_NAME})*)")
_NUMBER_RE = re.compile(r"[-+]?(?:0[xob][0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?j?)")
_PATH_RE = re.compile(r"[A-Za-z0-9_.@+-]+(?:/[A-Za-z0-9_.@+-]+)*/?")
_LINE_SUFFIX_RE = re.compile(r":\d+(?::\d+)?$")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LITERALS = frozenset(
    {"None", "True", "False", "Ellipsis", "NotImplemented", "null", "true", "false", "undefined"}
)
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_URL_RE = re.compile(r"(?:https?|ftp)://[^\s<>\"'`)\]]+|www\.[A-Za-z0-9-]+\.[A-Za-z0-9.-]+[^\s<>\"'`)\]]*")
# Link text and target exclude the brackets that open another link, so a run of ``[`` or
# ``[a](`` costs one step per character, not one per character pair.
_LINK_RE = re.compile(
    r"!?\[([^\[\]\n]{0,500})\]\(\s*<?([^()\[\]\s<>]{0,2000})>?(?:\s+\"[^\"\n]{0,500}\")?\s*\)"
)
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,30}(?:\s[^<>\n]{0,500})?/?>")
_PROSE_DOTTED_RE = re.compile(rf"(?<![\w.@/:\\-]){_NAME}(?:\.{_NAME})+(?![\w@/\\-]|\.\w)")
_PROSE_CALL_RE = re.compile(rf"(?<![\w.@/:\\-])({_NAME}(?:\.{_NAME})*)\(([^()\n]{{0,120}})\)")
_PROSE_PATH_RE = re.compile(
    r"(?<![\w.@/:\\~$-])(?:[A-Za-z0-9_.-]{1,255}/){1,32}[A-Za-z0-9_.-]{1,255}\.[A-Za-z0-9]{1,6}(?![\w/])"
)
# Bounded repeats and a boundary before the name keep this linear on long dotted runs.
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}")
_CAMEL_RE = re.compile(r"[a-z0-9][A-Z]|[A-Z][a-z0-9]+[A-Z]")


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced code block: its language tag (lower case, ``''`` when none) and text."""

    lang: str
    code: str
    line: int  # 1-based line of the opening fence


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference found in text: ``kind`` is identifier/file/file_or_identifier."""

    kind: str
    value: str  # normalised: ``pkg.mod.func`` without call parentheses, a path without ``./``
    raw: str  # as written
    line: int  # 1-based line in the text
    origin: str  # CODE (backticked) or PROSE


def split_fences(text: str) -> tuple[str, list[CodeBlock]]:
    """Separate fenced code blocks from the rest.

    Returns the text with every fenced line blanked (so line numbers still hold) and the
    blocks. An unclosed fence runs to the end of the text, as in CommonMark.
    """
    prose, blocks = _split_fences(text)
    return prose, list(blocks)


@lru_cache(maxsize=64)
def _split_fences(text: str) -> tuple[str, tuple[CodeBlock, ...]]:
    lines = text.split("\n")
    out: list[str] = []
    blocks: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        m = _FENCE_RE.match(lines[i])
        if m is None or (m.group(1)[0] == "`" and "`" in m.group(2)):
            out.append(lines[i])
            i += 1
            continue
        fence = m.group(1)
        info = m.group(2).strip()
        lang = info.split(None, 1)[0].strip("{}.").lower() if info else ""
        start = i
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            stripped = lines[i].strip()
            if (
                stripped.startswith(fence[0] * len(fence))
                and set(stripped) == {fence[0]}
                and len(lines[i]) - len(lines[i].lstrip(" ")) <= 3
            ):
                closed = True
                break
            body.append(lines[i])
            i += 1
        blocks.append(CodeBlock(lang, "\n".join(body), start + 1))
        out.extend([""] * (len(body) + 1 + (1 if closed else 0)))
        i += 1 if closed else 0
    return "\n".join(out), tuple(blocks)


def code_blocks(text: str) -> list[CodeBlock]:
    """The fenced code blocks of a Markdown text."""
    return split_fences(text)[1]


def code_spans(text: str) -> list[tuple[str, int]]:
    """Inline code spans (``content``, 1-based line) of text that has no fenced blocks.

    Follows CommonMark: a run of N backticks opens a span that the next run of exactly N
    backticks closes; a run with no partner is literal text.
    """
    return [(content, line) for content, line, _, _ in _spans(text)]


def mask_code_spans(text: str) -> str:
    """The text with every inline code span replaced by spaces (newlines kept)."""
    chars = list(text)
    for _, _, start, end in _spans(text):
        for k in range(start, end):
            if chars[k] != "\n":
                chars[k] = " "
    return "".join(chars)


@lru_cache(maxsize=64)
def _spans(text: str) -> tuple[tuple[str, int, int, int], ...]:
    runs: list[tuple[int, int]] = []
    for m in re.finditer(r"`+", text):
        start, length = m.start(), m.end() - m.start()
        if start > 0 and text[start - 1] == "\\":
            # An escaped backtick is literal; the rest of the run may still open a span.
            start, length = start + 1, length - 1
            if length == 0:
                continue
        runs.append((start, length))
    # For each run, the index of the next run of the same length (linear scan backwards).
    next_same: list[int] = [-1] * len(runs)
    last_seen: dict[int, int] = {}
    for k in range(len(runs) - 1, -1, -1):
        length = runs[k][1]
        next_same[k] = last_seen.get(length, -1)
        last_seen[length] = k
    out: list[tuple[str, int, int, int]] = []
    k = 0
    line = 1
    pos = 0
    while k < len(runs):
        start, length = runs[k]
        partner = next_same[k]
        if partner < 0:
            k += 1
            continue
        close_start = runs[partner][0]
        content = text[start + length : close_start].replace("\n", " ")
        if len(content) > 2 and content[0] == " " and content[-1] == " " and content.strip():
            content = content[1:-1]
        line += text.count("\n", pos, start)
        pos = start
        out.append((content, line, start, close_start + length))
        k = partner + 1
    return tuple(out)


def strip_doctest(code: str) -> str:
    """Doctest-style code (``>>>`` prompts) reduced to its source lines; other code unchanged."""
    lines = code.split("\n")
    if not any(line.lstrip().startswith(">>>") for line in lines):
        return code
    out: list[str] = []
    indent: int | None = None
    for line in lines:
        stripped = line.lstrip()
        if indent is None and stripped.startswith(">>>"):
            indent = len(line) - len(stripped)
        body = line[indent or 0 :] if indent is not None and len(line) >= (indent or 0) else stripped
        if body.startswith(">>> ") or body == ">>>" or body.startswith("... ") or body == "...":
            out.append(body[4:])
        else:
            out.append("")  # expected output: not code
    return "\n".join(out)


def unfence(code: str) -> tuple[str | None, str]:
    """``(language, code)`` of an example that may be wrapped in a Markdown fence.

    The language is ``None`` when the example is not fenced, ``''`` when the fence has no tag.
    """
    stripped = code.strip("\n")
    _, blocks = split_fences(stripped)
    if len(blocks) == 1 and _FENCE_RE.match(stripped.lstrip().split("\n", 1)[0]):
        return blocks[0].lang, blocks[0].code
    return None, code


def urls(text: str) -> list[str]:
    """URLs in the text (``http(s)://``, ``ftp://``, ``www.``), trailing punctuation removed."""
    out: list[str] = []
    for m in _URL_RE.finditer(text):
        url = m.group(0).rstrip(".,;:!?'\"*_")
        if url:
            out.append(url)
    return out


def links(text: str) -> list[tuple[str, int]]:
    """Markdown link targets (``[text](target)``) outside code, with their 1-based line."""
    prose, _ = split_fences(text)
    prose = mask_code_spans(prose)
    out: list[tuple[str, int]] = []
    for m in _LINK_RE.finditer(prose):
        out.append((m.group(2), prose.count("\n", 0, m.start()) + 1))
    return out


def is_keyword(name: str) -> bool:
    """A Python keyword or soft keyword (``return``, ``match``)."""
    return name in _KEYWORDS


def has_scheme(text: str) -> bool:
    """Does the text start with a URL scheme (``https:``, ``mailto:``)?"""
    return _SCHEME_RE.match(text) is not None


def is_identifier(name: str) -> bool:
    """A dotted Python-style name (``a``, ``a.b.c``) that is not a keyword."""
    return bool(_DOTTED_RE.fullmatch(name)) and not any(p in _KEYWORDS for p in name.split("."))


def looks_like_code(name: str) -> bool:
    """Does a bare or dotted name look like code rather than a word? (``snake_case``,
    ``CamelCase``, ``__dunder__``, dotted.) Plain words and ALLCAPS words do not."""
    if "." in name:
        return True
    if "_" in name.strip("_") or name.startswith("_"):
        return not name.isupper()
    return bool(_CAMEL_RE.search(name)) or (name[:1].isupper() and not name.isupper() and len(name) > 1)


def classify(span: str) -> tuple[str, str] | None:
    """What a backticked span refers to: ``(kind, normalised value)`` or ``None``.

    ``None`` for literals (numbers, strings, ``None``), keywords, expressions, shell
    commands, options and anything else that is not a name or a repository path.
    """
    s = span.strip()
    if not s or len(s) > 300:
        return None
    if s[0] == "*":
        # ``*args`` / ``**kwargs``: a parameter name.
        s = s.lstrip("*")
        return (IDENTIFIER, s) if is_identifier(s) and "." not in s else None
    if s[0] in "\"'-$~<>{[(#=!%|&^:;,?":
        return None
    if s in KNOWN_DOTTED_FILE_NAMES:
        return FILE, s
    if s.startswith("@"):
        s = s[1:]
    m = _CALL_FORM_RE.fullmatch(s)
    if m is not None and _balanced(m.group(2)):
        s = m.group(1)
    if s in _LITERALS or s in _KEYWORDS or _NUMBER_RE.fullmatch(s):
        return None
    m = _ENTRY_POINT_RE.fullmatch(s)
    if m is not None:
        return IDENTIFIER, f"{m.group(1)}.{m.group(2)}"
    if is_identifier(s):
        parts = s.split(".")
        if len(parts) >= 2 and parts[-1] in FILE_EXTENSIONS:
            return (FILE if parts[-1] in STRONG_EXTENSIONS else FILE_OR_IDENTIFIER), s
        return IDENTIFIER, s
    path = _LINE_SUFFIX_RE.sub("", s)  # ``src/app.py:42``
    if _looks_like_path(path):
        return FILE, normalise_path(path)
    return None


def _balanced(args: str) -> bool:
    depth = 0
    for ch in args:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _looks_like_path(s: str) -> bool:
    if _SCHEME_RE.match(s) or not _PATH_RE.fullmatch(s):
        return False
    base = s.rstrip("/").rsplit("/", 1)[-1]
    if "/" in s.rstrip("/"):
        return bool(base) and not s.startswith("/")
    if s.endswith("/"):
        return bool(base)
    ext = base.rsplit(".", 1)[-1] if "." in base else ""
    return base in KNOWN_FILE_NAMES or (
        bool(ext) and ext.lower() in FILE_EXTENSIONS and not base.startswith(".")
    )


def normalise_path(path: str) -> str:
    """A repository-relative path as written, without ``./`` prefixes or ``#``/``?`` suffixes."""
    p = path.split("#", 1)[0].split("?", 1)[0].strip()
    while p.startswith("./"):
        p = p[2:]
    return p


def references(text: str) -> list[Ref]:
    """Every identifier and file reference in a Markdown text, outside fenced code blocks.

    Backticked spans are classified by :func:`classify`. In running text, calls
    (``name(...)`` when it looks like code), dotted names (``pkg.mod.func``) and paths with
    a folder (``src/pkg/mod.py``) count too; URLs, link targets and HTML tags are skipped.
    The caller decides which prose names are worth checking (see :func:`looks_like_code`).
    """
    prose, _ = split_fences(text)
    out: list[Ref] = []
    for content, line in code_spans(prose):
        got = classify(content)
        if got is not None:
            out.append(Ref(got[0], got[1], content, line, CODE))
    masked = _mask(mask_code_spans(prose))
    line_starts = _line_starts(masked)
    for m in _PROSE_CALL_RE.finditer(masked):
        name, args = m.group(1), m.group(2)
        if name in _KEYWORDS or any(p in _KEYWORDS for p in name.split(".")):
            continue
        if args.strip() and not (looks_like_code(name) or "=" in args):
            continue  # "item(s)", "f(x)": words, not calls
        out.append(Ref(IDENTIFIER, name, m.group(0), _line_of(line_starts, m.start()), PROSE))
    call_spans = {m.start(1) for m in _PROSE_CALL_RE.finditer(masked)}
    for m in _PROSE_DOTTED_RE.finditer(masked):
        name = m.group(0)
        parts = name.split(".")
        if m.start() in call_spans or any(len(p) < 2 for p in parts) or any(p in _KEYWORDS for p in parts):
            continue
        if parts[-1] in FILE_EXTENSIONS or name in KNOWN_DOTTED_FILE_NAMES:
            if parts[-1] in BARE_FILE_EXTENSIONS or name in KNOWN_DOTTED_FILE_NAMES:
                out.append(Ref(FILE, name, name, _line_of(line_starts, m.start()), PROSE))
            continue
        out.append(Ref(IDENTIFIER, name, name, _line_of(line_starts, m.start()), PROSE))
    for m in _PROSE_PATH_RE.finditer(masked):
        path = m.group(0)
        ext = path.rsplit(".", 1)[-1].lower()
        if ext in FILE_EXTENSIONS:
            out.append(Ref(FILE, normalise_path(path), path, _line_of(line_starts, m.start()), PROSE))
    return out


def _mask(text: str) -> str:
    """Blank URLs, link targets and HTML tags so prose scanning does not see names in them."""

    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    def blank_target(m: re.Match[str]) -> str:
        inner_start = m.start(2) - m.start(0)
        inner_end = m.end(2) - m.start(0)
        whole = m.group(0)
        return whole[:inner_start] + " " * (inner_end - inner_start) + whole[inner_end:]

    text = _LINK_RE.sub(blank_target, text)
    text = _URL_RE.sub(blank, text)
    text = _HTML_TAG_RE.sub(blank, text)
    # e-mail addresses: user@host.example
    return _EMAIL_RE.sub(blank, text)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def _line_of(starts: list[int], pos: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1
