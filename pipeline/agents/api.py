"""API extraction agent: one :class:`ApiRecord` per public symbol, from only the evidence it needs.

The answer's JSON schema is derived from the evidence: the parameter object has exactly the
signature's names, ``returns``/``yields`` exist only when the code returns/yields a value,
and documented exceptions are limited to those the code (or what it calls) raises. With
grammar-constrained decoding the model cannot invent those facts; the validator still
checks everything, since not every backend honours schemas and prose can still be wrong.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipeline.agents.base import Agent, echo_findings, estimate_tokens, fence
from pipeline.agents.records import ApiRecord, Finding, ParamDoc, RaiseDoc
from pipeline.evidence.graph import EvidenceGraph
from pipeline.evidence.model import content_hash
from pipeline.graph.context import RunContext

DOCUMENTED_KINDS = frozenset({"class", "function", "method", "struct", "interface", "trait", "enum"})
# Special methods documented by their class's record (the constructor) or too routine to
# deserve one of their own; meaningful protocol methods (__call__, __iter__, ...) stay.
_ROUTINE_DUNDERS = frozenset(
    [
        "__init__",
        "__new__",
        "__post_init__",
        "__init_subclass__",
        "__class_getitem__",
        "__del__",
        "__repr__",
        "__str__",
        "__format__",
        "__hash__",
        "__eq__",
        "__ne__",
        "__lt__",
        "__le__",
        "__gt__",
        "__ge__",
        "__reduce__",
        "__reduce_ex__",
        "__getstate__",
        "__setstate__",
        "__copy__",
        "__deepcopy__",
        "__sizeof__",
        "__dir__",
    ]
)
_MAX_RAISE_DEPTH = 4


def is_test_file(path: str) -> bool:
    """Test code is evidence (it shows usage) but not part of the documented API."""
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p in ("tests", "test", "testing", "__tests__") for p in parts[:-1])
        or name.startswith("test_")
        or name in ("conftest.py", "setup.py", "noxfile.py")
        or any(
            name.endswith(s) for s in ("_test.py", "_test.go", ".test.js", ".test.ts", ".spec.js", ".spec.ts")
        )
    )


def documented_symbols(graph: EvidenceGraph, include_private: bool = False) -> list[str]:
    """Ids of the symbols that get an API record: public classes, functions and methods
    outside test code."""
    out = []
    for nid, data in graph.g.nodes(data=True):
        if data.get("kind") not in DOCUMENTED_KINDS or not (data.get("public") or include_private):
            continue
        if is_test_file(data.get("file") or ""):
            continue
        if data.get("kind") == "method" and data.get("name") in _ROUTINE_DUNDERS:
            continue
        if (data.get("extra") or {}).get("is_overload"):
            continue
        out.append(nid)
    return sorted(out)


def documented_modules(graph: EvidenceGraph, include_private: bool = False) -> list[str]:
    """Ids of the modules that get a page: public modules and packages outside test code."""
    return sorted(
        nid
        for nid, data in graph.g.nodes(data=True)
        if data.get("kind") in ("module", "package")
        and (data.get("public") or include_private)
        and not is_test_file(data.get("file") or "")
    )


def documented_params(graph: EvidenceGraph, sid: str) -> list[str]:
    """Names the record must document: the signature (a class's constructor, dataclass
    fields included) without ``self``/``cls``, exactly as the validator sees it."""
    from pipeline.agents.validator import documentable_params

    return [p.name for p in documentable_params(graph, sid) or []]


def returns_value(node: dict[str, Any]) -> bool:
    extra = node.get("extra") or {}
    if node.get("kind") not in ("function", "method") or extra.get("is_generator"):
        return False
    if extra.get("is_property"):
        return True
    ann = (node.get("returns") or "").strip()
    if ann and ann not in ("None", "NoReturn", "Never"):
        return True
    return bool(extra.get("returns_value"))


def own_exceptions(node: dict[str, Any]) -> list[str]:
    """Exception classes a callable's own code raises, by short name (``raise X(...)``,
    ``raise mod.X``). ``raise err`` re-raises a variable: what it holds is not in the code."""
    out: list[str] = []
    for name in (node.get("extra") or {}).get("raises") or []:
        short = str(name).rsplit(".", 1)[-1]
        if short[:1].isupper() and short not in out:
            out.append(short)
    return out


USAGE_MARK = "# usage, from the signature"
PARAM_PATTERN = r'^[A-Z][a-z]* [^"\\\n]{8,}$'


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out if out.isidentifier() and out not in ("self", "cls", "type", "object") else "obj"


def _call_args(params: list[Any]) -> str:
    """The required arguments of a call, each named after its parameter."""
    args = []
    keyword = False
    for p in params:
        if p.kind in ("var_positional", "var_keyword"):
            keyword = keyword or p.kind == "var_positional"
            continue
        if p.kind == "keyword_only":
            keyword = True
        if p.default is not None:
            if p.kind != "keyword_only":
                keyword = True  # later positional parameters would be out of place
            continue
        args.append(f"{p.name}={p.name}" if keyword else p.name)
    return ", ".join(args)


def usage_example(graph: EvidenceGraph, sid: str) -> str | None:
    """A usage example built from the evidence alone: the import, and a call with the required
    parameters, each passed as a variable of its own name. For public Python functions and
    methods (of module-level classes) that are not properties; ``None`` otherwise. It is marked
    as such (``USAGE_MARK``) so readers know no model wrote it."""
    from pipeline.agents.validator import documentable_params

    node = graph.node(sid)
    extra = node.get("extra") or {}
    if node.get("language") != "python" or node.get("kind") not in ("function", "method"):
        return None
    if extra.get("is_property") or not node.get("public"):
        return None
    params = documentable_params(graph, sid)
    if params is None:
        return None
    parent = graph.node(node["parent"]) if node.get("parent") else None
    if parent is None:
        return None
    lines = [USAGE_MARK]
    name = node["name"]
    indent = ""
    if parent.get("kind") in ("module", "package"):
        lines.append(f"from {parent['qualname']} import {name}")
        target = name
    elif parent.get("kind") == "class" and graph.node(parent["parent"]).get("kind") in ("module", "package"):
        cls = parent["name"]
        lines.append(f"from {graph.node(parent['parent'])['qualname']} import {cls}")
        if extra.get("is_staticmethod") or extra.get("is_classmethod"):
            target = f"{cls}.{name}"
        else:
            var = _snake(cls)
            if (parent.get("extra") or {}).get("is_abstract"):
                # An abstract class is not instantiated: show the call on any implementation.
                lines += ["", "", f"def use({var}: {cls}) -> None:"]
                indent = "    "
            else:
                ctor = documentable_params(graph, node["parent"])
                if ctor is None:
                    return None
                lines.append(f"{var} = {cls}({_call_args(ctor)})")
            special = _dunder_usage(name, var, params)
            if name.startswith("__"):
                if special is None:
                    return None
                lines.append(indent + special)
                return "\n".join(lines)
            target = f"{var}.{name}"
    else:
        return None
    return _finish(lines, node, f"{target}({_call_args(params)})", indent)


def _dunder_usage(name: str, var: str, params: list[Any]) -> str | None:
    """How a special method is used: through the operator or built-in that calls it."""
    arg = params[0].name if params else "value"
    return {
        "__len__": f"size = len({var})",
        "__contains__": f"found = {arg} in {var}",
        "__iter__": f"for item in {var}:\n    print(item)",
        "__getitem__": f"value = {var}[{arg}]",
        "__call__": f"result = {var}({_call_args(params)})",
    }.get(name)


def _finish(lines: list[str], node: dict[str, Any], call: str, indent: str) -> str | None:
    extra = node.get("extra") or {}
    if extra.get("is_async") and extra.get("is_generator"):
        return None  # an async generator needs an event loop and ``async for``: no short usage
    if extra.get("is_async"):
        lines.insert(1, "import asyncio")
        call = f"asyncio.run({call})"
    if extra.get("is_generator"):
        lines += [f"{indent}for item in {call}:", f"{indent}    print(item)"]
    elif returns_value(node):
        lines.append(f"{indent}result = {call}")
    else:
        lines.append(indent + call)
    return "\n".join(lines)


def raised_names(graph: EvidenceGraph, sid: str) -> list[str]:
    """Exception names raised by a callable or, transitively, by the internal code it calls."""
    seen = {sid}
    frontier = [sid]
    names: list[str] = []
    for _ in range(_MAX_RAISE_DEPTH + 1):
        nxt = []
        for nid in frontier:
            for name in (graph.node(nid).get("extra") or {}).get("raises", []) or []:
                short = name.rsplit(".", 1)[-1]
                if short not in names:
                    names.append(short)
            for callee in graph.callees(nid):
                if callee not in seen and callee in graph.g:
                    seen.add(callee)
                    nxt.append(callee)
        frontier = nxt
    return names


def dependency_ids(graph: EvidenceGraph, sid: str) -> list[str]:
    """What a symbol's context includes: what it calls and its internal bases."""
    deps = [c for c in graph.callees(sid) if c != sid]
    node = graph.node(sid)
    if node.get("kind") in ("class", "struct"):
        deps.extend(graph.bases(sid))
    return deps


def trivial_params(graph: EvidenceGraph, sid: str, record: ApiRecord) -> list[Finding]:
    """A parameter "described" by its own name, type or default says nothing: small models
    fall back to this, and a retry with the finding usually fixes it."""
    by_name = {p.name: p for p in graph.signature(sid) or []}
    out = []
    for doc in record.params:
        text = doc.description.strip().strip("`'\".").lower()
        if not text:
            continue
        p = by_name.get(doc.name)
        echoes = {doc.name.lower()}
        if p is not None:
            echoes |= {(p.annotation or "").strip("'\"").lower(), (p.default or "").strip("'\"").lower()}
        if text in echoes or len(text.split()) < 2:
            out.append(
                Finding(
                    "param-trivial",
                    "error",
                    f"the description of parameter `{doc.name}` only repeats its name, type or default",
                    evidence=f"{graph.node(sid).get('file')}:{graph.node(sid).get('line_start')}",
                    claim=doc.description,
                    subject=sid,
                )
            )
    return out


def render_signature_line(node: dict[str, Any]) -> str:
    from pipeline.render.markdown import render_signature

    return render_signature(node)


class ApiAgent(Agent):
    kind: ClassVar[str] = "api"
    prompt_name: ClassVar[str] = "api"
    output_model = ApiRecord

    def schema(self, ctx: RunContext, subject: str) -> dict[str, Any]:
        graph = ctx.graph
        node = graph.node(subject)
        text = {"type": "string", "minLength": 1, "maxLength": 400}
        # At least a short phrase: without it small models answer a type name ("str").
        phrase = {"type": "string", "minLength": 12, "maxLength": 400}
        # A parameter's description starts like a sentence (a capitalised word, then a space):
        # small models otherwise copy the annotation ("Mapping[str, Any]", "SupplierFeed") and,
        # asked again, repeat it. No quote or backslash, so the constrained JSON string needs
        # no escapes.
        described = {"type": "string", "pattern": PARAM_PATTERN, "maxLength": 400}
        props: dict[str, Any] = {"summary": {"type": "string", "minLength": 8, "maxLength": 300}}
        required = ["summary"]
        props["description"] = {"type": "string", "maxLength": 600}
        names = documented_params(graph, subject)
        if names:
            props["params"] = {
                "type": "object",
                "properties": {n: described for n in names},
                "required": names,
                "additionalProperties": False,
            }
            required.append("params")
        if returns_value(node):
            props["returns"] = phrase
            required.append("returns")
        if (node.get("extra") or {}).get("is_generator"):
            props["yields"] = phrase
            required.append("yields")
        raised = raised_names(graph, subject)
        if raised:
            props["raises"] = {
                "type": "array",
                "maxItems": len(raised),
                "items": {
                    "type": "object",
                    "properties": {"exception": {"enum": raised}, "when": text},
                    "required": ["exception", "when"],
                    "additionalProperties": False,
                },
            }
        if node.get("language") == "python" and node.get("public"):
            props["examples"] = {
                "type": "array",
                "maxItems": 1,
                "items": {"type": "string", "maxLength": 400},
            }
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}

    def parse(self, ctx: RunContext, subject: str, data: dict[str, Any]) -> ApiRecord:
        data = dict(data)
        params = data.get("params")
        if isinstance(params, dict):
            data["params"] = [ParamDoc(name=k, description=str(v)) for k, v in params.items()]
        raises = data.get("raises")
        if isinstance(raises, list):
            data["raises"] = [RaiseDoc(**r) if isinstance(r, dict) else r for r in raises]
        return ApiRecord.model_validate(data)

    def complete(self, ctx: RunContext, subject: str, output: Any) -> ApiRecord:
        """Every exception the symbol's own code raises is listed: the ones the answer left out
        are added by name, without a condition (the code says that it raises, not when). A
        public callable without an example gets its usage from the signature
        (:func:`usage_example`), if that validates."""
        listed = {r.exception.rsplit(".", 1)[-1] for r in output.raises}
        missing = [
            RaiseDoc(exception=name, when="")
            for name in own_exceptions(ctx.graph.node(subject))
            if name not in listed
        ]
        update: dict[str, Any] = {}
        if missing:
            update["raises"] = [*output.raises, *missing]
        if not any(e.strip() for e in output.examples):
            usage = usage_example(ctx.graph, subject)
            if usage is not None:
                candidate = output.model_copy(update={**update, "examples": [usage]})
                if not any(f.severity == "error" for f in self.validate(ctx, subject, candidate)):
                    update["examples"] = [usage]
        return output.model_copy(update=update) if update else output

    def repair(self, ctx: RunContext, subject: str, output: Any) -> ApiRecord:
        """Parameters documented exactly as the signature has them: invented ones dropped,
        missing ones added without a description (the table row comes from the evidence)."""
        names = documented_params(ctx.graph, subject)
        trivial = {f.claim for f in trivial_params(ctx.graph, subject, output)}
        given = {p.name.lstrip("*"): p for p in output.params if p.description not in trivial}
        params = [given.get(n) or ParamDoc(name=n, description="") for n in names]
        return output.model_copy(
            update={
                "params": [
                    ParamDoc(name=n, description=p.description) for n, p in zip(names, params, strict=True)
                ]
            }
        )

    def validate(self, ctx: RunContext, subject: str, output: Any) -> list[Finding]:
        from pipeline.agents.validator import validate_record

        return (
            validate_record(ctx.graph, subject, output)
            + echo_findings(output, subject)
            + trivial_params(ctx.graph, subject, output)
        )

    def evidence_hash(self, ctx: RunContext, subject: str) -> str:
        node = ctx.graph.node(subject)
        parts = [
            node.get("hash", ""),
            node.get("qualname", ""),
            repr(node.get("params")),
            repr(node.get("extra")),
        ]
        parts += raised_names(ctx.graph, subject)
        return content_hash("\0".join(str(p) for p in parts))

    def facts(self, ctx: RunContext, subject: str, deps: dict[str, str], budget: int | None = None) -> str:
        graph = ctx.graph
        node = graph.node(subject)
        kind = node.get("kind")
        parent = node.get("parent")
        where = f"module `{graph.node(graph.module_of(subject) or subject).get('qualname')}`"
        if parent and graph.node(parent).get("kind") not in ("module", "package"):
            where = f"{kind} of `{graph.node(parent).get('name')}` in " + where
        head = [
            f"Symbol: `{node.get('qualname')}` ({kind}, {where})",
            "Signature:",
            render_signature_line(node),
        ]
        names = documented_params(graph, subject)
        head.append(
            "Parameters to describe (say what each one is for, not its type): "
            + (", ".join(f"`{n}`" for n in names) if names else "none")
        )
        if returns_value(node):
            head.append(f"Returns a value{': ' + node['returns'] if node.get('returns') else ''}.")
        elif (node.get("extra") or {}).get("is_generator"):
            head.append("It is a generator: describe what it yields.")
        elif kind in ("function", "method"):
            head.append("Returns nothing.")
        raised = raised_names(graph, subject)
        if raised:
            head.append("Raises (here or in what it calls): " + ", ".join(f"`{r}`" for r in raised))
        total = budget if budget is not None else ctx.settings.token_budget
        budget = total - estimate_tokens("\n".join(head)) - 350  # system prompt
        sections: list[str] = []
        # The source holds the docstring: send it alone when it fits, else the docstring
        # plus as much of the source as the budget allows (the signature is always above).
        source = ctx.source_of(node, max_lines=60)
        if source and estimate_tokens(source) > budget * 0.8:
            doc = node.get("docstring")
            if doc:
                doc_text = "Docstring:\n" + fence(doc[:1500])
                if estimate_tokens(doc_text) < budget * 0.5:
                    sections.append(doc_text)
                    budget -= estimate_tokens(doc_text)
            lines = source.splitlines()
            while lines and estimate_tokens("\n".join(lines)) > budget * 0.8:
                lines = lines[: len(lines) * 2 // 3]
            source = "\n".join(lines)
        if source:
            sections.append("Source:\n" + fence(source))
            budget -= estimate_tokens(source) + 4
        related = []
        for dep in dependency_ids(graph, subject):
            dn = graph.node(dep)
            line = f"- `{dn.get('qualname')}`"
            if deps.get(dep):
                line += f": {deps[dep]}"
            if estimate_tokens(line) > budget:
                break
            budget -= estimate_tokens(line)
            related.append(line)
        if related:
            sections.append("It uses:\n" + "\n".join(related))
        return "\n".join(head) + "\n\n" + "\n\n".join(sections)
