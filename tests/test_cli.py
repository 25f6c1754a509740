"""The command line: clear one-line errors and exit codes, never a traceback."""

from __future__ import annotations

import json
import socket

import pytest

from pipeline.cli import main
from pipeline.runner import RunOptions, execute
from tests.fakes import ScriptedChat
from tests.test_graph import GOOD, make_repo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", ["run", "evidence"])
def test_missing_repository_is_one_clear_line(tmp_path, capsys, command):
    assert main([command, str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: repository not found: {tmp_path / 'nope'}"


def test_a_file_is_not_a_repository(tmp_path, capsys):
    f = tmp_path / "x.py"
    f.write_text("x = 1\n")
    assert main(["evidence", str(f)]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_unreachable_ollama_exits_3_with_one_line(tmp_path, capsys, monkeypatch):
    repo = make_repo(tmp_path / "mini")
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    code = main(["run", str(repo), "--profile", "ollama", "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert err[-1].startswith("error: Ollama at http://127.0.0.1:") and "not reachable" in err[-1]
    assert not (repo / "docs").exists()


def test_bad_model_spec_is_a_usage_error(tmp_path, capsys):
    repo = make_repo(tmp_path / "mini")
    assert main(["run", str(repo), "--slm", "nonsense", "--cache-dir", str(tmp_path / "c")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_evidence_command_writes_the_json_contract(tmp_path, capsys):
    repo = make_repo(tmp_path / "mini")
    out = tmp_path / "ev.json"
    assert main(["evidence", str(repo), "--out", str(out), "--cache-dir", str(tmp_path / "c")]) == 0
    data = json.loads(out.read_text())
    assert data["schema_version"] == 1
    add = next(n for n in data["nodes"] if n["id"] == "py:mini.core.add")
    assert add["params"] == [
        {"name": "a", "kind": "positional_or_keyword", "annotation": "int", "default": None},
        {"name": "b", "kind": "positional_or_keyword", "annotation": "int", "default": "1"},
    ]
    assert {"file", "line_start", "line_end", "hash", "public", "qualname", "language"} <= set(add)
    assert any(e["kind"] == "raises" and e["source"] == "py:mini.core.check" for e in data["edges"])
    summary = capsys.readouterr().out
    assert "symbols: function" in summary and "parsed 2" in summary


def test_price_table_from_settings(tmp_path):
    repo = make_repo(tmp_path / "mini")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.pipeline.prices]\n"custom-slm" = [2.0, 10.0]\n')
    result = execute(
        RunOptions(
            repo=repo,
            cache_dir=tmp_path / "c",
            slm_model=ScriptedChat(lambda s, a, m: GOOD[s]),
        )
    )
    detail = result.report["models_detail"]["custom-slm"]
    expected = detail["tokens_in"] / 1e6 * 2.0 + detail["tokens_out"] / 1e6 * 10.0
    assert detail["cost_usd"] == pytest.approx(expected)
    assert detail["cost_usd"] > 0


def test_trace_prints_a_runs_timeline(tmp_path, capsys):
    repo = make_repo(tmp_path / "mini")
    execute(RunOptions(repo=repo, cache_dir=tmp_path / "c", slm_model=ScriptedChat(lambda s, a, m: GOOD[s])))
    assert main(["trace", "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "mini.core.add" in out and "slm_first_pass" in out
    assert main(["trace", "no-such-run", "--cache-dir", str(tmp_path / "c")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
