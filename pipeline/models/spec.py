"""Model specs: the text a user writes to name a model (`ollama:qwen2.5-coder:1.5b`), parsed.

Accepted forms:

- `ollama:<tag>`: a model served by Ollama; the server comes from an explicit host, else the
  `OLLAMA_HOST` environment variable, else `http://127.0.0.1:11434`.
- `llamacpp:<file.gguf>`: a local GGUF file run in-process by llama.cpp.
- `llamacpp:embedded-0.5b`, `llamacpp:embedded-1.5b`: the Qwen2.5-Coder GGUF files shipped as
  PyPI part packages (see `pipeline.models.embedded`).
- `openai:<model>@<base_url>`: any OpenAI-compatible chat-completions server; the API key is
  read from `PIPELINE_OPENAI_API_KEY` or `OPENAI_API_KEY` when the client is built and is never
  stored in a spec.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

Backend = Literal["ollama", "llamacpp", "openai"]

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
OLLAMA_DEFAULT_PORT = 11434
EMBEDDED_NAMES = ("embedded-0.5b", "embedded-1.5b")
API_KEY_ENV_VARS = ("PIPELINE_OPENAI_API_KEY", "OPENAI_API_KEY")

# Settings that change what a model writes; they belong in every cache key.
OUTPUT_OPTIONS = ("temperature", "max_tokens", "seed", "num_ctx")
DEFAULT_OPTIONS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024, "seed": 42, "num_ctx": 4096}

ACCEPTED_FORMS = (
    "ollama:<tag>, llamacpp:<file.gguf>, llamacpp:embedded-0.5b, llamacpp:embedded-1.5b "
    "or openai:<model>@<http(s)://base-url>"
)


class ModelError(Exception):
    """Base class of the errors the model layer raises; the message is one line for the user."""


class ModelSpecError(ModelError, ValueError):
    """A model spec or model setting that cannot be used as written."""


class ModelBackendUnreachable(ModelError):
    """A model server did not answer."""


class ModelNotFound(ModelError):
    """A model server answered but does not have the requested model."""


class ModelBackendMissing(ModelError):
    """The Python package a backend needs is not installed."""


class ModelHTTPError(ModelError):
    """A model server answered with an HTTP error status."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status} {message}".strip())
        self.status = status


@dataclass(frozen=True)
class ModelSpec:
    """One model: which backend runs it, its name there, and the settings that shape its output.

    `name` is the Ollama tag, the OpenAI-compatible model name, `embedded-0.5b`/`embedded-1.5b`,
    or the GGUF file name; `path` is the absolute GGUF path of a `llamacpp:<file.gguf>` spec.
    """

    backend: Backend
    name: str
    base_url: str | None = None
    path: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        if self.backend == "openai":
            return f"openai:{self.name}@{self.base_url}"
        if self.backend == "llamacpp" and self.path is not None:
            return f"llamacpp:{self.path}"
        return f"{self.backend}:{self.name}"

    @property
    def is_embedded(self) -> bool:
        """True for the two embedded Qwen2.5-Coder models."""
        return self.backend == "llamacpp" and self.name in EMBEDDED_NAMES

    def option(self, key: str) -> Any:
        """The value of an output setting, falling back to the project default."""
        return self.options.get(key, DEFAULT_OPTIONS.get(key))

    def with_options(self, **options: Any) -> ModelSpec:
        """A copy with some output settings replaced (`None` values are ignored)."""
        merged = {**self.options, **{k: v for k, v in options.items() if v is not None}}
        return dataclasses.replace(self, options=merged)

    def cache_key(self) -> str:
        """A stable string naming this model and every setting that changes its output."""
        settings = {key: self.option(key) for key in OUTPUT_OPTIONS}
        return f"{self}|{json.dumps(settings, sort_keys=True, separators=(',', ':'))}"


def parse_spec(
    text: str, *, ollama_host: str | None = None, options: dict[str, Any] | None = None
) -> ModelSpec:
    """Parse a model spec such as `ollama:qwen2.5-coder:1.5b`; raise `ModelSpecError` if it is not one.

    `ollama_host` wins over the `OLLAMA_HOST` environment variable; `options` sets output settings
    (temperature, max_tokens, seed, num_ctx) on top of the defaults.
    """
    if not isinstance(text, str):
        raise ModelSpecError(f"A model spec must be text: expected {ACCEPTED_FORMS}.")
    raw = text.strip()
    backend, sep, rest = raw.partition(":")
    rest = rest.strip()
    opts = {**DEFAULT_OPTIONS, **_checked_options(options or {})}
    # Paths may contain spaces; no other form may.
    if not sep or not rest or (backend != "llamacpp" and any(ch.isspace() for ch in rest)):
        raise ModelSpecError(f"Unknown model spec {text!r}: expected {ACCEPTED_FORMS}.")
    if backend == "ollama":
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/+-]*", rest):
            raise ModelSpecError(
                f"Bad Ollama model tag in {text!r}: expected ollama:<tag>, e.g. ollama:qwen2.5-coder:7b."
            )
        host = ollama_host if ollama_host is not None else os.environ.get("OLLAMA_HOST", "")
        return ModelSpec("ollama", rest, base_url=normalize_ollama_host(host), options=opts)
    if backend == "llamacpp":
        if rest in EMBEDDED_NAMES:
            return ModelSpec("llamacpp", rest, options=opts)
        if not rest.lower().endswith(".gguf"):
            raise ModelSpecError(
                f"Bad llama.cpp model in {text!r}: expected llamacpp:<file.gguf>, "
                "llamacpp:embedded-0.5b or llamacpp:embedded-1.5b."
            )
        path = Path(rest).expanduser().resolve()
        return ModelSpec("llamacpp", path.name, path=str(path), options=opts)
    if backend == "openai":
        match = re.fullmatch(r"(?P<model>[^@\s]+)@(?P<url>https?://\S+)", rest)
        if not match:
            raise ModelSpecError(
                f"Bad OpenAI-compatible model in {text!r}: expected openai:<model>@<http(s)://base-url>, "
                "e.g. openai:qwen2.5-coder@http://127.0.0.1:8000/v1."
            )
        return ModelSpec(
            "openai", match["model"], base_url=_normalize_http_url(match["url"], text), options=opts
        )
    raise ModelSpecError(f"Unknown model spec {text!r}: expected {ACCEPTED_FORMS}.")


def normalize_ollama_host(value: str | None) -> str:
    """Turn an `OLLAMA_HOST` value (`0.0.0.0:11434`, `host`, `:8080`, `http://host:port`) into a URL.

    A bind-all address (`0.0.0.0`, `::`) is what the server listens on, not a place to connect
    to, so it becomes the loopback address.
    """
    host = (value or "").strip().rstrip("/")
    if not host:
        return DEFAULT_OLLAMA_URL
    has_scheme = "://" in host
    parts = urlsplit(host if has_scheme else f"http://{host}")
    if parts.scheme not in ("http", "https") or parts.query or parts.fragment:
        raise ModelSpecError(f"Bad Ollama host {value!r}: expected host, host:port or http(s)://host:port.")
    try:
        port = parts.port
        hostname = parts.hostname or "127.0.0.1"
    except ValueError:
        raise ModelSpecError(
            f"Bad Ollama host {value!r}: expected host, host:port or http(s)://host:port."
        ) from None
    if any(ch.isspace() for ch in host):
        raise ModelSpecError(f"Bad Ollama host {value!r}: expected host, host:port or http(s)://host:port.")
    if hostname in ("0.0.0.0", ""):
        hostname = "127.0.0.1"
    elif hostname == "::":
        hostname = "::1"
    if port is None and not has_scheme:
        port = OLLAMA_DEFAULT_PORT
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None:
        netloc = f"{netloc}:{port}"
    if "@" in parts.netloc:  # keep user:password@ for servers behind basic auth
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def is_loopback_url(url: str) -> bool:
    """True when a URL points at this machine (so sending source code there keeps it local)."""
    try:
        host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    except ValueError:
        return False
    if host in ("localhost", "0.0.0.0", "::"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ollama_full_tag(tag: str) -> str:
    """An Ollama tag with its implicit `:latest` made explicit, for comparing tags."""
    return tag if ":" in tag.rsplit("/", 1)[-1] else f"{tag}:latest"


def openai_api_key() -> str | None:
    """The API key for OpenAI-compatible servers, from the environment (None when unset)."""
    for var in API_KEY_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return None


def options_from_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The output settings (temperature, max_tokens, seed, num_ctx) present in a settings table."""
    return _checked_options({key: settings[key] for key in OUTPUT_OPTIONS if key in settings})


def _checked_options(options: dict[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key == "temperature":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
                raise ModelSpecError(f"Bad temperature {value!r}: expected a number from 0 to 2.")
            checked[key] = float(value)
        elif key in ("max_tokens", "num_ctx", "seed"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ModelSpecError(f"Bad {key} {value!r}: expected a whole number of 0 or more.")
            checked[key] = value
        else:
            checked[key] = value
    return checked


def _normalize_http_url(url: str, spec_text: str) -> str:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelSpecError(f"Bad base URL in {spec_text!r}: expected http(s)://host[:port][/path].")
    return url.rstrip("/")
