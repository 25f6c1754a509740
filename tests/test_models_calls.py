"""`structured_call` with scripted LangChain chat models, the OpenAI-compatible client against a
stand-in server, and the llama.cpp chat model over a stand-in `Llama` object."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from pipeline.models import calls, llamacpp, parse_spec, structured_call
from pipeline.models.calls import CallOutcome, parse_json_object
from pipeline.models.openai_compat import chat_completions_url, make_openai_chat

SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
MESSAGES = [SystemMessage("Answer in JSON."), HumanMessage("Summarise: def add(a, b): return a + b")]
PROMPT_CHARS = len("Answer in JSON.") + len("Summarise: def add(a, b): return a + b")


def run(model: BaseChatModel, **kwargs: Any) -> CallOutcome:
    options = {"model_spec": "fake:model", "timeout_s": 5.0, "retries": 2, "backoff_s": 0.0, **kwargs}
    return structured_call(model, MESSAGES, SCHEMA, **options)


class ScriptedModel(BaseChatModel):
    """Raises or answers from a script, one entry per call."""

    script: list[Any]
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any
    ) -> ChatResult:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, BaseException):
            raise step
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=step))])


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ('{"summary": "x"}', {"summary": "x"}),
        ('  \n{"summary": "x"}\n', {"summary": "x"}),
        ('```json\n{"summary": "x"}\n```', {"summary": "x"}),
        ('Here you go: {"summary": "x"} Hope it helps.', {"summary": "x"}),
        ('{"a": {"b": [1, 2]}}', {"a": {"b": [1, 2]}}),
    ],
)
def test_parse_json_object_accepts(text, data):
    assert parse_json_object(text) == (data, None)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "invalid JSON: empty answer"),
        ('{"summary": ', "invalid JSON: Expecting value at line 1 column 12"),
        ("[1, 2]", "invalid JSON: expected an object, got list"),
        ('"just a string"', "invalid JSON: expected an object, got str"),
    ],
)
def test_parse_json_object_refuses(text, error):
    assert parse_json_object(text) == (None, error)


# -- structured_call with fake chat models ------------------------------------------------------


def test_valid_json_from_a_fake_model_with_estimated_tokens():
    model = FakeListChatModel(responses=['{"summary": "Adds two numbers."}'])
    outcome = run(model)
    assert outcome.data == {"summary": "Adds two numbers."} and outcome.error is None and outcome.ok
    assert outcome.estimated is True
    assert outcome.tokens_in == PROMPT_CHARS // 4
    assert outcome.tokens_out == len('{"summary": "Adds two numbers."}') // 4
    assert (outcome.model, outcome.attempts) == ("fake:model", 1)


def test_usage_metadata_wins_over_estimates():
    answer = AIMessage(
        content='{"summary": "s"}',
        usage_metadata={"input_tokens": 120, "output_tokens": 7, "total_tokens": 127},
        response_metadata={"finish_reason": "stop"},
    )
    outcome = run(GenericFakeChatModel(messages=iter([answer])))
    assert (outcome.tokens_in, outcome.tokens_out, outcome.estimated) == (120, 7, False)
    assert outcome.finish_reason == "stop"


def test_invalid_json_is_an_error_outcome_not_an_exception():
    outcome = run(FakeListChatModel(responses=["The function adds."]))
    assert outcome.data is None and not outcome.ok
    assert outcome.error_kind == "invalid_json" and outcome.error.startswith("invalid JSON: ")
    assert outcome.raw == "The function adds." and outcome.attempts == 1


def test_truncation_is_reported_as_such():
    answer = AIMessage(content='{"summary": "Adds', response_metadata={"finish_reason": "length"})
    outcome = run(GenericFakeChatModel(messages=iter([answer])))
    assert (outcome.error, outcome.error_kind) == ("truncated answer (finish_reason=length)", "truncated")


def test_a_complete_answer_at_the_length_limit_is_kept():
    answer = AIMessage(content='{"summary": "ok"}', response_metadata={"finish_reason": "length"})
    assert run(GenericFakeChatModel(messages=iter([answer]))).data == {"summary": "ok"}


def test_no_validation_beyond_json():
    outcome = run(FakeListChatModel(responses=['{"unexpected": 1}']))
    assert outcome.data == {"unexpected": 1} and outcome.error is None


def test_model_exception_is_an_error_outcome_and_not_retried():
    model = ScriptedModel(script=[ValueError("context window exceeded")])
    outcome = run(model)
    assert (outcome.error, outcome.error_kind) == ("ValueError: context window exceeded", "model_error")
    assert outcome.attempts == 1 and model.calls == 1 and outcome.data is None


def test_transport_errors_are_retried_with_exponential_backoff(monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(calls.time, "sleep", sleeps.append)
    request = httpx.Request("POST", "http://127.0.0.1:1/x")
    model = ScriptedModel(
        script=[httpx.ConnectError("refused", request=request), httpx.ReadTimeout("slow"), '{"summary": "s"}']
    )
    outcome = run(model, retries=2, backoff_s=0.5)
    assert outcome.data == {"summary": "s"} and outcome.attempts == 3 and model.calls == 3
    assert sleeps == [0.5, 1.0]


def test_retries_run_out():
    model = ScriptedModel(script=[ConnectionResetError("reset by peer")])
    outcome = run(model, retries=3)
    assert outcome.attempts == 4 and model.calls == 4
    assert (outcome.error, outcome.error_kind) == ("connection failed: reset by peer", "transport")


def test_zero_retries_means_one_attempt():
    model = ScriptedModel(script=[TimeoutError()])
    outcome = run(model, retries=0, timeout_s=30)
    assert (outcome.error, outcome.attempts) == ("timeout after 30s", 1)


def test_outcome_serialises_with_asdict():
    outcome = run(FakeListChatModel(responses=['{"summary": "s"}']))
    restored = json.loads(json.dumps(dataclasses.asdict(outcome)))
    assert restored["data"] == {"summary": "s"} and restored["model"] == "fake:model"
    assert set(restored) >= {
        "data",
        "raw",
        "error",
        "model",
        "tokens_in",
        "tokens_out",
        "latency_s",
        "attempts",
    }


def test_keyboard_interrupt_is_not_swallowed():
    with pytest.raises(KeyboardInterrupt):
        run(ScriptedModel(script=[KeyboardInterrupt()]))


# -- OpenAI-compatible client against a stand-in server ----------------------------------------


class _OpenAIStandIn:
    """A scripted `/v1/chat/completions` on 127.0.0.1: each entry is (status, body or None, delay)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any, float]] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append((self.path, dict(self.headers), body))
                status, answer, delay = (
                    stand_in.script.pop(0) if stand_in.script else (500, {"error": "empty"}, 0)
                )
                if delay and stand_in.stopping.wait(delay):
                    return
                data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def openai_server():
    stand_in = _OpenAIStandIn()
    stand_in.thread.start()
    timer = threading.Timer(60, stand_in.server.shutdown)  # never outlive a stuck test
    timer.daemon = True
    timer.start()
    yield stand_in
    timer.cancel()
    stand_in.stopping.set()
    stand_in.server.shutdown()
    stand_in.server.server_close()


def completion(content: str, *, finish_reason: str = "stop", usage: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "served-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def test_chat_completions_url():
    assert chat_completions_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1/chat/completions"
    assert chat_completions_url("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1/chat/completions"
    assert (
        chat_completions_url("https://h/api/openai/v1beta") == "https://h/api/openai/v1beta/chat/completions"
    )


def test_openai_compatible_call_sends_the_schema_and_reads_usage(openai_server, monkeypatch):
    monkeypatch.setenv("PIPELINE_OPENAI_API_KEY", "sk-standin-123")
    spec = parse_spec(f"openai:coder@{openai_server.url}/v1")
    model = make_openai_chat(spec, timeout=5)
    usage = {"prompt_tokens": 41, "completion_tokens": 6, "total_tokens": 47}
    openai_server.script.append((200, completion('{"summary": "adds"}', usage=usage), 0))
    outcome = structured_call(model, MESSAGES, SCHEMA, model_spec=str(spec), timeout_s=5)
    assert outcome.data == {"summary": "adds"} and outcome.error is None
    assert (outcome.tokens_in, outcome.tokens_out, outcome.estimated, outcome.finish_reason) == (
        41,
        6,
        False,
        "stop",
    )
    ((path, headers, body),) = openai_server.requests
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-standin-123"
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA},
    }
    assert body["model"] == "coder" and body["temperature"] == 0 and body["seed"] == 42
    assert body["messages"] == [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "Summarise: def add(a, b): return a + b"},
    ]
    assert "sk-standin-123" not in repr(model) and "sk-standin-123" not in outcome.model


def test_openai_compatible_faults(openai_server, monkeypatch):
    monkeypatch.delenv("PIPELINE_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = parse_spec(f"openai:coder@{openai_server.url}")
    model = make_openai_chat(spec, timeout=5)

    def call(**kwargs: Any) -> CallOutcome:
        options = {"model_spec": str(spec), "timeout_s": 5.0, "backoff_s": 0.0, **kwargs}
        return structured_call(model, MESSAGES, SCHEMA, **options)

    openai_server.script += [
        (502, {"error": {"message": "bad gateway"}}, 0),
        (200, completion('{"summary": "s"}'), 0),
    ]
    outcome = call()
    assert outcome.data == {"summary": "s"} and outcome.attempts == 2 and outcome.estimated
    assert "Authorization" not in openai_server.requests[-1][1]

    openai_server.script += [(429, {"error": {"message": "rate limited"}}, 0)] * 2
    outcome = call(retries=1)
    assert (outcome.error, outcome.attempts) == ("HTTP 429 rate limited", 2)

    openai_server.script.append((404, {"error": {"message": "The model `coder` does not exist"}}, 0))
    outcome = call()
    assert (
        outcome.error == "model missing: The model `coder` does not exist (HTTP 404)"
        and outcome.attempts == 1
    )

    openai_server.script.append((200, "<html>not json</html>", 0))
    outcome = call()
    assert outcome.error_kind == "model_error" and "did not answer with a chat completion" in outcome.error

    openai_server.script.append((200, completion('{"summary": "cut', finish_reason="length"), 0))
    assert call().error == "truncated answer (finish_reason=length)"

    openai_server.script.append((200, completion("", usage=None), 3.0))
    started = time.monotonic()
    outcome = call(timeout_s=0.4, retries=0)
    assert (outcome.error, outcome.error_kind) == ("timeout after 0.4s", "timeout")
    assert time.monotonic() - started < 2.0


# -- llama.cpp chat model over a stand-in Llama --------------------------------------------------


class StandInLlama:
    """Records create_chat_completion calls and answers like llama-cpp-python does."""

    def __init__(self, content: str, finish_reason: str = "stop"):
        self.content = content
        self.finish_reason = finish_reason
        self.requests: list[dict[str, Any]] = []
        self.active = 0
        self.max_active = 0

    def create_chat_completion(self, **request: Any) -> dict[str, Any]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        time.sleep(0.01)
        self.requests.append(request)
        self.active -= 1
        return {
            "choices": [
                {
                    "message": {"role": "assistant", "content": self.content},
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 25, "completion_tokens": 8, "total_tokens": 33},
        }

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text.split())))


@pytest.fixture
def stand_in_llama(monkeypatch):
    llm = StandInLlama('{"summary": "adds"}')
    monkeypatch.setitem(llamacpp._LOADED, ("/models/stand-in.gguf", 2048), (llm, threading.Lock()))
    model = llamacpp.LlamaCppChatModel(
        model_path="/models/stand-in.gguf", model_name="llamacpp:stand-in", n_ctx=2048, max_tokens=200
    )
    return llm, model


def test_llamacpp_structured_call_passes_the_schema_as_response_format(stand_in_llama):
    llm, model = stand_in_llama
    outcome = structured_call(model, MESSAGES, SCHEMA, model_spec="llamacpp:stand-in", timeout_s=5)
    assert outcome.data == {"summary": "adds"} and outcome.finish_reason == "stop"
    assert (outcome.tokens_in, outcome.tokens_out, outcome.estimated) == (25, 8, False)
    (request,) = llm.requests
    assert request["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert (request["temperature"], request["seed"], request["max_tokens"]) == (0.0, 42, 200)
    assert request["messages"][0] == {"role": "system", "content": "Answer in JSON."}
    assert request["messages"][1]["role"] == "user"


def test_llamacpp_bound_schema_and_plain_invoke(stand_in_llama):
    llm, model = stand_in_llama
    bound = model.bind(
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}}
    )
    message = bound.invoke(MESSAGES)
    assert llm.requests[-1]["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert message.usage_metadata == {"input_tokens": 25, "output_tokens": 8, "total_tokens": 33}
    assert message.response_metadata["model_name"] == "llamacpp:stand-in"
    assert message.response_metadata["finish_reason"] == "stop"
    model.invoke(MESSAGES)
    assert "response_format" not in llm.requests[-1]


def test_llamacpp_calls_are_serialised(stand_in_llama):
    llm, model = stand_in_llama
    threads = [threading.Thread(target=model.invoke, args=(MESSAGES,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(llm.requests) == 6 and llm.max_active == 1


def test_llamacpp_counts_tokens_with_the_model_tokenizer(stand_in_llama):
    _, model = stand_in_llama
    assert model.get_num_tokens("def add ( a , b )") == 7


def test_count_tokens_uses_the_local_tokenizer_or_estimates(stand_in_llama):
    _, model = stand_in_llama
    assert calls.count_tokens(model, "def add ( a , b )") == (7, False)
    assert calls.count_tokens(FakeListChatModel(responses=["x"]), "x" * 41) == (10, True)


def test_llamacpp_truncation(stand_in_llama):
    llm, model = stand_in_llama
    llm.content, llm.finish_reason = '{"summary": "ad', "length"
    outcome = structured_call(model, MESSAGES, SCHEMA, model_spec="llamacpp:stand-in", timeout_s=5)
    assert outcome.error_kind == "truncated" and outcome.attempts == 1


def test_llamacpp_missing_file_is_an_error_outcome(tmp_path):
    if not llamacpp.llamacpp_available():
        pytest.fail("llama-cpp-python is not installed: pip install -e '.[embedded]'")
    model = llamacpp.LlamaCppChatModel(model_path=str(tmp_path / "gone.gguf"))
    outcome = structured_call(model, MESSAGES, SCHEMA, model_spec="llamacpp:gone", timeout_s=5)
    assert outcome.error == f"GGUF file {tmp_path / 'gone.gguf'} does not exist." and outcome.attempts == 1


def test_llamacpp_corrupt_file_is_an_error_outcome(tmp_path):
    if not llamacpp.llamacpp_available():
        pytest.fail("llama-cpp-python is not installed: pip install -e '.[embedded]'")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + bytes(200))
    model = llamacpp.LlamaCppChatModel(model_path=str(junk), n_ctx=512)
    outcome = structured_call(model, MESSAGES, SCHEMA, model_spec="llamacpp:junk", timeout_s=5)
    assert outcome.error_kind == "model_error" and outcome.attempts == 1
    assert outcome.error.startswith(f"llama.cpp cannot load {junk}: ")
