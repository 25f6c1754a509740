"""The model layer: model specs -> LangChain chat models, profiles, and structured calls.

Agents call `structured_call` with any LangChain chat model; `resolve_profile` and
`build_chat_model` decide which models a run uses. Backends (Ollama, llama.cpp, OpenAI-compatible
servers) are imported only when a model of theirs is built.
"""

from pipeline.models.calls import CallOutcome, parse_json_object, structured_call
from pipeline.models.embedded import EmbeddedModelError, embedded_available, embedded_model_path
from pipeline.models.profiles import Profile, SettingsError, build_chat_model, load_settings, resolve_profile
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
    "embedded_available",
    "embedded_model_path",
    "load_settings",
    "parse_json_object",
    "parse_spec",
    "resolve_profile",
    "structured_call",
]
