"""Wiring only: the main pipeline graph and the per-task subgraph. Read it like a diagram.

Main graph::

    START -> structure -> plan -> (api_task x N per dependency level) -> next_level -> ...
          -> module_docs -> (module_task x M) -> finish -> END

Per-task subgraph (structure, every API record, every module page)::

    START -> slm_first_pass -> validate -> accept | slm_retry | llm_escalate | unresolved
             slm_retry -> validate;  llm_escalate -> validate;  accept/unresolved -> END
"""

from __future__ import annotations

from functools import cache
from typing import Any

from langgraph.graph import END, START, StateGraph

from pipeline.graph import nodes, routing
from pipeline.graph.context import RunContext
from pipeline.graph.state import PipelineState, TaskState


@cache
def task_graph() -> Any:
    """Generate, validate, route: first pass, one SLM retry, LLM escalation, or unresolved."""
    b = StateGraph(TaskState, context_schema=RunContext)
    b.add_node("slm_first_pass", nodes.slm_first_pass)
    b.add_node("validate", nodes.validate)
    b.add_node("slm_retry", nodes.slm_retry)
    b.add_node("llm_escalate", nodes.llm_escalate)
    b.add_node("accept", nodes.accept)
    b.add_node("unresolved", nodes.unresolved)
    b.add_edge(START, "slm_first_pass")
    b.add_edge("slm_first_pass", "validate")
    b.add_conditional_edges("validate", routing.route_after_validation)
    b.add_edge("slm_retry", "validate")
    b.add_edge("llm_escalate", "validate")
    b.add_edge("accept", END)
    b.add_edge("unresolved", END)
    # Tasks are checkpointed as a whole by the main graph; their inner steps are cheap to redo.
    return b.compile(checkpointer=False)


def pipeline_graph(checkpointer: Any = None) -> Any:
    """The main graph: structure, plan, API records by level, module pages."""
    b = StateGraph(PipelineState, context_schema=RunContext)
    b.add_node("structure", nodes.structure)
    b.add_node("plan", nodes.plan)
    b.add_node("api_task", nodes.api_task)
    b.add_node("next_level", nodes.next_level)
    b.add_node("module_docs", nodes.module_docs)
    b.add_node("module_task", nodes.module_task)
    b.add_node("finish", nodes.finish)
    b.add_edge(START, "structure")
    b.add_edge("structure", "plan")
    b.add_conditional_edges("plan", routing.route_level, ["api_task", "module_docs"])
    b.add_edge("api_task", "next_level")
    b.add_conditional_edges("next_level", routing.route_level, ["api_task", "module_docs"])
    b.add_conditional_edges("module_docs", routing.route_modules, ["module_task", "finish"])
    b.add_edge("module_task", "finish")
    b.add_edge("finish", END)
    return b.compile(checkpointer=checkpointer)
