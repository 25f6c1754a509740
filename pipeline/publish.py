"""Publishing the output folder without ever leaving a mix of old and new docs."""

from __future__ import annotations

from pathlib import Path

from pipeline.render.paths import safe_join
from pipeline.util import atomic_write_bytes


def publish_files(out: Path, files: dict[str, bytes], *, staging_root: Path | None = None) -> list[Path]:
    """Write ``files`` (output-relative path -> bytes) into ``out``; never outside it."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, data in sorted(files.items()):
        target = safe_join(out, rel)
        atomic_write_bytes(target, data)
        written.append(target)
    return written
