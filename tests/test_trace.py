"""Run traces: tables, history, diagrams and the terminal timeline of recorded runs; resume."""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from pathlib import Path

import pytest

from pipeline.runner import RunOptions, execute
from pipeline.trace import TraceError, list_runs, load_run
from tests.fakes import ScriptedChat

SHOP = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0.1"\n',
    "src/shop/__init__.py": '"""Shop package."""\nfrom .prices import total\n\n__all__ = ["total"]\n',
    "src/shop/prices.py": '''"""Price helpers."""


def total(prices: list[float], tax: float = 0.0) -> float:
    """Sum the prices and add tax."""
    return sum(prices) * (1 + tax)


def parse_price(text: str) -> float:
    """Parse a price."""
    if not text:
        raise ValueError("empty price")
    return float(text)
''',
    "src/shop/cart.py": '''"""Shopping cart."""
from .prices import total


class Cart:
    """A list of prices."""

    def __init__(self) -> None:
        self.items: list[float] = []

    def add(self, price: float) -> None:
        """Add a price."""
        self.items.append(price)

    def sum(self) -> float:
        """Total of the cart."""
        return total(self.items)
''',
}

GOOD = {
    "repository": {"summary": "The shop package sums the prices in a cart."},
    "shop.prices.total": {
        "summary": "Sums `prices` and adds `tax`.",
        "params": {"prices": "The prices.", "tax": "The tax rate."},
        "returns": "The total.",
    },
    "shop.prices.parse_price": {
        "summary": "Parses `text` as a price.",
        "params": {"text": "The text to parse."},
        "returns": "The price.",
        "raises": [{"exception": "ValueError", "when": "the text is empty"}],
    },
    "shop.cart.Cart": {"summary": "A cart of prices."},
    "shop.cart.Cart.add": {"summary": "Adds `price` to the cart.", "params": {"price": "The price to add."}},
    "shop.cart.Cart.sum": {"summary": "The total of the cart, from `total`.", "returns": "The total."},
    "shop": {"summary": "The package exports `total`."},
    "shop.prices": {"summary": "Price helpers: `total` and `parse_price`."},
    "shop.cart": {"summary": "The `Cart` class."},
}
# First pass wrong on `total` (fixed by the retry); always wrong on the SLM for
# `parse_price` (fixed by the LLM); wrong everywhere for `Cart.add` (unresolved).
BAD_TOTAL = {
    "summary": "Sums prices.",
    "params": {"prices": "The prices.", "amount": "An invented parameter."},
    "returns": "The total.",
}
BAD_PARSE = {"summary": "Parses text with `shop.prices.parse_money`.", "params": {"text": "The text."}}
BAD_ADD = {**GOOD["shop.cart.Cart.add"], "description": "It calls `shop.cart.Cart.remove` first."}

EXPECTED_PATHS = {
    "shop.prices.total": "slm_retry",
    "shop.prices.parse_price": "llm_escalated",
    "shop.cart.Cart.add": "unresolved",
    "shop.cart.Cart": "slm_first_pass",
    "shop.cart.Cart.sum": "slm_first_pass",
}


def slm_script(subject, attempt, messages):
    if subject == "shop.prices.total" and attempt == 0:
        return BAD_TOTAL
    if subject == "shop.prices.parse_price":
        return BAD_PARSE
    if subject == "shop.cart.Cart.add":
        return BAD_ADD
    return GOOD[subject]


def llm_script(subject, attempt, messages):
    return BAD_ADD if subject == "shop.cart.Cart.add" else GOOD[subject]


def make_repo(root: Path) -> Path:
    for rel, text in SHOP.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def run_shop(base: Path, slm, llm, **kw):
    repo = base / "shop"
    if not repo.exists():
        make_repo(repo)
    return execute(
        RunOptions(
            repo=repo, out=base / "out", slm_model=slm, llm_model=llm, cache_dir=base / "cache", jobs=1, **kw
        )
    )


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    base = tmp_path_factory.mktemp("traced")
    slm, llm = ScriptedChat(slm_script), ScriptedChat(llm_script)
    result = run_shop(base, slm, llm)
    run = load_run(cache_dir=base / "cache")
    yield result, run, slm, llm
    run.close()


def qualname(result, sid: str) -> str:
    return "repository" if sid == "repository" else result.graph.node(sid)["qualname"]


def test_list_runs(traced):
    result, run, _, _ = traced
    runs = list_runs(result.cache_dir)
    assert list(runs.columns) == ["run_id", "repo", "out", "started", "finished", "status"]
    assert runs["run_id"].tolist() == [result.report["run_id"]] == [run.run_id]
    assert runs["status"].tolist() == ["finished"]
    assert runs["repo"].iloc[0] == str((result.cache_dir.parent / "shop").resolve())
    assert runs["finished"].iloc[0] >= runs["started"].iloc[0]


def test_values_are_the_final_state(traced):
    result, run, _, _ = traced
    assert set(run.values["records"]) == set(result.state["records"])
    assert run.values["records"] == result.state["records"]
    assert len(run.values["calls"]) == len(result.state["calls"])


def test_tasks_and_routing_mix(traced):
    result, run, _, _ = traced
    tasks = run.tasks()
    report = result.report
    assert len(tasks) == report["symbols_total"] + len(result.state["pages"]) + 1
    paths = {qualname(result, s): p for s, p in zip(tasks["subject"], tasks["path"], strict=True)}
    for q, path in EXPECTED_PATHS.items():
        assert paths[q] == path, q
    row = tasks[tasks["subject"] == "py:shop.prices.parse_price"].iloc[0]
    assert row["attempts"] == 3
    assert row["models"] == "custom-slm, custom-llm"
    assert row["findings_before"] > 0 and row["findings_after"] == 0
    add = tasks[tasks["subject"] == "py:shop.cart.Cart.add"].iloc[0]
    assert add["dropped"] == ["description"] and add["findings_after"] > 0

    mix = run.routing_mix()
    assert mix.loc["api", "slm_retry"] == mix.loc["api", "llm_escalated"] == mix.loc["api", "unresolved"] == 1
    assert mix.loc["api", "slm_first_pass"] == 2
    # The same counts as the report, kind by kind.
    for kind, by_path in report["tasks_by_kind"].items():
        assert {p: int(n) for p, n in mix.loc[kind].items() if n} == by_path


def test_findings_list_what_caused_each_escalation(traced):
    _, run, _, _ = traced
    findings = run.findings()
    assert set(findings["stage"]) == {"before", "after"}
    escalated = findings[(findings["path"] == "llm_escalated") & (findings["stage"] == "before")]
    assert set(escalated["subject"]) == {"py:shop.prices.parse_price"}
    assert "unknown-identifier" in set(escalated["rule"])
    assert escalated["claim"].str.contains("parse_money").any()
    retried = findings[(findings["path"] == "slm_retry") & (findings["stage"] == "before")]
    assert "param-unknown" in set(retried["rule"]) and (retried["claim"] == "amount").any()
    left = findings[(findings["path"] == "unresolved") & (findings["stage"] == "after")]
    assert set(left["subject"]) == {"py:shop.cart.Cart.add"}
    assert left["claim"].str.contains("Cart.remove").any()
    # Tasks accepted on the first pass contribute no "before" findings of severity error.
    first = findings[(findings["path"] == "slm_first_pass") & (findings["severity"] == "error")]
    assert first.empty


def test_model_calls(traced):
    result, run, slm, llm = traced
    calls = run.model_calls()
    assert len(calls) == len(slm.seen) + len(llm.seen)
    assert set(calls["model"]) == {"custom-slm", "custom-llm"}
    per_subject = calls.groupby("subject").size()
    assert per_subject["py:shop.prices.total"] == 2
    assert per_subject["py:shop.prices.parse_price"] == 3
    assert per_subject["py:shop.cart.Cart.add"] == 3
    assert per_subject["py:shop.cart.Cart"] == 1
    parse = calls[calls["subject"] == "py:shop.prices.parse_price"]
    assert parse["model"].tolist() == ["custom-slm", "custom-slm", "custom-llm"]
    assert parse["node"].tolist() == ["slm_first_pass", "slm_retry", "llm_escalated"]
    assert (calls["tokens_in"] == 100).all() and (calls["tokens_out"] == 20).all()
    assert (calls["latency_s"] >= 0).all() and not calls["cached"].any() and calls["error"].isna().all()
    assert calls.groupby("model")["tokens_in"].sum().to_dict() == {
        m: t["in"] for m, t in result.report["tokens"].items()
    }


def test_node_executions(traced):
    result, run, _, _ = traced
    nodes = run.node_executions()
    assert list(nodes.columns) == [
        "step",
        "node",
        "subject",
        "seconds",
        "step_seconds",
        "finished_at",
        "status",
    ]
    assert nodes["step"].notna().all() and nodes["step"].is_monotonic_increasing
    assert (nodes["status"] == "done").all()
    assert nodes["node"].iloc[0] == "structure" and nodes["node"].iloc[-1] == "finish"
    assert {"plan", "api_task", "next_level", "module_docs", "module_task"} <= set(nodes["node"])
    api = nodes[nodes["node"] == "api_task"]
    assert sorted(api["subject"]) == sorted(result.state["records"])
    assert (api["seconds"] >= 0).all()
    # A step lasts at least as long as its slowest node (the step's clock also counts the saving).
    assert (nodes["step_seconds"] >= 0).all()
    slowest = nodes.groupby("step")["seconds"].max().dropna()
    assert (nodes.groupby("step")["step_seconds"].first()[slowest.index] >= slowest - 1e-3).all()
    # Every timing the nodes recorded is matched to a step.
    timed = nodes[nodes["seconds"].notna()]
    assert len(timed) == len(result.state["timings"])
    assert nodes["finished_at"].is_monotonic_increasing


def test_state_history_and_state_at(traced):
    result, run, _, _ = traced
    history = run.state_history()
    steps = [s.metadata["step"] for s in history]
    assert steps == sorted(steps, reverse=True) and len(set(steps)) == len(steps)
    assert steps[-1] == -1 and steps[0] == max(run.node_executions()["step"])
    after_structure = run.state_at(1)
    assert after_structure.metadata["step"] == 1
    assert after_structure.values["overview"]["path"] == "slm_first_pass"
    assert not after_structure.values.get("records")
    assert run.state_at(steps[0]).values["records"] == result.state["records"]
    with pytest.raises(TraceError, match="no step 999"):
        run.state_at(999)


def test_mermaid(traced):
    _, run, _, _ = traced
    main = run.mermaid()
    task = run.mermaid(task=True)
    for edge in (
        "structure --> plan",
        "plan -.-> api_task",
        "next_level -.-> module_docs",
        "finish --> __end__",
    ):
        assert edge in main
    for edge in ("slm_first_pass --> validate", "validate -.-> slm_retry", "validate -.-> llm_escalate"):
        assert edge in task
    assert "api_task" not in task


def test_timeline(traced):
    result, run, _, _ = traced
    text = run.timeline()
    assert text.startswith(f"run {run.run_id} (finished)")
    for path in ("first pass (slm_first_pass)", "retry (slm_retry)", "escalation (llm_escalated)"):
        assert path in text
    assert "unresolved (unresolved)" in text
    for model in ("custom-slm", "custom-llm"):
        assert model in text
    for sid in result.state["records"]:
        assert sid in text
    # The escalated task shows its three calls and the finding that sent it on.
    block = text.split("[api] py:shop.prices.parse_price:")[1].split("\n  [")[0]
    assert block.count("custom-slm:") == 2 and block.count("custom-llm:") == 1
    assert "[unknown-identifier]" in block and "parse_money" in block
    assert "100 in / 20 out tokens" in block
    assert "dropped: description" in text
    assert "structure" in text.split("nodes (")[1].split("\n")[1]


def test_inspecting_does_not_change_the_database(tmp_path):
    run_shop(tmp_path, ScriptedChat(slm_script), ScriptedChat(llm_script))
    db = tmp_path / "cache" / "runs.sqlite"

    def contents() -> list[str]:
        # The database and its write-ahead log: together they are everything a run holds.
        return [
            hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "" for p in (db, Path(f"{db}-wal"))
        ]

    before = contents()
    with load_run("last", cache_dir=tmp_path / "cache") as run:
        run.timeline()
        run.node_executions()
        run.state_at(1)
    list_runs(tmp_path / "cache")
    assert contents() == before


def test_load_run_errors(tmp_path, traced):
    with pytest.raises(TraceError, match=r"no cache folder at .*missing"):
        load_run(cache_dir=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TraceError, match=r"no runs recorded in .*runs\.sqlite is missing"):
        load_run(cache_dir=tmp_path / "empty")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "runs.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(TraceError, match=r"cannot read the runs in .*corrupt.runs\.sqlite"):
        load_run(cache_dir=tmp_path / "corrupt")
    result, run, _, _ = traced
    with pytest.raises(TraceError, match=r"no run 'run-nope' in .*runs\.sqlite") as err:
        load_run("run-nope", cache_dir=result.cache_dir)
    assert run.run_id in str(err.value)  # the message names runs that do exist
    with load_run(run.run_id[:-2], cache_dir=result.cache_dir) as by_prefix:
        assert by_prefix.run_id == run.run_id


def test_timeline_needs_no_pandas_and_tables_say_what_to_install(traced, monkeypatch):
    _, run, _, _ = traced
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    assert run.run_id in run.timeline()
    with pytest.raises(ImportError, match=re.escape("pip install 'pipeline[notebook]'")):
        run.tasks()
    with pytest.raises(ImportError, match="pandas"):
        list_runs(run.cache_dir)


class Interrupt:
    """A script that behaves like ``script`` until its ``after``-th call, then interrupts."""

    def __init__(self, script, after: int) -> None:
        self.script = script
        self.after = after
        self.calls = 0

    def __call__(self, subject, attempt, messages):
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt
        return self.script(subject, attempt, messages)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return run_shop(tmp_path_factory.mktemp("whole"), ScriptedChat(slm_script), ScriptedChat(llm_script))


def done_subjects(values: dict) -> set[str]:
    done = set(values.get("records") or {}) | set(values.get("pages") or {})
    return done | ({"repository"} if values.get("overview") else set())


@pytest.mark.parametrize(
    ("after", "stopped_in"),
    [(2, "api_task"), (6, "api_task"), (10, "module_task")],
    ids=["first-level-start", "first-level-middle", "module-pages"],
)
def test_interrupted_run_resumes_without_redoing_finished_tasks(tmp_path, uninterrupted, after, stopped_in):
    first = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_shop(first, ScriptedChat(Interrupt(slm_script, after=after)), ScriptedChat(llm_script))
    runs = list_runs(first / "cache")
    assert runs["status"].tolist() == ["unfinished"]
    interrupted_id = runs["run_id"].iloc[0]
    with load_run(cache_dir=first / "cache") as run:
        finished = done_subjects(run.values)
        nodes = run.node_executions()
        assert nodes["node"].iloc[0] == "structure"
        assert nodes["status"].iloc[-1] == "interrupted" and nodes["node"].iloc[-1] == stopped_in
        assert "(interrupted)" in run.timeline()
    assert "repository" in finished and len(finished) > 1
    # Without the output cache only the checkpoint can spare the finished tasks a second call.
    for name in ("outputs.sqlite", "outputs.sqlite-wal", "outputs.sqlite-shm"):
        (first / "cache" / name).unlink(missing_ok=True)

    slm, llm = ScriptedChat(slm_script), ScriptedChat(llm_script)
    resumed = run_shop(first, slm, llm, resume="last")
    assert resumed.report["run_id"] == interrupted_id and resumed.report["resumed"] is True
    finished_names = {qualname(resumed, sid) for sid in finished}
    for name in finished_names:
        assert slm.calls_for(name) == 0 and llm.calls_for(name) == 0, name
    left = {qualname(resumed, sid) for sid in done_subjects(resumed.state)} - finished_names
    assert left and all(slm.calls_for(name) >= 1 for name in left)
    assert list_runs(first / "cache")["status"].tolist() == ["finished"]

    whole = uninterrupted
    assert set(resumed.files) == set(whole.files)
    for rel in sorted(whole.files):
        if rel != "report.json":
            assert resumed.files[rel] == whole.files[rel], rel
    assert resumed.report["tasks"] == whole.report["tasks"]


def test_load_run_picks_the_latest_of_several(tmp_path):
    run_shop(tmp_path, ScriptedChat(slm_script), ScriptedChat(llm_script))
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    second = run_shop(tmp_path, ScriptedChat(slm_script), ScriptedChat(llm_script))
    runs = list_runs(tmp_path / "cache")
    assert len(runs) == 2 and runs["started"].is_monotonic_increasing
    with load_run(cache_dir=tmp_path / "cache") as run:
        assert run.run_id == second.report["run_id"] == runs["run_id"].iloc[-1]
        # The second run's first passes are answered from the output cache: no tokens spent.
        calls = run.model_calls()
        first = calls[calls["node"] == "slm_first_pass"]
        assert len(first) == len(run.tasks()) and first["cached"].all()
        assert (calls.loc[calls["cached"], ["tokens_in", "tokens_out"]] == 0).all().all()
        assert "cached answer" in run.timeline()
