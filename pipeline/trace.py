"""Inspect finished (or interrupted) runs: tables for notebooks, a timeline for the terminal.

Every run is a LangGraph thread in ``<cache_dir>/runs.sqlite``; this module reads its final
state and its checkpoint history. The database is opened read-only, so inspecting a run
never changes it. The table views return pandas DataFrames (``pip install
'pipeline[notebook]'``); the timeline and the state history need nothing beyond the core.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

RUNS_DB = "runs.sqlite"
# The order paths are shown in: from cheapest to most expensive outcome.
PATH_ORDER = ("cached", "evidence_only", "slm_first_pass", "slm_retry", "llm_escalated", "unresolved")
PATH_LABELS = {
    "slm_first_pass": "first pass",
    "slm_retry": "retry",
    "llm_escalated": "escalation",
    "unresolved": "unresolved",
    "evidence_only": "evidence only",
    "cached": "cached",
}
_ATTEMPT_NODES = {0: "slm_first_pass", 1: "slm_retry", 2: "llm_escalated"}
RUN_COLUMNS = ["run_id", "repo", "out", "started", "finished", "status"]
NODE_COLUMNS = ["step", "node", "subject", "seconds", "step_seconds", "finished_at", "status"]
CALL_COLUMNS = [
    "kind",
    "subject",
    "node",
    "model",
    "tokens_in",
    "tokens_out",
    "latency_s",
    "attempts",
    "error",
    "error_kind",
    "cached",
]
TASK_COLUMNS = [
    "kind",
    "subject",
    "path",
    "models",
    "attempts",
    "findings_before",
    "findings_after",
    "dropped",
]
FINDING_COLUMNS = ["kind", "subject", "path", "stage", "rule", "severity", "message", "evidence", "claim"]


class TraceError(Exception):
    """A run cannot be inspected (no cache folder, no such run, unreadable database)."""


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("pipeline.trace tables need pandas: pip install 'pipeline[notebook]'") from None
    return pandas


def resolve_cache_dir(cache_dir: str | Path | None = None, repo: str | Path | None = None) -> Path:
    """The cache folder a command means: ``cache_dir`` if given, else ``REPO/.pipeline``
    (``repo`` defaults to the current folder)."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(repo if repo is not None else ".") / ".pipeline"


def _connect(cache_dir: str | Path) -> tuple[sqlite3.Connection, Path]:
    folder = Path(cache_dir)
    if not folder.is_dir():
        raise TraceError(f"no cache folder at {folder}: run `python -m pipeline run REPO` first")
    path = folder / RUNS_DB
    if not path.is_file():
        raise TraceError(f"no runs recorded in {folder} ({RUNS_DB} is missing)")
    uri = path.resolve().as_uri()
    last: Exception | None = None
    # ``mode=ro`` keeps inspection from writing; ``immutable`` is the fallback for a folder
    # we may not write to (where SQLite cannot create the WAL index a read-only open wants).
    # A run that finished closed its database cleanly (no write-ahead log left): nothing can
    # be writing to it, so open it as immutable and leave no -wal/-shm files behind.
    wal = path.with_name(path.name + "-wal")
    queries = ("?mode=ro&immutable=1",) if not wal.exists() else ("?mode=ro", "?mode=ro&immutable=1")
    for query in queries:
        try:
            conn = sqlite3.connect(uri + query, uri=True, check_same_thread=False, timeout=30)
            conn.execute("SELECT 1 FROM pipeline_runs LIMIT 1").fetchall()
            return conn, path
        except sqlite3.DatabaseError as exc:
            last = exc
            continue
    raise TraceError(f"cannot read the runs in {path}: {last}")


def _run_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT run_id, repo, out, started, finished FROM pipeline_runs ORDER BY started, rowid"
    ).fetchall()
    return [
        {
            "run_id": r[0],
            "repo": r[1],
            "out": r[2],
            "started": r[3],
            "finished": r[4],
            "status": "finished" if r[4] is not None else "unfinished",
        }
        for r in rows
    ]


def list_runs(cache_dir: str | Path) -> pd.DataFrame:
    """Every run recorded in ``cache_dir``, oldest first: run_id, repo, out, started,
    finished (UTC timestamps; finished is empty for an interrupted run), status."""
    pd = _pandas()
    conn, _ = _connect(cache_dir)
    try:
        rows = _run_rows(conn)
    finally:
        conn.close()
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for col in ("started", "finished"):
        df[col] = pd.to_datetime(df[col], unit="s", utc=True)
    return df


def load_run(run: str | None = None, *, cache_dir: str | Path) -> Run:
    """Open one run of ``cache_dir`` for inspection.

    ``run`` is a run id (or an unambiguous prefix of one); ``None`` or ``"last"`` means the
    most recently started run. Raises :class:`TraceError` when the folder, the database or
    the run does not exist.
    """
    conn, path = _connect(cache_dir)
    try:
        rows = _run_rows(conn)
        if not rows:
            raise TraceError(f"no runs recorded in {path}")
        if run is None or run == "last":
            info = rows[-1]
        else:
            matches = [r for r in rows if r["run_id"] == run] or [
                r for r in rows if r["run_id"].startswith(run)
            ]
            if not matches:
                known = ", ".join(r["run_id"] for r in rows[-3:])
                raise TraceError(f"no run {run!r} in {path} (latest: {known})")
            if len(matches) > 1:
                raise TraceError(f"{run!r} matches {len(matches)} runs in {path}: give more of the run id")
            info = matches[0]
    except BaseException:
        conn.close()
        raise
    return Run(conn, info, Path(cache_dir))


class Run:
    """One recorded run: its final state, checkpoint history and derived tables."""

    def __init__(self, conn: sqlite3.Connection, info: dict[str, Any], cache_dir: Path) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        from pipeline.graph.build import pipeline_graph

        self.run_id: str = info["run_id"]
        self.info = info
        self.cache_dir = cache_dir
        self._conn = conn
        self._app = pipeline_graph(checkpointer=SqliteSaver(conn))
        self._config = {"configurable": {"thread_id": self.run_id}}
        self._values: dict[str, Any] | None = None
        self._history: list[Any] | None = None

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, {self.info['status']})"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connection."""
        self._conn.close()

    # -- raw state -----------------------------------------------------------------------
    @property
    def values(self) -> dict[str, Any]:
        """The final state of the run (the latest checkpoint's values)."""
        if self._values is None:
            try:
                snapshot = self._app.get_state(self._config)
            except sqlite3.DatabaseError as exc:
                raise TraceError(f"cannot read the checkpoints of {self.run_id}: {exc}") from None
            self._values = dict(snapshot.values)
        return self._values

    def state_history(self) -> list[Any]:
        """Every checkpoint of the run as a LangGraph ``StateSnapshot``, newest first."""
        if self._history is None:
            try:
                self._history = list(self._app.get_state_history(self._config))
            except sqlite3.DatabaseError as exc:
                raise TraceError(f"cannot read the checkpoints of {self.run_id}: {exc}") from None
        return self._history

    def state_at(self, step: int) -> Any:
        """The snapshot taken after ``step`` (``metadata["step"]``); -1 is the input."""
        for snapshot in self.state_history():
            if snapshot.metadata.get("step") == step:
                return snapshot
        steps = sorted(s.metadata.get("step") for s in self.state_history())
        raise TraceError(f"run {self.run_id} has no step {step} (steps {steps[0]}..{steps[-1]})")

    def mermaid(self, task: bool = False) -> str:
        """The main graph as Mermaid text, or the per-task subgraph when ``task`` is true."""
        from pipeline.graph.build import pipeline_graph, task_graph

        app = task_graph() if task else pipeline_graph()
        return app.get_graph().draw_mermaid()

    # -- rows (plain dicts; the DataFrame views and the timeline share them) ----------------
    def task_results(self) -> list[dict[str, Any]]:
        """Every task's result: the overview, then records and pages in state order."""
        v = self.values
        results = [v["overview"]] if v.get("overview") else []
        results += list((v.get("records") or {}).values())
        results += list((v.get("pages") or {}).values())
        return [r for r in results if isinstance(r, dict)]

    def node_rows(self) -> list[dict[str, Any]]:
        """One row per node execution: from the checkpoint history (step, node, when the step
        was committed, how long the whole step took) joined with the timings the nodes
        recorded (subject, seconds)."""
        history = list(reversed(self.state_history()))
        rows: list[dict[str, Any]] = []
        seen: Counter[tuple[str, str, float]] = Counter()
        for i, snapshot in enumerate(history):
            step = snapshot.metadata.get("step")
            committed = history[i + 1].created_at if i + 1 < len(history) else None
            step_s = _seconds_between(snapshot.created_at, committed)
            for t in snapshot.tasks:
                if t.name.startswith("__"):
                    continue
                result = t.result if isinstance(t.result, dict) else None
                status = _task_status(result, t.error)
                timings = (result or {}).get("timings") or [{}]
                for timing in timings:
                    if timing:
                        seen[_timing_key(timing)] += 1
                    rows.append(
                        {
                            "step": step + 1 if isinstance(step, int) else None,
                            "node": t.name,
                            "subject": timing.get("subject"),
                            "seconds": _float(timing.get("s")),
                            "step_seconds": step_s if result is not None else None,
                            "finished_at": committed if result is not None else None,
                            "status": status,
                        }
                    )
        # Timings whose checkpoint history is gone (or never existed) still count.
        for timing in self.values.get("timings") or []:
            key = _timing_key(timing)
            if seen[key]:
                seen[key] -= 1
                continue
            rows.append(
                {
                    "step": None,
                    "node": timing.get("node"),
                    "subject": timing.get("subject"),
                    "seconds": _float(timing.get("s")),
                    "step_seconds": None,
                    "finished_at": None,
                    "status": "done",
                }
            )
        return rows

    def call_rows(self) -> list[dict[str, Any]]:
        """One row per model call (or cache hit), in the order the run made them."""
        rows = []
        for c in self.values.get("calls") or []:
            attempt = c.get("attempt")
            rows.append(
                {
                    "kind": c.get("kind"),
                    "subject": c.get("subject"),
                    "node": _ATTEMPT_NODES.get(attempt) if isinstance(attempt, int) else None,
                    "model": c.get("model"),
                    "tokens_in": int(c.get("tokens_in") or 0),
                    "tokens_out": int(c.get("tokens_out") or 0),
                    "latency_s": _float(c.get("latency_s")) or 0.0,
                    "attempts": int(c.get("attempts") or (0 if c.get("cached") else 1)),
                    "error": c.get("error"),
                    "error_kind": c.get("error_kind"),
                    "cached": bool(c.get("cached")),
                }
            )
        return rows

    def task_rows(self) -> list[dict[str, Any]]:
        """One row per task: where it ended, how many generations and findings it took."""
        rows = []
        for r in self.task_results():
            attempts = r.get("attempts") or []
            models = list(dict.fromkeys(a.get("model") for a in attempts if a.get("model")))
            rows.append(
                {
                    "kind": r.get("kind"),
                    "subject": r.get("subject"),
                    "path": r.get("path"),
                    "models": ", ".join(models),
                    "attempts": len(attempts),
                    "findings_before": len(r.get("findings_before") or []),
                    "findings_after": len(r.get("findings_after") or []),
                    "dropped": list(r.get("dropped") or []),
                }
            )
        return rows

    def finding_rows(self) -> list[dict[str, Any]]:
        """One row per finding: ``stage`` "before" is the first pass's verdict (what sent a
        task to a retry), "after" is what was left on the published or unresolved answer."""
        rows = []
        for r in self.task_results():
            for stage, key in (("before", "findings_before"), ("after", "findings_after")):
                for f in r.get(key) or []:
                    rows.append(
                        {
                            "kind": r.get("kind"),
                            "subject": r.get("subject"),
                            "path": r.get("path"),
                            "stage": stage,
                            "rule": f.get("rule"),
                            "severity": f.get("severity"),
                            "message": f.get("message"),
                            "evidence": f.get("evidence"),
                            "claim": f.get("claim"),
                        }
                    )
        return rows

    # -- DataFrame views -----------------------------------------------------------------
    def node_executions(self) -> pd.DataFrame:
        """Node executions: step, node, subject, seconds (the node's own timing), step_seconds
        (wall time of its whole step, parallel nodes included), finished_at (UTC), status."""
        pd = _pandas()
        df = pd.DataFrame(self.node_rows(), columns=NODE_COLUMNS)
        df["step"] = df["step"].astype("Int64")
        df["finished_at"] = pd.to_datetime(df["finished_at"], utc=True)
        return df

    def model_calls(self) -> pd.DataFrame:
        """Model calls: kind, subject, node, model, tokens_in, tokens_out, latency_s,
        attempts (transport tries), error, error_kind, cached."""
        return _pandas().DataFrame(self.call_rows(), columns=CALL_COLUMNS)

    def tasks(self) -> pd.DataFrame:
        """Tasks: kind, subject, path, models, attempts, findings_before, findings_after, dropped."""
        return _pandas().DataFrame(self.task_rows(), columns=TASK_COLUMNS)

    def findings(self) -> pd.DataFrame:
        """Findings with their task's kind, subject and path, and ``stage`` before/after."""
        return _pandas().DataFrame(self.finding_rows(), columns=FINDING_COLUMNS)

    def routing_mix(self) -> pd.DataFrame:
        """How many tasks of each kind (rows) ended on each path (columns)."""
        pd = _pandas()
        tasks = self.tasks()
        if tasks.empty:
            return pd.DataFrame(dtype="int64")
        mix = tasks.groupby(["kind", "path"]).size().unstack(fill_value=0)
        order = [p for p in PATH_ORDER if p in mix.columns] + sorted(
            c for c in mix.columns if c not in PATH_ORDER
        )
        mix = mix[order].astype("int64")
        mix.columns.name = "path"
        return mix

    def timeline(self) -> str:
        """A plain-text account of the run for the terminal (see :func:`format_timeline`)."""
        return format_timeline(self)


def _task_status(result: dict[str, Any] | None, error: Any) -> str:
    if result is not None:
        return "done"
    if not error:
        return "pending"
    # Checkpoints keep a task's error as its repr (or the exception itself).
    text = error if isinstance(error, str) else repr(error)
    return "interrupted" if text.startswith(("KeyboardInterrupt", "CancelledError")) else "error"


def _seconds_between(start: str | None, end: str | None) -> float | None:
    from datetime import datetime

    if not start or not end:
        return None
    try:
        return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 6)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _timing_key(timing: dict[str, Any]) -> tuple[str, str, float]:
    return (str(timing.get("node")), str(timing.get("subject")), round(_float(timing.get("s")) or 0.0, 9))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _short(text: Any, width: int = 160) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= width else s[: width - 3] + "..."


def format_timeline(run: Run) -> str:
    """The run as text: header, each node in order with its seconds, each task with its path
    (first pass / retry / escalation / unresolved), the model calls it made (model, tokens,
    latency) and its findings, then totals per model."""
    info = run.info
    lines = [f"run {run.run_id} ({info['status']})"]
    lines.append(f"  repo      {info.get('repo')}")
    lines.append(f"  out       {info.get('out')}")
    took = ""
    if info.get("finished") is not None and info.get("started") is not None:
        took = f" ({info['finished'] - info['started']:.1f}s)"
    lines.append(f"  started   {_when(info.get('started'))}")
    lines.append(f"  finished  {_when(info.get('finished'))}{took}")

    nodes = run.node_rows()
    lines += ["", f"nodes ({_plural(len(nodes), 'execution')})"]
    width = max((len(str(n["subject"] or "")) for n in nodes), default=0)
    for n in nodes:
        step = f"{n['step']:>3}" if n["step"] is not None else "  ?"
        secs = f"{n['seconds']:8.3f}s" if n["seconds"] is not None else "        -"
        tail = "" if n["status"] == "done" else f"  ({n['status']})"
        lines.append(f"  step {step}  {n['node']:<12} {n['subject'] or ''!s:<{width}} {secs}{tail}")

    results = run.task_results()
    counts = Counter(r.get("path") for r in results)
    summary = ", ".join(f"{counts[p]} {PATH_LABELS[p]}" for p in PATH_ORDER if counts[p])
    lines += ["", f"tasks ({len(results)}): {summary or 'none'}"]
    calls_by_task: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for c in run.call_rows():
        calls_by_task.setdefault((c["kind"], c["subject"]), []).append(c)
    for r in results:
        path = r.get("path")
        label = PATH_LABELS.get(path, str(path))
        lines.append(f"  [{r.get('kind')}] {r.get('subject')}: {label} ({path})")
        attempts = r.get("attempts") or []
        calls = calls_by_task.get((r.get("kind"), r.get("subject")), [])
        for i, c in enumerate(calls):
            node = c["node"] or (attempts[i].get("node") if i < len(attempts) else None) or f"call {i + 1}"
            if c["cached"]:
                what = "cached answer"
            else:
                what = f"{c['tokens_in']} in / {c['tokens_out']} out tokens, {c['latency_s']:.3f}s"
                if c["attempts"] > 1:
                    what += f", {c['attempts']} tries"
            if c["error"]:
                what += f", error ({c['error_kind'] or 'error'}): {_short(c['error'], 100)}"
            lines.append(f"      {node:<15} {c['model']}: {what}")
        for stage, key in (("first pass", "findings_before"), ("left", "findings_after")):
            found = r.get(key) or []
            if not found and (stage == "left" or path in ("slm_first_pass", "evidence_only", "cached")):
                continue
            lines.append(f"      findings ({stage}): {len(found) or 'none'}")
            for f in found:
                lines.append(f"        {f.get('severity')} [{f.get('rule')}] {_short(f.get('message'))}")
        if r.get("dropped"):
            lines.append(f"      dropped: {', '.join(r['dropped'])}")

    per_model: dict[str, dict[str, float]] = {}
    for c in run.call_rows():
        m = per_model.setdefault(
            str(c["model"]), {"calls": 0, "cached": 0, "failed": 0, "in": 0, "out": 0, "latency": 0.0}
        )
        m["calls"] += 1
        m["cached"] += c["cached"]
        m["failed"] += 1 if c["error"] else 0
        m["in"] += c["tokens_in"]
        m["out"] += c["tokens_out"]
        m["latency"] += c["latency_s"]
    lines += ["", "models"]
    if not per_model:
        lines.append("  (no model calls)")
    for model, m in per_model.items():
        extra = "".join(f", {int(m[k])} {k}" for k in ("cached", "failed") if m[k])
        lines.append(
            f"  {model}: {_plural(int(m['calls']), 'call')}{extra},"
            f" {int(m['in'])} in / {int(m['out'])} out tokens, {m['latency']:.2f}s"
        )
    return "\n".join(lines) + "\n"
