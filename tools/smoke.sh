#!/usr/bin/env bash
# Smoke run of the paper setting: execute chapters with SETTING="paper" and BOOK_SMOKE=1, so
# that every model, preset and code path is the paper's but the data and epochs are cut to a
# few batches (capsnet_book.notebook.size). It checks in minutes, on a CPU, that a reader who
# switches a chapter to "paper" on a GPU gets a chapter that runs. Structural claims (shapes,
# parameter counts, identities) are asserted; claims about training quality are skipped.
#   bash tools/smoke.sh              the chapters listed in SMOKE_CHAPTERS
#   bash tools/smoke.sh 03 06        some of them (arguments starting with - go to pytest: -ra)
#   BOOK_SETTING=quick bash tools/smoke.sh    the same for the quick setting
set -euo pipefail
cd "$(dirname "$0")/.."
# Chapters that have a smoke mode: every chapter.
SMOKE_CHAPTERS=(01 02 03 04 05 06 07 08)
chapters=() pytest_args=()
for arg in "$@"; do
  case "$arg" in -*) pytest_args+=("$arg");; *) chapters+=("$arg");; esac
done
[ ${#chapters[@]} -gt 0 ] || chapters=("${SMOKE_CHAPTERS[@]}")
notebooks=()
for chapter in "${chapters[@]}"; do
  found=(notebooks/en/"$chapter"_*.ipynb)
  [ -e "${found[0]}" ] || { echo "smoke.sh: no chapter notebooks/en/${chapter}_*.ipynb" >&2; exit 2; }
  notebooks+=("${found[@]}")
done
export BOOK_SETTING="${BOOK_SETTING:-paper}" BOOK_SMOKE=1 BOOK_REUSE_BUILD=0  # executes the chapters itself
echo "Smoke run, $BOOK_SETTING setting: ${notebooks[*]}"
bash tools/test.sh "${pytest_args[@]}" "${notebooks[@]}"
