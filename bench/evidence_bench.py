"""Evidence-graph benchmark on the CPython standard library on this machine.

Runs, each in a fresh subprocess so peak memory is its own:
  1. cold build (empty cache),
  2. warm build (same cache, nothing changed: parses nothing, links nothing and loads
     nothing; the cached graph is read on first use), then that first use (loading the
     graph into memory) timed on its own,
  3. griffe's static load of the same top-level modules (``allow_inspection=False``),
and reports the ratios cold/griffe and warm/cold, which is what the targets are about
(the machines are shared and noisy; absolute seconds are context only), and the load
time beside them.

    .venv/bin/python bench/evidence_bench.py [--repeat 3] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + kids) / 1024, 1)


def child_build(cache_dir: str) -> dict:
    from pipeline.evidence.builder import BuildOptions, build_evidence

    t = time.perf_counter()
    graph, stats = build_evidence(STDLIB, BuildOptions(cache_dir=Path(cache_dir)))
    seconds = time.perf_counter() - t
    deferred = not graph.loaded
    t = time.perf_counter()
    graph.g  # noqa: B018 - first use: loads a deferred graph
    load_s = time.perf_counter() - t
    s = graph.summary()
    return {
        "seconds": seconds,
        "deferred": deferred,
        "load_s": load_s,
        "peak_mb": _peak_mb(),
        "files": s.files,
        "symbols": sum(s.symbols.values()),
        "parsed": stats.parsed,
        "cached": stats.cached,
        "graph_cache_hit": stats.graph_cache_hit,
        "phases": {k: round(v, 3) for k, v in stats.phases.items()},
    }


def top_level_modules() -> list[str]:
    names = []
    for p in sorted(STDLIB.iterdir()):
        if p.name in ("site-packages", "__pycache__") or p.name.startswith("."):
            continue
        if p.is_dir() and (p / "__init__.py").exists():
            names.append(p.name)
        elif p.suffix == ".py":
            names.append(p.stem)
    return names


def child_griffe() -> dict:
    import griffe

    t = time.perf_counter()
    loaded = failed = 0
    for name in top_level_modules():
        try:
            griffe.load(name, search_paths=[STDLIB], allow_inspection=False, resolve_aliases=False)
            loaded += 1
        except Exception:
            failed += 1
    return {"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(), "modules": loaded, "failed": failed}


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="repetitions (medians are reported)")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        kind = args.child[0]
        result = child_build(args.child[1]) if kind == "build" else child_griffe()
        print(json.dumps(result))
        return 0

    cold, warm, grif = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(run_child("build", cache))
            warm.append(run_child("build", cache))
        grif.append(run_child("griffe"))
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    result = {
        "stdlib": str(STDLIB),
        "files": cold[0]["files"],
        "symbols": cold[0]["symbols"],
        "cold_s": round(med(cold, "seconds"), 3),
        "warm_s": round(med(warm, "seconds"), 3),
        "warm_deferred": warm[0]["deferred"],
        "warm_load_s": round(med(warm, "load_s"), 3),
        "griffe_s": round(med(grif, "seconds"), 3),
        "cold_peak_mb": med(cold, "peak_mb"),
        "warm_peak_mb": med(warm, "peak_mb"),
        "griffe_peak_mb": med(grif, "peak_mb"),
        "griffe_modules": grif[0]["modules"],
        "griffe_failed": grif[0]["failed"],
        "warm_parsed": warm[0]["parsed"],
        "cold_phases": cold[0]["phases"],
    }
    result["griffe_over_cold"] = round(result["griffe_s"] / result["cold_s"], 2)
    result["warm_over_cold"] = round(result["warm_s"] / result["cold_s"], 3)
    result["warm_load_over_cold"] = round(result["warm_load_s"] / result["cold_s"], 3)
    print(json.dumps(result, indent=2))
    print(
        f"cold build {result['cold_s']}s is {result['griffe_over_cold']}x faster than griffe "
        f"({result['griffe_s']}s); "
        f"warm rebuild is {result['warm_over_cold']:.1%} of cold (target: >= 2x, <= 10%); "
        f"loading the cached graph on first use takes {result['warm_load_s']}s "
        f"({result['warm_load_over_cold']:.1%} of cold)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
