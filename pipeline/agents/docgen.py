"""Doc generation agent: the prose at the top of each module page.

The rest of the page (signatures, parameter tables, anchors) is rendered from the evidence
and the validated records by :mod:`pipeline.render.markdown`, never by a model.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipeline.agents.base import Agent, echo_findings, estimate_tokens, fence
from pipeline.agents.records import Finding, ModuleDoc
from pipeline.evidence.model import content_hash
from pipeline.graph.context import RunContext


class DocAgent(Agent):
    kind: ClassVar[str] = "module"
    prompt_name: ClassVar[str] = "docgen"
    output_model = ModuleDoc

    def schema(self, ctx: RunContext, subject: str) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"summary": {"type": "string", "minLength": 20, "maxLength": 700}},
            "required": ["summary"],
            "additionalProperties": False,
        }

    def facts(self, ctx: RunContext, subject: str, deps: dict[str, str], budget: int | None = None) -> str:
        graph = ctx.graph
        node = graph.node(subject)
        lines = [f"Module: `{node.get('qualname')}` (file `{node.get('file')}`)"]
        doc = (node.get("docstring") or "").strip()
        if doc:
            lines.append("Docstring:\n" + fence(doc[:1200]))
        total = budget if budget is not None else ctx.settings.token_budget
        budget = total - estimate_tokens("\n".join(lines)) - 200
        lines.append("Public symbols:")
        for sid in sorted(deps):
            line = f"- `{graph.node(sid).get('name')}`: {deps[sid]}"
            if estimate_tokens(line) > budget:
                lines.append("- (more omitted)")
                break
            budget -= estimate_tokens(line)
            lines.append(line)
        return "\n".join(lines)

    def validate(self, ctx: RunContext, subject: str, output: Any) -> list[Finding]:
        from pipeline.agents.validator import validate_module_doc

        return validate_module_doc(ctx.graph, subject, output) + echo_findings(output, subject)

    def evidence_hash(self, ctx: RunContext, subject: str) -> str:
        node = ctx.graph.node(subject)
        return content_hash(f"{node.get('qualname')}\0{node.get('docstring')}")
