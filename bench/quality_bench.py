"""Quality benchmark: generated docs beside the hand-written ones, measured the same way.

For the example repository and two small standard-library packages (``json``, ``html``)
copied to a temporary folder, runs the pipeline (default: the embedded profile, one task at
a time, a cold cache) and measures the generated docs with ``pipeline.evaluate`` (existence
ratio, cross-file existence, signature fidelity, completeness, coverage), with the SLM share,
the escalations and the seconds per documented symbol; then measures the packages' own
docstrings (and the example's README) with the same code.

    .venv/bin/python bench/quality_bench.py [--profile embedded] [--json bench/results/quality.json]

With the embedded models this takes many minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CORPORA = {
    "inventory": ROOT / "examples" / "python" / "inventory",
    "json": STDLIB / "json",
    "html": STDLIB / "html",
}
METRICS = ("existence_ratio", "existence_ratio_cross_file", "signature_fidelity", "completeness", "coverage")


def _copy(name: str, src: Path, tmp: Path) -> Path:
    repo = tmp / name
    if name == "inventory":
        shutil.copytree(src, repo, ignore=shutil.ignore_patterns(".pipeline", "docs"))
    else:
        shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "test", "tests"))
    return repo


def _values(metrics: dict) -> dict:
    return {k: metrics[k]["value"] if metrics.get(k) else None for k in METRICS}


def measure(name: str, repo: Path, work: Path, profile: str) -> dict:
    from pipeline.agents.api import USAGE_MARK
    from pipeline.evaluate import DocsSource, evaluate
    from pipeline.evidence.builder import BuildOptions, build_evidence
    from pipeline.graph.context import Settings
    from pipeline.runner import RunOptions, execute

    graph, _ = build_evidence(repo, BuildOptions(use_cache=False))
    readme = [repo / "README.md"] if (repo / "README.md").is_file() else []
    handwritten = evaluate(graph, DocsSource.handwritten(markdown=readme))
    started = time.perf_counter()
    result = execute(
        RunOptions(
            repo=repo, profile=profile, jobs=1, cache_dir=work / "cache", settings=Settings(concurrency=1)
        )
    )
    seconds = time.perf_counter() - started
    generated = evaluate(result.graph, DocsSource.in_memory(result.files))
    examples = [
        [str(e) for e in (r.get("output") or {}).get("examples") or []]
        for r in result.state["records"].values()
    ]
    report = result.report
    documented = report["symbols_documented"] or 0
    return {
        "symbols": len(generated.symbols),
        "generated": {
            **_values(generated.metrics()),
            "slm_share": report.get("slm_share"),
            "tasks": report.get("tasks"),
            "escalations": (report.get("tasks") or {}).get("llm_escalated", 0),
            "unresolved": (report.get("tasks") or {}).get("unresolved", 0),
            "published_errors": len(report.get("published_findings") or []),
            "seconds": round(seconds, 1),
            "s_per_symbol": round(seconds / documented, 2) if documented else None,
            "counts": generated.metrics(),
            "unresolved_identifiers": sorted({u for s in generated.symbols for u in s.unresolved}),
            "undocumented": sorted(s.qualname for s in generated.symbols if not s.documented),
            # Examples built from the signature because the model gave none that validates, and
            # records with a model-written example.
            "usage_examples": sum(1 for ex in examples if any(e.startswith(USAGE_MARK) for e in ex)),
            "model_examples": sum(1 for ex in examples if any(not e.startswith(USAGE_MARK) for e in ex)),
            "missing_sections": {
                s.qualname: sorted(set(s.sections_required) - set(s.sections_present))
                for s in generated.symbols
                if set(s.sections_required) - set(s.sections_present)
            },
        },
        "handwritten": {
            **_values(handwritten.metrics()),
            "counts": handwritten.metrics(),
            "sources": handwritten.docs,
        },
        "profile": report.get("profile"),
        "models": report.get("models"),
    }


def _table(results: dict) -> str:
    head = f"{'corpus':<10} {'docs':<12}" + "".join(f" {m[:14]:>14}" for m in METRICS)
    head += f" {'slm share':>9} {'escal.':>6} {'s/symbol':>8}"
    rows = [head]
    for name, r in results.items():
        for kind in ("generated", "handwritten"):
            figures = r[kind]
            cells = "".join(
                f" {figures[m]:>14.1%}" if figures[m] is not None else f" {'n/a':>14}" for m in METRICS
            )
            extra = ""
            if kind == "generated":
                share = figures["slm_share"]
                extra = f" {share:>9.0%}" if share is not None else f" {'n/a':>9}"
                extra += f" {figures['escalations']:>6} {figures['s_per_symbol'] or 0:>8}"
            rows.append(f"{name:<10} {kind:<12}{cells}{extra}")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="embedded", help="pipeline profile (default: embedded)")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "quality.json"), help="output file")
    ap.add_argument("--only", nargs="*", choices=sorted(CORPORA), help="corpora to run (default: all)")
    args = ap.parse_args()
    results: dict = {}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, src in CORPORA.items():
            if args.only and name not in args.only:
                continue
            work = Path(tmp) / f"work-{name}"
            work.mkdir()
            results[name] = measure(name, _copy(name, src, Path(tmp)), work, args.profile)
            print(f"{name}: done in {results[name]['generated']['seconds']} s", flush=True)
            # Written after each corpus: a long run that is stopped keeps what it measured.
            out.write_text(json.dumps(results, indent=2) + "\n")
    print(_table(results))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
