"""Agreement with griffe's static analysis on part of the CPython standard library.

griffe (static visitor only, no inspection, no alias resolution, no extensions: its
built-in dataclasses extension adds ``__init__`` methods that are not in the source) is
the reference. For every class, function and method griffe finds, the adapter must have
a symbol with the same qualname, the same class-vs-callable kind and, for callables, the
same parameters (name, kind, has-default). griffe gives ``*args``/``**kwargs`` an implicit
default (``()``/``{}``); a variadic parameter never has a default in source, so that flag
is compared for the other kinds only. Known differences: ``bench/griffe_differences.md``.
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import griffe
import pytest

from pipeline.evidence.languages import get_adapter
from pipeline.evidence.model import Symbol

PACKAGES = ("json", "email", "http", "asyncio", "logging")
MODULES = ("argparse", "dataclasses", "typing", "pathlib")
THRESHOLD = 0.995

_KINDS = {
    "positional-only": "positional_only",
    "positional or keyword": "positional_or_keyword",
    "variadic positional": "var_positional",
    "keyword-only": "keyword_only",
    "variadic keyword": "var_keyword",
}

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _files() -> list[Path]:
    files: list[Path] = []
    for package in PACKAGES:
        files.extend(sorted((STDLIB / package).rglob("*.py")))
    files.extend(STDLIB / f"{name}.py" for name in MODULES)
    return files


@pytest.fixture(scope="module")
def ours() -> dict[str, Symbol]:
    adapter = get_adapter("python")
    files = _files()
    rels = [f.relative_to(STDLIB).as_posix() for f in files]
    all_rels = frozenset(rels)
    symbols: dict[str, Symbol] = {}
    for path, rel in zip(files, rels, strict=True):
        ev = adapter.extract(path.read_bytes(), rel, adapter.module_name(rel, all_rels))
        for s in ev.symbols:
            assert s.qualname not in symbols, f"duplicate qualname {s.qualname}"
            symbols[s.qualname] = s
    return symbols


@pytest.fixture(scope="module")
def reference() -> list[griffe.Object]:
    """Every class, function and method griffe finds, in a stable order."""
    found: list[griffe.Object] = []
    for name in PACKAGES + MODULES:
        root = griffe.load(
            name,
            search_paths=[str(STDLIB)],
            allow_inspection=False,
            resolve_aliases=False,
            extensions=griffe.Extensions(),
        )
        stack = [root]
        while stack:
            obj = stack.pop()
            for member in obj.members.values():
                if member.is_alias:
                    continue
                if member.is_module:
                    stack.append(member)
                elif member.is_class or member.is_function:
                    found.append(member)
                    if member.is_class:
                        stack.append(member)
    return sorted(found, key=lambda o: o.path)


def _difference(obj: griffe.Object, ours: dict[str, Symbol]) -> str | None:
    """Why ``ours`` disagrees with griffe about ``obj`` (``None`` when it agrees)."""
    s = ours.get(obj.path)
    if s is None:
        return f"{obj.path}: missing ({obj.kind.value})"
    if obj.is_class != (s.kind == "class") or obj.is_function != s.is_callable:
        return f"{obj.path}: griffe {obj.kind.value}, ours {s.kind}"
    if obj.is_function:
        theirs = [
            (
                p.name,
                _KINDS[p.kind.value],
                p.default is not None and not _KINDS[p.kind.value].startswith("var_"),
            )
            for p in obj.parameters
        ]
        mine = [(p.name, p.kind, p.default is not None) for p in s.params or []]
        if theirs != mine:
            return f"{obj.path}: griffe params {theirs}, ours {mine}"
    return None


def test_structure_agrees_with_griffe(ours, reference):
    assert len(reference) > 2000  # the comparison covers a real amount of code
    differences = [d for obj in reference if (d := _difference(obj, ours)) is not None]
    agreement = 1 - len(differences) / len(reference)
    print(f"\n{len(reference)} griffe objects, {len(differences)} differ, agreement {agreement:.4%}")
    for d in differences:
        print("  " + d)
    assert agreement >= THRESHOLD, "\n".join(differences[:50])


def test_docstrings_agree_with_griffe(ours, reference):
    compared = 0
    differences: list[str] = []
    for obj in reference:
        s = ours.get(obj.path)
        if s is None:
            continue
        compared += 1
        theirs = obj.docstring.value if obj.docstring else None
        if (theirs or None) != (s.docstring or None):
            differences.append(f"{obj.path}: griffe {theirs!r:.60}, ours {s.docstring!r:.60}")
    assert compared > 2000
    print(f"\n{compared} docstrings compared, {len(differences)} differ")
    for d in differences:
        print("  " + d)
    assert 1 - len(differences) / compared >= THRESHOLD, "\n".join(differences[:50])


def _norm(value: object) -> str | None:
    """Source text compared loosely: griffe re-renders expressions (spacing, quote style)."""
    return None if value is None else re.sub(r"\s+", "", str(value)).replace("'", '"')


def test_annotations_defaults_and_decorators_agree_with_griffe(ours, reference):
    compared = 0
    differences: list[str] = []
    for obj in reference:
        s = ours.get(obj.path)
        if s is None or s.is_callable != obj.is_function:
            continue
        pairs = [("decorators", [_norm(d.value) for d in obj.decorators], [_norm(d) for d in s.decorators])]
        if obj.is_function:
            pairs.append(("returns", _norm(obj.returns), _norm(s.returns)))
            for theirs, mine in zip(obj.parameters, s.params or [], strict=False):
                pairs.append((f"{mine.name}: annotation", _norm(theirs.annotation), _norm(mine.annotation)))
                if not _KINDS[theirs.kind.value].startswith("var_"):
                    pairs.append((f"{mine.name}= default", _norm(theirs.default), _norm(mine.default)))
        for what, theirs, mine in pairs:
            compared += 1
            if theirs != mine:
                differences.append(f"{obj.path} {what}: griffe {theirs!r}, ours {mine!r}")
    assert compared > 10000
    print(f"\n{compared} texts compared, {len(differences)} differ")
    for d in differences:
        print("  " + d)
    assert 1 - len(differences) / compared >= THRESHOLD, "\n".join(differences[:50])


def test_module_docstrings_and_kinds(ours):
    json_pkg = ours["json"]
    assert json_pkg.kind == "package" and json_pkg.docstring.startswith("JSON (JavaScript Object Notation)")
    assert ours["json.decoder"].kind == "module"
    assert ours["asyncio.__main__"].extra["has_main"]
    assert ours["json.dumps"].public and not ours["json.decoder.py_scanstring"].public
