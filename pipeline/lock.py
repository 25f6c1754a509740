"""One run at a time per cache folder: two runs writing the same docs and caches would interleave.

``RunLock(cache_dir)`` takes a non-blocking ``flock`` on ``<cache_dir>/run.lock``. The kernel
drops the lock when the process ends, however it ends, so a killed run never leaves a stale
lock behind. The file holds the owner's pid, only to name it in the message a second run gets.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from types import TracebackType

LOCK_NAME = "run.lock"


class LockBusy(Exception):
    """Another run holds the lock; the message says so in one sentence."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"another run is writing docs for this repository ({who}); wait for it or use another --cache-dir"
        )


class LockError(Exception):
    """The lock file cannot be created (the cache folder is not writable, or holds a folder there)."""


def _open_lock_file(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    for _ in range(2):
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            # A link planted in a repository's cache folder must not make us write through it.
            if exc.errno == errno.ELOOP and path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            raise LockError(f"cannot create the run lock {path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LockError(f"{path} is not a regular file; remove it and run again")
        return fd
    raise LockError(f"cannot create the run lock {path}: it keeps being replaced by a link")


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class RunLock:
    """Context manager: hold ``<cache_dir>/run.lock`` for the duration of a run.

    Raises :class:`LockBusy` at once (no waiting) when another process holds it, and
    :class:`LockError` when the lock file cannot be created.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.path = Path(cache_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LockError(
                f"cannot create the cache folder {self.path.parent}: {exc.strerror or exc}"
            ) from None
        fd = _open_lock_file(self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockBusy(self.path, pid) from None
            raise LockError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        import fcntl

        fd, self._fd = self._fd, None
        # The file stays: removing it would let a waiting run lock an inode nobody else sees.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
