"""Structured outputs of the agents (JSON-schema constrained) and the validator's findings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ParamDoc(_Strict):
    name: str = Field(description="parameter name exactly as in the signature")
    description: str = Field(description="what the parameter means, one sentence")


class RaiseDoc(_Strict):
    exception: str = Field(description="exception class name, as raised in the code")
    when: str = Field(description="the condition, one sentence")


class ApiRecord(_Strict):
    """What the API agent writes about one symbol."""

    summary: str = Field(description="one sentence: what it does")
    description: str = Field(default="", description="optional: a few sentences of detail")
    params: list[ParamDoc] = Field(default_factory=list)
    returns: str | None = Field(default=None, description="what it returns; null when it returns nothing")
    yields: str | None = Field(default=None, description="what it yields; only for generators")
    raises: list[RaiseDoc] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list, description="short Python code examples")
    see_also: list[str] = Field(default_factory=list, description="names of related symbols")


class Component(_Strict):
    name: str = Field(description="short name of the part")
    modules: list[str] = Field(description="module names that make up this part")
    role: str = Field(description="one sentence: what this part does")


class Relation(_Strict):
    source: str = Field(description="module name")
    target: str = Field(description="module name it uses")
    description: str = Field(default="", description="how it uses it")


class Overview(_Strict):
    """What the structure agent writes: the architecture overview."""

    summary: str = Field(description="two to four sentences: what the repository is and how it is organised")
    components: list[Component] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)


class ModuleDoc(_Strict):
    """What the doc agent writes for one module page: the prose at the top."""

    summary: str = Field(description="two to four sentences about the module, naming its main symbols")


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema used for constrained decoding (no titles: fewer tokens to read)."""
    schema = model.model_json_schema()

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("title", None)
            for v in node.values():
                strip(v)
        elif isinstance(node, list):
            for v in node:
                strip(v)

    strip(schema)
    return schema


Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One validation result: a named rule, a severity, and where the evidence contradicts."""

    rule: str
    severity: Severity
    message: str
    evidence: str = ""  # "file:line" of the contradicting (or missing) evidence
    claim: str = ""  # the claimed text, as written
    subject: str = ""  # id of the symbol / module / page the claim is about

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
