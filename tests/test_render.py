"""Renderers: signatures, page structure, escaping of untrusted text, safe page paths,
Mermaid diagrams and byte-for-byte determinism.

Rendered Markdown is read back with markdown-it (CommonMark plus GFM tables, raw HTML
allowed as on GitHub), so structure and safety are checked the way a reader sees them.
"""

from __future__ import annotations

import html
import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from pipeline.agents.records import ApiRecord, Component, ModuleDoc, Overview, ParamDoc, RaiseDoc, Relation
from pipeline.evidence.graph import EvidenceGraph, dependency_id, external_id, file_id
from pipeline.evidence.model import (
    CONTAINS,
    DEPENDS_ON,
    IMPORTS,
    INHERITS,
    KEYWORD_ONLY,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    Param,
    Symbol,
)
from pipeline.render import (
    code_span,
    escape_text,
    fence,
    module_dependency_diagram,
    page_path,
    page_paths,
    render_architecture,
    render_index,
    render_module_page,
    render_signature,
    safe_join,
    write_pages,
)
from pipeline.render.markdown import _cell, _table

MD = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
INLINE_TAGS = {"p", "code", "em", "strong", "s"}


def tags(html_text: str) -> set[str]:
    return {t.lower() for t in re.findall(r"</?([A-Za-z][A-Za-z0-9]*)", html_text)}


def headings(markdown: str) -> list[str]:
    """``"### text"`` for every heading markdown-it finds (fenced code is not a heading)."""
    tokens = MD.parse(markdown)
    out = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            out.append(f"{'#' * int(tok.tag[1])} {tokens[i + 1].content}")
    return out


def table_rows(markdown: str) -> list[list[str]]:
    """Every table row (header rows included) as its cells' rendered inner HTML."""
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", MD.render(markdown), re.S):
        rows.append(re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S))
    return rows


def section(markdown: str, heading: str) -> str:
    """The text from ``heading`` to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = markdown.split("\n")
    start = lines.index(heading)
    end = len(lines)
    for j in range(start + 1, len(lines)):
        m = re.match(r"(#{1,6}) ", lines[j])
        if m and len(m.group(1)) <= level:
            end = j
            break
    return "\n".join(lines[start:end])


# -- building evidence by hand -------------------------------------------------------------
def p(
    name: str, kind: str = POSITIONAL_OR_KEYWORD, annotation: str | None = None, default: str | None = None
):
    return Param(name, kind, annotation, default)


def add_symbol(
    graph: EvidenceGraph,
    kind: str,
    qualname: str,
    *,
    file: str = "pkg/mod.py",
    line: int = 1,
    public: bool = True,
    parent: str | None = None,
    params: list[Param] | None = None,
    returns: str | None = None,
    decorators: list[str] | None = None,
    docstring: str | None = None,
    extra: dict[str, Any] | None = None,
    language: str = "python",
) -> str:
    """Add a node shaped exactly like the builder's (``Symbol.to_dict()`` without ``id``)."""
    nid = f"py:{qualname}"
    sym = Symbol(
        id=nid,
        kind=kind,
        name=qualname.rsplit(".", 1)[-1],
        qualname=qualname,
        language=language,
        file=file,
        line_start=line,
        line_end=line + 3,
        hash="0" * 16,
        public=public,
        parent=parent,
        params=params,
        returns=returns,
        decorators=decorators or [],
        docstring=docstring,
        extra=extra or {},
    )
    attrs = sym.to_dict()
    del attrs["id"]
    graph.add_node(nid, **attrs)
    if parent is not None:
        graph.add_edge(parent, nid, CONTAINS, line=line)
    return nid


def fn_node(params: list[Param], *, kind: str = "function", returns: str | None = None, **extra: Any) -> dict:
    g = EvidenceGraph()
    nid = add_symbol(g, kind, "m.f", params=params, returns=returns, extra=extra)
    return g.node(nid)


def shop_graph() -> EvidenceGraph:
    """Two modules: ``pkg.base`` (``Base``) and ``pkg.mod`` with a class, functions and data."""
    g = EvidenceGraph("repo")
    base_mod = add_symbol(g, "module", "pkg.base", file="pkg/base.py", docstring="Base things.")
    add_symbol(g, "class", "pkg.base.Base", file="pkg/base.py", line=3, parent=base_mod, extra={"bases": []})
    mod = add_symbol(g, "module", "pkg.mod", docstring="Tools for the shop.\n\nMore details here.")
    g.add_edge(
        mod,
        "py:pkg.base.Base",
        IMPORTS,
        line=1,
        alias="Base",
        bound="pkg.base.Base",
        qualname="pkg.base.Base",
    )
    shop = add_symbol(
        g,
        "class",
        "pkg.mod.Shop",
        line=10,
        parent=mod,
        docstring="A shop.\n\nLonger text.",
        extra={
            "bases": ["Base"],
            "keywords": {"metaclass": "Meta"},
            "attributes": [
                {"name": "name", "annotation": "str", "line": 13},
                {"name": "_secret", "annotation": None, "line": 14},
            ],
        },
    )
    g.add_edge(shop, "py:pkg.base.Base", INHERITS, base="Base")
    add_symbol(
        g,
        "method",
        "pkg.mod.Shop.__init__",
        line=12,
        parent=shop,
        params=[p("self"), p("name", annotation="str"), p("limit", annotation="int", default="3")],
    )
    add_symbol(
        g,
        "method",
        "pkg.mod.Shop.add",
        line=20,
        parent=shop,
        params=[
            p("self", POSITIONAL_ONLY),
            p("item", POSITIONAL_ONLY, "str"),
            p("qty", annotation="int", default="1"),
            p("extra", VAR_POSITIONAL),
            p("force", KEYWORD_ONLY, "bool", "False"),
            p("kw", VAR_KEYWORD),
        ],
        returns="int",
        extra={"raises": ["ValueError"], "is_async": False},
    )
    add_symbol(
        g,
        "method",
        "pkg.mod.Shop.size",
        line=30,
        parent=shop,
        params=[p("self")],
        returns="int",
        decorators=["property"],
        extra={"is_property": True},
    )
    add_symbol(g, "method", "pkg.mod.Shop._hidden", line=35, parent=shop, public=False, params=[p("self")])
    add_symbol(
        g,
        "method",
        "pkg.mod.Shop.items",
        line=40,
        parent=shop,
        params=[p("self")],
        returns="Iterator[str]",
        extra={"is_generator": True},
    )
    add_symbol(
        g,
        "function",
        "pkg.mod.helper",
        line=50,
        parent=mod,
        params=[p("x"), p("y", KEYWORD_ONLY, "str", '"a"')],
        returns="None",
        docstring="Helps the shop.\n\nSecond paragraph.",
        extra={"raises": ["KeyError"]},
    )
    add_symbol(g, "function", "pkg.mod._private", line=60, parent=mod, public=False, params=[])
    add_symbol(g, "variable", "pkg.mod.LIMIT", line=5, parent=mod, extra={"value": "10", "is_constant": True})
    add_symbol(g, "variable", "pkg.mod.lower", line=6, parent=mod, extra={"value": "1", "is_constant": False})
    add_symbol(
        g,
        "variable",
        "pkg.mod.Pair",
        line=7,
        parent=mod,
        extra={"value": "tuple[int, int]", "is_constant": False, "is_type_alias": True},
    )
    return g


ADD_RECORD = ApiRecord(
    summary="Add an item to the shop.",
    description="Counts are summed.",
    params=[ParamDoc(name="item", description="the item"), ParamDoc(name="kw", description="options")],
    returns="the new count",
    raises=[RaiseDoc(exception="ValueError", when="qty is negative")],
    examples=["shop.add('x', 2)"],
    see_also=["Shop", "pkg.base.Base", "nowhere.Thing"],
)


# -- signatures ----------------------------------------------------------------------------
def test_signature_python_every_parameter_kind():
    node = fn_node(
        [
            p("a", POSITIONAL_ONLY, "int"),
            p("b", default="1"),
            p("args", VAR_POSITIONAL, "str"),
            p("c", KEYWORD_ONLY),
            p("d", KEYWORD_ONLY, "bool", "True"),
            p("kw", VAR_KEYWORD, "Any"),
        ],
        returns="R",
        is_async=True,
    )
    assert (
        render_signature(node) == "async def f(a: int, /, b=1, *args: str, c, d: bool = True, **kw: Any) -> R"
    )


def test_signature_python_bare_star_and_positional_only_tail():
    assert render_signature(fn_node([p("a", POSITIONAL_ONLY), p("b", POSITIONAL_ONLY)])) == "def f(a, b, /)"
    assert render_signature(fn_node([p("a"), p("k", KEYWORD_ONLY, default="2")])) == "def f(a, *, k=2)"
    assert render_signature(fn_node([p("kw", VAR_KEYWORD)])) == "def f(**kw)"
    assert render_signature(fn_node([])) == "def f()"


def test_signature_methods_drop_the_bound_parameter_only():
    assert render_signature(fn_node([p("self"), p("x")], kind="method")) == "def f(x)"
    assert render_signature(fn_node([p("cls"), p("x")], kind="method", is_classmethod=True)) == "def f(x)"
    assert render_signature(fn_node([p("x"), p("y")], kind="method", is_staticmethod=True)) == "def f(x, y)"
    # ``*args`` first is not a bound parameter.
    assert render_signature(fn_node([p("args", VAR_POSITIONAL)], kind="method")) == "def f(*args)"


def test_signature_property_class_and_variable():
    prop = fn_node([p("self")], kind="method", returns="list[int]", is_property=True)
    assert render_signature(prop) == "property f: list[int]"
    g = shop_graph()
    assert render_signature(g.node("py:pkg.mod.Shop")) == "class Shop(Base, metaclass=Meta)"
    assert render_signature(g.node("py:pkg.base.Base")) == "class Base"
    assert render_signature(g.node("py:pkg.mod.LIMIT")) == "LIMIT = 10"


def test_signature_other_languages():
    def node(
        lang: str, params: list[Param], returns: str | None = None, kind: str = "function", **extra: Any
    ):
        g = EvidenceGraph()
        return g.node(
            add_symbol(g, kind, "m.Run", params=params, returns=returns, extra=extra, language=lang)
        )

    two = [p("a", annotation="int"), p("rest", VAR_POSITIONAL, "string")]
    assert render_signature(node("go", two, "error")) == "func Run(a int, rest ...string) error"
    assert render_signature(node("rust", [p("&self"), p("x", annotation="u8")], "bool", "method")) == (
        "fn Run(&self, x: u8) -> bool"
    )
    js = [p("a"), p("b", default="1"), p("rest", VAR_POSITIONAL)]
    assert render_signature(node("javascript", js, is_async=True)) == "async function Run(a, b = 1, ...rest)"
    ts = [p("a", annotation="number"), p("b", annotation="string", default="'x'")]
    assert (
        render_signature(node("typescript", ts, "void")) == "function Run(a: number, b: string = 'x'): void"
    )
    java = [p("a", annotation="int"), p("xs", VAR_POSITIONAL, "String")]
    assert render_signature(node("java", java, "boolean", "method")) == "boolean Run(int a, String... xs)"


def test_long_signature_wraps_one_parameter_per_line():
    node = fn_node([p(f"parameter_{i}", annotation="dict[str, int]") for i in range(4)], returns="None")
    wrapped = render_signature(node, wrap=60)
    assert wrapped.split("\n")[0] == "def f("
    assert wrapped.split("\n")[-1] == ") -> None"
    assert wrapped.count("    parameter_") == 4
    assert render_signature(node, wrap=None).count("\n") == 0


# -- module page structure -------------------------------------------------------------------
def test_module_page_structure_with_and_without_records():
    g = shop_graph()
    page = render_module_page(
        g, "py:pkg.mod", None, {"py:pkg.mod.Shop.add": ADD_RECORD, "py:pkg.mod.helper": None}
    )
    assert headings(page) == [
        "# `pkg.mod`",
        "## Classes",
        "### `pkg.mod.Shop`",
        "#### Parameters",
        "#### Attributes",
        "#### `pkg.mod.Shop.add`",
        "##### Parameters",
        "##### Returns",
        "##### Raises",
        "##### Examples",
        "##### See also",
        "#### `pkg.mod.Shop.size`",
        "#### `pkg.mod.Shop.items`",
        "##### Yields",
        "## Functions",
        "### `pkg.mod.helper`",
        "#### Parameters",
        "#### Raises",
        "## Constants",
        "## Type aliases",
    ]
    # Module summary falls back to the docstring's first paragraph, quoted.
    assert "From the source docstring:\n\n> Tools for the shop." in page
    assert "More details here" not in page
    assert "Defined in `pkg/mod.py`" in page

    shop = section(page, "### `pkg.mod.Shop`")
    assert '<a id="pkg.mod.Shop"></a>' in page
    assert "```python\nclass Shop(Base, metaclass=Meta)\n```" in shop
    ctor_rows = table_rows(section(shop, "#### Parameters"))
    assert [r[:3] for r in ctor_rows[1:]] == [
        ["<code>name</code>", "<code>str</code>", ""],
        ["<code>limit</code>", "<code>int</code>", "<code>3</code>"],
    ]
    assert [r[0] for r in table_rows(section(shop, "#### Attributes"))[1:]] == ["<code>name</code>"]
    assert "Defined in `pkg/mod.py:10`" in shop

    add = section(page, "#### `pkg.mod.Shop.add`")
    assert (
        "```python\ndef add(item: str, /, qty: int = 1, *extra, force: bool = False, **kw) -> int\n```" in add
    )
    assert "Add an item to the shop.\n\nCounts are summed." in add
    rows = table_rows(section(add, "##### Parameters"))
    assert rows[0] == ["Name", "Type", "Default", "Description"]
    assert [r[0] for r in rows[1:]] == [
        f"<code>{n}</code>" for n in ("item", "qty", "*extra", "force", "**kw")
    ]
    assert [r[3] for r in rows[1:]] == ["the item", "", "", "", "options"]
    assert "`int`: the new count" in section(add, "##### Returns")
    assert "- `ValueError`: qty is negative" in section(add, "##### Raises")
    assert "```python\nshop.add('x', 2)\n```" in section(add, "##### Examples")
    see = section(add, "##### See also")
    assert "- [`Shop`](#pkg.mod.Shop)" in see
    assert "- [`pkg.base.Base`](pkg.base.md#pkg.base.Base)" in see
    assert "- `nowhere.Thing`" in see
    assert "Defined in `pkg/mod.py:20`" in add

    size = section(page, "#### `pkg.mod.Shop.size`")
    assert "```python\nproperty size: int\n```" in size
    assert "@property" not in size
    items = section(page, "#### `pkg.mod.Shop.items`")
    assert "`str`" in section(items, "##### Yields")

    # Evidence-only: signature, parameter table with an empty description column, the
    # docstring's first paragraph, raises from the evidence, no Returns for ``-> None``.
    helper = section(page, "### `pkg.mod.helper`")
    assert '```python\ndef helper(x, *, y: str = "a") -> None\n```' in helper
    assert "From the source docstring:\n\n> Helps the shop." in helper
    assert "Second paragraph" not in helper
    assert [r[3] for r in table_rows(section(helper, "#### Parameters"))[1:]] == ["", ""]
    assert "- `KeyError`" in section(helper, "#### Raises")
    assert "Returns" not in helper

    constants = table_rows(section(page, "## Constants"))
    assert [re.sub(r"<a [^>]*></a>", "", r[0]) for r in constants[1:]] == ["<code>LIMIT</code>"]
    assert "pkg.mod.lower" not in page
    for hidden in ("_hidden", "_private", "_secret", "__init__"):
        assert hidden not in page


def test_module_page_uses_module_doc_and_neutral_line():
    g = shop_graph()
    page = render_module_page(g, "py:pkg.mod", ModuleDoc(summary="The shop module."), {})
    assert page.split("\n\n")[2] == "The shop module."
    bare = EvidenceGraph()
    mod = add_symbol(bare, "module", "solo")
    add_symbol(bare, "function", "solo.run", parent=mod, params=[])
    add_symbol(bare, "class", "solo.A", parent=mod, line=2)
    add_symbol(bare, "class", "solo.B", parent=mod, line=3)
    assert "2 public classes, 1 public function." in render_module_page(bare, mod, None, {})


def test_class_without_record_uses_init_record_for_parameter_descriptions():
    g = shop_graph()
    init_rec = ApiRecord(summary="Make a shop.", params=[ParamDoc(name="limit", description="max items")])
    page = render_module_page(g, "py:pkg.mod", None, {"py:pkg.mod.Shop.__init__": init_rec})
    rows = table_rows(section(section(page, "### `pkg.mod.Shop`"), "#### Parameters"))
    assert [r[3] for r in rows[1:]] == ["", "max items"]


# -- escaping of untrusted text ------------------------------------------------------------------
HOSTILE_DOC = (
    "<script>alert(1)</script> first | pipes | here\n"
    "# heading injected\n"
    "| a | b |\n"
    "|---|---|\n"
    "```\n"
    "code fence\n"
    "```\n"
    "<img src=x onerror=alert(2)> [click](javascript:alert(3)) ![i](http://x/t.png)"
)


def test_hostile_docstrings_names_and_record_text_cannot_change_the_page():
    g = EvidenceGraph()
    name = "../../etc/passwd"
    mod = add_symbol(g, "module", name, file="../../etc/passwd.py", docstring=HOSTILE_DOC)
    add_symbol(
        g,
        "function",
        f"{name}.run",
        parent=mod,
        params=[p("a|b", annotation="int | None", default="'<b>'")],
        docstring=HOSTILE_DOC,
        extra={"raises": ["<E>"]},
    )
    add_symbol(
        g,
        "function",
        f"{name}.plain",
        parent=mod,
        line=9,
        params=[],
        docstring=HOSTILE_DOC,
        extra={"raises": ["<E>"]},
    )
    rec = ApiRecord(
        summary="Runs `x < y` and <b>bold</b> & more\n# not a heading",
        description="```\nbreak out\n```\n\n<div>block</div>\n\n- list? | cell |",
        params=[ParamDoc(name="a|b", description="one | two\nthree <i>x</i>")],
        returns="```` `weird` ````",
        examples=["print('```')\n````\nstill code"],
        see_also=["<script>"],
    )
    page = render_module_page(g, mod, None, {f"py:{name}.run": rec})
    out = MD.render(page)
    assert tags(out) <= INLINE_TAGS | {
        "h1",
        "h2",
        "h3",
        "h4",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    } | {
        "pre",
        "a",
        "blockquote",
        "ul",
        "li",
    }
    assert "<script" not in out and "<img" not in out and "<div" not in out and "<i>" not in out
    assert "javascript:" not in re.findall(r'href="([^"]*)"', out).__str__()
    # Every link stays on the site (no scheme), and only the page's own headings exist.
    assert all(re.fullmatch(r"[A-Za-z0-9._~/#%-]*", href) for href in re.findall(r'href="([^"]*)"', out))
    assert headings(page) == [
        "# `../../etc/passwd`",
        "## Functions",
        "### `../../etc/passwd.run`",
        "#### Parameters",
        "#### Returns",
        "#### Examples",
        "#### See also",
        "### `../../etc/passwd.plain`",
        "#### Raises",
    ]
    # One table, four cells a row; the pipe in the name and the type stays inside its cell.
    rows = table_rows(page)
    assert [len(r) for r in rows] == [4, 4]
    assert html.unescape(rows[1][0]) == "<code>a|b</code>"
    assert html.unescape(rows[1][1]) == "<code>int | None</code>"
    # Code blocks: two signatures and one example, whose backticks did not end it early.
    blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", out, re.S)
    assert len(blocks) == 3
    assert html.unescape(blocks[1]) == "print('```')\n````\nstill code\n"
    # The anchors are safe attribute values.
    assert '<a id="../../etc/passwd.run"></a>' not in page
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", a) for a in re.findall(r'<a id="([^"]*)"', page))
    # The text is still all there, shown literally.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "x &lt; y" in out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*"`<>&|#=-+*_~:[]()!\\\n \tab1.'\"", "<script>", "```", "\n\n"])).map("".join)
)
def test_escape_text_only_ever_yields_paragraphs_of_text(text):
    out = MD.render(escape_text(text))
    assert tags(out) <= INLINE_TAGS
    visible = html.unescape(re.sub(r"<[^>]+>", " ", out))
    if not set(text) & set("`*_~"):  # emphasis and code markers are Markdown's to interpret
        assert visible.split() == text.split()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"`<>&| \nab\\", "```"]), min_size=1).map("".join))
def test_code_span_fence_and_cells_keep_text_literal(text):
    flat = re.sub(r"[ \t]*\n[ \t]*", " ", text)  # a line break, with the spaces around it, is one space
    rendered = MD.render("x " + code_span(text))
    if flat.strip(" "):
        assert html.unescape(re.search(r"<code>(.*)</code>", rendered, re.S).group(1)) == flat
    block = MD.render(fence(text, "python"))
    assert html.unescape(
        re.fullmatch(r'<pre><code class="language-python">(.*)</code></pre>\n', block, re.S).group(1)
    ) == (text.rstrip("\n") + "\n")
    rows = table_rows(_table(["A", "B"], [[_cell(text), code_span(text, table=True)]]))
    assert [len(r) for r in rows] == [2, 2]


# -- page paths -------------------------------------------------------------------------------
HOSTILE_NAMES = [
    "../../etc/passwd",
    "..",
    ".",
    "",
    "/abs/path",
    "a\\b",
    "C:\\x",
    "CON",
    "con.sub",
    "lpt1",
    "index",
    "INDEX",
    "architecture",
    "a b; rm -rf ~ $(x) `y` | z > w",
    "模块.子",
    "-rf",
    ".hidden",
    "a..b",
    "trailing.",
    "x" * 400,
    "nul\x00byte",
]


def test_page_path_is_safe_for_hostile_names(tmp_path):
    for name in HOSTILE_NAMES:
        rel = page_path(name)
        assert rel == page_path(name)  # stable
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.md", rel), (name, rel)
        assert ".." not in rel and not rel.startswith((".", "-"))
        assert rel.lower() not in ("index.md", "architecture.md")
        assert len(rel.encode()) < 200
        assert safe_join(tmp_path, rel).parent == tmp_path.resolve()
    assert page_path("pkg.sub.mod") == "pkg.sub.mod.md"
    assert page_path("my_pkg.mod-2") == "my_pkg.mod-2.md"


def test_page_paths_never_collide_even_with_crafted_names():
    crafted = page_path("a b")[:-3]  # an ordinary module named like another's encoded page
    names = ["a b", crafted, "Foo", "foo", "FOO", "index", *HOSTILE_NAMES]
    pages = page_paths(names)
    assert set(pages) == set(names)
    lowered = [v.lower() for v in pages.values()]
    assert len(set(lowered)) == len(lowered)
    assert "index.md" not in lowered and "architecture.md" not in lowered
    assert pages[crafted] == f"{crafted}.md"  # the unaltered name keeps the plain page
    assert page_paths(reversed(names)) == pages


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=12))
def test_page_paths_are_injective_and_safe(names):
    pages = page_paths(names)
    lowered = [v.lower() for v in pages.values()]
    assert len(set(lowered)) == len(lowered) == len(set(names))
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.md", v) and ".." not in v for v in pages.values())


def test_safe_join_refuses_to_leave_the_output_folder(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "link").symlink_to(tmp_path / "elsewhere")
    for rel in ("../x.md", "/etc/passwd", "a/../../x.md", "", ".", "link/x.md", "a\x00b"):
        with pytest.raises(ValueError):
            safe_join(out, rel)
    assert safe_join(out, "pkg.mod.md") == out.resolve() / "pkg.mod.md"
    assert safe_join(out, "sub/../pkg.mod.md") == out.resolve() / "pkg.mod.md"


def test_write_pages_writes_inside_and_refuses_escapes(tmp_path):
    out = tmp_path / "site"
    written = write_pages(out, {"b.md": "B\n", "a.md": "A\n"})
    assert written == [out.resolve() / "a.md", out.resolve() / "b.md"]
    assert (out / "a.md").read_text(encoding="utf-8") == "A\n"
    with pytest.raises(ValueError):
        write_pages(out, {"../evil.md": "x"})
    assert not (tmp_path / "evil.md").exists()


# -- mermaid -------------------------------------------------------------------------------------
def import_graph(
    modules: list[str], imports: list[tuple[str, str]], *, reverse: bool = False
) -> EvidenceGraph:
    g = EvidenceGraph()
    order = list(reversed(modules)) if reverse else modules
    for m in order:
        mod = add_symbol(g, "module", m, file=f"{m}.py")
        add_symbol(g, "function", f"{m}.f", file=f"{m}.py", parent=mod, params=[])
    g.add_node(external_id("os"), kind="external", name="os", qualname="os")
    edges = list(reversed(imports)) if reverse else imports
    for src, dst in edges:
        # From inside a function, of a symbol: both count as module-to-module imports.
        g.add_edge(f"py:{src}.f", f"py:{dst}.f", IMPORTS, line=1, qualname=f"{dst}.f")
        g.add_edge(f"py:{src}", external_id("os"), IMPORTS, line=1, qualname="os")
    return g


def test_mermaid_diagram_of_internal_imports():
    g = import_graph(
        ["app.cli", "app.core", "app.util", "lonely"], [("app.cli", "app.core"), ("app.core", "app.util")]
    )
    g.add_edge("py:app.util", "py:app.util", IMPORTS, line=2, qualname="app.util")  # self import ignored
    assert module_dependency_diagram(g) == (
        "```mermaid\n"
        "flowchart LR\n"
        '  m0["app.cli"]\n'
        '  m1["app.core"]\n'
        '  m2["app.util"]\n'
        "  m0 --> m1\n"
        "  m1 --> m2\n"
        "```\n"
    )


def test_mermaid_is_deterministic_and_collapses_to_packages():
    modules = [f"{pkg}.m{i}" for pkg in ("p", "q", "r") for i in range(4)]
    imports = [(f"p.m{i}", f"q.m{i}") for i in range(4)] + [("q.m0", "r.m1"), ("p.m1", "p.m2")]
    a = module_dependency_diagram(import_graph(modules, imports), max_nodes=5)
    b = module_dependency_diagram(import_graph(modules, imports, reverse=True), max_nodes=5)
    assert a == b
    assert a == (
        '```mermaid\nflowchart LR\n  m0["p.*"]\n  m1["q.*"]\n  m2["r.*"]\n  m0 --> m1\n  m1 --> m2\n```\n'
    )
    full = module_dependency_diagram(import_graph(modules, imports))
    assert full.count('"]') == 9  # every module that imports or is imported, uncollapsed


def test_mermaid_keeps_best_connected_when_even_packages_do_not_fit():
    g = import_graph(["a", "b", "c", "d", "e"], [("a", "b"), ("c", "b"), ("d", "b"), ("e", "a")])
    out = module_dependency_diagram(g, max_nodes=2)
    assert '["a"]' in out and '["b"]' in out and '["c"]' not in out
    assert "%% 3 more packages not shown" in out
    assert "m0 --> m1" in out


def test_mermaid_labels_are_escaped():
    evil = 'x"]; click m0 call alert(1); y["<b>'
    g = import_graph([evil, "ok"], [(evil, "ok")])
    out = module_dependency_diagram(g)
    body = [line for line in out.split("\n") if line.startswith("  m")]
    labels = [re.fullmatch(r'  m\d+\["([^"\]]*)"\]', line) for line in body[:2]]
    assert all(labels), body
    assert "click" not in out.split("\n")[2].split('"')[0]
    assert "<" not in out and "#34;" in out


# -- index and architecture -----------------------------------------------------------------------
def add_manifest(g: EvidenceGraph) -> None:
    fid = file_id("pyproject.toml")
    g.add_node(fid, kind="file", name="pyproject.toml", path="pyproject.toml", language=None)
    for name, spec, group in (("rich", ">=13", "main"), ("pytest", ">=8", "dev"), ("attrs", "", "main")):
        did = dependency_id("pypi", name)
        g.add_node(did, kind="dependency", name=name, qualname=name, ecosystem="pypi")
        g.add_edge(fid, did, DEPENDS_ON, spec=spec, group=group)
    g.meta = {
        "entry_points": [
            {"name": "shop", "target": "pkg.mod:helper", "source": "pyproject.toml", "kind": "console_script"}
        ],
        "main_modules": ["pkg.mod"],
        "ci_files": [".github/workflows/ci.yml"],
        "skipped": [
            {"path": "big.bin", "reason": "binary", "detail": ""},
            {"path": "x|y.py", "reason": "too_large", "detail": "3 MB"},
        ],
    }


OVERVIEW = Overview(
    summary="A shop. <b>Really</b>.",
    components=[Component(name="Core", modules=["pkg.mod", "pkg.gone"], role="Sells | things.")],
    relations=[Relation(source="pkg.mod", target="pkg.base", description="inherits Base")],
)


def test_index_page():
    g = shop_graph()
    add_manifest(g)
    pages = page_paths(["pkg.mod", "pkg.base"])
    out = render_index(
        g,
        pages,
        title="Shop <script>",
        overview=OVERVIEW,
        notes=["2 symbols documented from evidence only"],
        module_docs={"pkg.mod": ModuleDoc(summary="Shop tools. Second sentence.")},
    )
    assert headings(out) == [
        "# Shop &lt;script&gt;",
        "## Modules",
        "## Entry points",
        "## Dependencies",
        "## Notes",
    ]
    assert "A shop. &lt;b&gt;Really&lt;/b&gt;." in out
    assert table_rows(section(out, "## Modules"))[1:] == [
        ['<a href="pkg.base.md"><code>pkg.base</code></a>', "Base things."],
        ['<a href="pkg.mod.md"><code>pkg.mod</code></a>', "Shop tools."],
    ]
    assert "[`pkg.mod:helper`](pkg.mod.md#pkg.mod.helper)" in section(out, "## Entry points")
    assert [r[0] for r in table_rows(section(out, "## Dependencies"))[1:]] == [
        "<code>pytest</code>",
        "<code>attrs</code>",
        "<code>rich</code>",
    ]
    assert "- 2 symbols documented from evidence only" in out


def test_architecture_page():
    g = shop_graph()
    add_manifest(g)
    out = render_architecture(g, OVERVIEW)
    assert headings(out) == [
        "# Architecture",
        "## Components",
        "## Relations",
        "## Module dependencies",
        "## Entry points",
        "## Dependencies",
        "### dev (pypi)",
        "### main (pypi)",
        "## CI files",
        "## Skipped files",
    ]
    comp = table_rows(section(out, "## Components"))[1]
    assert comp[1] == "Sells | things."
    assert comp[2] == '<a href="pkg.mod.md"><code>pkg.mod</code></a>, <code>pkg.gone</code>'
    assert module_dependency_diagram(g).rstrip("\n") in out
    assert '["pkg.mod"]' in out and "m1 --> m0" in out
    assert [r[0] for r in table_rows(section(out, "### main (pypi)"))[1:]] == [
        "<code>attrs</code>",
        "<code>rich</code>",
    ]
    assert "- `.github/workflows/ci.yml`" in out
    skipped = table_rows(section(out, "## Skipped files"))
    assert [len(r) for r in skipped] == [3, 3, 3]
    assert html.unescape(skipped[2][0]) == "<code>x|y.py</code>"
    assert "Not parsed: binary 1, too_large 1." in out
    # Without an overview: a neutral summary from the evidence, no model sections.
    bare = render_architecture(g, None)
    assert "## Components" not in bare and "## Relations" not in bare
    assert "2 modules." in bare


# -- determinism --------------------------------------------------------------------------------
def rebuilt_shuffled(g: EvidenceGraph, seed: int) -> EvidenceGraph:
    """The same evidence with nodes and edges inserted in another order."""
    rng = random.Random(seed)
    nodes = list(g.g.nodes(data=True))
    edges = list(g.g.edges(data=True))
    rng.shuffle(nodes)
    rng.shuffle(edges)
    out = EvidenceGraph(g.repo)
    for nid, data in nodes:
        out.add_node(nid, **data)
    for src, dst, data in edges:
        attrs = dict(data)
        out.add_edge(src, dst, attrs.pop("kind"), **attrs)
    out.meta = g.meta
    return out


def render_all(g: EvidenceGraph, records: dict[str, ApiRecord | None]) -> list[str]:
    pages = page_paths(d["qualname"] for d in g.modules())
    return [
        render_module_page(g, "py:pkg.mod", ModuleDoc(summary="Mod."), records),
        render_module_page(g, "py:pkg.base", None, records),
        render_index(g, pages, title="t", overview=OVERVIEW, notes=["n"]),
        render_architecture(g, OVERVIEW),
    ]


def test_identical_input_gives_identical_bytes():
    g = shop_graph()
    add_manifest(g)
    records = {"py:pkg.mod.Shop.add": ADD_RECORD, "py:pkg.mod.helper": None}
    first = render_all(g, records)
    assert render_all(g, records) == first
    for seed in range(3):
        shuffled_records = dict(reversed(list(records.items())))
        assert render_all(rebuilt_shuffled(g, seed), shuffled_records) == first
    assert all(text.endswith("\n") and not text.endswith("\n\n") for text in first)


# -- from a real evidence build -------------------------------------------------------------------
def test_pages_from_build_evidence(tmp_path):
    from pipeline.evidence.builder import BuildOptions, build_evidence

    pkg = tmp_path / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""The shop package."""\n', encoding="utf-8")
    (pkg / "errors.py").write_text("class ShopError(Exception):\n    pass\n", encoding="utf-8")
    (pkg / "core.py").write_text(
        '"""Core <b>logic</b>."""\n'
        "from shop.errors import ShopError\n\n"
        "RATE = 3\n\n"
        "class Cart:\n"
        '    """Holds items."""\n\n'
        "    def __init__(self, owner: str, *, limit: int = 5) -> None:\n"
        "        self.owner = owner\n\n"
        "    async def add(self, sku: str, /, qty: int = 1, *tags: str, **meta) -> int:\n"
        "        if qty < 0:\n"
        "            raise ShopError(sku)\n"
        "        return qty\n",
        encoding="utf-8",
    )
    graph, _ = build_evidence(tmp_path, BuildOptions(use_cache=False, jobs=1))
    mid = graph.id_of("shop.core")
    assert mid is not None
    page = render_module_page(graph, mid, None, {})
    assert "From the source docstring:\n\n> Core &lt;b&gt;logic&lt;/b&gt;." in page
    assert "```python\nclass Cart\n```" in page
    cart = section(page, "### `shop.core.Cart`")
    assert [r[0] for r in table_rows(section(cart, "#### Parameters"))[1:]] == [
        "<code>owner</code>",
        "<code>limit</code>",
    ]
    add = section(page, "#### `shop.core.Cart.add`")
    assert "async def add(sku: str, /, qty: int = 1, *tags: str, **meta) -> int" in add
    assert "- [`ShopError`](shop.errors.md#shop.errors.ShopError)" in section(add, "##### Raises")
    assert "Defined in `shop/core.py:12`" in add
    assert '| <a id="shop.core.RATE"></a>`RATE` |' in page
    diagram = module_dependency_diagram(graph)
    assert '["shop.core"]' in diagram and '["shop.errors"]' in diagram and "-->" in diagram


def test_malformed_evidence_is_rendered_not_raised():
    g = EvidenceGraph()
    g.add_node("m", kind="module", qualname="m", name="m", public=True, docstring=123, file=None)
    g.add_node(
        "m.C", kind="class", qualname="m.C", name="C", public=True, parent="m", extra=None, line_start="x"
    )
    g.add_edge("m", "m.C", CONTAINS)
    g.add_node(
        "m.C.f",
        kind="method",
        qualname="m.C.f",
        name="f",
        language="python",
        public=True,
        parent="m.C",
        params=[{"name": None}, "junk", {"kind": VAR_KEYWORD, "name": "kw"}],
        extra={"raises": "ValueError"},
        decorators="staticmethod",
        returns=7,
    )
    g.add_edge("m.C", "m.C.f", CONTAINS)
    g.add_node(
        "m.C.__init__", kind="method", qualname="m.C.__init__", name="__init__", parent="m.C", params=["junk"]
    )
    g.add_edge("m.C", "m.C.__init__", CONTAINS)
    g.meta = {"entry_points": "x", "skipped": [{"path": None}], "ci_files": "ci.yml", "main_modules": None}
    page = render_module_page(g, "m", None, {"m.C.f": None})
    assert "@staticmethod\ndef f(**kw) -> 7" in page
    assert "- `ValueError`" in page
    assert "## Skipped files" in render_architecture(g, None)
    assert "- `ci.yml`" in render_architecture(g, None)
    assert render_index(g, {"m": "m.md"}, title="", overview=None, notes=[]).startswith("# Reference\n")
