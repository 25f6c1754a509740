"""The CI examples parse and carry the steps their README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"
INSTALL = 'pip install "pipeline[embedded] @ ${PIPELINE_SOURCE}"'


def load(name: str) -> dict:
    data = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def scripts(steps: list[dict]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps)


def uses(steps: list[dict], action: str) -> list[dict]:
    return [s for s in steps if str(s.get("uses", "")).startswith(action + "@")]


def test_github_actions_workflow():
    wf = load("github-actions.yml")
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = wf.get("on", wf.get(True))
    assert "pull_request" in triggers and "push" in triggers
    jobs = wf["jobs"]
    check, publish = jobs["docs-check"], jobs["docs-publish"]
    assert "pull_request" in check["if"] and "default_branch" in publish["if"]
    assert check["permissions"] == {"contents": "read"} and publish["permissions"] == {"contents": "write"}
    for job in (check, publish):
        steps = job["steps"]
        assert uses(steps, "actions/checkout")[0]["with"]["fetch-depth"] == 0
        assert str(uses(steps, "actions/setup-python")[0]["with"]["python-version"]) == "3.11"
        restore = uses(steps, "actions/cache/restore")[0]["with"]
        assert restore["path"].rstrip("/") == ".pipeline"
        assert (
            "github.sha" in restore["key"] and restore["restore-keys"].strip() == "pipeline-${{ runner.os }}-"
        )
        assert uses(steps, "actions/cache/save")[0]["with"]["key"] == restore["key"]
        assert INSTALL in scripts(steps)
        reports = [
            s
            for s in uses(steps, "actions/upload-artifact")
            if s["with"]["path"] == "docs/reference/report.json"
        ]
        assert reports and reports[0]["if"] == "always()"
    assert "python -m pipeline run . --check" in scripts(check["steps"])
    publish_runs = scripts(publish["steps"])
    assert "python -m pipeline run .\n" in publish_runs + "\n" and "--check" not in publish_runs
    commit = publish["steps"][-1]["run"]
    assert "github-actions[bot]" in commit and "[skip ci]" in commit and "git push" in commit
    assert wf["env"]["PIPELINE_SOURCE"] == "${{ vars.PIPELINE_SOURCE }}"


def test_gitlab_ci_jobs():
    ci = load("gitlab-ci.yml")
    assert ci["variables"]["GIT_DEPTH"] == "0"
    base = ci[".reference-docs"]
    assert base["image"] == "python:3.11"
    caches = {str(c["key"]) if isinstance(c["key"], str) else "files": c for c in base["cache"]}
    pipeline_cache = caches["pipeline-$CI_COMMIT_REF_SLUG"]
    assert pipeline_cache["paths"] == [".pipeline/"] and pipeline_cache["fallback_keys"]
    assert caches["files"]["key"]["files"] == [".gitlab-ci.yml"]
    assert any(INSTALL in line for line in base["before_script"])
    check, publish = ci["docs-check"], ci["docs-publish"]
    assert check["extends"] == publish["extends"] == ".reference-docs"
    assert "merge_request_event" in check["rules"][0]["if"]
    assert "$CI_DEFAULT_BRANCH" in publish["rules"][0]["if"]
    assert "python -m pipeline run . --check" in "\n".join(check["script"])
    publish_script = "\n".join(publish["script"])
    assert publish_script.startswith("python -m pipeline run .\n")
    assert (
        "DOCS_PUSH_TOKEN" in publish_script and "[skip ci]" in publish_script and "git push" in publish_script
    )
    assert publish["artifacts"]["paths"] == ["docs/reference/report.json"]
    assert publish["artifacts"]["when"] == check["artifacts"]["when"] == "always"


def test_readme_explains_files_cache_and_exit_codes():
    text = (CI / "README.md").read_text(encoding="utf-8")
    for needle in ("github-actions.yml", "gitlab-ci.yml", "PIPELINE_SOURCE", "DOCS_PUSH_TOKEN", ".pipeline/"):
        assert needle in text
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in text
