"""This project's own docs pass its own validator."""

from __future__ import annotations

from pathlib import Path

from pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_passes_the_validator(tmp_path, capsys):
    code = main(["validate", str(ROOT), str(ROOT / "README.md"), "--no-cache"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 error(s)" in out


def test_validate_flags_a_wrong_claim_about_this_project(tmp_path, capsys):
    bad = tmp_path / "bad.md"
    bad.write_text("Call `pipeline.runner.execute_everything()` to run, see `pipeline/nowhere.py`.\n")
    assert main(["validate", str(ROOT), str(bad), "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert "unknown-identifier" in out and "unknown-file" in out
