"""Go, Rust and Java adapters: symbols, imports, resolution, calls, robustness."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.evidence.languages import get_adapter, language_for
from pipeline.evidence.languages.go import GoAdapter
from pipeline.evidence.languages.java import JavaAdapter
from pipeline.evidence.languages.rust import RustAdapter
from pipeline.evidence.model import FileEvidence, ImportRecord, Symbol

EXAMPLE_GO = Path(__file__).resolve().parent.parent / "examples" / "go"


def extract(language: str, source: str, path: str, files: frozenset[str] | None = None) -> FileEvidence:
    adapter = get_adapter(language)
    data = textwrap.dedent(source).encode()
    return adapter.extract(data, path, adapter.module_name(path, files or frozenset({path})))


def by_id(ev: FileEvidence) -> dict[str, Symbol]:
    return {s.id: s for s in ev.symbols}


def params(sym: Symbol) -> list[tuple[str, str, str | None, str | None]]:
    assert sym.params is not None
    return [(p.name, p.kind, p.annotation, p.default) for p in sym.params]


def assert_well_formed(ev: FileEvidence) -> None:
    ids = [s.id for s in ev.symbols]
    assert len(ids) == len(set(ids))
    assert all(s.parent in set(ids) for s in ev.symbols[1:])
    assert {(e.source, e.target, e.kind) for e in ev.edges} == {
        (s.parent, s.id, "contains") for s in ev.symbols if s.parent
    }


def test_registry():
    assert isinstance(get_adapter("go"), GoAdapter)
    assert isinstance(get_adapter("rust"), RustAdapter)
    assert isinstance(get_adapter("java"), JavaAdapter)


# -- Go ----------------------------------------------------------------------------------------

GO_SOURCE = """\
// Package store keeps items in memory.
package store

import (
	"context"
	"fmt"
	str "strings"
	_ "embed"
	. "math"

	"example.com/app/internal/model"
	"gopkg.in/yaml.v3"
	"github.com/acme/client/v2"
)

// Get returns the item stored under key.
// It never blocks.
func (s *Store) Get(ctx context.Context, key string) (model.Item, error) {
	fmt.Println(str.ToUpper(key))
	s.log.Debug("get", key)
	return s.items[key], nil
}

// Store holds items.
type Store struct {
	Base
	*sync.Mutex
	items   map[string]model.Item
	log     Logger
}

type Getter interface {
	io.Closer
	// Get fetches one item.
	Get(ctx context.Context, key string) (model.Item, error)
	Put(string, ...model.Item) error
}

type (
	// ID identifies an item.
	ID     string
	Alias = int
)

// New builds a Store.
func New[T any](size, shards int, opts ...Option) *Store {
	return &Store{items: make(map[string]model.Item, size)}
}

func (s Store) size() int { return len(s.items) }

func (e *external) Run() {}

func helper() {
	func() { New(1, 2) }()
}
"""


@pytest.fixture(scope="module")
def go_ev() -> FileEvidence:
    return extract("go", GO_SOURCE, "internal/store/store.go")


def test_go_module_name():
    go = get_adapter("go")
    assert go.module_name("internal/store/store.go", frozenset()) == "internal/store"
    assert go.module_name("cmd/app/main.go", frozenset()) == "cmd/app"
    assert go.module_name("main.go", frozenset()) == "main"


def test_go_package_symbol(go_ev):
    pkg = go_ev.symbols[0]
    assert (pkg.id, pkg.kind, pkg.name, pkg.qualname) == (
        "go:internal/store",
        "package",
        "store",
        "internal/store",
    )
    assert pkg.docstring == "Package store keeps items in memory."
    assert pkg.extra["package"] == "store"
    assert_well_formed(go_ev)
    # Every file of the directory names the same package symbol.
    other = extract("go", "package store\n\nfunc Other() {}\n", "internal/store/other.go")
    assert other.symbols[0].id == pkg.id
    assert by_id(other)["go:internal/store.Other"].parent == pkg.id


def test_go_kinds_and_parents(go_ev):
    syms = by_id(go_ev)
    expected = {
        "go:internal/store.Store": ("struct", "go:internal/store"),
        "go:internal/store.Store.Get": ("method", "go:internal/store.Store"),
        "go:internal/store.Store.size": ("method", "go:internal/store.Store"),
        "go:internal/store.Getter": ("interface", "go:internal/store"),
        "go:internal/store.Getter.Get": ("method", "go:internal/store.Getter"),
        "go:internal/store.Getter.Put": ("method", "go:internal/store.Getter"),
        "go:internal/store.ID": ("type", "go:internal/store"),
        "go:internal/store.Alias": ("type", "go:internal/store"),
        "go:internal/store.New": ("function", "go:internal/store"),
        "go:internal/store.helper": ("function", "go:internal/store"),
        # The receiver type is declared elsewhere: the method hangs off the package.
        "go:internal/store.external.Run": ("method", "go:internal/store"),
    }
    for sid, (kind, parent) in expected.items():
        assert (syms[sid].kind, syms[sid].parent) == (kind, parent), sid
    assert syms["go:internal/store.external.Run"].extra["receiver"] == "external"


def test_go_receivers_params_returns(go_ev):
    syms = by_id(go_ev)
    get = syms["go:internal/store.Store.Get"]
    assert get.extra["receiver"] == "Store" and get.extra["pointer_receiver"] is True
    assert params(get) == [
        ("ctx", "positional_or_keyword", "context.Context", None),
        ("key", "positional_or_keyword", "string", None),
    ]
    assert get.returns == "(model.Item, error)"
    assert syms["go:internal/store.Store.size"].extra["pointer_receiver"] is False
    assert params(syms["go:internal/store.New"]) == [
        ("size", "positional_or_keyword", "int", None),
        ("shards", "positional_or_keyword", "int", None),
        ("opts", "var_positional", "Option", None),
    ]
    assert syms["go:internal/store.New"].returns == "*Store"
    assert syms["go:internal/store.New"].extra["type_params"] == "[T any]"
    assert params(syms["go:internal/store.Getter.Put"]) == [
        ("_", "positional_or_keyword", "string", None),
        ("_", "var_positional", "model.Item", None),
    ]
    assert syms["go:internal/store.helper"].returns is None


def test_go_docstrings_bases_public(go_ev):
    syms = by_id(go_ev)
    assert (
        syms["go:internal/store.Store.Get"].docstring
        == "Get returns the item stored under key.\nIt never blocks."
    )
    assert syms["go:internal/store.Store"].docstring == "Store holds items."
    assert syms["go:internal/store.Getter.Get"].docstring == "Get fetches one item."
    assert syms["go:internal/store.ID"].docstring == "ID identifies an item."
    assert syms["go:internal/store.Getter"].docstring is None
    assert syms["go:internal/store.Store"].extra["bases"] == ["Base", "*sync.Mutex"]
    assert syms["go:internal/store.Store"].extra["fields"] == ["items", "log"]
    assert syms["go:internal/store.Getter"].extra["bases"] == ["io.Closer"]
    public = {s.qualname for s in go_ev.symbols[1:] if s.public}
    assert {
        "internal/store.Store",
        "internal/store.Store.Get",
        "internal/store.New",
        "internal/store.ID",
    } <= public
    assert not public & {"internal/store.helper", "internal/store.Store.size", "internal/store.external.Run"}


def test_go_imports(go_ev):
    got = [(r.module, r.name, r.alias) for r in go_ev.imports]
    assert got == [
        ("context", None, "context"),
        ("fmt", None, "fmt"),
        ("strings", None, "str"),
        ("embed", None, None),
        ("math", "*", None),
        ("example.com/app/internal/model", None, "model"),
        ("gopkg.in/yaml.v3", None, "yaml"),
        ("github.com/acme/client/v2", None, "client"),
    ]
    assert go_ev.imports[0].line == 5 and {r.scope for r in go_ev.imports} == {"go:internal/store"}


def test_go_resolve_import():
    go = get_adapter("go")
    modules = frozenset({"internal/model", "model", "main", "cmd/app", "fmt2"})

    def resolve(path: str) -> str:
        return go.resolve_import(ImportRecord("go:cmd/app", path, None, None, 1), "cmd/app", modules)

    assert resolve("example.com/app/internal/model") == "internal/model"
    assert resolve("github.com/other/model") == "model"
    assert resolve("fmt") == "fmt"
    assert resolve("net/http") == "net/http"
    assert resolve("github.com/acme/client/v2") == "github.com/acme/client/v2"


def test_go_calls(go_ev):
    calls = {(c.caller, c.callee) for c in go_ev.calls}
    assert ("go:internal/store.Store.Get", "fmt.Println") in calls
    assert ("go:internal/store.Store.Get", "str.ToUpper") in calls
    assert ("go:internal/store.Store.Get", "s.log.Debug") in calls
    assert ("go:internal/store.New", "make") in calls
    assert ("go:internal/store.helper", "New") in calls  # inside a function literal


def test_go_empty_and_broken():
    empty = extract("go", "", "pkg/empty.go")
    assert [s.kind for s in empty.symbols] == ["package"] and empty.symbols[0].id == "go:pkg"
    assert not empty.imports and not empty.calls and not empty.has_errors
    broken = extract("go", "package a\n\nfunc Good() {}\n\nfunc Bad( {\n\ntype T struct{}\n", "a/a.go")
    assert broken.has_errors and broken.error_lines and broken.symbols[0].extra["has_errors"]
    assert "go:a.Good" in by_id(broken)


# -- Rust --------------------------------------------------------------------------------------

RUST_SOURCE = """\
//! Storage for items.
//! Thread safe.

use crate::model::{Item, Kind as ItemKind, errors::{self, Error}};
use std::collections::HashMap;
use super::*;
use serde;
mod cache;

/// A keyed store.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store<T> {
    pub items: HashMap<String, T>,
    hits: u64,
}

pub(crate) enum State { Empty, Full(usize) }

/// Reads items.
pub trait Reader: Send + Sync {
    /// Fetch one item.
    fn get(&self, key: &str) -> Option<Item>;
    fn name() -> String { String::from("reader") }
}

impl<T: Clone> Store<T> {
    /// Make an empty store.
    pub fn new(capacity: usize) -> Self {
        Self::with_items(HashMap::with_capacity(capacity))
    }

    pub async fn load(&mut self, mut path: String, (a, b): (u8, u8)) -> Result<(), Error> {
        self.items.clear();
        helpers::read::<T>(&path);
        println!("loaded");
        Ok(())
    }

    fn bump(&mut self) { fn local() {} self.hits += 1; }
}

impl Reader for Store<Item> {
    type Output = Item;
    fn get(&self, key: &str) -> Option<Item> { self.items.get(key).cloned() }
}

impl std::fmt::Display for Other {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { Ok(()) }
}

pub type Shared = std::sync::Arc<Store<Item>>;

pub unsafe extern "C" fn ffi(x: i32, ...) {}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    pub fn works() { assert!(true); }
}
"""


@pytest.fixture(scope="module")
def rs_ev() -> FileEvidence:
    return extract("rust", RUST_SOURCE, "src/store/mod.rs")


def test_rust_module_names():
    rust = get_adapter("rust")
    files = frozenset({"src/lib.rs", "src/main.rs", "src/a/b.rs", "src/a/mod.rs", "tests/it.rs", "build.rs"})
    assert rust.module_name("src/lib.rs", files) == "crate"
    assert rust.module_name("src/main.rs", files) == "crate"
    assert rust.module_name("src/a/b.rs", files) == "crate::a::b"
    assert rust.module_name("src/a/mod.rs", files) == "crate::a"
    assert rust.module_name("tests/it.rs", files) == "tests::it"
    workspace = frozenset({"crates/io-util/src/lib.rs", "crates/core/src/x/mod.rs"})
    assert rust.module_name("crates/io-util/src/lib.rs", workspace) == "io_util"
    assert rust.module_name("crates/core/src/x/mod.rs", workspace) == "core::x"
    # One crate in a sub-folder is still `crate`.
    assert rust.module_name("rust/src/x.rs", frozenset({"rust/src/lib.rs", "rust/src/x.rs"})) == "crate::x"


def test_rust_symbols(rs_ev):
    syms = by_id(rs_ev)
    assert_well_formed(rs_ev)
    mod = rs_ev.symbols[0]
    assert (mod.id, mod.kind, mod.docstring) == (
        "rs:crate::store",
        "module",
        "Storage for items.\nThread safe.",
    )
    expected = {
        "rs:crate::store::Store": ("struct", "rs:crate::store"),
        "rs:crate::store::State": ("enum", "rs:crate::store"),
        "rs:crate::store::Reader": ("trait", "rs:crate::store"),
        "rs:crate::store::Reader::get": ("method", "rs:crate::store::Reader"),
        "rs:crate::store::Reader::name": ("method", "rs:crate::store::Reader"),
        "rs:crate::store::Store::new": ("method", "rs:crate::store::Store"),
        "rs:crate::store::Store::load": ("method", "rs:crate::store::Store"),
        "rs:crate::store::Store::bump": ("method", "rs:crate::store::Store"),
        "rs:crate::store::Store::get": ("method", "rs:crate::store::Store"),
        "rs:crate::store::Other::fmt": ("method", "rs:crate::store"),
        "rs:crate::store::Shared": ("type", "rs:crate::store"),
        "rs:crate::store::ffi": ("function", "rs:crate::store"),
        "rs:crate::store::tests": ("module", "rs:crate::store"),
        "rs:crate::store::tests::works": ("function", "rs:crate::store::tests"),
    }
    for sid, (kind, parent) in expected.items():
        assert (syms[sid].kind, syms[sid].parent) == (kind, parent), sid
    # impl blocks and their associated types are not symbols; nested fns are local.
    assert "rs:crate::store::Store::Output" not in syms
    assert not [s for s in rs_ev.symbols if s.kind == "impl"]
    assert "rs:crate::store::Store::bump::local" not in syms and "rs:crate::store::local" not in syms


def test_rust_params_receivers_returns(rs_ev):
    syms = by_id(rs_ev)
    load = syms["rs:crate::store::Store::load"]
    assert params(load) == [
        ("path", "positional_or_keyword", "String", None),
        ("(a, b)", "positional_or_keyword", "(u8, u8)", None),
    ]
    assert load.extra["self"] == "&mut self" and load.extra["receiver"] == "Store"
    assert load.extra["is_async"] is True and load.returns == "Result<(), Error>"
    new = syms["rs:crate::store::Store::new"]
    assert params(new) == [("capacity", "positional_or_keyword", "usize", None)]
    assert new.extra["is_static"] is True and "self" not in new.extra and new.returns == "Self"
    assert syms["rs:crate::store::Store::get"].extra["trait"] == "Reader"
    assert syms["rs:crate::store::Other::fmt"].extra["receiver"] == "Other"
    assert params(syms["rs:crate::store::Reader::get"]) == [("key", "positional_or_keyword", "&str", None)]
    ffi = syms["rs:crate::store::ffi"]
    assert params(ffi)[-1][1] == "var_positional" and ffi.extra["is_unsafe"] is True


def test_rust_docs_attributes_bases(rs_ev):
    syms = by_id(rs_ev)
    store = syms["rs:crate::store::Store"]
    assert store.docstring == "A keyed store.\nCheap to clone."
    assert store.decorators == ["derive(Debug, Clone)"]
    assert store.extra["fields"] == ["items", "hits"]
    assert store.extra["bases"] == ["Reader"]  # traits implemented in this file
    assert syms["rs:crate::store::Reader"].extra["bases"] == ["Send", "Sync"]
    assert syms["rs:crate::store::Reader::get"].docstring == "Fetch one item."
    assert syms["rs:crate::store::Store::new"].docstring == "Make an empty store."
    assert syms["rs:crate::store::State"].extra["variants"] == ["Empty", "Full"]
    assert syms["rs:crate::store::tests::works"].decorators == ["test"]


def test_rust_visibility(rs_ev):
    syms = by_id(rs_ev)
    public = {sid for sid, s in syms.items() if s.public}
    assert {
        "rs:crate::store::Store",
        "rs:crate::store::Store::new",
        "rs:crate::store::Store::load",
        "rs:crate::store::Store::get",  # trait impl of a public type
        "rs:crate::store::Reader::get",
        "rs:crate::store::Shared",
    } <= public
    assert syms["rs:crate::store::State"].extra["visibility"] == "pub(crate)"
    assert not public & {
        "rs:crate::store::State",
        "rs:crate::store::Store::bump",
        "rs:crate::store::tests",
        "rs:crate::store::tests::works",  # `pub` inside a private module
    }


def test_rust_use_and_mod_records(rs_ev):
    got = [(r.scope, r.module, r.name, r.alias) for r in rs_ev.imports]
    scope = "rs:crate::store"
    assert got == [
        (scope, "crate::model", "Item", "Item"),
        (scope, "crate::model", "Kind", "ItemKind"),
        (scope, "crate::model::errors", None, "errors"),
        (scope, "crate::model::errors", "Error", "Error"),
        (scope, "std::collections", "HashMap", "HashMap"),
        (scope, "super", "*", None),
        (scope, "serde", None, "serde"),
        (scope, "self::cache", None, "cache"),
        ("rs:crate::store::tests", "super", "*", None),
    ]


def test_rust_resolve_import():
    rust = get_adapter("rust")
    modules = frozenset({"crate", "crate::model", "crate::store", "crate::store::cache", "crate::util"})

    def resolve(scope: str, module: str, name: str | None) -> str:
        record = ImportRecord(f"rs:{scope}", module, name, name, 1)
        return rust.resolve_import(record, "crate::store", modules)

    assert resolve("crate::store", "crate::model", "Item") == "crate::model::Item"
    assert resolve("crate::store", "self::cache", None) == "crate::store::cache"
    assert resolve("crate::store", "super", "*") == "crate"
    assert resolve("crate::store::tests", "super", "*") == "crate::store"
    assert resolve("crate::store", "super::super::util", "f") == "crate::util::f"
    assert resolve("crate::store", "cache", "Lru") == "crate::store::cache::Lru"  # a child module
    assert resolve("crate::store", "util", "f") == "crate::util::f"  # a crate-level module
    assert resolve("crate::store", "std::collections", "HashMap") == "std::collections::HashMap"
    assert resolve("crate::store", "::serde", None) == "serde"
    workspace = frozenset({"io_util", "io_util::net"})
    record = ImportRecord("rs:io_util::net", "crate", "Config", "Config", 1)
    assert rust.resolve_import(record, "io_util::net", workspace) == "io_util::Config"


def test_rust_calls(rs_ev):
    calls = {(c.caller, c.callee) for c in rs_ev.calls}
    assert ("rs:crate::store::Store::new", "Self::with_items") in calls
    assert ("rs:crate::store::Store::new", "HashMap::with_capacity") in calls
    assert ("rs:crate::store::Store::load", "self.items.clear") in calls
    assert ("rs:crate::store::Store::load", "helpers::read") in calls
    assert not any(callee.startswith("println") for _, callee in calls)  # macros are not calls
    # `self.items.get(key).cloned()` has a call in its receiver.
    assert ("rs:crate::store::Store::get", "self.items.get") in calls
    assert not any(callee.endswith("cloned") for _, callee in calls)


def test_rust_empty_and_broken():
    empty = extract("rust", "", "src/lib.rs")
    assert [s.id for s in empty.symbols] == ["rs:crate"] and not empty.imports and not empty.has_errors
    broken = extract("rust", "pub fn good() {}\nfn bad( {\npub struct After;\n", "src/x.rs")
    assert broken.has_errors and broken.error_lines and broken.symbols[0].extra["has_errors"]
    assert "rs:crate::x::good" in by_id(broken)


# -- Java --------------------------------------------------------------------------------------

JAVA_SOURCE = """\
package com.example.store;

import java.util.List;
import java.util.*;
import static org.junit.Assert.assertEquals;

/**
 * An item store.
 * Thread safe.
 */
@Deprecated
@SuppressWarnings("unchecked")
public class ItemStore<T> extends BaseStore implements Store<T>, AutoCloseable {
    /** Creates a store. */
    public ItemStore(int capacity, String... names) { super(capacity); }

    @Override
    public List<T> find(final String key, int[] ids, String legacy[]) throws IOException, StoreException {
        this.check(key);
        helper();
        repo.items.lookup(key);
        new Cursor<T>(key);
        build().run();
        Runnable r = new Runnable() { public void run() { inner(); } };
        return null;
    }

    protected static int count() { return 0; }
    void pkgPrivate() {}

    private static class Cursor<T> { public void next() {} }
    public interface Listener { void onChange(String key); }
    public enum Mode { FAST, SAFE; public boolean safe() { return this == SAFE; } }
    public record Entry(String key, int value) {}
    public void find(int id) {}
}

class Helper { public void help() {} }
@interface Audit { String value(); }
"""


@pytest.fixture(scope="module")
def java_ev() -> FileEvidence:
    return extract("java", JAVA_SOURCE, "src/main/java/com/example/store/ItemStore.java")


def test_java_module_names():
    java = get_adapter("java")
    assert java.module_name("src/main/java/com/example/Foo.java", frozenset()) == "com.example.Foo"
    assert java.module_name("app/src/com/x/Y.java", frozenset()) == "com.x.Y"
    assert java.module_name("Main.java", frozenset()) == "Main"
    # The declared package wins over the path.
    ev = extract("java", "package org.acme;\nclass Odd {}\n", "weird/place/Odd.java")
    assert ev.module == "org.acme.Odd" and ev.symbols[0].id == "java:org.acme.Odd"
    assert "java:org.acme.Odd.Odd" in by_id(ev)
    nopkg = extract("java", "class Tool {}\n", "tools/Tool.java")
    assert nopkg.module == "tools.Tool" and "java:tools.Tool.Tool" in by_id(nopkg)


def test_java_symbols(java_ev):
    syms = by_id(java_ev)
    assert_well_formed(java_ev)
    m = "java:com.example.store.ItemStore"
    mod = java_ev.symbols[0]
    assert (mod.id, mod.kind, mod.name, mod.extra["package"]) == (
        m,
        "module",
        "ItemStore",
        "com.example.store",
    )
    expected = {
        f"{m}.ItemStore": ("class", m),
        f"{m}.ItemStore.ItemStore": ("method", f"{m}.ItemStore"),
        f"{m}.ItemStore.find": ("method", f"{m}.ItemStore"),
        f"{m}.ItemStore.count": ("method", f"{m}.ItemStore"),
        f"{m}.ItemStore.Cursor": ("class", f"{m}.ItemStore"),
        f"{m}.ItemStore.Cursor.next": ("method", f"{m}.ItemStore.Cursor"),
        f"{m}.ItemStore.Listener": ("interface", f"{m}.ItemStore"),
        f"{m}.ItemStore.Listener.onChange": ("method", f"{m}.ItemStore.Listener"),
        f"{m}.ItemStore.Mode": ("enum", f"{m}.ItemStore"),
        f"{m}.ItemStore.Mode.safe": ("method", f"{m}.ItemStore.Mode"),
        f"{m}.ItemStore.Entry": ("class", f"{m}.ItemStore"),
        f"{m}.Helper": ("class", m),
        f"{m}.Audit": ("interface", m),
        f"{m}.Audit.value": ("method", f"{m}.Audit"),
    }
    for sid, (kind, parent) in expected.items():
        assert (syms[sid].kind, syms[sid].parent) == (kind, parent), sid
    # Methods of anonymous classes are not members of the enclosing class.
    assert f"{m}.ItemStore.run" not in syms
    assert syms[f"{m}.ItemStore.find"].extra["overloads"] == 2


def test_java_params_returns_modifiers(java_ev):
    syms = by_id(java_ev)
    m = "java:com.example.store.ItemStore.ItemStore"
    find = syms[f"{m}.find"]
    assert params(find) == [
        ("key", "positional_or_keyword", "String", None),
        ("ids", "positional_or_keyword", "int[]", None),
        ("legacy", "positional_or_keyword", "String[]", None),
    ]
    assert find.returns == "List<T>" and find.decorators == ["Override"]
    assert find.extra["raises"] == ["IOException", "StoreException"]
    ctor = syms[f"{m}.ItemStore"]
    assert params(ctor) == [
        ("capacity", "positional_or_keyword", "int", None),
        ("names", "var_positional", "String", None),
    ]
    assert ctor.returns is None and ctor.extra["is_constructor"] is True
    assert ctor.docstring == "Creates a store."
    assert syms[f"{m}.count"].extra["is_static"] is True and syms[f"{m}.count"].returns == "int"
    assert syms[f"{m}.Entry"].extra["components"] == ["key", "value"]


def test_java_class_facts(java_ev):
    cls = by_id(java_ev)["java:com.example.store.ItemStore.ItemStore"]
    assert cls.docstring == "An item store.\nThread safe."
    assert cls.decorators == ["Deprecated", 'SuppressWarnings("unchecked")']
    assert cls.extra["bases"] == ["BaseStore", "Store<T>", "AutoCloseable"]
    assert (cls.line_start, cls.line_end) == (11, 36)


def test_java_public_requires_public_parents(java_ev):
    syms = by_id(java_ev)
    m = "java:com.example.store.ItemStore"
    public = {sid for sid, s in syms.items() if s.public}
    assert {
        f"{m}.ItemStore",
        f"{m}.ItemStore.find",
        f"{m}.ItemStore.Listener.onChange",
        f"{m}.ItemStore.Mode.safe",
    } <= (public)
    assert not public & {
        f"{m}.ItemStore.count",  # protected
        f"{m}.ItemStore.pkgPrivate",
        f"{m}.ItemStore.Cursor",  # private class
        f"{m}.ItemStore.Cursor.next",  # public member of a private class
        f"{m}.Helper",
        f"{m}.Helper.help",
        f"{m}.Audit.value",  # member of a package-private annotation type
    }


def test_java_imports_and_resolution(java_ev):
    got = [(r.module, r.name, r.alias, r.line) for r in java_ev.imports]
    assert got == [
        ("java.util", "List", "List", 3),
        ("java.util", "*", None, 4),
        ("org.junit.Assert", "assertEquals", "assertEquals", 5),
    ]
    java = get_adapter("java")
    modules = frozenset({"com.example.model.User"})
    record = ImportRecord("java:x", "com.example.model", "User", "User", 1)
    assert java.resolve_import(record, "x", modules) == "com.example.model.User"
    assert java.resolve_import(java_ev.imports[1], java_ev.module, modules) == "java.util"


def test_java_calls(java_ev):
    m = "java:com.example.store.ItemStore.ItemStore"
    calls = {(c.caller, c.callee) for c in java_ev.calls}
    assert {
        (f"{m}.find", x) for x in ("this.check", "helper", "repo.items.lookup", "Cursor", "build", "inner")
    } <= calls
    assert not any(callee.endswith("run") for _, callee in calls)  # receiver is a call


def test_java_empty_and_broken():
    empty = extract("java", "", "src/Empty.java")
    assert [s.kind for s in empty.symbols] == ["module"] and not empty.imports and not empty.has_errors
    broken = extract("java", "public class A {\n  public void ok() {}\n  void bad( {\n}\n", "A.java")
    assert broken.has_errors and broken.error_lines and broken.symbols[0].extra["has_errors"]
    assert "java:A.A.ok" in by_id(broken)


# -- robustness, all three -----------------------------------------------------------------------


DEEP = 3000
DEEP_SOURCES = {
    "go": ("deep/a.go", "package a\nfunc F() {" + "if x {" * DEEP + "g()" + "}" * DEEP + "}\n"),
    "rust": (
        "src/lib.rs",
        "pub fn f() {" + "{" * DEEP + "g();" + "}" * DEEP + "}\n" + "mod m {" * 300 + "}" * 300,
    ),
    "java": (
        "A.java",
        "class A { void f() {"
        + "if (x) {" * DEEP
        + "g();"
        + "}" * DEEP
        + "} }\n"
        + "class B {" * 300
        + "}" * 300,
    ),
}


@pytest.mark.parametrize("language", sorted(DEEP_SOURCES))
def test_deep_nesting_does_not_crash(language):
    path, source = DEEP_SOURCES[language]
    adapter = get_adapter(language)
    start = time.perf_counter()
    ev = adapter.extract(source.encode(), path, adapter.module_name(path, frozenset({path})))
    assert time.perf_counter() - start < 10
    assert "g" in {c.callee for c in ev.calls}
    assert_well_formed(ev)
    assert len(ev.symbols) > 1


_TOKENS = [
    *"{}()[];,.:=<>*&!#@/\n \"'`abfxT01",
    "func ",
    "fn ",
    "impl ",
    "class ",
    "package ",
    "mod ",
    "use ",
    "pub ",
]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.sampled_from([*_TOKENS, "type ", "struct ", "interface ", "//", "/**", "*/"]), max_size=120
    ).map("".join)
)
def test_arbitrary_input_never_raises(source):
    for language, path in (("go", "a/a.go"), ("rust", "src/a.rs"), ("java", "A.java")):
        adapter = get_adapter(language)
        ev = adapter.extract(source.encode(), path, adapter.module_name(path, frozenset({path})))
        assert ev.symbols[0].kind in ("module", "package")
        assert_well_formed(ev)


# -- the Go example repository -------------------------------------------------------------------


@pytest.fixture(scope="module")
def go_example() -> tuple[dict[str, FileEvidence], dict[str, Symbol], frozenset[str]]:
    files = frozenset(str(p.relative_to(EXAMPLE_GO)) for p in EXAMPLE_GO.rglob("*") if p.is_file())
    adapter = get_adapter("go")
    evidence = {
        rel: adapter.extract((EXAMPLE_GO / rel).read_bytes(), rel, adapter.module_name(rel, files))
        for rel in sorted(files)
        if language_for(rel) == "go"
    }
    symbols = {s.id: s for ev in evidence.values() for s in ev.symbols}
    return evidence, symbols, frozenset(ev.module for ev in evidence.values())


def test_go_example_symbols(go_example):
    evidence, symbols, modules = go_example
    assert modules == {"cmd/linkcheck", "internal/check", "internal/report"}
    assert not [rel for rel, ev in evidence.items() if ev.has_errors]
    assert symbols["go:cmd/linkcheck"].name == "main"
    package_docs = {ev.symbols[0].docstring for ev in evidence.values() if ev.module == "internal/check"}
    assert package_docs == {"Package check fetches links concurrently and records their status.", None}
    assert symbols["go:internal/check.Checker"].kind == "struct"
    assert symbols["go:internal/check.Fetcher"].kind == "interface"
    assert symbols["go:internal/check.Fetcher.Head"].parent == "go:internal/check.Fetcher"
    assert symbols["go:internal/check.HTTPFetcher"].extra["bases"] == ["*http.Client"]
    check = symbols["go:internal/check.Checker.Check"]
    assert check.parent == "go:internal/check.Checker" and check.returns == "([]Result, error)"
    assert [p.name for p in check.params or []] == ["ctx", "urls"]
    new = symbols["go:internal/check.New"]
    assert [p.kind for p in new.params or []] == ["positional_or_keyword", "var_positional"]
    assert symbols["go:internal/check.Option"].kind == "type"
    assert symbols["go:internal/report.Summary.String"].public
    assert not symbols["go:internal/report.describe"].public


def test_go_example_imports_resolve_between_packages(go_example):
    evidence, _, modules = go_example
    adapter = get_adapter("go")
    main = evidence["cmd/linkcheck/main.go"]
    targets = {adapter.resolve_import(r, main.module, modules) for r in main.imports}
    assert {"internal/check", "internal/report", "fmt", "os"} <= targets
    calls = {c.callee for c in main.calls}
    assert {"check.New", "check.ExtractURLs", "report.Write", "checker.Check"} <= calls
