"""The Python adapter on small inline sources: every fact it extracts, and hostile input."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.evidence.languages import get_adapter
from pipeline.evidence.languages.python import PythonAdapter
from pipeline.evidence.model import CONTAINS, FileEvidence, ImportRecord, Symbol


@pytest.fixture(scope="module")
def adapter() -> PythonAdapter:
    a = get_adapter("python")
    assert isinstance(a, PythonAdapter)
    return a


def extract(adapter: PythonAdapter, src: str | bytes, path: str = "pkg/mod.py", module: str = "pkg.mod"):
    data = src if isinstance(src, bytes) else textwrap.dedent(src).encode()
    return adapter.extract(data, path, module)


def sym(ev: FileEvidence, qualname: str) -> Symbol:
    found = [s for s in ev.symbols if s.qualname == qualname]
    assert len(found) == 1, f"{qualname}: {[s.qualname for s in ev.symbols]}"
    return found[0]


def qualnames(ev: FileEvidence) -> list[str]:
    return [s.qualname for s in ev.symbols]


def params(s: Symbol) -> list[tuple[str, str, str | None, str | None]]:
    assert s.params is not None
    return [(p.name, p.kind, p.annotation, p.default) for p in s.params]


# -- module names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "files", "expected"),
    [
        ("src/pkg/mod.py", {"src/pkg/__init__.py"}, "pkg.mod"),
        ("src/pkg/sub/mod.py", {"src/pkg/__init__.py", "src/pkg/sub/__init__.py"}, "pkg.sub.mod"),
        ("pkg/__init__.py", {"pkg/__init__.py"}, "pkg"),
        ("pkg/sub/__init__.py", {"pkg/__init__.py", "pkg/sub/__init__.py"}, "pkg.sub"),
        ("pkg/__main__.py", {"pkg/__init__.py"}, "pkg.__main__"),
        ("run.py", set(), "run"),
        ("tools/run.py", set(), "tools.run"),
        ("src/run.py", set(), "run"),
        ("src/tools/run.py", set(), "tools.run"),
        ("a/src/b/c.py", set(), "b.c"),
        # A package below a plain directory is named from its own chain.
        ("examples/demo/pkg/mod.py", {"examples/demo/pkg/__init__.py"}, "pkg.mod"),
        # A plain directory inside a package is a namespace package.
        ("pkg/data/x.py", {"pkg/__init__.py"}, "pkg.data.x"),
        ("pkg/stubs.pyi", {"pkg/__init__.py"}, "pkg.stubs"),
        ("__init__.py", {"__init__.py"}, "__init__"),
        ("my scripts/run-me.py", set(), "my scripts.run-me"),
        ("données/café.py", set(), "données.café"),
        ("dir.with.dots/a.b.py", set(), "dir_with_dots.a_b"),
        ("", set(), "_"),
        ("./x/./y.py", set(), "x.y"),
    ],
)
def test_module_name(adapter, path, files, expected):
    all_files = frozenset({path, *files})
    assert adapter.module_name(path, all_files) == expected
    assert adapter.module_name(path, all_files) == expected  # deterministic


@given(st.text(max_size=40))
@settings(max_examples=150, deadline=None)
def test_module_name_never_raises(path):
    assert isinstance(get_adapter("python").module_name(path, frozenset({path})), str)


# -- the module symbol ---------------------------------------------------------------------


def test_module_symbol(adapter):
    ev = extract(
        adapter,
        '''\
        #!/usr/bin/env python
        r"""Module doc.

            Indented line.
        """
        x = 1
        ''',
    )
    mod = ev.symbols[0]
    assert (mod.id, mod.kind, mod.name, mod.qualname, mod.parent) == (
        "py:pkg.mod",
        "module",
        "mod",
        "pkg.mod",
        None,
    )
    assert (mod.line_start, mod.line_end) == (1, 6)
    assert mod.docstring == "Module doc.\n\nIndented line."
    assert mod.extra == {"all": None, "has_main": False, "has_errors": False}
    assert mod.language == "python" and mod.file == "pkg/mod.py" and mod.public
    assert ev.module == "pkg.mod" and ev.language == "python" and not ev.has_errors


def test_package_symbol_and_main(adapter):
    ev = extract(adapter, "def main(): pass\n", path="pkg/__init__.py", module="pkg")
    assert ev.symbols[0].kind == "package"
    ev = extract(adapter, "pass\n", path="pkg/__main__.py", module="pkg.__main__")
    assert ev.symbols[0].extra["has_main"] and ev.symbols[0].public


@pytest.mark.parametrize(
    ("guard", "expected"),
    [
        ("if __name__ == '__main__':\n    main()\n", True),
        ('if "__main__" == __name__:\n    main()\n', True),
        ("if __name__ == 'other':\n    main()\n", False),
        ("def f():\n    if __name__ == '__main__':\n        main()\n", False),
    ],
)
def test_main_guard(adapter, guard, expected):
    assert extract(adapter, guard).symbols[0].extra["has_main"] is expected


# -- functions -----------------------------------------------------------------------------


def test_parameter_kinds_defaults_annotations(adapter):
    ev = extract(
        adapter,
        """\
        def f(a, b: int, /, c=1, d: str = "x", *args: int, e, f: "T" = 2, **kw: object) -> list[int]:
            pass

        def g(a, *, b, c=None): ...

        def h(*, k): ...

        def i(): ...
        """,
    )
    assert params(sym(ev, "pkg.mod.f")) == [
        ("a", "positional_only", None, None),
        ("b", "positional_only", "int", None),
        ("c", "positional_or_keyword", None, "1"),
        ("d", "positional_or_keyword", "str", '"x"'),
        ("args", "var_positional", "int", None),
        ("e", "keyword_only", None, None),
        ("f", "keyword_only", '"T"', "2"),
        ("kw", "var_keyword", "object", None),
    ]
    assert sym(ev, "pkg.mod.f").returns == "list[int]"
    assert params(sym(ev, "pkg.mod.g")) == [
        ("a", "positional_or_keyword", None, None),
        ("b", "keyword_only", None, None),
        ("c", "keyword_only", None, "None"),
    ]
    assert params(sym(ev, "pkg.mod.h")) == [("k", "keyword_only", None, None)]
    assert sym(ev, "pkg.mod.i").params == [] and sym(ev, "pkg.mod.i").returns is None


def test_function_flags(adapter):
    ev = extract(
        adapter,
        """\
        async def co():
            await x()

        def gen():
            yield

        def gen_value():
            x = yield 1

        def gen_from():
            return (yield from other())

        def gen_none():
            yield None

        def not_gen():
            def inner():
                yield 1
            f = lambda: (yield)
            class C:
                def m(self):
                    yield 2
            return inner

        def returns_none():
            if x:
                return
            return None

        def returns_nested():
            def inner():
                return 1
        """,
    )
    flags = ("is_async", "is_generator", "yields_value", "returns_value")
    got = {s.name: tuple(s.extra[k] for k in flags) for s in ev.symbols if s.kind == "function"}
    assert got == {
        "co": (True, False, False, False),
        "gen": (False, True, False, False),
        "gen_value": (False, True, True, False),
        "gen_from": (False, True, True, True),
        "gen_none": (False, True, False, False),
        "not_gen": (False, False, False, True),
        "returns_none": (False, False, False, False),
        "returns_nested": (False, False, False, False),
    }


def test_docstrings_are_cleaned(adapter):
    ev = extract(
        adapter,
        '''\
        def a():
            """First.

                Indented.
            Back.
            """

        def b():
            # a comment first
            u'unicode'

        def c():
            "one" 'two'

        def d():
            "esc\\x41pe \\N{BULLET}"

        def e():
            f"not a docstring {x}"

        def g():
            b"bytes are not docstrings"

        def h():
            x = "assigned, not a docstring"

        def i():
            r"""raw \\d"""
        ''',
    )
    docs = {s.name: s.docstring for s in ev.symbols if s.kind == "function"}
    assert docs == {
        "a": "First.\n\n    Indented.\nBack.",
        "b": "unicode",
        "c": "onetwo",
        "d": "escApe \u2022",
        "e": None,
        "g": None,
        "h": None,
        "i": "raw \\d",
    }


def test_crlf_docstring_is_normalised(adapter):
    ev = extract(adapter, b'def f():\r\n    """One.\r\n\r\n    Two.\r\n    """\r\n')
    assert sym(ev, "pkg.mod.f").docstring == "One.\n\nTwo."


def test_raises(adapter):
    ev = extract(
        adapter,
        """\
        def f(x):
            if x:
                raise ValueError("bad")
            try:
                pass
            except KeyError as e:
                raise errors.Custom("x") from e
            except OSError as err:
                raise err
            except Exception:
                raise
            raise ValueError
            raise TypeError() from None

        def nested():
            def helper():
                raise LookupError
            return helper

        def only_bare():
            try:
                pass
            except Exception:
                raise
        """,
    )
    assert sym(ev, "pkg.mod.f").extra["raises"] == ["TypeError", "ValueError", "err", "errors.Custom"]
    assert sym(ev, "pkg.mod.nested").extra["raises"] == ["LookupError"]
    assert sym(ev, "pkg.mod.only_bare").extra["raises"] == []


def test_nested_functions_are_not_symbols_but_count_for_the_outer(adapter):
    ev = extract(
        adapter,
        """\
        def outer():
            def inner():
                helper()
                class Local:
                    def m(self):
                        deep()
            import json
            return inner
        """,
    )
    assert qualnames(ev) == ["pkg.mod", "pkg.mod.outer"]
    callees = {(c.caller, c.callee) for c in ev.calls}
    assert callees == {("py:pkg.mod.outer", "helper"), ("py:pkg.mod.outer", "deep")}
    assert [(i.scope, i.module) for i in ev.imports] == [("py:pkg.mod.outer", "json")]


# -- classes -------------------------------------------------------------------------------


CLASSES = '''\
import abc

@dataclass(frozen=True)
class Base(abc.ABC, Generic[T], metaclass=Meta, extra=1):
    """Base doc."""

    count: int = 0
    label: str
    a, b = 1, 2
    if FLAG:
        cond = True

    def __init__(self, x, *items):
        self.x: int = x
        self.items = items
        self.a, self.pair = 1, 2
        other.y = 3
        def helper():
            self.hidden = 1

    def use(me):
        me.later = None
        self.not_mine = 1

    @staticmethod
    def s(x):
        x.nope = 1

    @classmethod
    def c(cls):
        return cls()

    def __new__(cls, *args):
        return super().__new__(cls)

    def __init_subclass__(cls, **kw):
        pass

    @abc.abstractmethod
    def must(self): ...

    class Inner:
        class Deeper:
            def m(self):
                pass

class Plain:
    pass
'''


def test_class_facts(adapter):
    ev = extract(adapter, CLASSES)
    base = sym(ev, "pkg.mod.Base")
    assert base.kind == "class" and base.params is None
    assert base.decorators == ["dataclass(frozen=True)"]
    assert base.docstring == "Base doc."
    assert base.extra["bases"] == ["abc.ABC", "Generic[T]"]
    assert base.extra["keywords"] == {"metaclass": "Meta", "extra": "1"}
    assert base.extra["is_abstract"] is True
    assert base.extra["attributes"] == [
        {"name": "count", "annotation": "int", "line": 7},
        {"name": "label", "annotation": "str", "line": 8},
        {"name": "a", "annotation": None, "line": 9},
        {"name": "b", "annotation": None, "line": 9},
        {"name": "cond", "annotation": None, "line": 11},
        {"name": "x", "annotation": "int", "line": 14},
        {"name": "items", "annotation": None, "line": 15},
        {"name": "pair", "annotation": None, "line": 16},
        {"name": "later", "annotation": None, "line": 22},
    ]
    plain = sym(ev, "pkg.mod.Plain")
    assert plain.extra == {"bases": [], "keywords": {}, "is_abstract": False, "attributes": []}
    assert plain.docstring is None and plain.decorators == []


def test_methods_and_nested_classes(adapter):
    ev = extract(adapter, CLASSES)
    assert [s.qualname for s in ev.symbols if s.kind in ("class", "method", "function")] == [
        "pkg.mod.Base",
        "pkg.mod.Base.__init__",
        "pkg.mod.Base.use",
        "pkg.mod.Base.s",
        "pkg.mod.Base.c",
        "pkg.mod.Base.__new__",
        "pkg.mod.Base.__init_subclass__",
        "pkg.mod.Base.must",
        "pkg.mod.Base.Inner",
        "pkg.mod.Base.Inner.Deeper",
        "pkg.mod.Base.Inner.Deeper.m",
        "pkg.mod.Plain",
    ]
    init = sym(ev, "pkg.mod.Base.__init__")
    assert init.kind == "method" and init.parent == "py:pkg.mod.Base"
    assert params(init) == [
        ("self", "positional_or_keyword", None, None),
        ("x", "positional_or_keyword", None, None),
        ("items", "var_positional", None, None),
    ]
    kinds = ("is_staticmethod", "is_classmethod", "is_abstract", "is_property")
    flags = {s.name: tuple(s.extra[k] for k in kinds) for s in ev.symbols if s.kind == "method"}
    assert flags["s"] == (True, False, False, False)
    assert flags["c"] == (False, True, False, False)
    assert flags["__new__"] == (True, False, False, False)
    assert flags["__init_subclass__"] == (False, True, False, False)
    assert flags["must"] == (False, False, True, False)
    assert flags["use"] == (False, False, False, False)
    assert sym(ev, "pkg.mod.Base.Inner.Deeper.m").parent == "py:pkg.mod.Base.Inner.Deeper"


def test_abstract_class_by_abstract_method_only(adapter):
    ev = extract(
        adapter,
        """\
        class A:
            @abstractmethod
            def f(self): ...

        class B(metaclass=ABCMeta):
            pass

        class C(Base):
            def f(self): ...
        """,
    )
    assert [sym(ev, f"pkg.mod.{n}").extra["is_abstract"] for n in "ABC"] == [True, True, False]


def test_property_setter_and_deleter_merge(adapter):
    src = """\
    class P:
        @property
        def value(self) -> int:
            '''The value.'''
            return self._v

        @value.setter
        def value(self, v):
            if v < 0:
                raise ValueError(v)
            self._v = v

        @value.deleter
        def value(self):
            del self._v

        @functools.cached_property
        def cached(self):
            return 1
    """
    ev = extract(adapter, src)
    value = sym(ev, "pkg.mod.P.value")
    assert value.extra["is_property"] and value.extra["setter"] and value.extra["deleter"]
    assert value.extra["raises"] == ["ValueError"]
    assert value.docstring == "The value." and value.returns == "int"
    assert params(value) == [("self", "positional_or_keyword", None, None)]
    assert value.decorators == ["property"]
    assert (value.line_start, value.line_end) == (2, 5)
    assert sym(ev, "pkg.mod.P.cached").extra["is_property"]
    assert "setter" not in sym(ev, "pkg.mod.P.cached").extra
    # The merged hash covers the setter: editing it changes the property's hash.
    edited = extract(adapter, src.replace("raise ValueError(v)", "raise TypeError(v)"))
    assert sym(edited, "pkg.mod.P.value").hash != value.hash
    assert [e.target for e in ev.edges].count("py:pkg.mod.P.value") == 1


# -- one symbol per qualname ---------------------------------------------------------------


def test_last_definition_wins(adapter):
    ev = extract(
        adapter,
        """\
        from typing import overload

        @overload
        def f(x: int) -> int: ...
        @overload
        def f(x: str) -> str: ...
        def f(x, *, strict=False):
            return x

        if PY2:
            class C:
                def old(self): pass
        else:
            class C:
                def new(self): pass

        def g(): pass
        g = decorate(g)

        LIMIT = 1
        LIMIT: int = 2
        LIMIT = 3
        """,
    )
    f = sym(ev, "pkg.mod.f")
    assert [p.name for p in f.params] == ["x", "strict"] and not f.extra["is_overload"]
    assert f.line_start == 7
    assert "pkg.mod.C.old" not in qualnames(ev)
    assert sym(ev, "pkg.mod.C.new").parent == "py:pkg.mod.C"
    assert sym(ev, "pkg.mod.g").kind == "function"
    limit = sym(ev, "pkg.mod.LIMIT")
    assert limit.extra["value"] == "3" and limit.extra["annotation"] == "int" and limit.line_start == 22
    assert len(qualnames(ev)) == len(set(qualnames(ev)))


def test_overload_flag_on_lone_stub(adapter):
    ev = extract(adapter, "@typing.overload\ndef f(x: int) -> int: ...\n")
    assert sym(ev, "pkg.mod.f").extra["is_overload"]


# -- variables -----------------------------------------------------------------------------


def test_variables(adapter):
    long_value = "x" * 300
    ev = extract(
        adapter,
        f"""\
        MAX_SIZE = 10
        '''The largest size.'''
        name: str = "n"
        only_annotated: int
        a = b = compute()
        (c, [d, *rest]) = 1, [2, 3]
        obj.attr = 1
        items[0] = 2
        counter += 1
        LONG = "{long_value}"
        type Alias = list[int]
        try:
            import fast
        except ImportError:
            FALLBACK = True

        def f():
            local = 1

        class K:
            level = 1
        """,
    )
    names = [s.qualname for s in ev.symbols if s.kind == "variable"]
    assert names == [
        "pkg.mod.MAX_SIZE",
        "pkg.mod.name",
        "pkg.mod.only_annotated",
        "pkg.mod.a",
        "pkg.mod.b",
        "pkg.mod.c",
        "pkg.mod.d",
        "pkg.mod.rest",
        "pkg.mod.LONG",
        "pkg.mod.Alias",
        "pkg.mod.FALLBACK",
        "pkg.mod.K.level",
    ]
    max_size = sym(ev, "pkg.mod.MAX_SIZE")
    assert max_size.extra == {"value": "10", "annotation": None, "is_constant": True}
    assert max_size.docstring == "The largest size." and max_size.params is None
    assert sym(ev, "pkg.mod.name").extra == {"value": '"n"', "annotation": "str", "is_constant": False}
    assert sym(ev, "pkg.mod.only_annotated").extra["value"] is None
    assert sym(ev, "pkg.mod.b").extra["value"] == "compute()"
    assert len(sym(ev, "pkg.mod.LONG").extra["value"]) == 200
    assert sym(ev, "pkg.mod.Alias").extra["is_type_alias"]
    assert sym(ev, "pkg.mod.K.level").parent == "py:pkg.mod.K"


# -- publicness ----------------------------------------------------------------------------


def test_public_by_underscore(adapter):
    ev = extract(
        adapter,
        """\
        def api(): pass
        def _helper(): pass
        class _Private:
            def method(self): pass
        class Public:
            def __init__(self): pass
            def __call__(self): pass
            def _internal(self): pass
            def __mangled(self): pass
            class _Hidden:
                def visible_name(self): pass
        """,
    )
    public = {s.qualname.removeprefix("pkg.mod."): s.public for s in ev.symbols[1:]}
    assert public == {
        "api": True,
        "_helper": False,
        "_Private": False,
        "_Private.method": False,
        "Public": True,
        "Public.__init__": True,
        "Public.__call__": True,
        "Public._internal": False,
        "Public.__mangled": False,
        "Public._Hidden": False,
        "Public._Hidden.visible_name": False,
    }


def test_public_by_all(adapter):
    ev = extract(
        adapter,
        """\
        __all__ = ["listed", "_exported_private"]
        __all__ += ("Extra",)
        __all__.extend(["more"])
        __all__.append("last")

        def listed(): pass
        def _exported_private(): pass
        def unlisted(): pass
        class Extra:
            def m(self): pass
        def more(): pass
        def last(): pass
        """,
    )
    assert ev.symbols[0].extra["all"] == ["listed", "_exported_private", "Extra", "more", "last"]
    public = {s.name: s.public for s in ev.symbols[1:]}
    assert public == {
        "__all__": False,
        "listed": True,
        "_exported_private": True,
        "unlisted": False,
        "Extra": True,
        "m": True,
        "more": True,
        "last": True,
    }


def test_dynamic_all_falls_back_to_underscores(adapter):
    ev = extract(adapter, "__all__ = base.__all__ + ['x']\ndef x(): pass\ndef y(): pass\ndef _z(): pass\n")
    assert ev.symbols[0].extra["all"] is None
    assert {s.name: s.public for s in ev.symbols if s.kind == "function"} == {
        "x": True,
        "y": True,
        "_z": False,
    }
    ev = extract(adapter, "__all__ = [['nested']]\n")
    assert ev.symbols[0].extra["all"] is None


@pytest.mark.parametrize(
    ("module", "public"),
    [
        ("pkg.mod", True),
        ("pkg._impl", False),
        ("_pkg.mod", False),
        ("pkg.__main__", True),
        ("pkg.__init__", True),
    ],
)
def test_module_publicness(adapter, module, public):
    ev = extract(adapter, "def f(): pass\n", module=module)
    assert ev.symbols[0].public is public
    assert ev.symbols[1].public is public


# -- imports -------------------------------------------------------------------------------


def test_imports(adapter):
    ev = extract(
        adapter,
        """\
        import os
        import os.path
        import a.b as c, d
        from . import y
        from .x import y as z
        from ..pkg.sub import (one as uno,
                               two)
        from m import *
        from __future__ import annotations
        if TYPE_CHECKING:
            from typing import Mapping
        try:
            import ujson as json
        except ImportError:
            import json

        def f():
            from .lazy import thing

        class K:
            import inside_class
        """,
    )
    got = [(i.scope, i.module, i.name, i.alias, i.level, i.line) for i in ev.imports]
    assert got == [
        ("py:pkg.mod", "os", None, "os", 0, 1),
        ("py:pkg.mod", "os.path", None, "os", 0, 2),
        ("py:pkg.mod", "a.b", None, "c", 0, 3),
        ("py:pkg.mod", "d", None, "d", 0, 3),
        ("py:pkg.mod", "", "y", "y", 1, 4),
        ("py:pkg.mod", "x", "y", "z", 1, 5),
        ("py:pkg.mod", "pkg.sub", "one", "uno", 2, 6),
        ("py:pkg.mod", "pkg.sub", "two", "two", 2, 6),
        ("py:pkg.mod", "m", "*", None, 0, 8),
        ("py:pkg.mod", "__future__", "annotations", "annotations", 0, 9),
        ("py:pkg.mod", "typing", "Mapping", "Mapping", 0, 11),
        ("py:pkg.mod", "ujson", None, "json", 0, 13),
        ("py:pkg.mod", "json", None, "json", 0, 15),
        ("py:pkg.mod.f", "lazy", "thing", "thing", 1, 18),
        ("py:pkg.mod.K", "inside_class", None, "inside_class", 0, 21),
    ]


MODULES = frozenset({"pkg", "pkg.mod", "pkg.sub", "pkg.sub.leaf", "other"})


@pytest.mark.parametrize(
    ("record", "module", "expected"),
    [
        (ImportRecord("", "os.path", None, "os", 1), "pkg.mod", "os.path"),
        (
            ImportRecord("", "collections", "OrderedDict", "OrderedDict", 1),
            "pkg.mod",
            "collections.OrderedDict",
        ),
        (ImportRecord("", "pkg", "sub", "sub", 1), "pkg.mod", "pkg.sub"),
        (ImportRecord("", "m", "*", None, 1), "pkg.mod", "m"),
        (ImportRecord("", "", "sub", "sub", 1, 1), "pkg.mod", "pkg.sub"),
        (ImportRecord("", "sub", "leaf", "leaf", 1, 1), "pkg.mod", "pkg.sub.leaf"),
        (ImportRecord("", "sub.leaf", "name", "name", 1, 1), "pkg.mod", "pkg.sub.leaf.name"),
        (ImportRecord("", "", "mod", "mod", 1, 2), "pkg.sub.leaf", "pkg.mod"),
        (ImportRecord("", "", "*", None, 1, 1), "pkg.sub.leaf", "pkg.sub"),
        # A package's own __init__ is the base of its relative imports.
        (ImportRecord("", "", "mod", "mod", 1, 1), "pkg", "pkg.mod"),
        (ImportRecord("", "leaf", None, None, 1, 1), "pkg.sub", "pkg.sub.leaf"),
        (ImportRecord("", "", "x", "x", 1, 2), "pkg.sub", "pkg.x"),
        # Climbing above the top-level package cannot be resolved.
        (ImportRecord("", "", "x", "x", 1, 2), "pkg.mod", "..x"),
        (ImportRecord("", "a", "b", "b", 1, 1), "other", ".a.b"),
    ],
)
def test_resolve_import(adapter, record, module, expected):
    assert adapter.resolve_import(record, module, MODULES) == expected


# -- calls ---------------------------------------------------------------------------------


def test_calls(adapter):
    ev = extract(
        adapter,
        """\
        setup()

        @register("x")
        def f(a=default_factory()):
            foo()
            self.bar(1)
            os.path.join(a, b)
            super().x()
            super(C, self).y()
            a[0]()
            f()()
            (lambda: 1)()
            obj.method().chained()
            first = lambda: inner_call()

        class C(make_base()):
            attr = field(default=1)

            def m(self):
                return self.helper()
        """,
    )
    got = [(c.caller, c.callee, c.line) for c in ev.calls]
    assert got == [
        ("py:pkg.mod", "setup", 1),
        ("py:pkg.mod", "register", 3),
        ("py:pkg.mod", "default_factory", 4),
        ("py:pkg.mod.f", "foo", 5),
        ("py:pkg.mod.f", "self.bar", 6),
        ("py:pkg.mod.f", "os.path.join", 7),
        ("py:pkg.mod.f", "super().x", 8),
        ("py:pkg.mod.f", "super().y", 9),
        ("py:pkg.mod.f", "f", 11),
        ("py:pkg.mod.f", "obj.method", 13),
        ("py:pkg.mod.f", "inner_call", 14),
        ("py:pkg.mod", "make_base", 16),
        ("py:pkg.mod.C", "field", 17),
        ("py:pkg.mod.C.m", "self.helper", 20),
    ]


def test_multiline_dotted_callee_is_normalised(adapter):
    ev = extract(
        adapter,
        "def f():\n    result = (os.path\n        .join(a))\n    x = a . b ()\n"
        "    y = pkg.\\\n        mod.fn()\n",
    )
    assert [c.callee for c in ev.calls] == ["os.path.join", "a.b", "pkg.mod.fn"]


# -- ids, spans, edges, hashes -------------------------------------------------------------


def test_ids_spans_edges_and_hashes(adapter):
    src = """\
    import functools


    @functools.lru_cache(maxsize=None)
    @other
    def cached(x):
        return x


    class K:
        def m(self):
            pass
    """
    ev = extract(adapter, src)
    cached = sym(ev, "pkg.mod.cached")
    assert cached.id == "py:pkg.mod.cached"
    assert (cached.line_start, cached.line_end) == (4, 7)
    assert cached.decorators == ["functools.lru_cache(maxsize=None)", "other"]
    m = sym(ev, "pkg.mod.K.m")
    assert (m.line_start, m.line_end) == (11, 12)
    edges = {(e.source, e.target, e.kind) for e in ev.edges}
    assert edges == {(s.parent, s.id, CONTAINS) for s in ev.symbols if s.parent is not None}
    assert len(ev.edges) == len(ev.symbols) - 1
    # Editing one definition changes only its own hash (and the module's).
    edited = extract(adapter, src.replace("pass", "return 1"))
    assert sym(edited, "pkg.mod.cached").hash == cached.hash
    assert sym(edited, "pkg.mod.K.m").hash != m.hash
    assert edited.symbols[0].hash != ev.symbols[0].hash
    # Extraction is deterministic.
    again = extract(adapter, src)
    assert [s.to_dict() for s in again.symbols] == [s.to_dict() for s in ev.symbols]


# -- broken and hostile input --------------------------------------------------------------


def test_syntax_errors_still_yield_symbols(adapter):
    ev = extract(
        adapter,
        """\
        def good(a, b=1):
            return a

        def broken(:
            pass

        class Later:
            def method(self, x):
                raise KeyError(x)
        """,
    )
    assert ev.has_errors and ev.error_lines and ev.symbols[0].extra["has_errors"]
    assert 4 in ev.error_lines
    assert sym(ev, "pkg.mod.good").params[1].default == "1"
    assert sym(ev, "pkg.mod.Later.method").extra["raises"] == ["KeyError"]


def test_invalid_bytes(adapter):
    src = b'"""Caf\xe9 doc \xff."""\ndef f(x="\xfe"):\n    g("\x80")\n'
    ev = extract(adapter, src)
    assert ev.symbols[0].docstring == "Caf\ufffd doc \ufffd."
    assert sym(ev, "pkg.mod.f").params[0].default == '"\ufffd"'
    assert [c.callee for c in ev.calls] == ["g"]


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        (b"# -*- coding: latin-1 -*-\n", "Caf\u00e9."),
        (b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n", "Caf\u00e9."),
        (b"# coding: rot13\n", "Caf\ufffd."),
        (b"# coding: utf-16\n", "Caf\ufffd."),
        (b"# coding: no-such-codec\n", "Caf\ufffd."),
        (b"\n\n# coding: latin-1\n", "Caf\ufffd."),  # only the first two lines count
    ],
)
def test_source_encoding_declaration(adapter, cookie, expected):
    ev = extract(adapter, cookie + b'def f():\n    """Caf\xe9."""\n')
    assert sym(ev, "pkg.mod.f").docstring == expected


@pytest.mark.parametrize(
    "src", [b"", b"\n\n", b"# only a comment\n# and another", b"\xef\xbb\xbf", b"\x00\x00"]
)
def test_empty_and_comment_only_files(adapter, src):
    ev = extract(adapter, src)
    assert len(ev.symbols) == 1 and ev.symbols[0].kind == "module"
    assert ev.symbols[0].line_start == 1 and ev.symbols[0].line_end >= 1
    assert ev.calls == [] and ev.imports == [] and ev.edges == []


def test_comment_only_file_lines(adapter):
    ev = extract(adapter, b"# one\n# two\n# three")
    assert (ev.symbols[0].line_start, ev.symbols[0].line_end) == (1, 3)
    assert ev.symbols[0].docstring is None


@pytest.mark.parametrize(
    "src",
    [
        "def f(x):\n" + "".join(" " * (i + 1) + "if x:\n" for i in range(500)) + " " * 501 + "yield g(x)\n",
        "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
        "x = " + "f(" * 2000 + "1" + ")" * 2000 + "\n",
        "x = a" + ".b" * 3000 + "()\n",
        "__all__ = " + " + ".join(["['x']"] * 2000) + "\n",
        "".join(" " * i + f"def f{i}():\n" for i in range(300)) + " " * 300 + "pass\n",
        "".join(" " * i + f"class C{i}:\n" for i in range(200)) + " " * 200 + "x = 1\n",
        "f = " + "lambda: " * 2000 + "1\n",
        "(" * 2000 + "a" + ")" * 2000 + " = 1\n",
    ],
    ids=["ifs", "parens", "calls", "attributes", "all", "defs", "classes", "lambdas", "targets"],
)
def test_deep_nesting_does_not_crash(adapter, src):
    ev = extract(adapter, src.encode())
    assert ev.symbols[0].kind == "module"


def test_deep_nesting_facts(adapter):
    ifs = "def f(x):\n" + "".join(" " * (i + 1) + "if x:\n" for i in range(500)) + " " * 501 + "yield g(x)\n"
    ev = extract(adapter, ifs)
    assert sym(ev, "pkg.mod.f").extra["is_generator"]
    assert [(c.caller, c.callee) for c in ev.calls] == [("py:pkg.mod.f", "g")]
    classes = "".join(" " * i + f"class C{i}:\n" for i in range(200)) + " " * 200 + "x = 1\n"
    ev = extract(adapter, classes)
    assert ev.symbols[-1].qualname == "pkg.mod." + ".".join(f"C{i}" for i in range(200)) + ".x"
    ev = extract(adapter, "__all__ = " + " + ".join(["['x']"] * 2000) + "\n")
    assert ev.symbols[0].extra["all"] == ["x"] * 2000


_FRAGMENTS = [
    "def ", "class ", "async ", "lambda", "yield", "return", "raise ", "from ", "import ", "@", "(", ")",
    "[", "]", ":", "=", ",", "*", "**", "/", ".", "->", "\n", "    ", "\t", "'", '"', '"""', "\\", "#",
    "if ", "else", "try:", "except", "self.x", "super()", "__all__", "f(", "x", "_y", "1", "\xff", "\x00",
]  # fmt: skip


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=60), st.binary(max_size=20))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_input_never_raises(pieces, noise):
    src = "".join(pieces).encode("utf-8", "surrogatepass") + noise
    ev = get_adapter("python").extract(src, "pkg/mod.py", "pkg.mod")
    ids = [s.id for s in ev.symbols]
    assert len(ids) == len(set(ids))
    assert all(s.parent in ids for s in ev.symbols[1:])
    assert all(c.caller in ids for c in ev.calls)
    assert all(i.scope in ids for i in ev.imports)
