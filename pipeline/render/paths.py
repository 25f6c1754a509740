"""Where rendered pages land: safe, stable file names and contained joins.

Module names come from an untrusted repository, so a page name is built from them only
through :func:`page_path`: an allow-list of characters, everything else encoded, and a
short hash whenever the name had to be changed so that two different modules never share
a page (and no module can take the place of ``index.md`` or ``architecture.md``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.util import atomic_write_text

if TYPE_CHECKING:
    from pipeline.evidence.graph import EvidenceGraph

INDEX_PAGE = "index.md"
ARCHITECTURE_PAGE = "architecture.md"

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
# Pages the site itself writes.
_SITE_NAMES = frozenset({"index", "architecture"})
# Device names Windows reserves whatever the extension (``CON.md`` cannot be created).
_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul", "clock$"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
# Keeps every page name well under the 255-byte limit of common file systems.
_MAX_STEM = 150
_HASH_LEN = 8


def _short_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def _encode(name: str) -> str:
    """Keep ``[A-Za-z0-9._-]``; every other byte of the UTF-8 form becomes ``_xx``.

    A dot is encoded too where it would make a hidden file (leading), a ``..`` or a
    trailing dot (which Windows drops); a leading ``-`` would read as a command option.
    """
    out: list[str] = []
    prev = ""
    for i, ch in enumerate(name):
        keep = ch in _SAFE
        if ch == "." and (i == 0 or prev == "." or i == len(name) - 1):
            keep = False
        if ch == "-" and i == 0:
            keep = False
        if keep:
            out.append(ch)
        else:
            out.extend(f"_{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        prev = ch
    return "".join(out)


def _safe(name: str, *, reserved: bool) -> str:
    encoded = _encode(name)
    altered = encoded != name or not name or len(encoded) > _MAX_STEM
    if reserved and not altered:
        altered = encoded.lower() in _SITE_NAMES or encoded.split(".", 1)[0].lower() in _DEVICE_NAMES
    if not altered:
        return encoded
    return f"{encoded[:_MAX_STEM] or '_'}-{_short_hash(name)}"


def safe_name(name: str) -> str:
    """A file-system and URL safe file stem for ``name``.

    Unchanged when ``name`` is already safe; otherwise encoded and suffixed with a short
    hash of the original, so the result is stable and an altered name cannot equal an
    unaltered one by accident. Site page names and Windows device names count as unsafe.
    """
    return _safe(name, reserved=True)


def page_path(module_qualname: str) -> str:
    """The relative file name of a module's page: flat, ``pkg.sub.mod`` -> ``pkg.sub.mod.md``.

    Never contains a path separator or ``..``, never starts with a dot or a dash, and is
    never ``index.md`` or ``architecture.md``.
    """
    return f"{safe_name(module_qualname)}.md"


def anchor_id(qualname: str) -> str:
    """The HTML ``id`` (and link fragment) of a symbol's heading: safe in an attribute and a URL."""
    return _safe(qualname, reserved=False)


def page_paths(module_qualnames: Iterable[str]) -> dict[str, str]:
    """Page names for a set of modules, with no two equal (ignoring case, for macOS and Windows).

    Names that clash get a hash suffix; the name that needed no change keeps the plain
    page, so the result depends only on the set of names, not their order.
    """
    names = sorted(set(module_qualnames), key=lambda n: (page_path(n) != f"{n}.md", n))
    taken: set[str] = {INDEX_PAGE, ARCHITECTURE_PAGE}
    out: dict[str, str] = {}
    for name in names:
        rel = page_path(name)
        stem = rel[:-3]
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        size = _HASH_LEN
        while rel.lower() in taken:
            rel = f"{stem}-{digest[:size]}.md"
            size += 4
            if size > len(digest):  # not reachable for distinct names; keeps the loop finite
                rel = f"{stem}-{digest}-{len(taken)}.md"
                break
        taken.add(rel.lower())
        out[name] = rel
    return dict(sorted(out.items()))


def module_pages(graph: EvidenceGraph) -> dict[str, str]:
    """``module qualname -> page file`` for every module and package of ``graph``."""
    names = [d.get("qualname") for d in graph.modules()]
    return page_paths(n for n in names if isinstance(n, str))


def safe_join(out_dir: Path, rel: str) -> Path:
    """``out_dir / rel``, or ``ValueError`` when the result would not lie strictly inside ``out_dir``.

    Links are followed before the check, so a symbolic link in ``out_dir`` cannot lead out.
    """
    if not rel or "\x00" in rel or os.path.isabs(rel) or rel.startswith(("/", "\\")):
        raise ValueError(f"not a relative page path: {rel!r}")
    root = Path(out_dir).resolve()
    target = (root / rel).resolve()
    try:
        inside = target.relative_to(root)
    except ValueError:
        raise ValueError(f"page path leaves the output folder: {rel!r}") from None
    if inside == Path("."):
        raise ValueError(f"page path names the output folder itself: {rel!r}")
    return target


def write_pages(out_dir: Path, pages: Mapping[str, str]) -> list[Path]:
    """Write ``relative path -> text`` under ``out_dir`` atomically, in sorted order."""
    written: list[Path] = []
    for rel in sorted(pages):
        path = safe_join(out_dir, rel)
        atomic_write_text(path, pages[rel])
        written.append(path)
    return written
