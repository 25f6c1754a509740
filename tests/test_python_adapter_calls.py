"""Python call records: one per (caller, callee), at its first call in source order."""

from __future__ import annotations

import textwrap

from pipeline.evidence.languages import get_adapter
from pipeline.evidence.model import FileEvidence


def extract(src: str) -> FileEvidence:
    return get_adapter("python").extract(textwrap.dedent(src).encode(), "pkg/mod.py", "pkg.mod")


def calls(ev: FileEvidence) -> list[tuple[str, str, int]]:
    return [(c.caller, c.callee, c.line) for c in ev.calls]


def test_repeated_calls_are_recorded_once_at_the_first_line():
    ev = extract(
        """\
        import os

        def f(a, b):
            helper()
            x = os.path.join(a, b)
            helper(x)
            y = os.path.join(b, a)
            return helper(y)
        """
    )
    assert calls(ev) == [
        ("py:pkg.mod.f", "helper", 4),
        ("py:pkg.mod.f", "os.path.join", 5),
    ]


def test_the_same_callee_is_kept_once_per_caller_in_source_order():
    ev = extract(
        """\
        setup()

        def f():
            def inner():
                g()
            g()
            setup()

        class C:
            g()

            def m(self):
                g(); self.h(); g()

        setup()
        g()
        """
    )
    assert calls(ev) == [
        ("py:pkg.mod", "setup", 1),
        ("py:pkg.mod.f", "g", 5),  # the nested function counts for f: its call is f's first
        ("py:pkg.mod.f", "setup", 7),
        ("py:pkg.mod.C", "g", 10),
        ("py:pkg.mod.C.m", "g", 13),
        ("py:pkg.mod.C.m", "self.h", 13),
        ("py:pkg.mod", "g", 16),
    ]


def test_super_calls_are_deduplicated_too():
    ev = extract(
        """\
        class C(B):
            def m(self):
                super().m()
                super(C, self).m()
                super().n()
        """
    )
    assert calls(ev) == [
        ("py:pkg.mod.C.m", "super().m", 3),
        ("py:pkg.mod.C.m", "super().n", 5),
    ]


def test_every_all_extension_counts_although_the_call_is_recorded_once():
    ev = extract(
        """\
        __all__ = ["a"]
        __all__.extend(["b"])
        __all__.append("c")
        __all__.extend(["d"])
        """
    )
    assert ev.symbols[0].extra["all"] == ["a", "b", "c", "d"]
    assert [c.callee for c in ev.calls] == ["__all__.extend", "__all__.append"]


def test_attributes_on_one_line_keep_source_order():
    # Query captures arrive in no fixed order; the result must not depend on it.
    src = """\
    class C:
        e = 1; d: int = 2; c = 3; b = 4; a = 5

        def __init__(self):
            self.z = 1; self.y: int = 2; self.x = 3
    """
    for _ in range(20):
        ev = extract(src)
        cls = next(s for s in ev.symbols if s.qualname == "pkg.mod.C")
        assert [a["name"] for a in cls.extra["attributes"]] == ["e", "d", "c", "b", "a", "z", "y", "x"]
