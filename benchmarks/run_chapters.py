"""Time each chapter's top-to-bottom run, its longest cell, and a reference workload beside them.

    python benchmarks/run_chapters.py            # every chapter (English edition)
    python benchmarks/run_chapters.py 01 03      # chapters whose file name starts with 01 or 03
    python benchmarks/run_chapters.py --lang ko --setting paper --no-budget
    python benchmarks/run_chapters.py --record   # also write the tables the instructor pages show

Machines of the same kind differ several-fold in speed from day to day, so seconds alone say
little. Before and after the chapters this script times a fixed reference workload (a small
Keras fit, :func:`reference_seconds`) in a fresh process, and states every time also as a
multiple of it ("x ref"). The budgets are kept in both units: a chapter passes if it is within
its budget in seconds *or* in reference units, so a slow day (which slows the reference as much)
does not fail a chapter, while a chapter that really grew does.

Prints one line per chapter (wall time including the kernel's start-up, and its longest cell)
and writes benchmarks/results/chapters.json. Exits 1 if a chapter fails or runs over budget.
The two editions have the same code but for one language line, so one language times a chapter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

# Budgets of the quick setting (issue 18), in seconds on the 2-core machine where they were set,
# and the reference workload's time on that machine the same day; the ratio budgets follow.
BUDGET_CHAPTER_S = 75.0
BUDGET_CELL_S = 40.0
BUDGET_BOOK_S = 300.0
REFERENCE_S_WHEN_SET = 2.6  # 2026-12-02, 2-core AMD EPYC: the mean of the two reference runs of --record

REFERENCE_FIT = r"""
import os, time
if hasattr(os, "sched_setaffinity"):  # one core: the chapters gain almost nothing from a second one
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, keras
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).random((4096, 28, 28, 1), dtype=np.float32)
y = np.arange(4096) % 10
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                          keras.layers.MaxPooling2D(), keras.layers.Conv2D(32, 3, activation="relu"),
                          keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x[:64], y[:64], epochs=1, verbose=0)  # build and trace first: the timed part is steady work
start = time.perf_counter()
model.fit(x, y, batch_size=64, epochs=8, verbose=0)
print(time.perf_counter() - start)
"""


def reference_seconds() -> float:
    """Wall time of the reference workload: 8 epochs of a small CNN on 4,096 images, fresh process.

    It runs on one core. The chapters run about as fast on one core as on two (234 s against 243 s
    for the whole book, 2026-12-02), while the small reference fit ran faster on one core than on
    two (2.5 s against 3.7 s): timed on two cores, its ratio to the chapters changed with the number
    of cores, timed on one it tracks them (on one core shared with a busy process, the book took
    2.1 times as long and the one-core reference 1.8 times).
    """
    out = subprocess.run([sys.executable, "-c", REFERENCE_FIT], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _cell_seconds(cell: nbformat.NotebookNode) -> float:
    """How long one executed cell ran, from the timestamps nbclient records in its metadata."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.status.busy"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def time_chapter(path: Path, setting: str, timeout: int) -> tuple[float, float, int]:
    """Execute one notebook in a fresh kernel (cwd = its folder).

    Returns:
        (wall time in s, longest cell in s, index of that cell in the notebook).
    """
    nb = nbformat.read(path, as_version=4)
    os.environ["BOOK_SETTING"] = setting
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - start
    cells = [_cell_seconds(c) if c.cell_type == "code" else 0.0 for c in nb.cells]
    longest = max(range(len(cells)), key=cells.__getitem__)
    return wall, cells[longest], longest


def within(seconds: float, budget_s: float, reference: float) -> bool:
    """Within budget in seconds, or in reference units (the budget's seconds on the day it was set)."""
    return seconds <= budget_s or seconds / reference <= budget_s / REFERENCE_S_WHEN_SET


def record_tables(results: dict[str, dict], reference: float, setting: str, total: float) -> None:
    """The run-time tables included by the instructor pages, one per language."""
    machine = f"{platform.machine()}, {os.cpu_count()}"
    day = time.strftime("%Y-%m-%d")
    texts = {
        "ko": (f"`benchmarks/run_chapters.py`로 {day}에 잰 값입니다({ {'quick': '빠른', 'paper': '논문'}[setting]} 설정, {machine}코어 CPU, "
               f"커널 시작 포함). 같은 실행에서 기준 작업(작은 CNN을 Keras로 학습, 스크립트 참조)이 "
               f"{reference:.1f}초 걸렸고, 「×기준」 열은 각 시간을 그 배수로 나타냅니다. 컴퓨터가 느린 날에는 "
               f"초는 늘어도 배수는 거의 그대로입니다.\n\n"
               "| 장 | 실행 시간 | ×기준 | 가장 긴 셀 | ×기준 |\n|---|---|---|---|---|\n",
               "| {n}장 `{name}` | {s:.0f}초 | {sr:.1f} | {c:.0f}초 | {cr:.1f} |\n",
               f"| 전체(한 언어판) | {total:.0f}초 | {total / reference:.1f} | | |\n"),
        "en": (f"Measured by `benchmarks/run_chapters.py` on {day} ({setting} setting, {machine}-core CPU, "
               f"kernel start-up included). In the same run a reference workload (a small Keras CNN fit, see "
               f"the script) took {reference:.1f} s; the \"x ref\" columns give each time as a multiple of it. "
               f"On a slow day the seconds grow, the multiples hardly move.\n\n"
               "| Chapter | Wall time | x ref | Longest cell | x ref |\n|---|---|---|---|---|\n",
               "| {n} `{name}` | {s:.0f} s | {sr:.1f} | {c:.0f} s | {cr:.1f} |\n",
               f"| Whole book (one edition) | {total:.0f} s | {total / reference:.1f} | | |\n"),
    }
    for lang, (head, row, foot) in texts.items():
        rows = "".join(row.format(n=int(name[:2]), name=name, s=r["seconds"], sr=r["seconds"] / reference,
                                  c=r["longest_cell_seconds"], cr=r["longest_cell_seconds"] / reference)
                       for name, r in results.items())
        (ROOT / "book" / lang / "_chapter_times.md").write_text(head + rows + foot, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="file-name prefixes such as 01 or 06_capsnet (default: all)")
    parser.add_argument("--lang", choices=("ko", "en"), default="en")
    parser.add_argument("--setting", choices=("quick", "paper"), default="quick")
    parser.add_argument("--no-budget", action="store_true", help="report only (for the paper setting)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    parser.add_argument("--record", action="store_true",
                        help="write book/ko/_chapter_times.md and book/en/_chapter_times.md (all chapters only)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "chapters.json")
    args = parser.parse_args(argv)

    paths = sorted((ROOT / "notebooks" / args.lang).glob("*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in args.chapters)]
        if not paths:
            parser.error(f"no chapter in notebooks/{args.lang} starts with {' or '.join(args.chapters)}")

    print(f"Chapters, {args.setting} setting, on {platform.machine()} with {os.cpu_count()} CPU cores")
    references = [reference_seconds()]
    print(f"  reference workload: {references[0]:.1f} s")
    results, failed = {}, False
    for path in paths:
        try:
            seconds, cell_s, cell_index = time_chapter(path, args.setting, args.timeout)
        except Exception as err:  # report and go on with the next chapter
            print(f"  {path.stem:<32} FAILED: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}")
            failed = True
            continue
        results[path.stem] = {"seconds": round(seconds, 1), "longest_cell_seconds": round(cell_s, 1),
                              "longest_cell_index": cell_index}
        print(f"  {path.stem:<32} {seconds:7.1f} s, longest cell {cell_s:5.1f} s (cell {cell_index})", flush=True)
    references.append(reference_seconds())
    reference = statistics.mean(references)
    total = sum(r["seconds"] for r in results.values())
    print(f"  reference workload: {references[1]:.1f} s (mean {reference:.1f} s)")
    print(f"  total {total:.0f} s = {total / reference:.1f} x ref")

    over = []
    if not args.no_budget:
        for name, r in results.items():
            r["x_ref"] = round(r["seconds"] / reference, 2)
            r["longest_cell_x_ref"] = round(r["longest_cell_seconds"] / reference, 2)
            if not within(r["seconds"], BUDGET_CHAPTER_S, reference):
                over.append(f"{name}: {r['seconds']:.0f} s, {r['x_ref']:.1f} x ref (budget {BUDGET_CHAPTER_S:.0f} s)")
            if not within(r["longest_cell_seconds"], BUDGET_CELL_S, reference):
                over.append(f"{name}: cell {r['longest_cell_index']} {r['longest_cell_seconds']:.0f} s "
                            f"(budget {BUDGET_CELL_S:.0f} s)")
        if not args.chapters and not within(total, BUDGET_BOOK_S, reference):
            over.append(f"whole book: {total:.0f} s (budget {BUDGET_BOOK_S:.0f} s)")
    for line in over:
        print(f"  OVER BUDGET {line}")
    budgets = {"chapter_s": BUDGET_CHAPTER_S, "cell_s": BUDGET_CELL_S, "book_s": BUDGET_BOOK_S,
               "reference_s_when_set": REFERENCE_S_WHEN_SET}
    if args.record and not args.chapters and not (failed or over):
        record_tables(results, reference, args.setting, total)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(
        {"setting": args.setting, "lang": args.lang, "cpu_cores": os.cpu_count(),
         "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
         "reference_seconds": [round(r, 2) for r in references], "total_seconds": round(total, 1),
         "budgets": budgets, "chapters": results}, indent=2))
    return int(failed or bool(over))


if __name__ == "__main__":
    sys.exit(main())
