"""Point every chapter's Colab badge and Colab install cell at the repository in _config.yml.

    python tools/set_repository.py

A fork sets `repository.url` (and `repository.branch`) in _config.yml, runs this once, and
commits: the badges then open the fork's notebooks in Colab and the install cell installs the
fork's companion package. tests/test_book.py fails while a notebook points elsewhere.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nbtool  # noqa: E402

COLAB = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w./-]+?/notebooks/")
INSTALL = re.compile(r"git\+https://github\.com/[\w.-]+/[\w.-]+?@[\w./-]+?\"")


def repository() -> tuple[str, str]:
    """``("owner/name", branch)`` from _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    url = config["url"].rstrip("/")
    if not url.startswith("https://github.com/") or url.count("/") != 4:
        raise SystemExit(f"repository.url in _config.yml must look like https://github.com/OWNER/NAME, not {url!r}")
    return url.removeprefix("https://github.com/"), config["branch"]


def colab_prefix(repo: str, branch: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/"


def install_target(repo: str, branch: str) -> str:
    return f'git+https://github.com/{repo}@{branch}"'


def main() -> int:
    repo, branch = repository()
    changed = 0
    for path in nbtool.chapter_paths():
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            source = nbtool.cell_source(cell)
            new = COLAB.sub(colab_prefix(repo, branch), source)
            new = INSTALL.sub(install_target(repo, branch), new)
            if new != source:
                cell["source"] = new
                changed += 1
        path.write_text(nbtool.dumps(nbtool.normalize(nb, path)), encoding="utf-8")
    print(f"Repository {repo}, branch {branch}: {changed} cells updated.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
