"""Run-time context handed to every node: read-only, never checkpointed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from pipeline.evidence.graph import EvidenceGraph


@dataclass(slots=True)
class Settings:
    """Knobs of a run that change what the models are asked (part of cache keys)."""

    timeout_s: float = 120.0
    retries: int = 2
    token_budget: int = 1500  # prompt tokens per task (evidence is trimmed to fit)
    max_tokens: int = 400  # answer tokens per call
    concurrency: int = 2
    include_private: bool = False


@dataclass(slots=True)
class RunContext:
    """What nodes need that is not state: the evidence and the model clients."""

    graph: EvidenceGraph
    repo: Path
    slm: BaseChatModel | None = None
    llm: BaseChatModel | None = None
    slm_spec: str = ""
    llm_spec: str = ""
    settings: Settings = field(default_factory=Settings)
    cache: Any = None  # pipeline.cache.OutputCache when incremental runs are on
    _sources: dict[str, list[str]] = field(default_factory=dict)

    def source_lines(self, rel_path: str) -> list[str]:
        """Lines of a repository file (read as data, decoded leniently, cached per run)."""
        lines = self._sources.get(rel_path)
        if lines is None:
            from pipeline.evidence.walk import read_source

            data = read_source(self.repo, rel_path, max_bytes=50_000_000)
            lines = data.decode("utf-8", "replace").splitlines() if isinstance(data, bytes) else []
            self._sources[rel_path] = lines
        return lines

    def source_of(self, node: dict[str, Any], max_lines: int = 80) -> str:
        lines = self.source_lines(node.get("file", ""))
        start, end = node.get("line_start", 1), node.get("line_end", 1)
        chunk = lines[start - 1 : min(end, start - 1 + max_lines)]
        if end - start + 1 > max_lines:
            chunk.append(f"    ... ({end - start + 1 - max_lines} more lines)")
        return "\n".join(chunk)
