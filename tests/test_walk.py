"""The repository walker: what is listed, what is skipped and why, and safe reading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.evidence import walk
from pipeline.evidence.model import SkippedFile
from pipeline.evidence.walk import SourceFile, discover, is_within, read_source

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def write(root: Path, rel: str, data: str | bytes = "x = 1\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def paths(root: Path, **kwargs) -> list[str]:
    files, _ = discover(root, **kwargs)
    return [f.path for f in files]


def reasons(root: Path, **kwargs) -> dict[str, str]:
    _, skipped = discover(root, **kwargs)
    return {s.path: s.reason for s in skipped}


# --- listing -----------------------------------------------------------------------------


def test_lists_every_file_sorted_with_language_and_size(tmp_path: Path) -> None:
    write(tmp_path, "src/pkg/mod.py", "def f():\n    pass\n")
    write(tmp_path, "README.md", "# hi\n")
    write(tmp_path, "cmd/main.go", "package main\n")
    write(tmp_path, "web/app.tsx", "export {}\n")

    files, skipped = discover(tmp_path)

    assert skipped == []
    assert files == [
        SourceFile("README.md", None, 5),
        SourceFile("cmd/main.go", "go", 13),
        SourceFile("src/pkg/mod.py", "python", 18),
        SourceFile("web/app.tsx", "tsx", 10),
    ]
    assert discover(tmp_path) == (files, skipped)


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="not a directory"):
        discover(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        discover(write(tmp_path, "file.py"))


def test_names_with_spaces_unicode_and_shell_metacharacters(tmp_path: Path) -> None:
    names = [
        "dir with space/my file.py",
        "ünïcødé/模块.py",
        "$(touch pwned);`id`.py",
        "a'b\"c & d | e.py",
        "star*question?[x].py",
    ]
    for name in names:
        write(tmp_path, name, f"# {name}\n")

    files, skipped = discover(tmp_path)

    assert skipped == []
    assert [f.path for f in files] == sorted(names)
    for f in files:
        assert read_source(tmp_path, f) == f"# {f.path}\n".encode()
    assert not (tmp_path / "pwned").exists()


# --- ignore rules ------------------------------------------------------------------------


def test_root_gitignore_with_negation_anchoring_and_directory_patterns(tmp_path: Path) -> None:
    write(
        tmp_path, ".gitignore", "*.log\n!keep.log\n/top_only.py\ncache/\nlogs/\n!logs/inside.txt\n# comment\n"
    )
    for rel in [
        "app.log",
        "keep.log",
        "sub/deep.log",
        "top_only.py",
        "sub/top_only.py",
        "cache/data.py",
        "other/cache",  # a file named like the directory pattern
        "logs/inside.txt",
        "main.py",
    ]:
        write(tmp_path, rel)

    assert paths(tmp_path) == [".gitignore", "keep.log", "main.py", "other/cache", "sub/top_only.py"]
    # Ignored files are not "skipped": nothing to tell the user.
    assert reasons(tmp_path) == {}


def test_nested_gitignore_overrides_parent_and_anchors_to_its_directory(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.gen.py\n")
    write(tmp_path, "pkg/.gitignore", "!*.gen.py\n/local.py\n*.tmp\n")
    for rel in [
        "top.gen.py",
        "pkg/kept.gen.py",
        "pkg/local.py",
        "pkg/deeper/local.py",
        "pkg/x.tmp",
        "x.tmp",
        "other/y.gen.py",
    ]:
        write(tmp_path, rel)

    assert paths(tmp_path) == [
        ".gitignore",
        "pkg/.gitignore",
        "pkg/deeper/local.py",
        "pkg/kept.gen.py",
        "x.tmp",
    ]


def test_git_info_exclude_is_honoured_and_git_dir_never_listed(tmp_path: Path) -> None:
    write(tmp_path, ".git/info/exclude", "private.py\n")
    write(tmp_path, ".git/config", "[core]\n")
    write(tmp_path, "private.py")
    write(tmp_path, "public.py")
    write(tmp_path, ".gitignore", "!nothing\n")

    assert paths(tmp_path) == [".gitignore", "public.py"]


def test_gitignore_with_invalid_utf8_and_odd_patterns_does_not_break_the_walk(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", b"\xff\xfe*.log\n\n!\n\\\n[\nignored.py\n")
    write(tmp_path, "ignored.py")
    write(tmp_path, "kept.py")

    assert paths(tmp_path) == [".gitignore", "kept.py"]


@pytest.mark.parametrize(
    "directory",
    [
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "build",
        "dist",
        "vendor",
        "third_party",
        "site-packages",
        "mypkg.egg-info",
        ".eggs",
        ".pipeline",
        ".idea",
        ".vscode",
    ],
)
def test_always_skipped_directories(tmp_path: Path, directory: str) -> None:
    write(tmp_path, f"{directory}/inner.py")
    write(tmp_path, f"nested/{directory}/inner.js")
    write(tmp_path, "main.py")

    assert paths(tmp_path) == ["main.py"]
    assert reasons(tmp_path) == {}


def test_generated_directory_names_kept_when_they_are_python_packages(tmp_path: Path) -> None:
    write(tmp_path, "src/build/__init__.py")  # pypa/build's own package
    write(tmp_path, "src/build/env.py")
    write(tmp_path, "Lib/venv/__init__.py")  # the standard library's venv module
    write(tmp_path, "build/lib/pkg/__init__.py")  # setuptools output: no __init__.py at its top
    write(tmp_path, "dist/pkg-1.0.tar.gz", b"\x1f\x8b")

    assert paths(tmp_path) == ["Lib/venv/__init__.py", "src/build/__init__.py", "src/build/env.py"]


def test_cargo_target_only_skipped_beside_cargo_toml(tmp_path: Path) -> None:
    write(tmp_path, "crate/Cargo.toml", "[package]\nname = 'c'\n")
    write(tmp_path, "crate/target/debug/build.rs", "fn main() {}\n")
    write(tmp_path, "docs/target/page.py")

    assert paths(tmp_path) == ["crate/Cargo.toml", "docs/target/page.py"]


def test_virtualenv_detected_by_pyvenv_cfg_whatever_its_name(tmp_path: Path) -> None:
    write(tmp_path, "my-env/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path, "my-env/lib/python3.11/x/mod.py")
    write(tmp_path, "app/main.py")

    assert paths(tmp_path) == ["app/main.py"]


def test_exclude_patterns_from_the_caller(tmp_path: Path) -> None:
    write(tmp_path, "docs/out/api.md")
    write(tmp_path, "docs/guide.md")
    write(tmp_path, "gen_a.py")
    write(tmp_path, "src/gen_b.py")
    write(tmp_path, "src/main.py")

    assert paths(tmp_path, exclude=["docs/out/", "/gen_*.py"]) == [
        "docs/guide.md",
        "src/gen_b.py",
        "src/main.py",
    ]
    # The output folder given as an absolute path inside the repository works the same.
    assert paths(tmp_path, exclude=[str(tmp_path / "docs" / "out")]) == [
        "docs/guide.md",
        "gen_a.py",
        "src/gen_b.py",
        "src/main.py",
    ]


def test_caller_exclude_wins_over_gitignore_negation(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "!out/\n")
    write(tmp_path, "out/index.md")
    write(tmp_path, "a.py")

    assert paths(tmp_path, exclude=["out/"]) == [".gitignore", "a.py"]


# --- links -------------------------------------------------------------------------------


def outside_opens(monkeypatch: pytest.MonkeyPatch, root: Path) -> list[str]:
    """Record every open or read of a file that resolves outside ``root``."""
    seen: list[str] = []
    real_os_open = os.open
    root_real = os.path.realpath(root)

    def check(path, dir_fd=None) -> None:
        if dir_fd is None and isinstance(path, (str, os.PathLike)):
            resolved = os.path.realpath(path)
            if resolved != root_real and not resolved.startswith(root_real + os.sep):
                seen.append(resolved)

    def spy_os_open(path, flags, mode=0o777, *, dir_fd=None):
        check(path, dir_fd)
        return real_os_open(path, flags, mode, dir_fd=dir_fd)

    real_read = os.read

    def spy_read(fd, n):
        # Linux names the file behind a descriptor: catches reads through dir_fd-relative opens too.
        check(os.readlink(f"/proc/self/fd/{fd}"))
        return real_read(fd, n)

    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(os, "read", spy_read)
    return seen


def test_links_leaving_the_repository_are_reported_and_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    write(repo, "main.py")
    outside = write(tmp_path, "outside/secret.py", "TOKEN = 'x'\n")
    (repo / "passwd.py").symlink_to("/etc/passwd")
    (repo / "home").symlink_to(Path.home())
    (repo / "relative.py").symlink_to("../outside/secret.py")
    (repo / "outside_dir").symlink_to(outside.parent, target_is_directory=True)
    seen = outside_opens(monkeypatch, repo)

    files, skipped = discover(repo)

    assert [f.path for f in files] == ["main.py"]
    assert {s.path: s.reason for s in skipped} == {
        "home": "link_outside_repo",
        "outside_dir": "link_outside_repo",
        "passwd.py": "link_outside_repo",
        "relative.py": "link_outside_repo",
    }
    # The detail must not leak where the link points (it may name the user's home).
    assert all(str(Path.home()) not in s.detail and "/etc" not in s.detail for s in skipped)
    for rel in ["passwd.py", "relative.py", "home", "outside_dir/secret.py"]:
        result = read_source(repo, rel)
        assert isinstance(result, SkippedFile)
        assert result.reason == "link_outside_repo"
    assert seen == []


def test_file_link_inside_the_repository_is_a_normal_file(tmp_path: Path) -> None:
    write(tmp_path, "pkg/real.py", "VALUE = 1\n")
    (tmp_path / "alias.py").symlink_to("pkg/real.py")

    files, skipped = discover(tmp_path)

    assert skipped == []
    assert files == [SourceFile("alias.py", "python", 10), SourceFile("pkg/real.py", "python", 10)]
    assert read_source(tmp_path, "alias.py") == b"VALUE = 1\n"


def test_directory_links_and_loops_terminate(tmp_path: Path) -> None:
    write(tmp_path, "a/mod.py")
    (tmp_path / "a" / "back").symlink_to("..", target_is_directory=True)
    (tmp_path / "self").symlink_to(".", target_is_directory=True)
    (tmp_path / "ping").symlink_to("pong")
    (tmp_path / "pong").symlink_to("ping")

    files, skipped = discover(tmp_path)

    assert [f.path for f in files] == ["a/mod.py"]
    assert {s.path: s.reason for s in skipped} == {
        "a/back": "link_dir",
        "self": "link_dir",
        "ping": "broken_link",
        "pong": "broken_link",
    }


def test_broken_link(tmp_path: Path) -> None:
    (tmp_path / "dangling.py").symlink_to("missing.py")

    assert reasons(tmp_path) == {"dangling.py": "broken_link"}
    result = read_source(tmp_path, "dangling.py")
    assert isinstance(result, SkippedFile) and result.reason == "vanished"


def test_ignored_links_are_silent(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "passwd\n")
    (tmp_path / "passwd").symlink_to("/etc/passwd")

    assert reasons(tmp_path) == {}


def test_link_retargeted_outside_after_discovery_is_not_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo, "real.py", "ok = 1\n")
    write(tmp_path, "secret.py", "TOKEN = 1\n")
    link = repo / "alias.py"
    link.symlink_to("real.py")
    files, _ = discover(repo)
    assert "alias.py" in [f.path for f in files]

    link.unlink()
    link.symlink_to(tmp_path / "secret.py")
    result = read_source(repo, SourceFile("alias.py", "python", 7))

    assert isinstance(result, SkippedFile) and result.reason == "link_outside_repo"


def test_directory_swapped_for_a_link_during_the_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    write(repo, "pkg/mod.py", "inside = 1\n")
    write(tmp_path, "elsewhere/mod.py", "TOKEN = 1\n")
    (repo / "pkg").rename(repo / "pkg_old")
    (repo / "pkg").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    # Simulate the race: the link check ran before the swap, so it saw no link.
    monkeypatch.setattr(walk.os.path, "realpath", lambda p, **_: os.path.abspath(p))

    result = read_source(repo, "pkg/mod.py")

    assert isinstance(result, SkippedFile) and result.reason == "link_outside_repo"


@pytest.mark.parametrize("rel", ["../outside.py", "/etc/passwd", "a/../../outside.py", ""])
def test_read_source_refuses_paths_outside_root(tmp_path: Path, rel: str) -> None:
    write(tmp_path, "outside.py", "TOKEN = 1\n")
    repo = tmp_path / "repo"
    write(repo, "a/x.py")

    result = read_source(repo, rel)

    assert isinstance(result, SkippedFile) and result.reason == "link_outside_repo"


def test_is_within(tmp_path: Path) -> None:
    write(tmp_path, "repo/a.py")
    repo = tmp_path / "repo"
    (repo / "out").symlink_to(tmp_path)
    (repo / "in.py").symlink_to("a.py")

    assert is_within(repo, "a.py")
    assert is_within(repo, repo / "a.py")
    assert is_within(repo, repo)
    assert is_within(repo, "in.py")
    assert not is_within(repo, "out")
    assert not is_within(repo, "out/repo/../x")
    assert not is_within(repo, "../repo2")
    assert not is_within(repo, "/etc/passwd")
    assert not is_within(tmp_path / "re", repo / "a.py")  # a name prefix is not containment


# --- unreadable, vanished, special -------------------------------------------------------


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = write(tmp_path, "secret.py", "TOKEN = 1\n")
    write(tmp_path, "open.py")
    secret.chmod(0)
    try:
        if IS_ROOT:
            # root reads anything: make the permission check and the open fail as they would for a user.
            real_access, real_open = os.access, os.open
            monkeypatch.setattr(
                os,
                "access",
                lambda p, m, **kw: False if str(p).endswith("secret.py") else real_access(p, m, **kw),
            )

            def refusing_open(path, flags, mode=0o777, *, dir_fd=None):
                if str(path).endswith("secret.py"):
                    raise PermissionError(13, "Permission denied", str(path))
                return real_open(path, flags, mode, dir_fd=dir_fd)

            monkeypatch.setattr(os, "open", refusing_open)

        files, skipped = discover(tmp_path)
        result = read_source(tmp_path, "secret.py")
    finally:
        secret.chmod(0o644)

    assert [f.path for f in files] == ["open.py"]
    assert [(s.path, s.reason) for s in skipped] == [("secret.py", "permission_denied")]
    assert isinstance(result, SkippedFile) and result.reason == "permission_denied"


def test_unreadable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "locked/inner.py")
    write(tmp_path, "open.py")
    locked = tmp_path / "locked"
    locked.chmod(0)
    try:
        if IS_ROOT:
            real_scandir = os.scandir

            def refusing_scandir(path="."):
                if str(path).endswith("locked"):
                    raise PermissionError(13, "Permission denied", str(path))
                return real_scandir(path)

            monkeypatch.setattr(os, "scandir", refusing_scandir)
        files, skipped = discover(tmp_path)
    finally:
        locked.chmod(0o755)

    assert [f.path for f in files] == ["open.py"]
    assert [(s.path, s.reason) for s in skipped] == [("locked", "permission_denied")]


def test_file_vanishing_between_listing_and_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "gone.py")
    write(tmp_path, "stays.py")
    real_scandir = os.scandir

    class DeletingListing:
        """Lists the directory, then deletes gone.py before the walker looks at it."""

        def __init__(self, path):
            self._inner = real_scandir(path)

        def __enter__(self):
            entries = list(self._inner)
            (tmp_path / "gone.py").unlink(missing_ok=True)
            return iter(entries)

        def __exit__(self, *exc):
            self._inner.close()

    monkeypatch.setattr(os, "scandir", DeletingListing)

    files, skipped = discover(tmp_path)

    assert [f.path for f in files] == ["stays.py"]
    assert [(s.path, s.reason) for s in skipped] == [("gone.py", "vanished")]


def test_file_vanishing_between_discover_and_read(tmp_path: Path) -> None:
    write(tmp_path, "gone.py")
    files, _ = discover(tmp_path)
    (tmp_path / "gone.py").unlink()

    result = read_source(tmp_path, files[0])

    assert result == SkippedFile("gone.py", "vanished", result.detail)
    assert result.detail


def test_fifo_is_ignored_and_never_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    write(tmp_path, "a.py")

    assert discover(tmp_path) == ([SourceFile("a.py", "python", 6)], [])
    result = read_source(tmp_path, "pipe.py")
    assert isinstance(result, SkippedFile) and result.reason == "vanished"


# --- content checks ----------------------------------------------------------------------


def test_binary_file_with_source_extension(tmp_path: Path) -> None:
    write(tmp_path, "compiled.py", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    result = read_source(tmp_path, "compiled.py")

    assert isinstance(result, SkippedFile) and result.reason == "binary"


def test_nul_byte_after_the_sniff_window_is_not_binary(tmp_path: Path) -> None:
    write(tmp_path, "late.py", b"#" * 9000 + b"\x00")

    assert isinstance(read_source(tmp_path, "late.py"), bytes)


def test_invalid_utf8_reports_the_byte_offset(tmp_path: Path) -> None:
    write(tmp_path, "latin1.py", "s = 'café'\n".encode("latin-1"))
    write(tmp_path, "bom_latin1.py", b"\xef\xbb\xbf" + "s = 'café'\n".encode("latin-1"))

    result = read_source(tmp_path, "latin1.py")
    with_bom = read_source(tmp_path, "bom_latin1.py")

    assert isinstance(result, SkippedFile) and result.reason == "invalid_utf8"
    assert "byte offset 8" in result.detail
    assert isinstance(with_bom, SkippedFile) and "byte offset 11" in with_bom.detail


def test_bom_stripped_and_line_endings_kept(tmp_path: Path) -> None:
    write(tmp_path, "bom.py", b"\xef\xbb\xbfx = 1\r\ny = 2\nz = 3\r")

    assert read_source(tmp_path, "bom.py") == b"x = 1\r\ny = 2\nz = 3\r"


def test_too_large_files(tmp_path: Path) -> None:
    write(tmp_path, "big.py", "x = 1\n" * 100)
    write(tmp_path, "big_data.csv", "1,2\n" * 200)
    write(tmp_path, "package.json", "{}" + " " * 500)
    write(tmp_path, "small.py", "x = 1\n")

    files, skipped = discover(tmp_path, max_bytes=100)

    # Only files the tool would read are worth a warning; others are listed with their size.
    assert [f.path for f in files] == ["big_data.csv", "small.py"]
    assert {s.path: s.reason for s in skipped} == {"big.py": "too_large", "package.json": "too_large"}
    result = read_source(tmp_path, "big.py", max_bytes=100)
    assert isinstance(result, SkippedFile) and result.reason == "too_large" and "600" in result.detail
    assert read_source(tmp_path, "big.py", max_bytes=600) == b"x = 1\n" * 100


def test_open_beneath_fallback_without_dir_fd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "pkg/mod.py", "a = 1\n")
    monkeypatch.setattr(walk, "_OPEN_BENEATH", False)

    assert read_source(tmp_path, "pkg/mod.py") == b"a = 1\n"
