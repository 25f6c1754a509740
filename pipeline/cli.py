"""Command line: ``python -m pipeline evidence|run|validate|...``.

Exit codes: 0 success; 1 validation findings (or docs drift); 2 usage or input error;
3 model backend unreachable; 130 interrupted.
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

_err = Console(stderr=True, highlight=False)


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
    Console(highlight=False).print(f"built in {stats.seconds:.2f}s ({how})" + (f"; wrote {args.out}" if args.out else ""))
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pipeline.evidence.builder import RepoError

    started = time.perf_counter()
    try:
        return int(args.func(args))
    except (UsageError, RepoError) as exc:
        _err.print(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err.print(f"interrupted after {time.perf_counter() - started:.1f}s")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
