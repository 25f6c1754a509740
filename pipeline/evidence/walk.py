"""Find the files of a repository and read them safely.

The target repository is untrusted: a link may point at ``/etc/passwd``, a directory link
may loop, a file may be unreadable, binary, not UTF-8, huge, or gone by the time it is
read. :func:`discover` lists what should be looked at (honouring ``.gitignore``) and
reports what a user would want to know was left out; :func:`read_source` reads one file
without ever leaving the repository.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pathspec import GitIgnoreSpec

from pipeline.evidence.languages import language_for
from pipeline.evidence.manifests import is_ci_file, is_manifest
from pipeline.evidence.model import SkippedFile

MAX_BYTES = 2_000_000
# Same heuristic as git: a NUL byte near the start means binary.
BINARY_SNIFF_BYTES = 8192
# A .gitignore larger than this is not a real one; reading it would only cost memory.
_IGNORE_FILE_MAX_BYTES = 1_000_000

# Directories that are never part of a project's own source, whatever .gitignore says.
ALWAYS_SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        "vendor",
        "third_party",
        "site-packages",
        ".eggs",
        ".pipeline",
        ".idea",
        ".vscode",
    }
)

# Names of generated directories that are also real Python package names (the standard
# library's ``venv``, pypa's ``build``): such a directory is kept when it has an ``__init__.py``.
_KEPT_WHEN_PACKAGE = frozenset({"venv", "build", "dist"})

# Skip reasons reported to the user.
TOO_LARGE = "too_large"
LINK_OUTSIDE_REPO = "link_outside_repo"
BROKEN_LINK = "broken_link"
LINK_DIR = "link_dir"
PERMISSION_DENIED = "permission_denied"
VANISHED = "vanished"
BINARY = "binary"
INVALID_UTF8 = "invalid_utf8"

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK keeps open() from hanging on a FIFO planted where a file was listed.
_FILE_FLAGS = (
    os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
)
_DIR_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_DIRECTORY | _O_CLOEXEC
# With dir_fd every path component is opened without following links, so a directory
# swapped for a link between listing and reading cannot lead outside the repository.
_OPEN_BENEATH = os.open in os.supports_dir_fd and bool(_O_NOFOLLOW) and bool(_O_DIRECTORY)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file of the repository worth looking at: ``path`` is repo-relative, posix style."""

    path: str
    language: str | None
    size: int


def _inside(root_real: str, real: str) -> bool:
    """Whether the resolved path ``real`` is ``root_real`` or below it (both already resolved)."""
    if real == root_real:
        return True
    prefix = root_real if root_real.endswith(os.sep) else root_real + os.sep
    return real.startswith(prefix)


def is_within(root: Path | str, path: Path | str) -> bool:
    """Return whether ``path``, with every link resolved, lies inside ``root`` (or is ``root``).

    A relative ``path`` is taken relative to ``root``.
    """
    root_real = os.path.realpath(root)
    return _inside(root_real, os.path.realpath(os.path.join(root_real, path)))


def _open_beneath(root_real: str, parts: list[str] | tuple[str, ...]) -> int:
    """Open the file ``root_real/parts...`` for reading without following any link."""
    if not parts or any(part in ("", ".", "..") or os.sep in part for part in parts):
        raise OSError(errno.ELOOP, "path is not a plain path below the repository", "/".join(parts))
    if not _OPEN_BENEATH:
        path = os.path.join(root_real, *parts)
        if not _inside(root_real, os.path.realpath(path)):
            raise OSError(errno.ELOOP, "path leaves the repository", path)
        return os.open(path, _FILE_FLAGS)
    fd = os.open(root_real, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                # Linux says ENOTDIR for a link opened with O_NOFOLLOW | O_DIRECTORY: tell links apart.
                if exc.errno == errno.ENOTDIR and _is_link_at(part, fd):
                    raise OSError(errno.ELOOP, "path component is a symbolic link", part) from exc
                raise
            os.close(fd)
            fd = next_fd
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def _is_link_at(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def _read_fd(fd: int, limit: int) -> bytes:
    """Read at most ``limit`` bytes from ``fd``."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _is_interesting(rel: str) -> bool:
    """Files whose absence a user would notice: source code, manifests and CI files."""
    return language_for(rel) is not None or is_manifest(rel) or is_ci_file(rel)


def _spec_from_lines(lines: list[str]) -> GitIgnoreSpec | None:
    """Compile gitignore lines, dropping any single pattern the library rejects."""
    try:
        spec = GitIgnoreSpec.from_lines(lines)
    except Exception:  # pathspec raises several types for odd patterns; one bad line must not matter
        good = []
        for line in lines:
            try:
                GitIgnoreSpec.from_lines([line])
            except Exception:
                continue
            good.append(line)
        spec = GitIgnoreSpec.from_lines(good)
    return spec if len(spec) else None


def _read_ignore_file(root_real: str, parts: list[str]) -> GitIgnoreSpec | None:
    """Read one ignore file inside the repository; unreadable or odd files count as empty."""
    try:
        fd = _open_beneath(root_real, parts)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = _read_fd(fd, _IGNORE_FILE_MAX_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return _spec_from_lines(text.splitlines())


def _normalise_excludes(exclude: Iterable[str], roots: tuple[str, ...]) -> list[str]:
    """Turn absolute paths inside the repository into root-anchored patterns."""
    patterns = []
    for raw in exclude:
        pattern = os.fspath(raw)
        for root in roots:
            prefix = root.rstrip(os.sep) + os.sep
            if pattern.startswith(prefix):
                pattern = "/" + pattern[len(prefix) :].replace(os.sep, "/")
                break
        patterns.append(pattern)
    return patterns


# One ignore layer: (directory prefix it applies under, e.g. "src/" or "", compiled spec).
_Layer = tuple[str, GitIgnoreSpec]


def _ignored(rel: str, is_dir: bool, layers: tuple[_Layer, ...], extra: GitIgnoreSpec | None) -> bool:
    """Decide like git: the deepest ignore file with a matching pattern wins; caller excludes win over all."""
    candidate = rel + "/" if is_dir else rel
    if extra is not None:
        decision = extra.check_file(candidate).include
        if decision is not None:
            return decision
    for prefix, spec in reversed(layers):
        decision = spec.check_file(candidate[len(prefix) :]).include
        if decision is not None:
            return decision
    return False


def _join(rel_dir: str, name: str) -> str:
    return f"{rel_dir}/{name}" if rel_dir else name


def discover(
    root: Path | str, *, max_bytes: int = MAX_BYTES, exclude: Iterable[str] = ()
) -> tuple[list[SourceFile], list[SkippedFile]]:
    """List the repository's files, sorted by path, and the files left out that a user should hear of.

    Honours ``.gitignore`` files (at the root and below, with gitignore semantics) and
    ``.git/info/exclude``, always skips tool and dependency directories (see
    :data:`ALWAYS_SKIPPED_DIRS`, virtual environments found by their ``pyvenv.cfg``,
    ``target`` beside a ``Cargo.toml``, ``*.egg-info``; a ``venv``, ``build`` or ``dist``
    holding an ``__init__.py`` is a Python package and is kept), and applies ``exclude``: extra
    gitignore-style patterns relative to ``root`` (absolute paths inside ``root`` are
    accepted too). Directory links are never followed; file links are listed only when
    their target stays inside ``root``. Files over ``max_bytes`` are reported as
    ``too_large`` when they are source code, manifests or CI files, and listed otherwise.

    Raises :class:`NotADirectoryError` when ``root`` is not a directory.
    """
    root_real = os.path.realpath(root)
    if not os.path.isdir(root_real):
        raise NotADirectoryError(f"{root}: not a directory")
    extra = _spec_from_lines(_normalise_excludes(exclude, (os.path.abspath(root), root_real)))

    base_layers: tuple[_Layer, ...] = ()
    # Opened without following links: a .git file (worktrees, submodules) or link is simply not read.
    info_exclude = _read_ignore_file(root_real, [".git", "info", "exclude"])
    if info_exclude is not None:
        base_layers = (("", info_exclude),)

    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    # (directory, ignore layers in force, keep it only if it is a Python package)
    stack: list[tuple[str, tuple[_Layer, ...], bool]] = [("", base_layers, False)]
    while stack:
        rel_dir, parent_layers, only_if_package = stack.pop()
        shown_dir = rel_dir or "."
        abs_dir = os.path.join(root_real, rel_dir) if rel_dir else root_real
        try:
            with os.scandir(abs_dir) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except PermissionError as exc:
            skipped.append(SkippedFile(shown_dir, PERMISSION_DENIED, exc.strerror or "cannot list directory"))
            continue
        except (FileNotFoundError, NotADirectoryError):
            skipped.append(SkippedFile(shown_dir, VANISHED, "directory disappeared while listing"))
            continue
        except OSError as exc:
            skipped.append(SkippedFile(shown_dir, PERMISSION_DENIED, exc.strerror or "cannot list directory"))
            continue

        names = {entry.name for entry in entries}
        if rel_dir and "pyvenv.cfg" in names:
            continue  # a virtual environment, whatever its name
        if only_if_package and "__init__.py" not in names:
            continue
        layers = parent_layers
        if ".gitignore" in names:
            spec = _read_ignore_file(
                root_real, [*rel_dir.split("/"), ".gitignore"] if rel_dir else [".gitignore"]
            )
            if spec is not None:
                layers = (*parent_layers, (rel_dir + "/" if rel_dir else "", spec))

        subdirs: list[tuple[str, bool]] = []
        for entry in entries:
            rel = _join(rel_dir, entry.name)
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
                is_file = not is_link and entry.is_file(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                name = entry.name
                if (
                    (name in ALWAYS_SKIPPED_DIRS and name not in _KEPT_WHEN_PACKAGE)
                    or name.endswith(".egg-info")
                    or (name == "target" and "Cargo.toml" in names)
                    or _ignored(rel, True, layers, extra)
                ):
                    continue
                subdirs.append((rel, name in _KEPT_WHEN_PACKAGE))
            elif is_link:
                if _ignored(rel, False, layers, extra):
                    continue
                result = _classify_link(root_real, rel, max_bytes)
                if result is not None:
                    (files if isinstance(result, SourceFile) else skipped).append(result)
            elif is_file:
                if _ignored(rel, False, layers, extra):
                    continue
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    skipped.append(SkippedFile(rel, VANISHED, "file disappeared while listing"))
                    continue
                except OSError as exc:
                    skipped.append(SkippedFile(rel, PERMISSION_DENIED, exc.strerror or "cannot stat file"))
                    continue
                result = _accept_file(entry.path, rel, size, max_bytes)
                (files if isinstance(result, SourceFile) else skipped).append(result)
            # sockets, FIFOs and devices are not source files: ignored silently

        # Reversed so the stack pops them in name order (the result is sorted anyway).
        stack.extend((sub, layers, package_only) for sub, package_only in reversed(subdirs))

    files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: (s.path, s.reason))
    return files, skipped


def _accept_file(abs_path: str, rel: str, size: int, max_bytes: int) -> SourceFile | SkippedFile:
    """Turn a regular file (or an in-repo link's target) into a SourceFile or a skip record."""
    if size > max_bytes and _is_interesting(rel):
        return SkippedFile(rel, TOO_LARGE, f"{size} bytes, limit {max_bytes}")
    if not os.access(abs_path, os.R_OK):
        return SkippedFile(rel, PERMISSION_DENIED, "file is not readable")
    return SourceFile(rel, language_for(rel), size)


def _classify_link(root_real: str, rel: str, max_bytes: int) -> SourceFile | SkippedFile | None:
    """Decide what a symbolic link is, without touching anything outside the repository."""
    link_path = os.path.join(root_real, rel)
    target = os.path.realpath(link_path)
    if not _inside(root_real, target):
        return SkippedFile(rel, LINK_OUTSIDE_REPO, "symbolic link to a path outside the repository")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return SkippedFile(rel, BROKEN_LINK, "symbolic link to a missing path")
    except PermissionError:
        return SkippedFile(rel, PERMISSION_DENIED, "symbolic link target is not accessible")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return SkippedFile(rel, BROKEN_LINK, "symbolic link loop")
        return SkippedFile(rel, BROKEN_LINK, exc.strerror or "cannot resolve symbolic link")
    if stat.S_ISDIR(st.st_mode):
        return SkippedFile(rel, LINK_DIR, "directory links are not followed")
    if not stat.S_ISREG(st.st_mode):
        return None
    return _accept_file(target, rel, st.st_size, max_bytes)


def read_source(
    root: Path | str, file: SourceFile | str, *, max_bytes: int = MAX_BYTES
) -> bytes | SkippedFile:
    """Read one repository file's bytes, or say why not.

    The link check is redone at read time (links may have changed since
    :func:`discover`) and the resolved file is opened without following links, so
    nothing outside ``root`` is ever read. Returns a :class:`SkippedFile` with reason
    ``binary`` (a NUL byte in the first 8 KiB), ``invalid_utf8`` (the detail gives the
    byte offset), ``too_large``, ``permission_denied``, ``vanished`` or
    ``link_outside_repo``. A UTF-8 byte order mark is stripped; line endings are kept
    as they are.
    """
    rel = file.path if isinstance(file, SourceFile) else file
    pure = PurePosixPath(rel)
    if not pure.parts or pure.is_absolute() or ".." in pure.parts:
        return SkippedFile(rel, LINK_OUTSIDE_REPO, "path is not inside the repository")

    root_real = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root_real, *pure.parts))
    if real == root_real or not _inside(root_real, real):
        return SkippedFile(rel, LINK_OUTSIDE_REPO, "resolves to a path outside the repository")
    parts = os.path.relpath(real, root_real).split(os.sep)

    try:
        fd = _open_beneath(root_real, parts)
    except FileNotFoundError:
        return SkippedFile(rel, VANISHED, "file no longer exists")
    except PermissionError:
        return SkippedFile(rel, PERMISSION_DENIED, "file is not readable")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return SkippedFile(rel, LINK_OUTSIDE_REPO, "a path component became a symbolic link")
        return SkippedFile(rel, VANISHED, exc.strerror or "cannot open file")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return SkippedFile(rel, VANISHED, "no longer a regular file")
        if st.st_size > max_bytes:
            return SkippedFile(rel, TOO_LARGE, f"{st.st_size} bytes, limit {max_bytes}")
        data = _read_fd(fd, max_bytes + 1)
    except PermissionError:
        return SkippedFile(rel, PERMISSION_DENIED, "file is not readable")
    except OSError as exc:
        return SkippedFile(rel, VANISHED, exc.strerror or "cannot read file")
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew after fstat
        return SkippedFile(rel, TOO_LARGE, f"more than {max_bytes} bytes")

    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return SkippedFile(rel, BINARY, "NUL byte in the first 8 KiB")
    offset = 0
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        offset = len(codecs.BOM_UTF8)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SkippedFile(rel, INVALID_UTF8, f"not valid UTF-8 at byte offset {exc.start + offset}")
    return data


__all__ = [
    "ALWAYS_SKIPPED_DIRS",
    "MAX_BYTES",
    "SourceFile",
    "discover",
    "is_within",
    "read_source",
]
