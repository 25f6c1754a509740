"""Finding what prose and Markdown refer to: names, paths, code blocks, links, URLs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.agents import refs
from pipeline.agents.refs import CODE, FILE, FILE_OR_IDENTIFIER, IDENTIFIER, PROSE, CodeBlock, Ref


def found(text: str) -> list[tuple[str, str, str]]:
    return [(r.kind, r.value, r.origin) for r in refs.references(text)]


# -- fences and spans ---------------------------------------------------------------------------


def test_split_fences_keeps_line_numbers() -> None:
    text = "intro `a`\n```python\nx = 1\n```\nafter `b`\n~~~\nraw\n"
    prose, blocks = refs.split_fences(text)
    assert blocks == [CodeBlock("python", "x = 1", 2), CodeBlock("", "raw\n", 6)]  # unclosed: to the end
    assert prose.split("\n") == ["intro `a`", "", "", "", "after `b`", "", "", ""]


def test_fence_needs_a_matching_closer() -> None:
    text = "````md\n```\ninner\n```\n````\nout"
    _, blocks = refs.split_fences(text)
    assert blocks == [CodeBlock("md", "```\ninner\n```", 1)]
    # A backtick fence whose info string has a backtick is not a fence.
    assert refs.split_fences("``` a`b\ncode")[1] == []


def test_code_spans_follow_commonmark() -> None:
    assert refs.code_spans("a `x` b ``y ` z`` c") == [("x", 1), ("y ` z", 1)]
    assert refs.code_spans("unmatched ``` tick `and` more") == [("and", 1)]
    assert refs.code_spans("line1\n`one`\n\\`not `two`") == [("one", 2), ("two", 3)]
    assert refs.mask_code_spans("a `bc` d") == "a      d"


def test_strip_doctest_and_unfence() -> None:
    code = ">>> x = f(1)\n>>> for i in x:\n...     print(i)\n1\n2"
    assert refs.strip_doctest(code) == "x = f(1)\nfor i in x:\n    print(i)\n\n"
    assert refs.strip_doctest("x = 1\n") == "x = 1\n"
    assert refs.unfence("```py\nf()\n```") == ("py", "f()")
    assert refs.unfence("f()") == (None, "f()")


def test_urls_and_links() -> None:
    text = "See https://a.example/x.y, and www.example.org. [docs](docs/guide.md#top) `[no](x.py)`"
    assert refs.urls(text) == ["https://a.example/x.y", "www.example.org"]
    assert refs.links(text) == [("docs/guide.md#top", 1)]


# -- classification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ("Foo", (IDENTIFIER, "Foo")),
        ("pkg.mod.func()", (IDENTIFIER, "pkg.mod.func")),
        ("Store.get(key, default=None)", (IDENTIFIER, "Store.get")),
        ("@audited", (IDENTIFIER, "audited")),
        ("*args", (IDENTIFIER, "args")),
        ("**kwargs", (IDENTIFIER, "kwargs")),
        ("pkg.cli:main", (IDENTIFIER, "pkg.cli.main")),
        ("src/pkg/mod.py", (FILE, "src/pkg/mod.py")),
        ("./src/pkg/mod.py:42", (FILE, "src/pkg/mod.py")),
        ("pyproject.toml", (FILE, "pyproject.toml")),
        ("setup.py", (FILE, "setup.py")),
        ("Makefile", (IDENTIFIER, "Makefile")),
        ("docs/", (FILE, "docs/")),
        ("go.mod", (FILE, "go.mod")),
        ("config.json", (FILE_OR_IDENTIFIER, "config.json")),
        ("None", None),
        ("True", None),
        ("42", None),
        ("3.14", None),
        ("'text'", None),
        ('"main"', None),
        ("x + 1", None),
        ("dict[str, int]", None),
        ("pip install pkg", None),
        ("--verbose", None),
        ("$HOME", None),
        ("~/.config/app.toml", None),
        ("https://example.com/a.py", None),
        ("return", None),
        ("a = 1", None),
        ("", None),
    ],
)
def test_classify(span: str, expected: tuple[str, str] | None) -> None:
    assert refs.classify(span) == expected


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("snake_case", True),
        ("_private", True),
        ("CamelCase", True),
        ("Warehouse", True),
        ("camelCase", True),
        ("pkg.mod", True),
        ("make", False),
        ("pytest", False),
        ("JSON", False),
        ("MAX_SIZE", False),
    ],
)
def test_looks_like_code(name: str, code: bool) -> None:
    assert refs.looks_like_code(name) is code


def test_is_identifier() -> None:
    assert refs.is_identifier("a.b_c.D1")
    assert not refs.is_identifier("a..b")
    assert not refs.is_identifier("a.class")
    assert not refs.is_identifier("1a")


# -- references in prose -----------------------------------------------------------------------------


def test_references_in_backticks_and_prose() -> None:
    text = (
        "Call `Store.get()` or helper_fn(); see pkg.store.Store and src/pkg/store.py.\n"
        "Words like item(s), e.g. and Node.js are prose; so is f(x). Foo(x=1) is a call.\n"
        "```python\nnot_a_ref()\n```\n"
    )
    assert found(text) == [
        (IDENTIFIER, "Store.get", CODE),
        (IDENTIFIER, "helper_fn", PROSE),
        (IDENTIFIER, "Foo", PROSE),
        (IDENTIFIER, "pkg.store.Store", PROSE),
        (FILE, "src/pkg/store.py", PROSE),
    ]


def test_references_carry_their_line() -> None:
    got = refs.references("one\n\ntwo `A.b` three\n")
    assert got == [Ref(IDENTIFIER, "A.b", "A.b", 3, CODE)]


def test_names_in_urls_links_and_emails_are_not_prose_references() -> None:
    text = "Mail dev.team@mail.example.org, open https://x.example/pkg.mod.func() or [it](pkg/mod.py)."
    assert found(text) == []


def test_prose_file_names_need_a_strong_extension_or_a_folder() -> None:
    assert found("Edit setup.py and read README.md or llama.cpp.") == [(FILE, "setup.py", PROSE)]


# -- robustness ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab_.`/()[]<>#@:*-\n >|~'\"=,!")), max_size=200))
def test_no_input_raises(text: str) -> None:
    for ref in refs.references(text):
        assert ref.kind in (IDENTIFIER, FILE, FILE_OR_IDENTIFIER)
        assert ref.line >= 1
    refs.links(text)
    refs.urls(text)
    refs.code_blocks(text)
    refs.strip_doctest(text)
    refs.unfence(text)
    refs.classify(text)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_is_handled(text: str) -> None:
    prose, blocks = refs.split_fences(text)
    assert prose.count("\n") == text.count("\n")
    assert all(isinstance(b, CodeBlock) for b in blocks)
    refs.references(text)


@pytest.mark.parametrize(
    "text",
    ["[a](" * 30000, "[" * 60000, "a." * 40000, "a@" * 40000, "`" * 30000 + "x", "a/" * 40000, "<a " * 30000],
)
def test_pathological_inputs_stay_linear(text: str) -> None:
    import time

    started = time.perf_counter()
    refs.references(text)
    refs.links(text)
    refs.urls(text)
    assert time.perf_counter() - started < 5
