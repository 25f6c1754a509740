"""Prompt files, one per agent. A prompt's content hash is part of every output's cache key,
so editing a prompt invalidates exactly the outputs it produced."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.evidence.model import content_hash

_DIR = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    text: str
    hash: str


@cache
def load_prompt(name: str) -> Prompt:
    """Load ``pipeline/prompts/<name>.md``."""
    text = (_DIR / f"{name}.md").read_text(encoding="utf-8").strip()
    return Prompt(name, text, content_hash(text))


def prompt_hashes() -> dict[str, str]:
    """Hash of every prompt file, for reports and cache keys."""
    return {p.stem: load_prompt(p.stem).hash for p in sorted(_DIR.glob("*.md"))}
