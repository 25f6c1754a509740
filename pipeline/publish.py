"""Publishing the output folder without ever leaving a mix of old and new docs.

A run may be killed at any moment (Ctrl-C twice, OOM killer, a CI timeout, a power cut).
Whatever the moment, the output folder afterwards holds either the previous docs intact or
the new docs complete, and nothing is written outside the output folder and the cache folder.

How (see :func:`publish_files`):

- The complete new tree, with a manifest (``.pipeline-manifest.json``: every file the
  pipeline wrote and its SHA-256), is first written into a staging folder under the cache
  folder, then swapped with the output folder. On Linux the swap is one atomic
  ``renameat2(RENAME_EXCHANGE)``: there is no moment at which the output folder is missing
  or mixed. Elsewhere it is two renames (``out -> old``, ``staging -> out``) recorded in a
  journal; a crash between them leaves the folder missing for a moment, and :func:`recover`
  (run at the start of every publish) puts the previous docs back.
- The swap replaces the whole folder, so it is used only when the output folder holds nothing
  but the pipeline's own output as its manifest records it (or is empty, or missing). A folder
  with anything else in it (a user's notes, hand-written pages, a generated page edited by
  hand) is published file by file instead: the new files are staged, a journal lists every
  step, and each file is moved into place with an atomic rename. A crash in that phase is
  finished by :func:`recover` (it rolls forward: the staged files are complete). Only files the
  manifest says the pipeline wrote, unchanged since, are ever deleted or overwritten; any
  other file in the way of a new page is moved to a ``replaced`` folder in the cache folder
  (inside the output folder when there is no cache folder on the same file system), never lost.
- When the cache folder is on another file system than the output folder (renames cannot
  cross file systems), the staging folder is ``out/.pipeline-staging-<id>`` and the
  file-by-file publish is used.

The cache folder sits in the (untrusted) repository by default, so recovery acts on a journal
only for folders whose identity (device and inode) the journal recorded when this machine made
them: a journal shipped in a repository moves and deletes nothing outside the cache folder. An
output folder that is itself a symbolic link is refused, and :func:`link_escape` tells when a
link in the repository would take a default folder somewhere else.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.render.paths import safe_join
from pipeline.util import write_temp

log = logging.getLogger(__name__)

MANIFEST = ".pipeline-manifest.json"
STAGING_PREFIX = ".pipeline-staging-"
REPLACED_IN_OUT = ".pipeline-replaced"
# Under the cache folder: staging trees and journals, and files moved out of the way.
PUBLISH_DIR = "publish"
REPLACED_DIR = "replaced"
_JOURNAL = "journal.json"
_MANIFEST_VERSION = 1
_RESERVED_PREFIX = ".pipeline-"


class PublishError(Exception):
    """The output folder cannot be published to; the message says what to do, in one line."""


# -- file system primitives: module-level so fault-injection tests can wrap them ---------------
def _rename(src: Path | str, dst: Path | str) -> None:
    os.rename(src, dst)


def _replace(src: Path | str, dst: Path | str) -> None:
    os.replace(src, dst)


def _rmtree(path: Path | str) -> None:
    if os.path.islink(path):
        _unlink(path)  # a link is removed, what it points to is not ours
    else:
        shutil.rmtree(path, ignore_errors=True)


def _unlink(path: Path | str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _write(path: Path, data: bytes) -> None:
    """Write a file atomically in two steps a crash can fall between: a temporary file beside
    ``path`` (``.<name>.<random>.tmp``; recovery removes one left in the staging area), then a
    rename onto ``path``."""
    tmp = write_temp(path, data)
    try:
        _replace(tmp, path)
    except OSError:
        _unlink(tmp)
        raise


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path | str, b: Path | str) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False, having changed nothing, where the system or file system cannot do it.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), os.fspath(a), None, os.fspath(b))


# -- small helpers ------------------------------------------------------------------------------
def _fsync_dir(path: Path | str) -> None:
    """Make renames inside ``path`` durable (a power cut must not undo the swap)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path | str) -> str | None:
    """SHA-256 of a regular file, read without following a link; None for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        h = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def _check_rel(rel: str) -> str:
    """An output-relative path as the runner gives it: plain, relative, not a reserved name."""
    pure = PurePosixPath(rel)
    if (
        not rel
        or "\\" in rel
        or "\x00" in rel
        or pure.is_absolute()
        or pure.as_posix() != rel
        or any(part in ("", ".", "..") for part in pure.parts)
        or pure.parts[0].startswith(_RESERVED_PREFIX)
    ):
        raise ValueError(f"not a publishable output path: {rel!r}")
    return rel


def _target(out: Path, rel: str) -> Path:
    """Where ``rel`` lands in ``out``: the folder is resolved and checked with ``safe_join``; the
    last component is not resolved, so a link planted there is replaced, never written through."""
    parent, _, name = rel.rpartition("/")
    folder = safe_join(out, parent) if parent else Path(out).resolve()
    return folder / name


def content_id(files: dict[str, bytes]) -> str:
    """A stable id of a set of output files: equal ids, equal bytes."""
    h = hashlib.sha256(f"pipeline-publish\0{_MANIFEST_VERSION}\n".encode())
    for rel in sorted(files):
        h.update(f"{rel}\0{_sha256(files[rel])}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _manifest_bytes(files: dict[str, bytes], publish_id: str) -> bytes:
    body = {
        "schema_version": _MANIFEST_VERSION,
        "id": publish_id,
        "files": {rel: _sha256(files[rel]) for rel in sorted(files)},
    }
    return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _read_manifest_at(folder: Path | str) -> dict[str, Any] | None:
    path = os.path.join(folder, MANIFEST)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = os.read(fd, 50_000_000)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return None
    return {"id": str(data.get("id") or ""), "files": dict(files)}


def link_escape(path: Path, repo: Path) -> str | None:
    """Why ``path`` must not be written to, or None: it lies inside ``repo`` as written, but a
    symbolic link in the repository takes it elsewhere.

    The default output and cache folders (``REPO/docs/reference``, ``REPO/.pipeline``) are named
    by the repository's layout, which is untrusted: a planted ``docs -> ~`` or
    ``.pipeline -> ~/.ssh`` would make a run write outside the repository.
    """
    repo_abs = os.path.abspath(repo)
    path_abs = os.path.abspath(path)
    try:
        inside_as_written = os.path.commonpath([repo_abs, path_abs]) == repo_abs
    except ValueError:
        inside_as_written = False
    if not inside_as_written:
        return None
    real_repo = os.path.realpath(repo_abs)
    real = os.path.realpath(path_abs)
    if real == real_repo or real.startswith(real_repo.rstrip(os.sep) + os.sep):
        return None
    return (
        f"{path} leads out of the repository through a symbolic link (to {real}); "
        "remove the link or choose a folder outside the repository"
    )


def read_manifest(out: Path) -> dict[str, str] | None:
    """``output-relative path -> SHA-256`` of the files the pipeline last published into ``out``,
    or None when ``out`` has no (readable) manifest. Use it to tell generated files from others."""
    found = _read_manifest_at(out)
    return found["files"] if found else None


def _journal_bytes(journal: dict[str, Any]) -> bytes:
    return (json.dumps(journal, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _read_journal(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("mode") in ("swap", "files") else None


_TOKEN = re.compile(r"^[0-9]+-[0-9a-f]{12}$")


def _identity(path: Path | str) -> list[int] | None:
    """(device, inode) of a real folder at ``path`` (not a link), else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino] if stat.S_ISDIR(st.st_mode) else None


def _own_dir(parent: Path, name: str) -> Path:
    """``parent/name`` as a real folder: a link planted there is removed, never followed."""
    path = parent / name
    if path.is_symlink() or (os.path.lexists(path) and not path.is_dir()):
        _unlink(path)
    path.mkdir(exist_ok=True)
    return path


def _same_device(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise publishes that share a folder: a blocking ``flock`` on the folder itself (no
    lock file, so nothing is added to an output folder)."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: the run lock is the only guard
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- what is in the output folder ----------------------------------------------------------------
def _walk_files(root: Path) -> Iterator[tuple[str, os.DirEntry[str] | None]]:
    """Every non-directory entry under ``root`` as (relative path, entry); links are not followed.

    An unreadable folder yields (its path, None): its content is unknown.
    """
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            yield rel_dir, None
            continue
        if rel_dir and not entries:
            yield rel_dir + "/", None  # an empty folder is not ours: keep it
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(rel)
            else:
                yield rel, entry


def _is_pristine(out: Path, manifest: dict[str, Any] | None) -> bool:
    """True when ``out`` holds only what its manifest says the pipeline wrote, unchanged."""
    ours = (manifest or {}).get("files", {})
    for rel, entry in _walk_files(out):
        if rel == MANIFEST and manifest is not None:
            continue
        if entry is None or rel not in ours or _file_sha256(entry.path) != ours[rel]:
            return False
    return True


def _ours(path: str, rel: str, manifest: dict[str, Any] | None) -> bool:
    expected = (manifest or {}).get("files", {}).get(rel)
    return expected is not None and _file_sha256(path) == expected


# -- publish ---------------------------------------------------------------------------------------
def publish_files(out: Path, files: dict[str, bytes], *, staging_root: Path | None = None) -> list[Path]:
    """Publish ``files`` (output-relative path -> bytes) as the new content of ``out``.

    Killed at any moment, ``out`` keeps the previous docs or gets the new ones complete (an
    interrupted file-by-file publish is completed by the next publish, or by :func:`recover`).
    Writes only inside ``out`` and ``staging_root`` (the cache folder; staging happens there when
    it is on the same file system). Files the pipeline did not write are never deleted. Returns
    the published paths. Raises :class:`PublishError` when ``out`` is a link or not a folder.
    """
    for rel in files:
        _check_rel(rel)
    out = Path(os.path.abspath(out))
    if os.path.islink(out):
        raise PublishError(
            f"the output folder {out} is a symbolic link; pass its real folder with --out if it is yours"
        )
    if os.path.lexists(out) and not out.is_dir():
        raise PublishError(
            f"the output path {out} exists and is not a folder; remove it or choose another --out"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    publish_id = content_id(files)
    manifest_data = _manifest_bytes(files, publish_id)

    area: Path | None = None
    if staging_root is not None:
        root = Path(os.path.abspath(staging_root))
        root.mkdir(parents=True, exist_ok=True)
        area = _own_dir(root, PUBLISH_DIR)
    # Renames cannot cross file systems: the swap needs the staging area beside out's parent,
    # the file-by-file publish needs it beside out itself (which may be a mount point).
    swap_area = area if area is not None and _same_device(area, out.parent) else None
    files_area = (
        area if area is not None and _same_device(area, out if out.exists() else out.parent) else None
    )
    if files_area is None:
        out.mkdir(exist_ok=True)
    lock_folder = area if area is not None else out
    with _locked(lock_folder):
        _recover(out, staging_root)
        current = _read_manifest_at(out) if out.is_dir() else None
        if current is not None and current["id"] == publish_id and _is_pristine(out, current):
            return [_target(out, rel) for rel in sorted(files)]  # unchanged: nothing to write
        token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        swap = swap_area is not None and (
            not out.exists() or (not os.path.ismount(out) and _is_pristine(out, current))
        )
        if not (
            swap
            and swap_area is not None
            and _publish_swap(out, files, manifest_data, publish_id, swap_area, token)
        ):
            if swap:
                files_area = None  # the swap's rename was refused: stage inside out instead
            _publish_by_file(out, files, manifest_data, publish_id, files_area, token, current)
    return [_target(out, rel) for rel in sorted(files)]


def _stage_tree(folder: Path, files: dict[str, bytes], manifest_data: bytes) -> None:
    folder.mkdir(parents=True)
    for rel, data in sorted(files.items()):
        _write(safe_join(folder, rel), data)
    _write(safe_join(folder, MANIFEST), manifest_data)
    for dirpath, _dirs, _files in os.walk(folder):
        _fsync_dir(dirpath)


def _publish_swap(
    out: Path, files: dict[str, bytes], manifest_data: bytes, publish_id: str, area: Path, token: str
) -> bool:
    """Stage the whole tree in ``area`` and swap it with ``out``. False when a rename is refused
    (a mount point, another file system): nothing has changed then."""
    new = area / f"new-{token}"
    old = area / f"old-{token}"
    _stage_tree(new, files, manifest_data)
    had_out = out.exists()
    if had_out:
        with contextlib.suppress(OSError):
            os.chmod(new, stat.S_IMODE(os.stat(out).st_mode))
    journal_path = area / f"journal-{token}.json"
    # The folders' identities (device, inode), not their paths, say what recovery may touch: a
    # journal planted in a repository's cache folder cannot know them.
    journal = {
        "mode": "swap",
        "id": publish_id,
        "out": str(out),
        "out_identity": _identity(out),
        "new_identity": _identity(new),
    }
    _write(journal_path, _journal_bytes(journal))
    _fsync_dir(area)
    try:
        if not had_out:
            _rename(new, out)
        elif not _exchange(new, out):
            _rename(out, old)
            try:
                _rename(new, out)
            except OSError:
                _rename(old, out)
                raise
    except OSError as exc:
        if exc.errno not in (
            errno.EXDEV,
            errno.EBUSY,
            errno.EPERM,
            errno.EACCES,
            errno.ENOTEMPTY,
            errno.EEXIST,
        ):
            raise
        _unlink(journal_path)
        _rmtree(new)
        return False
    _fsync_dir(out.parent)
    _finish_swap(out, area, token, journal)
    return True


def _finish_swap(out: Path, area: Path, token: str, journal: dict[str, Any]) -> None:
    """After the swap: the previous tree (at ``new`` after an exchange, else at ``old``) goes, but
    anything in it the pipeline did not write (dropped in during the publish) is kept."""
    for leftover in (area / f"new-{token}", area / f"old-{token}"):
        identity = _identity(leftover)
        if identity is not None and identity == journal.get("out_identity"):
            _rescue(leftover, out, lambda: _own_dir(area.parent, REPLACED_DIR) / token)
        _rmtree(leftover)
    _unlink(area / f"journal-{token}.json")


def _rescue(previous: Path, out: Path, replaced: Callable[[], Path]) -> None:
    """Move every file of ``previous`` the pipeline did not write into ``out``, or, when a
    published file now sits at its path, into the folder ``replaced()`` makes."""
    manifest = _read_manifest_at(previous)
    for rel, entry in list(_walk_files(previous)):
        if rel == MANIFEST or (entry is not None and _ours(entry.path, rel, manifest)):
            continue
        rel = rel.rstrip("/")
        src = previous / rel
        dest = out / rel
        if os.path.lexists(dest) or any(
            os.path.lexists(out / p) and not (out / p).is_dir() for p in _parents(rel)
        ):
            dest = replaced() / rel
        with contextlib.suppress(OSError):
            dest.parent.mkdir(parents=True, exist_ok=True)
            _rename(src, dest)
            log.warning("kept %s (not written by the pipeline) at %s", rel, dest)


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _publish_by_file(
    out: Path,
    files: dict[str, bytes],
    manifest_data: bytes,
    publish_id: str,
    area: Path | None,
    token: str,
    current: dict[str, Any] | None,
) -> None:
    """Stage, journal, then move each file into place; :func:`recover` finishes a crashed one."""
    out.mkdir(exist_ok=True)
    stage = area / f"files-{token}" if area is not None else out / f"{STAGING_PREFIX}{token}"
    _stage_tree(stage / "new", files, manifest_data)
    ours = (current or {}).get("files", {})
    backups: list[str] = []
    for rel in sorted(files):
        target = _target(out, rel)
        if not os.path.lexists(target):
            continue
        if target.is_symlink() or target.is_dir():
            backups.append(rel)
            continue
        digest = _file_sha256(target)
        if digest is None or (digest != ours.get(rel) and digest != _sha256(files[rel])):
            backups.append(rel)
    stale = [
        rel
        for rel in sorted(set(ours) - set(files))
        if rel != MANIFEST and _safe_rel(rel) and _file_sha256(_target(out, rel)) == ours[rel]
    ]
    journal = {
        "mode": "files",
        "id": publish_id,
        "out": str(out),
        "stage_identity": _identity(stage),
        "entries": sorted(files),
        "backups": backups,
        "stale": stale,
        "stale_sha256": {rel: ours[rel] for rel in stale},
    }
    _write(stage / _JOURNAL, _journal_bytes(journal))
    _fsync_dir(stage)
    _roll_forward(out, stage, journal)


def _safe_rel(rel: str) -> bool:
    try:
        _check_rel(rel)
        return True
    except ValueError:
        return False


def _roll_forward(out: Path, stage: Path, journal: dict[str, Any]) -> None:
    """Apply the file-by-file journal of ``stage``. Every step is idempotent, so a crash anywhere
    is finished by running it again."""
    token = stage.name.removeprefix("files-").removeprefix(STAGING_PREFIX)

    def replaced() -> Path:
        if stage.parent == out:
            return _own_dir(out, REPLACED_IN_OUT) / token
        return _own_dir(stage.parent.parent, REPLACED_DIR) / token

    new = stage / "new"
    backups = set(journal.get("backups", []))
    for rel in journal.get("entries", []):
        if not _safe_rel(rel):
            continue
        src = new / rel
        if not os.path.isfile(src) or os.path.islink(src):
            continue  # moved already
        target = _target(out, rel)
        if rel in backups and os.path.lexists(target):
            keep = replaced() / rel
            keep.parent.mkdir(parents=True, exist_ok=True)
            _rename(target, keep)
            log.warning("moved %s (not written by the pipeline) to %s", target, keep)
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(src, target)
    for rel in journal.get("stale", []):
        if not _safe_rel(rel):
            continue
        target = _target(out, rel)
        if _file_sha256(target) == journal.get("stale_sha256", {}).get(rel):
            _unlink(target)
            for parent in reversed(_parents(rel)):
                with contextlib.suppress(OSError):
                    os.rmdir(_target(out, parent))
    manifest_src = new / MANIFEST
    if os.path.isfile(manifest_src) and not os.path.islink(manifest_src):
        _replace(manifest_src, out / MANIFEST)
    _fsync_dir(out)
    _unlink(stage / _JOURNAL)
    _rmtree(stage)


# -- recovery --------------------------------------------------------------------------------------
def recover(out: Path, staging_root: Path | None = None) -> list[str]:
    """Bring ``out`` back to a consistent state after a publish was interrupted.

    A swap that had not happened is undone (the previous docs stay or are put back); one that
    had is finished; a file-by-file publish is completed from its journal. Leftover staging
    folders are removed. Returns one line per action taken (empty when there was nothing to do).
    Every publish starts with this.
    """
    out = Path(os.path.abspath(out))
    lock_folder: Path | None = None
    if staging_root is not None and (Path(staging_root) / PUBLISH_DIR).is_dir():
        lock_folder = Path(os.path.abspath(staging_root)) / PUBLISH_DIR
    elif out.is_dir() and not out.is_symlink():
        lock_folder = out
    if lock_folder is None:
        return []
    with _locked(lock_folder):
        return _recover(out, staging_root)


def _recover(out: Path, staging_root: Path | None) -> list[str]:
    actions: list[str] = []
    if staging_root is not None:
        area = Path(os.path.abspath(staging_root)) / PUBLISH_DIR
        if area.is_dir() and not area.is_symlink():
            journaled: set[str] = set()
            for journal_path in sorted(area.glob("journal-*.json")):
                token = journal_path.name.removeprefix("journal-").removesuffix(".json")
                journal = _read_journal(journal_path)
                if journal is None or journal.get("mode") != "swap" or not _TOKEN.match(token):
                    _unlink(journal_path)  # not one of ours, or torn: its folders go below
                    continue
                journaled.add(token)
                if not _same_out(journal, out):
                    continue  # another output folder's publish: not ours to touch
                actions.append(_recover_swap(out, area, token, journal))
            for stage in sorted(area.glob("files-*")):
                journal = _read_journal(stage / _JOURNAL)
                if journal is not None and not _same_out(journal, out):
                    continue
                actions.append(_recover_by_file(out, stage, journal))
            for leftover in sorted([*area.glob("new-*"), *area.glob("old-*")]):
                if leftover.name.split("-", 1)[1] not in journaled:
                    _rmtree(leftover)  # crashed while staging: the output folder was not touched
                    actions.append(f"removed unfinished staging folder {leftover.name}")
            for torn in sorted(area.glob(".journal-*.tmp")):
                _unlink(torn)  # crashed while writing a journal: nothing had been swapped yet
                actions.append(f"removed an unfinished journal {torn.name}")
    if out.is_dir() and not out.is_symlink():
        for stage in sorted(out.glob(f"{STAGING_PREFIX}*")):
            if stage.is_symlink() or not stage.is_dir():
                continue
            journal = _read_journal(stage / _JOURNAL)
            actions.append(
                _recover_by_file(out, stage, journal if journal and _same_out(journal, out) else None)
            )
    for line in actions:
        log.warning("publish recovery: %s", line)
    return actions


def _recover_by_file(out: Path, stage: Path, journal: dict[str, Any] | None) -> str:
    """Finish a file-by-file publish whose journal is complete and whose staging folder is the
    one this machine created; anything else is a leftover of a crash while staging."""
    if journal is None or journal.get("mode") != "files" or _identity(stage) != journal.get("stage_identity"):
        _rmtree(stage)
        return f"removed unfinished staging folder {stage.name}"
    _roll_forward(out, stage, journal)
    return f"completed the interrupted publish of {out}"


def _same_out(journal: dict[str, Any], out: Path) -> bool:
    """Whether a journal is about ``out``, however either path was spelled."""
    recorded = journal.get("out")
    return isinstance(recorded, str) and os.path.realpath(recorded) == os.path.realpath(out)


def _recover_swap(out: Path, area: Path, token: str, journal: dict[str, Any]) -> str:
    new, old = area / f"new-{token}", area / f"old-{token}"
    current = _identity(out)
    previous = journal.get("out_identity")
    if current is not None and current == journal.get("new_identity"):
        _finish_swap(out, area, token, journal)
        return f"finished the interrupted publish of {out}"
    if current is None and previous is not None and _identity(old) == previous:
        _rename(old, out)  # crashed between the two renames: the previous docs go back
        _fsync_dir(out.parent)
        what = f"put the previous docs of {out} back"
    elif current == previous or (current is None and previous is None):
        what = f"rolled back the interrupted publish of {out}; the previous docs are in place"
    else:
        what = f"removed a publish journal that matches no folder of {out}"
    _rmtree(new)
    _rmtree(old)
    _unlink(area / f"journal-{token}.json")
    return what
