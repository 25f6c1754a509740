"""Profiles: which small model (SLM) and which escalation model (LLM) a run uses, and why.

- `embedded`: the Qwen2.5-Coder 0.5B and 1.5B GGUF files from PyPI, run by llama.cpp in-process.
- `ollama`: `qwen2.5-coder:1.5b` and `qwen2.5-coder:7b` on an Ollama server.
- `openai`: models on an OpenAI-compatible server, named in settings or on the command line.
- `evidence-only`: no models; the evidence graph alone.
- `auto`: Ollama if it answers and has both models, else embedded if installed, else evidence-only.

Settings come from `[tool.pipeline]` in the target's `pyproject.toml` or from `pipeline.toml`.
The target repository is untrusted, so its settings may not send code off this machine: a
non-loopback `ollama_host`, an `openai:` model or a `llamacpp:` file path in them is ignored
(with a warning) unless the settings are loaded with `trusted=True`.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from pipeline.models.spec import (
    ModelSpec,
    ModelSpecError,
    is_loopback_url,
    normalize_ollama_host,
    ollama_full_tag,
    options_from_settings,
    parse_spec,
)

log = logging.getLogger(__name__)

ProfileName = Literal["embedded", "ollama", "openai", "evidence-only"]
PROFILE_NAMES = ("auto", "embedded", "ollama", "openai", "evidence-only")

EMBEDDED_SLM = "llamacpp:embedded-0.5b"
EMBEDDED_LLM = "llamacpp:embedded-1.5b"
OLLAMA_SLM = "qwen2.5-coder:1.5b"
OLLAMA_LLM = "qwen2.5-coder:7b"
MAX_SETTINGS_BYTES = 1_000_000
_BACKEND_PROFILE: dict[str, ProfileName] = {"llamacpp": "embedded", "ollama": "ollama", "openai": "openai"}


class SettingsError(ModelSpecError):
    """Settings that cannot be read (invalid TOML, wrong types)."""


@dataclass(frozen=True)
class Profile:
    """The models a run uses; `reason` says in one sentence why these were chosen."""

    name: ProfileName
    slm: ModelSpec | None
    llm: ModelSpec | None
    reason: str


def resolve_profile(
    name: str | None = "auto",
    *,
    slm: str | ModelSpec | None = None,
    llm: str | ModelSpec | None = None,
    config: dict[str, Any] | None = None,
    probe_ollama: Callable[[str, float], Any] | None = None,
    embedded_installed: Callable[[], bool] | None = None,
) -> Profile:
    """Choose the SLM and LLM for a run.

    `name` None means the settings' `profile`, else "auto". `slm`/`llm` (the command line's
    --slm/--llm) win over any profile. `config` is a settings table (see `load_settings`):
    `profile`, `slm` and `llm`, `ollama_host`, `openai_base_url` and output settings. Each
    profile takes the `slm`/`llm` settings meant for its backend: Ollama tags (bare or
    `ollama:`) for ollama, `llamacpp:` specs for embedded, `openai:` specs (or bare model names
    with `openai_base_url`) for openai. `probe_ollama(base_url, timeout)` returns an object with
    `reachable`, `models` and `error` (default: `ollama_health`); `embedded_installed()` says
    whether the embedded models and llama.cpp are installed.
    """
    config = dict(config or {})
    if name is None:
        name = str(config.get("profile") or "auto")
    if name not in PROFILE_NAMES:
        raise ModelSpecError(f"Unknown profile {name!r}: expected one of {', '.join(PROFILE_NAMES)}.")
    options = options_from_settings(config)
    host = config.get("ollama_host")
    ollama_url = normalize_ollama_host(host) if host else None
    slm_override = _as_spec(slm, options, ollama_url)
    llm_override = _as_spec(llm, options, ollama_url)

    if name == "auto" and slm_override is not None and llm_override is not None:
        profile = Profile(
            _BACKEND_PROFILE[llm_override.backend],
            slm_override,
            llm_override,
            "models given on the command line",
        )
    elif name == "auto":
        profile = _auto(config, options, ollama_url, probe_ollama, embedded_installed)
    else:
        profile = _named(name, config, options, ollama_url, (slm_override, llm_override))
    return _apply_overrides(profile, slm_override, llm_override)


def _named(
    name: str,
    config: dict[str, Any],
    options: dict[str, Any],
    ollama_url: str | None,
    overrides: tuple[ModelSpec | None, ModelSpec | None],
) -> Profile:
    if name == "embedded":
        slm, llm = _embedded_specs(config, options)
        return Profile("embedded", slm, llm, "embedded profile chosen")
    if name == "ollama":
        slm, llm = _ollama_specs(config, options, ollama_url)
        return Profile("ollama", slm, llm, "ollama profile chosen")
    if name == "openai":
        return Profile("openai", *_openai_specs(config, options, overrides), "openai profile chosen")
    return Profile("evidence-only", None, None, "evidence-only profile chosen: no models")


def _auto(
    config: dict[str, Any],
    options: dict[str, Any],
    ollama_url: str | None,
    probe_ollama: Callable[[str, float], Any] | None,
    embedded_installed: Callable[[], bool] | None,
) -> Profile:
    slm, llm = _ollama_specs(config, options, ollama_url)
    url = slm.base_url or normalize_ollama_host(None)
    if probe_ollama is None:
        from pipeline.models.ollama import ollama_health

        probe_ollama = ollama_health
    status = probe_ollama(url, 3.0)
    if status.reachable:
        have = {ollama_full_tag(m) for m in status.models}
        missing = [tag for tag in (slm.name, llm.name) if ollama_full_tag(tag) not in have]
        if not missing:
            return Profile("ollama", slm, llm, f"Ollama at {url} answers and has {slm.name} and {llm.name}")
        why = f"Ollama at {url} lacks {' and '.join(missing)} (run `ollama pull {missing[0]}`)"
    else:
        why = f"Ollama not reachable at {url} ({status.error or 'no answer'})"
    if embedded_installed is None:
        embedded_installed = _embedded_installed
    if embedded_installed():
        embedded_slm, embedded_llm = _embedded_specs(config, options)
        return Profile("embedded", embedded_slm, embedded_llm, f"{why}; embedded models installed")
    return Profile(
        "evidence-only",
        None,
        None,
        f"{why}; embedded models not installed (pip install 'pipeline[embedded]'); running on evidence only",
    )


def _embedded_installed() -> bool:
    from pipeline.models.embedded import embedded_available
    from pipeline.models.llamacpp import llamacpp_available

    return llamacpp_available() and embedded_available("0.5b") and embedded_available("1.5b")


def _setting_for(config: dict[str, Any], key: str, backend: str) -> str | None:
    """The `slm`/`llm` setting if it is meant for `backend` (a bare name is an Ollama tag)."""
    value = str(config.get(key) or "")
    if not value:
        return None
    prefix = value.partition(":")[0]
    return value if (prefix if prefix in ("llamacpp", "openai", "ollama") else "ollama") == backend else None


def _ollama_specs(
    config: dict[str, Any], options: dict[str, Any], ollama_url: str | None
) -> tuple[ModelSpec, ModelSpec]:
    specs = []
    for key, default in (("slm", OLLAMA_SLM), ("llm", OLLAMA_LLM)):
        value = _setting_for(config, key, "ollama") or default
        if not value.startswith("ollama:"):
            value = f"ollama:{value}"
        specs.append(parse_spec(value, ollama_host=ollama_url, options=options))
    return specs[0], specs[1]


def _openai_specs(
    config: dict[str, Any], options: dict[str, Any], overrides: tuple[ModelSpec | None, ModelSpec | None]
) -> tuple[ModelSpec, ModelSpec]:
    base = config.get("openai_base_url")
    specs = []
    for key, override in zip(("slm", "llm"), overrides, strict=True):
        value = str(config.get(key) or "")
        if override is not None:
            specs.append(override)
        elif value.startswith("openai:"):
            specs.append(parse_spec(value, options=options))
        elif value and base and value.partition(":")[0] not in ("ollama", "llamacpp"):
            # A bare model name served at openai_base_url; it may contain ":" (Ollama-style tags).
            specs.append(parse_spec(f"openai:{value}@{base}", options=options))
        else:
            raise ModelSpecError(
                f"The openai profile needs {key} = 'openai:<model>@<base-url>' (or a model name and "
                f"openai_base_url) in settings, or --{key} on the command line."
            )
    return specs[0], specs[1]


def _embedded_specs(config: dict[str, Any], options: dict[str, Any]) -> tuple[ModelSpec, ModelSpec]:
    slm = _setting_for(config, "slm", "llamacpp") or EMBEDDED_SLM
    llm = _setting_for(config, "llm", "llamacpp") or EMBEDDED_LLM
    return parse_spec(slm, options=options), parse_spec(llm, options=options)


def _as_spec(
    value: str | ModelSpec | None, options: dict[str, Any], ollama_url: str | None
) -> ModelSpec | None:
    if value is None or isinstance(value, ModelSpec):
        return value
    return parse_spec(value, ollama_host=ollama_url, options=options)


def _apply_overrides(profile: Profile, slm: ModelSpec | None, llm: ModelSpec | None) -> Profile:
    if slm is None and llm is None:
        return profile
    new_slm = slm or profile.slm
    new_llm = llm or profile.llm
    given = " and ".join(flag for flag, spec in (("--slm", slm), ("--llm", llm)) if spec is not None)
    lead = new_llm or new_slm
    assert lead is not None
    # Overrides for both roles (or models where the profile had none) decide the profile's name.
    switched = profile.name == "evidence-only" or (slm is not None and llm is not None)
    name = _BACKEND_PROFILE[lead.backend] if switched else profile.name
    reason = (
        profile.reason
        if profile.reason == "models given on the command line"
        else f"{profile.reason}; {given} given"
    )
    return Profile(name, new_slm, new_llm, reason)


def load_settings(repo: Path, *, trusted: bool = False) -> dict[str, Any]:
    """The `[tool.pipeline]` table of `repo/pyproject.toml`, overlaid by `repo/pipeline.toml`.

    `pipeline.toml` may hold the settings at its top level or under `[tool.pipeline]`. The files
    are read as data only. Invalid TOML raises `SettingsError` naming the file and line. Unless
    `trusted`, settings that would send code to another machine or load an arbitrary file are
    dropped with a warning (see the module docstring).
    """
    repo = Path(repo)
    settings: dict[str, Any] = {}
    pyproject = _read_toml(repo / "pyproject.toml")
    if pyproject is not None:
        table = (
            pyproject.get("tool", {}).get("pipeline", {}) if isinstance(pyproject.get("tool"), dict) else {}
        )
        settings.update(_checked_table(table, repo / "pyproject.toml"))
    own = _read_toml(repo / "pipeline.toml")
    if own is not None:
        tool = own.get("tool")
        table = tool["pipeline"] if isinstance(tool, dict) and "pipeline" in tool else own
        settings.update(_checked_table(table, repo / "pipeline.toml"))
    return settings if trusted else _drop_unsafe(settings, repo)


def _read_toml(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            raise SettingsError(
                f"{path} is larger than {MAX_SETTINGS_BYTES} bytes; not reading it as settings."
            )
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Invalid TOML in {path}: {exc}.") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path} is not UTF-8 text; fix or remove it.") from None
    except OSError as exc:
        raise SettingsError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def _checked_table(table: Any, path: Path) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise SettingsError(f"[tool.pipeline] in {path} must be a table of settings.")
    for key in ("slm", "llm", "ollama_host", "openai_base_url", "profile"):
        if key in table and not isinstance(table[key], str):
            raise SettingsError(f"Setting {key} in {path} must be a string.")
    return dict(table)


def _drop_unsafe(settings: dict[str, Any], repo: Path) -> dict[str, Any]:
    kept = dict(settings)
    if "model_cache" in kept:
        log.warning(
            "Ignoring model_cache from %s: a target repository may not choose where files are written.", repo
        )
        del kept["model_cache"]
    for key in ("ollama_host", "openai_base_url"):
        value = kept.get(key)
        if value and not is_loopback_url(str(value)):
            log.warning(
                "Ignoring %s = %r from %s: the target repository may not send code to another machine; "
                "set it on the command line instead.",
                key,
                value,
                repo,
            )
            del kept[key]
    for key in ("slm", "llm"):
        value = str(kept.get(key) or "")
        backend = value.partition(":")[0]
        unsafe = (backend == "openai" and not is_loopback_url(value.partition("@")[2])) or (
            backend == "llamacpp"
            and value.removeprefix("llamacpp:") not in ("embedded-0.5b", "embedded-1.5b")
        )
        if unsafe:
            log.warning(
                "Ignoring %s = %r from %s: a target repository may name Ollama tags or embedded models only; "
                "pass it with --%s instead.",
                key,
                value,
                repo,
                key,
            )
            del kept[key]
    return kept


def build_chat_model(spec: ModelSpec, settings: dict[str, Any] | None = None) -> BaseChatModel:
    """The LangChain chat model for `spec`; backends are imported only when used.

    Settings used: `timeout_s` (default 120), `n_threads` (llama.cpp), `keep_alive` (Ollama),
    `model_cache` (folder for the embedded GGUF files).
    """
    settings = settings or {}
    timeout = float(settings.get("timeout_s", 120.0))
    if spec.backend == "ollama":
        from pipeline.models.ollama import make_ollama_chat

        return make_ollama_chat(spec, timeout=timeout, keep_alive=settings.get("keep_alive"))
    if spec.backend == "llamacpp":
        from pipeline.models.llamacpp import make_llamacpp_chat

        cache = settings.get("model_cache")
        return make_llamacpp_chat(
            spec, n_threads=settings.get("n_threads"), cache_dir=Path(cache).expanduser() if cache else None
        )
    if spec.backend == "openai":
        from pipeline.models.openai_compat import make_openai_chat

        return make_openai_chat(spec, timeout=timeout)
    raise ModelSpecError(f"Unknown backend {spec.backend!r} in {spec}.")
