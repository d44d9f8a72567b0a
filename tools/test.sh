#!/usr/bin/env bash
# Run the book's tests: package unit tests, book checks, and every chapter under nbval.
#   bash tools/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup_env.sh
python -m pytest "$@"
