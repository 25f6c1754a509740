"""A LangChain chat model over `llama_cpp.Llama`: GGUF models run in-process, on the CPU.

Why not langchain-community's `ChatLlamaCpp`: this one passes a JSON schema per call as
llama.cpp's grammar-constrained `response_format`, reports token usage from the completion
itself, shares one loaded model per (file, context size) across the process, and serialises
calls to it (a `Llama` object is not thread-safe).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from pipeline.models.openai_compat import message_to_chat_dict
from pipeline.models.spec import ModelBackendMissing, ModelError, ModelSpec, ModelSpecError

INSTALL_HINT = "install the embedded extra: pip install 'pipeline[embedded]'"

# One loaded model per (file, context size), shared by every chat model in the process; loading
# a GGUF file costs seconds and its memory, so it happens once.
_LOADED: dict[tuple[str, int], tuple[Any, threading.Lock]] = {}
_LOADED_GUARD = threading.Lock()


def _close_loaded() -> None:
    """Free the loaded models before interpreter teardown: llama.cpp's own finaliser runs too
    late then (its module globals are gone) and prints an ignored TypeError at exit."""
    with _LOADED_GUARD:
        for llm, _ in _LOADED.values():
            with contextlib.suppress(Exception):
                llm.close()
        _LOADED.clear()


atexit.register(_close_loaded)


class ModelLoadError(ModelError):
    """A GGUF file that llama.cpp cannot load."""


def llamacpp_available() -> bool:
    """True if llama-cpp-python is installed (checked without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def _import_llama() -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise ModelBackendMissing(f"llama-cpp-python is not installed; {INSTALL_HINT}.") from None
    return Llama


def load_llama(
    model_path: str, n_ctx: int = 4096, n_threads: int | None = None
) -> tuple[Any, threading.Lock]:
    """The process-wide `Llama` for (model_path, n_ctx) and the lock that guards it, loading it once."""
    key = (str(model_path), int(n_ctx))
    with _LOADED_GUARD:
        if key in _LOADED:
            return _LOADED[key]
        Llama = _import_llama()
        if not Path(model_path).is_file():
            raise ModelLoadError(f"GGUF file {model_path} does not exist.")
        try:
            llm = Llama(
                model_path=str(model_path),
                n_ctx=int(n_ctx),
                n_threads=n_threads or os.cpu_count() or 1,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"llama.cpp cannot load {model_path}: {exc}.") from None
        _LOADED[key] = (llm, threading.Lock())
        return _LOADED[key]


class LlamaCppChatModel(BaseChatModel):
    """Chat model over a local GGUF file through llama-cpp-python.

    Pass a JSON schema per call with `invoke(messages, response_format={"type": "json_object",
    "schema": schema})` or bind it once with `.bind(response_format=...)`; an OpenAI-style
    `{"type": "json_schema", "json_schema": {"schema": ...}}` is accepted too. A per-call
    `timeout` is accepted and ignored: generation in-process is bounded by `max_tokens`.
    """

    model_path: str
    model_name: str = ""
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.0
    seed: int = 42
    max_tokens: int = 1024

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
        }

    def load(self) -> Any:
        """Load the model now (otherwise it loads on first use) and return the `Llama` object."""
        return load_llama(self.model_path, self.n_ctx, self.n_threads)[0]

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids of `text` under the model's own tokenizer."""
        llm, lock = load_llama(self.model_path, self.n_ctx, self.n_threads)
        with lock:
            return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        llm, lock = load_llama(self.model_path, self.n_ctx, self.n_threads)
        response_format = _llama_response_format(kwargs.pop("response_format", None))
        # llama.cpp cannot be interrupted mid-generation from Python; max_tokens bounds the time.
        kwargs.pop("timeout", None)
        request: dict[str, Any] = {
            "messages": [message_to_chat_dict(m) for m in messages],
            "max_tokens": int(kwargs.pop("max_tokens", self.max_tokens)),
            "temperature": float(kwargs.pop("temperature", self.temperature)),
            "seed": int(kwargs.pop("seed", self.seed)),
        }
        if response_format is not None:
            request["response_format"] = response_format
        if stop:
            request["stop"] = stop
        with lock:
            completion = llm.create_chat_completion(**request)
        choice = completion["choices"][0]
        finish_reason = choice.get("finish_reason")
        usage = completion.get("usage") or {}
        tokens_in = int(usage.get("prompt_tokens") or 0)
        tokens_out = int(usage.get("completion_tokens") or 0)
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": int(usage.get("total_tokens") or tokens_in + tokens_out),
            },
            response_metadata={
                "model_name": self.model_name or Path(self.model_path).name,
                "finish_reason": finish_reason,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def make_llamacpp_chat(
    spec: ModelSpec, *, n_threads: int | None = None, cache_dir: Path | None = None
) -> LlamaCppChatModel:
    """A chat model for a `llamacpp:` spec; an embedded spec is assembled and verified first."""
    if spec.backend != "llamacpp":
        raise ModelSpecError(f"{spec} is not a llamacpp: spec.")
    if not llamacpp_available():
        raise ModelBackendMissing(f"llama-cpp-python is not installed; {INSTALL_HINT}.")
    if spec.is_embedded:
        from pipeline.models.embedded import embedded_model_path

        path = str(embedded_model_path(spec.name.removeprefix("embedded-"), cache_dir))
    else:
        path = spec.path or spec.name
        if not Path(path).is_file():
            raise ModelSpecError(f"GGUF file {path} does not exist: check the llamacpp:<file.gguf> spec.")
    return LlamaCppChatModel(
        model_path=path,
        model_name=str(spec),
        n_ctx=int(spec.option("num_ctx")),
        n_threads=n_threads,
        temperature=float(spec.option("temperature")),
        seed=int(spec.option("seed")),
        max_tokens=int(spec.option("max_tokens")),
    )


def _llama_response_format(value: Any) -> dict[str, Any] | None:
    """llama.cpp's `{"type": "json_object", "schema": ...}` from either that or the OpenAI form."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise ModelSpecError(f"response_format must be a dict, not {type(value).__name__}.")
    if value.get("type") == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    return value
