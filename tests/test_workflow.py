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


_EVENT_TEST = re.compile(r"github\.event_name\s*==\s*'(\w+)'")


def _condition_holds(condition: str, event: str) -> bool:
    """Evaluate a job's ``if:`` made of ``github.event_name == '...'`` tests joined by || and &&."""
    python = _EVENT_TEST.sub(lambda m: repr(m.group(1) == event), condition)
    python = python.replace("||", " or ").replace("&&", " and ").replace("!", " not ")
    assert re.fullmatch(r"[\s()]*((True|False|and|or|not)[\s()]*)+", python), f"cannot evaluate if: {condition}"
    return eval(python, {"__builtins__": {}})  # only True, False, and, or, not, parentheses


def _jobs_run_by(event: str, branch: str = "main") -> set[str]:
    """The jobs GitHub runs for an event: the workflow must be triggered, then each job's ``if:``
    must hold and every job it needs must run."""
    if event not in TRIGGERS:
        return set()
    trigger = TRIGGERS[event] or {}
    if isinstance(trigger, dict) and branch not in trigger.get("branches", [branch]):
        return set()
    running: set[str] = set()
    for _ in JOBS:  # enough passes for any chain of needs
        for name, job in JOBS.items():
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if ("if" not in job or _condition_holds(job["if"], event)) and all(n in running for n in needs):
                running.add(name)
    return running


def _scripts(jobs: set[str]) -> set[str]:
    return {command.split()[1] for name in jobs if "steps" in JOBS[name] for command in _runs(name)}


def _uses(jobs: set[str], action: str) -> list[dict]:
    return [step for name in jobs for step in JOBS[name].get("steps", []) if step.get("uses", "").startswith(action)]


TEST_SCRIPTS = {"tools/test.sh", ".ci/run"}  # .ci/run runs tools/test.sh: see test_smoke.py


def test_pull_requests_run_the_tests_and_publish_nothing():
    jobs = _jobs_run_by("pull_request", branch="a-feature")
    assert _scripts(jobs) & TEST_SCRIPTS, f"a pull request runs {sorted(jobs)}, none of which runs the tests"
    assert not _uses(jobs, "actions/deploy-pages") and "tools/build_book.sh" not in _scripts(jobs)


def test_a_push_to_main_builds_and_publishes_the_book_and_other_branches_do_not():
    jobs = _jobs_run_by("push", branch="main")
    assert "tools/build_book.sh" in _scripts(jobs)
    built = re.search(r"The book is built: \$\(pwd\)/(\S+)/index\.html", (ROOT / "tools/build_book.sh").read_text())
    assert [step["with"]["path"] for step in _uses(jobs, "actions/upload-pages-artifact")] == [built.group(1)], (
        "the uploaded folder must be the one tools/build_book.sh writes"
    )
    deploy = [name for name in jobs if _uses({name}, "actions/deploy-pages")]
    assert deploy, "a push to main publishes nothing"
    uploader = next(name for name in jobs if _uses({name}, "actions/upload-pages-artifact"))
    assert all(uploader in str(JOBS[name].get("needs", "")) for name in deploy), "deploy must wait for the upload"
    other = _jobs_run_by("push", branch="a-feature")
    assert not _uses(other, "actions/deploy-pages") and "tools/build_book.sh" not in _scripts(other)


def test_a_weekly_run_tests_the_newest_colabs_and_the_lowest_versions():
    cron = TRIGGERS["schedule"][0]["cron"].split()
    minute, hour, day_of_month, month, day_of_week = cron
    assert (day_of_month, month) == ("*", "*") and re.fullmatch(r"[0-6]", day_of_week), f"not weekly: {cron}"
    assert minute.isdigit() and hour.isdigit(), f"runs more than once a week: {cron}"
    jobs = _jobs_run_by("schedule")
    for name in jobs:
        assert _scripts({name}) & TEST_SCRIPTS, f"{name} runs in the weekly run but runs no tests"
    assert set().union(*(_modes(JOBS[name]) for name in jobs)) == {"latest", "colab", "minimum"}
    assert not _uses(jobs, "actions/deploy-pages"), "the weekly run must not publish"


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
