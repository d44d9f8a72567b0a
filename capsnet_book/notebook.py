"""Small helpers every chapter's Setup cell uses: settings, quiet logs, fonts, glue.

A chapter's Setup cell is one call, :func:`setup`, which returns a :class:`Chapter`; the chapter
then chooses its sizes with ``book.pick(quick=..., paper=..., smoke=...)``. Import this module
*before* TensorFlow: :func:`quiet_logs` only works if it runs first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Iterator

__all__ = [
    "SETTINGS",
    "Chapter",
    "check_setting",
    "glue",
    "quiet_logs",
    "setup",
    "size",
    "smoke_run",
    "use_korean_font",
    "warnings_shown",
]

SETTINGS = ("quick", "paper")
_TRUE = ("1", "true", "yes")


def check_setting(setting: str) -> str:
    """Return ``setting`` if it is ``"quick"`` or ``"paper"``; otherwise raise a clear error.

    In a smoke run (:func:`smoke_run`) it also prints one line saying so, so that nobody takes a
    smoke run's numbers for the setting's.

    >>> check_setting("quick")
    'quick'
    """
    if setting not in SETTINGS:
        raise ValueError(
            f"Unknown SETTING {setting!r}: use 'quick' (CPU, minutes) or 'paper' (GPU, paper scale). "
            "It can also be set with the environment variable BOOK_SETTING."
        )
    if smoke_run():
        print(
            f"Smoke run (BOOK_SMOKE=1): the {setting} setting's models and code with data and epochs "
            "cut to a few batches; claims about training quality are not checked."
        )
    return setting


def smoke_run() -> bool:
    """Whether this is a smoke run: the environment variable ``BOOK_SMOKE`` is ``1``.

    A smoke run executes a chapter in its setting (usually ``paper``) with every architecture,
    preset and code path unchanged, but with the sizes a chapter passes through :func:`size`
    (training digits, epochs, test digits, shifts) cut to a few batches. It checks in seconds
    that a setting nobody can afford to run in CI still runs: ``bash tools/smoke.sh``.
    A chapter asserts its structural claims (shapes, parameter counts, identities) in every run
    and guards the claims that need a trained network with ``if not SMOKE:``.
    """
    return os.environ.get("BOOK_SMOKE", "0").strip().lower() in _TRUE


def size(value: Any, smoke: Any) -> Any:
    """``value``, the size an experiment has in the chosen setting, or ``smoke`` in a smoke run.

    >>> EPOCHS = size(12, smoke=1)  # 12 epochs, or 1 with BOOK_SMOKE=1
    """
    return smoke if smoke_run() else value


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """Send file descriptor 2 (where C++ libraries write) to /dev/null for a while."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def warnings_shown() -> bool:
    """Whether the environment asks for deprecation and future warnings (``BOOK_SHOW_WARNINGS=1``).

    ``tools/setup_env.sh`` sets it for every dependency mode but the pinned one, so a run against
    the newest releases, Colab's or the lowest allowed versions shows what is about to break.
    """
    return os.environ.get("BOOK_SHOW_WARNINGS", "0").strip().lower() in _TRUE


def quiet_logs() -> None:
    """Silence TensorFlow's start-up messages, Python warnings and absl logs.

    Call it before anything else imports TensorFlow. Some of TensorFlow's start-up lines (oneDNN,
    CUDA drivers, absl's "log messages before InitializeLog") are written by C++ straight to
    the process's stderr whatever ``TF_CPP_MIN_LOG_LEVEL`` says, so TensorFlow is imported here
    with that stream silenced; errors raised by the import still reach the reader.

    With ``BOOK_SHOW_WARNINGS=1`` (see :func:`warnings_shown`) ``DeprecationWarning`` and
    ``FutureWarning`` are left as Python shows them; the start-up messages stay silenced.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not warnings_shown():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*(oneDNN|cuda|CUDA|GPU).*")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules:
        with _stderr_to_devnull():
            import tensorflow  # noqa: F401
    # TensorFlow configures its logger on first use, and in an interactive kernel whose root logger
    # has no handler it sets it to INFO then: make that happen now, and set the level after it.
    get_logger = getattr(sys.modules["tensorflow"], "get_logger", None)  # absent in a stand-in module
    if get_logger is not None:
        get_logger().setLevel(logging.ERROR)


def _use_inline_backend() -> None:
    """In a Jupyter kernel, draw figures inline even if MPLBACKEND says otherwise.

    The book glues figures into its pages; a figure only has a PNG to glue when the inline
    backend is active (with, say, ``MPLBACKEND=Agg`` the page would show "<Figure size ...>").
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")


def use_korean_font() -> None:
    """Draw figure text with NanumGothic (shipped by koreanize-matplotlib), minus signs as '-'.

    Without it, Hangul in titles and labels renders as empty boxes. In a Jupyter kernel it also
    makes sure figures are drawn inline.
    """
    _use_inline_backend()
    import koreanize_matplotlib  # noqa: F401  (registers NanumGothic on import)
    import matplotlib as mpl

    mpl.rcParams["font.family"] = "NanumGothic"
    mpl.rcParams["axes.unicode_minus"] = False
    mpl.rcParams["figure.dpi"] = 100
    mpl.rcParams["savefig.dpi"] = 150


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Store ``value`` under ``name`` for the prose (myst-nb ``{glue}``) and return it.

    NumPy scalars are turned into Python numbers first (they break ``-W`` builds).
    Outside a book build (plain Jupyter, Colab without myst-nb) it only returns the value.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=display)
    return value


_SAME = object()  # "no value of its own for smoke runs"


@dataclass(frozen=True)
class Chapter:
    """What a chapter's Setup cell fixed: its setting, its seed, and whether it is a smoke run.

    :meth:`pick` is the one way a chapter chooses a size or a rate by setting::

        EPOCHS = book.pick(quick=12, paper=50, smoke=1)
    """

    setting: str
    seed: int
    smoke: bool

    def pick(self, *, quick: Any, paper: Any, smoke: Any = _SAME) -> Any:
        """The value for this chapter's setting, or ``smoke`` in a smoke run (when given)."""
        if self.smoke and smoke is not _SAME:
            return smoke
        return quick if self.setting == "quick" else paper

    @property
    def rng(self) -> "np.random.Generator":
        """A NumPy generator seeded with the chapter's seed (a new one at each use)."""
        import numpy as np

        return np.random.default_rng(self.seed)


def setup(setting: str, seed: int) -> Chapter:
    """Everything a chapter's Setup cell does, in the order it must be done.

    Quiet logs (before TensorFlow is imported), a checked ``setting`` (with the smoke-run notice),
    the Korean font for figures, and the seed of Keras, TensorFlow, NumPy and Python's ``random``.

    Raises:
        ValueError: ``setting`` is not ``"quick"`` or ``"paper"``.

    >>> book = setup("quick", 0)  # doctest: +SKIP
    """
    quiet_logs()
    check_setting(setting)
    use_korean_font()
    import keras

    keras.utils.set_random_seed(int(seed))
    return Chapter(setting, int(seed), smoke_run())
