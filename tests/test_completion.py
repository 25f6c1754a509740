"""Facts the evidence states that a validated answer left out are added before publishing:
exceptions the code raises, and a usage example built from the signature."""

from __future__ import annotations

from pathlib import Path

from pipeline.agents.api import USAGE_MARK, documented_params, documented_symbols, usage_example
from pipeline.agents.records import ApiRecord, ParamDoc
from pipeline.agents.validator import validate_record
from pipeline.evidence import BuildOptions, build_evidence
from tests.fakes import ScriptedChat
from tests.test_graph import GOOD, run, task_of

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "python" / "inventory"


def test_every_usage_example_of_the_example_repository_validates():
    graph, _ = build_evidence(EXAMPLE, BuildOptions(use_cache=False))
    built = 0
    for sid in documented_symbols(graph):
        usage = usage_example(graph, sid)
        if usage is None:
            continue
        built += 1
        assert usage.startswith(USAGE_MARK + "\n")
        compile(usage, sid, "exec")  # plain Python
        record = ApiRecord(
            summary="Does what it does.",
            params=[ParamDoc(name=n, description="What it is for.") for n in documented_params(graph, sid)],
            examples=[usage],
        )
        errors = [f for f in validate_record(graph, sid, record) if f.severity == "error"]
        assert errors == [], (sid, usage, errors)
    assert built >= 20


def test_usage_examples_follow_the_kind_of_callable():
    graph, _ = build_evidence(EXAMPLE, BuildOptions(use_cache=False))
    assert usage_example(graph, "py:inventory.sync.fetch_counts").splitlines()[1:] == [
        "import asyncio",
        "from inventory.sync import fetch_counts",
        "result = asyncio.run(fetch_counts(feed, skus))",
    ]
    assert usage_example(graph, "py:inventory.models.Item.is_valid_sku").splitlines()[-1] == (
        "result = Item.is_valid_sku(sku)"  # a static method is called on the class
    )
    assert usage_example(graph, "py:inventory.storage.memory.MemoryStore.items").splitlines()[-2:] == [
        "for item in memory_store.items():",
        "    print(item)",
    ]
    # An abstract class is not instantiated; a special method is used through its operator.
    assert usage_example(graph, "py:inventory.storage.base.StockStore.__len__").splitlines()[-2:] == [
        "def use(stock_store: StockStore) -> None:",
        "    size = len(stock_store)",
    ]
    assert usage_example(graph, "py:inventory.models.Item.value") is None  # a property


def test_a_validated_answer_without_an_example_gets_the_usage_example(tmp_path):
    def script(subject, attempt, messages):
        answer = dict(GOOD[subject])
        answer.pop("examples", None)
        return answer

    result = run(tmp_path, ScriptedChat(script), ScriptedChat(script))
    assert result.report["published_findings"] == []
    add = task_of(result, "mini.core.add")
    assert add["path"] == "slm_first_pass"
    assert add["output"]["examples"] == [f"{USAGE_MARK}\nfrom mini.core import add\nresult = add(a)"]


def test_an_answer_with_its_own_example_keeps_it(tmp_path):
    result = run(tmp_path, ScriptedChat(lambda s, a, m: GOOD[s]), None)
    assert task_of(result, "mini.core.add")["output"]["examples"] == ["add(1, b=2)"]


def test_parameter_descriptions_must_start_like_a_sentence():
    import json
    import re

    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    from pipeline.graph.context import RunContext
    from pipeline.graph.nodes import AGENTS

    graph, _ = build_evidence(EXAMPLE, BuildOptions(use_cache=False))
    schema = AGENTS["api"].schema(RunContext(graph=graph, repo=EXAMPLE), "py:inventory.sync.fetch_counts")
    feed = schema["properties"]["params"]["properties"]["feed"]
    regex = re.compile(feed["pattern"][1:-1])
    # What small models answered when they copied the annotation, and what breaks JSON.
    for echo in (
        "SupplierFeed",
        "Iterable[str]",
        "int = DEFAULT_CONCURRENCY",
        "Mapping[str, Any]",
        "the feed",
    ):
        assert not regex.fullmatch(echo), echo
    assert not regex.fullmatch('The "feed" object.') and not regex.fullmatch("The feed\\nobject.")
    for sentence in ("The supplier feed to read counts from.", "A list of `Item` objects to store."):
        assert regex.fullmatch(sentence), sentence
    # llama.cpp turns the whole schema into a grammar it accepts.
    LlamaGrammar.from_string(json_schema_to_gbnf(json.dumps(schema)), verbose=False)
