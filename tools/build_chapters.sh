#!/usr/bin/env bash
# Build only some chapters (both editions) with warnings as errors, for authors at work.
#   bash tools/build_chapters.sh 01_convolution_equivariance [02_pooling_invariance ...]
# Output: _build/dev/<first chapter>/html. The full book: bash tools/build_book.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 CHAPTER_NAME [...]  (e.g. 01_convolution_equivariance)"; exit 2; }
out="_build/dev/$1"
mkdir -p "$out"
toc="$out/_toc.yml"
{
  echo "format: jb-book"
  echo "root: book/dev_index_$1"
  echo "chapters:"
  for lang in ko en; do
    for chapter in "$@"; do
      [ -f "notebooks/$lang/$chapter.ipynb" ] || { echo "no notebooks/$lang/$chapter.ipynb"; exit 2; }
      echo "  - file: notebooks/$lang/$chapter"
    done
  done
  echo "  - file: book/references"
} > "$toc"
printf '# Development build\n\nOnly some chapters; the full book is built by `bash tools/build_book.sh`.\n' > "book/dev_index_$1.md"
trap 'rm -f "book/dev_index_$1.md"' EXIT
jupyter-book build . --toc "$toc" --path-output "$out" -W -n --keep-going
echo "Built: $out/_build/html/index.html"
