"""Time each chapter's top-to-bottom run in its quick setting.

    python benchmarks/run_chapters.py            # every chapter (English edition)
    python benchmarks/run_chapters.py 01 03      # chapters whose file name starts with 01 or 03
    python benchmarks/run_chapters.py --lang ko --setting paper --budget 3600
    python benchmarks/run_chapters.py --record   # also write the tables the instructor pages show

Prints one line per chapter (wall time in seconds, including the kernel's start-up) and writes
benchmarks/results/chapters.json. Exits 1 if a chapter fails or runs over --budget seconds.
The two editions share their code, so one language is enough to time a chapter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUDGET = 180.0  # seconds per chapter on a 2-core CPU, quick setting
BUDGETS = {"07": 300.0}  # chapter 7 trains 5 models x 2 seeds live (issue 11 gives it 300 s)


def time_chapter(path: Path, setting: str, timeout: int) -> float:
    """Execute one notebook in a fresh kernel (cwd = its folder) and return the wall time in s."""
    nb = nbformat.read(path, as_version=4)
    os.environ["BOOK_SETTING"] = setting
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def record_tables(seconds: dict[str, float], setting: str) -> None:
    """The run-time tables included by the instructor pages, one per language."""
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}"
    day = time.strftime("%Y-%m-%d")
    heads = {
        "ko": (f"`benchmarks/run_chapters.py`로 {day}에 잰 값입니다({setting} 설정, {machine}, 커널 시작 포함).\n\n"
               "| 장 | 실행 시간 |\n|---|---|\n", "{n}장 `{name}` | {s:.0f}초"),
        "en": (f"Measured by `benchmarks/run_chapters.py` on {day} ({setting} setting, {machine}, kernel start-up included).\n\n"
               "| Chapter | Wall time |\n|---|---|\n", "{n} `{name}` | {s:.0f} s"),
    }
    for lang, (head, row) in heads.items():
        rows = "".join(f"| {row.format(n=int(name[:2]), name=name, s=s)} |\n" for name, s in seconds.items())
        (ROOT / "book" / lang / "_chapter_times.md").write_text(head + rows, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="file-name prefixes such as 01 or 06_capsnet (default: all)")
    parser.add_argument("--lang", choices=("ko", "en"), default="en")
    parser.add_argument("--setting", choices=("quick", "paper"), default="quick")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds allowed per chapter (default: 180, and 300 for chapter 7)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    parser.add_argument("--record", action="store_true",
                        help="write book/ko/_chapter_times.md and book/en/_chapter_times.md (all chapters only)")
    args = parser.parse_args(argv)

    paths = sorted((ROOT / "notebooks" / args.lang).glob("*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in args.chapters)]
        if not paths:
            parser.error(f"no chapter in notebooks/{args.lang} starts with {' or '.join(args.chapters)}")

    print(f"Chapters, {args.setting} setting, on {platform.machine()} with {os.cpu_count()} CPU cores")
    results, status = {}, 0
    for path in paths:
        try:
            seconds = time_chapter(path, args.setting, args.timeout)
        except Exception as err:  # report and go on with the next chapter
            print(f"  {path.stem:<32} FAILED: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}")
            results[path.stem] = None
            status = 1
            continue
        budget = args.budget or BUDGETS.get(path.name[:2], DEFAULT_BUDGET)
        over = seconds > budget
        status |= over
        results[path.stem] = round(seconds, 1)
        print(f"  {path.stem:<32} {seconds:7.1f} s{'  OVER BUDGET (%.0f s)' % budget if over else ''}")

    if args.record and not args.chapters and status == 0:
        record_tables(results, args.setting)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "chapters.json").write_text(json.dumps(
        {"setting": args.setting, "lang": args.lang, "cpu_cores": os.cpu_count(), "seconds": results}, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
