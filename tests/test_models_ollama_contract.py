"""Contract test of the Ollama path against a stand-in server, not a run against Ollama itself.

`tests/fake_ollama.py` speaks Ollama's documented `/api/chat`, `/api/tags` and `/api/show` on
127.0.0.1 with scripted answers and faults. A real `ChatOllama` (langchain-ollama, over the
`ollama` client and httpx) talks to it through `structured_call`, so these tests check what we
send (the JSON schema in `format`, temperature 0, a fixed seed) and how we read every answer and
fault Ollama's API can give. Whether a real Ollama build behaves as its documentation says is
outside what this can show. Each server stops itself after 60 s at most.
"""

from __future__ import annotations

import socket
import time

import pytest
from fake_ollama import FakeOllama
from langchain_core.messages import HumanMessage, SystemMessage

from pipeline.models import ModelBackendUnreachable, ModelNotFound, parse_spec, structured_call
from pipeline.models.ollama import ensure_model_present, make_ollama_chat, ollama_health

SLM = "qwen2.5-coder:1.5b"
SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}
MESSAGES = [
    SystemMessage("Write one-sentence summaries as JSON."),
    HumanMessage("def add(a, b): return a + b"),
]


@pytest.fixture
def server():
    with FakeOllama(models=[SLM, "qwen2.5-coder:7b"], lifetime_s=60) as fake:
        yield fake


def chat(server: FakeOllama, tag: str = SLM, timeout: float = 5.0):
    spec = parse_spec(f"ollama:{tag}", ollama_host=server.url)
    return spec, make_ollama_chat(spec, timeout=timeout)


def call(model, spec, *, timeout_s: float = 5.0, retries: int = 2):
    return structured_call(
        model, MESSAGES, SCHEMA, model_spec=str(spec), timeout_s=timeout_s, retries=retries, backoff_s=0.01
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_schema_goes_in_format_and_the_answer_parses(server):
    spec, model = chat(server)
    server.answer('{"summary": "Adds two numbers."}', prompt_eval_count=31, eval_count=9)
    outcome = call(model, spec)
    assert outcome.data == {"summary": "Adds two numbers."} and outcome.error is None
    assert (outcome.tokens_in, outcome.tokens_out, outcome.estimated) == (31, 9, False)
    assert (outcome.model, outcome.attempts, outcome.finish_reason) == (
        "ollama:qwen2.5-coder:1.5b",
        1,
        "stop",
    )
    assert outcome.latency_s > 0
    (request,) = server.chat_requests()
    assert request["format"] == SCHEMA
    assert request["model"] == SLM
    assert request["options"]["temperature"] == 0 and request["options"]["seed"] == 42
    assert request["options"]["num_ctx"] == 4096 and request["options"]["num_predict"] == 1024
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert request["messages"][1]["content"] == "def add(a, b): return a + b"


def test_health_lists_models(server):
    status = ollama_health(server.url, timeout=2)
    assert status.reachable and status.error is None
    assert status.models == [SLM, "qwen2.5-coder:7b"]
    assert status.has_model("qwen2.5-coder:7b") and not status.has_model("qwen2.5-coder")


def test_health_reports_a_failing_server(server):
    server.tags_status = 500
    status = ollama_health(server.url, timeout=2)
    assert not status.reachable and status.error == "HTTP 500 scripted failure"


def test_health_of_nothing_listening():
    status = ollama_health(f"127.0.0.1:{free_port()}", timeout=2)
    assert not status.reachable and status.models == [] and status.error == "connection refused"


def test_ensure_model_present(server):
    ensure_model_present(server.url, SLM)
    with pytest.raises(ModelNotFound) as err:
        ensure_model_present(server.url, "qwen3:4b")
    assert str(err.value) == (
        f"Ollama at {server.url} has no model 'qwen3:4b': run `ollama pull qwen3:4b` or choose another model."
    )
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ModelBackendUnreachable) as err:
        ensure_model_present(url, SLM, timeout=2)
    assert str(err.value) == (
        f"Ollama at {url} is not reachable: connection refused. "
        "Start it with `ollama serve` or choose --profile embedded."
    )


def test_server_error_then_success_is_retried(server):
    spec, model = chat(server)
    server.fault("status", status=503, message="loading model")
    server.answer('{"summary": "ok"}')
    outcome = call(model, spec)
    assert outcome.data == {"summary": "ok"} and outcome.attempts == 2
    assert len(server.chat_requests()) == 2


def test_server_error_every_time_ends_in_an_error_outcome(server):
    spec, model = chat(server)
    for _ in range(3):
        server.fault("status", status=503, message="overloaded")
    outcome = call(model, spec, retries=2)
    assert outcome.data is None and outcome.attempts == 3
    assert (outcome.error, outcome.error_kind) == ("HTTP 503 overloaded", "http")
    assert len(server.chat_requests()) == 3


def test_client_errors_are_not_retried(server):
    spec, model = chat(server)
    server.fault("status", status=400, message="invalid format schema")
    server.answer('{"summary": "never asked for"}')
    outcome = call(model, spec)
    assert (outcome.error, outcome.attempts) == ("HTTP 400 invalid format schema", 1)


def test_connection_reset_mid_answer_is_retried(server):
    spec, model = chat(server)
    server.fault("reset", content='{"summary": "cut off"}')
    server.answer('{"summary": "whole"}')
    outcome = call(model, spec)
    assert outcome.data == {"summary": "whole"} and outcome.attempts == 2


def test_connection_reset_every_time_is_a_transport_error(server):
    spec, model = chat(server)
    for _ in range(2):
        server.fault("reset", content='{"summary": "cut off"}')
    outcome = call(model, spec, retries=1)
    assert outcome.data is None and outcome.error_kind == "transport" and outcome.attempts == 2
    assert outcome.error.startswith(f"connection to {server.url} failed: ")


def test_slow_answer_beyond_the_timeout(server):
    spec, model = chat(server, timeout=0.5)
    server.fault("slow", delay=3.0)
    started = time.monotonic()
    outcome = call(model, spec, timeout_s=0.5, retries=0)
    assert (outcome.error, outcome.error_kind, outcome.attempts) == ("timeout after 0.5s", "timeout", 1)
    assert time.monotonic() - started < 2.5


def test_slow_answer_is_retried_and_can_then_succeed(server):
    spec, model = chat(server, timeout=0.5)
    server.fault("slow", delay=3.0)
    server.answer('{"summary": "second time lucky"}')
    outcome = call(model, spec, timeout_s=0.5, retries=1)
    assert outcome.data == {"summary": "second time lucky"} and outcome.attempts == 2


def test_trickling_answer_is_cut_off_at_the_wall_clock_timeout(server):
    # Each piece arrives within the HTTP read timeout, but the whole answer takes too long.
    spec, model = chat(server, timeout=0.6)
    server.fault("trickle", delay=0.35, content='{"summary": "a long, slow answer"}')
    started = time.monotonic()
    outcome = call(model, spec, timeout_s=0.6, retries=0)
    assert (outcome.error, outcome.error_kind) == ("timeout after 0.6s", "timeout")
    assert time.monotonic() - started < 1.5


def test_invalid_json_answer_is_an_error_outcome_with_the_raw_text(server):
    spec, model = chat(server)
    server.answer("Sure! The summary is: adds numbers", prompt_eval_count=20, eval_count=8)
    outcome = call(model, spec)
    assert outcome.data is None and outcome.error_kind == "invalid_json" and outcome.attempts == 1
    assert outcome.error.startswith("invalid JSON: ")
    assert outcome.raw == "Sure! The summary is: adds numbers"
    assert (outcome.tokens_in, outcome.tokens_out) == (20, 8)


def test_truncated_answer_says_so(server):
    spec, model = chat(server)
    server.answer('{"summary": "Adds two num', done_reason="length")
    outcome = call(model, spec)
    assert (outcome.error, outcome.error_kind) == ("truncated answer (finish_reason=length)", "truncated")
    assert outcome.finish_reason == "length"


def test_garbage_on_the_wire_is_an_error_outcome(server):
    spec, model = chat(server)
    server.fault("garbage")
    outcome = call(model, spec)
    assert outcome.data is None and outcome.error.startswith("invalid response from the server: ")
    assert outcome.attempts == 1


def test_missing_model_is_a_clear_error_and_not_retried(server):
    spec, model = chat(server, tag="qwen3:4b")
    outcome = call(model, spec)
    assert outcome.error_kind == "model_missing" and outcome.attempts == 1
    assert outcome.error == (
        'model missing: model "qwen3:4b" not found, try pulling it first (HTTP 404); '
        "run `ollama pull qwen3:4b`"
    )


def test_unreachable_server_is_a_clear_error_after_retries():
    url = f"http://127.0.0.1:{free_port()}"
    spec = parse_spec(f"ollama:{SLM}", ollama_host=url)
    outcome = call(make_ollama_chat(spec, timeout=2), spec, retries=1)
    assert outcome.error_kind == "transport" and outcome.attempts == 2
    assert outcome.error.startswith(f"Ollama at {url} is not reachable: ")
    assert outcome.error.endswith("Start it with `ollama serve` or choose --profile embedded.")
