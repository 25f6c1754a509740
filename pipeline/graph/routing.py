"""Edge decisions, each small and typed with ``Literal`` so the drawn graph is right."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Send

from pipeline.graph.state import PipelineState, TaskState


def route_after_validation(state: TaskState) -> Literal["accept", "slm_retry", "llm_escalate", "unresolved"]:
    """All checks pass: accept. Otherwise retry once on the SLM with the findings, then
    escalate to the LLM, then give up (publish only what is validated)."""
    if (
        not any(f.get("severity") == "error" for f in state.get("findings", []))
        and state.get("output") is not None
    ):
        return "accept"
    attempt = state.get("attempt", 0)
    if attempt == 0:
        return "slm_retry"
    if attempt == 1 and state.get("has_llm"):
        return "llm_escalate"
    return "unresolved"


def route_level(state: PipelineState) -> list[Send] | Literal["module_docs"]:
    """Fan out the API tasks of the next dependency level, or move on to the module pages."""
    levels = state.get("levels", [])
    level = state.get("level", 0)
    while level < len(levels) and not levels[level]:
        level += 1
    if level >= len(levels):
        return "module_docs"
    records = state.get("records", {})
    deps = state.get("deps", {})
    sends = []
    for sid in levels[level]:
        known = {}
        for dep in deps.get(sid, []):
            output = (records.get(dep) or {}).get("output") or {}
            if output.get("summary"):
                known[dep] = output["summary"]
        sends.append(Send("api_task", {"kind": "api", "subject": sid, "deps": known}))
    return sends


def route_modules(state: PipelineState) -> list[Send] | Literal["finish"]:
    """Fan out one page task per module, or finish when there are none."""
    modules = state.get("modules", [])
    if not modules:
        return "finish"
    records = state.get("records", {})
    members = state.get("module_symbols", {})
    sends = []
    for mid in modules:
        known = {}
        for sid in members.get(mid, []):
            output = (records.get(sid) or {}).get("output") or {}
            if output.get("summary"):
                known[sid] = output["summary"]
        sends.append(Send("module_task", {"kind": "module", "subject": mid, "deps": known}))
    return sends
