"""Every edge of the agent graph, driven by scripted chat models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.graph.build import pipeline_graph, task_graph
from pipeline.runner import RunOptions, execute, publish
from tests.fakes import ScriptedChat

MINI = {
    "pyproject.toml": '[project]\nname = "mini"\nversion = "1.0"\ndependencies = ["requests>=2"]\n',
    "src/mini/__init__.py": (
        '"""Mini package."""\nfrom .core import Parser, add\n\n__all__ = ["Parser", "add"]\n'
    ),
    "src/mini/core.py": '''"""Core helpers."""


class ParseError(ValueError):
    """Raised when parsing fails."""


def add(a: int, b: int = 1) -> int:
    """Add two numbers."""
    return a + b


def check(text: str) -> None:
    if not text:
        raise ParseError("empty")


class Parser:
    """Parses text."""

    def __init__(self, strict: bool = False):
        self.strict = strict

    def parse(self, text: str) -> list[str]:
        check(text)
        return text.split()
''',
}

GOOD = {
    "repository": {
        "summary": "The mini package adds numbers and parses text.",
        "components": [{"name": "core", "modules": ["mini.core"], "role": "Helpers for numbers and text."}],
        "relations": [{"source": "mini", "target": "mini.core", "description": "re-exports the helpers"}],
    },
    "mini.core.add": {
        "summary": "Adds `a` and `b`.",
        "params": {"a": "The first number.", "b": "The second number."},
        "returns": "The sum.",
        "examples": ["add(1, b=2)"],
    },
    "mini.core.check": {
        "summary": "Checks that `text` is not empty.",
        "params": {"text": "The text to check."},
        "raises": [{"exception": "ParseError", "when": "the text is empty"}],
    },
    "mini.core.ParseError": {"summary": "The error raised when parsing fails."},
    "mini.core.Parser": {"summary": "Splits text into words.", "params": {"strict": "Whether to be strict."}},
    "mini.core.Parser.parse": {
        "summary": "Splits `text` into words after calling `check`.",
        "params": {"text": "The text to split."},
        "returns": "The words.",
        "raises": [{"exception": "ParseError", "when": "the text is empty"}],
    },
    "mini.core": {"summary": "Helpers: `add` adds numbers and `Parser` splits text."},
    "mini": {"summary": "The package re-exports `add` and `Parser`."},
}

BAD_ADD = {
    "summary": "Adds numbers with `mini.core.multiply`.",
    "params": {"a": "The first number.", "c": "An invented parameter."},
    "returns": "The sum.",
}


def make_repo(root: Path) -> Path:
    for rel, text in MINI.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def good_script(subject, attempt, messages):
    return GOOD[subject]


def run(tmp_path: Path, slm, llm=None, **kw):
    repo = make_repo(tmp_path / "mini")
    result = execute(
        RunOptions(
            repo=repo, out=tmp_path / "out", slm_model=slm, llm_model=llm, cache_dir=tmp_path / "cache", **kw
        )
    )
    return result


def task_of(result, qualname):
    for r in result.state["records"].values():
        if r["subject"].endswith(qualname) and result.graph.node(r["subject"])["qualname"] == qualname:
            return r
    raise KeyError(qualname)


def test_first_pass_accepts_valid_answers(tmp_path):
    slm = ScriptedChat(good_script)
    result = run(tmp_path, slm, ScriptedChat(good_script))
    report = result.report
    assert report["tasks"]["slm_first_pass"] == report["symbols_total"] + 1 + len(result.state["pages"])
    assert (
        report["tasks"]["slm_retry"] == report["tasks"]["llm_escalated"] == report["tasks"]["unresolved"] == 0
    )
    assert report["slm_share"] == 1.0
    assert report["published_findings"] == []
    page = result.files[next(p for p in result.files if p.endswith("mini.core.md"))].decode()
    assert "Adds `a` and `b`." in page
    assert "def add(a: int, b: int = 1) -> int" in page  # signature from the evidence


def test_retry_with_findings_then_accept(tmp_path):
    def script(subject, attempt, messages):
        if subject == "mini.core.add" and attempt == 0:
            return BAD_ADD
        return GOOD[subject]

    slm = ScriptedChat(script)
    llm = ScriptedChat(good_script)
    result = run(tmp_path, slm, llm)
    rec = task_of(result, "mini.core.add")
    assert rec["path"] == "slm_retry"
    rules = {f["rule"] for f in rec["findings_before"]}
    assert {"unknown-identifier", "param-unknown", "param-missing"} <= rules
    # The retry prompt carried the findings, and the LLM was never asked.
    retry_msgs = next(m for s, a, m in slm.seen if s == "mini.core.add" and a == 1)
    assert "param-unknown" in retry_msgs[-1].content
    assert llm.calls_for("mini.core.add") == 0
    assert result.report["tasks"]["slm_retry"] == 1


def test_escalation_to_llm(tmp_path):
    def script(subject, attempt, messages):
        return BAD_ADD if subject == "mini.core.add" else GOOD[subject]

    slm = ScriptedChat(script)
    llm = ScriptedChat(good_script)
    result = run(tmp_path, slm, llm)
    rec = task_of(result, "mini.core.add")
    assert rec["path"] == "llm_escalated"
    assert [a["node"] for a in rec["attempts"]] == ["slm_first_pass", "slm_retry", "llm_escalated"]
    assert slm.calls_for("mini.core.add") == 2 and llm.calls_for("mini.core.add") == 1
    assert result.report["tasks"]["llm_escalated"] == 1
    assert result.report["model_calls"]["custom-llm"] == 1
    # Neither the retry nor the escalation shows the model the failed answer to copy: the facts,
    # then what failed.
    first = next(m for s, a, m in slm.seen if s == "mini.core.add" and a == 0)
    retry = next(m for s, a, m in slm.seen if s == "mini.core.add" and a == 1)
    escalation = next(m for s, a, m in llm.seen if s == "mini.core.add")
    for asked in (retry, escalation):
        assert [type(m).__name__ for m in asked] == ["SystemMessage", "HumanMessage"]
        text = asked[1].content
        assert "An invented parameter." not in text and "Adds numbers with" not in text
        assert "[param-unknown]" in text and "def add(a: int, b: int = 1) -> int" in text
        assert text.startswith(first[1].content.split("\n", 1)[0])  # the same facts come first
        assert asked[0].content == first[0].content


def test_unresolved_publishes_only_validated_parts(tmp_path):
    def script(subject, attempt, messages):
        if subject == "mini.core.add":
            return {**GOOD["mini.core.add"], "description": "It delegates to `mini.core.multiply`."}
        return GOOD[subject]

    result = run(tmp_path, ScriptedChat(script), ScriptedChat(script))
    rec = task_of(result, "mini.core.add")
    assert rec["path"] == "unresolved"
    assert rec["dropped"] == ["description"]
    assert rec["output"]["summary"] == "Adds `a` and `b`."
    page = next(v for k, v in result.files.items() if k.endswith("mini.core.md")).decode()
    assert "multiply" not in page
    assert any(u["subject"] == rec["subject"] for u in result.report["unresolved"])
    assert result.report["published_findings"] == []


def test_unresolved_without_llm_and_invalid_json(tmp_path):
    def script(subject, attempt, messages):
        return "this is not JSON {" if subject == "mini.core.add" else GOOD[subject]

    slm = ScriptedChat(script)
    result = run(tmp_path, slm, None)
    rec = task_of(result, "mini.core.add")
    assert rec["path"] == "unresolved"
    assert rec["output"] is None
    assert {f["rule"] for f in rec["findings_before"]} == {"invalid-output"}
    assert slm.calls_for("mini.core.add") == 2  # first pass and one retry, no LLM to escalate to
    page = next(v for k, v in result.files.items() if k.endswith("mini.core.md")).decode()
    assert "def add(a: int, b: int = 1) -> int" in page  # evidence-derived parts still published


def test_model_exception_is_a_failed_call_not_a_crash(tmp_path):
    def script(subject, attempt, messages):
        if subject == "mini.core.check":
            return RuntimeError("model crashed")
        return GOOD[subject]

    result = run(tmp_path, ScriptedChat(script), ScriptedChat(script))
    assert task_of(result, "mini.core.check")["path"] == "unresolved"
    assert result.report["models_detail"]["custom-slm"]["failed"] >= 2


def test_callees_are_documented_first_and_given_as_context(tmp_path):
    order: list[str] = []

    def script(subject, attempt, messages):
        order.append(subject)
        return GOOD[subject]

    slm = ScriptedChat(script)
    run(tmp_path, slm, None)
    assert order.index("mini.core.check") < order.index("mini.core.Parser.parse")
    parse_prompt = next(m for s, a, m in slm.seen if s == "mini.core.Parser.parse")[1].content
    assert "`mini.core.check`: Checks that `text` is not empty." in parse_prompt


def test_evidence_only_profile_makes_no_calls(tmp_path):
    repo = make_repo(tmp_path / "mini")
    result = execute(
        RunOptions(repo=repo, out=tmp_path / "out", profile="evidence-only", cache_dir=tmp_path / "c")
    )
    assert result.report["profile"] == "evidence-only"
    assert result.report["model_calls"] == {}
    assert result.report["tasks"]["evidence_only"] == result.report["symbols_total"] + 1 + len(
        result.state["pages"]
    )
    assert b"Written from the evidence alone" in result.files["index.md"]


def test_publish_writes_only_inside_out(tmp_path):
    result = run(tmp_path, ScriptedChat(good_script))
    written = publish(result)
    out = (tmp_path / "out").resolve()
    assert written and all(p.resolve().is_relative_to(out) for p in written)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["pages"]) <= {p.name for p in out.iterdir()}


def test_graphs_draw_as_mermaid_without_network():
    main = pipeline_graph().get_graph().draw_mermaid()
    task = task_graph().get_graph().draw_mermaid()
    for edge in ("plan -.-> api_task", "next_level -.-> module_docs", "structure --> plan"):
        assert edge in main
    for edge in ("validate -.-> slm_retry", "validate -.-> llm_escalate", "validate -.-> unresolved"):
        assert edge in task


@pytest.mark.parametrize(
    ("findings", "attempt", "has_llm", "expected"),
    [
        ([], 0, True, "accept"),
        ([{"severity": "warning"}], 1, True, "accept"),
        ([{"severity": "error"}], 0, True, "slm_retry"),
        ([{"severity": "error"}], 1, True, "llm_escalate"),
        ([{"severity": "error"}], 1, False, "unresolved"),
        ([{"severity": "error"}], 2, True, "unresolved"),
    ],
)
def test_route_after_validation(findings, attempt, has_llm, expected):
    from pipeline.graph.routing import route_after_validation

    state = {"findings": findings, "attempt": attempt, "has_llm": has_llm, "output": {"summary": "x"}}
    assert route_after_validation(state) == expected


def test_findings_of_every_attempt_are_kept(tmp_path):
    def script(subject, attempt, messages):
        return BAD_ADD if subject == "mini.core.add" else GOOD[subject]

    result = run(tmp_path, ScriptedChat(script), ScriptedChat(good_script))
    rec = task_of(result, "mini.core.add")
    by_attempt = rec["findings_by_attempt"]
    assert [v["node"] for v in by_attempt] == ["slm_first_pass", "slm_retry", "llm_escalated"]
    assert any(f["rule"] == "param-unknown" for f in by_attempt[1]["findings"])  # why it escalated
    assert by_attempt[2]["findings"] == []


def test_exceptions_the_code_raises_are_listed_even_when_the_answer_leaves_them_out(tmp_path):
    def script(subject, attempt, messages):
        answer = dict(GOOD[subject])
        if subject == "mini.core.check":
            answer.pop("raises")  # valid without it: raises is not a required field
        return answer

    result = run(tmp_path, ScriptedChat(script), ScriptedChat(script))
    assert result.report["published_findings"] == []
    check = task_of(result, "mini.core.check")
    assert check["path"] == "slm_first_pass"
    assert check["output"]["raises"] == [{"exception": "ParseError", "when": ""}]
    # An answer that lists it keeps its own words; nothing is added twice.
    parse = task_of(result, "mini.core.Parser.parse")
    assert parse["output"]["raises"] == [{"exception": "ParseError", "when": "the text is empty"}]
    page = result.files[next(p for p in result.files if p.endswith("mini.core.md"))].decode()
    assert "#### Raises\n\n- [`ParseError`](#mini.core.ParseError)\n\n" in page  # no condition, no colon
    assert "- [`ParseError`](#mini.core.ParseError): the text is empty" in page


def test_unresolved_falls_back_to_an_earlier_answer_when_the_last_keeps_nothing(tmp_path):
    def script(subject, attempt, messages):
        if subject != "mini.core.add":
            return GOOD[subject]
        if attempt == 0:  # a good summary, an invented call in the description
            return {**GOOD["mini.core.add"], "description": "It delegates to `mini.core.multiply`."}
        return {**GOOD["mini.core.add"], "summary": "Adds numbers with `mini.core.multiply`."}

    slm, llm = ScriptedChat(script), ScriptedChat(script)
    result = run(tmp_path, slm, llm)
    rec = task_of(result, "mini.core.add")
    assert rec["path"] == "unresolved"
    assert slm.calls_for("mini.core.add") == 2 and llm.calls_for("mini.core.add") == 1
    # The retry and the escalation invented a function in the summary: nothing of theirs
    # validates. The first pass's summary does, without its description.
    assert rec["output"]["summary"] == "Adds `a` and `b`."
    assert rec["dropped"] == ["description"]
    page = next(v for k, v in result.files.items() if k.endswith("mini.core.md")).decode()
    assert "multiply" not in page and "Adds `a` and `b`." in page
    assert result.report["published_findings"] == []
