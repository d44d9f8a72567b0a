#!/usr/bin/env bash
# Create (or reuse) the book's virtual environment in .venv and install what the book needs.
# Sourced by build_book.sh and test.sh; safe to run alone:  bash tools/setup_env.sh
#   BOOK_DEPS=pinned (default)  requirements.txt with constraints.txt: the tested versions
#   BOOK_DEPS=latest            the newest releases of the same packages, to see what breaks
#   BOOK_VENV=path              use another environment folder (default: .venv)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${BOOK_VENV:-.venv}"
deps="${BOOK_DEPS:-pinned}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
case "$deps" in pinned|latest) ;; *) echo "BOOK_DEPS must be 'pinned' or 'latest', not '$deps'" >&2; exit 2;; esac
"$python" - <<'PY' || { echo "The book needs Python 3.10 or newer (3.11 is tested); found $("$python" --version)." >&2; exit 2; }
import sys; sys.exit(sys.version_info < (3, 10))
PY
stamp="$venv/.book-installed"
want="$deps $(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "Environment $venv is up to date ($deps)."
else
  echo "Installing the book's environment into $venv ($deps) ..."
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  if [ "$deps" = pinned ]; then
    "$venv/bin/python" -m pip install -q -r requirements.txt -c constraints.txt
  else
    # Same packages, no version pins: drop '==x.y', or use the bound after '# latest:'.
    sed -E -e 's/^([A-Za-z0-9_.-]+)==[^ ]+ +# latest: ([^ ]+).*/\1\2/' -e 's/==[^ ;#]+//' requirements.txt \
      > "$venv/requirements-latest.txt"
    "$venv/bin/python" -m pip install -q --upgrade -r "$venv/requirements-latest.txt"
    "$venv/bin/python" -m pip freeze --exclude-editable > "$venv/versions-latest.txt"
    echo "Installed the newest releases; versions in $venv/versions-latest.txt"
  fi
  echo "$want" > "$stamp"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"
export PYTHONDONTWRITEBYTECODE=1
