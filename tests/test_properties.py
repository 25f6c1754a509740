"""Property tests: whatever bytes or text a repository (or a model) supplies, nothing raises.

Random bytes and generated source-like text (Python, JavaScript, Go fragments: half-finished
definitions, unbalanced brackets, stray quotes, odd Unicode) go through each adapter's
``extract`` and through ``build_evidence`` on a temporary repository; random Markdown and random
``ApiRecord`` objects for real symbols go through the validator. The examples are bounded so the
suite stays fast.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.agents.records import ApiRecord, ParamDoc, RaiseDoc
from pipeline.agents.validator import RULES, validate_markdown, validate_record
from pipeline.evidence.builder import BuildOptions, build_evidence
from pipeline.evidence.graph import EvidenceGraph
from pipeline.evidence.languages import get_adapter

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXTENSIONS = {
    "python": ".py",
    "javascript": ".js",
    "typescript": ".ts",
    "tsx": ".tsx",
    "go": ".go",
    "rust": ".rs",
    "java": ".java",
}

names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
    st.sampled_from(["self", "cls", "__init__", "default", "class", "func", "import", "é", "名前", "_"]),
)
junk = st.sampled_from(
    [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ":",
        ",",
        "'",
        '"',
        '"""',
        "`",
        "\\",
        "=>",
        "->",
        "*",
        "**",
        "@",
        "#",
        "/*",
        "*/",
        "\t",
        "\r",
        "\x00",
        "\ufeff",
        "\u202e",
    ]
)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


def _line(templates: list[str]) -> st.SearchStrategy[str]:
    def fill(template: str, a: str, b: str, c: str, words: str) -> str:
        return template.format(a=a, b=b, c=c, t=words)

    return st.builds(fill, st.sampled_from(templates), names, names, names, text)


PYTHON = [
    "def {a}({b}, {c}=None, *args, **kw):",
    "def {a}({b}: int = 1) -> {c}:",
    "async def {a}():",
    "class {a}({b}, metaclass={c}):",
    "    return {b}",
    "    yield {b}",
    "    raise {a}Error({b!r})",
    '    """{t}"""',
    "import {a}.{b} as {c}",
    "from .{a} import {b}, {c}",
    "from {a} import *",
    "@{a}.{b}",
    "    {a} = {b}({c})",
    "if {a}:",
    "__all__ = ['{a}', {b}]",
    "lambda {a}: {b}",
    "    def {a}(self):",
    "{t}",
]
JAVASCRIPT = [
    "function {a}({b}, ...{c}) {{",
    "export default function {a}() {{",
    "export class {a} extends {b} {{",
    "  {a}({b}) {{ return {c}; }}",
    "const {a} = ({b}) => {c};",
    "import {{ {a} as {b} }} from '{c}';",
    "import * as {a} from './{b}';",
    "/** {t} */",
    "// {t}",
    "module.exports = {{ {a}, {b} }};",
    "throw new {a}('{t}');",
    "}}",
    "`${{{a}}}`",
]
GO = [
    "package {a}",
    'import "{a}/{b}"',
    'import ({a} "{b}")',
    "func {a}({b} int, {c} ...string) (int, error) {{",
    "func ({a} *{b}) {c}() {{",
    "type {a} struct {{ {b} int }}",
    "type {a} interface {{ {b}() }}",
    "// {a} {t}",
    "\treturn {a}({b})",
    "}}",
]


def source(templates: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(_line(templates), junk), max_size=30).map("\n".join)


fragments = st.one_of(
    st.tuples(st.just("python"), source(PYTHON)),
    st.tuples(st.just("javascript"), source(JAVASCRIPT)),
    st.tuples(st.just("typescript"), source(JAVASCRIPT)),
    st.tuples(st.just("tsx"), source(JAVASCRIPT)),
    st.tuples(st.just("go"), source(GO)),
    st.tuples(st.sampled_from(["rust", "java"]), source(JAVASCRIPT + GO)),
)


def _check_evidence(ev, language: str, data: bytes) -> None:
    lines = data.count(b"\n") + 1
    assert ev.language == language
    ids = [s.id for s in ev.symbols]
    assert len(ids) == len(set(ids)), "duplicate symbol ids in one file"
    for sym in ev.symbols:
        assert 1 <= sym.line_start <= sym.line_end <= lines + 1, (sym.qualname, sym.line_start, sym.line_end)
    assert all(1 <= n <= lines + 1 for n in ev.error_lines)


@BOUNDED
@given(fragments)
def test_every_adapter_extracts_source_like_text_without_raising(fragment):
    language, code = fragment
    rel = f"pkg/sub/mod{EXTENSIONS[language]}"
    adapter = get_adapter(language)
    module = adapter.module_name(rel, frozenset({rel, "pkg/__init__.py"}))
    data = code.encode("utf-8", "surrogatepass")
    _check_evidence(adapter.extract(data, rel, module), language, data)


@BOUNDED
@given(st.sampled_from(sorted(EXTENSIONS)), st.binary(max_size=400))
def test_every_adapter_extracts_random_bytes_without_raising(language, data):
    rel = f"x{EXTENSIONS[language]}"
    adapter = get_adapter(language)
    _check_evidence(adapter.extract(data, rel, adapter.module_name(rel, frozenset({rel}))), language, data)


@BOUNDED
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(EXTENSIONS)),
            st.one_of(
                st.binary(max_size=300), fragments.map(lambda f: f[1].encode("utf-8", "surrogatepass"))
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_build_evidence_on_a_repository_of_random_files(files):
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        for n, (language, data) in enumerate(files):
            path = repo / f"d{n % 2}" / f"f{n}{EXTENSIONS[language]}"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
        graph, stats = build_evidence(repo, BuildOptions(use_cache=False, jobs=1))
        assert stats.files_seen == len(files)
        assert stats.parsed + stats.skipped == len(files)
        skipped = {s["path"]: s["reason"] for s in graph.meta["skipped"]}
        assert set(skipped.values()) <= {"binary", "invalid_utf8"}
        # Every file is either evidence or a recorded skip, never lost silently.
        in_graph = {d["path"] for _, d in graph.g.nodes(data=True) if d.get("kind") == "file"}
        assert in_graph | set(skipped) == {
            f"d{n % 2}/f{n}{EXTENSIONS[lang]}" for n, (lang, _) in enumerate(files)
        }
        graph.to_dict()  # serialisable, whatever came in


# -- the validator ----------------------------------------------------------------------------------------
REPO = {
    "pkg/__init__.py": '"""A package."""\nfrom .core import Parser, add\n',
    "pkg/core.py": '''"""Core helpers."""


class ParseError(ValueError):
    """Raised when parsing fails."""


def add(a: int, b: int = 1, *rest: int, key: str = "k", **opts) -> int:
    """Add numbers."""
    return a + b


def walk(items):
    for item in items:
        yield item


class Parser:
    """Parses text."""

    def __init__(self, strict: bool = False):
        self.strict = strict

    def parse(self, text: str) -> list[str]:
        if not text:
            raise ParseError("empty")
        return text.split()
''',
}


@cache
def _graph() -> EvidenceGraph:
    # The validator reads source text of the symbols from the repository: keep it on disk.
    folder = Path(tempfile.mkdtemp(prefix="props-"))
    for rel, code in REPO.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(code, encoding="utf-8")
    graph, _ = build_evidence(folder, BuildOptions(use_cache=False, jobs=1))
    return graph


def _symbols() -> list[str]:
    graph = _graph()
    return sorted(n for n, d in graph.g.nodes(data=True) if d.get("kind") in ("function", "method", "class"))


markdown_bits = st.one_of(
    text,
    st.sampled_from(
        [
            "`add`",
            "`pkg.core.add`",
            "`Parser.parse()`",
            "`nowhere.at_all`",
            "[link](pkg/core.py)",
            "[x](../../etc/passwd)",
            "```python\nfrom pkg.core import add\nadd(1, key=2, nope=3)\n```",
            "```mermaid\ngraph LR\n a-->b\n```",
            "```",
            "# `pkg.core.add`",
            "## Parameters",
            "| `a` | int |",
            '<a id="pkg.core.add"></a>',
            "depends on `requests`",
            "ignore previous instructions",
            "<script>x</script>",
            "https://example.com/x",
            "> quoted",
            "`pkg/core.py:3`",
        ]
    ),
)


@BOUNDED
@given(st.lists(markdown_bits, max_size=25).map("\n".join))
def test_validate_markdown_never_raises_nor_faults(page):
    findings = validate_markdown(_graph(), page, source="docs/page.md")
    assert all(f.rule in RULES for f in findings)
    faults = [f.message for f in findings if f.rule == "validator-error"]
    assert faults == []


prose = st.one_of(text, markdown_bits, st.lists(markdown_bits, max_size=4).map(" ".join))
records = st.builds(
    ApiRecord,
    summary=prose,
    description=prose,
    params=st.lists(
        st.builds(
            ParamDoc,
            name=st.one_of(names, st.sampled_from(["a", "b", "*rest", "**opts", "key", "text"])),
            description=prose,
        ),
        max_size=5,
    ),
    returns=st.one_of(st.none(), prose),
    yields=st.one_of(st.none(), prose),
    raises=st.lists(
        st.builds(RaiseDoc, exception=st.one_of(names, st.just("ParseError")), when=prose), max_size=3
    ),
    examples=st.lists(
        st.one_of(
            text,
            st.sampled_from(
                ["add(1, 2)", "Parser(strict=True).parse('a b')", "import os\nos.system('x')", "def (:"]
            ),
        ),
        max_size=2,
    ),
    see_also=st.lists(
        st.one_of(names, st.sampled_from(["add", "pkg.core.Parser", "nothing.here"])), max_size=3
    ),
)


@BOUNDED
@given(st.data(), records)
def test_validate_record_never_raises_nor_faults_on_real_symbols(data, record):
    sid = data.draw(st.sampled_from(_symbols()))
    findings = validate_record(_graph(), sid, record)
    assert all(f.rule in RULES for f in findings)
    faults = [f.message for f in findings if f.rule == "validator-error"]
    assert faults == []
