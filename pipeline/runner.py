"""``run``: evidence -> models -> graph -> validated records -> rendered docs and a report."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.agents.records import ApiRecord, Finding, ModuleDoc, Overview
from pipeline.evidence.builder import BuildOptions, build_evidence
from pipeline.evidence.graph import EvidenceGraph
from pipeline.graph.context import RunContext, Settings

TASK_PATHS = ("slm_first_pass", "slm_retry", "llm_escalated", "unresolved", "evidence_only")
# USD per million tokens (input, output); local models cost nothing. Overridable with
# ``[tool.pipeline.prices]`` (``"ollama:qwen2.5-coder:7b" = [0.0, 0.0]``).
DEFAULT_PRICES: dict[str, tuple[float, float]] = {}


@dataclass(slots=True)
class RunOptions:
    repo: Path
    out: Path | None = None
    profile: str = "auto"
    slm: str | None = None
    llm: str | None = None
    jobs: int = 2
    cache_dir: Path | None = None
    check: bool = False
    resume: str | None = None  # a run id, or "last": continue that run from its checkpoint
    since: str | None = None  # git revision: the report lists what changed since then
    settings: Settings = field(default_factory=Settings)
    # Injected models (tests, notebooks): skip profile resolution.
    slm_model: Any = None
    llm_model: Any = None
    progress: Callable[[str, int, int], None] | None = None


@dataclass(slots=True)
class RunResult:
    files: dict[str, bytes]  # output-relative path -> content
    report: dict[str, Any]
    state: dict[str, Any]
    graph: EvidenceGraph
    out: Path
    cache_dir: Path | None = None


def default_out(repo: Path) -> Path:
    return repo / "docs" / "reference"


def execute(opts: RunOptions) -> RunResult:
    """Run the whole pipeline in memory; :func:`publish` writes the result."""
    from pipeline.graph.build import pipeline_graph

    started = time.perf_counter()
    repo = Path(opts.repo)
    out = Path(opts.out) if opts.out else default_out(repo)
    exclude: tuple[str, ...] = ()
    try:
        rel_out = out.resolve().relative_to(repo.resolve())
        exclude = (f"/{rel_out.as_posix()}/",)
    except (ValueError, OSError):
        pass
    t0 = time.perf_counter()
    cache_dir = Path(opts.cache_dir) if opts.cache_dir else repo / ".pipeline"
    from pipeline.publish import PublishError, link_escape

    for folder in (out, cache_dir):
        why = link_escape(folder, repo)
        if why is not None:
            raise PublishError(why)
    graph, build_stats = build_evidence(repo, BuildOptions(cache_dir=cache_dir / "evidence", exclude=exclude))
    evidence_s = time.perf_counter() - t0

    profile_name, reason, slm_spec, llm_spec, slm, llm = _models(opts, repo)
    ctx = RunContext(
        graph=graph,
        repo=Path(graph.repo),
        slm=slm,
        llm=llm,
        slm_spec=slm_spec,
        llm_spec=llm_spec,
        settings=opts.settings,
        cache=_output_cache(cache_dir, opts),
    )
    runs = RunStore(cache_dir / "runs.sqlite")
    run_id, resuming = runs.begin(opts.resume, str(repo.resolve()), str(out))
    app = pipeline_graph(checkpointer=runs.saver)
    state: dict[str, Any] = {}
    total_tasks = 0
    done = 0
    config = {
        "max_concurrency": max(1, opts.jobs),
        "recursion_limit": 10_000,
        "configurable": {"thread_id": run_id},
    }
    snapshot = app.get_state(config) if resuming else None
    if snapshot is not None and not snapshot.values and not snapshot.next:
        resuming = False  # killed before the first checkpoint: nothing to continue, start over
    if resuming:
        # Start from what the checkpoint already holds; finished tasks are not redone.
        assert snapshot is not None
        state = dict(snapshot.values)
        total_tasks = sum(len(level) for level in state.get("levels", [])) + len(state.get("modules", []))
        done = len(state.get("records", {})) + len(state.get("pages", {}))
    stream_input = None if resuming else {}
    for update in app.stream(stream_input, context=ctx, config=config, stream_mode="updates"):
        for node, payload in update.items():
            if not isinstance(payload, dict):
                continue
            for key, value in payload.items():
                if key in ("records", "pages"):
                    state.setdefault(key, {}).update(value)
                elif key in ("calls", "timings"):
                    state.setdefault(key, []).extend(value)
                else:
                    state[key] = value
            if node == "plan":
                total_tasks = sum(len(level) for level in payload.get("levels", [])) + len(
                    payload.get("modules", [])
                )
            if node in ("api_task", "module_task", "structure"):
                done += 1
                if opts.progress:
                    opts.progress(node, done, total_tasks + 1)
    state = dict(app.get_state(config).values)
    runs.finish(run_id)
    runs.close()
    ctx.cache.close()
    files = render_all(graph, state)
    report = build_report(graph, state, files, opts, profile_name, reason, slm_spec, llm_spec)
    report["duration_s"]["evidence"] = round(evidence_s, 3)
    report["duration_s"]["total"] = round(time.perf_counter() - started, 3)
    report["evidence"] = {
        "parsed": build_stats.parsed,
        "cached": build_stats.cached,
        "skipped": build_stats.skipped,
    }
    report["run_id"] = run_id
    report["resumed"] = resuming
    from pipeline.evaluate import report_metrics

    t1 = time.perf_counter()
    report["quality"] = report_metrics(graph, files)
    report["duration_s"]["quality"] = round(time.perf_counter() - t1, 3)
    files["report.json"] = _json_bytes(report)
    return RunResult(files=files, report=report, state=state, graph=graph, out=out, cache_dir=cache_dir)


class RunStore:
    """Runs and their LangGraph checkpoints (one thread per run) in one SQLite file."""

    def __init__(self, path: Path) -> None:
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self.conn = self._open(path)
        except sqlite3.DatabaseError:
            # A torn or planted file: keep it aside for inspection, start a fresh history.
            path.replace(path.with_name(f"{path.name}.corrupt-{int(time.time())}"))
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            self.conn = self._open(path)
        self.saver = SqliteSaver(self.conn)

    @staticmethod
    def _open(path: Path) -> Any:
        import sqlite3

        conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS pipeline_runs (run_id TEXT PRIMARY KEY, repo TEXT, out TEXT,"
                " started REAL, finished REAL)"
            )
            conn.execute("SELECT count(*) FROM pipeline_runs").fetchone()
            conn.commit()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        self.conn.close()

    def begin(self, resume: str | None, repo: str, out: str) -> tuple[str, bool]:
        """Return (run id, resuming). ``resume`` is a run id or ``"last"``."""
        if resume:
            if resume == "last":
                row = self.conn.execute(
                    "SELECT run_id FROM pipeline_runs WHERE repo = ? AND finished IS NULL"
                    " ORDER BY started DESC LIMIT 1",
                    (repo,),
                ).fetchone()
                if row is None:
                    raise ResumeError("no unfinished run to resume for this repository")
                return row[0], True
            row = self.conn.execute(
                "SELECT finished FROM pipeline_runs WHERE run_id = ?", (resume,)
            ).fetchone()
            if row is None:
                raise ResumeError(f"no run {resume!r} in {self.path}")
            return resume, True
        import uuid

        run_id = time.strftime("run-%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:6]
        self.conn.execute(
            "INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, NULL)", (run_id, repo, out, time.time())
        )
        self.conn.commit()
        return run_id, False

    def finish(self, run_id: str) -> None:
        self.conn.execute("UPDATE pipeline_runs SET finished = ? WHERE run_id = ?", (time.time(), run_id))
        self.conn.commit()

    def runs(self) -> list[tuple[str, str, str, float, float | None]]:
        return list(self.conn.execute("SELECT * FROM pipeline_runs ORDER BY started"))


class ResumeError(Exception):
    """``--resume`` named a run that cannot be continued."""


def _output_cache(cache_dir: Path, opts: RunOptions) -> Any:
    from pipeline.cache import OutputCache

    s = opts.settings
    return OutputCache(cache_dir / "outputs.sqlite", settings_key=f"{s.max_tokens}\0{s.token_budget}")


def _models(opts: RunOptions, repo: Path) -> tuple[str, str, str, str, Any, Any]:
    if opts.slm_model is not None:
        return (
            "custom",
            "models given by the caller",
            opts.slm or "custom-slm",
            opts.llm or ("custom-llm" if opts.llm_model is not None else ""),
            opts.slm_model,
            opts.llm_model,
        )
    from pipeline.models.profiles import build_chat_model, load_settings, resolve_profile

    settings = load_settings(repo)
    # Answers are short JSON objects: bounding them bounds the time of a runaway answer
    # (an in-process model cannot be interrupted mid-generation).
    settings.setdefault("max_tokens", opts.settings.max_tokens)
    profile = resolve_profile(opts.profile, slm=opts.slm, llm=opts.llm, config=settings)
    if profile.slm is None:
        return profile.name, profile.reason, "", "", None, None
    model_settings = {**settings, "timeout_s": opts.settings.timeout_s}
    for spec in (profile.slm, profile.llm):
        if spec is not None and spec.backend == "ollama":
            # One clear line (exit 3) instead of a run of failed calls.
            from pipeline.models.ollama import ensure_model_present

            ensure_model_present(spec.base_url, spec.name)
    slm = build_chat_model(profile.slm, model_settings)
    llm = build_chat_model(profile.llm, model_settings) if profile.llm is not None else None
    return (
        profile.name,
        profile.reason,
        str(profile.slm),
        str(profile.llm) if profile.llm else "",
        slm,
        llm,
    )


def _price_table(repo: Path) -> dict[str, tuple[float, float]]:
    """``[tool.pipeline.prices]``: model spec -> [USD per million input tokens, output tokens]."""
    from pipeline.models.profiles import load_settings

    try:
        table = load_settings(repo).get("prices", {})
    except Exception:  # settings errors were already reported when choosing models
        return {}
    out = {}
    for model, pair in table.items() if isinstance(table, dict) else []:
        if (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and all(isinstance(x, (int, float)) for x in pair)
        ):
            out[str(model)] = (float(pair[0]), float(pair[1]))
    return out


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _parse(model: type, output: dict[str, Any] | None) -> Any:
    return model.model_validate(output) if output is not None else None


def render_all(graph: EvidenceGraph, state: dict[str, Any]) -> dict[str, bytes]:
    """Every output file, rendered deterministically from the evidence and validated outputs."""
    from pipeline.render.markdown import render_architecture, render_index, render_module_page
    from pipeline.render.paths import module_pages

    records = {sid: _parse(ApiRecord, r.get("output")) for sid, r in state.get("records", {}).items()}
    overview = _parse(Overview, (state.get("overview") or {}).get("output"))
    files: dict[str, bytes] = {}
    pages: dict[str, str] = {}
    module_ids = sorted(set(state.get("modules", [])) | {mid for mid in state.get("pages", {})})
    # One naming for every link and file (collision-free, also case-insensitively); only
    # documented modules get a page, so no link points at a page that is not written.
    every_page = module_pages(graph)
    for mid in module_ids:
        q = graph.node(mid)["qualname"]
        pages[q] = every_page[q]
    for mid in module_ids:
        doc = _parse(ModuleDoc, (state.get("pages", {}).get(mid) or {}).get("output"))
        text = render_module_page(graph, mid, doc, records, pages=pages)
        files[pages[graph.node(mid)["qualname"]]] = text.encode("utf-8")
    notes = []
    if not state.get("calls") and all(
        (r or {}).get("path") == "evidence_only" for r in state.get("records", {}).values()
    ):
        notes.append("Written from the evidence alone: no model was used for this run.")
    name = Path(graph.repo).name or "repository"
    files["index.md"] = render_index(graph, pages, title=name, overview=overview, notes=notes).encode("utf-8")
    files["architecture.md"] = render_architecture(graph, overview, pages=pages).encode("utf-8")
    published = {
        sid: {
            "qualname": graph.node(sid)["qualname"],
            "file": graph.node(sid).get("file"),
            "line": graph.node(sid).get("line_start"),
            "hash": graph.node(sid).get("hash"),
            "path": r.get("path"),
            "record": r.get("output"),
        }
        for sid, r in sorted(state.get("records", {}).items())
    }
    files["records.json"] = _json_bytes({"schema_version": 1, "records": published})
    evidence = graph.to_dict()
    evidence["repo"] = name
    files["evidence.json"] = _json_bytes(evidence)
    return files


def build_report(
    graph: EvidenceGraph,
    state: dict[str, Any],
    files: dict[str, bytes],
    opts: RunOptions,
    profile: str,
    reason: str,
    slm_spec: str,
    llm_spec: str,
) -> dict[str, Any]:
    """``report.json``: what ran, on which models, what it cost, what was checked."""
    from pipeline.agents.validator import validate_markdown

    results = list(state.get("records", {}).values()) + list(state.get("pages", {}).values())
    if state.get("overview"):
        results.append(state["overview"])
    tasks = Counter(r.get("path") for r in results)
    by_kind: dict[str, Counter[str]] = {}
    for r in results:
        by_kind.setdefault(r.get("kind", "?"), Counter())[r.get("path")] += 1
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for r in results:
        for f in r.get("findings_before", []):
            before[f"{f['rule']}:{f['severity']}"] += 1
        for f in r.get("findings_after", []):
            after[f"{f['rule']}:{f['severity']}"] += 1
    calls = state.get("calls", [])
    per_model: dict[str, dict[str, Any]] = {}
    for c in calls:
        if c.get("cached"):
            continue  # answered from the cache: no call was made, nothing was spent
        m = per_model.setdefault(
            c.get("model", "?"), {"calls": 0, "tokens_in": 0, "tokens_out": 0, "latency_s": 0.0, "failed": 0}
        )
        m["calls"] += 1
        m["tokens_in"] += int(c.get("tokens_in") or 0)
        m["tokens_out"] += int(c.get("tokens_out") or 0)
        m["latency_s"] = round(m["latency_s"] + float(c.get("latency_s") or 0.0), 3)
        m["failed"] += 1 if c.get("error") else 0
    prices = {**DEFAULT_PRICES, **_price_table(Path(graph.repo))}
    for model, m in per_model.items():
        pin, pout = prices.get(model, (0.0, 0.0))
        m["cost_usd"] = round(m["tokens_in"] / 1e6 * pin + m["tokens_out"] / 1e6 * pout, 6)
    # Existence ratio over the published pages: identifiers that resolve / referenced.
    published_findings: list[Finding] = []
    for rel, data in sorted(files.items()):
        if rel.endswith(".md"):
            published_findings.extend(validate_markdown(graph, data.decode("utf-8"), source=rel))
    durations: dict[str, float] = {}
    for t in state.get("timings", []):
        durations[t["node"]] = round(durations.get(t["node"], 0.0) + float(t["s"]), 3)
    documented = sum(1 for r in state.get("records", {}).values() if r.get("output") is not None)
    symbols_total = len(state.get("records", {}))
    slm_done = tasks["slm_first_pass"] + tasks["slm_retry"]
    model_tasks = sum(tasks[p] for p in ("slm_first_pass", "slm_retry", "llm_escalated", "unresolved"))
    return {
        "version": __version__,
        "profile": profile,
        "profile_reason": reason,
        "models": {"slm": slm_spec or None, "llm": llm_spec or None},
        "symbols_total": symbols_total,
        "symbols_documented": documented,
        "tasks": {p: tasks[p] for p in TASK_PATHS},
        "tasks_by_kind": {k: {p: v[p] for p in TASK_PATHS if v[p]} for k, v in sorted(by_kind.items())},
        "slm_share": round(slm_done / model_tasks, 4) if model_tasks else None,
        "model_calls": {m: v["calls"] for m, v in per_model.items()},
        "tokens": {m: {"in": v["tokens_in"], "out": v["tokens_out"]} for m, v in per_model.items()},
        "models_detail": per_model,
        "findings": {
            "before_routing": dict(sorted(before.items())),
            "after_routing": dict(sorted(after.items())),
        },
        "published_findings": [f.to_dict() for f in published_findings if f.severity == "error"],
        "existence_ratio": _existence_ratio(files, published_findings),
        "duration_s": durations,
        "unresolved": [
            {
                "subject": r.get("subject"),
                "findings": r.get("findings_after", []),
                "dropped": r.get("dropped", []),
            }
            for r in sorted(results, key=lambda r: str(r.get("subject")))
            if r.get("path") == "unresolved"
        ],
        "pages": sorted(p for p in files if p.endswith(".md")),
        "incremental": _incremental(graph, state, opts),
        "cpu_count": os.cpu_count(),
    }


def _incremental(graph: EvidenceGraph, state: dict[str, Any], opts: RunOptions) -> dict[str, Any]:
    """What this run reused from the cache and what it regenerated, and why."""
    first = [c for c in state.get("calls", []) if c.get("attempt", 0) == 0]
    reused = sorted({c["subject"] for c in first if c.get("cached")})
    regenerated = sorted(
        (
            {"subject": c["subject"], "kind": c.get("kind"), "reason": c.get("reason", "not cached")}
            for c in first
            if not c.get("cached")
        ),
        key=lambda r: (r["kind"] or "", r["subject"]),
    )
    out: dict[str, Any] = {
        "reused": len(reused),
        "regenerated": len(regenerated),
        "regenerated_tasks": regenerated,
        "model_calls": sum(1 for c in state.get("calls", []) if not c.get("cached")),
    }
    if opts.since:
        changed = changed_files(Path(graph.repo), opts.since)
        symbols = sorted(
            d["qualname"]
            for d in graph.symbols(("class", "function", "method", "module", "package"))
            if d.get("file") in changed
        )
        out["changed"] = {"since": opts.since, "files": sorted(changed), "symbols": symbols}
    return out


def changed_files(repo: Path, rev: str) -> set[str]:
    """Files changed since ``rev`` (git), relative to the repository root.

    The repository is untrusted: git runs with its hooks, fsmonitor and external diff
    drivers disabled, so nothing configured inside the repository can execute.
    """
    import subprocess

    if rev.startswith("-"):
        raise UsageError(f"--since takes a git revision, not an option: {rev!r}")
    cmd = [
        "git",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "core.hooksPath=/dev/null",
        "-C",
        str(repo),
        "diff",
        "--no-ext-diff",
        "--no-textconv",
        "--name-only",
        "--relative",
        rev,
        "--",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"--since needs git: {exc}") from None
    if proc.returncode != 0:
        raise UsageError(f"--since {rev}: git could not compare ({proc.stderr.strip().splitlines()[-1:]})")
    return {line.strip() for line in proc.stdout.splitlines() if line.strip()}


class UsageError(Exception):
    """A problem with the run's options that the user can fix."""


def _existence_ratio(files: dict[str, bytes], findings: list[Finding]) -> float | None:
    """Identifiers referenced in the published pages that resolve / all referenced."""
    from pipeline.agents.refs import IDENTIFIER, references

    total = sum(
        1
        for rel, data in files.items()
        if rel.endswith(".md")
        for ref in references(data.decode("utf-8"))
        if ref.kind == IDENTIFIER
    )
    unknown = sum(1 for f in findings if f.rule == "unknown-identifier")
    return round(max(0, total - unknown) / total, 4) if total else None


VOLATILE_FILES = frozenset({"report.json"})  # timings and run ids: never part of the drift check


def check_drift(result: RunResult) -> list[str]:
    """Differences between the docs on disk and what this run would write (``--check``).

    Returns one line per problem: a page that differs, is missing or is stale (written by
    an earlier run, no longer produced). ``report.json`` is ignored (it holds timings).
    """
    from pipeline.render.paths import safe_join

    problems = []
    out = result.out
    for rel, data in sorted(result.files.items()):
        if rel in VOLATILE_FILES:
            continue
        target = safe_join(out, rel)
        try:
            current = target.read_bytes()
        except OSError:
            problems.append(f"missing: {rel}")
            continue
        if current != data:
            problems.append(f"differs: {rel}")
    from pipeline.publish import read_manifest

    # Stale = written by an earlier run (its manifest says so) and no longer produced; a
    # user's own files in the folder are not drift.
    for rel in sorted(read_manifest(out) or {}):
        if rel not in result.files and rel not in VOLATILE_FILES and (out / rel).exists():
            problems.append(f"stale: {rel} (no longer generated)")
    return problems


def publish(result: RunResult) -> list[Path]:
    """Write every output file into the output folder (never outside it), as one unit."""
    from pipeline.publish import publish_files

    return publish_files(result.out, result.files, staging_root=result.cache_dir)
