"""No lost work: SIGKILL at any moment leaves the previous docs or the new ones, never a mix.

Kill points:

- the real CLI (``python -m pipeline run ... --profile evidence-only``) killed at time offsets
  spread over an uninterrupted run's measured duration;
- a run with scripted models (a small driver script calling ``execute`` then ``publish``) killed at
  its N-th model call, mid-graph, then resumed with ``resume="last"``;
- every file-system step of a publish (a forked child kills itself just before the N-th step),
  in each of the publish's modes.

No hook in the product is needed: the driver and the forked child wrap the model and the
publish primitives of :mod:`pipeline.publish` (``_write``, ``_rename``, ``_replace``,
``_exchange``, ``_rmtree``, ``_unlink``) and count calls; the environment variables
``KILL_AT_CALL`` and ``KILL_AT_PUBLISH_STEP`` tell the driver where to die.

After each kill: the output folder is either byte-identical to the previous docs or equal to an
uninterrupted run (``report.json`` holds timings and run ids, so it is checked for completeness
only, and the manifest must match the files on disk); nothing outside the output and cache
folders changed; a re-run, or a resume when the run died mid-graph, publishes the same bytes as an
uninterrupted run. The caches survive torn and garbage files.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline import publish as publish_module
from pipeline.lock import LockBusy, RunLock
from pipeline.publish import MANIFEST, PublishError, publish_files, read_manifest, recover
from pipeline.runner import RunOptions, execute, publish
from tests.fakes import ScriptedChat
from tests.hostile_corpus import home_listing, snapshot

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ("report.json", MANIFEST)
MODULES = 10
PRIMITIVES = ("_write", "_rename", "_replace", "_exchange", "_rmtree", "_unlink")

DRIVER = """
import os, signal, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from pipeline.runner import RunOptions, execute, publish
from tests.fakes import ScriptedChat
from tests.test_kill import install_publish_killer, scripted_answer

repo, out, cache = map(Path, sys.argv[1:4])
kill_at_call = int(os.environ.get("KILL_AT_CALL", "0"))
calls = 0

def script(subject, attempt, messages):
    global calls
    calls += 1
    if calls == kill_at_call:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(float(os.environ.get("CALL_SLEEP", "0")))
    return scripted_answer(subject, attempt, messages)

install_publish_killer(int(os.environ.get("KILL_AT_PUBLISH_STEP", "0")))
result = execute(RunOptions(repo=repo, out=out, cache_dir=cache, slm_model=ScriptedChat(script), jobs=1))
publish(result)
"""


# -- the repository, two versions -------------------------------------------------------------------
def write_repo(root: Path, version: int) -> Path:
    pkg = root / "pkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text('"""Small arithmetic modules."""\n', encoding="utf-8")
    modules = range(MODULES) if version == 1 else range(MODULES - 1)
    (pkg / f"mod_{MODULES - 1:02d}.py").unlink(missing_ok=True)
    if version == 2:
        (pkg / "extra.py").write_text(
            '"""Added in version 2."""\n\n\ndef extra(z: int) -> int:\n    """Return z."""\n    return z\n',
            encoding="utf-8",
        )
    for m in modules:
        shown = [i + version * (m == 0) for i in range(3)]  # version 2 changes module 0's docstrings
        funcs = [
            f'def f_{m}_{i}(x: int) -> int:\n    """Return x plus {shown[i]}."""\n    return x + {i}\n'
            for i in range(3)
        ]
        if version == 2 and m == 1:
            funcs.append('def added(y: int) -> int:\n    """Return y doubled."""\n    return 2 * y\n')
        (pkg / f"mod_{m:02d}.py").write_text(
            f'"""Module {m}."""\n\n\n' + "\n\n".join(funcs), encoding="utf-8"
        )
    return root


def scripted_answer(subject: str, attempt: int, messages: list[Any]) -> dict[str, Any]:
    """A valid answer for any task of the test repository."""
    facts = str(messages[1].content)
    if facts.startswith("Symbol: `"):
        wanted = re.search(r"^Parameters to describe[^:\n]*: (.*)$", facts, re.M)
        names = re.findall(r"`([^`]+)`", wanted.group(1)) if wanted else []
        answer: dict[str, Any] = {
            "summary": "Computes a number from its argument.",
            "params": {n: f"The number that {n} stands for." for n in names},
        }
        if "Returns a value" in facts:
            answer["returns"] = "The computed number."
        return answer
    if facts.startswith("Module: `"):
        return {"summary": f"The module `{subject}` holds small arithmetic functions."}
    return {"summary": "A package of small arithmetic modules.", "components": [], "relations": []}


def install_publish_killer(step: int) -> list[str]:
    """Wrap the publish primitives: the ``step``-th call (1-based) kills the process first.
    Returns the names of the calls made, in order (``step`` 0 only counts)."""
    seen: list[str] = []
    for name in PRIMITIVES:
        real = getattr(publish_module, name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            seen.append(_name)
            if len(seen) == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return _real(*args, **kwargs)

        setattr(publish_module, name, wrapper)
    return seen


# -- reading and judging an output folder ----------------------------------------------------------------
def read_tree(folder: Path) -> dict[str, bytes] | None:
    if not folder.exists():
        return None
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def is_new(tree: dict[str, bytes], new: dict[str, bytes], foreign: frozenset[str] = frozenset()) -> bool:
    """The complete output of an uninterrupted run (timings aside), consistent with its manifest;
    ``foreign`` files (a user's) are in both but not in the manifest."""
    if set(tree) != set(new):
        return False
    if any(tree[rel] != new[rel] for rel in new if rel not in VOLATILE):
        return False
    manifest = json.loads(tree[MANIFEST])
    listed = {
        rel: hashlib.sha256(data).hexdigest()
        for rel, data in tree.items()
        if rel != MANIFEST and rel not in foreign
    }
    report = json.loads(tree["report.json"])
    return manifest["files"] == listed and report["pages"] == json.loads(new["report.json"])["pages"]


def judge(
    out: Path,
    old: dict[str, bytes],
    new: dict[str, bytes],
    *,
    missing_ok: bool = False,
    foreign: frozenset[str] = frozenset(),
) -> str:
    tree = read_tree(out)
    if tree is None:
        assert missing_ok, "the output folder is gone"
        return "missing"
    if tree == old:
        return "old"
    assert is_new(tree, new, foreign), f"a mix of old and new docs: {sorted(set(tree) ^ set(new))[:5]}"
    return "new"


def unfinished_runs(cache: Path, *, checkpointed: bool = False) -> list[str]:
    """Runs started and not finished (with at least one graph checkpoint, if ``checkpointed``)."""
    path = cache / "runs.sqlite"
    if not path.exists():
        return []
    query = "SELECT run_id FROM pipeline_runs WHERE finished IS NULL"
    if checkpointed:
        query += " AND run_id IN (SELECT thread_id FROM checkpoints)"
    with contextlib.closing(sqlite3.connect(path)) as db:
        try:
            return [r[0] for r in db.execute(query)]
        except sqlite3.Error:
            return []


def evidence_only(repo: Path, out: Path, cache: Path, **kw: Any) -> Any:
    result = execute(RunOptions(repo=repo, out=out, cache_dir=cache, profile="evidence-only", **kw))
    publish(result)
    del result
    gc.collect()  # close the run's databases before the next step looks at the files


def scripted(repo: Path, out: Path, cache: Path, **kw: Any) -> ScriptedChat:
    chat = ScriptedChat(scripted_answer)
    result = execute(RunOptions(repo=repo, out=out, cache_dir=cache, slm_model=chat, jobs=1, **kw))
    publish(result)
    del result
    gc.collect()
    return chat


def cli(repo: Path, out: Path, cache: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        str(repo),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--profile",
        "evidence-only",
    ]


@dataclass
class World:
    base: Path
    repo: Path
    old_out: Path  # v1 docs and the cache they were made with
    old_cache: Path
    old: dict[str, bytes]
    new: dict[str, bytes]  # an uninterrupted evidence-only run of v2 over the v1 docs
    new_scripted: dict[str, bytes]  # the same with scripted models
    old_scripted_out: Path
    old_scripted_cache: Path
    old_scripted: dict[str, bytes]
    duration_s: float  # the uninterrupted CLI run

    def trial(
        self, name: str, *, scripted_models: bool = False, fresh_answers: bool = False
    ) -> tuple[Path, Path]:
        """A fresh output folder holding the v1 docs, and the cache that made them (without its
        model answers when ``fresh_answers``: every task then asks the model)."""
        folder = self.base / "trials" / name
        out, cache = folder / "out", folder / "cache"
        src_out, src_cache = (
            (self.old_scripted_out, self.old_scripted_cache)
            if scripted_models
            else (self.old_out, self.old_cache)
        )
        shutil.copytree(src_out, out, symlinks=True)
        shutil.copytree(src_cache, cache, symlinks=True)
        if fresh_answers:
            for suffix in ("", "-wal", "-shm"):
                (cache / f"outputs.sqlite{suffix}").unlink(missing_ok=True)
        return out, cache

    @property
    def new_files(self) -> dict[str, bytes]:
        """What a run hands to publish (the manifest is the publish's own)."""
        return {rel: data for rel, data in self.new.items() if rel != MANIFEST}

    def outside(self, out: Path, cache: Path) -> tuple[dict[str, tuple], list[str]]:
        return snapshot(self.base, exclude=(out, cache, self.base / "trials")), home_listing()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = tmp_path_factory.mktemp("kill")
    repo = write_repo(base / "repo", 1)
    old_out, old_cache = base / "v1-out", base / "v1-cache"
    evidence_only(repo, old_out, old_cache)
    so_out, so_cache = base / "v1s-out", base / "v1s-cache"
    scripted(repo, so_out, so_cache)
    write_repo(repo, 2)
    # The reference: the real CLI, uninterrupted, over a copy of the v1 docs; timed for the kills.
    ref = base / "ref"
    shutil.copytree(old_out, ref / "out")
    shutil.copytree(old_cache, ref / "cache")
    started = time.monotonic()
    subprocess.run(
        cli(repo, ref / "out", ref / "cache"), check=True, capture_output=True, cwd=ROOT, timeout=300
    )
    duration = time.monotonic() - started
    shutil.copytree(so_out, ref / "sout")
    shutil.copytree(so_cache, ref / "scache")
    scripted(repo, ref / "sout", ref / "scache")
    return World(
        base=base,
        repo=repo,
        old_out=old_out,
        old_cache=old_cache,
        old=read_tree(old_out),
        new=read_tree(ref / "out"),
        new_scripted=read_tree(ref / "sout"),
        old_scripted_out=so_out,
        old_scripted_cache=so_cache,
        old_scripted=read_tree(so_out),
        duration_s=duration,
    )


def test_the_two_versions_differ_and_runs_are_deterministic(world, tmp_path):
    assert world.old != world.new and set(world.old) != set(world.new)
    # An in-process run publishes the same bytes as the CLI: re-runs below can be in-process.
    out, cache = world.trial("determinism")
    evidence_only(world.repo, out, cache)
    assert is_new(read_tree(out), world.new)
    assert world.new["index.md"] != world.new_scripted["index.md"]


# -- the CLI, killed at time offsets over its run -----------------------------------------------------------
OFFSETS = 20
IMPORTS = (
    "import pipeline.cli, pipeline.runner, pipeline.graph.build, langgraph.checkpoint.sqlite, rich.progress"
)


def _signature(paths: list[Path]) -> tuple:
    return tuple((p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else None for p in paths)


def graph_started(cache: Path):
    """True once the run has written to its checkpoint database (the graph is running)."""
    files = [cache / f"runs.sqlite{suffix}" for suffix in ("", "-wal")]
    before = _signature(files)
    return lambda: _signature(files) != before


def publish_started(cache: Path):
    """True once the publish has begun staging the new tree."""
    return lambda: any(p.name.startswith("new-") for p in (cache / "publish").glob("*"))


def kill_points(world: World, cache: Path) -> list[tuple[str, Any, float]]:
    """(label, event or None, delay): six offsets spread over the measured run, ten after the
    graph starts, four after the publish starts (events make the points robust to machine load)."""
    spread = [("time", None, world.duration_s * (k + 0.5) / 6) for k in range(6)]
    graph = [("graph", graph_started(cache), d) for d in (0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.9)]
    pub = [("publish", publish_started(cache), d) for d in (0, 0.003, 0.01, 0.03)]
    return spread + graph + pub


def _wait(event: Any, proc: subprocess.Popen, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while event is not None and not event() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)


def test_cli_killed_at_time_offsets_leaves_old_or_new_docs_and_a_rerun_completes(world):
    outcomes = []
    for k in range(OFFSETS):
        out, cache = world.trial(f"time-{k:02d}")
        label, event, delay = kill_points(world, cache)[k]
        before, home_before = world.outside(out, cache)
        proc = subprocess.Popen(
            cli(world.repo, out, cache), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait(event, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        state = judge(out, world.old, world.new)
        assert world.outside(out, cache) == (before, home_before), f"{label}+{delay}s wrote outside"
        # Killed between registering the run and its first checkpoint there is nothing to resume
        # (see test_resuming_a_run_killed_before_its_first_checkpoint): run again instead.
        mid_graph = bool(unfinished_runs(cache, checkpointed=True))
        evidence_only(world.repo, out, cache, resume="last" if mid_graph else None)
        assert is_new(read_tree(out), world.new), f"{label}+{delay}s: the re-run differs"
        assert not any((cache / "publish").iterdir())
        outcomes.append((label, delay, proc.returncode, state, mid_graph))
    print(f"uninterrupted run {world.duration_s:.2f}s; kills (after, delay, exit, state, mid-graph):")
    print(outcomes)
    assert all(code in (-signal.SIGKILL, 0, 1) for *_, code, _, _ in outcomes), outcomes
    # The graph points did land mid-graph: the resume path was exercised.
    assert any(mid for *_, mid in outcomes), outcomes


# -- scripted models, killed at the N-th model call (mid-graph), then resumed -------------------------------
def test_scripted_run_killed_mid_graph_resumes_to_the_same_docs(world):
    total = sum(json.loads(world.new_scripted["report.json"])["tasks"].values())  # one call each
    assert total > 30
    driver = world.base / "driver.py"
    driver.write_text(DRIVER.format(root=str(ROOT)), encoding="utf-8")
    for kill_at in (1, total // 3, (2 * total) // 3, total):
        out, cache = world.trial(f"call-{kill_at:03d}", scripted_models=True, fresh_answers=True)
        before, home_before = world.outside(out, cache)
        env = {**os.environ, "KILL_AT_CALL": str(kill_at), "CALL_SLEEP": "0.005"}
        proc = subprocess.run(
            [sys.executable, str(driver), str(world.repo), str(out), str(cache)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        assert judge(out, world.old_scripted, world.new_scripted) == "old"
        assert world.outside(out, cache) == (before, home_before)
        assert len(unfinished_runs(cache)) == 1
        chat = scripted(world.repo, out, cache, resume="last")
        assert is_new(read_tree(out), world.new_scripted), f"resumed after call {kill_at}: differs"
        # Finished tasks come from the checkpoint (or the answer cache), not from the model again.
        assert len(chat.seen) <= total - kill_at + 1
        assert unfinished_runs(cache) == []


def test_resuming_a_run_killed_before_its_first_checkpoint(world):
    from pipeline.runner import RunStore

    out, cache = world.trial("no-checkpoint")
    store = RunStore(cache / "runs.sqlite")
    store.begin(None, str(world.repo.resolve()), str(out))  # what a kill right after this leaves
    store.conn.close()
    evidence_only(world.repo, out, cache, resume="last")
    assert is_new(read_tree(out), world.new)


def test_scripted_run_killed_while_publishing_keeps_old_or_new(world):
    driver = world.base / "driver.py"
    driver.write_text(DRIVER.format(root=str(ROOT)), encoding="utf-8")
    states = []
    # Before the swap (the staging writes come first, two steps each: a temporary file, a rename),
    # and after it (the swap, the two leftover folders' removal, then the journal's removal).
    for step in (3, 2 * len(world.new_scripted) + 5):
        out, cache = world.trial(f"pub-{step:03d}", scripted_models=True)
        env = {**os.environ, "KILL_AT_PUBLISH_STEP": str(step)}
        proc = subprocess.run(
            [sys.executable, str(world.base / "driver.py"), str(world.repo), str(out), str(cache)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        states.append(judge(out, world.old_scripted, world.new_scripted))
        # The graph had finished: nothing to resume, a re-run answers from the cache.
        assert unfinished_runs(cache) == []
        chat = scripted(world.repo, out, cache)
        assert is_new(read_tree(out), world.new_scripted)
        assert chat.seen == []
    assert states[0] == "old" and states[-1] == "new"


# -- every step of a publish, in every mode ------------------------------------------------------------------
def _publish_in_child(
    out: Path, files: dict[str, bytes], staging_root: Path | None, step: int, exchange: bool
) -> int:
    """Fork; the child publishes and kills itself just before its ``step``-th file-system step."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns to pytest
        code = 0
        try:
            if not exchange:
                publish_module._exchange = lambda a, b: False
            install_publish_killer(step)
            publish_files(out, files, staging_root=staging_root)
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _count_steps(world: World, mode: str, tmp_path: Path) -> int:
    out, cache = _publish_trial(world, "count-" + mode, mode)
    seen = []
    with pytest.MonkeyPatch.context() as mp:
        for name in PRIMITIVES:
            real = getattr(publish_module, name)
            mp.setattr(
                publish_module, name, lambda *a, _r=real, _n=name, **k: (seen.append(_n), _r(*a, **k))[1]
            )
        if mode == "two-renames":
            mp.setattr(publish_module, "_exchange", lambda a, b: (seen.append("_exchange"), False)[1])
        publish_files(out, world.new_files, staging_root=None if mode == "no-cache" else cache)
    return len(seen)


def _publish_trial(world: World, name: str, mode: str) -> tuple[Path, Path]:
    folder = world.base / "trials" / name
    out, cache = folder / "out", folder / "cache"
    shutil.copytree(world.old_out, out, symlinks=True)
    cache.mkdir()  # a publish only stages there
    if mode in ("user-files", "no-cache"):
        (out / "NOTES.md").write_text("my own notes\n", encoding="utf-8")
        (out / "drafts").mkdir()
        (out / "drafts" / "idea.txt").write_text("keep me\n", encoding="utf-8")
    return out, cache


@pytest.mark.parametrize("mode", ["exchange", "two-renames", "user-files", "no-cache"])
def test_killed_at_every_publish_step(world, tmp_path, mode):
    steps = _count_steps(world, mode, tmp_path)
    assert steps > len(world.new_files)
    user = (
        {"NOTES.md": b"my own notes\n", "drafts/idea.txt": b"keep me\n"}
        if mode in ("user-files", "no-cache")
        else {}
    )
    old = {**world.old, **user}
    new = {**world.new, **user}
    seen = []
    for step in range(1, steps + 2):
        out, cache = _publish_trial(world, f"{mode}-{step:03d}", mode)
        before, home_before = world.outside(out, cache)
        code = _publish_in_child(
            out, world.new_files, None if mode == "no-cache" else cache, step, mode != "two-renames"
        )
        assert code == (0 if step > steps else -signal.SIGKILL), step
        if mode in ("exchange", "two-renames"):
            # A swap: at every instant the folder is the old docs or the new ones (or, between the
            # two renames, briefly absent: recovery puts the old docs back).
            immediate = judge(out, old, new, missing_ok=mode == "two-renames", foreign=frozenset(user))
        else:
            immediate = "journaled"  # a file-by-file publish is finished by recovery
        recover(out, None if mode == "no-cache" else cache)
        after = judge(out, old, new, foreign=frozenset(user))
        if immediate in ("old", "new"):
            assert after == immediate, step
        assert world.outside(out, cache) == (before, home_before)
        leftovers = [p.name for p in out.iterdir() if p.name.startswith(".pipeline-staging")]
        assert leftovers == []
        if mode != "no-cache":
            assert not any((cache / "publish").iterdir()), step
        # And the next publish completes the job.
        publish_files(out, world.new_files, staging_root=None if mode == "no-cache" else cache)
        assert judge(out, old, new, foreign=frozenset(user)) == "new"
        seen.append((immediate, after))
    afters = {a for _, a in seen}
    assert afters == {"old", "new"}, seen
    if mode == "two-renames":
        assert ("missing", "old") in seen


# -- publish rules --------------------------------------------------------------------------------
def test_publish_keeps_user_files_and_replaces_only_what_it_wrote(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    publish_files(out, {"a.md": b"A1", "b.md": b"B1"}, staging_root=cache)
    assert read_manifest(out) == {
        "a.md": hashlib.sha256(b"A1").hexdigest(),
        "b.md": hashlib.sha256(b"B1").hexdigest(),
    }
    assert oct(os.stat(out / "a.md").st_mode & 0o777) == oct(0o666 & ~_umask())
    (out / "NOTES.md").write_text("mine", encoding="utf-8")
    (out / "a.md").write_text("edited by hand", encoding="utf-8")
    publish_files(out, {"b.md": b"B2", "c.md": b"C2"}, staging_root=cache)
    tree = read_tree(out)
    assert tree["NOTES.md"] == b"mine"
    assert tree["a.md"] == b"edited by hand"  # stale but edited: not ours to delete any more
    assert (tree["b.md"], tree["c.md"]) == (b"B2", b"C2")
    (out / "c.md").write_text("edited", encoding="utf-8")
    publish_files(out, {"c.md": b"C3"}, staging_root=cache)
    assert (out / "c.md").read_bytes() == b"C3"
    kept = list((cache / "replaced").rglob("c.md"))
    assert [p.read_bytes() for p in kept] == [b"edited"]
    assert not (out / "b.md").exists()  # stale and unchanged: removed


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_an_unchanged_publish_writes_nothing(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    publish_files(out, {"a.md": b"A"}, staging_root=cache)
    inode, mtime = os.stat(out).st_ino, os.stat(out / "a.md").st_mtime_ns
    publish_files(out, {"a.md": b"A"}, staging_root=cache)
    assert (os.stat(out).st_ino, os.stat(out / "a.md").st_mtime_ns) == (inode, mtime)


def test_publish_refuses_a_linked_output_folder_and_never_writes_through_links(tmp_path):
    victim = tmp_path / "home"
    victim.mkdir()
    (victim / "index.md").write_text("precious", encoding="utf-8")
    link = tmp_path / "docs"
    link.symlink_to(victim)
    with pytest.raises(PublishError, match="is a symbolic link"):
        publish_files(link, {"index.md": b"x"}, staging_root=tmp_path / "cache")
    assert (victim / "index.md").read_text() == "precious"
    # A link planted where a page goes is moved aside, not written through.
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.md").symlink_to(victim / "index.md")
    publish_files(out, {"index.md": b"new"}, staging_root=tmp_path / "cache")
    assert (out / "index.md").read_bytes() == b"new" and not (out / "index.md").is_symlink()
    assert (victim / "index.md").read_text() == "precious"
    (file_out := tmp_path / "file").write_text("x")
    with pytest.raises(PublishError, match="not a folder"):
        publish_files(file_out, {"a.md": b"x"})


@pytest.mark.parametrize(
    "rel",
    ["", "/etc/x.md", "../x.md", "a/../../x.md", "./a.md", ".pipeline-manifest.json", "a\\b.md", "a//b.md"],
)
def test_publish_rejects_paths_that_are_not_plain_before_writing(tmp_path, rel):
    with pytest.raises(ValueError):
        publish_files(tmp_path / "out", {"ok.md": b"x", rel: b"y"}, staging_root=tmp_path / "cache")
    assert not (tmp_path / "out").exists() and not (tmp_path / "x.md").exists()


# -- the run lock --------------------------------------------------------------------------------
def test_a_second_run_gets_a_clear_lock_busy(tmp_path):
    with RunLock(tmp_path / "cache") as held:
        assert held.held
        with pytest.raises(LockBusy) as busy, RunLock(tmp_path / "cache"):
            pass
    assert str(busy.value) == (
        f"another run is writing docs for this repository (pid {os.getpid()}); "
        "wait for it or use another --cache-dir"
    )
    with RunLock(tmp_path / "cache"):  # released on exit
        pass


def test_a_killed_run_never_leaves_a_stale_lock(tmp_path):
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); from pipeline.lock import RunLock\n"
        f"lock = RunLock({str(tmp_path / 'cache')!r}).acquire(); print('held', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"held"
        with pytest.raises(LockBusy, match=f"pid {proc.pid}"):
            RunLock(tmp_path / "cache").acquire()
    finally:
        proc.kill()
        proc.wait()
    with RunLock(tmp_path / "cache"):
        pass


def test_the_lock_never_writes_through_a_planted_link(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not truncate", encoding="utf-8")
    (cache / "run.lock").symlink_to(victim)
    with RunLock(cache):
        assert not (cache / "run.lock").is_symlink()
    assert victim.read_text() == "do not truncate"


# -- caches survive torn and garbage files ------------------------------------------------------------
def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    else:  # a torn write: one page in the middle overwritten
        mid = len(data) // 2
        path.write_bytes(data[:mid] + b"\xde\xad" * 2048 + data[mid + 4096 :])


def _corrupt_trial(world: World, which: str, how: str, tag: str = "") -> tuple[Path, Path]:
    """The v2 docs and a cache filled by an uninterrupted v2 run, with ``which`` corrupted."""
    folder = world.base / "trials" / f"corrupt-{which.replace('/', '_')}-{how}{tag}"
    out, cache = folder / "out", folder / "cache"
    shutil.copytree(world.base / "ref" / "sout", out)
    shutil.copytree(world.base / "ref" / "scache", cache)
    for suffix in ("-wal", "-shm"):
        (cache / f"{which}{suffix}").unlink(missing_ok=True)
    _corrupt(cache / which, how)
    return out, cache


@pytest.mark.parametrize("how", ["truncated", "garbage", "torn"])
def test_a_corrupt_evidence_cache_is_recomputed(world, how):
    out, cache = _corrupt_trial(world, "evidence/evidence.sqlite", how)
    chat = scripted(world.repo, out, cache)
    assert is_new(read_tree(out), world.new_scripted)
    assert chat.seen == []  # the answers were not lost with the evidence
    if how != "torn":  # a torn page may miss what the run reads: the checksums guard the rest
        assert json.loads((out / "report.json").read_text())["evidence"]["parsed"] == MODULES + 1
    scripted(world.repo, out, cache)
    assert json.loads((out / "report.json").read_text())["evidence"] == {
        "cached": MODULES + 1,
        "parsed": 0,
        "skipped": 0,
    }


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_corrupt_answer_cache_is_recomputed(world, how):
    out, cache = _corrupt_trial(world, "outputs.sqlite", how)
    chat = scripted(world.repo, out, cache)
    assert is_new(read_tree(out), world.new_scripted)
    report = json.loads((out / "report.json").read_text())
    assert len(chat.seen) == sum(report["tasks"].values())  # every answer asked for again
    assert scripted(world.repo, out, cache).seen == []  # and cached again


def test_a_torn_answer_cache_is_recomputed(world):
    out, cache = _corrupt_trial(world, "outputs.sqlite", "torn")
    scripted(world.repo, out, cache)
    assert is_new(read_tree(out), world.new_scripted)


def test_a_torn_answer_cache_heals(world):
    out, cache = _corrupt_trial(world, "outputs.sqlite", "torn", tag="-heal")
    scripted(world.repo, out, cache)
    assert scripted(world.repo, out, cache).seen == []


def test_a_corrupt_checkpoint_database_does_not_stop_the_next_run(world):
    out, cache = world.trial("corrupt-runs", scripted_models=True)
    _corrupt(cache / "runs.sqlite", "garbage")
    for suffix in ("-wal", "-shm"):
        (cache / f"runs.sqlite{suffix}").unlink(missing_ok=True)
    scripted(world.repo, out, cache)
    assert is_new(read_tree(out), world.new_scripted)
