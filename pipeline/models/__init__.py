"""The model layer: model specs -> LangChain chat models, profiles, and structured calls.

Agents call `structured_call` with any LangChain chat model; `resolve_profile` and
`build_chat_model` decide which models a run uses. Backends (Ollama, llama.cpp, OpenAI-compatible
servers) are imported only when a model of theirs is built.

Names are loaded on first access, so `import pipeline.models.embedded` or `.spec` stays cheap
(no LangChain import) for code that only needs those.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CallOutcome": "calls",
    "count_tokens": "calls",
    "parse_json_object": "calls",
    "structured_call": "calls",
    "EmbeddedModelError": "embedded",
    "embedded_available": "embedded",
    "embedded_model_path": "embedded",
    "Profile": "profiles",
    "SettingsError": "profiles",
    "build_chat_model": "profiles",
    "load_settings": "profiles",
    "resolve_profile": "profiles",
    "ModelBackendMissing": "spec",
    "ModelBackendUnreachable": "spec",
    "ModelError": "spec",
    "ModelHTTPError": "spec",
    "ModelNotFound": "spec",
    "ModelSpec": "spec",
    "ModelSpecError": "spec",
    "parse_spec": "spec",
}

__all__ = [
    "CallOutcome",
    "EmbeddedModelError",
    "ModelBackendMissing",
    "ModelBackendUnreachable",
    "ModelError",
    "ModelHTTPError",
    "ModelNotFound",
    "ModelSpec",
    "ModelSpecError",
    "Profile",
    "SettingsError",
    "build_chat_model",
    "count_tokens",
    "embedded_available",
    "embedded_model_path",
    "load_settings",
    "parse_json_object",
    "parse_spec",
    "resolve_profile",
    "structured_call",
]

if TYPE_CHECKING:
    from pipeline.models.calls import CallOutcome, count_tokens, parse_json_object, structured_call
    from pipeline.models.embedded import EmbeddedModelError, embedded_available, embedded_model_path
    from pipeline.models.profiles import (
        Profile,
        SettingsError,
        build_chat_model,
        load_settings,
        resolve_profile,
    )
    from pipeline.models.spec import (
        ModelBackendMissing,
        ModelBackendUnreachable,
        ModelError,
        ModelHTTPError,
        ModelNotFound,
        ModelSpec,
        ModelSpecError,
        parse_spec,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pipeline.models.{module}"), name)
    globals()[name] = value
    return value
