"""Structure analysis agent: the architecture overview, from a compact summary of the evidence."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from pipeline.agents.base import Agent, echo_findings, estimate_tokens
from pipeline.agents.records import Finding, Overview
from pipeline.evidence.graph import EvidenceGraph
from pipeline.evidence.model import IMPORTS, content_hash
from pipeline.graph.context import RunContext

REPOSITORY = "repository"
_MAX_MODULES = 60


def module_imports(graph: EvidenceGraph) -> dict[str, set[str]]:
    """Internal module -> internal modules it imports (by qualname)."""
    out: dict[str, set[str]] = {}
    for src, dst, data in graph.g.edges(data=True):
        if data.get("kind") != IMPORTS or dst not in graph.g or graph.node(dst).get("kind") == "external":
            continue
        a = graph.module_of(src)
        b = graph.module_of(dst)
        if a and b and a != b:
            out.setdefault(graph.node(a)["qualname"], set()).add(graph.node(b)["qualname"])
    return out


def listed_modules(graph: EvidenceGraph) -> list[str]:
    """The modules named in the summary (largest first when there are too many)."""
    from pipeline.agents.api import is_test_file

    sizes = []
    for data in graph.modules():
        if is_test_file(data.get("file") or ""):
            continue
        size = (data.get("line_end") or 0) - (data.get("line_start") or 0)
        sizes.append((size, data["qualname"]))
    keep = sorted(sizes, reverse=True)[:_MAX_MODULES]
    return sorted(q for _, q in keep)


class StructureAgent(Agent):
    kind: ClassVar[str] = "structure"
    prompt_name: ClassVar[str] = "structure"
    output_model = Overview

    def schema(self, ctx: RunContext, subject: str) -> dict[str, Any]:
        modules = listed_modules(ctx.graph) or ["(none)"]
        name = {"enum": modules}
        return {
            "type": "object",
            "properties": {
                "summary": {"type": "string", "minLength": 20, "maxLength": 600},
                "components": {
                    "type": "array",
                    "maxItems": 5,
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "maxLength": 40},
                            "modules": {"type": "array", "items": name, "minItems": 1, "maxItems": 8},
                            "role": {"type": "string", "maxLength": 200},
                        },
                        "required": ["name", "modules", "role"],
                        "additionalProperties": False,
                    },
                },
                "relations": {
                    "type": "array",
                    "maxItems": 6,
                    "items": {
                        "type": "object",
                        "properties": {
                            "source": name,
                            "target": name,
                            "description": {"type": "string", "maxLength": 120},
                        },
                        "required": ["source", "target", "description"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["summary", "components", "relations"],
            "additionalProperties": False,
        }

    def facts(self, ctx: RunContext, subject: str, deps: dict[str, str], budget: int | None = None) -> str:
        graph = ctx.graph
        lines = []
        imports = module_imports(graph)
        kinds_by_module: dict[str, Counter[str]] = {}
        for nid, data in graph.g.nodes(data=True):
            if data.get("kind") in (
                "class",
                "function",
                "method",
                "struct",
                "interface",
                "trait",
            ) and data.get("public"):
                mod = graph.module_of(nid)
                if mod:
                    kinds_by_module.setdefault(graph.node(mod)["qualname"], Counter())[data["kind"]] += 1
        lines.append("Modules (name: public symbols; first docstring line):")
        for q in listed_modules(graph):
            data = graph.get(q) or {}
            counts = kinds_by_module.get(q, Counter())
            desc = ", ".join(
                f"{n} {k}{'es' if k == 'class' and n > 1 else 's' if n > 1 else ''}"
                for k, n in sorted(counts.items())
            )
            doc = (data.get("docstring") or "").strip().splitlines()
            first = f"; {doc[0][:100]}" if doc else ""
            lines.append(f"- {q}: {desc or 'no public symbols'}{first}")
        lines.append("Imports between modules:")
        listed = set(listed_modules(graph))
        for src in sorted(imports):
            targets = sorted(t for t in imports[src] if t in listed)
            if src in listed and targets:
                lines.append(f"- {src} imports {', '.join(targets)}")
        eps = graph.meta.get("entry_points", [])
        if eps:
            lines.append("Entry points: " + ", ".join(f"{e['name']} -> {e['target']}" for e in eps))
        mains = graph.meta.get("main_modules", [])
        if mains:
            lines.append("Runnable modules: " + ", ".join(mains))
        deps_ = sorted({d["name"] for d in graph.dependencies()})
        if deps_:
            lines.append("Declared dependencies: " + ", ".join(deps_))
        text = "\n".join(lines)
        # Too large for the budget: keep the head (modules first, then imports).
        total = budget if budget is not None else ctx.settings.token_budget
        max_chars = int(total * 3.2 * 1.5)
        if estimate_tokens(text) > total * 1.5:
            text = text[:max_chars] + "\n(truncated)"
        return text

    def validate(self, ctx: RunContext, subject: str, output: Any) -> list[Finding]:
        from pipeline.agents.validator import validate_overview

        return validate_overview(ctx.graph, output) + echo_findings(output, subject)

    def evidence_hash(self, ctx: RunContext, subject: str) -> str:
        return content_hash(self.facts(ctx, subject, {}))
