"""Builds the :class:`EvidenceGraph` of a repository: discover, parse (in parallel, cached), link."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.evidence import manifests
from pipeline.evidence.cache import (
    EXTRACTOR_VERSION,
    EvidenceCache,
    file_key,
    inputs_key,
    pack_evidence,
    unpack,
)
from pipeline.evidence.graph import EvidenceGraph, dependency_id, external_id, file_id
from pipeline.evidence.languages import get_adapter
from pipeline.evidence.model import (
    CALLS,
    CLASS,
    DEFINES,
    DEPENDS_ON,
    IMPORTS,
    INHERITS,
    RAISES,
    ImportRecord,
    SkippedFile,
    content_hash,
)
from pipeline.evidence.walk import SourceFile, discover, read_source

DEFAULT_MAX_BYTES = 2_000_000
# Below this many files to parse, a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 64


class RepoError(Exception):
    """The repository cannot be read (missing, not a folder, unreadable)."""


@dataclass(slots=True)
class BuildOptions:
    """How to build: size cap, parallelism, cache location, extra ignore patterns."""

    max_bytes: int = DEFAULT_MAX_BYTES
    jobs: int = 0  # 0 = all cores
    cache_dir: Path | None = None  # None = REPO/.pipeline/cache
    use_cache: bool = True
    exclude: tuple[str, ...] = ()
    progress: Callable[[int, int], None] | None = None  # (done, total) while parsing


@dataclass(slots=True)
class BuildStats:
    files_seen: int = 0
    parsed: int = 0
    cached: int = 0
    skipped: int = 0
    graph_cache_hit: bool = False
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def check_repo(repo: Path) -> Path:
    """Return the resolved repository folder or raise :class:`RepoError` with one clear sentence."""
    repo = Path(repo)
    if not repo.exists():
        raise RepoError(f"repository not found: {repo}")
    if not repo.is_dir():
        raise RepoError(f"not a folder: {repo} (give the repository's root folder)")
    if not os.access(repo, os.R_OK | os.X_OK):
        raise RepoError(f"repository folder is not readable: {repo}")
    try:
        next(os.scandir(repo), None)
    except OSError as exc:
        raise RepoError(f"repository folder is not readable: {repo} ({exc.strerror})") from None
    return repo.resolve()


# A worker's answer for one file: the two packed parts of its cache entry (JSON, compressed,
# with checksums; see ``pack_evidence``), or the error that stopped the adapter. Packing in the
# workers keeps JSON encoding off the main process, and bytes cross processes far faster than
# objects do.
_Packed = tuple[tuple[bytes, str], tuple[bytes, str]]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while evidence is built or loaded.

    Building creates millions of long-lived dicts, lists and strings and no reference cycles;
    the collector would scan them again and again as they pile up (about a third of a cold
    build of a large repository). Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def _extract_chunk(chunk: list[tuple[str, str, str, bytes]]) -> list[_Packed | str]:
    out: list[_Packed | str] = []
    for language, path, module, source in chunk:
        try:
            out.append(pack_evidence(get_adapter(language).extract(source, path, module)))
        except Exception as exc:  # an adapter bug must not lose the rest of the run
            out.append(f"{type(exc).__name__}: {exc}")
    return out


@_collector_paused()
def build_evidence(repo: Path, options: BuildOptions | None = None) -> tuple[EvidenceGraph, BuildStats]:
    """Build (or load from cache) the evidence graph of ``repo``.

    Never imports or runs anything from the repository: it is read as bytes and parsed.
    When nothing changed since the cached build, nothing is parsed, linked or even loaded:
    the graph returned is read from the cache on first use.
    """
    return _build(repo, options or BuildOptions(), reuse_graph=True)


def _build(repo: Path, options: BuildOptions, *, reuse_graph: bool) -> tuple[EvidenceGraph, BuildStats]:
    t0 = time.perf_counter()
    stats = BuildStats()
    root = check_repo(repo)
    cache: EvidenceCache | None = None
    if options.use_cache:
        cache = EvidenceCache(options.cache_dir or root / ".pipeline" / "cache")
        if not cache.enabled:
            cache = None

    exclude = (".pipeline/", *options.exclude)
    sources, skipped = discover(root, max_bytes=options.max_bytes, exclude=exclude)
    stats.files_seen = len(sources) + len(skipped)
    stats.phases["discover"] = time.perf_counter() - t0

    # Hash every file; unchanged files (same size and mtime) reuse the stored hash unread.
    t1 = time.perf_counter()
    stat_index = cache.stat_index() if cache else {}
    new_index: dict[str, tuple[int, int, str]] = {}
    hashes: dict[str, str] = {}
    contents: dict[str, bytes] = {}
    readable: list[SourceFile] = []
    for sf in sources:
        if sf.language is None and manifests.manifest_kind(sf.path) is None:
            continue
        try:
            st = os.stat(root / sf.path)
        except OSError:
            skipped.append(SkippedFile(sf.path, "vanished"))
            continue
        known = stat_index.get(sf.path)
        if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
            hashes[sf.path] = known[2]
        else:
            data = read_source(root, sf, max_bytes=options.max_bytes)
            if isinstance(data, SkippedFile):
                skipped.append(data)
                continue
            contents[sf.path] = data
            hashes[sf.path] = content_hash(data)
        new_index[sf.path] = (st.st_size, st.st_mtime_ns, hashes[sf.path])
        readable.append(sf)
    stats.phases["hash"] = time.perf_counter() - t1

    all_paths = frozenset(sf.path for sf in readable)
    code_files = [sf for sf in readable if sf.language is not None]
    modules = {sf.path: get_adapter(sf.language).module_name(sf.path, all_paths) for sf in code_files}
    keys = {sf.path: file_key(sf.language, sf.path, modules[sf.path], hashes[sf.path]) for sf in code_files}
    fingerprint = hashlib.sha256(
        "\n".join(
            [EXTRACTOR_VERSION, str(options.max_bytes)]
            + [f"{p}\0{hashes[p]}\0{modules.get(p, '')}" for p in sorted(all_paths)]
            + [f"skip\0{s.path}\0{s.reason}" for s in sorted(skipped, key=lambda s: (s.path, s.reason))]
        ).encode("utf-8", "surrogatepass")
    ).hexdigest()

    if cache is not None and reuse_graph:
        # A no-op rebuild: the linked graph of exactly these files is cached (the fingerprint
        # covers every path, content hash and module name) and every per-file entry it was built
        # from is still there. Load nothing now; the graph is read on first use.
        wanted = sorted(keys.values())
        if cache.has_graph(fingerprint) and cache.count_present(wanted) == len(wanted):
            folder = cache.folder
            stats.graph_cache_hit = True
            stats.cached = len(code_files)
            stats.skipped = len(skipped)
            cache.save_stat_index(new_index)
            cache.close()
            graph = EvidenceGraph.deferred(
                str(root), lambda: _load_cached(root, folder, fingerprint, wanted, options)
            )
            stats.seconds = time.perf_counter() - t0
            return graph, stats

    # Per-file extraction, from the cache where the content is unchanged.
    t2 = time.perf_counter()
    found: dict[str, dict[str, Any]] = {}
    if cache is not None:
        found = cache.get_many(list(keys.values()))
        inputs = cache.get_many([inputs_key(k) for k in found], inputs=True)
        for k, d in found.items():
            d.update(inputs.get(inputs_key(k)) or {})
    evidence: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, str, str, bytes]] = []
    for sf in code_files:
        hit = found.get(keys[sf.path])
        if hit is not None and "calls" in hit:
            evidence[sf.path] = hit
            continue
        data = contents.get(sf.path)
        if data is None:
            got = read_source(root, sf, max_bytes=options.max_bytes)
            if isinstance(got, SkippedFile):
                skipped.append(got)
                continue
            data = got
            if content_hash(data) != hashes[sf.path]:  # changed behind an unchanged mtime
                hashes[sf.path] = content_hash(data)
                keys[sf.path] = file_key(sf.language, sf.path, modules[sf.path], hashes[sf.path])
        todo.append((sf.language, sf.path, modules[sf.path], data))
    stats.cached = len(evidence)
    rows: list[tuple[str, str, bytes]] = []
    for path, ((blob, checksum), (inputs_blob, inputs_checksum)) in _parse_all(todo, options, skipped):
        evidence[path] = {**unpack(blob, checksum), **unpack(inputs_blob, inputs_checksum)}
        rows.append((keys[path], checksum, blob))
        rows.append((inputs_key(keys[path]), inputs_checksum, inputs_blob))
    stats.parsed = len(rows) // 2
    if cache is not None:
        cache.put_packed(rows)
    stats.phases["parse"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    manifest_results = []
    for sf in readable:
        if manifests.manifest_kind(sf.path) is not None:
            data = contents.get(sf.path)
            if data is None:
                got = read_source(root, sf, max_bytes=options.max_bytes)
                if isinstance(got, SkippedFile):
                    skipped.append(got)
                    continue
                data = got
            result = manifests.parse_manifest(sf.path, data)
            if result is not None:
                manifest_results.append(result)
    ordered = sorted(evidence)
    ops: list[list[Any]] = []
    graph = link(str(root), [evidence[p] for p in ordered], manifest_results, skipped, hashes, record=ops)
    stats.phases["link"] = time.perf_counter() - t3
    stats.skipped = len(skipped)

    if cache is not None:
        t4 = time.perf_counter()
        cache.put_graph(fingerprint, {"files": [keys[p] for p in ordered], "ops": ops, "meta": graph.meta})
        cache.save_stat_index(new_index)
        cache.prune(set(keys.values()))
        cache.close()
        stats.phases["store"] = time.perf_counter() - t4
    stats.seconds = time.perf_counter() - t0
    return graph, stats


@_collector_paused()
def _load_cached(
    root: Path, folder: Path, fingerprint: str, wanted: list[str], options: BuildOptions
) -> EvidenceGraph:
    """Rebuild the cached graph of ``fingerprint`` from its per-file entries (``wanted``, sorted)
    and the recorded linking; if any of it is gone or does not check out, build afresh (never a
    half graph)."""
    cache = EvidenceCache(folder)
    try:
        stored = cache.get_graph(fingerprint)
        keys = stored.get("files") if isinstance(stored, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or sorted(keys) != wanted:
            keys = []
        found = cache.get_many(keys)
        ops, meta = (stored.get("ops"), stored.get("meta")) if keys else (None, None)
        if keys and len(found) == len(keys) and isinstance(ops, list) and isinstance(meta, dict):
            graph = EvidenceGraph(str(root))
            try:
                _add_files(graph, [found[k] for k in keys], owned=True)
                replayed = _replay(graph, ops)
            except (KeyError, TypeError, ValueError, AttributeError):
                replayed = False  # shapes were checked; anything else odd is a miss all the same
            if replayed:
                graph.meta = meta
                return graph
    finally:
        cache.close()
    return _build(root, replace(options, progress=None), reuse_graph=False)[0]


def _parse_all(
    todo: list[tuple[str, str, str, bytes]], options: BuildOptions, skipped: list[SkippedFile]
) -> Iterator[tuple[str, _Packed]]:
    """Extract every file (in worker processes when there are many) and yield ``(path, packed)``
    as results arrive, so the caller decodes one chunk while the workers extract the next."""
    total = len(todo)
    jobs = options.jobs or os.cpu_count() or 1
    if jobs <= 1 or total < _PARALLEL_THRESHOLD:
        chunks = [[item] for item in todo]
        results: Iterable[list[_Packed | str]] = map(_extract_chunk, chunks)
        yield from _accept_all(chunks, results, total, options, skipped)
        return
    # Chunks of similar total size keep both workers busy to the end.
    chunks = []
    target = max(1, sum(len(t[3]) for t in todo) // (jobs * 8))
    cur: list[tuple[str, str, str, bytes]] = []
    size = 0
    for item in sorted(todo, key=lambda t: -len(t[3])):
        cur.append(item)
        size += len(item[3])
        if size >= target:
            chunks.append(cur)
            cur, size = [], 0
    if cur:
        chunks.append(cur)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from _accept_all(chunks, pool.map(_extract_chunk, chunks), total, options, skipped)


def _accept_all(
    chunks: list[list[tuple[str, str, str, bytes]]],
    results: Iterable[list[_Packed | str]],
    total: int,
    options: BuildOptions,
    skipped: list[SkippedFile],
) -> Iterator[tuple[str, _Packed]]:
    done = 0
    for chunk, answers in zip(chunks, results, strict=True):
        for item, answer in zip(chunk, answers, strict=True):
            if isinstance(answer, str):
                skipped.append(SkippedFile(item[1], "extract_failed", answer))
            else:
                yield item[1], answer
        done += len(chunk)
        if options.progress:
            options.progress(done, total)


def _strip_generics(text: str) -> str:
    for opener in ("[", "<", "("):
        text = text.split(opener, 1)[0]
    return text.strip()


_Attrs = dict[str, Any]


class _Recorder:
    """Applies linking's additions to the graph and records them, in order, so a cached
    graph is rebuilt exactly (same nodes, same edges, same order) without resolving again."""

    def __init__(self, graph: EvidenceGraph, ops: list[list[Any]] | None) -> None:
        self.graph = graph
        self.ops = ops

    def nodes(self, items: list[tuple[str, _Attrs]]) -> None:
        if items:
            self.graph.append_nodes(items)
            if self.ops is not None:
                self.ops.extend([nid, attrs] for nid, attrs in items)

    def edges(self, items: list[tuple[str, str, _Attrs]]) -> None:
        if items:
            self.graph.append_edges(items)
            if self.ops is not None:
                self.ops.extend([src, dst, attrs] for src, dst, attrs in items)


def _replay(graph: EvidenceGraph, ops: list[Any]) -> bool:
    """Apply recorded linking (``[id, attrs]`` nodes and ``[source, target, attrs]`` edges) to a
    graph holding the files' own nodes; ``False`` if the record does not fit the graph."""
    nodes = graph.g._node
    batch_nodes: list[tuple[str, _Attrs]] = []
    batch_edges: list[tuple[str, str, _Attrs]] = []
    for op in ops:
        if type(op) is not list or not op or type(op[-1]) is not dict or type(op[0]) is not str:
            return False
        if len(op) == 2:
            if batch_edges:
                graph.append_edges(batch_edges)
                batch_edges = []
            if op[0] in nodes:
                return False
            batch_nodes.append((op[0], op[1]))
        elif len(op) == 3:
            if batch_nodes:
                graph.append_nodes(batch_nodes)
                batch_nodes = []
            if op[0] not in nodes or type(op[1]) is not str or op[1] not in nodes:
                return False
            batch_edges.append((op[0], op[1], op[2]))
        else:
            return False
    graph.append_nodes(batch_nodes)
    graph.append_edges(batch_edges)
    return True


def _add_files(
    graph: EvidenceGraph, files: list[_Attrs], *, owned: bool = False
) -> dict[str, dict[str, str]]:
    """The files' own part of the graph: file nodes, symbol nodes and their edges (contains,
    defines). Same-id modules (a Go package over several files) merge; any other clash (two
    files mapping to one module name) gets a path-qualified id. Returns, per file, the ids
    that had to be renamed. ``files`` are per-file entries (:func:`evidence_to_dict` form);
    their symbol dicts become the node attributes (copies, unless ``owned``: nobody else
    reads the entries afterwards). A file's edges only name its own symbols."""
    nodes: dict[str, _Attrs] = {}
    pending: list[tuple[str, str, _Attrs]] = []
    renames: dict[str, dict[str, str]] = {}
    for ev in files:
        path = ev["path"]
        fid = file_id(path)
        nodes[fid] = {
            "kind": "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "language": ev["language"],
            "hash": ev["hash"],
            "module": ev["module"],
            "has_errors": ev["has_errors"],
            "error_lines": ev["error_lines"],
        }
        local: dict[str, str] = {}
        for sym in ev["symbols"]:
            attrs = sym if owned else dict(sym)
            nid = attrs.pop("id")
            kind = attrs["kind"]
            if nid in nodes:
                existing = nodes[nid]
                if kind in ("module", "package") and existing.get("kind") == kind:
                    existing.setdefault("files", [existing["file"]]).append(path)
                    pending.append((fid, nid, {"kind": DEFINES}))
                    continue
                local[nid] = nid = f"{nid}@{path}"
            if attrs.get("parent") in local:
                attrs["parent"] = local[attrs["parent"]]
            nodes[nid] = attrs
            if kind in ("module", "package"):
                pending.append((fid, nid, {"kind": DEFINES}))
        renames[path] = local
        for e in ev["edges"]:
            attrs = {"kind": e["kind"]}
            if e.get("line"):
                attrs["line"] = e["line"]
            attrs.update(e["attrs"])
            src, dst = local.get(e["source"], e["source"]), local.get(e["target"], e["target"])
            if src in nodes and dst in nodes:
                pending.append((src, dst, attrs))
    graph.append_nodes(list(nodes.items()))
    graph.append_edges(pending)
    return renames


def link(
    repo: str,
    files: Iterable[_Attrs],
    manifest_results: Iterable[manifests.ManifestResult],
    skipped: list[SkippedFile],
    hashes: dict[str, str] | None = None,
    *,
    record: list[list[Any]] | None = None,
) -> EvidenceGraph:
    """Join per-file evidence (:func:`evidence_to_dict` form) into one graph: resolve imports,
    bases, calls and raises. With ``record``, everything linking added is appended to it, in
    order (see :func:`_replay`)."""
    graph = EvidenceGraph(repo)
    files = list(files)
    renames = _add_files(graph, files)
    rec = _Recorder(graph, record)
    g = graph.g
    nodes = g._node

    # Imports: bind local names to absolute targets.
    module_names = frozenset(ev["module"] for ev in files)
    import_edges: list[tuple[str, str, _Attrs]] = []
    for ev in files:
        adapter = get_adapter(ev["language"])
        local = renames[ev["path"]]
        module = ev["module"]
        for row in ev["imports"]:
            r = ImportRecord(*row)
            scope = local.get(r.scope, r.scope)
            if scope not in nodes:
                continue
            target = adapter.resolve_import(r, module, module_names)
            bound = target
            python_dotted = ev["language"] == "python" and r.name is None and r.alias and "." in r.module
            if python_dotted and r.alias == r.module.split(".", 1)[0]:
                # ``import a.b`` binds ``a``; the target module is still ``a.b``.
                bound = r.alias if r.level == 0 else target
            tid = graph.id_of(target) or external_id(target)
            attrs: _Attrs = {"kind": IMPORTS, "line": r.line, "qualname": target}
            if r.alias:
                attrs["alias"] = r.alias
                attrs["bound"] = bound
            if r.name == "*":
                attrs["star"] = True
            import_edges.append((scope, tid, attrs))
    _record_edges(rec, import_edges)
    rec.edges(_star_imports(graph, import_edges))

    # Bases: resolve as seen from the class's enclosing scope.
    new_edges: list[tuple[str, str, _Attrs]] = []
    for nid, data in list(nodes.items()):
        if data.get("kind") not in (CLASS, "struct", "interface", "trait", "enum"):
            continue
        for base in data.get("extra", {}).get("bases", []) or []:
            name = _strip_generics(str(base))
            if not name:
                continue
            res = graph.resolve(name, data.get("parent"))
            if res is not None and res.id is not None and res.id != nid:
                new_edges.append((nid, res.id, {"kind": INHERITS, "base": base}))
            else:
                new_edges.append(
                    (nid, external_id(res.qualname if res else name), {"kind": INHERITS, "base": base})
                )
    _record_edges(rec, new_edges)

    # Calls and raises: best effort, internal targets only (external calls are noise here).
    new_edges = []
    unresolved_calls = 0
    resolve = graph.resolve
    for ev in files:
        local = renames[ev["path"]]
        seen: set[tuple[str, str]] = set()
        for caller, callee, line in ev["calls"]:
            caller = local.get(caller, caller)
            if caller not in nodes:
                continue
            res = resolve(callee, caller)
            if res is None or res.id is None:
                unresolved_calls += res is None
                continue
            if (caller, res.id) in seen:
                continue
            seen.add((caller, res.id))
            new_edges.append((caller, res.id, {"kind": CALLS, "line": line}))
        for sym in ev["symbols"]:
            raises = sym["extra"].get("raises")
            if not raises:
                continue
            sid = local.get(sym["id"], sym["id"])
            for exc in raises:
                res = resolve(_strip_generics(exc), sid)
                if res is not None and res.id is not None:
                    new_edges.append((sid, res.id, {"kind": RAISES, "name": exc}))
    _record_edges(rec, new_edges)

    # Manifests: dependencies, entry points, configuration and CI files.
    configs: list[_Attrs] = []
    entry_points: list[_Attrs] = []
    errors: list[dict[str, str]] = []
    for result in manifest_results:
        cfg = result.config
        fid = file_id(cfg.path)
        attrs = {
            "kind": "file",
            "name": cfg.path.rsplit("/", 1)[-1],
            "path": cfg.path,
            "language": None,
            "hash": (hashes or {}).get(cfg.path),
            "config_kind": cfg.kind,
        }
        if fid not in nodes:
            rec.nodes([(fid, attrs)])
        dep_nodes: dict[str, _Attrs] = {}
        dep_edges: list[tuple[str, str, _Attrs]] = []
        for dep in result.dependencies:
            did = dependency_id(dep.ecosystem, dep.name)
            if did not in nodes and did not in dep_nodes:
                attrs = {"kind": "dependency", "name": dep.name, "qualname": dep.name}
                dep_nodes[did] = {**attrs, "ecosystem": dep.ecosystem}
            dep_edges.append((fid, did, {"kind": DEPENDS_ON, "spec": dep.spec, "group": dep.group}))
        rec.nodes(list(dep_nodes.items()))
        rec.edges(dep_edges)
        configs.append({"path": cfg.path, "kind": cfg.kind, "data": cfg.data})
        for ep in result.entry_points:
            entry_points.append({"name": ep.name, "target": ep.target, "source": ep.source, "kind": ep.kind})
        for err in result.errors:
            errors.append({"path": cfg.path, "message": err})

    graph.meta = {
        "configs": configs,
        "entry_points": entry_points,
        "ci_files": sorted(c["path"] for c in configs if c["kind"] == "ci"),
        "main_modules": sorted(
            d["qualname"] for d in graph.symbols(("module", "package")) if d.get("extra", {}).get("has_main")
        ),
        "manifest_errors": errors,
        "skipped": [
            {"path": s.path, "reason": s.reason, "detail": s.detail}
            for s in sorted(skipped, key=lambda s: (s.path, s.reason))
        ],
        "unresolved_calls": unresolved_calls,
    }
    return graph


def _record_edges(rec: _Recorder, edges: list[tuple[str, str, _Attrs]]) -> None:
    """Add edges whose targets may be new ``ext:`` names (created as ``external`` nodes)."""
    nodes = rec.graph.g._node
    new_nodes: list[tuple[str, _Attrs]] = []
    queued: set[str] = set()
    for _, dst, _ in edges:
        if dst not in nodes and dst not in queued:
            queued.add(dst)
            new_nodes.append((dst, {"kind": "external", "name": dst[4:], "qualname": dst[4:]}))
    rec.nodes(new_nodes)
    rec.edges(edges)


def _star_imports(
    graph: EvidenceGraph, import_edges: list[tuple[str, str, _Attrs]]
) -> list[tuple[str, str, _Attrs]]:
    """``from m import *`` of an internal module binds its public names (``__all__`` first)."""
    nodes = graph.g._node
    additions: list[tuple[str, str, _Attrs]] = []
    for src, dst, data in import_edges:
        if not data.get("star") or nodes[dst].get("kind") == "external":
            continue
        mod = nodes[dst]
        names = mod.get("extra", {}).get("all")
        members = graph.members(dst)
        if names is None:
            names = [n for n, mid in members.items() if not n.startswith("_")]
        for name in names:
            target = nodes[members[name]]["qualname"] if name in members else f"{mod['qualname']}.{name}"
            attrs = {"kind": IMPORTS, "alias": name, "bound": target, "qualname": target}
            if data.get("line"):
                attrs["line"] = data["line"]  # bound where the star import is
            additions.append((src, dst, attrs))
    return additions
