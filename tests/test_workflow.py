"""The GitHub Actions workflow cannot run here; check that it says what the README promises."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
JOBS = WORKFLOW["jobs"]
TRIGGERS = WORKFLOW[True]  # YAML 1.1 reads the key `on` as the boolean True


def _runs(job: str) -> list[str]:
    return [step["run"] for step in JOBS[job]["steps"] if "run" in step]


def test_triggers():
    assert TRIGGERS["push"]["branches"] == ["main"]
    assert "pull_request" in TRIGGERS
    assert TRIGGERS["schedule"][0]["cron"].split()[-1] == "1", "the latest-dependency run is weekly"


def test_build_uses_the_readme_command_and_deploys_the_site():
    assert _runs("build") == ["bash tools/build_book.sh"]
    upload = [s for s in JOBS["build"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert JOBS["deploy"]["needs"] == "build"
    assert JOBS["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages")
    assert WORKFLOW["permissions"]["pages"] == "write"


def test_pull_requests_run_the_tests():
    assert "pull_request" in JOBS["test"]["if"]
    assert _runs("test") == ["bash tools/test.sh"]


def test_weekly_run_uses_the_newest_releases():
    job = JOBS["latest-dependencies"]
    assert "schedule" in job["if"] and job["env"]["BOOK_DEPS"] == "latest"
    assert _runs("latest-dependencies") == ["bash .ci/run"]


def test_every_job_uses_python_311_and_a_time_limit():
    for name, job in JOBS.items():
        if name == "deploy":
            continue
        setup = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")]
        assert setup and setup[0]["with"]["python-version"] == "3.11", name
        assert job["timeout-minutes"] <= 90, name


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("bash tools/build_book.sh", "bash tools/test.sh"):
        assert command in readme
        assert (ROOT / command.split()[1]).exists()
