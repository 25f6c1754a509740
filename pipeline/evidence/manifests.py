"""Read dependency manifests and recognise CI files.

Each parser turns one manifest (``pyproject.toml``, ``requirements*.txt``, ``setup.cfg``,
``package.json``, ``go.mod``, ``Cargo.toml``) into a :class:`ManifestResult`: the
:class:`~pipeline.evidence.model.ConfigFile` with the manifest's key facts, the declared
:class:`~pipeline.evidence.model.Dependency` list and the declared
:class:`~pipeline.evidence.model.EntryPoint` list. Manifests come from an untrusted
repository, so parsing never raises: problems become one-sentence ``errors`` and
whatever could be read is kept.
"""

from __future__ import annotations

import codecs
import configparser
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pipeline.evidence.model import ConfigFile, Dependency, EntryPoint

# Exact file names of dependency manifests; requirements files are matched by pattern
# (see :func:`manifest_kind`).
MANIFEST_NAMES = frozenset(
    {"pyproject.toml", "setup.cfg", "package.json", "go.mod", "Cargo.toml", "requirements.txt"}
)

_KIND_BY_NAME = {
    "pyproject.toml": "pyproject",
    "setup.cfg": "setup.cfg",
    "package.json": "package.json",
    "go.mod": "go.mod",
    "Cargo.toml": "cargo",
}

# CI files that only count at the repository root (that is where the services look).
_ROOT_CI_FILES = {
    ".gitlab-ci.yml": "gitlab-ci",
    "azure-pipelines.yml": "azure-pipelines",
    "azure-pipelines.yaml": "azure-pipelines",
    ".travis.yml": "travis-ci",
    "bitbucket-pipelines.yml": "bitbucket-pipelines",
    ".woodpecker.yml": "woodpecker",
    ".woodpecker.yaml": "woodpecker",
}
_YAML_SUFFIXES = (".yml", ".yaml")


@dataclass
class ManifestResult:
    """What one manifest declares, plus the problems met while reading it."""

    config: ConfigFile
    dependencies: list[Dependency] = field(default_factory=list)
    entry_points: list[EntryPoint] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _ci_provider(rel_path: str) -> str | None:
    parts = PurePosixPath(rel_path).parts
    if not parts:
        return None
    name = parts[-1]
    if len(parts) == 3 and parts[:2] == (".github", "workflows") and name.endswith(_YAML_SUFFIXES):
        return "github-actions"
    if len(parts) == 2 and parts[0] == ".woodpecker" and name.endswith(_YAML_SUFFIXES):
        return "woodpecker"
    if parts == (".circleci", "config.yml"):
        return "circleci"
    if len(parts) == 1 and name in _ROOT_CI_FILES:
        return _ROOT_CI_FILES[name]
    if name == "Jenkinsfile":  # monorepos keep one per service
        return "jenkins"
    return None


def is_ci_file(rel_path: str) -> bool:
    """Return whether ``rel_path`` (repo-relative, posix) is a CI configuration file."""
    return _ci_provider(rel_path) is not None


def _is_requirements(rel_path: str) -> bool:
    parts = PurePosixPath(rel_path).parts
    if not parts or not parts[-1].lower().endswith(".txt"):
        return False
    stem = parts[-1][:-4].lower()
    in_requirements_dir = len(parts) >= 2 and parts[-2].lower() == "requirements"
    return stem.startswith("requirements") or stem.endswith("requirements") or in_requirements_dir


def manifest_kind(rel_path: str) -> str | None:
    """Return the :class:`ConfigFile` kind for a manifest or CI file, or ``None``.

    Kinds: ``pyproject``, ``requirements``, ``setup.cfg``, ``package.json``, ``go.mod``,
    ``cargo`` and ``ci``.
    """
    name = PurePosixPath(rel_path).name
    if name in _KIND_BY_NAME:
        return _KIND_BY_NAME[name]
    if _is_requirements(rel_path):
        return "requirements"
    if is_ci_file(rel_path):
        return "ci"
    return None


def is_manifest(rel_path: str) -> bool:
    """Return whether ``rel_path`` is a dependency manifest (CI files are not: see :func:`is_ci_file`)."""
    kind = manifest_kind(rel_path)
    return kind is not None and kind != "ci"


# --- PEP 508 / PEP 503 ---------------------------------------------------------------

_REQ_NAME = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(.*)", re.DOTALL)
# What may follow a distribution name: extras, a parenthesised or bare version, a marker, a URL.
_REQ_REST_START = re.compile(r"[\[(;@]|===?|!=|~=|<=?|>=?")


def normalize_name(name: str) -> str:
    """Return the PEP 503 normalised form of a distribution name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split_requirement(text: str) -> tuple[str, str] | None:
    """Split a PEP 508 requirement into (normalised name, the rest as written), or ``None``.

    ``"Foo[a,b] >= 1 ; python_version < '3.12'"`` gives
    ``("foo", "[a,b] >= 1 ; python_version < '3.12'")``.
    """
    match = _REQ_NAME.fullmatch(text.strip())
    if match is None:
        return None
    rest = match.group(2).strip()
    if rest and not _REQ_REST_START.match(rest):
        return None
    return normalize_name(match.group(1)), rest


# --- helpers ---------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
# A malformed manifest usually has one or two bad lines; more means it is not worth guessing.
_TOML_SALVAGE_LINES = 5


def _toml_error(rel: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match:
        return (
            f"{rel}: invalid TOML at line {match.group(1)}, column {match.group(2)}: "
            f"{_one_line(message[: match.start()])}."
        )
    return f"{rel}: invalid TOML: {_one_line(message)}."


def _load_toml(rel: str, text: str, errors: list[str]) -> dict[str, Any] | None:
    """Parse TOML; on a syntax error, report it and read the rest with the bad lines blanked out.

    Table headers are never blanked: their keys would then land in the table above.
    """
    lines: list[str] | None = None
    for skipped in range(_TOML_SALVAGE_LINES + 1):
        try:
            doc = tomllib.loads(text if lines is None else "\n".join(lines))
        except tomllib.TOMLDecodeError as exc:
            if skipped == 0:
                errors.append(_toml_error(rel, exc))
            match = _TOML_POSITION.search(str(exc))
            if lines is None:
                lines = text.split("\n")
            index = int(match.group(1)) - 1 if match else -1
            if (
                not 0 <= index < len(lines)
                or not lines[index].strip()
                or lines[index].lstrip().startswith("[")
            ):
                return None
            lines[index] = ""
            continue
        except RecursionError:
            errors.append(f"{rel}: invalid TOML: nested too deeply.")
            return None
        if skipped:
            errors[-1] += (
                f"; the rest was read without {'that line' if skipped == 1 else f'{skipped} bad lines'}."
            )
        return doc
    return None


def _table(parent: dict[str, Any], key: str, rel: str, where: str, errors: list[str]) -> dict[str, Any]:
    """Return ``parent[key]`` when it is a table; a wrong type is recorded, a missing key is not."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{rel}: {where} should be a table, not {type(value).__name__}.")
        return {}
    return value


def _copy_strings(source: dict[str, Any], keys: tuple[str, ...], target: dict[str, Any]) -> None:
    for key in keys:
        value = source.get(key)
        if isinstance(value, str):
            target[key] = value


def _string_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _add_requirements(
    rel: str, value: Any, group: str, where: str, result: ManifestResult, *, ecosystem: str = "pypi"
) -> None:
    """Add a list of PEP 508 strings as dependencies, recording anything that is not one."""
    if value is None:
        return
    if not isinstance(value, list):
        result.errors.append(f"{rel}: {where} should be a list of requirement strings.")
        return
    for item in value:
        if not isinstance(item, str):
            result.errors.append(f"{rel}: {where} has a non-string entry {item!r}.")
            continue
        parsed = split_requirement(item)
        if parsed is None:
            result.errors.append(f"{rel}: {where} has an invalid requirement {item!r}.")
            continue
        result.dependencies.append(Dependency(parsed[0], parsed[1], rel, group, ecosystem))


def _add_entry_points(
    rel: str, value: Any, kind: str, where: str, result: ManifestResult, *, as_table: bool = False
) -> None:
    """Add ``name = "target"`` pairs; Poetry's table form (``{callable = ...}``) with ``as_table``."""
    if value is None:
        return
    if not isinstance(value, dict):
        result.errors.append(f"{rel}: {where} should be a table of name = target.")
        return
    for name, target in value.items():
        if as_table and isinstance(target, dict):
            target = target.get("callable") or target.get("reference")
        if not isinstance(target, str):
            result.errors.append(f"{rel}: {where} entry {name!r} has no target string.")
            continue
        result.entry_points.append(EntryPoint(str(name), target.strip(), rel, kind))


# --- pyproject.toml --------------------------------------------------------------------


def _parse_pyproject(rel: str, text: str, result: ManifestResult) -> None:
    doc = _load_toml(rel, text, result.errors)
    if doc is None:
        return
    data = result.config.data
    errors = result.errors

    project = _table(doc, "project", rel, "[project]", errors)
    _copy_strings(project, ("name", "version", "requires-python", "description"), data)
    dynamic = _string_list(project.get("dynamic"))
    if dynamic:
        data["dynamic"] = dynamic
    _add_requirements(rel, project.get("dependencies"), "main", "[project] dependencies", result)
    for extra, reqs in _table(
        project, "optional-dependencies", rel, "[project.optional-dependencies]", errors
    ).items():
        _add_requirements(rel, reqs, str(extra), f"[project.optional-dependencies] {extra}", result)
    _add_entry_points(rel, project.get("scripts"), "console_script", "[project.scripts]", result)
    _add_entry_points(rel, project.get("gui-scripts"), "gui_script", "[project.gui-scripts]", result)
    for group, points in _table(project, "entry-points", rel, "[project.entry-points]", errors).items():
        _add_entry_points(rel, points, str(group), f"[project.entry-points.{group}]", result)

    build = _table(doc, "build-system", rel, "[build-system]", errors)
    _copy_strings(build, ("build-backend",), data)
    build_requires = _string_list(build.get("requires"))
    if build_requires is not None:
        data["build-requires"] = build_requires

    for group, items in _table(doc, "dependency-groups", rel, "[dependency-groups]", errors).items():
        _parse_dependency_group(rel, str(group), items, result)

    tool = _table(doc, "tool", rel, "[tool]", errors)
    if tool:
        data["tools"] = sorted(str(name) for name in tool)
    poetry = _table(tool, "poetry", rel, "[tool.poetry]", errors)
    if poetry:
        _parse_poetry(rel, poetry, result)


def _parse_dependency_group(rel: str, group: str, items: Any, result: ManifestResult) -> None:
    """PEP 735: a list of requirement strings and ``{include-group = "other"}`` tables."""
    where = f"[dependency-groups] {group}"
    if not isinstance(items, list):
        result.errors.append(f"{rel}: {where} should be a list.")
        return
    requirements = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("include-group"), str):
            includes = result.config.data.setdefault("dependency-group-includes", {})
            includes.setdefault(group, []).append(item["include-group"])
        else:
            requirements.append(item)
    _add_requirements(rel, requirements, group, where, result)


def _poetry_spec(value: Any) -> str:
    """A Poetry constraint as one string: ``"^1.2"``, a table's version, git/path/url source, or ``*``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " || ".join(_poetry_spec(item) for item in value)
    if not isinstance(value, dict):
        return "*"
    if isinstance(value.get("version"), str):
        spec = value["version"]
    elif isinstance(value.get("git"), str):
        spec = "git+" + value["git"]
        for ref in ("rev", "tag", "branch"):
            if isinstance(value.get(ref), str):
                spec += "@" + value[ref]
                break
    elif isinstance(value.get("path"), str):
        spec = "path " + value["path"]
    elif isinstance(value.get("url"), str):
        spec = "@ " + value["url"]
    else:
        spec = "*"
    extras = _string_list(value.get("extras"))
    if extras:
        spec = f"[{','.join(extras)}]{spec}"
    return spec


def _parse_poetry(rel: str, poetry: dict[str, Any], result: ManifestResult) -> None:
    data = result.config.data
    for key in ("name", "version", "description"):
        if isinstance(poetry.get(key), str):
            data.setdefault(key, poetry[key])

    sections: list[tuple[str, str, Any]] = [
        ("main", "[tool.poetry.dependencies]", poetry.get("dependencies")),
        ("dev", "[tool.poetry.dev-dependencies]", poetry.get("dev-dependencies")),
    ]
    for group, table in _table(poetry, "group", rel, "[tool.poetry.group]", result.errors).items():
        if isinstance(table, dict):
            sections.append(
                (str(group), f"[tool.poetry.group.{group}.dependencies]", table.get("dependencies"))
            )
    for group, where, deps in sections:
        if deps is None:
            continue
        if not isinstance(deps, dict):
            result.errors.append(f"{rel}: {where} should be a table.")
            continue
        for name, spec in deps.items():
            if str(name).lower() == "python":
                # Poetry's way of saying requires-python.
                if isinstance(spec, str):
                    data.setdefault("requires-python", spec)
                continue
            result.dependencies.append(Dependency(normalize_name(str(name)), _poetry_spec(spec), rel, group))
    _add_entry_points(
        rel, poetry.get("scripts"), "console_script", "[tool.poetry.scripts]", result, as_table=True
    )


# --- requirements*.txt -----------------------------------------------------------------

_INLINE_COMMENT = re.compile(r"(^|\s)#.*$")
_PER_REQUIREMENT_OPTION = re.compile(r"\s--\S.*$")  # --hash=..., --config-settings ...
_EGG_FRAGMENT = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_REFERENCE_OPTIONS = {
    "-r": "includes",
    "--requirement": "includes",
    "-c": "constraints",
    "--constraint": "constraints",
    "-e": "editables",
    "--editable": "editables",
}


# user:password@ or token@ in a URL; "git@" (the SSH user of every git host) is no secret.
_URL_CREDENTIALS = re.compile(r"(?<=://)(?!git@)[^/@\s]+@")


def _redact(value: Any) -> Any:
    """Hide credentials embedded in URLs, in strings and in JSON-like containers."""
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub("***@", value)
    if isinstance(value, list):
        return [_redact(item) for item in value]
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()}
    return value


def _redact_result(result: ManifestResult) -> None:
    """What a manifest declares ends up in published docs: tokens in URLs must not."""
    result.config.data = _redact(result.config.data)
    for dep in result.dependencies:
        dep.spec = _redact(dep.spec)
    for entry in result.entry_points:
        entry.target = _redact(entry.target)
    result.errors = [_redact(error) for error in result.errors]


def _requirements_group(rel: str) -> str:
    """``requirements-dev.txt`` and ``requirements/dev.txt`` hold the ``dev`` group."""
    parts = PurePosixPath(rel).parts
    stem = parts[-1][:-4].lower()
    if len(parts) >= 2 and parts[-2].lower() == "requirements" and "requirements" not in stem:
        return "main" if stem in ("base", "main", "common", "install") else stem
    rest = stem.replace("requirements", "", 1).strip("-_.")
    return rest or "main"


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations; keep each logical line's first line number."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        lines.append((start, " ".join(pending)))
        pending = []
    if pending:
        lines.append((start, " ".join(pending)))
    return lines


def _parse_option(line: str) -> tuple[str, str] | None:
    """``-r other.txt`` / ``--requirement=other.txt`` / ``-rother.txt`` -> ("includes", "other.txt")."""
    for option, key in _REFERENCE_OPTIONS.items():
        if line == option:
            return None
        if line.startswith(option + "=") or line.startswith(option + " ") or line.startswith(option + "\t"):
            return key, line[len(option) + 1 :].strip()
        if len(option) == 2 and line.startswith(option):
            return key, line[2:].strip()
    return None


def _parse_requirements(rel: str, text: str, result: ManifestResult) -> None:
    group = _requirements_group(rel)
    data = result.config.data
    for number, raw in _logical_lines(text):
        line = _INLINE_COMMENT.sub("", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            # Index URLs and the like are deliberately not kept: they may carry credentials.
            option = _parse_option(line)
            if option is not None and option[1]:
                data.setdefault(option[0], []).append(option[1])
            continue
        line = _PER_REQUIREMENT_OPTION.sub("", line).strip()
        parsed = split_requirement(line)
        if parsed is None:
            egg = _EGG_FRAGMENT.search(line)
            if egg:
                result.dependencies.append(Dependency(normalize_name(egg.group(1)), line, rel, group))
            elif "/" in line or "\\" in line:  # a URL or local path without a project name
                data.setdefault("unnamed", []).append(line)
            else:
                result.errors.append(f"{rel}: line {number} is not a valid requirement: {line!r}.")
            continue
        result.dependencies.append(Dependency(parsed[0], parsed[1], rel, group))


# --- setup.cfg -------------------------------------------------------------------------


def _ini_error(rel: str, exc: configparser.Error) -> str:
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"{rel}: invalid INI at line {exc.lineno}: a setting comes before any [section] header."
    if isinstance(exc, configparser.ParsingError) and exc.errors:
        lineno, line = exc.errors[0]
        shown = str(line).replace("\\n", "")  # configparser keeps the line's repr, newline included
        return f"{rel}: invalid INI at line {lineno}: cannot parse {shown}."
    return f"{rel}: invalid INI: {_one_line(getattr(exc, 'message', exc))}."


def _cfg_list(value: str) -> list[str]:
    """setuptools' dangling list: one item per line, ``#`` comments dropped."""
    items = []
    for line in value.splitlines():
        line = _INLINE_COMMENT.sub("", line).strip()
        if line:
            items.append(line)
    return items


def _parse_setup_cfg(rel: str, text: str, result: ManifestResult) -> None:
    # No DEFAULT section: its keys would otherwise show up as extras and entry point groups.
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="\x00no-default")
    # Keep keys (extra names) as written instead of lower-casing them.
    parser.optionxform = str  # type: ignore[method-assign]
    try:
        parser.read_string(text, source=rel)
    except configparser.Error as exc:
        # ParsingError is raised after the whole file was read: the good sections are kept.
        result.errors.append(_ini_error(rel, exc))
    data = result.config.data

    if parser.has_section("metadata"):
        metadata = parser["metadata"]
        for key in ("name", "version"):
            if metadata.get(key):
                data[key] = metadata[key].strip()
    if parser.has_section("options"):
        options = parser["options"]
        if options.get("python_requires"):
            data["requires-python"] = options["python_requires"].strip()
        install = options.get("install_requires", "")
        if install.strip().startswith("file:"):
            data.setdefault("includes", []).extend(_cfg_list(install.strip()[5:].replace(",", "\n")))
        else:
            _add_requirements(rel, _cfg_list(install), "main", "[options] install_requires", result)
    if parser.has_section("options.extras_require"):
        for extra, value in parser["options.extras_require"].items():
            _add_requirements(rel, _cfg_list(value), extra, f"[options.extras_require] {extra}", result)
    if parser.has_section("options.entry_points"):
        for group, value in parser["options.entry_points"].items():
            kind = {"console_scripts": "console_script", "gui_scripts": "gui_script"}.get(group, group)
            for line in _cfg_list(value):
                name, sep, target = line.partition("=")
                if not sep or not name.strip() or not target.strip():
                    result.errors.append(
                        f"{rel}: [options.entry_points] {group} has an entry without name = target: {line!r}."
                    )
                    continue
                result.entry_points.append(EntryPoint(name.strip(), target.strip(), rel, kind))


# --- package.json ----------------------------------------------------------------------

_NPM_GROUPS = (
    ("dependencies", "main"),
    ("devDependencies", "dev"),
    ("peerDependencies", "peer"),
    ("optionalDependencies", "optional"),
)
_NPM_DATA_KEYS = (
    "name",
    "version",
    "type",
    "main",
    "module",
    "types",
    "typings",
    "exports",
    "scripts",
    "workspaces",
    "engines",
    "private",
)


def _parse_package_json(rel: str, text: str, result: ManifestResult) -> None:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        result.errors.append(f"{rel}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.")
        return
    except RecursionError:
        result.errors.append(f"{rel}: invalid JSON: nested too deeply.")
        return
    if not isinstance(doc, dict):
        result.errors.append(f"{rel}: the top level should be a JSON object, not {type(doc).__name__}.")
        return
    data = result.config.data
    for key in _NPM_DATA_KEYS:
        if key in doc:
            data[key] = doc[key]

    for key, group in _NPM_GROUPS:
        deps = doc.get(key)
        if deps is None:
            continue
        if not isinstance(deps, dict):
            result.errors.append(f"{rel}: {key} should be an object of name: version.")
            continue
        for name, spec in deps.items():
            if not isinstance(spec, str):
                result.errors.append(f"{rel}: {key} entry {name!r} should have a version string.")
                continue
            result.dependencies.append(Dependency(name, spec, rel, group, "npm"))

    binaries = doc.get("bin")
    if isinstance(binaries, str):
        # npm names a single bin after the package, without its @scope/.
        package = doc.get("name") if isinstance(doc.get("name"), str) else ""
        name = package.rsplit("/", 1)[-1]
        if name:
            result.entry_points.append(EntryPoint(name, binaries, rel, "bin"))
        else:
            result.errors.append(f"{rel}: bin is a single path but the package has no name.")
    elif isinstance(binaries, dict):
        for name, target in binaries.items():
            if isinstance(target, str):
                result.entry_points.append(EntryPoint(name, target, rel, "bin"))
            else:
                result.errors.append(f"{rel}: bin entry {name!r} should be a path string.")
    elif binaries is not None:
        result.errors.append(f"{rel}: bin should be a path or an object of name: path.")


# --- go.mod ----------------------------------------------------------------------------

_GO_LIST_DIRECTIVES = ("exclude", "retract", "tool", "godebug", "ignore")


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '"`':
        return token[1:-1]
    return token


def _go_directive(
    rel: str, number: int, verb: str, args: str, indirect: bool, result: ManifestResult
) -> None:
    data = result.config.data
    if verb == "module":
        data["module"] = _unquote(args.strip())
    elif verb in ("go", "toolchain"):
        data[verb] = args.strip()
    elif verb == "require":
        tokens = args.split()
        if len(tokens) != 2:
            result.errors.append(f"{rel}: line {number}: require needs a module path and a version.")
            return
        group = "indirect" if indirect else "main"
        result.dependencies.append(Dependency(_unquote(tokens[0]), tokens[1], rel, group, "go"))
    elif verb == "replace":
        old, arrow, new = args.partition("=>")
        if not arrow or not old.strip() or not new.strip():
            result.errors.append(f"{rel}: line {number}: replace needs old => new.")
            return
        data.setdefault("replace", []).append({"old": old.strip(), "new": new.strip()})
    elif verb in _GO_LIST_DIRECTIVES:
        data.setdefault(verb, []).append(args.strip())
    else:
        result.errors.append(f"{rel}: line {number}: unknown directive {verb!r}.")


def _parse_go_mod(rel: str, text: str, result: ManifestResult) -> None:
    block: str | None = None
    block_line = 0
    for number, raw in enumerate(text.splitlines(), 1):
        code, slashes, comment = raw.partition("//")
        indirect = bool(slashes) and comment.strip().split(";")[0].strip() == "indirect"
        line = code.strip()
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
            else:
                _go_directive(rel, number, block, line, indirect, result)
            continue
        verb, _, args = line.partition(" ")
        verb, args = verb.strip(), args.strip()
        if args == "(":
            block, block_line = verb, number
        elif args.startswith("(") and args.endswith(")"):
            inner = args[1:-1].strip()
            if inner:
                _go_directive(rel, number, verb, inner, indirect, result)
        else:
            _go_directive(rel, number, verb, args, indirect, result)
    if block is not None:
        result.errors.append(f"{rel}: the {block} block opened at line {block_line} is never closed.")


# --- Cargo.toml ------------------------------------------------------------------------

_CARGO_GROUPS = (("dependencies", "main"), ("dev-dependencies", "dev"), ("build-dependencies", "build"))


def _cargo_spec(value: Any) -> str:
    """A Cargo dependency as one string: the version, or where it comes from."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return "*"
    if isinstance(value.get("version"), str):
        return value["version"]
    if value.get("workspace") is True:
        return "workspace"
    if isinstance(value.get("git"), str):
        spec = "git " + value["git"]
        for ref in ("rev", "tag", "branch"):
            if isinstance(value.get(ref), str):
                return f"{spec} {ref} {value[ref]}"
        return spec
    if isinstance(value.get("path"), str):
        return "path " + value["path"]
    return "*"


def _add_cargo_deps(rel: str, deps: Any, group: str, where: str, result: ManifestResult) -> None:
    if deps is None:
        return
    if not isinstance(deps, dict):
        result.errors.append(f"{rel}: {where} should be a table.")
        return
    for key, value in deps.items():
        # A renamed dependency (`alias = { package = "real" }`) depends on the real crate.
        name = (
            value.get("package") if isinstance(value, dict) and isinstance(value.get("package"), str) else key
        )
        result.dependencies.append(Dependency(str(name), _cargo_spec(value), rel, group, "cargo"))


def _parse_cargo(rel: str, text: str, result: ManifestResult) -> None:
    doc = _load_toml(rel, text, result.errors)
    if doc is None:
        return
    data = result.config.data
    package = _table(doc, "package", rel, "[package]", result.errors)
    _copy_strings(package, ("name", "version", "edition", "rust-version", "description"), data)
    lib = _table(doc, "lib", rel, "[lib]", result.errors)
    if lib:
        data["lib"] = {key: lib[key] for key in ("name", "path") if isinstance(lib.get(key), str)}

    for section, group in _CARGO_GROUPS:
        _add_cargo_deps(rel, doc.get(section), group, f"[{section}]", result)
    for cfg, table in _table(doc, "target", rel, "[target]", result.errors).items():
        if isinstance(table, dict):
            for section, group in _CARGO_GROUPS:
                _add_cargo_deps(rel, table.get(section), group, f"[target.{cfg}.{section}]", result)

    workspace = _table(doc, "workspace", rel, "[workspace]", result.errors)
    members = _string_list(workspace.get("members"))
    if members is not None:
        data["workspace-members"] = members
    _add_cargo_deps(rel, workspace.get("dependencies"), "workspace", "[workspace.dependencies]", result)

    bins = doc.get("bin")
    if bins is None:
        return
    if not isinstance(bins, list):
        result.errors.append(f"{rel}: [[bin]] should be an array of tables.")
        return
    for entry in bins:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            result.errors.append(f"{rel}: a [[bin]] entry has no name.")
            continue
        # Without an explicit path Cargo picks the file by convention; "" says it was not declared.
        path = entry.get("path") if isinstance(entry.get("path"), str) else ""
        result.entry_points.append(EntryPoint(entry["name"], path, rel, "bin"))


# --- entry point -----------------------------------------------------------------------

_PARSERS: dict[str, Callable[[str, str, ManifestResult], None]] = {
    "pyproject": _parse_pyproject,
    "requirements": _parse_requirements,
    "setup.cfg": _parse_setup_cfg,
    "package.json": _parse_package_json,
    "go.mod": _parse_go_mod,
    "cargo": _parse_cargo,
}


def _decode(rel: str, data: bytes, errors: list[str]) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(f"{rel}: not valid UTF-8 at byte offset {exc.start}; undecodable bytes were replaced.")
        return data.decode("utf-8", errors="replace")


def parse_manifest(rel_path: str, data: bytes) -> ManifestResult | None:
    """Parse a manifest or CI file's bytes; ``None`` when ``rel_path`` is neither.

    Never raises: a malformed file gives a result whose ``errors`` say what is wrong (one
    sentence each, naming the file) alongside whatever could still be read. CI files are
    recognised, not parsed: their ``config.data`` holds the ``provider``.
    """
    kind = manifest_kind(rel_path)
    if kind is None:
        return None
    result = ManifestResult(ConfigFile(rel_path, kind))
    if kind == "ci":
        result.config.data["provider"] = _ci_provider(rel_path)
        return result
    text = _decode(rel_path, data, result.errors)
    try:
        _PARSERS[kind](rel_path, text, result)
    except Exception as exc:  # the file is untrusted input: keep what was read, never crash the run
        result.errors.append(
            f"{rel_path}: could not be read completely ({type(exc).__name__}: {_one_line(exc)})."
        )
    _redact_result(result)
    return result


__all__ = [
    "MANIFEST_NAMES",
    "ManifestResult",
    "is_ci_file",
    "is_manifest",
    "manifest_kind",
    "normalize_name",
    "parse_manifest",
    "split_requirement",
]
