"""Helpers of tools/setup_env.sh for the dependency modes that are not the pins.

    python tools/dep_modes.py minimum [pyproject.toml]     print 'name==lowest' for each dependency
    python tools/dep_modes.py requirements FILE            print FILE's pins as pip requirements
    python tools/dep_modes.py check FILE                   exit 1 unless the running Python has
                                                           exactly FILE's versions installed

``minimum`` reads the lower bounds pyproject.toml promises (``name>=x.y``) and pins them, so the
``minimum`` mode tests exactly what the package claims to support. ``FILE`` is a versions file
such as ``colab-versions.txt``: comment lines ``# source: URL``, ``# date: ...`` and
``# python: ...`` say where the versions come from, then one ``name==version`` a line (a trailing
``# assumed: ...`` marks a version not read from the source).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s#;]+)\s*(?:#\s*(.*))?$")
_HEADER = re.compile(r"^#\s*(source|date|python):\s*(.+?)\s*$")
_LOWER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\[\]-]*?)\s*>=\s*([^,;\s]+)")


def canonical(name: str) -> str:
    """PEP 503 name: ``Koreanize_Matplotlib`` -> ``koreanize-matplotlib``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class VersionsFile:
    """A versions file: where it comes from and its pins (canonical name -> version)."""

    source: str
    date: str
    python: str
    pins: dict[str, str] = field(default_factory=dict)
    assumed: dict[str, str] = field(default_factory=dict)  # name -> why the version is assumed


def read_versions(path: Path) -> VersionsFile:
    """Parse a versions file; raise ValueError naming the line that is not understood.

    Raises:
        ValueError: a line is neither a comment nor ``name==version``, a name appears twice, or
            the ``source`` / ``date`` / ``python`` header line is missing.
    """
    header: dict[str, str] = {}
    pins: dict[str, str] = {}
    assumed: dict[str, str] = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _HEADER.match(line)
            if match:
                header.setdefault(match.group(1), match.group(2))
            continue
        match = _PIN.match(line)
        if not match:
            raise ValueError(f"{path}:{number}: expected 'name==version  # comment', got {raw!r}")
        name, version, comment = canonical(match.group(1)), match.group(2), match.group(3) or ""
        if name in pins:
            raise ValueError(f"{path}:{number}: {name} is pinned twice")
        pins[name] = version
        if comment.lower().startswith("assumed"):
            assumed[name] = comment
    missing = [key for key in ("source", "date", "python") if key not in header]
    if missing:
        raise ValueError(f"{path}: the header lacks {', '.join(missing)} (write e.g. '# source: URL')")
    return VersionsFile(header["source"], header["date"], header["python"], pins, assumed)


def installed_mismatches(pins: dict[str, str], installed: dict[str, str] | None = None) -> list[str]:
    """What differs between ``pins`` and what is installed (``installed`` defaults to this Python's)."""
    if installed is None:
        installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    problems = []
    for name, version in sorted(pins.items()):
        have = installed.get(name)
        if have is None:
            problems.append(f"{name}: {version} expected, not installed")
        elif have != version:
            problems.append(f"{name}: {version} expected, {have} installed")
    return problems


def project_dependencies(pyproject: Path) -> list[str]:
    """The ``[project] dependencies`` strings of a pyproject.toml."""
    text = Path(pyproject).read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: read the array by hand (it is a flat list of strings)
        block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text, re.S | re.M)
        return re.findall(r"\"([^\"]+)\"", block.group(1)) if block else []
    return list(tomllib.loads(text)["project"]["dependencies"])


def minimum_pins(pyproject: Path) -> list[str]:
    """``name==x`` for every dependency declared as ``name>=x`` (each must have a lower bound).

    Raises:
        ValueError: a dependency has no ``>=`` lower bound (the minimum mode could not test it).
    """
    pins = []
    for requirement in project_dependencies(pyproject):
        match = _LOWER.match(requirement.strip())
        if not match:
            raise ValueError(f"{pyproject}: dependency {requirement!r} has no '>=' lower bound to test")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "minimum":
        print("\n".join(minimum_pins(Path(argv[1]) if len(argv) > 1 else ROOT / "pyproject.toml")))
        return 0
    if len(argv) == 2 and argv[0] == "requirements":
        versions = read_versions(Path(argv[1]))
        print("\n".join(f"{name}=={version}" for name, version in versions.pins.items()))
        return 0
    if len(argv) == 2 and argv[0] == "check":
        versions = read_versions(Path(argv[1]))
        problems = installed_mismatches(versions.pins)
        if problems:
            print(f"The environment no longer has the versions of {argv[1]} ({versions.source}, {versions.date}):",
                  file=sys.stderr)
            print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
            print("Installing the package changed what Colab ships: narrow pyproject.toml's ranges "
                  "so that Colab's versions satisfy them.", file=sys.stderr)
            return 1
        print(f"All {len(versions.pins)} versions of {argv[1]} are installed unchanged.")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
