"""Model faults through a whole run: a real ``ChatOllama`` against the stand-in Ollama server.

Each failure of the model backend (unreachable, reset mid-answer, timeout, HTTP 5xx, model missing,
truncated or invalid JSON, an answer in the wrong shape, an answer that never ends) must be routed
(retry, escalation, unresolved) and recorded in the report, never crash the run, and never leave
a partial page: every page still renders in full from the evidence.

This is a contract test against ``tests/fake_ollama.py``, not a run against Ollama itself.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipeline.graph.context import Settings
from pipeline.models import calls as model_calls
from pipeline.models.profiles import build_chat_model
from pipeline.models.spec import parse_spec
from pipeline.runner import RunOptions, RunResult, execute, publish
from tests.fake_ollama import FakeOllama
from tests.fakes import ScriptedChat

SLM = "qwen2.5-coder:1.5b"
LLM = "qwen2.5-coder:7b"
TIMEOUT = 0.5
SOURCE = '''"""Arithmetic helpers."""


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''
SIGNATURE = "def add(a: int, b: int) -> int"
STRUCTURE = {"summary": "A single module of arithmetic helpers.", "components": [], "relations": []}
API = {
    "summary": "Adds two integers.",
    "params": {"a": "The first integer to add.", "b": "The second integer to add."},
    "returns": "The sum of the two integers.",
}
MODULE = {"summary": "The module `mod` provides `add`, which adds two integers."}


def answer(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("answer", {"content": json.dumps(data)})


GOOD_API = answer(API)
RESET = ("fault", {"kind": "reset", "content": json.dumps(API)})
HTTP_503 = ("fault", {"kind": "status", "status": 503, "message": "overloaded"})
SLOW = ("fault", {"kind": "slow", "delay": 3.0, "content": json.dumps(API)})
ENDLESS = ("fault", {"kind": "trickle", "delay": 0.35, "content": '{"summary": "' + "and more " * 50 + '"}'})
TRUNCATED = ("answer", {"content": '{"summary": "Adds tw', "done_reason": "length"})
MAX_TOKENS = ("answer", {"content": '{"summary": "' + "very " * 400, "done_reason": "length"})
INVALID_JSON = ("answer", {"content": "Sure! Here is the JSON you asked for: summary = adds"})
WRONG_SCHEMA = ("answer", {"content": json.dumps({"summary": "Adds two integers.", "colour": "blue"})})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ollama_chat(tag: str, url: str) -> Any:
    return build_chat_model(parse_spec(f"ollama:{tag}", ollama_host=url), {"timeout_s": TIMEOUT})


@dataclass
class Outcome:
    result: RunResult
    out: Path
    sleeps: list[float] = field(default_factory=list)

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.out / "report.json").read_text(encoding="utf-8"))

    def task(self, qualname: str) -> dict[str, Any]:
        sid = self.result.graph.id_of(qualname)
        return self.result.state["records"][sid] if qualname == "mod.add" else self.result.state["pages"][sid]

    def calls(self, qualname: str) -> list[dict[str, Any]]:
        sid = self.result.graph.id_of(qualname)
        return [c for c in self.result.state["calls"] if c["subject"] == sid]


def run_with(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    api_script: list[tuple[str, dict[str, Any]]],
    *,
    slm_url: str | None = None,
    llm_tag: str = LLM,
    llm_url: str | None = None,
    models: tuple[str, ...] = (SLM, LLM),
) -> Outcome:
    """One run on a one-function repository: the structure task and the module page get good
    answers, the API task of ``mod.add`` gets ``api_script`` (in the order the server is asked)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "mod.py").write_text(SOURCE, encoding="utf-8")
    sleeps: list[float] = []
    # Retry back-off is recorded, not waited for: the test is about routing, not wall time.
    monkeypatch.setattr(model_calls.time, "sleep", sleeps.append)
    with FakeOllama(models=list(models), lifetime_s=60) as server:
        for kind, kw in [answer(STRUCTURE), *api_script, answer(MODULE)]:
            if kind == "answer":
                server.answer(kw["content"], done_reason=kw.get("done_reason", "stop"))
            else:
                options = dict(kw)
                server.fault(options.pop("kind"), **options)
        slm = ollama_chat(SLM, slm_url or server.url)
        llm = ollama_chat(llm_tag, llm_url or server.url)
        out = tmp_path / "out"
        result = execute(
            RunOptions(
                repo=repo,
                out=out,
                cache_dir=tmp_path / "cache",
                slm=f"ollama:{SLM}",
                llm=f"ollama:{llm_tag}",
                slm_model=slm,
                llm_model=llm,
                jobs=1,
                settings=Settings(timeout_s=TIMEOUT, retries=1),
            )
        )
        publish(result)
    outcome = Outcome(result, out, sleeps)
    assert_pages_render_in_full(outcome)
    return outcome


def assert_pages_render_in_full(outcome: Outcome) -> None:
    """Whatever the models did, every page is there and complete from the evidence."""
    files = sorted(p.name for p in outcome.out.iterdir())
    assert files == sorted([".pipeline-manifest.json", *outcome.result.files])
    page = (outcome.out / "mod.md").read_text(encoding="utf-8")
    assert page.startswith("[Index](index.md)")
    assert SIGNATURE in page and "Defined in `mod.py:4`" in page
    assert "| `a` | `int` |" in page and "| `b` | `int` |" in page
    assert "[`mod`](mod.md)" in (outcome.out / "index.md").read_text(encoding="utf-8")
    assert outcome.report["published_findings"] == []


def slm_detail(outcome: Outcome) -> dict[str, Any]:
    return outcome.report["models_detail"][f"ollama:{SLM}"]


# -- faults the SLM recovers from within the call (transport retries) ----------------------------------
@pytest.mark.parametrize(
    ("fault", "kind"),
    [(HTTP_503, "http"), (RESET, "transport"), (SLOW, "timeout")],
    ids=["http-503", "reset-mid-answer", "timeout"],
)
def test_one_transport_fault_is_retried_within_the_call(tmp_path, monkeypatch, fault, kind):
    outcome = run_with(tmp_path, monkeypatch, [fault, GOOD_API])
    task = outcome.task("mod.add")
    assert task["path"] == "slm_first_pass"
    (call,) = outcome.calls("mod.add")
    assert call["attempts"] == 2 and call["error"] is None
    assert slm_detail(outcome)["failed"] == 0
    assert outcome.sleeps == [0.5]
    assert "Adds two integers." in (outcome.out / "mod.md").read_text(encoding="utf-8")


# -- faults that fail the SLM call and route the task to the SLM retry ----------------------------------
@pytest.mark.parametrize(
    ("script", "kind", "message"),
    [
        ([HTTP_503, HTTP_503], "http", "HTTP 503 overloaded"),
        ([RESET, RESET], "transport", "connection to http://127.0.0.1"),
        ([SLOW, SLOW], "timeout", "timeout after 0.5s"),
        ([ENDLESS, ENDLESS], "timeout", "timeout after 0.5s"),
        ([TRUNCATED], "truncated", "truncated answer (finish_reason=length)"),
        ([MAX_TOKENS], "truncated", "truncated answer (finish_reason=length)"),
        ([INVALID_JSON], "invalid_json", "invalid JSON: "),
    ],
    ids=[
        "http-503",
        "reset",
        "timeout",
        "endless-by-timeout",
        "truncated-json",
        "endless-by-max-tokens",
        "invalid-json",
    ],
)
def test_a_failed_slm_call_is_retried_on_the_slm_with_the_finding(
    tmp_path, monkeypatch, script, kind, message
):
    outcome = run_with(tmp_path, monkeypatch, [*script, GOOD_API])
    task = outcome.task("mod.add")
    assert task["path"] == "slm_retry"
    assert [a["node"] for a in task["attempts"]] == ["slm_first_pass", "slm_retry"]
    assert [a["parsed"] for a in task["attempts"]] == [False, True]
    assert [f["rule"] for f in task["findings_before"]] == ["invalid-output"]
    assert task["findings_before"][0]["message"].startswith(message)
    first, second = outcome.calls("mod.add")
    assert (first["error_kind"], second["error_kind"]) == (kind, None)
    assert slm_detail(outcome)["failed"] == 1
    report = outcome.report
    assert report["tasks"] == {
        "slm_first_pass": 2,
        "slm_retry": 1,
        "llm_escalated": 0,
        "unresolved": 0,
        "evidence_only": 0,
    }
    assert report["unresolved"] == []


def test_an_answer_in_the_wrong_schema_is_an_invalid_output_not_a_failed_call(tmp_path, monkeypatch):
    outcome = run_with(tmp_path, monkeypatch, [WRONG_SCHEMA, GOOD_API])
    task = outcome.task("mod.add")
    assert task["path"] == "slm_retry"
    (finding,) = task["findings_before"]
    assert finding["rule"] == "invalid-output" and "does not fit the schema" in finding["message"]
    assert all(c["error"] is None for c in outcome.calls("mod.add"))
    assert slm_detail(outcome)["failed"] == 0
    assert "colour" not in (outcome.out / "mod.md").read_text(encoding="utf-8")


# -- escalation and giving up ---------------------------------------------------------------------------
def test_two_bad_slm_answers_escalate_to_the_llm(tmp_path, monkeypatch):
    outcome = run_with(tmp_path, monkeypatch, [INVALID_JSON, WRONG_SCHEMA, GOOD_API])
    task = outcome.task("mod.add")
    assert task["path"] == "llm_escalated"
    assert [a["model"] for a in task["attempts"]] == [f"ollama:{SLM}", f"ollama:{SLM}", f"ollama:{LLM}"]
    detail = outcome.report["models_detail"]
    assert detail[f"ollama:{SLM}"]["calls"] == 4 and detail[f"ollama:{SLM}"]["failed"] == 1
    assert detail[f"ollama:{LLM}"] == {**detail[f"ollama:{LLM}"], "calls": 1, "failed": 0}
    assert outcome.report["tasks"]["llm_escalated"] == 1


def test_a_missing_llm_model_leaves_the_task_unresolved_with_its_reason(tmp_path, monkeypatch):
    outcome = run_with(tmp_path, monkeypatch, [INVALID_JSON, INVALID_JSON], llm_tag="qwen3:4b")
    task = outcome.task("mod.add")
    assert task["path"] == "unresolved" and task["output"] is None
    *_, llm_call = outcome.calls("mod.add")
    assert llm_call["error_kind"] == "model_missing" and llm_call["attempts"] == 1
    assert "ollama pull qwen3:4b" in llm_call["error"]
    report = outcome.report
    assert report["models_detail"]["ollama:qwen3:4b"]["failed"] == 1
    assert [u["subject"] for u in report["unresolved"]] == [task["subject"]]
    assert report["unresolved"][0]["findings"][0]["rule"] == "invalid-output"
    assert report["tasks"]["unresolved"] == 1 and report["symbols_documented"] == 0
    page = (outcome.out / "mod.md").read_text(encoding="utf-8")
    assert "> Add two integers." in page  # the evidence's own docstring, nothing invented


def test_an_unreachable_slm_server_escalates_every_task_to_the_llm(tmp_path, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"
    outcome = run_with(tmp_path, monkeypatch, [GOOD_API], slm_url=dead, models=(LLM,))
    report = outcome.report
    assert report["tasks"]["llm_escalated"] == 3
    assert report["models_detail"][f"ollama:{SLM}"]["calls"] == 6
    assert report["models_detail"][f"ollama:{SLM}"]["failed"] == 6
    first = outcome.calls("mod.add")[0]
    assert first["error_kind"] == "transport" and first["attempts"] == 2
    assert first["error"].startswith(f"Ollama at {dead} is not reachable: ")
    assert outcome.sleeps == [0.5] * 6
    assert report["slm_share"] == 0.0


def test_both_servers_unreachable_leaves_evidence_only_pages_and_no_crash(tmp_path, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"
    outcome = run_with(tmp_path, monkeypatch, [], slm_url=dead, llm_url=dead)
    report = outcome.report
    assert report["tasks"]["unresolved"] == 3
    assert report["models_detail"][f"ollama:{SLM}"]["failed"] == 6
    assert report["models_detail"][f"ollama:{LLM}"]["failed"] == 3
    assert {u["subject"] for u in report["unresolved"]} == {
        "repository",
        outcome.result.graph.id_of("mod.add"),
        outcome.result.graph.id_of("mod"),
    }
    assert report["symbols_documented"] == 0


# -- context overflow ------------------------------------------------------------------------------------
HELPERS = 400


def big_repo(root: Path) -> Path:
    """A symbol with a 5,000-line body, a 100 KB docstring and 400 (private) callees."""
    root.mkdir()
    helpers = "\n".join(
        f"def _helper_{i:03d}_with_a_rather_long_descriptive_name(x):\n    return x\n" for i in range(HELPERS)
    )
    params = ", ".join(f"option_{i}: int = {i}" for i in range(8))
    body = "\n".join(
        f"    total = _helper_{i % HELPERS:03d}_with_a_rather_long_descriptive_name(total)  # step {i}"
        for i in range(5000)
    )
    doc = "Compute the grand total of every option. " * 2500
    (root / "big.py").write_text(
        f'{helpers}\n\n\ndef monster({params}):\n    """{doc}"""\n    total = 0\n{body}\n    return total\n'
    )
    return root


def _tokens(messages) -> float:
    return sum(len(str(m.content)) for m in messages) / 3.2


def _overflow_run(tmp_path: Path) -> tuple[ScriptedChat, ScriptedChat]:
    def script(subject, attempt, messages):
        if subject == "big.monster":
            # Never valid: every prompt of the task (first pass, retry, escalation) is seen.
            return {"summary": "Calls `nowhere_at_all` to add up the options."}
        return "no answer"

    slm, llm = ScriptedChat(script), ScriptedChat(script)
    execute(
        RunOptions(
            repo=big_repo(tmp_path / "repo"),
            out=tmp_path / "out",
            cache_dir=tmp_path / "cache",
            slm_model=slm,
            llm_model=llm,
        )
    )
    return slm, llm


def test_a_huge_symbol_still_gets_a_first_prompt_within_the_token_budget(tmp_path):
    budget = Settings().token_budget
    slm, _ = _overflow_run(tmp_path)
    prompts = [msgs for subject, attempt, msgs in slm.seen if attempt == 0]
    assert len(prompts) == 3  # the monster, the module page, the overview
    monster = next(msgs for subject, attempt, msgs in slm.seen if subject == "big.monster" and attempt == 0)
    facts = str(monster[1].content)
    assert "def monster(option_0: int = 0, option_1: int = 1," in facts and "option_7: int = 7)" in facts
    assert "Docstring:" in facts and "It uses:" in facts  # trimmed, not dropped
    for messages in prompts:
        assert _tokens(messages) <= budget, (_tokens(messages), str(messages[1].content)[:80])
        assert str(messages[1].content).startswith(("Symbol: `", "Module: `", "Modules (name:"))


def test_retry_and_escalation_prompts_stay_within_the_token_budget(tmp_path):
    budget = Settings().token_budget
    slm, llm = _overflow_run(tmp_path)
    retries = [msgs for subject, attempt, msgs in slm.seen if subject == "big.monster" and attempt == 1]
    escalations = [msgs for subject, attempt, msgs in llm.seen if subject == "big.monster"]
    assert retries and escalations
    for messages in retries + escalations:
        assert "Signature:" in str(messages[1].content)
        assert _tokens(messages) <= budget
