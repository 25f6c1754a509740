"""Manifest and CI file parsing: what each format declares, and malformed files never raising."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.evidence.manifests import (
    MANIFEST_NAMES,
    ManifestResult,
    is_ci_file,
    is_manifest,
    manifest_kind,
    normalize_name,
    parse_manifest,
    split_requirement,
)
from pipeline.evidence.model import Dependency, EntryPoint


def parse(rel: str, text: str | bytes) -> ManifestResult:
    result = parse_manifest(rel, text.encode() if isinstance(text, str) else text)
    assert result is not None
    assert result.config.path == rel
    return result


def deps(result: ManifestResult) -> list[tuple[str, str, str]]:
    return [(d.name, d.spec, d.group) for d in result.dependencies]


# --- recognising files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("pyproject.toml", "pyproject"),
        ("libs/core/pyproject.toml", "pyproject"),
        ("requirements.txt", "requirements"),
        ("requirements-dev.txt", "requirements"),
        ("requirements_test.txt", "requirements"),
        ("dev-requirements.txt", "requirements"),
        ("requirements/base.txt", "requirements"),
        ("setup.cfg", "setup.cfg"),
        ("web/package.json", "package.json"),
        ("go.mod", "go.mod"),
        ("crates/a/Cargo.toml", "cargo"),
        (".github/workflows/ci.yml", "ci"),
        (".github/workflows/release.yaml", "ci"),
        (".gitlab-ci.yml", "ci"),
        (".circleci/config.yml", "ci"),
        ("Jenkinsfile", "ci"),
        ("services/api/Jenkinsfile", "ci"),
        ("azure-pipelines.yml", "ci"),
        (".travis.yml", "ci"),
        ("bitbucket-pipelines.yml", "ci"),
        (".woodpecker.yml", "ci"),
        ("notes.txt", None),
        ("docs/requirements.md", None),
        ("package-lock.json", None),
        ("Cargo.lock", None),
        ("go.sum", None),
        (".github/workflows/README.md", None),
        (".github/ci.yml", None),
        ("sub/.gitlab-ci.yml", None),
        ("src/main.py", None),
    ],
)
def test_manifest_kind(rel: str, kind: str | None) -> None:
    assert manifest_kind(rel) == kind
    assert is_ci_file(rel) == (kind == "ci")
    assert is_manifest(rel) == (kind not in (None, "ci"))


def test_manifest_names_are_all_recognised() -> None:
    assert {"pyproject.toml", "package.json", "go.mod", "Cargo.toml", "setup.cfg"} <= MANIFEST_NAMES
    assert all(is_manifest(name) for name in MANIFEST_NAMES)


def test_not_a_manifest_gives_none() -> None:
    assert parse_manifest("src/app.py", b"import os\n") is None
    assert parse_manifest("README.md", b"# x\n") is None


# --- PEP 508 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("requests", ("requests", "")),
        ("Django>=4.2,<5", ("django", ">=4.2,<5")),
        ("pkg[a,b]>=1", ("pkg", "[a,b]>=1")),
        ("Foo_Bar.Baz [x] ~= 1.0", ("foo-bar-baz", "[x] ~= 1.0")),
        ("tomli>=1.1; python_version<'3.12'", ("tomli", ">=1.1; python_version<'3.12'")),
        ("pywin32 ; sys_platform == 'win32'", ("pywin32", "; sys_platform == 'win32'")),
        ("name @ https://example.com/name-1.0.tar.gz", ("name", "@ https://example.com/name-1.0.tar.gz")),
        ("zope.interface (>=5)", ("zope-interface", "(>=5)")),
        ("A", ("a", "")),
    ],
)
def test_split_requirement(text: str, expected: tuple[str, str]) -> None:
    assert split_requirement(text) == expected


@pytest.mark.parametrize("text", ["", "  ", ">=1.0", "-e .", "two words", "pkg!", "pkg=1", "_private"])
def test_split_requirement_rejects_non_requirements(text: str) -> None:
    assert split_requirement(text) is None


def test_normalize_name() -> None:
    assert normalize_name("Friendly-Bard") == "friendly-bard"
    assert normalize_name("FRIENDLY_._-bard") == "friendly-bard"
    assert normalize_name("friendly.bard") == "friendly-bard"


# --- pyproject.toml ----------------------------------------------------------------------

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "My_Package"
version = "1.2.0"
requires-python = ">=3.10"
dependencies = [
    "Requests[socks,security]>=2.31",
    "tomli>=1.1 ; python_version < '3.12'",
    "my-lib @ https://example.com/my_lib-1.0-py3-none-any.whl",
    "Zope.Interface",
]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff"]
docs = ["mkdocs-material[imaging]"]

[project.scripts]
mycli = "my_package.cli:main"

[project.gui-scripts]
mygui = "my_package.gui:run"

[project.entry-points."pytest11"]
myplugin = "my_package.plugin"

[dependency-groups]
test = ["coverage[toml]", {include-group = "lint"}]
lint = ["ruff>=0.5"]

[tool.ruff]
line-length = 100

[tool.pytest.ini_options]
addopts = "-q"
"""


def test_pyproject_pep621() -> None:
    result = parse("pyproject.toml", PYPROJECT)

    assert result.errors == []
    assert result.config.kind == "pyproject"
    assert result.config.data["name"] == "My_Package"
    assert result.config.data["version"] == "1.2.0"
    assert result.config.data["requires-python"] == ">=3.10"
    assert result.config.data["build-backend"] == "hatchling.build"
    assert result.config.data["build-requires"] == ["hatchling>=1.18"]
    assert result.config.data["tools"] == ["pytest", "ruff"]
    assert result.config.data["dependency-group-includes"] == {"test": ["lint"]}
    assert deps(result) == [
        ("requests", "[socks,security]>=2.31", "main"),
        ("tomli", ">=1.1 ; python_version < '3.12'", "main"),
        ("my-lib", "@ https://example.com/my_lib-1.0-py3-none-any.whl", "main"),
        ("zope-interface", "", "main"),
        ("pytest", ">=8", "dev"),
        ("ruff", "", "dev"),
        ("mkdocs-material", "[imaging]", "docs"),
        ("coverage", "[toml]", "test"),
        ("ruff", ">=0.5", "lint"),
    ]
    assert all(d.source == "pyproject.toml" and d.ecosystem == "pypi" for d in result.dependencies)
    assert result.entry_points == [
        EntryPoint("mycli", "my_package.cli:main", "pyproject.toml", "console_script"),
        EntryPoint("mygui", "my_package.gui:run", "pyproject.toml", "gui_script"),
        EntryPoint("myplugin", "my_package.plugin", "pyproject.toml", "pytest11"),
    ]


POETRY = """\
[tool.poetry]
name = "poetry-app"
version = "0.3.0"

[tool.poetry.dependencies]
python = "^3.10"
Flask = "^3.0"
requests = { version = "^2.31", extras = ["socks"] }
mylib = { git = "https://github.com/org/mylib.git", tag = "v1.0" }
local_pkg = { path = "../local_pkg", develop = true }

[tool.poetry.group.test.dependencies]
pytest = "^8.0"

[tool.poetry.dev-dependencies]
black = "*"

[tool.poetry.scripts]
app = "poetry_app.main:run"
tool = { callable = "poetry_app.tool:main" }
"""


def test_pyproject_poetry() -> None:
    result = parse("pyproject.toml", POETRY)

    assert result.errors == []
    assert result.config.data["name"] == "poetry-app"
    assert result.config.data["version"] == "0.3.0"
    assert result.config.data["requires-python"] == "^3.10"
    assert deps(result) == [
        ("flask", "^3.0", "main"),
        ("requests", "[socks]^2.31", "main"),
        ("mylib", "git+https://github.com/org/mylib.git@v1.0", "main"),
        ("local-pkg", "path ../local_pkg", "main"),
        ("black", "*", "dev"),
        ("pytest", "^8.0", "test"),
    ]
    assert [(e.name, e.target, e.kind) for e in result.entry_points] == [
        ("app", "poetry_app.main:run", "console_script"),
        ("tool", "poetry_app.tool:main", "console_script"),
    ]


def test_pyproject_invalid_toml_reports_the_line_and_reads_the_rest() -> None:
    text = '[project]\nname = "x"\ndependencies = [\n    "a>=1",\n    b,\n]\n'

    result = parse("pkg/pyproject.toml", text)

    assert len(result.errors) == 1
    assert result.errors[0].startswith("pkg/pyproject.toml: invalid TOML at line 5")
    assert result.config.data["name"] == "x"
    assert deps(result) == [("a", ">=1", "main")]


def test_pyproject_broken_table_header_is_not_guessed_around() -> None:
    text = '[project]\nname = "x"\nversion = 1.2.3\n[tool.other\ndependencies = ["evil"]\n'

    result = parse("pyproject.toml", text)

    assert result.errors[0].startswith("pyproject.toml: invalid TOML at line 3")
    assert result.dependencies == []


def test_pyproject_wrong_types_are_errors_and_the_rest_is_read() -> None:
    text = """\
[project]
name = "x"
dependencies = "requests"
scripts = ["not", "a", "table"]

[project.optional-dependencies]
dev = ["ok>=1", 3, "not a requirement"]
"""
    result = parse("pyproject.toml", text)

    assert result.config.data["name"] == "x"
    assert deps(result) == [("ok", ">=1", "dev")]
    assert result.entry_points == []
    assert len(result.errors) == 4
    assert all(e.startswith("pyproject.toml: ") for e in result.errors)
    assert any("dependencies should be a list" in e for e in result.errors)
    assert any("'not a requirement'" in e for e in result.errors)


def test_pyproject_top_level_not_table() -> None:
    result = parse("pyproject.toml", 'project = "oops"\ntool = 3\n')

    assert result.dependencies == []
    assert len(result.errors) == 2
    assert "[project] should be a table" in result.errors[0]


# --- requirements ------------------------------------------------------------------------

REQUIREMENTS = """\
# Production dependencies
-r base.txt
--requirement=other/common.txt
-c constraints.txt
--index-url https://user:secret@pypi.example.com/simple
-e ./libs/editable

Django>=4.2,<5.0  # LTS
celery[redis]==5.3.6 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
pywin32>=306; sys_platform == "win32"
my_lib @ https://example.com/my_lib-1.0.tar.gz
git+https://github.com/org/thing.git@v2#egg=Thing_Pkg
https://example.com/wheels/nameless-1.0-py3-none-any.whl
!!! not a requirement
"""


def test_requirements_txt() -> None:
    result = parse("requirements.txt", REQUIREMENTS)

    assert result.config.kind == "requirements"
    assert result.config.data["includes"] == ["base.txt", "other/common.txt"]
    assert result.config.data["constraints"] == ["constraints.txt"]
    assert result.config.data["editables"] == ["./libs/editable"]
    assert result.config.data["unnamed"] == ["https://example.com/wheels/nameless-1.0-py3-none-any.whl"]
    # Index URLs may hold credentials: never copied anywhere.
    assert "secret" not in repr(result)
    assert deps(result) == [
        ("django", ">=4.2,<5.0", "main"),
        ("celery", "[redis]==5.3.6", "main"),
        ("pywin32", '>=306; sys_platform == "win32"', "main"),
        ("my-lib", "@ https://example.com/my_lib-1.0.tar.gz", "main"),
        ("thing-pkg", "git+https://github.com/org/thing.git@v2#egg=Thing_Pkg", "main"),
    ]
    assert result.errors == ["requirements.txt: line 16 is not a valid requirement: '!!! not a requirement'."]


def test_credentials_in_urls_are_redacted() -> None:
    text = (
        "-e git+https://user:hunter2@git.example.com/org/a.git#egg=a\n"
        "b @ https://ghp_TOKEN@github.com/org/b/archive/main.zip\n"
        "git+ssh://git@github.com/org/c.git#egg=c\n"
    )

    result = parse("requirements.txt", text)
    pyproject = parse(
        "pyproject.toml", '[project]\ndependencies = ["d @ https://u:p@example.com/d.whl", "e f"]\n'
    )
    npm = parse("package.json", '{"dependencies": {"g": "git+https://npm_TOKEN@github.com/org/g.git"}}')

    assert "hunter2" not in repr(result) and "ghp_TOKEN" not in repr(result)
    assert result.config.data["editables"] == ["git+https://***@git.example.com/org/a.git#egg=a"]
    assert deps(result) == [
        ("b", "@ https://***@github.com/org/b/archive/main.zip", "main"),
        ("c", "git+ssh://git@github.com/org/c.git#egg=c", "main"),
    ]
    assert deps(pyproject) == [("d", "@ https://***@example.com/d.whl", "main")]
    assert deps(npm) == [("g", "git+https://***@github.com/org/g.git", "main")]


@pytest.mark.parametrize(
    ("rel", "group"),
    [
        ("requirements.txt", "main"),
        ("requirements-dev.txt", "dev"),
        ("requirements_test.txt", "test"),
        ("docs-requirements.txt", "docs"),
        ("requirements/base.txt", "main"),
        ("requirements/lint.txt", "lint"),
    ],
)
def test_requirements_group_from_file_name(rel: str, group: str) -> None:
    result = parse(rel, "-r other.txt\nrequests\n")

    assert result.dependencies == [Dependency("requests", "", rel, group)]
    assert result.config.data["includes"] == ["other.txt"]


# --- setup.cfg ---------------------------------------------------------------------------

SETUP_CFG = """\
[metadata]
name = legacy-pkg
version = 2.0.1

[options]
packages = find:
python_requires = >=3.8
install_requires =
    click>=8
    # a comment inside the list
    importlib-metadata; python_version<"3.10"

[options.extras_require]
Test =
    pytest
    pytest-cov>=4

[options.entry_points]
console_scripts =
    legacy = legacy_pkg.cli:main
    legacy-admin = legacy_pkg.admin:run
myapp.plugins =
    default = legacy_pkg.plugins:Default
"""


def test_setup_cfg() -> None:
    result = parse("setup.cfg", SETUP_CFG)

    assert result.errors == []
    assert result.config.data == {"name": "legacy-pkg", "version": "2.0.1", "requires-python": ">=3.8"}
    assert deps(result) == [
        ("click", ">=8", "main"),
        ("importlib-metadata", '; python_version<"3.10"', "main"),
        ("pytest", "", "Test"),
        ("pytest-cov", ">=4", "Test"),
    ]
    assert result.entry_points == [
        EntryPoint("legacy", "legacy_pkg.cli:main", "setup.cfg", "console_script"),
        EntryPoint("legacy-admin", "legacy_pkg.admin:run", "setup.cfg", "console_script"),
        EntryPoint("default", "legacy_pkg.plugins:Default", "setup.cfg", "myapp.plugins"),
    ]


def test_setup_cfg_malformed_keeps_the_good_sections() -> None:
    text = "[metadata]\nname = half\n[broken\nno equals sign here\n[options]\ninstall_requires =\n    six\n"

    result = parse("setup.cfg", text)

    assert result.errors == ["setup.cfg: invalid INI at line 3: cannot parse '[broken'."]
    assert result.config.data["name"] == "half"
    assert deps(result) == [("six", "", "main")]


def test_setup_cfg_without_sections() -> None:
    result = parse("setup.cfg", "name = x\n")

    assert result.errors == ["setup.cfg: invalid INI at line 1: a setting comes before any [section] header."]
    assert result.dependencies == []


# --- package.json ------------------------------------------------------------------------

PACKAGE_JSON = """\
{
  "name": "@acme/widget",
  "version": "1.4.0",
  "type": "module",
  "main": "./dist/index.cjs",
  "module": "./dist/index.mjs",
  "exports": {".": {"import": "./dist/index.mjs", "require": "./dist/index.cjs"}},
  "bin": "./bin/widget.js",
  "scripts": {"build": "tsc -p .", "test": "vitest"},
  "dependencies": {"react": "^18.2.0", "lodash": "4.17.21"},
  "devDependencies": {"typescript": "~5.4.0"},
  "peerDependencies": {"react-dom": ">=18"},
  "optionalDependencies": {"fsevents": "^2.3.3"}
}
"""


def test_package_json() -> None:
    result = parse("packages/widget/package.json", PACKAGE_JSON)

    assert result.errors == []
    data = result.config.data
    assert data["name"] == "@acme/widget"
    assert data["main"] == "./dist/index.cjs"
    assert data["module"] == "./dist/index.mjs"
    assert data["exports"]["."]["import"] == "./dist/index.mjs"
    assert data["scripts"] == {"build": "tsc -p .", "test": "vitest"}
    assert deps(result) == [
        ("react", "^18.2.0", "main"),
        ("lodash", "4.17.21", "main"),
        ("typescript", "~5.4.0", "dev"),
        ("react-dom", ">=18", "peer"),
        ("fsevents", "^2.3.3", "optional"),
    ]
    assert all(d.ecosystem == "npm" for d in result.dependencies)
    # A single bin is named after the package without its scope, as npm does.
    assert result.entry_points == [
        EntryPoint("widget", "./bin/widget.js", "packages/widget/package.json", "bin")
    ]


def test_package_json_bin_object_and_bad_entries() -> None:
    text = '{"name": "tools", "bin": {"t1": "cli/t1.js", "t2": 5}, "dependencies": ["not", "object"]}'

    result = parse("package.json", text)

    assert result.entry_points == [EntryPoint("t1", "cli/t1.js", "package.json", "bin")]
    assert len(result.errors) == 2
    assert all(e.startswith("package.json: ") for e in result.errors)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{\n  "name": "x",\n  "version": 1.0.0\n}', "package.json: invalid JSON at line 3"),
        ('["a", "b"]', "package.json: the top level should be a JSON object"),
        ("", "package.json: invalid JSON at line 1"),
        ("[" * 100_000, "package.json: invalid JSON"),
    ],
)
def test_package_json_malformed(text: str, message: str) -> None:
    result = parse("package.json", text)

    assert result.dependencies == [] and result.entry_points == []
    assert len(result.errors) == 1 and result.errors[0].startswith(message)


# --- go.mod ------------------------------------------------------------------------------

GO_MOD = """\
module github.com/acme/tool

go 1.22

toolchain go1.22.3

require github.com/spf13/cobra v1.8.0

require (
\tgolang.org/x/text v0.14.0 // indirect
\tgithub.com/google/uuid v1.6.0
\t"example.com/quoted" v0.1.0 // indirect; needed by tests
)

replace github.com/spf13/cobra => ../cobra

replace (
\tgolang.org/x/text v0.14.0 => golang.org/x/text v0.15.0
)

exclude golang.org/x/net v0.1.0
"""


def test_go_mod() -> None:
    result = parse("go.mod", GO_MOD)

    assert result.errors == []
    assert result.config.kind == "go.mod"
    assert result.config.data["module"] == "github.com/acme/tool"
    assert result.config.data["go"] == "1.22"
    assert result.config.data["toolchain"] == "go1.22.3"
    assert result.config.data["replace"] == [
        {"old": "github.com/spf13/cobra", "new": "../cobra"},
        {"old": "golang.org/x/text v0.14.0", "new": "golang.org/x/text v0.15.0"},
    ]
    assert result.config.data["exclude"] == ["golang.org/x/net v0.1.0"]
    assert deps(result) == [
        ("github.com/spf13/cobra", "v1.8.0", "main"),
        ("golang.org/x/text", "v0.14.0", "indirect"),
        ("github.com/google/uuid", "v1.6.0", "main"),
        ("example.com/quoted", "v0.1.0", "indirect"),
    ]
    assert all(d.ecosystem == "go" for d in result.dependencies)


def test_go_mod_malformed() -> None:
    text = "module x\nfrobnicate all\nrequire onlypath\nrequire (\n\tgithub.com/a/b v1.0.0\n"

    result = parse("go.mod", text)

    assert result.config.data["module"] == "x"
    assert deps(result) == [("github.com/a/b", "v1.0.0", "main")]
    assert result.errors == [
        "go.mod: line 2: unknown directive 'frobnicate'.",
        "go.mod: line 3: require needs a module path and a version.",
        "go.mod: the require block opened at line 4 is never closed.",
    ]


# --- Cargo.toml --------------------------------------------------------------------------

CARGO = """\
[package]
name = "ferris"
version = "0.4.2"
edition = "2021"

[lib]
path = "src/lib.rs"

[[bin]]
name = "ferris-cli"
path = "src/bin/cli.rs"

[[bin]]
name = "helper"

[dependencies]
serde = { version = "1.0", features = ["derive"] }
anyhow = "1"
local = { path = "../local" }
web = { git = "https://github.com/acme/web", branch = "main" }
tokio_alias = { package = "tokio", version = "1.37" }

[dev-dependencies]
proptest = "1.4"

[build-dependencies]
cc = "1.0"

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[workspace]
members = ["crates/*", "tools/gen"]

[workspace.dependencies]
log = "0.4"
"""


def test_cargo_toml() -> None:
    result = parse("Cargo.toml", CARGO)

    assert result.errors == []
    assert result.config.kind == "cargo"
    data = result.config.data
    assert (data["name"], data["version"], data["edition"]) == ("ferris", "0.4.2", "2021")
    assert data["workspace-members"] == ["crates/*", "tools/gen"]
    assert data["lib"] == {"path": "src/lib.rs"}
    assert deps(result) == [
        ("serde", "1.0", "main"),
        ("anyhow", "1", "main"),
        ("local", "path ../local", "main"),
        ("web", "git https://github.com/acme/web branch main", "main"),
        ("tokio", "1.37", "main"),
        ("proptest", "1.4", "dev"),
        ("cc", "1.0", "build"),
        ("libc", "0.2", "main"),
        ("log", "0.4", "workspace"),
    ]
    assert all(d.ecosystem == "cargo" for d in result.dependencies)
    assert result.entry_points == [
        EntryPoint("ferris-cli", "src/bin/cli.rs", "Cargo.toml", "bin"),
        EntryPoint("helper", "", "Cargo.toml", "bin"),
    ]


def test_cargo_toml_malformed() -> None:
    result = parse("crates/x/Cargo.toml", '[package]\nname = "x"\n[dependencies\nserde = "1"\n')

    assert result.dependencies == []
    assert result.errors == [
        "crates/x/Cargo.toml: invalid TOML at line 3, column 14: "
        "Expected ']' at the end of a table declaration."
    ]


def test_cargo_bin_without_name() -> None:
    result = parse("Cargo.toml", '[[bin]]\npath = "src/x.rs"\n\n[dependencies]\nrand = 5\n')

    assert result.entry_points == []
    assert deps(result) == [("rand", "*", "main")]
    assert result.errors == ["Cargo.toml: a [[bin]] entry has no name."]


# --- CI ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "provider"),
    [
        (".github/workflows/test.yml", "github-actions"),
        (".gitlab-ci.yml", "gitlab-ci"),
        (".circleci/config.yml", "circleci"),
        ("Jenkinsfile", "jenkins"),
        ("azure-pipelines.yml", "azure-pipelines"),
        (".travis.yml", "travis-ci"),
        ("bitbucket-pipelines.yml", "bitbucket-pipelines"),
        (".woodpecker.yml", "woodpecker"),
    ],
)
def test_ci_files(rel: str, provider: str) -> None:
    # Content is not parsed, so even invalid YAML is fine.
    result = parse(rel, b"on: [push\n\x00\xff")

    assert result.config.kind == "ci"
    assert result.config.data == {"provider": provider}
    assert result.errors == result.dependencies == result.entry_points == []


# --- robustness --------------------------------------------------------------------------


def test_invalid_utf8_is_reported_and_the_rest_read() -> None:
    result = parse("requirements.txt", b"requests\n# caf\xe9\nflask\n")

    assert deps(result) == [("requests", "", "main"), ("flask", "", "main")]
    assert result.errors == [
        "requirements.txt: not valid UTF-8 at byte offset 14; undecodable bytes were replaced."
    ]


def test_bom_is_accepted() -> None:
    result = parse("package.json", b'\xef\xbb\xbf{"name": "x", "dependencies": {"a": "1"}}')

    assert result.errors == []
    assert deps(result) == [("a", "1", "main")]


MANIFEST_FILES = [
    "pyproject.toml",
    "requirements.txt",
    "setup.cfg",
    "package.json",
    "go.mod",
    "Cargo.toml",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(MANIFEST_FILES), data=st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(name: str, data: bytes) -> None:
    result = parse_manifest(name, data)

    assert isinstance(result, ManifestResult)
    assert all(isinstance(e, str) and e.startswith(name + ": ") for e in result.errors)


# Text built from each format's own punctuation reaches deeper into the parsers than random bytes.
_SYNTAX = st.sampled_from(
    ['[project]', '[[bin]]', 'dependencies = ', '"x>=1"', "[", "]", "{", "}", ",", "=", '"', "\n", " ",
     "require (", ")", "// indirect", "name", ":", "true", "1", "[options]", "install_requires =", "-r",
     '{"bin": ', '"dependencies": ', "package", "version", "@", ";"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(MANIFEST_FILES), pieces=st.lists(_SYNTAX, max_size=40))
def test_structured_garbage_never_raises(name: str, pieces: list[str]) -> None:
    result = parse_manifest(name, "".join(pieces).encode())

    assert isinstance(result, ManifestResult)
    assert all(isinstance(e, str) and e.startswith(name + ": ") for e in result.errors)
    assert all(isinstance(d.name, str) and isinstance(d.spec, str) for d in result.dependencies)
