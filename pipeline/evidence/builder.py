"""Builds the :class:`EvidenceGraph` of a repository: discover, parse (in parallel, cached), link."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.evidence import manifests
from pipeline.evidence.cache import EXTRACTOR_VERSION, EvidenceCache, file_key
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
    FileEvidence,
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


def _extract_one(args: tuple[str, str, str, bytes]) -> FileEvidence:
    language, path, module, source = args
    return get_adapter(language).extract(source, path, module)


def _extract_chunk(chunk: list[tuple[str, str, str, bytes]]) -> list[FileEvidence | str]:
    out: list[FileEvidence | str] = []
    for item in chunk:
        try:
            out.append(_extract_one(item))
        except Exception as exc:  # an adapter bug must not lose the rest of the run
            out.append(f"{type(exc).__name__}: {exc}")
    return out


def build_evidence(repo: Path, options: BuildOptions | None = None) -> tuple[EvidenceGraph, BuildStats]:
    """Build (or load from cache) the evidence graph of ``repo``.

    Never imports or runs anything from the repository: it is read as bytes and parsed.
    """
    options = options or BuildOptions()
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
    fingerprint = hashlib.sha256(
        "\n".join(
            [EXTRACTOR_VERSION, str(options.max_bytes)]
            + [f"{p}\0{hashes[p]}\0{modules.get(p, '')}" for p in sorted(all_paths)]
            + [f"skip\0{s.path}\0{s.reason}" for s in sorted(skipped, key=lambda s: (s.path, s.reason))]
        ).encode("utf-8", "surrogatepass")
    ).hexdigest()

    if cache is not None:
        cached_graph = cache.get_graph(fingerprint)
        if cached_graph is not None:
            graph = EvidenceGraph.from_dict(cached_graph)
            graph.repo = str(root)
            stats.graph_cache_hit = True
            stats.cached = len(code_files)
            stats.skipped = len(skipped)
            cache.save_stat_index(new_index)
            cache.close()
            stats.seconds = time.perf_counter() - t0
            return graph, stats

    # Per-file extraction, from the cache where the content is unchanged.
    t2 = time.perf_counter()
    keys = {sf.path: file_key(sf.language, sf.path, modules[sf.path], hashes[sf.path]) for sf in code_files}
    found = cache.get_many(list(keys.values())) if cache else {}
    evidence: dict[str, FileEvidence] = {}
    todo: list[tuple[str, str, str, bytes]] = []
    for sf in code_files:
        hit = found.get(keys[sf.path])
        if hit is not None:
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
    fresh = _parse_all(todo, options, skipped)
    evidence.update(fresh)
    stats.parsed = len(fresh)
    if cache is not None:
        cache.put_many({keys[p]: ev for p, ev in fresh.items()})
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
    graph = link(str(root), [evidence[p] for p in sorted(evidence)], manifest_results, skipped, hashes)
    stats.phases["link"] = time.perf_counter() - t3
    stats.skipped = len(skipped)

    if cache is not None:
        cache.put_graph(fingerprint, graph.to_dict())
        cache.save_stat_index(new_index)
        cache.prune(set(keys.values()))
        cache.close()
    stats.seconds = time.perf_counter() - t0
    return graph, stats


def _parse_all(
    todo: list[tuple[str, str, str, bytes]], options: BuildOptions, skipped: list[SkippedFile]
) -> dict[str, FileEvidence]:
    out: dict[str, FileEvidence] = {}
    total = len(todo)
    jobs = options.jobs or os.cpu_count() or 1

    def accept(item: tuple[str, str, str, bytes], result: FileEvidence | str) -> None:
        if isinstance(result, str):
            skipped.append(SkippedFile(item[1], "extract_failed", result))
        else:
            out[item[1]] = result

    if jobs <= 1 or total < _PARALLEL_THRESHOLD:
        for i, item in enumerate(todo, 1):
            accept(item, _extract_chunk([item])[0])
            if options.progress:
                options.progress(i, total)
        return out
    # Chunks of similar total size keep both workers busy to the end.
    chunks: list[list[tuple[str, str, str, bytes]]] = []
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
    done = 0
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for chunk, results in zip(chunks, pool.map(_extract_chunk, chunks), strict=True):
            for item, result in zip(chunk, results, strict=True):
                accept(item, result)
            done += len(chunk)
            if options.progress:
                options.progress(done, total)
    return out


def _strip_generics(text: str) -> str:
    for opener in ("[", "<", "("):
        text = text.split(opener, 1)[0]
    return text.strip()


def link(
    repo: str,
    files: Iterable[FileEvidence],
    manifest_results: Iterable[manifests.ManifestResult],
    skipped: list[SkippedFile],
    hashes: dict[str, str] | None = None,
) -> EvidenceGraph:
    """Join per-file evidence into one graph: resolve imports, bases, calls and raises."""
    graph = EvidenceGraph(repo)
    g = graph.g
    files = list(files)
    pending_edges: list[tuple[str, str, dict[str, Any]]] = []
    renames: dict[str, dict[str, str]] = {}

    # Nodes: files and symbols. Same-id modules (a Go package over several files) merge;
    # any other clash (two files mapping to one module name) gets a path-qualified id.
    for ev in files:
        fid = file_id(ev.path)
        g.add_node(
            fid,
            kind="file",
            name=ev.path.rsplit("/", 1)[-1],
            path=ev.path,
            language=ev.language,
            hash=ev.hash,
            module=ev.module,
            has_errors=ev.has_errors,
            error_lines=ev.error_lines,
        )
        local: dict[str, str] = {}
        for sym in ev.symbols:
            nid = sym.id
            if nid in g:
                if sym.kind in ("module", "package") and g.nodes[nid].get("kind") == sym.kind:
                    g.nodes[nid].setdefault("files", [g.nodes[nid]["file"]]).append(ev.path)
                    pending_edges.append((fid, nid, {"kind": DEFINES}))
                    continue
                nid = f"{sym.id}@{ev.path}"
                local[sym.id] = nid
            attrs = sym.to_dict()
            del attrs["id"]
            if attrs.get("parent") in local:
                attrs["parent"] = local[attrs["parent"]]
            g.add_node(nid, **attrs)
            if sym.kind in ("module", "package"):
                pending_edges.append((fid, nid, {"kind": DEFINES}))
        renames[ev.path] = local
        for e in ev.edges:
            src = local.get(e.source, e.source)
            dst = local.get(e.target, e.target)
            pending_edges.append(
                (src, dst, {"kind": e.kind, **({"line": e.line} if e.line else {}), **e.attrs})
            )

    module_names = frozenset(ev.module for ev in files)
    for src, dst, attrs in pending_edges:
        if src in g and dst in g:
            g.add_edge(src, dst, **attrs)
    graph._invalidate()

    # Imports: bind local names to absolute targets.
    for ev in files:
        adapter = get_adapter(ev.language)
        local = renames[ev.path]
        for rec in ev.imports:
            scope = local.get(rec.scope, rec.scope)
            if scope not in g:
                continue
            target = adapter.resolve_import(rec, ev.module, module_names)
            bound = target
            python_dotted = ev.language == "python" and rec.name is None and rec.alias and "." in rec.module
            if python_dotted and rec.alias == rec.module.split(".", 1)[0]:
                # ``import a.b`` binds ``a``; the target module is still ``a.b``.
                bound = rec.alias if rec.level == 0 else target
            tid = graph.id_of(target)
            if tid is None:
                tid = external_id(target)
                if tid not in g:
                    g.add_node(tid, kind="external", name=target, qualname=target)
            attrs = {"kind": IMPORTS, "line": rec.line, "qualname": target}
            if rec.alias:
                attrs["alias"] = rec.alias
                attrs["bound"] = bound
            if rec.name == "*":
                attrs["star"] = True
            g.add_edge(scope, tid, **attrs)
    graph._invalidate()
    _expand_star_imports(graph)

    # Bases: resolve as seen from the class's enclosing scope.
    new_edges: list[tuple[str, str, dict[str, Any]]] = []
    for nid, data in list(g.nodes(data=True)):
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
    _add_edges(graph, new_edges)

    # Calls and raises: best effort, internal targets only (external calls are noise here).
    new_edges = []
    unresolved_calls = 0
    for ev in files:
        local = renames[ev.path]
        seen: set[tuple[str, str]] = set()
        for call in ev.calls:
            caller = local.get(call.caller, call.caller)
            if caller not in g:
                continue
            res = graph.resolve(call.callee, caller)
            if res is None or res.id is None:
                unresolved_calls += res is None
                continue
            if (caller, res.id) in seen:
                continue
            seen.add((caller, res.id))
            new_edges.append((caller, res.id, {"kind": CALLS, "line": call.line}))
        for sym in ev.symbols:
            raises = sym.extra.get("raises") if sym.extra else None
            if not raises:
                continue
            sid = local.get(sym.id, sym.id)
            for exc in raises:
                res = graph.resolve(_strip_generics(exc), sid)
                if res is not None and res.id is not None:
                    new_edges.append((sid, res.id, {"kind": RAISES, "name": exc}))
    _add_edges(graph, new_edges)

    # Manifests: dependencies, entry points, configuration and CI files.
    configs: list[dict[str, Any]] = []
    entry_points: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for result in manifest_results:
        cfg = result.config
        fid = file_id(cfg.path)
        g.add_node(
            fid,
            kind="file",
            name=cfg.path.rsplit("/", 1)[-1],
            path=cfg.path,
            language=None,
            hash=(hashes or {}).get(cfg.path),
            config_kind=cfg.kind,
        )
        configs.append({"path": cfg.path, "kind": cfg.kind, "data": cfg.data})
        for dep in result.dependencies:
            did = dependency_id(dep.ecosystem, dep.name)
            if did not in g:
                g.add_node(did, kind="dependency", name=dep.name, qualname=dep.name, ecosystem=dep.ecosystem)
            g.add_edge(fid, did, kind=DEPENDS_ON, spec=dep.spec, group=dep.group)
        for ep in result.entry_points:
            entry_points.append({"name": ep.name, "target": ep.target, "source": ep.source, "kind": ep.kind})
        for err in result.errors:
            errors.append({"path": cfg.path, "message": err})
    graph._invalidate()

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


def _add_edges(graph: EvidenceGraph, edges: list[tuple[str, str, dict[str, Any]]]) -> None:
    g = graph.g
    for src, dst, attrs in edges:
        if dst not in g:
            g.add_node(dst, kind="external", name=dst[4:], qualname=dst[4:])
        g.add_edge(src, dst, **attrs)
    graph._invalidate()


def _expand_star_imports(graph: EvidenceGraph) -> None:
    """``from m import *`` of an internal module binds its public names (``__all__`` first)."""
    g = graph.g
    additions: list[tuple[str, str, dict[str, Any]]] = []
    for src, dst, data in list(g.edges(data=True)):
        if data.get("kind") != IMPORTS or not data.get("star") or g.nodes[dst].get("kind") == "external":
            continue
        mod = g.nodes[dst]
        names = mod.get("extra", {}).get("all")
        members = graph.members(dst)
        if names is None:
            names = [n for n, mid in members.items() if not n.startswith("_")]
        for name in names:
            target = g.nodes[members[name]]["qualname"] if name in members else f"{mod['qualname']}.{name}"
            additions.append(
                (src, dst, {"kind": IMPORTS, "alias": name, "bound": target, "qualname": target})
            )
    for src, dst, attrs in additions:
        g.add_edge(src, dst, **attrs)
    graph._invalidate()
