"""The typed state that flows between nodes. Large read-only things (the evidence graph,
model clients) travel in the run-time context (:mod:`pipeline.graph.context`) instead."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

TaskKind = Literal["structure", "api", "module"]
TaskPath = Literal["slm_first_pass", "slm_retry", "llm_escalated", "unresolved", "evidence_only", "cached"]


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer for fan-in: later writers add keys (parallel tasks write disjoint keys)."""
    out = dict(left or {})
    out.update(right or {})
    return out


class TaskResult(TypedDict, total=False):
    """The outcome of one generation task, as published."""

    kind: TaskKind
    subject: str  # symbol id, module id, or "repository"
    path: TaskPath
    output: dict[str, Any] | None  # the validated (possibly salvaged) output, or None
    findings_before: list[dict[str, Any]]  # findings of the first pass
    findings_after: list[dict[str, Any]]  # findings left on what was published (warnings) or unresolved
    attempts: list[dict[str, Any]]  # one per generation: node, model, parsed
    findings_by_attempt: list[dict[str, Any]]  # {attempt, node, findings}: what caused each retry/escalation
    dropped: list[str]  # fields removed because they could not be validated


class PipelineState(TypedDict, total=False):
    """State of the main graph."""

    overview: TaskResult | None
    levels: list[list[str]]  # symbol ids in dependency order (callees first)
    level: int  # index of the level being processed
    deps: dict[str, list[str]]  # symbol id -> ids whose summaries are its context
    modules: list[str]  # module ids that get a page
    module_symbols: dict[str, list[str]]  # module id -> documented symbol ids in it
    records: Annotated[dict[str, TaskResult], merge_dicts]  # symbol id -> result
    pages: Annotated[dict[str, TaskResult], merge_dicts]  # module id -> result
    calls: Annotated[list[dict[str, Any]], operator.add]  # every model call
    timings: Annotated[list[dict[str, Any]], operator.add]  # node, subject, seconds


class TaskState(TypedDict, total=False):
    """State of the per-task subgraph: generate, validate, route."""

    kind: TaskKind
    subject: str
    deps: dict[str, str]  # dependency id -> validated summary, given as context
    has_llm: bool
    attempt: int  # 0 first pass, 1 SLM retry, 2 LLM escalation
    output: dict[str, Any] | None
    findings: list[dict[str, Any]]
    first_findings: list[dict[str, Any]]
    attempts: Annotated[list[dict[str, Any]], operator.add]
    answers: Annotated[list[dict[str, Any]], operator.add]  # every parsed answer, oldest first
    validations: Annotated[list[dict[str, Any]], operator.add]
    calls: Annotated[list[dict[str, Any]], operator.add]
    result: TaskResult
