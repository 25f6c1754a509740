"""Scripted chat models for unit tests of the graph's logic (no real model involved)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

_SUBJECT = re.compile(r"^(?:Symbol|Module): `([^`]+)`", re.M)


def subject_of(messages: list[BaseMessage]) -> str:
    """The qualname a task is about ('repository' for the overview)."""
    for m in messages:
        found = _SUBJECT.search(str(m.content))
        if found:
            return found.group(1)
    return "repository"


class ScriptedChat(BaseChatModel):
    """Answers with ``script(subject, attempt, messages)``: a dict (sent as JSON) or a raw string.

    ``attempt`` counts this model's calls for that subject (0, 1, ...). Every call is kept in
    ``.seen`` as (subject, attempt, messages) so tests can assert what the model was told.
    """

    name: str = "scripted"
    _script: Callable[[str, int, list[BaseMessage]], Any] = PrivateAttr()
    _counts: dict[str, int] = PrivateAttr(default_factory=dict)
    seen: list[tuple[str, int, list[BaseMessage]]] = []  # noqa: RUF012 (reset per instance)

    def __init__(self, script: Callable[[str, int, list[BaseMessage]], Any], **kw: Any) -> None:
        super().__init__(**kw)
        self._script = script
        self._counts = {}
        self.seen = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        subject = subject_of(messages)
        attempt = self._counts.get(subject, 0)
        self._counts[subject] = attempt + 1
        self.seen.append((subject, attempt, messages))
        answer = self._script(subject, attempt, messages)
        if isinstance(answer, Exception):
            raise answer
        text = answer if isinstance(answer, str) else json.dumps(answer)
        msg = AIMessage(
            content=text,
            usage_metadata={"input_tokens": 100, "output_tokens": 20, "total_tokens": 120},
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def calls_for(self, subject: str) -> int:
        return self._counts.get(subject, 0)
