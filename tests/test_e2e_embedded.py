"""End to end with the real embedded models on the example repository (slow: minutes)."""

from __future__ import annotations

import json

import pytest

from pipeline.agents.validator import validate_markdown
from pipeline.runner import RunOptions, execute

pytestmark = pytest.mark.slow


def test_real_models_write_validated_docs(embedded_run):
    result, _, _ = embedded_run
    report = result.report
    assert report["profile"] == "embedded"
    assert report["models"] == {"slm": "llamacpp:embedded-0.5b", "llm": "llamacpp:embedded-1.5b"}
    slm = report["models_detail"]["llamacpp:embedded-0.5b"]
    assert slm["calls"] > 0 and slm["tokens_in"] > 0 and slm["tokens_out"] > 0
    # Real model text made it into the records, and every published page validates.
    records = json.loads(result.files["records.json"])["records"]
    summaries = [r["record"]["summary"] for r in records.values() if r["record"]]
    assert len(summaries) >= 0.8 * len(records)
    assert all(len(s.split()) >= 3 for s in summaries)
    for rel, data in result.files.items():
        if rel.endswith(".md"):
            errors = [
                f for f in validate_markdown(result.graph, data.decode(), source=rel) if f.severity == "error"
            ]
            assert errors == [], (rel, errors)
    assert report["published_findings"] == []
    assert report["existence_ratio"] == 1.0


def test_report_is_consistent_with_pages(embedded_run):
    result, repo, _ = embedded_run
    report = result.report
    out = repo / "docs" / "reference"
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["run_id"] == report["run_id"]
    assert sorted(p.name for p in out.glob("*.md")) == report["pages"]
    records = json.loads((out / "records.json").read_text())["records"]
    assert report["symbols_total"] == len(records)
    assert report["symbols_documented"] == sum(1 for r in records.values() if r["record"])
    assert sum(report["tasks"].values()) == len(records) + len(result.state["pages"]) + 1
    assert report["slm_share"] == pytest.approx(  # rounded to 4 places in the report
        (report["tasks"]["slm_first_pass"] + report["tasks"]["slm_retry"])
        / sum(report["tasks"][p] for p in ("slm_first_pass", "slm_retry", "llm_escalated", "unresolved")),
        abs=1e-4,
    )
    # Every documented symbol has its anchor on its module's page.
    pages = {p.name: p.read_text() for p in out.glob("*.md")}
    for r in records.values():
        qualname = r["qualname"]
        assert any(f'id="{qualname}"' in text for text in pages.values()), qualname


def test_unchanged_rerun_makes_no_model_calls_and_identical_bytes(embedded_run):
    result, repo, cache = embedded_run
    again = execute(RunOptions(repo=repo, profile="embedded", jobs=1, cache_dir=cache))
    assert again.report["incremental"]["model_calls"] == 0
    assert again.report["incremental"]["regenerated"] == 0
    for rel, data in result.files.items():
        if rel != "report.json":
            assert again.files[rel] == data, rel


def test_notebook_shows_the_real_run(embedded_run, tmp_path, monkeypatch):
    from tests.test_notebook import execute_notebook, outputs_text

    _, _, cache = embedded_run
    text = outputs_text(execute_notebook(cache, tmp_path, monkeypatch, timeout=300))
    assert "llamacpp:embedded-0.5b" in text
    assert "slm_first_pass" in text
