"""``eval``: measured quality of a repository's documentation, generated or hand-written.

Every figure is computed against the evidence graph, with the validator's own resolution
(no substring matching), so generated docs and a project's own docstrings are measured the
same way. The metrics (see :class:`EvalReport`):

* **existence**: referenced identifiers that resolve / all referenced identifiers;
* **existence, cross-file**: the same, for references that leave the documented symbol's
  own file;
* **signature fidelity**: documented callables whose documented parameters are exactly
  the real ones;
* **completeness**: sections the code calls for that are present;
* **coverage**: public symbols documented / public symbols;
* **staleness** (generated docs only): records whose evidence changed since generation.

Sources of docs (:class:`DocsSource`): the folder ``pipeline run`` writes (its
``records.json`` holds the per-symbol claims, its Markdown pages the references, its
``evidence.json`` the evidence hashes at generation time), the same files in memory
(:func:`report_metrics`), or hand-written docs: the symbols' docstrings (parsed by
:mod:`pipeline.docstrings`) and/or Markdown files such as a README.
"""

from __future__ import annotations

import argparse
import json
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.agents import refs
from pipeline.agents.api import documented_symbols, own_exceptions, returns_value
from pipeline.agents.records import ApiRecord, Finding, ModuleDoc
from pipeline.evidence.graph import EvidenceGraph

GENERATED = "generated"
HANDWRITTEN = "handwritten"
RECORDS_FILE = "records.json"
EVIDENCE_FILE = "evidence.json"

_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_ANCHOR_RE = re.compile(r"<a\s+(?:id|name)\s*=\s*[\"']([^\"']{1,500})[\"']")
_QUOTE_RE = re.compile(r"(?m)^ {0,3}>.*$")
# Sub-headings of a symbol's section in a generated page (they do not end the section).
_SUBSECTION_WORDS = frozenset(
    {"parameters", "parameter", "params", "arguments", "args", "raises", "exceptions", "throws"}
    | {"returns", "return", "yields", "examples", "example"}
)
_CALLABLE = ("function", "method")
_NON_SYMBOL = ("file", "external", "dependency")

PARAMETERS, RETURNS, RAISES, YIELDS, ATTRIBUTES, EXAMPLE = (
    "parameters",
    "returns",
    "raises",
    "yields",
    "attributes",
    "example",
)


# -- what is evaluated ------------------------------------------------------------------------


@dataclass(slots=True)
class DocsSource:
    """The documentation to measure.

    ``kind`` is ``"generated"`` (``folder`` written by ``pipeline run``, or ``files`` with
    the same content in memory) or ``"handwritten"`` (the symbols' own docstrings when
    ``docstrings`` is true, plus the Markdown files in ``markdown``).
    """

    kind: Literal["generated", "handwritten"]
    folder: Path | None = None
    files: Mapping[str, bytes] | None = None
    docstrings: bool = True
    markdown: tuple[Path, ...] = ()

    @classmethod
    def generated(cls, folder: Path) -> DocsSource:
        """Docs written by ``pipeline run`` into ``folder``."""
        return cls(GENERATED, folder=Path(folder))

    @classmethod
    def in_memory(cls, files: Mapping[str, bytes]) -> DocsSource:
        """The output of a run before it is written (``RunResult.files``)."""
        return cls(GENERATED, files=files)

    @classmethod
    def handwritten(cls, *, docstrings: bool = True, markdown: Iterable[Path] = ()) -> DocsSource:
        """A project's own docs: its docstrings and/or Markdown files."""
        return cls(HANDWRITTEN, docstrings=docstrings, markdown=tuple(Path(p) for p in markdown))

    def describe(self) -> str:
        if self.kind == GENERATED:
            return f"generated docs in {self.folder}" if self.folder else "generated docs (in memory)"
        parts = ["docstrings"] if self.docstrings else []
        parts += [str(p) for p in self.markdown]
        return "hand-written: " + (", ".join(parts) or "nothing")

    def read_files(self) -> dict[str, bytes]:
        """The generated files, output-relative path -> bytes (``{}`` for hand-written docs)."""
        if self.files is not None:
            return dict(self.files)
        out: dict[str, bytes] = {}
        if self.kind != GENERATED or self.folder is None or not self.folder.is_dir():
            return out
        for path in sorted(self.folder.rglob("*")):
            if path.is_file() and (path.suffix == ".md" or path.name in (RECORDS_FILE, EVIDENCE_FILE)):
                try:
                    out[path.relative_to(self.folder).as_posix()] = path.read_bytes()
                except OSError:
                    continue
        return out


def default_docs(repo: Path, docs: Path | None = None) -> DocsSource:
    """What ``eval`` measures when told nothing more.

    ``docs`` given: generated docs when it holds ``records.json``, else the Markdown it is
    (a file) or holds (a folder), together with the docstrings. Not given: the generated
    docs in ``REPO/docs/reference`` when they exist, else the docstrings and ``README.md``.
    """
    repo = Path(repo)
    if docs is not None:
        docs = Path(docs)
        if docs.is_dir() and (docs / RECORDS_FILE).is_file():
            return DocsSource.generated(docs)
        if docs.is_dir():
            return DocsSource.handwritten(markdown=sorted(p for p in docs.rglob("*.md") if p.is_file()))
        return DocsSource.handwritten(markdown=[docs])
    reference = repo / "docs" / "reference"
    if (reference / RECORDS_FILE).is_file():
        return DocsSource.generated(reference)
    readme = [repo / "README.md"] if (repo / "README.md").is_file() else []
    return DocsSource.handwritten(markdown=readme)


# -- the report -------------------------------------------------------------------------------


@dataclass(slots=True)
class Ratio:
    """``numerator / denominator``; ``value`` is ``None`` when nothing was counted."""

    numerator: int = 0
    denominator: int = 0

    @property
    def value(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None

    def add(self, numerator: int, denominator: int) -> None:
        self.numerator += numerator
        self.denominator += denominator

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator}


@dataclass(slots=True)
class SymbolEval:
    """The figures of one public symbol (see :class:`EvalReport` for the definitions)."""

    id: str
    qualname: str
    file: str
    documented: bool = False
    identifiers: int = 0
    resolved: int = 0
    cross_file: int = 0
    cross_file_resolved: int = 0
    unresolved: list[str] = field(default_factory=list)
    signature_ok: bool | None = None  # None: not a documented callable
    documented_params: list[str] = field(default_factory=list)
    real_params: list[str] | None = None
    sections_required: list[str] = field(default_factory=list)
    sections_present: list[str] = field(default_factory=list)
    stale: bool | None = None  # None: not measured (hand-written docs, or no record)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "qualname": self.qualname,
            "file": self.file,
            "documented": self.documented,
            "existence": {"resolved": self.resolved, "identifiers": self.identifiers},
            "existence_cross_file": {"resolved": self.cross_file_resolved, "identifiers": self.cross_file},
            "unresolved": self.unresolved,
            "signature_ok": self.signature_ok,
            "documented_params": self.documented_params,
            "real_params": self.real_params,
            "sections_required": self.sections_required,
            "sections_present": self.sections_present,
            "stale": self.stale,
        }


@dataclass(slots=True)
class TextEval:
    """Existence figures of one text: a page, a Markdown file or a docstring."""

    source: str
    identifiers: int = 0
    resolved: int = 0
    unresolved: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EvalReport:
    """Measured quality of one set of docs against the evidence graph.

    Definitions (each figure is ``numerator / denominator``):

    * ``existence``: a *referenced identifier* is an identifier reference found by
      :func:`pipeline.agents.refs.references` in the documentation's text (backticked
      names and, in running text, calls, dotted names), outside fenced code and, in a
      symbol's section of a page, outside block quotes (quoted docstrings), counted once
      per text and section (the same name twice in one section is one reference). It
      *resolves* when the validator reports no ``unknown-identifier`` finding for it
      there. Texts: the Markdown pages of generated docs; the docstrings (symbols and
      modules) and Markdown files of hand-written docs.
    * ``existence_cross_file``: the same over *cross-file* references: those that
      resolve to a symbol of the repository defined in another file than the documented
      symbol's (for text outside a symbol's section, than the page's module; a README has
      no file of its own, so every repository symbol it names is cross-file), plus every
      unresolved reference (a name that exists nowhere is in no file, so not in the own
      one). References that resolve to the standard library, a dependency, a builtin, a
      parameter or a local name are not cross-file.
    * ``signature_fidelity``: over *documented callables* (documented symbols for which
      :func:`~pipeline.agents.validator.documentable_params` is not ``None``: functions,
      methods, and classes whose constructor the evidence knows), the share whose set of
      documented parameter names (entries with a non-empty description, ``*``/``**``
      stripped) equals the set of real ones. A callable with no parameters documents
      none and is faithful.
    * ``completeness``: over documented symbols, sections present / sections required.
      Required: *parameters* when ``documentable_params`` is non-empty (present when every
      real parameter is documented); *returns* when the code returns a value (a property's
      summary is its value: not required); *raises* when the symbol's own body raises an
      exception class (``raise X(...)``; not ``raise err``, whose type the code does not say);
      *yields* for generators; *attributes* for classes with public attributes (present
      when a docstring has an Attributes section, or the page lists them, as generated
      pages always do); *example* for functions and methods that are not properties.
    * ``coverage``: documented public symbols / public symbols
      (:func:`~pipeline.agents.api.documented_symbols`). Documented: generated docs have
      a record with a non-empty summary; hand-written docs have a non-empty docstring (a
      class's ``__init__`` docstring counts for it) or a Markdown heading naming it.
    * ``staleness`` (generated docs only): records whose symbol no longer exists, or
      whose evidence hash (the record's ``hash``, else the node's in the ``evidence.json``
      written beside the pages) differs from the current one, / records compared.
    """

    repo: str
    docs: str
    kind: str
    existence: Ratio = field(default_factory=Ratio)
    existence_cross_file: Ratio = field(default_factory=Ratio)
    signature_fidelity: Ratio = field(default_factory=Ratio)
    completeness: Ratio = field(default_factory=Ratio)
    coverage: Ratio = field(default_factory=Ratio)
    staleness: Ratio | None = None
    symbols: list[SymbolEval] = field(default_factory=list)
    texts: list[TextEval] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        """The headline figures: ``{name: {value, numerator, denominator}}``."""
        out = {
            "existence_ratio": self.existence.to_dict(),
            "existence_ratio_cross_file": self.existence_cross_file.to_dict(),
            "signature_fidelity": self.signature_fidelity.to_dict(),
            "completeness": self.completeness.to_dict(),
            "coverage": self.coverage.to_dict(),
            "staleness": self.staleness.to_dict() if self.staleness is not None else None,
        }
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metrics, per-symbol and per-text figures, notes."""
        return {
            "repo": self.repo,
            "docs": self.docs,
            "kind": self.kind,
            "metrics": self.metrics(),
            "symbols": [s.to_dict() for s in self.symbols],
            "texts": [
                {
                    "source": t.source,
                    "identifiers": t.identifiers,
                    "resolved": t.resolved,
                    "unresolved": t.unresolved,
                }
                for t in self.texts
            ],
            "notes": list(self.notes),
        }

    def to_table(self) -> Any:
        """The metrics as a ``rich`` table."""
        from rich.table import Table

        table = Table(title=f"documentation quality: {self.docs}", show_header=True)
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("of", justify="right")
        labels = {
            "existence_ratio": "existence (identifiers that resolve)",
            "existence_ratio_cross_file": "existence, cross-file references",
            "signature_fidelity": "signature fidelity",
            "completeness": "completeness (sections present)",
            "coverage": "coverage (public symbols documented)",
            "staleness": "staleness (records with changed evidence)",
        }
        for key, figure in self.metrics().items():
            if figure is None:
                table.add_row(labels[key], "n/a", "")
                continue
            value = figure["value"]
            table.add_row(
                labels[key],
                f"{value:.1%}" if value is not None else "n/a",
                f"{figure['numerator']} / {figure['denominator']}",
            )
        return table


# -- evaluation -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Claims:
    """What the docs say about one symbol, whatever their source."""

    record: ApiRecord | None = None
    attributes_listed: bool = False
    attributes: list[str] = field(default_factory=list)  # names a docstring's Attributes section lists


def evaluate(graph: EvidenceGraph, docs: DocsSource) -> EvalReport:
    """Measure ``docs`` against ``graph`` (see :class:`EvalReport` for every definition)."""
    report = EvalReport(repo=str(graph.repo), docs=docs.describe(), kind=docs.kind)
    symbols = documented_symbols(graph)
    by_id = {sid: _symbol_eval(graph, sid) for sid in symbols}
    report.symbols = [by_id[sid] for sid in symbols]
    claims: dict[str, _Claims] = {}
    if docs.kind == GENERATED:
        files = docs.read_files()
        claims = _generated_claims(graph, files, report)
        for rel in sorted(files):
            if rel.endswith(".md"):
                _measure_markdown(graph, rel, _decode(files[rel]), report, by_id)
        _staleness(graph, files, report, by_id)
    else:
        if docs.docstrings:
            claims = _docstring_claims(graph, symbols)
            _measure_docstrings(graph, claims, report, by_id)
        for path in docs.markdown:
            text = _read_text(path, report)
            if text is None:
                continue
            label = _label(graph, path)
            headed = _measure_markdown(graph, label, text, report, by_id)
            for sid in headed:
                claims.setdefault(sid, _Claims())
    for sid in symbols:
        _measure_claims(graph, by_id[sid], claims.get(sid), report)
    return report


def _symbol_eval(graph: EvidenceGraph, sid: str) -> SymbolEval:
    node = graph.node(sid)
    return SymbolEval(id=sid, qualname=str(node.get("qualname") or sid), file=str(node.get("file") or ""))


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _read_text(path: Path, report: EvalReport) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        report.notes.append(f"cannot read {path}: {exc.strerror or exc}")
        return None


def _label(graph: EvidenceGraph, path: Path) -> str:
    """A Markdown file's path relative to the repository (links inside it resolve from there)."""
    try:
        return path.resolve().relative_to(Path(graph.repo).resolve()).as_posix()
    except (ValueError, OSError):
        return path.name


# -- claims per symbol ----------------------------------------------------------------------


def _generated_claims(
    graph: EvidenceGraph, files: Mapping[str, bytes], report: EvalReport
) -> dict[str, _Claims]:
    out: dict[str, _Claims] = {}
    for sid, entry in _records(files, report.notes).items():
        data = entry.get("record")
        record = None
        if isinstance(data, dict):
            try:
                record = ApiRecord.model_validate(data)
            except Exception:
                report.notes.append(f"{RECORDS_FILE}: the record of {sid} is not a valid record")
        if record is not None:
            # Generated pages list a class's attributes from the evidence.
            out[sid] = _Claims(record=record, attributes_listed=True)
    return out


def _records(files: Mapping[str, bytes], notes: list[str]) -> dict[str, dict[str, Any]]:
    """The entries of ``records.json`` (``{}`` when missing or unreadable, with a note)."""
    raw = files.get(RECORDS_FILE)
    if raw is None:
        notes.append(f"no {RECORDS_FILE} in the docs: no per-symbol claims")
        return {}
    try:
        data = json.loads(raw)
        records = data.get("records") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        records = None
    if not isinstance(records, dict):
        notes.append(f"{RECORDS_FILE} is not a records file")
        return {}
    return {str(k): v for k, v in records.items() if isinstance(v, dict)}


def _docstring_claims(graph: EvidenceGraph, symbols: list[str]) -> dict[str, _Claims]:
    from pipeline.docstrings import record_for_symbol

    out: dict[str, _Claims] = {}
    for sid in symbols:
        parsed = record_for_symbol(graph, sid)
        if parsed is None:
            continue
        try:
            record = parsed.to_api_record()
        except Exception:
            continue
        out[sid] = _Claims(
            record=record, attributes_listed=bool(parsed.attributes), attributes=list(parsed.attributes)
        )
    return out


def _measure_claims(
    graph: EvidenceGraph, sym: SymbolEval, claims: _Claims | None, report: EvalReport
) -> None:
    """Coverage, signature fidelity and completeness of one symbol."""
    from pipeline.agents.validator import documentable_params

    record = claims.record if claims is not None else None
    # A Markdown heading naming the symbol documents it without a record.
    sym.documented = claims is not None and (
        record is None or bool(record.summary.strip()) or _has_content(record)
    )
    report.coverage.add(1 if sym.documented else 0, 1)
    if not sym.documented:
        return
    node = graph.node(sym.id)
    real = documentable_params(graph, sym.id)
    documented = _documented_param_names(record)
    if (
        claims is not None
        and record is not None
        and not record.params
        and _fields_are_parameters(graph, sym.id)
    ):
        # A dataclass documents its fields (its constructor's parameters) as attributes.
        documented |= set(claims.attributes) & {p.name.lstrip("*") for p in real or []}
    sym.documented_params = sorted(documented)
    if real is not None:
        sym.real_params = [p.name.lstrip("*") for p in real]
        sym.signature_ok = documented == set(sym.real_params)
        report.signature_fidelity.add(1 if sym.signature_ok else 0, 1)
    required = _required_sections(node, sym.real_params)
    present = [s for s in required if _section_present(s, record, claims, documented, sym.real_params)]
    sym.sections_required, sym.sections_present = required, present
    report.completeness.add(len(present), len(required))


def _fields_are_parameters(graph: EvidenceGraph, sid: str) -> bool:
    """Is a class's constructor made from its fields (a dataclass, a named tuple): no
    ``__init__``/``__new__`` of its own or inherited from the repository?"""
    if graph.node(sid).get("kind") != "class":
        return False
    members = graph.members(sid, inherited=True)
    return "__init__" not in members and "__new__" not in members


def _has_content(record: ApiRecord) -> bool:
    return bool(
        record.description.strip() or record.params or record.returns or record.raises or record.examples
    )


def _documented_param_names(record: ApiRecord | None) -> set[str]:
    if record is None:
        return set()
    return {
        p.name.strip().lstrip("*").strip() for p in record.params if p.description.strip() and p.name.strip()
    }


def _required_sections(node: Mapping[str, Any], real_params: list[str] | None) -> list[str]:
    kind = node.get("kind")
    extra = node.get("extra") or {}
    is_property = bool(extra.get("is_property"))
    out: list[str] = []
    if real_params:
        out.append(PARAMETERS)
    if kind in _CALLABLE and not is_property and returns_value(node):
        out.append(RETURNS)
    if kind in _CALLABLE and own_exceptions(node):
        out.append(RAISES)
    if kind in _CALLABLE and extra.get("is_generator"):
        out.append(YIELDS)
    if kind == "class" and _public_attributes(node):
        out.append(ATTRIBUTES)
    if kind in _CALLABLE and not is_property:
        out.append(EXAMPLE)
    return out


def _public_attributes(node: Mapping[str, Any]) -> list[str]:
    names = []
    for attr in (node.get("extra") or {}).get("attributes") or []:
        name = attr.get("name") if isinstance(attr, dict) else attr
        if isinstance(name, str) and name and not name.startswith("_"):
            names.append(name)
    return names


def _section_present(
    section: str,
    record: ApiRecord | None,
    claims: _Claims | None,
    documented: set[str],
    real: list[str] | None,
) -> bool:
    if section == ATTRIBUTES:
        return bool(claims is not None and claims.attributes_listed)
    if record is None:
        return False
    if section == PARAMETERS:
        return bool(real) and set(real) <= documented
    if section == RETURNS:
        return bool((record.returns or "").strip())
    if section == YIELDS:
        return bool((record.yields or "").strip())
    if section == RAISES:
        return bool(record.raises)
    if section == EXAMPLE:
        return any(e.strip() for e in record.examples)
    return False


# -- existence ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Section:
    subject: str | None  # the symbol whose section this is
    text: str


def _measure_markdown(
    graph: EvidenceGraph, label: str, text: str, report: EvalReport, by_id: dict[str, SymbolEval]
) -> set[str]:
    """Existence over one Markdown text; returns the symbols whose sections it holds."""
    from pipeline.agents.validator import validate_markdown

    findings = validate_markdown(graph, text, source=label)
    unresolved = _unresolved_keys(findings)
    page_module = _page_module(graph, text)
    te = TextEval(label)
    headed: set[str] = set()
    for sec in _page_sections(graph, text):
        chunk = sec.text
        if sec.subject is not None:
            headed.add(sec.subject)
            # The heading names the subject itself (not a claim); a block quote is its
            # docstring, quoted as evidence.
            chunk = _QUOTE_RE.sub("", chunk.split("\n", 1)[1] if "\n" in chunk else "")
        scope = sec.subject or page_module
        own = _own_file(graph, scope) if scope is not None else label
        _count_refs(
            graph,
            [chunk],
            scope=scope,
            own_file=own,
            bad=unresolved.get(sec.subject or label, set()),
            report=report,
            text_eval=te,
            sym=by_id.get(sec.subject or ""),
        )
    report.texts.append(te)
    return headed


def _measure_docstrings(
    graph: EvidenceGraph, claims: dict[str, _Claims], report: EvalReport, by_id: dict[str, SymbolEval]
) -> None:
    """Existence over the docstrings: each symbol's claims as the validator checks them, and
    each module's docstring as module prose."""
    from pipeline.agents.validator import validate_module_doc, validate_record
    from pipeline.docstrings import parse_docstring

    for sid, claim in claims.items():
        record = claim.record
        if record is None:
            continue
        findings = validate_record(graph, sid, record)
        te = TextEval(f"docstring of {by_id[sid].qualname}")
        _count_refs(
            graph,
            _record_texts(record),
            scope=sid,
            own_file=_own_file(graph, sid),
            bad=_unresolved_keys(findings).get(sid, set()),
            report=report,
            text_eval=te,
            sym=by_id.get(sid),
        )
        report.texts.append(te)
    for mid, data in sorted(graph.g.nodes(data=True)):
        if data.get("kind") not in ("module", "package") or not data.get("public"):
            continue
        doc = data.get("docstring")
        if not isinstance(doc, str) or not doc.strip():
            continue
        parsed = parse_docstring(doc)
        text = "\n\n".join(t for t in (parsed.summary, parsed.description) if t)
        if not text:
            continue
        findings = validate_module_doc(graph, mid, ModuleDoc(summary=text))
        te = TextEval(f"docstring of module {data.get('qualname')}")
        _count_refs(
            graph,
            [text],
            scope=mid,
            own_file=_own_file(graph, mid),
            bad=_unresolved_keys(findings).get(mid, set()),
            report=report,
            text_eval=te,
            sym=None,
        )
        report.texts.append(te)


def _record_texts(record: ApiRecord) -> list[str]:
    """The prose fields of a record, as ``validate_record`` checks them one by one."""
    texts = [record.summary, record.description, record.returns or "", record.yields or ""]
    texts += [p.description for p in record.params]
    texts += [r.when for r in record.raises]
    return [t for t in texts if t]


def _unresolved_keys(findings: list[Finding]) -> dict[str, set[str]]:
    """``subject -> claims`` of the ``unknown-identifier`` findings."""
    out: dict[str, set[str]] = {}
    for f in findings:
        if f.rule == "unknown-identifier":
            out.setdefault(f.subject, set()).add(f.claim)
    return out


def _count_refs(
    graph: EvidenceGraph,
    texts: list[str],
    *,
    scope: str | None,
    own_file: str | None,
    bad: set[str],
    report: EvalReport,
    text_eval: TextEval,
    sym: SymbolEval | None,
) -> None:
    seen: set[str] = set()
    for text in texts:
        for ref in refs.references(text):
            if ref.kind != refs.IDENTIFIER or ref.raw in seen:
                continue
            seen.add(ref.raw)
            ok = ref.raw[:500] not in bad
            target = _locate(graph, ref.value, scope) if ok else None
            target_file = str(graph.node(target).get("file") or "") if target is not None else None
            cross = (not ok) or (target_file is not None and target_file != own_file)
            report.existence.add(int(ok), 1)
            text_eval.identifiers += 1
            text_eval.resolved += int(ok)
            if not ok:
                text_eval.unresolved.append(ref.raw)
            if cross:
                report.existence_cross_file.add(int(ok), 1)
            if sym is not None:
                sym.identifiers += 1
                sym.resolved += int(ok)
                if not ok:
                    sym.unresolved.append(ref.raw)
                if cross:
                    sym.cross_file += 1
                    sym.cross_file_resolved += int(ok)


def _own_file(graph: EvidenceGraph, node_id: str | None) -> str | None:
    if node_id is None or node_id not in graph.g:
        return None
    return str(graph.node(node_id).get("file") or "") or None


def _locate(graph: EvidenceGraph, name: str, scope: str | None) -> str | None:
    """The repository symbol a resolved name stands for, if it is one: resolution from the
    scope, then from the top, then by simple name (as the validator accepts a name defined
    anywhere in the repository)."""
    if not refs.is_identifier(name):
        return None
    for where in (scope, None):
        try:
            res = graph.resolve(name, where if where in graph.g else None)
        except Exception:
            res = None
        if res is not None and res.id is not None and res.id in graph.g:
            return res.id if graph.node(res.id).get("kind") not in _NON_SYMBOL else None
        if where is None:
            break
    head, _, rest = name.partition(".")
    for nid in _names(graph).get(head, [])[:20]:
        if not rest:
            return nid
        try:
            res = graph.resolve(f"{graph.node(nid).get('qualname')}.{rest}")
        except Exception:
            res = None
        if res is not None and res.id is not None and res.id in graph.g:
            return res.id
    return None


_NAMES_CACHE: weakref.WeakKeyDictionary[EvidenceGraph, tuple[int, dict[str, list[str]]]] = (
    weakref.WeakKeyDictionary()
)


def _names(graph: EvidenceGraph) -> dict[str, list[str]]:
    """Simple name -> symbol ids (kept per graph while its size does not change)."""
    size = graph.g.number_of_nodes()
    cached = _NAMES_CACHE.get(graph)
    if cached is not None and cached[0] == size:
        return cached[1]
    out: dict[str, list[str]] = {}
    for nid, data in sorted(graph.g.nodes(data=True)):
        if data.get("kind") not in _NON_SYMBOL and data.get("name"):
            out.setdefault(str(data["name"]), []).append(nid)
    _NAMES_CACHE[graph] = (size, out)
    return out


def _heading_symbol(graph: EvidenceGraph, title: str) -> str | None:
    """The symbol a heading names, as the validator reads headings: an ``<a id>`` anchor
    in it, else its first code span (a signature's parentheses dropped)."""
    m = _ANCHOR_RE.search(title)
    if m is not None:
        anchor = m.group(1)
        if anchor in graph.g and graph.node(anchor).get("kind") not in _NON_SYMBOL:
            return anchor
        nid = graph.id_of(anchor)
        if nid is not None:
            return nid
    for content, _ in refs.code_spans(title):
        name = re.sub(r"\(.*\)$", "", content.strip(), flags=re.DOTALL).strip()
        return graph.id_of(name)
    return None


def _page_sections(graph: EvidenceGraph, text: str) -> list[_Section]:
    """A page split where the validator splits it: a heading that names a symbol opens its
    section; a plain heading at the same level or above closes it."""
    prose, _ = refs.split_fences(text)
    lines = text.split("\n")
    out: list[_Section] = []
    subject: str | None = None
    level = 0
    start = 0
    for i, line in enumerate(prose.split("\n")):
        m = _HEADING_RE.match(line)
        if m is None:
            continue
        lvl, title = len(m.group(1)), m.group(2)
        word = re.sub(r"[^a-z]", "", title.lower())
        if subject is not None and word in _SUBSECTION_WORDS and lvl > level:
            continue
        symbol = _heading_symbol(graph, title)
        if symbol is not None or (subject is not None and lvl <= level):
            out.append(_Section(subject, "\n".join(lines[start:i])))
            subject, level, start = symbol, lvl, i
    out.append(_Section(subject, "\n".join(lines[start:])))
    return out


def _page_module(graph: EvidenceGraph, text: str) -> str | None:
    """The module a generated page documents (its title names it), if any."""
    for sec in _page_sections(graph, text):
        if sec.subject is not None and graph.node(sec.subject).get("kind") in ("module", "package"):
            return sec.subject
    return None


# -- staleness ----------------------------------------------------------------------------------


def _staleness(
    graph: EvidenceGraph, files: Mapping[str, bytes], report: EvalReport, by_id: dict[str, SymbolEval]
) -> None:
    records = _records(files, [])  # problems with the file are noted once, by the claims
    if not records:
        return
    old_hashes = _evidence_hashes(files.get(EVIDENCE_FILE))
    if old_hashes is None and not any("hash" in r for r in records.values()):
        report.notes.append(
            f"staleness not measured: neither {RECORDS_FILE} (no `hash` per record) nor {EVIDENCE_FILE} "
            "holds the evidence hashes of generation time"
        )
        return
    if not any("hash" in r for r in records.values()):
        report.notes.append(f"{RECORDS_FILE} has no `hash` per record; compared with {EVIDENCE_FILE}")
    ratio = Ratio()
    moved = 0
    for sid, entry in sorted(records.items()):
        then = entry.get("hash") if isinstance(entry.get("hash"), str) else None
        old = (old_hashes or {}).get(sid)
        if then is None and old is not None:
            then = old[0]
        if then is None:
            continue
        now = graph.node(sid) if sid in graph.g else None
        stale = now is None or now.get("hash") != then
        if not stale and old is not None and old[1] != (now.get("file"), now.get("line_start")):
            moved += 1  # same code, another place: the "Defined in" anchor is out of date
        ratio.add(int(stale), 1)
        if sid in by_id:
            by_id[sid].stale = stale
    report.staleness = ratio
    if moved:
        report.notes.append(
            f"{moved} record(s) with unchanged code at another line: their `Defined in` anchors moved"
        )


def _evidence_hashes(raw: bytes | None) -> dict[str, tuple[str, tuple[Any, Any]]] | None:
    """``node id -> (hash, (file, line_start))`` from an ``evidence.json``; ``None`` if unusable."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, list):
        return None
    out: dict[str, tuple[str, tuple[Any, Any]]] = {}
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("id"), str) and isinstance(node.get("hash"), str):
            out[node["id"]] = (node["hash"], (node.get("file"), node.get("line_start")))
    return out


# -- run output and command line ----------------------------------------------------------------


def report_metrics(graph: EvidenceGraph, files: dict[str, bytes]) -> dict[str, Any]:
    """The quality figures of a run's in-memory output (``RunResult.files``), for ``report.json``:
    ``{metric: {value, numerator, denominator}}`` plus ``notes``."""
    report = evaluate(graph, DocsSource.in_memory(files))
    return {**report.metrics(), "notes": report.notes}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``eval`` subcommand's arguments."""
    parser.add_argument("repo", help="repository folder")
    parser.add_argument(
        "--docs",
        help="generated docs folder (with records.json), or hand-written Markdown (a file or a folder);"
        " default: REPO/docs/reference if generated there, else the docstrings and README.md",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the evidence cache")


def cmd_eval(args: argparse.Namespace) -> int:
    """``pipeline eval REPO [--docs DIR] [--json]``: always 0 (a measurement, not a check)."""
    from rich.console import Console

    from pipeline.cli import UsageError
    from pipeline.evidence.builder import BuildOptions, build_evidence

    docs_path = Path(args.docs) if getattr(args, "docs", None) else None
    if docs_path is not None and not docs_path.exists():
        raise UsageError(f"--docs not found: {docs_path}")
    graph, _ = build_evidence(Path(args.repo), BuildOptions(use_cache=not getattr(args, "no_cache", False)))
    report = evaluate(graph, default_docs(Path(args.repo), docs_path))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    console = Console(highlight=False)
    console.print(report.to_table())
    for note in report.notes:
        console.print(f"note: {note}")
    return 0


__all__ = [
    "DocsSource",
    "EvalReport",
    "Ratio",
    "SymbolEval",
    "TextEval",
    "add_arguments",
    "cmd_eval",
    "default_docs",
    "evaluate",
    "report_metrics",
]
