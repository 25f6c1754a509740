"""Shared fixtures. ``embedded_run`` runs the real embedded models once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "python" / "inventory"


@pytest.fixture(scope="session")
def embedded_run(tmp_path_factory):
    """A cold run of the embedded profile (real Qwen2.5-Coder 0.5B SLM and 1.5B LLM through
    llama.cpp) on a copy of the example repository. Fails, never skips, when the embedded
    extra is missing: ``make test`` installs it."""
    from pipeline.models.embedded import embedded_available
    from pipeline.runner import RunOptions, execute, publish

    for which in ("0.5b", "1.5b"):
        assert embedded_available(which), (
            f"embedded model {which} is not installed: pip install -e '.[embedded]'"
        )
    work = tmp_path_factory.mktemp("embedded")
    repo = work / "inventory"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".pipeline", "docs", "__pycache__"))
    result = execute(RunOptions(repo=repo, profile="embedded", jobs=1, cache_dir=work / "cache"))
    publish(result)
    return result, repo, work / "cache"
