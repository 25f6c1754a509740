"""Reference docs for code repositories, written by small language models and checked
against a tree-sitter evidence graph of the code."""

__version__ = "0.1.0"
