"""Incremental runs and the CI drift gate, with scripted models."""

from __future__ import annotations

import subprocess

from pipeline.cli import main
from pipeline.publish import publish_files
from pipeline.runner import RunOptions, check_drift, execute, publish
from tests.fakes import ScriptedChat
from tests.test_graph import GOOD, make_repo


def run(repo, cache, script=None, **kw):
    script = script or (lambda subject, attempt, messages: GOOD[subject])
    slm, llm = ScriptedChat(script), ScriptedChat(script)
    result = execute(RunOptions(repo=repo, cache_dir=cache, slm_model=slm, llm_model=llm, **kw))
    return result, slm


def model_subjects(model):
    return sorted({s for s, _, _ in model.seen})


def test_unchanged_rerun_makes_zero_calls_and_identical_bytes(tmp_path):
    repo = make_repo(tmp_path / "mini")
    first, slm1 = run(repo, tmp_path / "cache")
    assert slm1.seen
    second, slm2 = run(repo, tmp_path / "cache")
    assert slm2.seen == []
    assert second.report["incremental"] == {
        "reused": len(slm1.seen),
        "regenerated": 0,
        "regenerated_tasks": [],
        "model_calls": 0,
    }
    assert {k: v for k, v in first.files.items() if k != "report.json"} == {
        k: v for k, v in second.files.items() if k != "report.json"
    }


def test_one_function_edit_regenerates_it_its_callers_and_its_page(tmp_path):
    repo = make_repo(tmp_path / "mini")
    run(repo, tmp_path / "cache")
    core = repo / "src/mini/core.py"
    core.write_text(
        core.read_text().replace('raise ParseError("empty")', 'raise ParseError("no text given")')
    )
    changed = dict(GOOD)
    changed["mini.core.check"] = {**GOOD["mini.core.check"], "summary": "Rejects empty `text`."}
    result, slm = run(repo, tmp_path / "cache", lambda s, a, m: changed[s])
    assert model_subjects(slm) == ["mini.core", "mini.core.Parser.parse", "mini.core.check"]
    reasons = {t["subject"]: t["reason"] for t in result.report["incremental"]["regenerated_tasks"]}
    assert reasons == {
        "py:mini.core.check": "evidence changed",
        "py:mini.core.Parser.parse": "context changed",
        "py:mini.core": "context changed",
    }
    page = next(v for k, v in result.files.items() if k.endswith("mini.core.md")).decode()
    assert "Rejects empty `text`." in page


def test_a_cached_answer_that_no_longer_validates_is_regenerated(tmp_path):
    repo = make_repo(tmp_path / "mini")
    run(repo, tmp_path / "cache")
    # Rename a parameter: the cached record documents `text`, the code now says `value`.
    core = repo / "src/mini/core.py"
    core.write_text(
        core.read_text()
        .replace("def check(text: str)", "def check(value: str)")
        .replace("if not text:", "if not value:")
    )
    fixed = dict(GOOD)
    fixed["mini.core.check"] = {
        "summary": "Checks that `value` is not empty.",
        "params": {"value": "The text to check."},
        "raises": [{"exception": "ParseError", "when": "it is empty"}],
    }
    result, slm = run(repo, tmp_path / "cache", lambda s, a, m: fixed[s])
    assert "mini.core.check" in model_subjects(slm)
    rec = result.state["records"]["py:mini.core.check"]
    assert rec["output"]["params"] == [{"name": "value", "description": "The text to check."}]


def test_check_passes_on_fresh_docs_and_fails_on_edits_and_stale_pages(tmp_path):
    repo = make_repo(tmp_path / "mini")
    out = tmp_path / "docs"
    first, _ = run(repo, tmp_path / "cache", out=out)
    publish(first)
    fresh, _ = run(repo, tmp_path / "cache", out=out)
    assert check_drift(fresh) == []
    page = next(out.glob("mini.core.md"))
    page.write_text(page.read_text() + "\nA hand edit.\n")
    assert check_drift(fresh) == ["differs: mini.core.md"]
    page.write_bytes(first.files["mini.core.md"])
    (out / "NOTES.md").write_text("a user's own notes beside the docs\n")
    assert check_drift(fresh) == []  # not written by the pipeline: not drift
    # A page an earlier run published (its manifest says so) for a module that is gone.
    publish_files(out, {**first.files, "mini.old.md": b"# gone\n"}, staging_root=tmp_path / "cache")
    assert check_drift(fresh) == ["stale: mini.old.md (no longer generated)"]
    publish_files(out, first.files, staging_root=tmp_path / "cache")
    (out / "index.md").unlink()
    assert check_drift(fresh) == ["missing: index.md"]


def test_check_cli_exit_codes(tmp_path, capsys):
    repo = make_repo(tmp_path / "mini")
    out = tmp_path / "docs"
    args = [
        "run",
        str(repo),
        "--out",
        str(out),
        "--profile",
        "evidence-only",
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    captured = capsys.readouterr().out
    assert 'pipeline-summary: {"' in captured and '"status": "ok"' in captured
    (out / "index.md").write_text("edited\n")
    assert main([*args, "--check"]) == 1
    assert '"status": "drift"' in capsys.readouterr().out


def test_since_lists_changed_files_and_symbols(tmp_path):
    repo = make_repo(tmp_path / "mini")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    core = repo / "src/mini/core.py"
    core.write_text(core.read_text() + "\n\ndef extra() -> None:\n    pass\n")
    result, _ = run(repo, tmp_path / "cache", since="HEAD", profile="auto")
    changed = result.report["incremental"]["changed"]
    assert changed["files"] == ["src/mini/core.py"]
    assert "mini.core.extra" in changed["symbols"] and "mini.core.add" in changed["symbols"]


def test_since_with_a_bad_revision_is_a_usage_error(tmp_path, capsys):
    repo = make_repo(tmp_path / "mini")
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True)
    code = main(
        [
            "run",
            str(repo),
            "--profile",
            "evidence-only",
            "--since",
            "no-such-rev",
            "--cache-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "--since no-such-rev" in capsys.readouterr().err


def test_failed_answers_are_cached_so_an_unchanged_rerun_makes_no_call(tmp_path):
    def script(subject, attempt, messages):
        return "not JSON {" if subject == "mini.core.add" else GOOD[subject]

    repo = make_repo(tmp_path / "mini")
    first, slm1 = run(repo, tmp_path / "cache", script)
    assert first.state["records"]["py:mini.core.add"]["path"] == "unresolved"
    assert slm1.calls_for("mini.core.add") == 2  # first pass and retry
    second, slm2 = run(repo, tmp_path / "cache", script)
    assert slm2.seen == []
    assert second.state["records"]["py:mini.core.add"]["path"] == "unresolved"
    assert second.report["model_calls"] == {}


def test_prompts_are_identical_from_a_built_or_a_cached_evidence_graph(tmp_path):
    """Answer-cache keys are the prompts: they must not depend on how the graph was obtained."""
    import json
    from pathlib import Path

    from pipeline.agents.api import documented_symbols
    from pipeline.evidence import BuildOptions, build_evidence
    from pipeline.graph.context import RunContext
    from pipeline.graph.nodes import AGENTS

    repo = Path(__file__).resolve().parent.parent / "examples" / "python" / "inventory"
    built, _ = build_evidence(repo, BuildOptions(cache_dir=tmp_path))
    cached, stats = build_evidence(repo, BuildOptions(cache_dir=tmp_path))
    assert stats.graph_cache_hit
    agent = AGENTS["api"]
    for sid in documented_symbols(built):
        prompts = []
        for graph in (built, cached):
            ctx = RunContext(graph=graph, repo=repo)
            prompts.append(
                [m.content for m in agent.messages(ctx, sid, {})]
                + [json.dumps(agent.schema(ctx, sid), sort_keys=True)]
            )
        assert prompts[0] == prompts[1], sid
