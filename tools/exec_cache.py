"""Keep the execution cache from serving outputs that an older companion package computed.

jupyter-cache keys each notebook on its code cells only. A change in ``capsnet_book`` (or in the
installed versions of its dependencies) changes what a chapter prints and draws without changing
a single code cell, so the cache would keep serving the old outputs. This records a fingerprint
of the package's code, pyproject.toml and the installed distributions inside the cache folder,
and empties the cache when the fingerprint differs (or was never recorded).

    python tools/exec_cache.py [CACHE_DIR]      (tools/build_book.sh runs it before building)
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = "capsnet_book.fingerprint"


def installed_distributions() -> list[str]:
    """``name==version`` of every distribution this Python sees, sorted."""
    return sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()})


def fingerprint(root: Path = ROOT, installed: list[str] | None = None) -> str:
    """SHA-256 of the package's ``.py`` files (names and bytes), pyproject.toml and ``installed``."""
    digest = hashlib.sha256()
    for path in sorted((root / "capsnet_book").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    pyproject = root / "pyproject.toml"
    digest.update(pyproject.read_bytes() if pyproject.exists() else b"")
    digest.update("\n".join(installed_distributions() if installed is None else installed).encode())
    return digest.hexdigest()


def guard(cache_dir: Path, current: str) -> bool:
    """Empty ``cache_dir`` unless it was made with fingerprint ``current``; record ``current``.

    Returns:
        True if a cache was there and has been cleared.
    """
    cache_dir = Path(cache_dir)
    stamp = cache_dir / STAMP
    cleared = False
    if cache_dir.exists():
        recorded = stamp.read_text(encoding="utf-8").strip() if stamp.exists() else None
        if recorded != current:
            shutil.rmtree(cache_dir)
            cleared = True
    cache_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current + "\n", encoding="utf-8")
    return cleared


def main(argv: list[str]) -> int:
    cache_dir = Path(argv[0]) if argv else ROOT / "_build" / ".jupyter_cache"
    if guard(cache_dir, fingerprint()):
        forget_read_documents(cache_dir.parent)
        print(f"The companion package or its dependencies changed: cleared {cache_dir}, every chapter runs again.")
    return 0


def forget_read_documents(build_dir: Path) -> None:
    """Remove Sphinx's saved environment (``.doctrees``) beside the cache.

    Emptying the execution cache is not enough: Sphinx re-reads only the documents whose source
    changed, and keeps serving the outputs it read before for the others. Without its saved
    environment it reads, and so executes, every chapter again.
    """
    shutil.rmtree(Path(build_dir) / ".doctrees", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
