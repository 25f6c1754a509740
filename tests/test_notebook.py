"""The example notebook runs top to bottom against a recorded run and shows its tables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from pipeline.trace import load_run
from tests.fakes import ScriptedChat
from tests.test_trace import llm_script, run_shop, slm_script

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "inspect_trace.ipynb"


def private_kernel(root: Path, monkeypatch) -> str:
    """A ``python3`` kernelspec that starts this interpreter, first on JUPYTER_PATH, so the
    notebook runs with the same packages as the tests whatever else is installed."""
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3 (tests)", "language": "python"}), encoding="utf-8"
    )
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable
    return "python3"


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def execute_notebook(cache: Path, tmp_path: Path, monkeypatch, *, timeout: int = 120):
    """Run the example notebook on the runs recorded in ``cache``; return it, executed. Any
    failing cell raises ``CellExecutionError`` and fails the calling test."""
    kernel = private_kernel(tmp_path / "jupyter", monkeypatch)
    monkeypatch.setenv("PIPELINE_TRACE_CACHE", str(cache))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, kernel_name=kernel, timeout=timeout, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    return nb


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert any(c.cell_type == "markdown" for c in nb.cells)


def test_notebook_runs_against_a_recorded_run(tmp_path, monkeypatch):
    run_shop(tmp_path / "run", ScriptedChat(slm_script), ScriptedChat(llm_script))
    cache = tmp_path / "run" / "cache"
    with load_run(cache_dir=cache) as run:
        mix = run.routing_mix()
        run_id = run.run_id

    nb = execute_notebook(cache, tmp_path, monkeypatch)
    text = outputs_text(nb)
    assert f"inspecting the runs recorded in {cache}" in text
    assert mix.to_string() in text  # the routing mix table, as computed outside the notebook
    for path in ("slm_first_pass", "slm_retry", "llm_escalated", "unresolved"):
        assert path in text
    assert "py:shop.prices.parse_price" in text and "parse_money" in text  # escalation and its cause
    assert "custom-llm" in text and "custom-slm" in text  # tokens per model
    assert f"run {run_id} (finished)" in text  # the timeline
    assert "plan -.-> api_task" in text  # the mermaid graph
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the latency plot
