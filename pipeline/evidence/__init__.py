"""The evidence layer: a tree-sitter graph of a repository, the ground truth for validation."""

from pipeline.evidence.builder import BuildOptions, RepoError, build_evidence
from pipeline.evidence.graph import EvidenceGraph, Resolution

__all__ = ["BuildOptions", "EvidenceGraph", "RepoError", "Resolution", "build_evidence"]
