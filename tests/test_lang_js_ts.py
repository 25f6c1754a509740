"""JavaScript, TypeScript and TSX adapters: symbols, imports, resolution, calls, robustness."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.evidence.languages import get_adapter, language_for
from pipeline.evidence.languages.javascript import JavaScriptAdapter, TsxAdapter, TypeScriptAdapter
from pipeline.evidence.model import FileEvidence, ImportRecord, Symbol

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "js"


def extract(language: str, source: str, path: str) -> FileEvidence:
    adapter = get_adapter(language)
    data = textwrap.dedent(source).encode()
    return adapter.extract(data, path, adapter.module_name(path, frozenset({path})))


def by_id(ev: FileEvidence) -> dict[str, Symbol]:
    return {s.id: s for s in ev.symbols}


def params(sym: Symbol) -> list[tuple[str, str, str | None, str | None]]:
    assert sym.params is not None
    return [(p.name, p.kind, p.annotation, p.default) for p in sym.params]


def resolve(language: str, record: ImportRecord, module: str, modules: set[str]) -> str:
    return get_adapter(language).resolve_import(record, module, frozenset(modules))


# -- registry and module names -------------------------------------------------------------


def test_registry_returns_the_three_adapters():
    assert isinstance(get_adapter("javascript"), JavaScriptAdapter)
    assert isinstance(get_adapter("typescript"), TypeScriptAdapter)
    assert isinstance(get_adapter("tsx"), TsxAdapter)
    assert [get_adapter(x).language for x in ("javascript", "typescript", "tsx")] == [
        "javascript",
        "typescript",
        "tsx",
    ]


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("src/utils/math.js", "src/utils/math"),
        ("src/app.ts", "src/app"),
        ("src/App.tsx", "src/App"),
        ("lib/x.mjs", "lib/x"),
        ("index.cjs", "index"),
        ("types/api.d.ts", "types/api.d"),
        ("README", "README"),
    ],
)
def test_module_name_is_the_path_without_extension(path, module):
    language = language_for(path) or "javascript"
    assert get_adapter(language).module_name(path, frozenset({path})) == module


# -- JavaScript ------------------------------------------------------------------------------

JS_SOURCE = """\
/**
 * @file Geometry helpers.
 */
import { sqrt } from './math.js';

/**
 * Distance between two points.
 * @param {Point} a
 */
export function distance(a, b = origin, ...rest) {
  const local = () => helper(a);
  return sqrt(a.x * b.x) + local();
}

export async function* walk({ start }, [first]) {}

function helper(x) {
  return x;
}

export const double = async (n) => n * 2;
const triple = x => x * 3;

export class Point extends Base {
  #secret = 1;
  static origin = () => new Point(0, 0);

  constructor(x, y) {
    super();
    this.x = x;
  }

  /** Length of the vector. */
  get length() {
    return Math.hypot(this.x, this.y);
  }

  scale(factor = 2) {
    this.check().done();
    return this.x.times(factor);
  }

  #hidden() {}
}

const config = { handler() { return 1; } };
export { triple as times3 };
module.exports.legacy = function legacy() {};
"""


@pytest.fixture(scope="module")
def js_ev() -> FileEvidence:
    return extract("javascript", JS_SOURCE, "src/geo.js")


def test_js_module_symbol(js_ev):
    mod = js_ev.symbols[0]
    assert (mod.id, mod.kind, mod.name, mod.qualname) == ("js:src/geo", "module", "geo", "src/geo")
    assert mod.parent is None and mod.line_start == 1 and mod.line_end == JS_SOURCE.count("\n")
    assert mod.docstring == "@file Geometry helpers."
    assert mod.hash == js_ev.hash and js_ev.language == "javascript" and not js_ev.has_errors


def test_js_symbols_kinds_and_parents(js_ev):
    syms = by_id(js_ev)
    expected = {
        "js:src/geo.distance": ("function", "js:src/geo"),
        "js:src/geo.walk": ("function", "js:src/geo"),
        "js:src/geo.helper": ("function", "js:src/geo"),
        "js:src/geo.double": ("function", "js:src/geo"),
        "js:src/geo.triple": ("function", "js:src/geo"),
        "js:src/geo.Point": ("class", "js:src/geo"),
        "js:src/geo.Point.origin": ("method", "js:src/geo.Point"),
        "js:src/geo.Point.constructor": ("method", "js:src/geo.Point"),
        "js:src/geo.Point.length": ("method", "js:src/geo.Point"),
        "js:src/geo.Point.scale": ("method", "js:src/geo.Point"),
        "js:src/geo.Point.#hidden": ("method", "js:src/geo.Point"),
        "js:src/geo.legacy": ("function", "js:src/geo"),
    }
    for sid, (kind, parent) in expected.items():
        assert (syms[sid].kind, syms[sid].parent) == (kind, parent), sid
    # Local arrow functions, object-literal methods and plain fields are not symbols.
    assert "js:src/geo.distance.local" not in syms
    assert "js:src/geo.handler" not in syms and "js:src/geo.config.handler" not in syms
    assert "js:src/geo.Point.#secret" not in syms
    assert {(e.source, e.target, e.kind) for e in js_ev.edges} == {
        (s.parent, s.id, "contains") for s in js_ev.symbols if s.parent
    }


def test_js_lines_hash_and_docstrings(js_ev):
    syms = by_id(js_ev)
    distance = syms["js:src/geo.distance"]
    assert (distance.line_start, distance.line_end) == (10, 13)
    assert distance.docstring == "Distance between two points.\n@param {Point} a"
    assert len(distance.hash) == 16 and distance.hash != syms["js:src/geo.helper"].hash
    assert syms["js:src/geo.Point.length"].docstring == "Length of the vector."
    assert syms["js:src/geo.helper"].docstring is None


def test_js_params(js_ev):
    syms = by_id(js_ev)
    assert params(syms["js:src/geo.distance"]) == [
        ("a", "positional_or_keyword", None, None),
        ("b", "positional_or_keyword", None, "origin"),
        ("rest", "var_positional", None, None),
    ]
    assert [p[0] for p in params(syms["js:src/geo.walk"])] == ["{ start }", "[first]"]
    assert params(syms["js:src/geo.triple"]) == [("x", "positional_or_keyword", None, None)]
    assert params(syms["js:src/geo.Point.scale"]) == [("factor", "positional_or_keyword", None, "2")]
    assert params(syms["js:src/geo.Point.origin"]) == []


def test_js_async_generator_static_getter(js_ev):
    syms = by_id(js_ev)
    assert syms["js:src/geo.double"].extra["is_async"] is True
    assert syms["js:src/geo.distance"].extra["is_async"] is False
    walk = syms["js:src/geo.walk"].extra
    assert walk["is_async"] is True and walk["is_generator"] is True
    assert syms["js:src/geo.Point.origin"].extra.get("is_static") is True
    assert syms["js:src/geo.Point.length"].extra.get("is_property") is True
    assert syms["js:src/geo.Point"].extra["bases"] == ["Base"]


def test_js_public_means_exported(js_ev):
    public = {s.name for s in js_ev.symbols[1:] if s.public}
    assert {
        "distance",
        "walk",
        "double",
        "Point",
        "triple",
        "legacy",
        "scale",
        "length",
        "constructor",
    } <= public
    assert "helper" not in public
    assert "#hidden" not in public


def test_js_calls(js_ev):
    calls = {(c.caller, c.callee) for c in js_ev.calls}
    assert ("js:src/geo.distance", "sqrt") in calls
    # Calls in a local function belong to the enclosing function.
    assert ("js:src/geo.distance", "helper") in calls
    assert ("js:src/geo.Point.scale", "this.x.times") in calls
    assert ("js:src/geo.Point.scale", "this.check") in calls
    assert ("js:src/geo.Point.length", "Math.hypot") in calls
    assert ("js:src/geo.Point.origin", "Point") in calls  # `new Point(...)`
    # `this.check().done()` has a call in its receiver: not a name or member chain.
    assert not any(c.endswith("done") for _, c in calls)
    line = next(c.line for c in js_ev.calls if c.callee == "Math.hypot")
    assert line == JS_SOURCE.splitlines().index("    return Math.hypot(this.x, this.y);") + 1


def test_js_import_forms():
    ev = extract(
        "javascript",
        """\
        import React, { useState as useS, useEffect } from 'react';
        import * as path from "node:path";
        import './styles.css';
        const fs = require('fs');
        const { join, resolve: res } = require('./paths');
        export { a, b as c } from './ab.js';
        export * from '../shared';
        export * as ns from './ns';
        function later() { const late = require('./late'); }
        """,
        "src/app.js",
    )
    got = [(r.module, r.name, r.alias, r.line) for r in ev.imports]
    assert got == [
        ("react", "default", "React", 1),
        ("react", "useState", "useS", 1),
        ("react", "useEffect", "useEffect", 1),
        ("node:path", "*", "path", 2),
        ("./styles.css", None, None, 3),
        ("fs", None, "fs", 4),
        ("./paths", "join", "join", 5),
        ("./paths", "resolve", "res", 5),
        ("./ab.js", "a", "a", 6),
        ("./ab.js", "b", "c", 6),
        ("../shared", "*", None, 7),
        ("./ns", "*", "ns", 8),
        ("./late", None, "late", 9),
    ]
    assert {r.scope for r in ev.imports} == {"js:src/app"}


def test_js_resolve_import():
    modules = {"src/app", "src/utils/math", "src/lib/index", "src/types.d", "shared"}

    def rec(spec: str, name: str | None = None) -> ImportRecord:
        return ImportRecord("js:src/app", spec, name, name, 1)

    assert resolve("javascript", rec("./utils/math", "add"), "src/app", modules) == "src/utils/math.add"
    assert resolve("javascript", rec("./utils/math.js", "add"), "src/app", modules) == "src/utils/math.add"
    assert resolve("javascript", rec("./lib"), "src/app", modules) == "src/lib/index"
    assert resolve("javascript", rec("./lib/", "*"), "src/app", modules) == "src/lib/index"
    assert resolve("javascript", rec("./types", "Link"), "src/app", modules) == "src/types.d.Link"
    assert resolve("javascript", rec("../shared", "default"), "src/app", modules) == "shared"
    assert resolve("javascript", rec("../../up"), "src/app", modules) == "../../up"
    assert resolve("javascript", rec("./missing.js", "x"), "src/app", modules) == "src/missing.x"
    assert resolve("javascript", rec("lodash", "debounce"), "src/app", modules) == "lodash.debounce"
    assert resolve("javascript", rec("node:fs", "*"), "src/app", modules) == "node:fs"
    # Resolution is relative to the importing module's directory.
    assert resolve("javascript", rec("./math", "add"), "src/utils/index", modules) == "src/utils/math.add"


def test_js_commonjs_exports_make_names_public():
    ev = extract(
        "javascript",
        """\
        function parse(text) { return text; }
        function internal() {}
        const render = function () {};
        module.exports = { parse, render: render };
        exports.format = (value) => String(value);
        """,
        "lib/fmt.js",
    )
    syms = by_id(ev)
    assert syms["js:lib/fmt.parse"].public and syms["js:lib/fmt.render"].public
    assert syms["js:lib/fmt.format"].public and not syms["js:lib/fmt.internal"].public


def test_js_default_exports():
    ev = extract("javascript", "export default function (req, res) {}\n", "api/handler.js")
    sym = by_id(ev)["js:api/handler.default"]
    assert sym.kind == "function" and sym.public and [p.name for p in sym.params or []] == ["req", "res"]
    ev = extract("javascript", "function main() {}\nexport default main;\n", "cli.js")
    assert by_id(ev)["js:cli.main"].public


# -- TypeScript ------------------------------------------------------------------------------

TS_SOURCE = """\
import type { Db } from './db';

/** A repository of users. */
export interface Repo<T> extends Base, Other<T> {
  /** Find one. */
  find(id: string, opts?: FindOptions): Promise<T | undefined>;
  count: number;
}

export type UserId = string;
export enum Role { Admin, Member }

@Entity({ table: 'users' })
export class UserRepo extends BaseRepo<User> implements Repo<User> {
  @Inject() private cache = new Map<string, User>();

  constructor(private readonly db: Db, public name = 'users') {
    super();
  }

  @Log('find')
  async find(id: string, opts?: FindOptions): Promise<User | undefined> {
    return this.db.get(id);
  }

  protected validate(...ids: string[]): void {}

  handle = async (event: Event): Promise<void> => { this.find(event.id); };
}

abstract class Shape {
  abstract area(): number;
}

export function parse(value: string): number;
export function parse(value: number): number;
export function parse(value: unknown): number { return Number(value); }

export declare function ambient(x: number): void;

namespace Internal {
  export function visible() {}
  function hidden() {}
}
"""


@pytest.fixture(scope="module")
def ts_ev() -> FileEvidence:
    return extract("typescript", TS_SOURCE, "src/users.ts")


def test_ts_kinds(ts_ev):
    syms = by_id(ts_ev)
    assert syms["ts:src/users"].kind == "module"
    assert syms["ts:src/users.Repo"].kind == "interface"
    assert syms["ts:src/users.UserId"].kind == "type"
    assert syms["ts:src/users.Role"].kind == "enum"
    assert syms["ts:src/users.UserRepo"].kind == "class"
    assert syms["ts:src/users.Shape"].kind == "class" and syms["ts:src/users.Shape"].extra["is_abstract"]
    assert syms["ts:src/users.Shape.area"].kind == "method"
    assert syms["ts:src/users.Repo.find"].kind == "method"
    assert syms["ts:src/users.Repo.find"].parent == "ts:src/users.Repo"
    assert syms["ts:src/users.UserRepo.handle"].kind == "method"
    assert syms["ts:src/users.Internal"].kind == "namespace"
    assert syms["ts:src/users.Internal.visible"].parent == "ts:src/users.Internal"
    assert "ts:src/users.Repo.count" not in syms


def test_ts_params_types_and_returns(ts_ev):
    syms = by_id(ts_ev)
    find = syms["ts:src/users.UserRepo.find"]
    assert params(find) == [
        ("id", "positional_or_keyword", "string", None),
        ("opts", "positional_or_keyword", "FindOptions", None),
    ]
    assert find.returns == "Promise<User | undefined>" and find.extra["is_async"] is True
    assert params(syms["ts:src/users.UserRepo.constructor"]) == [
        ("db", "positional_or_keyword", "Db", None),
        ("name", "positional_or_keyword", None, "'users'"),
    ]
    assert params(syms["ts:src/users.UserRepo.validate"]) == [("ids", "var_positional", "string[]", None)]
    assert syms["ts:src/users.UserRepo.validate"].returns == "void"
    handle = syms["ts:src/users.UserRepo.handle"]
    assert params(handle) == [("event", "positional_or_keyword", "Event", None)]
    assert handle.returns == "Promise<void>" and handle.extra["is_async"] is True
    assert syms["ts:src/users.Repo.find"].returns == "Promise<T | undefined>"


def test_ts_bases_decorators_docstrings(ts_ev):
    syms = by_id(ts_ev)
    assert syms["ts:src/users.Repo"].extra["bases"] == ["Base", "Other<T>"]
    assert syms["ts:src/users.UserRepo"].extra["bases"] == ["BaseRepo<User>", "Repo<User>"]
    assert syms["ts:src/users.UserRepo"].decorators == ["Entity({ table: 'users' })"]
    assert syms["ts:src/users.UserRepo.find"].decorators == ["Log('find')"]
    assert syms["ts:src/users.Repo"].docstring == "A repository of users."
    assert syms["ts:src/users.Repo.find"].docstring == "Find one."


def test_ts_public_and_private(ts_ev):
    syms = by_id(ts_ev)
    assert syms["ts:src/users.UserRepo"].public and syms["ts:src/users.UserRepo.find"].public
    assert not syms["ts:src/users.UserRepo.validate"].public  # protected
    assert syms["ts:src/users.UserRepo.validate"].extra["accessibility"] == "protected"
    assert syms["ts:src/users.Repo.find"].public
    # Members of a non-exported class are not public.
    assert not syms["ts:src/users.Shape"].public and not syms["ts:src/users.Shape.area"].public
    assert syms["ts:src/users.ambient"].public
    assert not syms["ts:src/users.Internal"].public and not syms["ts:src/users.Internal.visible"].public


def test_ts_overloads_are_one_symbol(ts_ev):
    parses = [s for s in ts_ev.symbols if s.name == "parse"]
    assert len(parses) == 1
    assert parses[0].extra["overloads"] == 3
    assert params(parses[0]) == [("value", "positional_or_keyword", "string", None)]


def test_ts_import_type_and_calls(ts_ev):
    assert [(r.module, r.name, r.alias) for r in ts_ev.imports] == [("./db", "Db", "Db")]
    calls = {(c.caller, c.callee) for c in ts_ev.calls}
    assert ("ts:src/users.UserRepo.find", "this.db.get") in calls
    assert ("ts:src/users.UserRepo.handle", "this.find") in calls
    # The implementation's calls belong to the one symbol its overloads share.
    assert ("ts:src/users.parse", "Number") in calls


def test_tsx_component():
    ev = extract(
        "tsx",
        """\
        import { useState } from 'react';
        interface Props { name: string }
        /** Greets someone. */
        export function Hello({ name }: Props): JSX.Element {
          const [n, setN] = useState(0);
          return <button onClick={() => setN(n + 1)}>{name} {n}</button>;
        }
        """,
        "src/Hello.tsx",
    )
    syms = by_id(ev)
    hello = syms["tsx:src/Hello.Hello"]
    assert hello.language == "tsx" and hello.public and hello.docstring == "Greets someone."
    assert params(hello) == [("{ name }", "positional_or_keyword", "Props", None)]
    assert syms["tsx:src/Hello.Props"].kind == "interface" and not syms["tsx:src/Hello.Props"].public
    assert {c.callee for c in ev.calls} == {"useState", "setN"}
    assert not ev.has_errors


# -- robustness -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["javascript", "typescript", "tsx"])
def test_empty_file(language):
    ev = extract(language, "", "src/empty.ts")
    assert [s.kind for s in ev.symbols] == ["module"]
    assert ev.symbols[0].line_end == 1
    assert not ev.imports and not ev.calls and not ev.edges and not ev.has_errors


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_syntax_error_is_recorded_and_the_rest_extracted(language):
    ev = extract(
        language,
        """\
        export function good(a) { return a; }
        function broken( { ;
        export class After { run() { go(); } }
        """,
        "src/bad.js",
    )
    assert ev.has_errors and ev.error_lines and min(ev.error_lines) >= 2
    assert ev.symbols[0].extra["has_errors"] is True
    names = {s.name for s in ev.symbols}
    assert "good" in names


@pytest.mark.parametrize("language", ["javascript", "typescript"])
def test_deep_nesting_does_not_crash(language):
    depth = 3000
    source = (
        "export function outer() {"
        + "if (x) {" * depth
        + "inner();"
        + "}" * depth
        + "}\n"
        + "const v = "
        + "[" * depth
        + "f()"
        + "]" * depth
        + ";\n"
        + "function a() {" * depth
        + "}" * depth
    )
    start = time.perf_counter()
    ev = get_adapter(language).extract(source.encode(), "deep.js", "deep")
    assert time.perf_counter() - start < 10
    syms = by_id(ev)
    assert f"{ev.symbols[0].id}.outer" in syms and f"{ev.symbols[0].id}.a" in syms
    assert ("inner" in {c.callee for c in ev.calls}) and ("f" in {c.callee for c in ev.calls})
    # The nested functions inside `a` are local: not symbols.
    assert len(ev.symbols) == 3


_JS_TOKENS = [
    *"{}()[];,.=<>:?!*/@#`'\"\n abcfx0123",
    "function ",
    "class ",
    "export ",
    "import ",
    "=> ",
    "async ",
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([*_JS_TOKENS, "/**", "*/", "extends ", "interface "]), max_size=120).map("".join)
)
def test_arbitrary_input_never_raises(source):
    for language in ("javascript", "typescript", "tsx"):
        ev = get_adapter(language).extract(source.encode(), "f.ts", "f")
        assert ev.symbols[0].kind == "module"
        assert len({s.id for s in ev.symbols}) == len(ev.symbols)
        ids = {s.id for s in ev.symbols}
        assert all(s.parent in ids for s in ev.symbols[1:])


def test_invalid_utf8_is_replaced_not_raised():
    ev = get_adapter("javascript").extract(
        b"export function f\xff() {}\nexport const g = () => 1;\n", "x.js", "x"
    )
    assert "js:x.g" in by_id(ev)


# -- the example repository -----------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> tuple[dict[str, FileEvidence], dict[str, Symbol], frozenset[str]]:
    files = frozenset(str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*") if p.is_file())
    evidence: dict[str, FileEvidence] = {}
    for rel in sorted(files):
        language = language_for(rel)
        if language is None:
            continue
        adapter = get_adapter(language)
        evidence[rel] = adapter.extract((EXAMPLE / rel).read_bytes(), rel, adapter.module_name(rel, files))
    symbols = {s.id: s for ev in evidence.values() for s in ev.symbols}
    return evidence, symbols, frozenset(ev.module for ev in evidence.values())


def test_example_files_parse_cleanly(example):
    evidence, _, _ = example
    assert {"bin/shortlinks.js", "src/util/slug.js", "src/store.ts", "src/cli.ts", "src/types.ts"} <= set(
        evidence
    )
    assert not [rel for rel, ev in evidence.items() if ev.has_errors]


def test_example_key_symbols(example):
    _, symbols, _ = example
    assert symbols["ts:src/types.Link"].kind == "interface"
    assert symbols["ts:src/types.LinkInput"].kind == "type"
    assert symbols["ts:src/types.LinkStore.get"].kind == "method"
    assert symbols["ts:src/store.MemoryStore"].extra["bases"] == ["LinkStore"]
    assert symbols["ts:src/store.JsonFileStore"].extra["bases"] == ["MemoryStore"]
    assert not symbols["ts:src/store.JsonFileStore.load"].public
    shorten = symbols["ts:src/shortener.Shortener.shorten"]
    assert shorten.returns == "Promise<Link>" and shorten.extra["is_async"]
    assert "SlugError" in (shorten.docstring or "")
    assert symbols["ts:src/cli.main"].public and symbols["ts:src/cli.main"].returns == "Promise<number>"
    assert params(symbols["js:src/util/slug.slugify"]) == [
        ("text", "positional_or_keyword", None, None),
        ("maxLength", "positional_or_keyword", None, "32"),
    ]
    assert symbols["js:src/util/slug.normalizeUrl"].kind == "function"
    assert (
        symbols["js:src/util/slug"].docstring
        == "@file Slug helpers shared by the shortener and the command line."
    )


def test_example_imports_resolve_between_modules(example):
    evidence, _, modules = example
    adapter = get_adapter("typescript")
    cli = evidence["src/cli.ts"]
    targets = {adapter.resolve_import(r, cli.module, modules) for r in cli.imports}
    assert targets == {
        "commander.Command",
        "src/shortener.Shortener",
        "src/store.JsonFileStore",
        "src/store.MemoryStore",
        "src/types.LinkStore",
    }
    index = evidence["src/index.ts"]
    assert "src/util/slug" in {adapter.resolve_import(r, index.module, modules) for r in index.imports}
    test_ev = evidence["test/slug.test.js"]
    js = get_adapter("javascript")
    assert "src/util/slug.slugify" in {js.resolve_import(r, test_ev.module, modules) for r in test_ev.imports}
