"""Node functions: each takes state (and the run-time context) and returns a partial update.

Nodes build no clients and read no environment: everything comes from the context.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from pipeline.agents.api import ApiAgent, dependency_ids, documented_modules, documented_symbols
from pipeline.agents.base import Agent, call_model
from pipeline.agents.docgen import DocAgent
from pipeline.agents.planning import plan_levels
from pipeline.agents.records import Finding, has_errors
from pipeline.agents.structure import REPOSITORY, StructureAgent
from pipeline.graph.context import RunContext
from pipeline.graph.state import PipelineState, TaskResult, TaskState

_FAILED = "__failed__"
# Failures that repeat for the same prompt (worth caching); transport errors and timeouts do
# not. ``None``: the answer parsed as JSON but did not fit the schema.
_DETERMINISTIC_FAILURES = frozenset({"invalid_json", "truncated", None})

AGENTS: dict[str, Agent] = {"structure": StructureAgent(), "api": ApiAgent(), "module": DocAgent()}
_PATH_BY_ATTEMPT = {0: "slm_first_pass", 1: "slm_retry", 2: "llm_escalated"}


# -- the per-task subgraph ------------------------------------------------------------------
def _generate(state: TaskState, ctx: RunContext, attempt: int) -> dict[str, Any]:
    agent = AGENTS[state["kind"]]
    subject = state["subject"]
    model, spec = (ctx.llm, ctx.llm_spec) if attempt == 2 else (ctx.slm, ctx.slm_spec)
    findings = state.get("findings") if attempt else None
    messages = agent.messages(ctx, subject, state.get("deps", {}), findings)
    if model is None:
        output, found, call = (
            None,
            [Finding("invalid-output", "error", "no model configured", subject=subject)],
            None,
        )
    else:
        cached = ctx.cache.get(agent, ctx, subject, messages, spec) if ctx.cache is not None else None
        if cached is not None:
            # A failed answer is cached too: at temperature 0 asking again fails the same way,
            # and an unchanged rerun must make no model call at all.
            failed = cached.get(_FAILED) if len(cached) == 1 else None
            output = None if failed is not None else cached
            found = (
                [] if failed is None else [Finding("invalid-output", "error", str(failed), subject=subject)]
            )
            call = {"kind": agent.kind, "subject": subject, "model": spec, "cached": True, "attempt": attempt}
        else:
            output, found, call = call_model(ctx, agent, model, spec, subject, messages)
            call["cached"] = False
            call["attempt"] = attempt
            if attempt == 0 and ctx.cache is not None:
                call["reason"] = ctx.cache.why_changed(
                    agent.kind, subject, _input_parts(agent, ctx, subject, state, spec)
                )
            if ctx.cache is not None and (
                output is not None or call.get("error_kind") in _DETERMINISTIC_FAILURES
            ):
                value = (
                    output if output is not None else {_FAILED: found[0].message if found else "no answer"}
                )
                ctx.cache.put(agent, ctx, subject, messages, spec, value)
    node = _PATH_BY_ATTEMPT[attempt]
    update: dict[str, Any] = {
        "attempt": attempt,
        "output": output,
        "findings": [f.to_dict() for f in found],
        "attempts": [{"node": node, "model": spec, "parsed": output is not None}],
        "answers": [output] if output is not None else [],
        "calls": [call] if call else [],
    }
    return update


def _input_parts(agent: Agent, ctx: RunContext, subject: str, state: TaskState, spec: str) -> dict[str, str]:
    from pipeline.evidence.model import content_hash
    from pipeline.prompts import load_prompt

    deps = state.get("deps", {})
    return {
        "evidence": agent.evidence_hash(ctx, subject),
        "context": content_hash("\0".join(f"{k}\1{deps[k]}" for k in sorted(deps))),
        "prompt": load_prompt(agent.prompt_name).hash,
        "model": spec,
    }


def slm_first_pass(state: TaskState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """First answer from the SLM."""
    return _generate(state, runtime.context, 0)


def slm_retry(state: TaskState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Second answer from the SLM, with the validator's findings in the prompt."""
    return _generate(state, runtime.context, 1)


def llm_escalate(state: TaskState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """The same narrow task on the larger model, with the findings so far."""
    return _generate(state, runtime.context, 2)


def validate(state: TaskState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Rule-based check of the latest answer against the evidence (no model)."""
    ctx = runtime.context
    agent = AGENTS[state["kind"]]
    output = state.get("output")
    findings = list(state.get("findings", []))
    if output is not None:
        parsed = agent.output_model.model_validate(output)
        findings = [f.to_dict() for f in agent.validate(ctx, state["subject"], parsed)]
    attempt = state.get("attempt", 0)
    update: dict[str, Any] = {
        "findings": findings,
        "validations": [{"attempt": attempt, "node": _PATH_BY_ATTEMPT[attempt], "findings": findings}],
    }
    if attempt == 0:
        update["first_findings"] = findings
    return update


def accept(state: TaskState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Publish the answer (warnings are kept in the report), with the facts it left out that
    the evidence states (see :meth:`Agent.complete`)."""
    path = _PATH_BY_ATTEMPT[state.get("attempt", 0)]
    output = state.get("output")
    if output is not None:
        agent = AGENTS[state["kind"]]
        output = _completed(runtime.context, state, agent.output_model.model_validate(output))
    return {"result": _result(state, path, output, state.get("findings", []), [])}


def _completed(ctx: RunContext, state: TaskState, record: Any) -> dict[str, Any]:
    """The record as published: with what the evidence adds (see :meth:`Agent.complete`)."""
    return AGENTS[state["kind"]].complete(ctx, state["subject"], record).model_dump()


def unresolved(state: TaskState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Give up on the models: publish only the parts that validate of the latest answer that
    has any (a retry can be worse than the first pass: a small model told what was wrong may
    copy the prompt instead)."""
    ctx = runtime.context
    agent = AGENTS[state["kind"]]
    answers = list(state.get("answers") or [])
    if not answers and state.get("output") is not None:
        answers = [state["output"]]
    kept: dict[str, Any] | None = None
    dropped: list[str] = []
    for answer in reversed(answers):
        reduced, dropped = agent.salvage(ctx, state["subject"], agent.output_model.model_validate(answer))
        if reduced is not None:
            kept = _completed(ctx, state, reduced)
            break
    left = [f for f in state.get("findings", []) if f.get("severity") == "error"]
    return {"result": _result(state, "unresolved", kept, left, dropped)}


def _result(
    state: TaskState,
    path: str,
    output: dict[str, Any] | None,
    after: list[dict[str, Any]],
    dropped: list[str],
) -> TaskResult:
    return TaskResult(
        kind=state["kind"],
        subject=state["subject"],
        path=path,  # type: ignore[typeddict-item]
        output=output,
        findings_before=state.get("first_findings", []),
        findings_after=after,
        attempts=state.get("attempts", []),
        findings_by_attempt=state.get("validations", []),
        dropped=dropped,
    )


# -- the main graph -------------------------------------------------------------------------
def _run_task(
    kind: str, payload: dict[str, Any], ctx: RunContext
) -> tuple[TaskResult, list[dict[str, Any]], float]:
    from pipeline.graph.build import task_graph

    started = time.perf_counter()
    if ctx.slm is None:
        result = TaskResult(
            kind=kind,  # type: ignore[typeddict-item]
            subject=payload["subject"],
            path="evidence_only",
            output=None,
            findings_before=[],
            findings_after=[],
            attempts=[],
            dropped=[],
        )
        return result, [], time.perf_counter() - started
    final = task_graph().invoke(
        {
            "kind": kind,
            "subject": payload["subject"],
            "deps": payload.get("deps", {}),
            "has_llm": ctx.llm is not None,
        },
        context=ctx,
    )
    return final["result"], final.get("calls", []), time.perf_counter() - started


def structure(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Structure analysis: the architecture overview (SLM, validated)."""
    result, calls, seconds = _run_task("structure", {"subject": REPOSITORY}, runtime.context)
    return {
        "overview": result,
        "calls": calls,
        "timings": [{"node": "structure", "subject": REPOSITORY, "s": seconds}],
    }


def plan(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Planning: documented symbols in dependency order, and the pages to write."""
    started = time.perf_counter()
    ctx = runtime.context
    graph = ctx.graph
    symbols = documented_symbols(graph, ctx.settings.include_private)
    chosen = set(symbols)
    deps = {sid: [d for d in dependency_ids(graph, sid) if d in chosen] for sid in symbols}
    levels = plan_levels(symbols, deps)
    module_symbols: dict[str, list[str]] = {}
    for sid in symbols:
        mod = graph.module_of(sid)
        if mod is not None:
            module_symbols.setdefault(mod, []).append(sid)
    modules = sorted(set(documented_modules(graph, ctx.settings.include_private)) | set(module_symbols))
    return {
        "levels": levels,
        "level": 0,
        "deps": deps,
        "modules": modules,
        "module_symbols": module_symbols,
        "timings": [{"node": "plan", "subject": REPOSITORY, "s": time.perf_counter() - started}],
    }


def api_task(payload: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    """API extraction for one symbol (fanned out with ``Send``)."""
    result, calls, seconds = _run_task("api", payload, runtime.context)
    return {
        "records": {payload["subject"]: result},
        "calls": calls,
        "timings": [{"node": "api_task", "subject": payload["subject"], "s": seconds}],
    }


def next_level(state: PipelineState) -> dict[str, Any]:
    """Advance to the next dependency level once the current one has fanned in."""
    return {"level": state.get("level", 0) + 1}


def module_docs(state: PipelineState) -> dict[str, Any]:
    """Fan-out point for the module pages (a no-op node, drawn in the graph)."""
    return {}


def module_task(payload: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Doc generation for one module page (fanned out with ``Send``)."""
    result, calls, seconds = _run_task("module", payload, runtime.context)
    return {
        "pages": {payload["subject"]: result},
        "calls": calls,
        "timings": [{"node": "module_task", "subject": payload["subject"], "s": seconds}],
    }


def finish(state: PipelineState) -> dict[str, Any]:
    """End of the graph: rendering happens outside, from the final state."""
    return {}


def errors_in(findings: list[dict[str, Any]]) -> bool:
    return has_errors([Finding(**f) for f in findings])
