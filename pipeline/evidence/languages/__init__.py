"""Language adapters: one generic tree-sitter engine, per-language knowledge in ``.scm`` files.

Each adapter is a :class:`~pipeline.evidence.languages.base.LanguageAdapter` subclass that
names its grammar, its file extensions and its query file; it adds Python code only where
a query cannot express something (parameter kinds, import resolution, ...).
"""

from __future__ import annotations

from functools import cache

from pipeline.evidence.languages.base import LanguageAdapter

# language name -> "module:Class"; imported lazily so a missing grammar wheel only
# disables its own language.
_REGISTRY: dict[str, str] = {
    "python": "pipeline.evidence.languages.python:PythonAdapter",
    "javascript": "pipeline.evidence.languages.javascript:JavaScriptAdapter",
    "typescript": "pipeline.evidence.languages.javascript:TypeScriptAdapter",
    "tsx": "pipeline.evidence.languages.javascript:TsxAdapter",
    "go": "pipeline.evidence.languages.go:GoAdapter",
    "rust": "pipeline.evidence.languages.rust:RustAdapter",
    "java": "pipeline.evidence.languages.java:JavaAdapter",
}

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
}


def language_for(path: str) -> str | None:
    """Return the language name for a file path by its extension, or ``None``."""
    dot = path.rfind(".")
    if dot < 0:
        return None
    return EXTENSIONS.get(path[dot:].lower())


@cache
def get_adapter(language: str) -> LanguageAdapter:
    """Return the (process-wide, cached) adapter for ``language``."""
    import importlib

    module_name, _, cls_name = _REGISTRY[language].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls()


__all__ = ["EXTENSIONS", "LanguageAdapter", "get_adapter", "language_for"]
