#!/usr/bin/env bash
# Build the whole book: install what it needs, execute every chapter, write the static site.
#   bash tools/build_book.sh
# Warnings are errors. Re-running reuses the execution cache (_build/.jupyter_cache) for
# chapters whose code did not change; a change in the companion package, pyproject.toml or the
# installed versions empties it first (tools/exec_cache.py), since the cache keys on code cells only.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup_env.sh
python tools/exec_cache.py _build/.jupyter_cache
jupyter-book build . -W -n --keep-going
echo
echo "The book is built: $(pwd)/_build/html/index.html"
echo "Open that file in a browser, or serve the folder: python -m http.server -d _build/html 8000"
