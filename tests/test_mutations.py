"""The validator's mutation suite: correct records for real symbols, then one planted error
per mutant; recall per error type and false positives on the correct records.

Correct records are made mechanically from the evidence (a neutral summary with no
identifiers, every parameter with a neutral description, returns/yields exactly when the
code returns/yields, raises from the evidence, an example calling the symbol with its
real keyword names). The corpora are the example repository and two standard-library
packages (``json``, ``email``) copied to a temporary folder. A mutant is detected when the
validator reports at least one error finding of the rule that names its error type.

Invented names are checked against every name-like token of the corpus (and the builtins
and standard-library module names), so a name that is accepted really is invented.
"""

from __future__ import annotations

import builtins
import re
import shutil
import sys
import sysconfig
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipeline.agents.api import documented_symbols, raised_names, returns_value
from pipeline.agents.records import ApiRecord, ParamDoc, RaiseDoc
from pipeline.agents.validator import documentable_params, validate_record
from pipeline.evidence.builder import BuildOptions, build_evidence
from pipeline.evidence.graph import EvidenceGraph
from pipeline.evidence.model import (
    KEYWORD_ONLY,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    Param,
)

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"])
RECALL_MIN = 0.99
FALSE_POSITIVE_MAX = 0.01

# error type -> the rule that must report it
EXPECTED = {
    "renamed-parameter": "param-unknown",
    "invented-parameter": "param-unknown",
    "removed-parameter": "param-missing",
    "invented-function": "unknown-identifier",
    "invented-module": "unknown-identifier",
    "wrong-raises": "raises-unverified",
    "returns-on-procedure": "returns-on-procedure",
    "yields-on-non-generator": "yields-on-non-generator",
    "wrong-file": "unknown-file",
    "example-missing-keyword": "example-unknown-keyword",
    "example-missing-argument": "example-missing-argument",
    "example-invented-function": "example-unknown-call",
}

SUMMARY = "Does the documented work."
PARAM_TEXT = "A value the caller passes in."
RETURNS_TEXT = "The computed result."
YIELDS_TEXT = "Each produced value in turn."
RAISES_TEXT = "When the input is not acceptable."
_WORDS = ("frobnicate", "reticulate", "quuxify", "zorblax", "splinter", "wibble", "snorkel", "grommet")
_TAILS = ("splines", "widgets", "payload", "ledger", "cursor", "bundle")
# Builtin exceptions a planted `raises` entry may name, when nothing in the corpus is related.
_EXCEPTIONS = (
    "ZeroDivisionError",
    "FileExistsError",
    "ChildProcessError",
    "BrokenPipeError",
    "RecursionError",
    "TabError",
    "ConnectionRefusedError",
    "IsADirectoryError",
    "ProcessLookupError",
    "UnboundLocalError",
)
_TRANSPARENT = frozenset(
    {"staticmethod", "classmethod", "property", "abstractmethod", "cache", "lru_cache", "cached_property"}
    | {"wraps", "override", "final", "setter", "getter", "deleter", "contextmanager", "asynccontextmanager"}
    | {"total_ordering", "dataclass", "unique"}
)
_ITERATOR_HINT = re.compile(r"\b(?:Async)?(?:Iterator|Iterable|Generator)\b")


# -- corpora -------------------------------------------------------------------------------------


@dataclass
class Corpus:
    name: str
    graph: EvidenceGraph
    tokens: set[str]
    symbols: list[str]
    raised_anywhere: set[str] = field(default_factory=set)
    _counter: int = 0

    def invented(self, kind: str = "name") -> Iterator[str]:
        """Fresh names that occur nowhere in the corpus."""
        for a in _WORDS:
            for b in _TAILS:
                name = f"{a}_{b}" if kind == "name" else f"{a}{b}"
                if name not in self.tokens:
                    yield name


def _copy_package(tmp: Path, package: str) -> Path:
    repo = tmp / f"stdlib-{package}"
    shutil.copytree(
        STDLIB / package, repo / package, ignore=shutil.ignore_patterns("__pycache__", "test", "tests")
    )
    return repo


def _tokens(repo: Path, graph: EvidenceGraph) -> set[str]:
    words: set[str] = set(dir(builtins)) | set(sys.stdlib_module_names)
    for path in repo.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".toml", ".txt", ".cfg"):
            words.update(
                re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text(encoding="utf-8", errors="replace"))
            )
    for _, data in graph.g.nodes(data=True):
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", repr(data)))
    return words


def _corpus(name: str, repo: Path) -> Corpus:
    graph, _ = build_evidence(repo, BuildOptions(use_cache=False))
    raised: set[str] = set()
    for _, data in graph.g.nodes(data=True):
        for r in (data.get("extra") or {}).get("raises") or []:
            raised.add(str(r).split("(", 1)[0].rsplit(".", 1)[-1])
    return Corpus(name, graph, _tokens(repo, graph), documented_symbols(graph), raised)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> list[Corpus]:
    tmp = tmp_path_factory.mktemp("mutations")
    inventory = tmp / "inventory"
    shutil.copytree(
        ROOT / "examples" / "python" / "inventory",
        inventory,
        ignore=shutil.ignore_patterns(".pipeline", "docs"),
    )
    return [
        _corpus("inventory", inventory),
        _corpus("json", _copy_package(tmp, "json")),
        _corpus("email", _copy_package(tmp, "email")),
    ]


# -- correct records -------------------------------------------------------------------------------


def _module_qualname(graph: EvidenceGraph, sid: str) -> str:
    return str(graph.node(graph.module_of(sid) or sid).get("qualname"))


def _local_path(graph: EvidenceGraph, sid: str) -> str:
    """The symbol's qualname relative to its module (``Class.method``)."""
    module = _module_qualname(graph, sid)
    return str(graph.node(sid)["qualname"])[len(module) + 1 :]


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _literal_signature(graph: EvidenceGraph, sid: str) -> bool:
    """Do callers see the signature as written? A decorator of another library may change it."""
    for dec in graph.node(sid).get("decorators") or []:
        name = str(dec).split("(", 1)[0].lstrip("@").strip()
        if name.rsplit(".", 1)[-1] in _TRANSPARENT or name.endswith((".setter", ".getter", ".deleter")):
            continue
        res = graph.resolve(name, graph.node(sid).get("parent"))
        if res is None or res.id is None:
            return False
    return True


def _call_args(params: list[Param]) -> str:
    """A valid call: positional-only parameters by position, the others by keyword."""
    parts = []
    for p in params:
        if p.kind == POSITIONAL_ONLY:
            parts.append("None")
    for p in params:
        if p.kind not in (POSITIONAL_ONLY, VAR_POSITIONAL, VAR_KEYWORD):
            parts.append(f"{p.name}=None")
    return ", ".join(parts)


@dataclass
class Example:
    code: str
    target_line: int  # index of the line that calls the documented symbol
    target: str  # id of what that call runs (the symbol; a class for a constructor)
    instance: str | None = None  # the variable holding an instance, for methods


def _example(graph: EvidenceGraph, sid: str) -> Example | None:
    node = graph.node(sid)
    kind = node.get("kind")
    extra = node.get("extra") or {}
    if node.get("language") != "python" or extra.get("is_property") or _is_dunder(str(node.get("name"))):
        return None
    module = _module_qualname(graph, sid)
    path = _local_path(graph, sid)
    if not path or not re.fullmatch(r"[A-Za-z_][\w.]*", path):
        return None
    head = path.split(".", 1)[0]
    params = documentable_params(graph, sid)
    if params is None:
        return None
    lines = [f"from {module} import {head}"]
    if kind == "class" or (kind == "function" and "." not in path):
        lines.append(f"{path}({_call_args(params)})")
        return Example("\n".join(lines), len(lines) - 1, sid)
    parent = node.get("parent")
    if kind != "method" or parent is None or graph.node(parent).get("kind") != "class":
        return None
    if extra.get("is_staticmethod") or extra.get("is_classmethod"):
        lines.append(f"{path}({_call_args(params)})")
        return Example("\n".join(lines), len(lines) - 1, sid)
    ctor = documentable_params(graph, parent)
    owner = path.rsplit(".", 1)[0]
    lines.append(f"obj = {owner}({_call_args(ctor or [])})")
    lines.append(f"obj.{node['name']}({_call_args(params)})")
    return Example("\n".join(lines), len(lines) - 1, sid, instance="obj")


def correct_record(graph: EvidenceGraph, sid: str) -> tuple[ApiRecord, Example | None]:
    """A record that is right by construction: every claim comes from the evidence."""
    node = graph.node(sid)
    extra = node.get("extra") or {}
    params = documentable_params(graph, sid) or []
    example = _example(graph, sid)
    record = ApiRecord(
        summary=SUMMARY,
        params=[ParamDoc(name=p.name.lstrip("*"), description=PARAM_TEXT) for p in params],
        returns=RETURNS_TEXT if returns_value(node) else None,
        yields=YIELDS_TEXT if extra.get("is_generator") else None,
        raises=[RaiseDoc(exception=r, when=RAISES_TEXT) for r in raised_names(graph, sid)],
        examples=[example.code] if example is not None else [],
    )
    return record, example


# -- mutants ---------------------------------------------------------------------------------------


Mutant = tuple[str, ApiRecord]  # (what was planted, the record)


def _with_summary(record: ApiRecord, span: str) -> ApiRecord:
    return record.model_copy(update={"summary": f"{SUMMARY[:-1]} with {span}."})


def _real_params(graph: EvidenceGraph, sid: str) -> list[Param] | None:
    return documentable_params(graph, sid)


def renamed_parameter(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    params = _real_params(c.graph, sid) or []
    names = {p.name.lstrip("*") for p in params}
    out = []
    for p in params[:3]:
        bare = p.name.lstrip("*")
        for new in (f"{bare}_value", f"new_{bare}", bare.rstrip("s") + "_arg"):
            if new in names:
                continue
            docs = [
                ParamDoc(name=new if d.name == bare else d.name, description=d.description)
                for d in record.params
            ]
            out.append((f"{bare} -> {new}", record.model_copy(update={"params": docs})))
    return out


def invented_parameter(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    if _real_params(c.graph, sid) is None:
        return []
    out = []
    for name in list(c.invented())[:3]:
        docs = [*record.params, ParamDoc(name=name, description=PARAM_TEXT)]
        out.append((name, record.model_copy(update={"params": docs})))
    return out


def removed_parameter(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    out = []
    for drop in record.params[:3]:
        docs = [d for d in record.params if d.name != drop.name]
        out.append((f"without {drop.name}", record.model_copy(update={"params": docs})))
    return out


def invented_function(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    names = list(c.invented())
    module = _module_qualname(c.graph, sid)
    spans = [f"`{names[0]}()`", f"`{names[1]}`", f"`{module}.{names[2]}`"]
    node = c.graph.node(sid)
    parent = node.get("parent")
    if parent is not None and c.graph.node(parent).get("kind") == "class":
        spans.append(f"`{c.graph.node(parent)['name']}.{names[3]}()`")
    return [(s, _with_summary(record, s)) for s in spans]


def invented_module(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    mods = list(c.invented("module"))
    top = _module_qualname(c.graph, sid).split(".", 1)[0]
    spans = [f"`{top}.{mods[0]}`", f"`{top}.{mods[1]}.{mods[2]}`", f"`{mods[3]}.{mods[4]}`"]
    return [(s, _with_summary(record, s)) for s in spans]


def _unrelated_exceptions(c: Corpus) -> list[str]:
    raised = [getattr(builtins, r) for r in c.raised_anywhere if isinstance(getattr(builtins, r, None), type)]
    out = []
    for name in _EXCEPTIONS:
        exc = getattr(builtins, name)
        if name in c.tokens - set(dir(builtins)) or any(
            issubclass(exc, r) or issubclass(r, exc) for r in raised
        ):
            continue
        out.append(name)
    return out


def wrong_raises(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    if c.graph.node(sid).get("kind") not in ("function", "method", "class"):
        return []
    names = _unrelated_exceptions(c)[:2] + [f"{w.capitalize()}Error" for w in list(c.invented("module"))[:1]]
    out = []
    for name in names:
        raises = [*record.raises, RaiseDoc(exception=name, when=RAISES_TEXT)]
        out.append((name, record.model_copy(update={"raises": raises})))
    return out


def returns_on_procedure(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    node = c.graph.node(sid)
    extra = node.get("extra") or {}
    annotation = str(node.get("returns") or "").strip()
    if (
        node.get("kind") not in ("function", "method")
        or extra.get("is_generator")
        or extra.get("is_property")
    ):
        return []
    if returns_value(node) or annotation not in ("", "None"):
        return []
    if extra.get("is_abstract") and annotation != "None":
        return []  # an abstract method without annotation: its overrides decide
    texts = ("The computed result.", "A dictionary of the values.", "True when it worked.")
    return [(t, record.model_copy(update={"returns": t})) for t in texts]


def yields_on_non_generator(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    node = c.graph.node(sid)
    extra = node.get("extra") or {}
    annotation = str(node.get("returns") or "")
    if node.get("kind") not in ("function", "method") or extra.get("is_generator"):
        return []
    if _ITERATOR_HINT.search(annotation) or (extra.get("is_abstract") and not annotation):
        return []  # returns an iterator, or an abstract method whose overrides may be generators
    texts = ("Each item in turn.", "The values, one at a time.")
    return [(t, record.model_copy(update={"yields": t})) for t in texts]


def wrong_file(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    own = str(c.graph.node(sid).get("file") or "")
    folder = own.rsplit("/", 1)[0] if "/" in own else ""
    names = list(c.invented())
    paths = [
        f"{folder}/{names[0]}.py" if folder else f"{names[0]}.py",
        f"{names[1]}/{names[2]}.py",
        f"{names[3]}.toml",
    ]
    return [(p, _with_summary(record, f"`{p}`")) for p in paths]


def _replace_line(code: str, index: int, line: str) -> str:
    lines = code.split("\n")
    lines[index] = line
    return "\n".join(lines)


def example_missing_keyword(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    if ex is None:
        return []
    params = documentable_params(c.graph, ex.target) or []
    if any(p.kind == VAR_KEYWORD for p in params) or not _literal_signature(c.graph, ex.target):
        return []
    line = ex.code.split("\n")[ex.target_line]
    out = []
    for name in list(c.invented())[:2]:
        call = line[:-1] + (", " if not line[:-1].endswith("(") else "") + f"{name}=None)"
        out.append((f"{name}=", _replace_line(ex.code, ex.target_line, call)))
    keywords = [p.name for p in params if p.kind not in (POSITIONAL_ONLY, VAR_POSITIONAL, VAR_KEYWORD)]
    names = {p.name for p in params}
    for kw in keywords[:1]:
        wrong = f"{kw}_value" if f"{kw}_value" not in names else f"{kw}_arg"
        out.append(
            (
                f"{kw}= -> {wrong}=",
                _replace_line(ex.code, ex.target_line, line.replace(f"{kw}=", f"{wrong}=", 1)),
            )
        )
    return [(label, record.model_copy(update={"examples": [code]})) for label, code in out]


def example_missing_argument(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    """The call leaves out a parameter without a default, or calls an instance method on its class."""
    if ex is None or not _literal_signature(c.graph, ex.target):
        return []
    node = c.graph.node(ex.target)
    if node.get("kind") == "class" and (
        node.get("decorators") or "__init__" not in c.graph.members(ex.target)
    ):
        return []  # a constructor the evidence does not spell out with its defaults
    params = documentable_params(c.graph, ex.target) or []
    lines = ex.code.split("\n")
    line = lines[ex.target_line]
    call = line[: line.index("(")]
    out = []
    required = [
        p
        for p in params
        if p.default is None and p.kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, KEYWORD_ONLY)
    ]
    if required:
        left = [p for p in params if p is not required[-1]]
        out.append(
            (
                f"without {required[-1].name}",
                _replace_line(ex.code, ex.target_line, f"{call}({_call_args(left)})"),
            )
        )
    if ex.instance is not None:
        owner = lines[ex.target_line - 1].split(" = ", 1)[1].split("(", 1)[0]
        method = call.removeprefix(f"{ex.instance}.")
        on_class = f"{owner}.{method}({_call_args(params)})"
        out.append((on_class, _replace_line(ex.code, ex.target_line, on_class)))
    return [(label, record.model_copy(update={"examples": [code]})) for label, code in out]


def example_invented_function(c: Corpus, sid: str, record: ApiRecord, ex: Example | None) -> list[Mutant]:
    if ex is None:
        return []
    names = list(c.invented())
    module = _module_qualname(c.graph, sid)
    head = ex.code.split("\n")[0].rsplit(" ", 1)[-1]
    variants = [
        (f"{names[0]}()", f"{ex.code}\n{names[0]}(1)"),
        (f"from {module} import {names[1]}", f"from {module} import {names[1]}\n{ex.code}\n{names[1]}()"),
        (f"{head}.{names[2]}()", f"{ex.code}\n{head}.{names[2]}()"),
    ]
    if ex.instance is not None:
        variants.append((f"{ex.instance}.{names[3]}()", f"{ex.code}\n{ex.instance}.{names[3]}()"))
    return [(label, record.model_copy(update={"examples": [code]})) for label, code in variants]


MUTATORS: dict[str, Callable[[Corpus, str, ApiRecord, Example | None], list[Mutant]]] = {
    "renamed-parameter": renamed_parameter,
    "invented-parameter": invented_parameter,
    "removed-parameter": removed_parameter,
    "invented-function": invented_function,
    "invented-module": invented_module,
    "wrong-raises": wrong_raises,
    "returns-on-procedure": returns_on_procedure,
    "yields-on-non-generator": yields_on_non_generator,
    "wrong-file": wrong_file,
    "example-missing-keyword": example_missing_keyword,
    "example-missing-argument": example_missing_argument,
    "example-invented-function": example_invented_function,
}


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Results:
    mutants: dict[str, int] = field(default_factory=dict)
    detected: dict[str, int] = field(default_factory=dict)
    missed: dict[str, list[str]] = field(default_factory=dict)
    correct: int = 0
    false_positives: list[str] = field(default_factory=list)

    def recall(self, kind: str) -> float:
        return self.detected.get(kind, 0) / self.mutants[kind]

    def table(self) -> str:
        rows = [f"{'error type':<26} {'rule':<24} {'mutants':>7} {'detected':>8} {'recall':>7}"]
        for kind, rule in EXPECTED.items():
            n = self.mutants.get(kind, 0)
            d = self.detected.get(kind, 0)
            rows.append(f"{kind:<26} {rule:<24} {n:>7} {d:>8} {d / n if n else 0:>7.1%}")
        fp = len(self.false_positives)
        rows.append(
            f"false positives on correct records: {fp} / {self.correct} ({fp / max(self.correct, 1):.2%})"
        )
        return "\n".join(rows)


@pytest.fixture(scope="module")
def results(corpora: list[Corpus]) -> Results:
    res = Results()
    for c in corpora:
        for sid in c.symbols:
            record, example = correct_record(c.graph, sid)
            errors = [f for f in validate_record(c.graph, sid, record) if f.severity == "error"]
            res.correct += 1
            if errors:
                res.false_positives.append(f"{c.name}:{sid}: {errors[0].rule}: {errors[0].message}")
            for kind, mutate in MUTATORS.items():
                for label, mutant in mutate(c, sid, record, example):
                    res.mutants[kind] = res.mutants.get(kind, 0) + 1
                    found = validate_record(c.graph, sid, mutant)
                    if any(f.rule == EXPECTED[kind] and f.severity == "error" for f in found):
                        res.detected[kind] = res.detected.get(kind, 0) + 1
                    else:
                        res.missed.setdefault(kind, []).append(f"{c.name}:{sid}: {label}")
    print("\n" + res.table())
    for kind, missed in res.missed.items():
        print(f"missed {kind}: {len(missed)}, e.g. {missed[:5]}")
    for fp in res.false_positives[:10]:
        print("false positive:", fp)
    return res


def test_the_suite_is_large_and_covers_every_error_type(results: Results) -> None:
    assert set(results.mutants) == set(EXPECTED)
    assert sum(results.mutants.values()) >= 1000
    assert all(n >= 30 for n in results.mutants.values()), results.mutants
    assert results.correct >= 250


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_recall_per_error_type(results: Results, kind: str) -> None:
    assert results.recall(kind) >= RECALL_MIN, f"{kind}: missed {results.missed.get(kind, [])[:10]}"


def test_false_positives_on_correct_records(results: Results) -> None:
    assert len(results.false_positives) / results.correct < FALSE_POSITIVE_MAX, results.false_positives[:10]


def test_correct_records_are_what_the_evidence_says(corpora: list[Corpus]) -> None:
    """The generator itself: a spot check on symbols whose facts are known."""
    inventory = next(c for c in corpora if c.name == "inventory")
    ship, example = correct_record(inventory.graph, "py:inventory.service.Warehouse.ship")
    assert [p.name for p in ship.params] == ["sku", "quantity"]
    assert ship.returns and ship.yields is None
    assert [r.exception for r in ship.raises][:1] == ["ValueError"]
    assert example is not None
    assert example.code.split("\n")[-1] == "obj.ship(sku=None, quantity=None)"
    low, _ = correct_record(inventory.graph, "py:inventory.service.Warehouse.low_stock")
    assert low.yields and low.returns is None
    _, example = correct_record(inventory.graph, "py:inventory.storage.base.StockStore.adjust")
    assert example is not None and example.code.endswith("obj.adjust(None, None)")
    assert "param" not in SUMMARY and "`" not in SUMMARY
