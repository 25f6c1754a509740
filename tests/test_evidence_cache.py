"""The evidence cache: a no-op rebuild loads nothing, a cached graph equals the built one,
and nothing planted in the cache (which sits in the untrusted repository) is trusted."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.evidence import BuildOptions, build_evidence
from pipeline.evidence.cache import inputs_key, pack, unpack
from pipeline.evidence.graph import EvidenceGraph

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "python" / "inventory"


def _json(graph: EvidenceGraph) -> str:
    return json.dumps(graph.to_dict(), sort_keys=False)


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_a_no_op_rebuild_defers_loading_and_the_loaded_graph_equals_the_built_one(tmp_path):
    built, first = build_evidence(EXAMPLE, BuildOptions(cache_dir=tmp_path))
    assert not first.graph_cache_hit and first.parsed > 0 and built.loaded
    cached, second = build_evidence(EXAMPLE, BuildOptions(cache_dir=tmp_path))
    assert second.graph_cache_hit and second.parsed == 0
    assert not cached.loaded  # nothing read yet
    # Same nodes, same attributes, same edges in the same order, same meta.
    assert _json(cached) == _json(built)
    assert cached.loaded
    assert list(cached.g.edges(keys=True, data=True)) == list(built.g.edges(keys=True, data=True))
    assert list(cached.g.nodes) == list(built.g.nodes)
    some = next(iter(cached.symbols(("class",))))["qualname"]
    assert cached.members(cached.id_of(some)) == built.members(built.id_of(some))


def test_a_graph_rebuilt_from_per_file_entries_equals_the_built_one(tmp_path):
    built, _ = build_evidence(EXAMPLE, BuildOptions(cache_dir=tmp_path))
    db = sqlite3.connect(tmp_path / "evidence.sqlite")
    db.execute("DELETE FROM graph")
    db.commit()
    db.close()
    relinked, stats = build_evidence(EXAMPLE, BuildOptions(cache_dir=tmp_path))
    assert stats.parsed == 0 and stats.cached > 0 and not stats.graph_cache_hit
    assert _json(relinked) == _json(built)


def _plant(cache: Path, which: str, value: object) -> int:
    """Replace every per-file entry of one part with ``value`` under a valid checksum."""
    db = sqlite3.connect(cache / "evidence.sqlite")
    blob, checksum = pack(value)
    keys = [k for (k,) in db.execute("SELECT key FROM files") if k.endswith("/inputs") == (which == "inputs")]
    db.executemany(
        "UPDATE files SET checksum = ?, data = ? WHERE key = ?", [(checksum, blob, k) for k in keys]
    )
    db.commit()
    db.close()
    return len(keys)


@pytest.mark.parametrize("which", ["structure", "inputs"])
@pytest.mark.parametrize(
    "value",
    [
        {"path": "x.py"},
        {"imports": [["a"]], "calls": "no"},
        [1, 2, 3],
        {
            "path": "x.py",
            "language": "python",
            "hash": "0",
            "module": "x",
            "has_errors": False,
            "error_lines": [],
            "symbols": [{"id": 3}],
            "edges": [],
        },
    ],
)
def test_planted_entries_with_valid_checksums_are_misses_not_crashes(tmp_path, which, value):
    repo = _write(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/a.py": "def f(x):\n    return g(x)\n"})
    cache = tmp_path / "cache"
    built, _ = build_evidence(repo, BuildOptions(cache_dir=cache))
    assert _plant(cache, which, value) == 2
    db = sqlite3.connect(cache / "evidence.sqlite")
    db.execute("DELETE FROM graph")  # force the per-file path
    db.commit()
    db.close()
    again, stats = build_evidence(repo, BuildOptions(cache_dir=cache))
    assert stats.parsed == 2  # every planted entry was re-extracted
    assert _json(again) == _json(built)


def test_a_cached_graph_whose_entries_went_bad_is_rebuilt_on_first_use(tmp_path):
    repo = _write(
        tmp_path / "repo", {"pkg/__init__.py": "", "pkg/a.py": "class A:\n    def f(self):\n        pass\n"}
    )
    cache = tmp_path / "cache"
    built, _ = build_evidence(repo, BuildOptions(cache_dir=cache))
    deferred, stats = build_evidence(repo, BuildOptions(cache_dir=cache))
    assert stats.graph_cache_hit and not deferred.loaded
    _plant(cache, "structure", {"not": "evidence"})  # spoiled between the check and first use
    assert _json(deferred) == _json(built)


def test_a_cached_graph_whose_cache_was_deleted_is_rebuilt_on_first_use(tmp_path):
    repo = _write(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/a.py": "X = 1\n"})
    cache = tmp_path / "cache"
    built, _ = build_evidence(repo, BuildOptions(cache_dir=cache))
    deferred, _ = build_evidence(repo, BuildOptions(cache_dir=cache))
    for p in cache.iterdir():
        p.unlink()
    assert deferred.exists("pkg.a.X")
    assert _json(deferred) == _json(built)


def test_planted_linking_record_is_refused(tmp_path):
    repo = _write(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/a.py": "import os\n"})
    cache = tmp_path / "cache"
    built, _ = build_evidence(repo, BuildOptions(cache_dir=cache))
    db = sqlite3.connect(cache / "evidence.sqlite")
    checksum, blob = db.execute("SELECT checksum, data FROM graph").fetchone()
    stored = unpack(blob, checksum)
    stored["ops"].append(["py:pkg.a", "py:nowhere", {"kind": "calls"}])  # an edge to a missing node
    blob, checksum = pack(stored)
    db.execute("UPDATE graph SET checksum = ?, data = ?", (checksum, blob))
    db.commit()
    db.close()
    deferred, stats = build_evidence(repo, BuildOptions(cache_dir=cache))
    assert stats.graph_cache_hit
    assert _json(deferred) == _json(built)
    assert "py:nowhere" not in deferred


def test_a_later_import_of_a_name_wins_over_a_star_import(tmp_path):
    repo = _write(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "def Frame():\n    pass\n\ndef Label():\n    pass\n",
            "pkg/b.py": "def Frame():\n    pass\n",
            "pkg/use_late.py": (
                "from pkg.a import *\nfrom pkg.b import Frame\n\ndef run():\n    Frame()\n    Label()\n"
            ),
            "pkg/use_early.py": "from pkg.b import Frame\nfrom pkg.a import *\n\ndef run():\n    Frame()\n",
        },
    )
    for cache_dir in (tmp_path / "c", tmp_path / "c"):  # built, then loaded from the cache
        graph, _ = build_evidence(repo, BuildOptions(cache_dir=cache_dir))
        assert graph.callees("py:pkg.use_late.run") == ["py:pkg.b.Frame", "py:pkg.a.Label"]
        assert graph.callees("py:pkg.use_early.run") == ["py:pkg.a.Frame"]
        assert graph.resolve("Frame", "py:pkg.use_late").qualname == "pkg.b.Frame"


def test_the_inputs_part_is_stored_beside_each_entry(tmp_path):
    repo = _write(tmp_path / "repo", {"m.py": "import os\n\ndef f():\n    os.getcwd()\n"})
    cache = tmp_path / "cache"
    build_evidence(repo, BuildOptions(cache_dir=cache))
    db = sqlite3.connect(cache / "evidence.sqlite")
    keys = {k for (k,) in db.execute("SELECT key FROM files")}
    db.close()
    (entry,) = [k for k in keys if not k.endswith("/inputs")]
    assert keys == {entry, inputs_key(entry)}


_ids = st.sampled_from([f"n{i}" for i in range(6)])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_ids, _ids, st.sampled_from(["contains", "calls", "imports", "inherits"])), max_size=40
    )
)
def test_append_edges_matches_networkx_add_edge(edges):
    reference = nx.MultiDiGraph()
    graph = EvidenceGraph()
    for i in range(6):
        reference.add_node(f"n{i}", kind="module", name=f"n{i}", qualname=f"n{i}")
    graph.append_nodes((f"n{i}", {"kind": "module", "name": f"n{i}", "qualname": f"n{i}"}) for i in range(6))
    for src, dst, kind in edges:
        reference.add_edge(src, dst, kind=kind)
    graph.append_edges((src, dst, {"kind": kind}) for src, dst, kind in edges)
    assert list(graph.g.edges(keys=True, data=True)) == list(reference.edges(keys=True, data=True))
    assert list(graph.g.in_edges(keys=True, data=True)) == list(reference.in_edges(keys=True, data=True))
