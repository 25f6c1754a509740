"""Model specs, OLLAMA_HOST forms, API-key hygiene, profiles and settings."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from pipeline.models import (
    ModelSpecError,
    SettingsError,
    build_chat_model,
    load_settings,
    parse_spec,
    resolve_profile,
)
from pipeline.models.ollama import OllamaStatus
from pipeline.models.openai_compat import OpenAICompatibleChatModel
from pipeline.models.spec import ModelSpec, is_loopback_url, normalize_ollama_host

SECRET = "sk-test-Zq81x0-secret-value"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("OLLAMA_HOST", "PIPELINE_OPENAI_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


# -- parsing -----------------------------------------------------------------------------------


def test_ollama_spec_keeps_the_tag_with_its_colon_and_uses_the_default_host():
    spec = parse_spec("ollama:qwen2.5-coder:1.5b")
    assert (spec.backend, spec.name, spec.base_url) == (
        "ollama",
        "qwen2.5-coder:1.5b",
        "http://127.0.0.1:11434",
    )
    assert str(spec) == "ollama:qwen2.5-coder:1.5b"
    assert parse_spec("ollama:library/qwen3:4b").name == "library/qwen3:4b"


def test_llamacpp_specs_embedded_and_file(tmp_path):
    embedded = parse_spec("llamacpp:embedded-1.5b")
    assert embedded.is_embedded and embedded.path is None and str(embedded) == "llamacpp:embedded-1.5b"
    gguf = tmp_path / "dir with space" / "m.GGUF"
    spec = parse_spec(f"llamacpp:{gguf}")
    assert spec.path == str(gguf.resolve()) and spec.name == "m.GGUF" and not spec.is_embedded
    assert str(spec) == f"llamacpp:{gguf.resolve()}"


def test_llamacpp_home_path_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_spec("llamacpp:~/models/x.gguf").path == str(tmp_path / "models" / "x.gguf")


def test_openai_spec_splits_model_and_base_url():
    spec = parse_spec("openai:qwen2.5-coder-7b@https://llm.example.org/v1/")
    assert (spec.backend, spec.name, spec.base_url) == (
        "openai",
        "qwen2.5-coder-7b",
        "https://llm.example.org/v1",
    )
    assert str(spec) == "openai:qwen2.5-coder-7b@https://llm.example.org/v1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "qwen2.5-coder:1.5b",
        "ollama:",
        "ollama:has space",
        "ollama:-dash-first",
        "llamacpp:model.bin",
        "llamacpp:embedded-3b",
        "openai:gpt-4o",
        "openai:gpt-4o@ftp://host",
        "openai:@http://host",
        "openai:m@http://host:notaport",
        "huggingface:qwen",
    ],
)
def test_bad_specs_raise_one_clear_sentence(text):
    with pytest.raises(ModelSpecError) as err:
        parse_spec(text)
    message = str(err.value)
    assert "\n" not in message and message.endswith(".")
    assert "expected" in message


def test_unknown_backend_message_lists_every_accepted_form():
    with pytest.raises(ModelSpecError) as err:
        parse_spec("gguf:foo")
    for form in ("ollama:<tag>", "llamacpp:<file.gguf>", "llamacpp:embedded-0.5b", "openai:<model>@"):
        assert form in str(err.value)


def test_bad_output_options_are_refused():
    with pytest.raises(ModelSpecError, match="temperature"):
        parse_spec("ollama:x", options={"temperature": "hot"})
    with pytest.raises(ModelSpecError, match="max_tokens"):
        parse_spec("ollama:x", options={"max_tokens": -1})


# -- OLLAMA_HOST -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0:11434", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("gpu-box:9000", "http://gpu-box:9000"),
        (":8080", "http://127.0.0.1:8080"),
        ("http://gpu-box:9000/", "http://gpu-box:9000"),
        ("https://ollama.example.org", "https://ollama.example.org"),
        ("http://[::]:11434", "http://[::1]:11434"),
        ("[fe80::1]:9000", "http://[fe80::1]:9000"),
        ("http://host:11434/proxy/ollama", "http://host:11434/proxy/ollama"),
        ("https://me:pw@ollama.example.org", "https://me:pw@ollama.example.org"),
    ],
)
def test_ollama_host_forms(value, url):
    assert normalize_ollama_host(value) == url


@pytest.mark.parametrize("value", ["http://host:port", "ftp://host", "host name", "http://host?x=1"])
def test_bad_ollama_host_is_refused(value):
    with pytest.raises(ModelSpecError, match="Ollama host"):
        normalize_ollama_host(value)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434", True),
        ("127.0.0.2:1", True),
        ("localhost", True),
        ("http://[::1]:8000/v1", True),
        ("0.0.0.0:11434", True),
        ("http://127.evil.example.com", False),
        ("https://api.example.com/v1", False),
        ("10.0.0.5:11434", False),
    ],
)
def test_loopback_detection(url, local):
    assert is_loopback_url(url) is local


def test_ollama_host_env_and_explicit_host(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:12345")
    assert parse_spec("ollama:m").base_url == "http://127.0.0.1:12345"
    assert parse_spec("ollama:m", ollama_host="http://other:1").base_url == "http://other:1"


# -- API key hygiene ---------------------------------------------------------------------------


def test_api_key_is_never_in_a_spec_or_a_model_repr(monkeypatch):
    monkeypatch.setenv("PIPELINE_OPENAI_API_KEY", SECRET)
    spec = parse_spec("openai:m@http://127.0.0.1:8000/v1")
    model = build_chat_model(spec, {})
    assert isinstance(model, OpenAICompatibleChatModel)
    assert model.api_key is not None and model.api_key.get_secret_value() == SECRET
    for text in (
        str(spec),
        repr(spec),
        spec.cache_key(),
        repr(dataclasses.asdict(spec)),
        str(model),
        repr(model),
    ):
        assert SECRET not in text
    assert SECRET not in repr(model.model_dump())


def test_openai_key_falls_back_to_openai_api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    model = build_chat_model(parse_spec("openai:m@http://127.0.0.1:8000"), {})
    assert model.api_key.get_secret_value() == "sk-fallback"
    monkeypatch.setenv("PIPELINE_OPENAI_API_KEY", "sk-preferred")
    model = build_chat_model(parse_spec("openai:m@http://127.0.0.1:8000"), {})
    assert model.api_key.get_secret_value() == "sk-preferred"


# -- cache keys --------------------------------------------------------------------------------


def test_cache_key_changes_with_every_output_setting_and_nothing_else(monkeypatch):
    base = parse_spec("ollama:qwen2.5-coder:1.5b")
    assert base.cache_key() == parse_spec("ollama:qwen2.5-coder:1.5b").cache_key()
    keys = {
        base.cache_key(),
        base.with_options(temperature=0.7).cache_key(),
        base.with_options(max_tokens=64).cache_key(),
        base.with_options(seed=7).cache_key(),
        base.with_options(num_ctx=8192).cache_key(),
        parse_spec("ollama:qwen2.5-coder:7b").cache_key(),
    }
    assert len(keys) == 6
    # Where the same model is served does not change what it writes.
    assert (
        parse_spec("ollama:qwen2.5-coder:1.5b", ollama_host="http://other:1").cache_key() == base.cache_key()
    )
    assert "qwen2.5-coder:1.5b" in base.cache_key()


def test_spec_is_hashable_and_frozen():
    spec = parse_spec("llamacpp:embedded-0.5b")
    assert {spec: 1}[parse_spec("llamacpp:embedded-0.5b")] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]


# -- profiles ----------------------------------------------------------------------------------


def _probe(reachable: bool, models: list[str] = (), error: str | None = None):
    calls = []

    def probe(url: str, timeout: float) -> OllamaStatus:
        calls.append(url)
        return OllamaStatus(reachable=reachable, models=list(models), error=error, base_url=url)

    probe.calls = calls
    return probe


def test_named_profiles():
    embedded = resolve_profile("embedded")
    assert (str(embedded.slm), str(embedded.llm)) == ("llamacpp:embedded-0.5b", "llamacpp:embedded-1.5b")
    ollama = resolve_profile("ollama")
    assert (str(ollama.slm), str(ollama.llm)) == ("ollama:qwen2.5-coder:1.5b", "ollama:qwen2.5-coder:7b")
    none = resolve_profile("evidence-only")
    assert (none.name, none.slm, none.llm) == ("evidence-only", None, None)


def test_ollama_profile_config_overrides_models_host_and_options():
    profile = resolve_profile(
        "ollama",
        config={"slm": "qwen3:4b", "llm": "ollama:qwen2.5-coder:14b", "ollama_host": "gpu:1", "seed": 7},
    )
    assert profile.slm.name == "qwen3:4b" and profile.llm.name == "qwen2.5-coder:14b"
    assert profile.slm.base_url == profile.llm.base_url == "http://gpu:1"
    assert profile.slm.option("seed") == 7


def test_auto_prefers_ollama_when_it_has_both_models():
    probe = _probe(True, ["qwen2.5-coder:1.5b", "qwen2.5-coder:7b", "other:latest"])
    profile = resolve_profile("auto", probe_ollama=probe, embedded_installed=lambda: True)
    assert profile.name == "ollama"
    assert "has qwen2.5-coder:1.5b and qwen2.5-coder:7b" in profile.reason
    assert probe.calls == ["http://127.0.0.1:11434"]


def test_auto_falls_back_to_embedded_when_ollama_lacks_a_model():
    probe = _probe(True, ["qwen2.5-coder:1.5b"])
    profile = resolve_profile("auto", probe_ollama=probe, embedded_installed=lambda: True)
    assert profile.name == "embedded"
    assert "lacks qwen2.5-coder:7b" in profile.reason and "embedded models installed" in profile.reason


def test_auto_falls_back_to_embedded_when_ollama_is_unreachable():
    probe = _probe(False, error="connection refused")
    profile = resolve_profile("auto", probe_ollama=probe, embedded_installed=lambda: True)
    assert profile.name == "embedded" and profile.slm.is_embedded
    assert profile.reason == (
        "Ollama not reachable at http://127.0.0.1:11434 (connection refused); embedded models installed"
    )


def test_auto_ends_in_evidence_only_without_any_model():
    profile = resolve_profile(
        "auto", probe_ollama=_probe(False, error="refused"), embedded_installed=lambda: False
    )
    assert (profile.name, profile.slm, profile.llm) == ("evidence-only", None, None)
    assert "pip install 'pipeline[embedded]'" in profile.reason


def test_auto_probes_the_configured_host():
    probe = _probe(False, error="x")
    resolve_profile(
        "auto", config={"ollama_host": "0.0.0.0:9999"}, probe_ollama=probe, embedded_installed=lambda: False
    )
    assert probe.calls == ["http://127.0.0.1:9999"]


def test_command_line_models_win_over_any_profile():
    profile = resolve_profile("ollama", llm="llamacpp:embedded-1.5b")
    assert profile.name == "ollama" and str(profile.llm) == "llamacpp:embedded-1.5b"
    assert str(profile.slm) == "ollama:qwen2.5-coder:1.5b" and "--llm given" in profile.reason

    probe = _probe(True, ["qwen2.5-coder:1.5b", "qwen2.5-coder:7b"])
    both = resolve_profile("auto", slm="ollama:a", llm="ollama:b", probe_ollama=probe)
    assert both.name == "ollama" and (both.slm.name, both.llm.name) == ("a", "b")
    assert probe.calls == []  # nothing to decide, so nothing is probed

    from_nothing = resolve_profile("evidence-only", slm="llamacpp:embedded-0.5b")
    assert from_nothing.name == "embedded" and from_nothing.llm is None


def test_openai_profile_needs_models():
    with pytest.raises(ModelSpecError, match="openai profile needs slm"):
        resolve_profile("openai")
    profile = resolve_profile(
        "openai", config={"slm": "small", "llm": "big", "openai_base_url": "http://127.0.0.1:1/v1"}
    )
    assert str(profile.slm) == "openai:small@http://127.0.0.1:1/v1" and profile.llm.name == "big"


def test_openai_profile_from_the_command_line_alone_and_colon_model_names():
    profile = resolve_profile("openai", slm="openai:a@http://127.0.0.1:1", llm="openai:b@http://127.0.0.1:1")
    assert (profile.name, profile.slm.name, profile.llm.name) == ("openai", "a", "b")
    served = resolve_profile(
        "openai",
        config={"slm": "qwen2.5-coder:1.5b", "llm": "qwen2.5-coder:7b", "openai_base_url": "http://h:1/v1"},
    )
    assert str(served.llm) == "openai:qwen2.5-coder:7b@http://h:1/v1"
    with pytest.raises(ModelSpecError, match="openai profile needs llm"):
        resolve_profile(
            "openai", config={"slm": "a", "llm": "llamacpp:embedded-1.5b", "openai_base_url": "http://h:1"}
        )


def test_each_profile_takes_the_settings_for_its_backend(tmp_path):
    gguf = tmp_path / "mine.gguf"
    config = {"slm": f"llamacpp:{gguf}", "llm": "qwen2.5-coder:14b"}
    embedded = resolve_profile("embedded", config=config)
    assert embedded.slm.path == str(gguf) and str(embedded.llm) == "llamacpp:embedded-1.5b"
    ollama = resolve_profile("ollama", config=config)
    assert (ollama.slm.name, ollama.llm.name) == ("qwen2.5-coder:1.5b", "qwen2.5-coder:14b")


def test_no_profile_name_means_the_settings_profile_else_auto():
    assert resolve_profile(None, config={"profile": "evidence-only"}).name == "evidence-only"
    probe = _probe(False, error="refused")
    assert resolve_profile(None, probe_ollama=probe, embedded_installed=lambda: True).name == "embedded"
    assert probe.calls


def test_unknown_profile_is_refused():
    with pytest.raises(ModelSpecError, match="Unknown profile 'fast'"):
        resolve_profile("fast")


# -- settings ----------------------------------------------------------------------------------


def test_settings_from_pyproject_overlaid_by_pipeline_toml(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n'
        '[tool.pipeline]\nslm = "qwen3:4b"\nllm = "qwen2.5-coder:7b"\ntemperature = 0.2\n'
    )
    assert load_settings(tmp_path) == {"slm": "qwen3:4b", "llm": "qwen2.5-coder:7b", "temperature": 0.2}
    (tmp_path / "pipeline.toml").write_text('llm = "qwen2.5-coder:14b"\nseed = 3\n')
    assert load_settings(tmp_path) == {
        "slm": "qwen3:4b",
        "llm": "qwen2.5-coder:14b",
        "temperature": 0.2,
        "seed": 3,
    }


def test_settings_missing_files_give_an_empty_table(tmp_path):
    assert load_settings(tmp_path) == {}
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(tmp_path) == {}


def test_invalid_toml_is_one_clear_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.pipeline\nslm = 1\n")
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    assert str(err.value).startswith(f"Invalid TOML in {tmp_path / 'pyproject.toml'}")
    assert "line 1" in str(err.value)


def test_settings_with_wrong_types_are_refused(tmp_path):
    (tmp_path / "pipeline.toml").write_text("slm = 3\n")
    with pytest.raises(SettingsError, match="slm"):
        load_settings(tmp_path)


def test_untrusted_settings_cannot_send_code_elsewhere(tmp_path, caplog):
    (tmp_path / "pipeline.toml").write_text(
        'ollama_host = "http://collector.example.com:11434"\n'
        'llm = "openai:gpt@https://collector.example.com/v1"\n'
        'slm = "llamacpp:/tmp/evil.gguf"\n'
        'model_cache = "/etc"\n'
        "num_ctx = 8192\n"
    )
    with caplog.at_level(logging.WARNING, logger="pipeline.models.profiles"):
        settings = load_settings(tmp_path)
    assert settings == {"num_ctx": 8192}
    assert caplog.text.count("Ignoring") == 4
    assert load_settings(tmp_path, trusted=True)["ollama_host"] == "http://collector.example.com:11434"


def test_untrusted_settings_may_name_local_servers_and_ollama_tags(tmp_path):
    (tmp_path / "pipeline.toml").write_text(
        'ollama_host = "127.0.0.1:11500"\nslm = "ollama:qwen3:4b"\nllm = "llamacpp:embedded-1.5b"\n'
    )
    assert load_settings(tmp_path) == {
        "ollama_host": "127.0.0.1:11500",
        "slm": "ollama:qwen3:4b",
        "llm": "llamacpp:embedded-1.5b",
    }


# -- building chat models ----------------------------------------------------------------------


def test_build_ollama_chat_model_carries_the_spec():
    from langchain_ollama import ChatOllama

    spec = parse_spec(
        "ollama:qwen2.5-coder:1.5b", ollama_host="http://127.0.0.1:1", options={"num_ctx": 2048}
    )
    model = build_chat_model(spec, {"timeout_s": 9})
    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url, model.temperature, model.seed, model.num_ctx, model.num_predict) == (
        "qwen2.5-coder:1.5b",
        "http://127.0.0.1:1",
        0.0,
        42,
        2048,
        1024,
    )
    assert model.client_kwargs["timeout"].read == 9


def test_build_llamacpp_with_a_missing_file_says_so(tmp_path):
    from pipeline.models import llamacpp

    if not llamacpp.llamacpp_available():
        pytest.fail("llama-cpp-python is not installed: pip install -e '.[embedded]'")
    with pytest.raises(ModelSpecError, match=r"GGUF file .*missing\.gguf does not exist"):
        build_chat_model(parse_spec(f"llamacpp:{tmp_path / 'missing.gguf'}"), {})


def test_build_llamacpp_without_llama_cpp_names_the_extra(monkeypatch):
    from pipeline.models import ModelBackendMissing, llamacpp

    monkeypatch.setattr(llamacpp, "llamacpp_available", lambda: False)
    with pytest.raises(ModelBackendMissing, match=r"pip install 'pipeline\[embedded\]'"):
        build_chat_model(parse_spec("llamacpp:embedded-0.5b"), {})


def test_build_rejects_an_unknown_backend():
    spec = ModelSpec("ollama", "x")
    with pytest.raises(ModelSpecError):
        build_chat_model(dataclasses.replace(spec, backend="tgi"), {})  # type: ignore[arg-type]


def test_settings_feed_profile_options(tmp_path: Path):
    (tmp_path / "pipeline.toml").write_text("max_tokens = 256\ntemperature = 0.1\n")
    profile = resolve_profile("embedded", config=load_settings(tmp_path))
    assert profile.slm.option("max_tokens") == 256 and profile.llm.option("temperature") == 0.1
