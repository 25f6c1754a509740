"""Ollama: chat models through langchain-ollama, and health checks over Ollama's HTTP API.

Ollama is the primary backend for users who run it; `ollama_health` asks `/api/tags` which
models a server has, `ensure_model_present` asks `/api/show` about one model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from pipeline.models.spec import (
    DEFAULT_OLLAMA_URL,
    ModelBackendUnreachable,
    ModelNotFound,
    ModelSpec,
    ModelSpecError,
    normalize_ollama_host,
    ollama_full_tag,
)

if TYPE_CHECKING:
    from langchain_ollama import ChatOllama

CONNECT_TIMEOUT_S = 5.0


@dataclass
class OllamaStatus:
    """What an Ollama server said when asked for its models."""

    reachable: bool
    models: list[str] = field(default_factory=list)
    error: str | None = None
    base_url: str = DEFAULT_OLLAMA_URL

    def has_model(self, tag: str) -> bool:
        """True if the server lists `tag` (a bare name means its `:latest` tag, as in Ollama)."""
        wanted = ollama_full_tag(tag)
        return any(ollama_full_tag(name) == wanted for name in self.models)


def make_ollama_chat(
    spec: ModelSpec,
    *,
    timeout: float = 120.0,
    num_ctx: int | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    keep_alive: str | int | None = None,
) -> ChatOllama:
    """A `ChatOllama` for an `ollama:` spec: temperature 0 and a fixed seed unless the spec says
    otherwise; the JSON schema is passed per call as `format=schema`."""
    from langchain_ollama import ChatOllama

    if spec.backend != "ollama":
        raise ModelSpecError(f"{spec} is not an ollama: spec.")
    timeout_cfg = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S))
    return ChatOllama(
        model=spec.name,
        base_url=spec.base_url or DEFAULT_OLLAMA_URL,
        temperature=temperature if temperature is not None else spec.option("temperature"),
        seed=seed if seed is not None else spec.option("seed"),
        num_ctx=num_ctx if num_ctx is not None else spec.option("num_ctx"),
        num_predict=max_tokens if max_tokens is not None else spec.option("max_tokens"),
        keep_alive=keep_alive,
        client_kwargs={"timeout": timeout_cfg},
    )


def ollama_health(base_url: str | None = None, timeout: float = 3.0) -> OllamaStatus:
    """Ask an Ollama server for its models via `/api/tags`; never raises."""
    try:
        url = normalize_ollama_host(base_url)
    except ModelSpecError as exc:
        return OllamaStatus(reachable=False, error=str(exc), base_url=str(base_url))
    try:
        response = httpx.get(f"{url}/api/tags", timeout=timeout)
    except httpx.HTTPError as exc:
        return OllamaStatus(reachable=False, error=_describe_transport_error(exc), base_url=url)
    if response.status_code != 200:
        return OllamaStatus(
            reachable=False, error=f"HTTP {response.status_code} {_error_text(response)}", base_url=url
        )
    try:
        payload = response.json()
        models = [str(item.get("name") or item.get("model")) for item in payload.get("models") or []]
    except (ValueError, AttributeError, TypeError):
        return OllamaStatus(
            reachable=False, error="/api/tags did not answer with Ollama's JSON", base_url=url
        )
    return OllamaStatus(reachable=True, models=sorted(models), base_url=url)


def ensure_model_present(base_url: str | None, model: str, timeout: float = 5.0) -> None:
    """Raise `ModelBackendUnreachable` or `ModelNotFound` (one line each) unless the server has `model`."""
    url = normalize_ollama_host(base_url)
    try:
        response = httpx.post(f"{url}/api/show", json={"model": model}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ModelBackendUnreachable(unreachable_message(url, _describe_transport_error(exc))) from None
    if response.status_code == 404:
        raise ModelNotFound(
            f"Ollama at {url} has no model {model!r}: run `ollama pull {model}` or choose another model."
        )
    if response.status_code != 200:
        raise ModelBackendUnreachable(
            unreachable_message(url, f"HTTP {response.status_code} {_error_text(response)}")
        )


def unreachable_message(base_url: str, reason: str) -> str:
    """The one line shown when an Ollama server does not answer."""
    return (
        f"Ollama at {base_url} is not reachable: {reason}. "
        "Start it with `ollama serve` or choose --profile embedded."
    )


def _error_text(response: httpx.Response) -> str:
    try:
        payload: Any = response.json()
        if isinstance(payload, dict) and payload.get("error"):
            return str(payload["error"])[:200]
    except ValueError:
        pass
    return response.text.strip()[:200]


def _describe_transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused" if "refused" in str(exc).lower() else f"cannot connect ({exc})"
    return f"{type(exc).__name__}: {exc}"
