"""The evidence cache: per-file extraction results keyed by content hash, in SQLite.

The cache lives inside the target repository by default (``REPO/.pipeline/``), so its
content is as untrusted as the repository: values are JSON (never pickle) and carry a
checksum, and anything that does not decode is treated as a miss and recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

from pipeline.evidence.model import CallRecord, Edge, FileEvidence, ImportRecord, Param, Symbol

# Bump when the extraction output changes shape or meaning: every cached entry is then stale.
EXTRACTOR_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (key TEXT PRIMARY KEY, checksum TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, hash TEXT);
CREATE TABLE IF NOT EXISTS graph (name TEXT PRIMARY KEY, fingerprint TEXT, checksum TEXT, data BLOB);
"""


def _pack(obj: Any) -> tuple[bytes, str]:
    raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    blob = zlib.compress(raw, 1)
    return blob, hashlib.sha256(blob).hexdigest()[:16]


def _unpack(blob: bytes, checksum: str) -> Any:
    if hashlib.sha256(blob).hexdigest()[:16] != checksum:
        raise ValueError("checksum mismatch")
    return json.loads(zlib.decompress(blob))


def evidence_to_dict(ev: FileEvidence) -> dict[str, Any]:
    return {
        "path": ev.path,
        "language": ev.language,
        "hash": ev.hash,
        "module": ev.module,
        "symbols": [s.to_dict() for s in ev.symbols],
        "edges": [
            {"source": e.source, "target": e.target, "kind": e.kind, "line": e.line, "attrs": e.attrs}
            for e in ev.edges
        ],
        "imports": [[i.scope, i.module, i.name, i.alias, i.line, i.level] for i in ev.imports],
        "calls": [[c.caller, c.callee, c.line] for c in ev.calls],
        "has_errors": ev.has_errors,
        "error_lines": ev.error_lines,
    }


def evidence_from_dict(d: dict[str, Any]) -> FileEvidence:
    symbols = []
    for s in d["symbols"]:
        params = s.get("params")
        s = dict(s)
        s["params"] = [Param(**p) for p in params] if params is not None else None
        s.setdefault("returns", None)
        symbols.append(Symbol(**s))
    return FileEvidence(
        path=d["path"],
        language=d["language"],
        hash=d["hash"],
        module=d["module"],
        symbols=symbols,
        edges=[Edge(**e) for e in d["edges"]],
        imports=[ImportRecord(*i) for i in d["imports"]],
        calls=[CallRecord(*c) for c in d["calls"]],
        has_errors=d["has_errors"],
        error_lines=list(d["error_lines"]),
    )


def file_key(language: str, path: str, module: str, content_hash: str) -> str:
    """Cache key of one file's extraction: everything that determines its output."""
    return hashlib.sha256(
        f"{EXTRACTOR_VERSION}\0{language}\0{path}\0{module}\0{content_hash}".encode()
    ).hexdigest()


class EvidenceCache:
    """SQLite-backed cache; every failure degrades to a miss, never to an error."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "evidence.sqlite"
        self.hits = 0
        self.misses = 0
        self.corrupt = 0
        self._db: sqlite3.Connection | None = None
        self._open()

    def _open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
        except sqlite3.DatabaseError:
            # Not a database (torn or planted file): start afresh.
            self.corrupt += 1
            with contextlib.suppress(OSError):
                self.path.unlink()
            try:
                self._db = self._connect()
            except (OSError, sqlite3.Error):
                self._db = None
        except OSError:
            self._db = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- stat index: avoids reading unchanged files just to hash them ---------------------
    def stat_index(self) -> dict[str, tuple[int, int, str]]:
        if self._db is None:
            return {}
        try:
            rows = self._db.execute("SELECT path, size, mtime_ns, hash FROM stat").fetchall()
        except sqlite3.Error:
            return {}
        return {p: (s, m, h) for p, s, m, h in rows}

    def save_stat_index(self, entries: dict[str, tuple[int, int, str]]) -> None:
        if self._db is None:
            return
        # A file modified in the same clock tick as this write could keep its mtime:
        # do not trust entries that are too fresh ("racily clean", as git calls it).
        horizon = time.time_ns() - 2_000_000_000
        rows = [(p, s, m, h) for p, (s, m, h) in entries.items() if m < horizon]
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM stat")
            self._db.executemany("INSERT INTO stat VALUES (?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    # -- per-file entries ---------------------------------------------------------------
    def get_many(self, keys: list[str]) -> dict[str, FileEvidence]:
        out: dict[str, FileEvidence] = {}
        if self._db is None or not keys:
            self.misses += len(keys)
            return out
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            try:
                rows = self._db.execute(
                    f"SELECT key, checksum, data FROM files WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            except sqlite3.Error:
                rows = []
            for key, checksum, blob in rows:
                try:
                    out[key] = evidence_from_dict(_unpack(blob, checksum))
                except (ValueError, TypeError, KeyError, zlib.error):
                    self.corrupt += 1
        self.hits += len(out)
        self.misses += len(keys) - len(out)
        return out

    def put_many(self, items: dict[str, FileEvidence]) -> None:
        if self._db is None or not items:
            return
        rows = []
        for key, ev in items.items():
            blob, checksum = _pack(evidence_to_dict(ev))
            rows.append((key, checksum, blob))
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")

    # -- whole linked graph: a no-op rebuild loads it instead of relinking ----------------
    def get_graph(self, fingerprint: str) -> dict[str, Any] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT fingerprint, checksum, data FROM graph WHERE name='evidence'"
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None or row[0] != fingerprint:
            return None
        try:
            return _unpack(row[2], row[1])
        except (ValueError, zlib.error):
            self.corrupt += 1
            return None

    def put_graph(self, fingerprint: str, data: dict[str, Any]) -> None:
        if self._db is None:
            return
        blob, checksum = _pack(data)
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "INSERT OR REPLACE INTO graph VALUES ('evidence', ?, ?, ?)", (fingerprint, checksum, blob)
            )

    def prune(self, live_keys: set[str]) -> None:
        """Drop entries no longer produced by any file (keeps the cache bounded)."""
        if self._db is None:
            return
        with contextlib.suppress(sqlite3.Error):
            existing = {k for (k,) in self._db.execute("SELECT key FROM files")}
            dead = existing - live_keys
            if dead:
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM files WHERE key = ?", [(k,) for k in dead])
                self._db.execute("COMMIT")
