"""The GitHub Actions workflow cannot run here: check that what it runs exists and works here.

What the README promises (pull requests run the tests; pushes to main build and publish; a
weekly run tries the newest releases, Colab's versions and the lowest allowed ones) is read
from the workflow; every command it runs and every dependency mode it asks for is then checked
against the scripts themselves.
"""

import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
JOBS = WORKFLOW["jobs"]
TRIGGERS = WORKFLOW[True]  # YAML 1.1 reads the key `on` as the boolean True


def _runs(job: str) -> list[str]:
    return [step["run"] for step in JOBS[job]["steps"] if "run" in step]


def _modes(job: dict) -> set[str]:
    """The BOOK_DEPS values a job runs with (its env, expanded over its matrix)."""
    value = job.get("env", {}).get("BOOK_DEPS", "pinned")
    match = re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", value)
    if not match:
        return {value}
    return {row[match.group(1)] for row in job["strategy"]["matrix"]["include"]}


def _weekly(job: dict) -> bool:
    return "schedule" in job.get("if", "") and "pull_request" not in job.get("if", "")


def test_readme_promises():
    assert TRIGGERS["push"]["branches"] == ["main"] and "pull_request" in TRIGGERS
    assert TRIGGERS["schedule"][0]["cron"].split()[-1] == "1", "the dependency runs are weekly"
    assert "pull_request" in JOBS["test"]["if"] and _runs("test") == ["bash tools/test.sh"]
    assert _runs("build") == ["bash tools/build_book.sh"]
    upload = [s for s in JOBS["build"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html" and JOBS["deploy"]["needs"] == "build"
    weekly = set().union(*(_modes(job) for job in JOBS.values() if _weekly(job)))
    assert weekly == {"latest", "colab", "minimum"}


def test_every_mode_the_workflow_asks_for_is_one_setup_env_knows():
    """setup_env.sh lists the modes it accepts when given an unknown one."""
    result = subprocess.run(["bash", "tools/setup_env.sh"], cwd=ROOT, capture_output=True, text=True, timeout=30,
                            env={**os.environ, "BOOK_DEPS": "?", "BOOK_VENV": "/nonexistent/venv"})
    known = set(re.search(r"one of ([\w, ]+);", result.stderr).group(1).split(", "))
    for name, job in JOBS.items():
        assert _modes(job) <= known, f"{name} asks for {_modes(job) - known}"


def test_every_command_the_workflow_runs_exists():
    for name, job in JOBS.items():
        for command in _runs(name) if "steps" in job else []:
            script = command.split()[1]
            assert command.split()[0] == "bash" and (ROOT / script).is_file(), f"{name}: {command}"


def test_jobs_use_a_python_the_book_supports_and_a_time_limit():
    requires = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    for name, job in JOBS.items():
        if name == "deploy":
            continue
        setup = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")]
        assert setup, name
        version = setup[0]["with"]["python-version"]
        versions = ([row["python"] for row in job["strategy"]["matrix"]["include"]]
                    if "matrix." in version else [version])
        for v in versions:
            assert v.startswith("3.") and int(v.split(".")[1]) >= int(requires), f"{name}: Python {v}"
        assert job["timeout-minutes"] <= 90, name


def test_colab_job_runs_colabs_python():
    colab = [row for job in JOBS.values() if "strategy" in job
             for row in job["strategy"]["matrix"]["include"] if row.get("deps") == "colab"]
    colab_python = re.search(r"^# python: (3\.\d+)", (ROOT / "colab-versions.txt").read_text(), re.M).group(1)
    assert colab and colab[0]["python"] == colab_python


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("bash tools/build_book.sh", "bash tools/test.sh"):
        assert command in readme
        assert (ROOT / command.split()[1]).exists()
