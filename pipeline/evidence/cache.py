"""The evidence cache: per-file extraction results keyed by content hash, in SQLite.

The cache lives inside the target repository by default (``REPO/.pipeline/``), so its
content is as untrusted as the repository: values are JSON (never pickle) and carry a
checksum, their shape is checked before use, and anything that does not decode or has the
wrong shape is treated as a miss and recomputed.

Per-file entries are the JSON form of a :class:`FileEvidence` (:func:`evidence_to_dict`);
the linker works on that form directly. The linked graph is stored as the list of per-file
entries it was built from plus what linking added (resolved imports, bases, calls, raises,
manifests), so a no-op rebuild only has to compare fingerprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

import orjson

from pipeline.evidence.model import FileEvidence

# Bump when the extraction output changes shape or meaning: every cached entry is then stale.
EXTRACTOR_VERSION = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (key TEXT PRIMARY KEY, checksum TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, hash TEXT);
CREATE TABLE IF NOT EXISTS graph (name TEXT PRIMARY KEY, fingerprint TEXT, checksum TEXT, data BLOB);
"""


def pack(obj: Any) -> tuple[bytes, str]:
    """JSON, compressed, with its checksum: the form every cache value is stored in."""
    blob = zlib.compress(orjson.dumps(obj), 1)
    return blob, hashlib.sha256(blob).hexdigest()[:16]


def unpack(blob: bytes, checksum: str) -> Any:
    """Inverse of :func:`pack`; ``ValueError`` (or ``zlib.error``) when it does not check out."""
    if not isinstance(blob, bytes) or hashlib.sha256(blob).hexdigest()[:16] != checksum:
        raise ValueError("checksum mismatch")
    return orjson.loads(zlib.decompress(blob))


# A file's entry is stored in two parts: its own nodes and edges ("structure", all a cached
# graph needs to be loaded again) and what only linking reads (its imports and call sites).
INPUT_FIELDS = ("imports", "calls")


def inputs_key(key: str) -> str:
    """Cache key of the linking inputs of the file whose entry is ``key``."""
    return f"{key}/inputs"


def pack_evidence(ev: FileEvidence) -> tuple[tuple[bytes, str], tuple[bytes, str]]:
    """The two packed parts of a file's entry: structure, then linking inputs."""
    d = evidence_to_dict(ev)
    inputs = {k: d.pop(k) for k in INPUT_FIELDS}
    return pack(d), pack(inputs)


_STR_OR_NONE = (str, type(None))


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def valid_structure(d: Any) -> bool:
    """Is ``d`` a well-formed structure part of a file's entry? A planted entry can carry a
    valid checksum, so the shape the graph relies on is checked before anything is built."""
    if not isinstance(d, dict):
        return False
    if not all(isinstance(d.get(k), str) for k in ("path", "language", "hash", "module")):
        return False
    if not isinstance(d.get("has_errors"), bool) or not isinstance(d.get("error_lines"), list):
        return False
    symbols, edges = d.get("symbols"), d.get("edges")
    if not (isinstance(symbols, list) and isinstance(edges, list)):
        return False
    for s in symbols:
        if type(s) is not dict:
            return False
        get = s.get
        if not (
            type(get("id")) is str
            and type(get("kind")) is str
            and type(get("name")) is str
            and type(get("qualname")) is str
            and type(get("file")) is str
            and type(get("line_start")) is int
            and type(get("line_end")) is int
            and type(get("public")) is bool
            and type(get("extra")) is dict
            and _is_str_list(get("decorators"))
            and isinstance(get("parent"), _STR_OR_NONE)
            and isinstance(get("docstring"), _STR_OR_NONE)
        ):
            return False
        params = get("params")
        if params is not None:
            if type(params) is not list:
                return False
            for p in params:
                if not (
                    type(p) is dict
                    and type(p.get("name")) is str
                    and type(p.get("kind")) is str
                    and isinstance(p.get("annotation"), _STR_OR_NONE)
                    and isinstance(p.get("default"), _STR_OR_NONE)
                ):
                    return False
        extra = get("extra")
        for listed in (extra.get("bases"), extra.get("raises")):
            if listed is not None and not _is_str_list(listed):
                return False
    for e in edges:
        if not (
            isinstance(e, dict)
            and isinstance(e.get("source"), str)
            and isinstance(e.get("target"), str)
            and isinstance(e.get("kind"), str)
            and isinstance(e.get("attrs"), dict)
            and isinstance(e.get("line"), (int, type(None)))
        ):
            return False
    return True


def valid_inputs(d: Any) -> bool:
    """Is ``d`` a well-formed linking-inputs part (imports and call sites) of a file's entry?"""
    if not isinstance(d, dict):
        return False
    imports, calls = d.get("imports"), d.get("calls")
    if not (isinstance(imports, list) and isinstance(calls, list)):
        return False
    for i in imports:
        if not (
            isinstance(i, list)
            and len(i) == 6
            and isinstance(i[0], str)
            and isinstance(i[1], str)
            and isinstance(i[2], _STR_OR_NONE)
            and isinstance(i[3], _STR_OR_NONE)
            and isinstance(i[4], int)
            and isinstance(i[5], int)
        ):
            return False
    for c in calls:
        if not (
            isinstance(c, list)
            and len(c) == 3
            and isinstance(c[0], str)
            and isinstance(c[1], str)
            and isinstance(c[2], int)
        ):
            return False
    return True


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
    def get_many(self, keys: list[str], *, inputs: bool = False) -> dict[str, dict[str, Any]]:
        """The well-formed entries among ``keys``, in their JSON form: structure parts, or with
        ``inputs`` the linking-inputs parts (see :func:`valid_structure`, :func:`valid_inputs`)."""
        valid = valid_inputs if inputs else valid_structure
        out: dict[str, dict[str, Any]] = {}
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
                    d = unpack(blob, checksum)
                except (ValueError, TypeError, zlib.error):
                    d = None
                if valid(d):
                    out[key] = d
                else:
                    self.corrupt += 1
        self.hits += len(out)
        self.misses += len(keys) - len(out)
        return out

    def count_present(self, keys: list[str]) -> int:
        """How many of ``keys`` have an entry (without reading them)."""
        if self._db is None or not keys:
            return 0
        found = 0
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                (n,) = self._db.execute(
                    f"SELECT count(*) FROM files WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchone()
                found += n
        except sqlite3.Error:
            return 0
        return found

    def put_packed(self, rows: list[tuple[str, str, bytes]]) -> None:
        """Store already packed entries: ``(key, checksum, blob)`` (see :func:`pack`)."""
        if self._db is None or not rows:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")

    # -- whole linked graph: a no-op rebuild loads it instead of relinking ----------------
    def has_graph(self, fingerprint: str) -> bool:
        """Is the stored linked graph the one of ``fingerprint`` (without reading it)?"""
        if self._db is None:
            return False
        try:
            row = self._db.execute("SELECT fingerprint FROM graph WHERE name='evidence'").fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == fingerprint

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
            return unpack(row[2], row[1])
        except (ValueError, TypeError, zlib.error):
            self.corrupt += 1
            return None

    def put_graph(self, fingerprint: str, data: dict[str, Any]) -> None:
        if self._db is None:
            return
        blob, checksum = pack(data)
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "INSERT OR REPLACE INTO graph VALUES ('evidence', ?, ?, ?)", (fingerprint, checksum, blob)
            )

    def prune(self, live_keys: set[str]) -> None:
        """Drop entries no longer produced by any file (keeps the cache bounded)."""
        if self._db is None:
            return
        live = live_keys | {inputs_key(k) for k in live_keys}
        with contextlib.suppress(sqlite3.Error):
            existing = {k for (k,) in self._db.execute("SELECT key FROM files")}
            dead = existing - live
            if dead:
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM files WHERE key = ?", [(k,) for k in dead])
                self._db.execute("COMMIT")
