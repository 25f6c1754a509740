"""`structured_call`: the one way agents ask a model for JSON.

It hands the JSON schema to each backend the way that backend enforces it (Ollama's `format`,
llama.cpp's grammar-constrained `response_format`, OpenAI's `json_schema` response format),
retries what is worth retrying (connection errors, timeouts, HTTP 429/5xx), and turns every
model or transport failure into a `CallOutcome` with a one-line error instead of an exception.
It parses JSON and nothing more: checking the data against the caller's schema is the caller's job.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from pipeline.models.llamacpp import LlamaCppChatModel
from pipeline.models.openai_compat import OpenAICompatibleChatModel
from pipeline.models.spec import ModelError, ModelHTTPError

log = logging.getLogger(__name__)

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


@dataclass
class CallOutcome:
    """What one structured call produced, and what it cost.

    `data` is the parsed JSON object, or None when `error` says why there is none.
    `error_kind` is one of "timeout", "transport", "http", "model_missing", "invalid_json",
    "truncated", "model_error". Token counts come from the backend's usage report; when a
    backend gives none they are estimated from text length and `estimated` is True.
    """

    data: dict[str, Any] | None
    raw: str
    error: str | None
    model: str
    tokens_in: int
    tokens_out: int
    latency_s: float
    attempts: int
    estimated: bool = False
    finish_reason: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call produced a JSON object."""
        return self.error is None and self.data is not None


@dataclass
class _Failure:
    kind: str
    message: str
    retryable: bool


def structured_call(
    model: BaseChatModel,
    messages: list[BaseMessage],
    schema: dict[str, Any],
    *,
    model_spec: str,
    timeout_s: float,
    retries: int = 2,
    backoff_s: float = 0.5,
) -> CallOutcome:
    """Ask `model` for a JSON object shaped by `schema`; never raises for model or transport errors.

    Transport failures are retried up to `retries` times, waiting `backoff_s`, then twice that,
    and so on. `timeout_s` bounds each attempt where the backend allows it (Ollama: wall clock
    across the streamed answer; OpenAI-compatible: HTTP timeout; llama.cpp in-process: not
    interruptible, bounded by the model's max_tokens instead).
    """
    started = time.monotonic()
    attempts = 0
    failure: _Failure | None = None
    while attempts <= max(0, retries):
        if attempts:
            time.sleep(backoff_s * 2 ** (attempts - 1))
        attempts += 1
        try:
            answer = _ask(model, messages, schema, timeout_s)
        except Exception as exc:  # every model/transport error becomes an outcome, by design
            failure = _classify(exc, model, timeout_s)
            log.debug("%s attempt %d failed: %s", model_spec, attempts, failure.message)
            if failure.retryable:
                continue
            break
        return _outcome_from_answer(answer, messages, model_spec, started, attempts)
    assert failure is not None
    return CallOutcome(
        data=None,
        raw="",
        error=failure.message,
        model=model_spec,
        tokens_in=0,
        tokens_out=0,
        latency_s=round(time.monotonic() - started, 3),
        attempts=attempts,
        error_kind=failure.kind,
    )


def count_tokens(model: BaseChatModel, text: str) -> tuple[int, bool]:
    """(tokens in `text`, estimated?) for budgeting prompts: the model's own tokenizer where it is
    local (llama.cpp), else len(text) // 4. LangChain's default counter would fetch a GPT-2
    tokenizer at run time, which this avoids."""
    if isinstance(model, LlamaCppChatModel):
        try:
            return model.get_num_tokens(text), False
        except ModelError:
            pass
    return len(text) // 4, True


def parse_json_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object in a model's answer, tolerating a Markdown fence or prose around it.

    Returns (data, None) or (None, "invalid JSON: ...").
    """
    stripped = text.strip()
    if not stripped:
        return None, "invalid JSON: empty answer"
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        value = _first_object(stripped)
        if value is None:
            return None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(value, dict):
        return None, f"invalid JSON: expected an object, got {type(value).__name__}"
    return value, None


def _first_object(text: str) -> Any:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return value
    return None


def _ask(
    model: BaseChatModel, messages: list[BaseMessage], schema: dict[str, Any], timeout_s: float
) -> AIMessage:
    if isinstance(model, LlamaCppChatModel):
        return model.invoke(
            messages, response_format={"type": "json_object", "schema": schema}, timeout=timeout_s
        )
    if isinstance(model, OpenAICompatibleChatModel):
        response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        return model.invoke(messages, response_format=response_format, timeout=timeout_s)
    if _is_chat_ollama(model):
        return _stream_with_deadline(model, messages, timeout_s, format=schema)
    return model.invoke(messages)


def _is_chat_ollama(model: BaseChatModel) -> bool:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        return False
    return isinstance(model, ChatOllama)


def _stream_with_deadline(
    model: BaseChatModel, messages: list[BaseMessage], timeout_s: float, **kwargs: Any
) -> AIMessage:
    """Stream the answer so a server that keeps trickling tokens is still cut off at `timeout_s`
    (an HTTP read timeout only bounds the wait for each piece)."""
    deadline = time.monotonic() + timeout_s
    merged = None
    stream = model.stream(messages, **kwargs)
    try:
        for chunk in stream:
            merged = chunk if merged is None else merged + chunk
            if time.monotonic() > deadline:
                raise TimeoutError(f"answer not finished after {timeout_s:g}s")
    finally:
        stream.close()
    if merged is None:
        raise ModelError("the server sent no answer")
    return AIMessage(
        content=merged.content,
        usage_metadata=merged.usage_metadata,
        response_metadata=merged.response_metadata,
    )


def _outcome_from_answer(
    answer: AIMessage, messages: list[BaseMessage], model_spec: str, started: float, attempts: int
) -> CallOutcome:
    raw = answer.text if isinstance(answer.content, list) else str(answer.content)
    metadata = answer.response_metadata or {}
    finish_reason = metadata.get("finish_reason") or metadata.get("done_reason")
    usage = answer.usage_metadata
    if usage:
        tokens_in, tokens_out, estimated = int(usage["input_tokens"]), int(usage["output_tokens"]), False
    else:
        prompt_chars = sum(len(m.text if isinstance(m.content, list) else str(m.content)) for m in messages)
        tokens_in, tokens_out, estimated = prompt_chars // 4, len(raw) // 4, True
    data, error = parse_json_object(raw)
    kind = "invalid_json" if error else None
    if error and finish_reason == "length":
        error, kind = "truncated answer (finish_reason=length)", "truncated"
    latency = round(time.monotonic() - started, 3)
    log.debug(
        "%s: %d tokens in, %d out, %.2fs, %d attempt(s)", model_spec, tokens_in, tokens_out, latency, attempts
    )
    return CallOutcome(
        data=data,
        raw=raw,
        error=error,
        model=model_spec,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_s=latency,
        attempts=attempts,
        estimated=estimated,
        finish_reason=finish_reason,
        error_kind=kind,
    )


def _classify(exc: Exception, model: BaseChatModel, timeout_s: float) -> _Failure:
    ollama = _is_chat_ollama(model)
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return _Failure("timeout", f"timeout after {timeout_s:g}s", True)
    status = _http_status(exc)
    if status is not None:
        detail = _short(getattr(exc, "error", None) or str(exc))
        if isinstance(exc, ModelHTTPError):
            detail = _short(str(exc).removeprefix(f"HTTP {status}").strip())
        if status == 404:
            hint = f"; run `ollama pull {getattr(model, 'model', '')}`" if ollama else ""
            return _Failure("model_missing", f"model missing: {detail} (HTTP 404){hint}", False)
        retryable = status == 429 or status >= 500
        return _Failure("http", f"HTTP {status} {detail}".strip(), retryable)
    if isinstance(exc, httpx.TransportError | ConnectionError):
        reason = _short(str(exc)) or type(exc).__name__
        refused = type(exc) is ConnectionError or isinstance(exc, httpx.ConnectError | ConnectionRefusedError)
        if ollama and refused:
            from pipeline.models.ollama import unreachable_message

            return _Failure(
                "transport", unreachable_message(str(getattr(model, "base_url", "")), reason), True
            )
        where = getattr(model, "base_url", None)
        prefix = f"connection to {where} failed" if where else "connection failed"
        return _Failure("transport", f"{prefix}: {reason}", True)
    if isinstance(exc, json.JSONDecodeError):
        return _Failure("transport", f"invalid response from the server: {exc.msg}", False)
    if isinstance(exc, ModelError):
        return _Failure("model_error", _short(str(exc)), False)
    return _Failure("model_error", f"{type(exc).__name__}: {_short(str(exc))}", False)


def _http_status(exc: Exception) -> int | None:
    if isinstance(exc, ModelHTTPError):
        return exc.status
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code
    status = getattr(exc, "status_code", None)
    # ollama.ResponseError carries status_code; -1 means an error reported inside a 200 stream.
    if type(exc).__name__ == "ResponseError" and isinstance(status, int) and status > 0:
        return status
    return None


def _short(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else f"{line[: limit - 3]}..."
