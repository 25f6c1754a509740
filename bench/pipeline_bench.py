"""Pipeline benchmark: the embedded profile on the example repository.

1. Cold run (empty cache): seconds and tokens per documented symbol, the SLM share of
   tasks, and the pipeline's own overhead: total time minus the time spent inside model
   calls, as a share of the total (targets: SLM share >= 80%, overhead < 5%). Model tasks
   run one at a time (``--jobs 1``) so call latencies do not overlap.
2. No-change rerun, as a share of the cold run's time (target <= 5%).
3. One-function change (a line added to one function's body), as a share of the cold
   run's time (target <= 15%).

    .venv/bin/python bench/pipeline_bench.py [--repo examples/python/inventory] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_once(repo: Path, work: Path, profile: str = "embedded") -> dict:
    from pipeline.graph.context import Settings
    from pipeline.runner import RunOptions, execute, publish

    started = time.perf_counter()
    result = execute(
        RunOptions(
            repo=repo,
            out=work / "out",
            profile=profile,
            jobs=1,
            cache_dir=work / "cache",
            settings=Settings(concurrency=1),
        )
    )
    publish(result)
    total = time.perf_counter() - started
    report = result.report
    in_models = sum(m["latency_s"] for m in report["models_detail"].values())
    documented = report["symbols_documented"] or 1
    tokens = sum(t["in"] + t["out"] for t in report["tokens"].values())
    return {
        "total_s": round(total, 2),
        "model_s": round(in_models, 2),
        "overhead_share": round(max(0.0, total - in_models) / total, 4),
        "symbols_documented": report["symbols_documented"],
        "symbols_total": report["symbols_total"],
        "s_per_symbol": round(total / documented, 2),
        "tokens_per_symbol": round(tokens / documented, 1),
        "slm_share": report["slm_share"],
        "tasks": report["tasks"],
        "model_calls": report["model_calls"],
        "existence_ratio": report["existence_ratio"],
        "published_errors": len(report["published_findings"]),
    }


def edit_one_function(repo: Path) -> None:
    """Change one function's body (the example's ``Item.to_dict``, or the first function found)."""
    target = repo / "src" / "inventory" / "models.py"
    if target.exists() and "def to_dict(self)" in target.read_text():
        text = target.read_text()
        lines = text.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if "def to_dict(self)" in line:
                indent = line[: len(line) - len(line.lstrip())] + "    "
                lines.insert(i + 1, f"{indent}# serialised for the JSON store and the CLI\n")
                break
        target.write_text("".join(lines))
        return
    for path in sorted(repo.rglob("*.py")):
        lines = path.read_text().splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.lstrip().startswith("def ") and line.rstrip().endswith(":"):
                indent = line[: len(line) - len(line.lstrip())] + "    "
                lines.insert(i + 1, f"{indent}_changed = True\n")
                path.write_text("".join(lines))
                return


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=str(ROOT / "examples" / "python" / "inventory"))
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(args.repo, repo, ignore=shutil.ignore_patterns(".pipeline", "docs"))
        result = run_once(repo, Path(tmp))
        rerun = run_once(repo, Path(tmp))
        edit_one_function(repo)
        changed = run_once(repo, Path(tmp))
    result["rerun_s"] = rerun["total_s"]
    result["rerun_share"] = round(rerun["total_s"] / result["total_s"], 4)
    result["rerun_model_calls"] = rerun["model_calls"]
    result["one_change_s"] = changed["total_s"]
    result["one_change_share"] = round(changed["total_s"] / result["total_s"], 4)
    result["one_change_model_calls"] = changed["model_calls"]
    print(json.dumps(result, indent=2))
    print(
        f"no-change rerun {result['rerun_share']:.1%} of cold (target <= 5%); "
        f"one-function change {result['one_change_share']:.1%} of cold (target <= 15%)"
    )
    print(
        f"{result['s_per_symbol']} s and {result['tokens_per_symbol']} tokens per documented symbol; "
        f"SLM share {result['slm_share']:.0%} (target >= 80%); "
        f"overhead {result['overhead_share']:.1%} (target < 5%)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
