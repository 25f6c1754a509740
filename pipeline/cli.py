"""Command line: ``python -m pipeline evidence|run|validate|...``.

Exit codes: 0 success; 1 validation findings (or docs drift); 2 usage or input error;
3 model backend unreachable (or a model missing from it); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline import __version__

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130

_err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _progress_factory(console: Console):
    """Return (callback, close) drawing a progress bar once parsing is large enough to wait for."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    state: dict[str, object] = {}

    def callback(done: int, total: int) -> None:
        if total < 200:
            return
        if "p" not in state:
            p = Progress(
                TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            )
            p.start()
            state["p"] = p
            state["t"] = p.add_task("parse", total=total)
        state["p"].update(state["t"], completed=done)  # type: ignore[attr-defined]

    def close() -> None:
        if "p" in state:
            state["p"].stop()  # type: ignore[attr-defined]

    return callback, close


def cmd_evidence(args: argparse.Namespace) -> int:
    from pipeline.evidence.builder import BuildOptions, build_evidence

    console = Console(stderr=True)
    progress, close = _progress_factory(console)
    options = BuildOptions(
        max_bytes=args.max_bytes,
        jobs=args.jobs,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        use_cache=not args.no_cache,
        progress=progress,
    )
    try:
        graph, stats = build_evidence(Path(args.repo), options)
    finally:
        close()
    if args.out:
        out = Path(args.out)
        if out.exists() and out.is_dir():
            raise UsageError(f"--out must be a file path, not a folder: {out}")
        graph.to_json(out)
    s = graph.summary()
    table = Table(title=f"evidence: {args.repo}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("files", str(s.files))
    for lang, n in sorted(s.languages.items()):
        table.add_row(f"  {lang}", str(n))
    for kind, n in sorted(s.symbols.items()):
        table.add_row(f"symbols: {kind}", str(n))
    table.add_row("dependencies", str(s.dependencies))
    if s.files_with_errors:
        table.add_row("files with syntax errors", str(s.files_with_errors))
    for reason, n in sorted(s.skipped.items()):
        table.add_row(f"skipped: {reason}", str(n))
    Console(highlight=False).print(table)
    how = "cache" if stats.graph_cache_hit else f"parsed {stats.parsed}, cached {stats.cached}"
    Console(highlight=False).print(
        f"built in {stats.seconds:.2f}s ({how})" + (f"; wrote {args.out}" if args.out else "")
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.evidence.builder import check_repo
    from pipeline.graph.context import Settings
    from pipeline.runner import RunOptions, check_drift, execute, publish

    repo = check_repo(Path(args.repo))
    settings = Settings(timeout_s=args.timeout, concurrency=args.jobs, include_private=args.include_private)
    console = Console(stderr=True, highlight=False, markup=False)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("documenting", total=None)
    started: list[bool] = []

    def on_progress(node: str, done: int, total: int) -> None:
        if not started:  # drawn once tasks run, so early errors stay one clean line
            progress.start()
            started.append(True)
        progress.update(task, completed=done, total=total, description=f"documenting ({node})")

    opts = RunOptions(
        repo=repo,
        out=Path(args.out) if args.out else None,
        profile=args.profile,
        slm=args.slm,
        llm=args.llm,
        jobs=args.jobs,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        check=args.check,
        resume=args.resume,
        since=args.since,
        settings=settings,
        progress=on_progress,
    )
    from pipeline.lock import RunLock
    from pipeline.publish import PublishError, link_escape

    cache_root = Path(args.cache_dir) if args.cache_dir else repo / ".pipeline"
    why = link_escape(cache_root, repo)
    if why is not None:
        raise PublishError(why)
    # One run at a time per repository: the lock covers the whole run and its publish.
    lock = RunLock(cache_root)
    try:
        lock.acquire()
        result = execute(opts)
    except BaseException:
        lock.release()
        raise
    finally:
        if started:
            progress.stop()
    report = result.report
    console.print(f"profile: {report['profile']} ({report['profile_reason']})")
    if args.check:
        problems = check_drift(result)
        for line in problems:
            console.print(f"drift: {line}")
        for f in report["published_findings"]:
            console.print(f"finding: [{f['rule']}] {f['message']}")
        status = "drift" if problems else "findings" if report["published_findings"] else "ok"
        _summary_line(report, status, drift=len(problems))
        lock.release()
        return EXIT_FINDINGS if status != "ok" else EXIT_OK
    try:
        publish(result)
    finally:
        lock.release()
    _print_summary(report, result.out)
    status = "findings" if report["published_findings"] else "ok"
    _summary_line(report, status)
    return EXIT_FINDINGS if status != "ok" else EXIT_OK


def _summary_line(report: dict, status: str, **extra: int) -> None:
    """One JSON line for CI logs: ``pipeline-summary: {...}``."""
    import json

    tasks = report["tasks"]
    line = {
        "status": status,
        "run_id": report.get("run_id"),
        "profile": report["profile"],
        "symbols": report["symbols_total"],
        "documented": report["symbols_documented"],
        "slm_share": report.get("slm_share"),
        "escalated": tasks.get("llm_escalated", 0),
        "unresolved": tasks.get("unresolved", 0),
        "published_errors": len(report["published_findings"]),
        "existence_ratio": report.get("existence_ratio"),
        "model_calls": report["incremental"]["model_calls"],
        "reused": report["incremental"]["reused"],
        "regenerated": report["incremental"]["regenerated"],
        "seconds": report["duration_s"].get("total"),
        **extra,
    }
    print("pipeline-summary: " + json.dumps(line, sort_keys=True), flush=True)


def _print_summary(report: dict, out: Path) -> None:
    tasks = report["tasks"]
    table = Table(title="run summary", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("symbols documented", f"{report['symbols_documented']} / {report['symbols_total']}")
    share = report.get("slm_share")
    table.add_row("SLM share", f"{share:.0%}" if share is not None else "n/a (no model)")
    for path in ("slm_first_pass", "slm_retry", "llm_escalated", "unresolved", "evidence_only"):
        if tasks.get(path):
            table.add_row(f"tasks: {path}", str(tasks[path]))
    for model, n in report["model_calls"].items():
        tok = report["tokens"][model]
        table.add_row(f"calls: {model}", f"{n} ({tok['in']} in / {tok['out']} out tokens)")
    ratio = report.get("existence_ratio")
    table.add_row("existence ratio", f"{ratio:.1%}" if ratio is not None else "n/a")
    table.add_row("published errors", str(len(report["published_findings"])))
    table.add_row("time", f"{report['duration_s'].get('total', 0):.1f}s")
    Console(highlight=False).print(table)
    Console(highlight=False).print(f"wrote {out}")


def cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.agents.validator import validate_markdown
    from pipeline.evidence.builder import BuildOptions, build_evidence

    graph, _ = build_evidence(Path(args.repo), BuildOptions(use_cache=not args.no_cache))
    results = []
    for name in args.files:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from None
        for f in validate_markdown(graph, text, source=name):
            results.append({"file": name, **f.to_dict()})
    errors = [r for r in results if r["severity"] == "error"]
    if args.json:
        import json

        print(json.dumps({"findings": results, "errors": len(errors)}, indent=2))
    else:
        out = Console(highlight=False, markup=False, soft_wrap=True)
        for r in results:
            out.print(f"{r['file']}: {r['severity']} [{r['rule']}] {r['message']}")
        out.print(
            f"{len(errors)} error(s), {len(results) - len(errors)} other finding(s) "
            f"in {len(args.files)} file(s)"
        )
    return EXIT_FINDINGS if errors else EXIT_OK


def cmd_trace(args: argparse.Namespace) -> int:
    from pipeline.trace import TraceError, load_run, resolve_cache_dir

    try:
        with load_run(args.run, cache_dir=resolve_cache_dir(args.cache_dir, args.repo)) as run:
            text = run.timeline()
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(text)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pipeline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evidence", help="build the evidence graph of a repository and write it as JSON")
    ev.add_argument("repo", help="repository folder")
    ev.add_argument("--out", help="JSON file to write (schema_version 1)")
    ev.add_argument("--jobs", type=int, default=0, help="parser processes (default: all cores)")
    ev.add_argument("--max-bytes", type=int, default=2_000_000, help="skip source files larger than this")
    ev.add_argument("--cache-dir", help="cache folder (default: REPO/.pipeline/cache)")
    ev.add_argument("--no-cache", action="store_true", help="parse everything, read and write no cache")
    ev.set_defaults(func=cmd_evidence)

    run = sub.add_parser("run", help="write reference docs for a repository")
    run.add_argument("repo", help="repository folder")
    run.add_argument("--out", help="output folder (default: REPO/docs/reference)")
    run.add_argument(
        "--profile",
        default="auto",
        choices=["auto", "embedded", "ollama", "openai", "evidence-only"],
        help="which models to use (default: auto)",
    )
    run.add_argument(
        "--slm", help="small model spec, e.g. ollama:qwen2.5-coder:1.5b or llamacpp:embedded-0.5b"
    )
    run.add_argument("--llm", help="escalation model spec, e.g. ollama:qwen2.5-coder:7b")
    run.add_argument("--jobs", type=int, default=2, help="concurrent model tasks (default: 2)")
    run.add_argument("--timeout", type=float, default=120.0, help="seconds per model call (default: 120)")
    run.add_argument("--cache-dir", help="cache folder (default: REPO/.pipeline)")
    run.add_argument("--include-private", action="store_true", help="document private symbols too")
    run.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the docs on disk differ from a fresh run or fail validation",
    )
    run.add_argument(
        "--resume", nargs="?", const="last", help="continue an interrupted run (default: the last one)"
    )
    run.add_argument("--since", help="git revision: list what changed since it in the report")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check Markdown files against a repository's evidence")
    val.add_argument("repo", help="repository folder")
    val.add_argument("files", nargs="+", help="Markdown files (generated or hand-written)")
    val.add_argument("--json", action="store_true", help="print findings as JSON")
    val.add_argument("--no-cache", action="store_true", help="do not read or write the evidence cache")
    val.set_defaults(func=cmd_validate)

    from pipeline.evaluate import add_arguments as eval_arguments
    from pipeline.evaluate import cmd_eval

    ev2 = sub.add_parser("eval", help="measure docs (generated or hand-written) against the evidence")
    eval_arguments(ev2)
    ev2.set_defaults(func=cmd_eval)

    tr = sub.add_parser("trace", help="print the timeline of a recorded run")
    tr.add_argument(
        "run", nargs="?", default="last", help="run id or a unique prefix (default: the last run)"
    )
    where = tr.add_mutually_exclusive_group()
    where.add_argument("--cache-dir", help="cache folder holding runs.sqlite (default: REPO/.pipeline)")
    where.add_argument("--repo", help="repository whose .pipeline folder to read (default: current folder)")
    tr.set_defaults(func=cmd_trace)
    return parser


def _known_error(exc: Exception) -> int | None:
    """Exit code for errors a user can cause and fix (bad model spec, server down, ...)."""
    from pipeline.models import spec as model_spec

    backend = (model_spec.ModelBackendUnreachable, model_spec.ModelNotFound, model_spec.ModelBackendMissing)
    if isinstance(exc, backend):
        return EXIT_BACKEND
    if isinstance(exc, model_spec.ModelError):
        return EXIT_USAGE
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pipeline.evidence.builder import RepoError
    from pipeline.lock import LockBusy, LockError
    from pipeline.publish import PublishError
    from pipeline.runner import ResumeError
    from pipeline.runner import UsageError as RunnerUsageError

    started = time.perf_counter()
    try:
        return int(args.func(args))
    except (UsageError, RepoError, RunnerUsageError, ResumeError, LockBusy, LockError, PublishError) as exc:
        _err.print(f"error: {exc}")
        return EXIT_USAGE
    except Exception as exc:
        code = _known_error(exc)
        if code is None:
            raise
        _err.print(f"error: {exc}")
        return code
    except KeyboardInterrupt:
        _err.print(f"interrupted after {time.perf_counter() - started:.1f}s")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
