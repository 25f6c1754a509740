"""Model-output cache: every answer keyed by the hash of everything that produced it.

The key covers the agent, the full prompt (system prompt file, the evidence given, the
dependency summaries given as context, the findings of a retry), the JSON schema, and the
model spec with its settings. A second run on an unchanged repository therefore makes no
model call, and a change re-runs exactly the tasks whose prompts changed: the edited
symbol, then (through the summaries in their context) its callers and its module page.

The cache sits in the target repository's ``.pipeline`` folder by default, so it is as
trusted as the repository: values are JSON with a checksum, and every cached answer is
validated against the current evidence again before it is published.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outputs (
    key TEXT PRIMARY KEY, kind TEXT, subject TEXT, model TEXT, checksum TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inputs (
    kind TEXT, subject TEXT, evidence TEXT, context TEXT, prompt TEXT, model TEXT,
    PRIMARY KEY (kind, subject)
);
"""
# What can make a task's first prompt differ from the last run's, in the order reported.
INPUT_PARTS = ("evidence", "context", "prompt", "model")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class OutputCache:
    """SQLite store of model answers. Any failure is a miss, never an error."""

    def __init__(self, path: Path, settings_key: str = "") -> None:
        self.path = Path(path)
        self.settings_key = settings_key
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
        except sqlite3.DatabaseError:
            self._heal()
        except OSError:
            self._db = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            # A torn page found now costs one rebuild; found mid-run it would also drop the
            # answers stored before it.
            if db.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise sqlite3.DatabaseError("cache database failed its integrity check")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _heal(self) -> None:
        """A torn database page: drop the file and start an empty cache (answers are redone)."""
        with contextlib.suppress(Exception):
            if self._db is not None:
                self._db.close()
        self._db = None
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                self.path.with_name(self.path.name + suffix).unlink()
        with contextlib.suppress(OSError, sqlite3.Error):
            self._db = self._connect()

    def key(self, agent: Any, ctx: Any, subject: str, messages: list[BaseMessage], spec: str) -> str:
        parts = [
            agent.kind,
            subject,
            spec,
            self.settings_key,
            json.dumps(agent.schema(ctx, subject), sort_keys=True),
            *(f"{m.type}\0{m.content}" for m in messages),
        ]
        return _digest("\0\1".join(parts))

    def get(
        self, agent: Any, ctx: Any, subject: str, messages: list[BaseMessage], spec: str
    ) -> dict[str, Any] | None:
        if self._db is None:
            return None
        key = self.key(agent, ctx, subject, messages, spec)
        with self._lock:
            try:
                row = self._db.execute("SELECT checksum, data FROM outputs WHERE key = ?", (key,)).fetchone()
            except sqlite3.DatabaseError:
                self._heal()
                row = None
            except sqlite3.Error:
                row = None
        if row is None or _digest(row[1]) != row[0]:
            self.misses += 1
            return None
        try:
            value = json.loads(row[1])
        except ValueError:
            self.misses += 1
            return None
        self.hits += 1
        return value if isinstance(value, dict) else None

    def put(
        self,
        agent: Any,
        ctx: Any,
        subject: str,
        messages: list[BaseMessage],
        spec: str,
        output: dict[str, Any],
    ) -> None:
        if self._db is None:
            return
        key = self.key(agent, ctx, subject, messages, spec)
        data = json.dumps(output, sort_keys=True, ensure_ascii=False)
        row = (key, agent.kind, subject, spec, _digest(data), data)
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)", row)
            except sqlite3.DatabaseError:
                self._heal()
                if self._db is not None:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)", row)
            except sqlite3.Error:
                pass

    def why_changed(self, kind: str, subject: str, parts: dict[str, str]) -> str:
        """Why a first-pass prompt missed the cache: which input differs from the last run.

        Records ``parts`` as the new last inputs. Returns ``"new"`` for a task never seen,
        else e.g. ``"evidence changed"`` or ``"context changed"`` (a dependency's summary).
        """
        if self._db is None:
            return "no cache"
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT evidence, context, prompt, model FROM inputs WHERE kind = ? AND subject = ?",
                    (kind, subject),
                ).fetchone()
                self._db.execute(
                    "INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?, ?, ?)",
                    (kind, subject, *(parts[p] for p in INPUT_PARTS)),
                )
            except sqlite3.Error:
                return "no cache"
        if row is None:
            return "new"
        changed = [p for p, old in zip(INPUT_PARTS, row, strict=True) if parts[p] != old]
        return " and ".join(changed) + " changed" if changed else "retry inputs changed"

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
