#!/usr/bin/env bash
# Run the book's tests: package unit tests, book checks, and every chapter under nbval.
#   bash tools/test.sh [extra pytest arguments]
#   BOOK_DEPS=latest|colab|minimum bash tools/test.sh    the same against other versions (see
#   tools/setup_env.sh); colab and minimum run the package tests and the chapters only.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup_env.sh
python -m pytest "$@"
