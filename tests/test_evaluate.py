"""``eval``: each metric on tiny hand-built repositories with known answers, and the
docstring parser that turns hand-written docstrings into claims."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.docstrings import PLAIN, detect_style, parse_docstring, record_for_symbol
from pipeline.evaluate import (
    DocsSource,
    add_arguments,
    cmd_eval,
    default_docs,
    evaluate,
    report_metrics,
)
from pipeline.evidence.builder import BuildOptions, build_evidence
from pipeline.evidence.graph import EvidenceGraph


def _repo(tmp: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return tmp


def _graph(repo: Path) -> EvidenceGraph:
    graph, _ = build_evidence(repo, BuildOptions(use_cache=False))
    return graph


BASE = {
    "pkg/__init__.py": '"""The package."""\n',
    "pkg/b.py": '''
        """Module b."""


        def gamma(x):
            """Return ``x``."""
            return x
        ''',
}


# -- existence ----------------------------------------------------------------------------------


def test_existence_three_of_four_identifiers_resolve_in_a_readme(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            **BASE,
            "pkg/a.py": """
                def alpha():
                    pass


                class Beta:
                    pass
                """,
            "README.md": "Use `alpha`, `pkg.b.gamma` and `Beta`; `pkg.b.nothere` does not exist.\n",
        },
    )
    graph = _graph(repo)
    report = evaluate(graph, DocsSource.handwritten(docstrings=False, markdown=[repo / "README.md"]))
    assert (report.existence.numerator, report.existence.denominator) == (3, 4)
    assert report.existence.value == 0.75
    # A README has no file of its own: every repository symbol it names is cross-file, and so
    # is the name that exists nowhere.
    assert (report.existence_cross_file.numerator, report.existence_cross_file.denominator) == (3, 4)
    [text] = report.texts
    assert text.source == "README.md" and text.unresolved == ["pkg.b.nothere"]


def test_existence_per_symbol_and_cross_file_in_docstrings(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            **BASE,
            "pkg/a.py": '''
                def helper():
                    """Help."""


                def alpha():
                    """Call `helper`, then `pkg.b.gamma`, never `pkg.b.delta`."""
                    helper()
                ''',
        },
    )
    graph = _graph(repo)
    report = evaluate(graph, DocsSource.handwritten())
    alpha = next(s for s in report.symbols if s.qualname == "pkg.a.alpha")
    assert (alpha.resolved, alpha.identifiers) == (2, 3)
    assert alpha.unresolved == ["pkg.b.delta"]
    # `helper` is in the same file (local); `pkg.b.gamma` is in another file; the unresolved
    # name counts as cross-file.
    assert (alpha.cross_file_resolved, alpha.cross_file) == (1, 2)
    assert report.existence.numerator == report.existence.denominator - 1


def test_existence_over_generated_pages_follows_symbol_sections(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {**BASE, "pkg/a.py": "def alpha():\n    pass\n\n\ndef beta():\n    pass\n"})
    graph = _graph(repo)
    page = "\n\n".join(
        [
            "# `pkg.a`",
            "## Functions",
            '<a id="pkg.a.alpha"></a>',
            "### `pkg.a.alpha`",
            "Calls `beta` and `pkg.b.gamma`, and `pkg.b.missing`.",
            "> Quoted docstring naming `pkg.b.quoted_missing`.",
            "### `pkg.a.beta`",
            "Calls `alpha`.",
        ]
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pkg.a.md").write_text(page + "\n")
    (docs / "records.json").write_text(json.dumps({"schema_version": 1, "records": {}}))
    report = evaluate(graph, DocsSource.generated(docs))
    by = {s.qualname: s for s in report.symbols}
    assert (by["pkg.a.alpha"].resolved, by["pkg.a.alpha"].identifiers) == (2, 3)
    assert by["pkg.a.alpha"].unresolved == ["pkg.b.missing"]  # the block quote is not a claim
    assert (by["pkg.a.alpha"].cross_file_resolved, by["pkg.a.alpha"].cross_file) == (1, 2)
    assert (by["pkg.a.beta"].resolved, by["pkg.a.beta"].identifiers) == (1, 1)
    # Headings name their sections' subjects: not claims, not counted.
    assert (report.existence.numerator, report.existence.denominator) == (3, 4)


# -- signature fidelity, completeness, coverage ----------------------------------------------------


FIDELITY = {
    **BASE,
    "pkg/f.py": '''
        def both(a, b):
            """Two.

            Args:
                a: The first.
                b: The second.
            """


        def wrong(x):
            """One, misnamed.

            Args:
                y: Not the parameter.
            """


        def none():
            """Takes nothing."""


        def undocumented(a):
            pass


        def _private(a):
            """Not public."""
        ''',
}


def test_signature_fidelity_two_of_three_documented_callables(tmp_path: Path) -> None:
    graph = _graph(_repo(tmp_path, FIDELITY))
    report = evaluate(graph, DocsSource.handwritten())
    by = {s.qualname: s for s in report.symbols}
    assert by["pkg.f.both"].signature_ok is True
    assert by["pkg.f.wrong"].signature_ok is False and by["pkg.f.wrong"].documented_params == ["y"]
    assert by["pkg.f.none"].signature_ok is True
    assert by["pkg.f.undocumented"].signature_ok is None  # not documented: not counted
    # gamma (documents none of its one parameter) is the fourth documented callable.
    assert (report.signature_fidelity.numerator, report.signature_fidelity.denominator) == (2, 4)


def test_coverage_counts_public_symbols_outside_tests(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {**FIDELITY, "tests/test_f.py": "def test_x():\n    pass\n"})
    report = evaluate(_graph(repo), DocsSource.handwritten())
    # both, wrong, none, gamma documented; undocumented not; _private and the test excluded.
    assert (report.coverage.numerator, report.coverage.denominator) == (4, 5)
    assert report.coverage.value == 0.8


COMPLETE = {
    "pkg/__init__.py": "",
    "pkg/c.py": '''
        class Box:
            """A box.

            Attributes:
                size: How big.
            """

            size = 1

            def __init__(self, size):
                self.size = size

            def grow(self, by: int) -> int:
                """Grow.

                Args:
                    by: How much.

                Returns:
                    The new size.

                Raises:
                    ValueError: If negative.

                Examples:
                    >>> Box(1).grow(by=2)
                    3
                """
                if by < 0:
                    raise ValueError(by)
                return self.size + by

            def items(self):
                """Each thing.

                Args:
                    nothing: Misdocumented.
                """
                yield 1
        ''',
}


def test_completeness_sections_present_over_required(tmp_path: Path) -> None:
    report = evaluate(_graph(_repo(tmp_path, COMPLETE)), DocsSource.handwritten())
    by = {s.qualname: s for s in report.symbols}
    # Box: parameters (size, undocumented) and attributes (documented).
    assert by["pkg.c.Box"].sections_required == ["parameters", "attributes"]
    assert by["pkg.c.Box"].sections_present == ["attributes"]
    # grow: everything its code calls for.
    assert by["pkg.c.Box.grow"].sections_required == ["parameters", "returns", "raises", "example"]
    assert by["pkg.c.Box.grow"].sections_present == by["pkg.c.Box.grow"].sections_required
    # items: a generator without parameters: yields and an example, neither present.
    assert by["pkg.c.Box.items"].sections_required == ["yields", "example"]
    assert by["pkg.c.Box.items"].sections_present == []
    assert (report.completeness.numerator, report.completeness.denominator) == (5, 8)


def test_a_dataclass_documents_its_fields_as_attributes(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/d.py": '''
                from dataclasses import dataclass


                @dataclass
                class Point:
                    """A point.

                    Attributes:
                        x: Across.
                        y: Down.
                    """

                    x: int
                    y: int = 0
                ''',
        },
    )
    report = evaluate(_graph(repo), DocsSource.handwritten())
    [point] = report.symbols
    assert point.real_params == ["x", "y"] and point.signature_ok is True
    assert point.sections_present == point.sections_required == ["parameters", "attributes"]


# -- generated docs: records, staleness, in-memory output ------------------------------------------


def _generated(tmp: Path, graph: EvidenceGraph, records: dict[str, dict]) -> Path:
    docs = tmp / "docs" / "reference"
    docs.mkdir(parents=True)
    published = {
        sid: {"qualname": graph.node(sid)["qualname"], "path": "slm_first_pass", "record": rec}
        for sid, rec in records.items()
    }
    (docs / "records.json").write_text(json.dumps({"schema_version": 1, "records": published}))
    (docs / "evidence.json").write_text(graph.to_json())
    return docs


def test_generated_records_give_fidelity_completeness_and_coverage(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path, {**BASE, "pkg/a.py": "def alpha(a, b):\n    return a\n\n\ndef beta():\n    pass\n"}
    )
    graph = _graph(repo)
    docs = _generated(
        tmp_path,
        graph,
        {
            # The schema repairs missing parameters with an empty description: not documented.
            "py:pkg.a.alpha": {
                "summary": "Picks one.",
                "params": [{"name": "a", "description": "The first."}, {"name": "b", "description": ""}],
                "returns": "The first.",
                "examples": ["alpha(a=1, b=2)"],
            },
            "py:pkg.b.gamma": {"summary": "Echoes.", "params": [{"name": "x", "description": "The value."}]},
        },
    )
    report = evaluate(graph, DocsSource.generated(docs))
    by = {s.qualname: s for s in report.symbols}
    assert by["pkg.a.alpha"].signature_ok is False and by["pkg.b.gamma"].signature_ok is True
    assert by["pkg.a.alpha"].sections_present == ["returns", "example"]
    assert (report.coverage.numerator, report.coverage.denominator) == (2, 3)
    assert (report.signature_fidelity.numerator, report.signature_fidelity.denominator) == (1, 2)
    # alpha: 2 of 3 (parameters incomplete); gamma: parameters and returns required, 1 present,
    # and an example.
    assert (report.completeness.numerator, report.completeness.denominator) == (3, 6)
    assert report.staleness is not None and report.staleness.value == 0.0


def test_staleness_changed_and_removed_symbols(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            **BASE,
            "pkg/a.py": "def alpha():\n    return 1\n\n\ndef beta():\n    pass\n\n\ndef delta():\n    pass\n",
        },
    )
    graph = _graph(repo)
    rec = {"summary": "Does it."}
    docs = _generated(tmp_path, graph, {"py:pkg.a.alpha": rec, "py:pkg.a.beta": rec, "py:pkg.a.delta": rec})
    # alpha changes, delta disappears, beta stays as it was (but moves down one line).
    (repo / "pkg/a.py").write_text("\ndef alpha():\n    return 2\n\n\ndef beta():\n    pass\n")
    report = evaluate(_graph(repo), DocsSource.generated(docs))
    assert report.staleness is not None
    assert (report.staleness.numerator, report.staleness.denominator) == (2, 3)
    by = {s.qualname: s for s in report.symbols}
    assert by["pkg.a.alpha"].stale is True and by["pkg.a.beta"].stale is False
    assert any("has no `hash` per record" in n for n in report.notes)
    assert any("anchors moved" in n for n in report.notes)


def test_staleness_prefers_the_hash_of_the_record(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {**BASE, "pkg/a.py": "def alpha():\n    return 1\n"})
    graph = _graph(repo)
    docs = tmp_path / "out"
    docs.mkdir()
    records = {
        "py:pkg.a.alpha": {"qualname": "pkg.a.alpha", "hash": "0000", "record": {"summary": "Does it."}},
        "py:pkg.b.gamma": {
            "qualname": "pkg.b.gamma",
            "hash": graph.node("py:pkg.b.gamma")["hash"],
            "record": {"summary": "Echoes."},
        },
    }
    (docs / "records.json").write_text(json.dumps({"schema_version": 1, "records": records}))
    report = evaluate(graph, DocsSource.generated(docs))
    assert report.staleness is not None
    assert (report.staleness.numerator, report.staleness.denominator) == (1, 2)


def test_report_metrics_on_an_in_memory_run_output(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {**BASE, "pkg/a.py": "def alpha(a):\n    return a\n"})
    graph = _graph(repo)
    files = {
        "records.json": json.dumps(
            {
                "schema_version": 1,
                "records": {
                    "py:pkg.a.alpha": {"record": {"summary": "Uses `pkg.b.gamma` and `pkg.b.nope`."}},
                },
            }
        ).encode(),
        "evidence.json": graph.to_json().encode(),
        "pkg.a.md": b"# `pkg.a`\n\n### `pkg.a.alpha`\n\nUses `pkg.b.gamma` and `pkg.b.nope`.\n",
    }
    figures = report_metrics(graph, files)
    assert figures["existence_ratio"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert figures["coverage"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert figures["staleness"]["value"] == 0.0
    json.dumps(figures)  # ready for report.json


def test_report_serialises_and_renders(tmp_path: Path) -> None:
    from rich.console import Console

    graph = _graph(_repo(tmp_path, FIDELITY))
    report = evaluate(graph, DocsSource.handwritten())
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data["metrics"]) == {
        "existence_ratio",
        "existence_ratio_cross_file",
        "signature_fidelity",
        "completeness",
        "coverage",
        "staleness",
    }
    assert data["metrics"]["staleness"] is None  # not measured for hand-written docs
    assert {s["qualname"] for s in data["symbols"]} >= {"pkg.f.both", "pkg.f.undocumented"}
    console = Console(record=True, width=120)
    console.print(report.to_table())
    shown = console.export_text()
    assert "signature fidelity" in shown and "50.0%" in shown and "2 / 4" in shown


def test_unreadable_or_odd_inputs_never_raise(tmp_path: Path) -> None:
    graph = _graph(_repo(tmp_path, BASE))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "records.json").write_text("{not json")
    (docs / "evidence.json").write_text('{"nodes": 3}')
    (docs / "page.md").write_bytes(b"\xff\xfe `pkg.b.gamma` ``` unclosed")
    report = evaluate(graph, DocsSource.generated(docs))
    assert any("not a records file" in n for n in report.notes)
    report = evaluate(graph, DocsSource.handwritten(markdown=[tmp_path / "missing.md"]))
    assert any("cannot read" in n for n in report.notes)


# -- default docs and the command line ------------------------------------------------------------


def test_default_docs_prefers_generated_reference(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {**BASE, "README.md": "# readme\n"})
    docs = default_docs(repo)
    assert docs.kind == "handwritten" and docs.docstrings and docs.markdown == (repo / "README.md",)
    (repo / "docs" / "reference").mkdir(parents=True)
    (repo / "docs" / "reference" / "records.json").write_text("{}")
    assert default_docs(repo).kind == "generated"
    other = repo / "guide"
    other.mkdir()
    (other / "a.md").write_text("x")
    assert default_docs(repo, other).markdown == (other / "a.md",)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cmd_eval_prints_json_and_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path, {**FIDELITY, "README.md": "Uses `pkg.f.both` and `pkg.f.gone`.\n"})
    assert cmd_eval(_args(str(repo), "--json", "--no-cache")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "handwritten"
    assert data["metrics"]["signature_fidelity"]["denominator"] == 4
    assert "pkg.f.gone" in next(t for t in data["texts"] if t["source"] == "README.md")["unresolved"]
    assert cmd_eval(_args(str(repo), "--no-cache")) == 0
    assert "coverage" in capsys.readouterr().out


def test_cmd_eval_missing_docs_is_a_usage_error(tmp_path: Path) -> None:
    from pipeline.cli import UsageError

    repo = _repo(tmp_path, BASE)
    with pytest.raises(UsageError):
        cmd_eval(_args(str(repo), "--docs", str(tmp_path / "nowhere")))


# -- docstrings -----------------------------------------------------------------------------------


GOOGLE = """Take units out.

Args:
    sku: The item's SKU.
    *items: More.

Returns:
    The item.

Raises:
    ValueError: If ``quantity`` is less than 1.

Examples:
    >>> ship("A")
    1
"""

NUMPY = """Do a thing with :func:`~json.dumps` and :class:`Decoder <json.JSONDecoder>`.

Parameters
----------
x : int
    The x.

Yields
------
int
    Numbers.
"""

SPHINX = """Do a thing.

:param x: The x.
:type x: int
:returns: The result.
:raises KeyError: If missing.
"""


def test_parse_google_numpy_and_sphinx() -> None:
    g = parse_docstring(GOOGLE)
    assert g.style == "google" and g.summary == "Take units out."
    assert [(p.name, p.description) for p in g.params] == [("sku", "The item's SKU."), ("*items", "More.")]
    assert g.returns == "The item." and [r.exception for r in g.raises] == ["ValueError"]
    assert g.examples == ['>>> ship("A")\n1']
    n = parse_docstring(NUMPY)
    assert n.style == "numpy" and [p.name for p in n.params] == ["x"] and n.yields == "Numbers."
    # reST roles become code spans the validator reads.
    assert n.summary == "Do a thing with `json.dumps` and `json.JSONDecoder`."
    s = parse_docstring(SPHINX)
    assert s.style == "sphinx" and [p.name for p in s.params] == ["x"]
    assert s.returns == "The result." and [r.exception for r in s.raises] == ["KeyError"]
    assert s.to_api_record().params[0].description == "The x."


def test_plain_rest_literal_blocks_and_doctests() -> None:
    doc = parse_docstring(
        "Serialize ``obj``.\n\nExample::\n\n    made_up.call()\n\n"
        ">>> import json\n>>> json.dumps(1)\n'1'\n\nDone."
    )
    assert doc.style == PLAIN and doc.summary == "Serialize ``obj``."
    assert "```text\nmade_up.call()\n```" in doc.description  # quoted code, not a claim
    assert doc.examples == [">>> import json\n>>> json.dumps(1)\n'1'"]
    assert "Done." in doc.description and ">>>" not in doc.description


def test_detect_style() -> None:
    assert detect_style(GOOGLE) == "google"
    assert detect_style(NUMPY) == "numpy"
    assert detect_style(SPHINX) == "sphinx"
    assert detect_style("Just words.\n\nMore words.") == PLAIN


def test_class_docstring_takes_constructor_parameters_from_init(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/k.py": '''
                class K:
                    """A thing."""

                    def __init__(self, size):
                        """Make one.

                        Parameters
                        ----------
                        size : int
                            How big.
                        """
                ''',
        },
    )
    record = record_for_symbol(_graph(repo), "py:pkg.k.K")
    assert record is not None and record.summary == "A thing." and [p.name for p in record.params] == ["size"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.sampled_from([GOOGLE, NUMPY, SPHINX]).map(lambda s: s[: len(s) // 2]))
def test_parse_docstring_never_raises(text: str) -> None:
    doc = parse_docstring(text)
    doc.to_api_record()
    assert doc.style in ("google", "numpy", "sphinx", PLAIN)


def test_raises_is_required_for_an_exception_class_not_for_a_re_raised_variable(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        {
            "pkg/__init__.py": '"""The package."""\n',
            "pkg/r.py": '''
                """Module r."""
                import json


                def strict(text):
                    """Parse."""
                    raise json.JSONDecodeError("bad", text, 0)


                def relay(err):
                    """Pass an error on."""
                    raise err
                ''',
        },
    )
    by = {s.qualname: s for s in evaluate(_graph(repo), DocsSource.handwritten()).symbols}
    assert by["pkg.r.strict"].sections_required == ["parameters", "raises", "example"]
    assert by["pkg.r.relay"].sections_required == ["parameters", "example"]
