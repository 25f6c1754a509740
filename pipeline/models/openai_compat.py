"""A thin chat model for OpenAI-compatible servers (vLLM, llama.cpp server, LM Studio, hosted APIs).

It speaks `/chat/completions` over httpx directly: no tokenizer downloads at run time, a JSON
schema per call as `response_format={"type": "json_schema", ...}`, usage tokens from the answer.
The API key is held as a pydantic `SecretStr`, so it never shows in a repr, a log or an error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr, SecretStr

from pipeline.models.spec import ModelError, ModelHTTPError, ModelSpec, ModelSpecError, openai_api_key

CONNECT_TIMEOUT_S = 5.0
_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool", "chat": "user"}


class ModelResponseError(ModelError):
    """A server answered 200 but not with a chat completion."""


def chat_completions_url(base_url: str) -> str:
    """The chat-completions endpoint for a base URL: a bare host gets `/v1`, a URL with a path
    (`.../v1`, `.../openai/v1beta`) is used as given."""
    base = base_url.rstrip("/")
    if urlsplit(base).path in ("", "/"):
        base = f"{base}/v1"
    return f"{base}/chat/completions"


class OpenAICompatibleChatModel(BaseChatModel):
    """Chat model for any server that implements OpenAI's `/v1/chat/completions`.

    Pass a JSON schema per call with `invoke(messages, response_format={"type": "json_schema",
    "json_schema": {"name": "answer", "schema": schema}})` or bind it with `.bind(...)`; a
    per-call `timeout` (seconds) overrides the model's.
    """

    model: str
    base_url: str
    api_key: SecretStr | None = None
    timeout: float = 120.0
    temperature: float = 0.0
    seed: int | None = 42
    max_tokens: int = 1024

    _client: httpx.Client | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
        }

    def _http(self) -> httpx.Client:
        if self._client is None:
            headers = {"Content-Type": "application/json"}
            if self.api_key is not None and self.api_key.get_secret_value():
                headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
            self._client = httpx.Client(headers=headers)
        return self._client

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        timeout = float(kwargs.pop("timeout", None) or self.timeout)
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [message_to_chat_dict(m) for m in messages],
            "temperature": float(kwargs.pop("temperature", self.temperature)),
            "max_tokens": int(kwargs.pop("max_tokens", self.max_tokens)),
            "stream": False,
        }
        seed = kwargs.pop("seed", self.seed)
        if seed is not None:
            payload["seed"] = int(seed)
        if stop:
            payload["stop"] = stop
        response_format = _openai_response_format(kwargs.pop("response_format", None))
        if response_format is not None:
            payload["response_format"] = response_format
        response = self._http().post(
            chat_completions_url(self.base_url),
            json=payload,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
        )
        if response.status_code >= 400:
            raise ModelHTTPError(response.status_code, _error_text(response))
        try:
            body = response.json()
            choice = body["choices"][0]
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise ModelResponseError(
                f"{chat_completions_url(self.base_url)} did not answer with a chat completion"
            ) from None
        usage = body.get("usage") or {}
        metadata: dict[str, Any] = {
            "model_name": body.get("model") or self.model,
            "finish_reason": choice.get("finish_reason"),
        }
        message = AIMessage(content=content, response_metadata=metadata)
        if usage.get("prompt_tokens") is not None or usage.get("completion_tokens") is not None:
            tokens_in = int(usage.get("prompt_tokens") or 0)
            tokens_out = int(usage.get("completion_tokens") or 0)
            message.usage_metadata = {
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": int(usage.get("total_tokens") or tokens_in + tokens_out),
            }
        return ChatResult(generations=[ChatGeneration(message=message)])


def make_openai_chat(spec: ModelSpec, *, timeout: float = 120.0) -> OpenAICompatibleChatModel:
    """A chat model for an `openai:<model>@<base_url>` spec; the key comes from the environment."""
    if spec.backend != "openai" or not spec.base_url:
        raise ModelSpecError(f"{spec} is not an openai:<model>@<base_url> spec.")
    key = openai_api_key()
    return OpenAICompatibleChatModel(
        model=spec.name,
        base_url=spec.base_url,
        api_key=SecretStr(key) if key else None,
        timeout=timeout,
        temperature=float(spec.option("temperature")),
        seed=spec.option("seed"),
        max_tokens=int(spec.option("max_tokens")),
    )


def message_to_chat_dict(message: BaseMessage) -> dict[str, Any]:
    """A LangChain message as an OpenAI-style `{"role", "content"}` dict (text parts only)."""
    content = message.content
    if not isinstance(content, str):
        content = "".join(
            part if isinstance(part, str) else str(part.get("text", ""))
            for part in content
            if isinstance(part, str) or part.get("type") == "text"
        )
    return {"role": _ROLES.get(message.type, "user"), "content": content}


def _openai_response_format(value: Any) -> dict[str, Any] | None:
    """OpenAI's `json_schema` response format from either that or llama.cpp's `json_object` form."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise ModelSpecError(f"response_format must be a dict, not {type(value).__name__}.")
    if value.get("type") == "json_object" and "schema" in value:
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": value["schema"]}}
    return value


def _error_text(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:200]
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error or payload)[:200]
