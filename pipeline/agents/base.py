"""What every generating agent shares: narrow prompts, constrained calls, salvage of partial output."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from pipeline.agents.records import Finding
from pipeline.graph.context import RunContext
from pipeline.prompts import load_prompt

# Characters per token, for budgeting when the model's tokenizer is not at hand. Code and
# English run 3.5 to 4 characters per token on Qwen's tokenizer; 3.2 errs on the safe side.
CHARS_PER_TOKEN = 3.2


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def fence(text: str) -> str:
    """Wrap untrusted text as data: a fence the text cannot close."""
    body = text.replace("<<<", "< < <").replace(">>>", "> > >")
    return f"<<<\n{body}\n>>>"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, BaseModel):
        return [s for v in value.__dict__.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def echo_findings(output: BaseModel, subject: str) -> list[Finding]:
    """An answer that copies the prompt's data fences has pasted evidence instead of
    describing it (small models do this); it is rejected like any wrong claim."""
    for text in _strings(output):
        if "<<<" in text or ">>>" in text.replace(">>> ", "") or "\nSource:" in text:
            return [
                Finding(
                    "prompt-echo",
                    "error",
                    "the answer copies the prompt's evidence (<<< >>> blocks) instead of describing it",
                    claim=text[:120],
                    subject=subject,
                )
            ]
    return []


class Agent:
    """A narrow generating task. Subclasses say what to ask, how to check, what to keep."""

    kind: ClassVar[str] = ""
    prompt_name: ClassVar[str] = ""
    output_model: ClassVar[type[BaseModel]]

    def schema(self, ctx: RunContext, subject: str) -> dict[str, Any]:
        """The JSON schema the answer is constrained to."""
        raise NotImplementedError

    def facts(self, ctx: RunContext, subject: str, deps: dict[str, str], budget: int | None = None) -> str:
        """The evidence given to the model, within ``budget`` tokens (default: the run's)."""
        raise NotImplementedError

    def parse(self, ctx: RunContext, subject: str, data: dict[str, Any]) -> BaseModel:
        """Turn the constrained answer into the output model (may raise ValidationError)."""
        return self.output_model.model_validate(data)

    def validate(self, ctx: RunContext, subject: str, output: BaseModel) -> list[Finding]:
        raise NotImplementedError

    def evidence_hash(self, ctx: RunContext, subject: str) -> str:
        """Hash of the evidence this task reads (for output caching)."""
        raise NotImplementedError

    # -- shared behaviour ---------------------------------------------------------------
    def messages(
        self,
        ctx: RunContext,
        subject: str,
        deps: dict[str, str],
        findings: list[dict[str, Any]] | None = None,
    ) -> list[BaseMessage]:
        """The prompt for a task: the agent's instructions and the facts; on a retry or an
        escalation (``findings`` given), the checks the last answer failed.

        The failed answer itself is not shown: shown one, models tend to repeat it (the 1.5B
        escalation model returned the 0.5B model's unparsable example word for word). The model
        writes its own answer from the facts, told what to avoid.
        """
        prompt = load_prompt(self.prompt_name)
        if not findings:
            return [SystemMessage(prompt.text), HumanMessage(self.facts(ctx, subject, deps))]
        errors = sorted(
            (f for f in findings if f.get("severity") == "error"),
            key=lambda f: (f["rule"], str(f["message"])),
        )
        listed = "\n".join(f"- [{f['rule']}] {str(f['message'])[:200]}" for f in errors[:8])
        if len(errors) > 8:
            listed += f"\n- ... and {len(errors) - 8} more"
        note = load_prompt("retry").text.replace("{findings}", listed)
        # The note comes out of the same token budget: the evidence is trimmed further (the
        # signature is always kept).
        budget = ctx.settings.token_budget - estimate_tokens(note)
        facts = self.facts(ctx, subject, deps, budget=max(budget, 200))
        return [SystemMessage(prompt.text), HumanMessage(f"{facts}\n\n{note}")]

    def complete(self, ctx: RunContext, subject: str, output: BaseModel) -> BaseModel:
        """Add to a validated answer what it left out and the evidence states outright, so a
        section the code calls for is not missing because a small model skipped it (default:
        nothing). Only evidence facts are added: they validate by construction."""
        return output

    def repair(self, ctx: RunContext, subject: str, output: BaseModel) -> BaseModel:
        """Agent-specific mechanical fixes from the evidence before salvage (default: none)."""
        return output

    def salvage(self, ctx: RunContext, subject: str, output: BaseModel) -> tuple[BaseModel | None, list[str]]:
        """Keep what validates: drop each field whose removal removes errors, then recheck.

        Returns the reduced output (``None`` when even the summary fails) and the dropped
        field names. Only validated claims are ever published.
        """

        def errors(o: BaseModel) -> int:
            return sum(1 for f in self.validate(ctx, subject, o) if f.severity == "error")

        kept = self.repair(ctx, subject, output)
        current = errors(kept)
        dropped: list[str] = []
        fields = type(kept).model_fields
        for name, info in fields.items():
            if current == 0:
                break
            if name == "summary":
                continue
            default = info.get_default(call_default_factory=True)
            if getattr(kept, name) == default:
                continue
            candidate = kept.model_copy(update={name: default})
            n = errors(candidate)
            if n < current:
                kept, current = candidate, n
                dropped.append(name)
        if current:
            return None, [*dropped, "summary"]
        return kept, dropped


def call_model(
    ctx: RunContext,
    agent: Agent,
    model: BaseChatModel,
    spec: str,
    subject: str,
    messages: list[BaseMessage],
) -> tuple[dict[str, Any] | None, list[Finding], dict[str, Any]]:
    """One constrained call. Returns (parsed output as dict or None, parse findings, call record).

    Transport failures, invalid JSON and answers in the wrong shape become an
    ``invalid-output`` finding (an error, routed like any other), never an exception.
    """
    from pipeline.models.calls import structured_call

    schema = agent.schema(ctx, subject)
    started = time.perf_counter()
    outcome = structured_call(
        model,
        messages,
        schema,
        model_spec=spec,
        timeout_s=ctx.settings.timeout_s,
        retries=ctx.settings.retries,
    )
    record = asdict(outcome)
    record.update({"kind": agent.kind, "subject": subject, "wall_s": time.perf_counter() - started})
    record.pop("raw", None)
    if outcome.data is None:
        return (
            None,
            [Finding("invalid-output", "error", outcome.error or "no answer", subject=subject)],
            record,
        )
    try:
        output = agent.parse(ctx, subject, outcome.data)
    except (ValidationError, ValueError, TypeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return (
            None,
            [Finding("invalid-output", "error", f"answer does not fit the schema: {msg}", subject=subject)],
            record,
        )
    return output.model_dump(), [], record
