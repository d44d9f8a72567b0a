"""Trained weights shipped with the package, so that a chapter can use a converged model at once.

Training some of the book's models to convergence takes longer than a chapter's quick setting may
spend. A script under ``benchmarks/`` trains them once and writes their weights to
``capsnet_book/results/<name>.npz`` (one array per key ``"<model>/000"``, ``"<model>/001"``, ...
in ``model.get_weights()`` order), with how they were made in ``<name>.json`` beside it (read it
with :func:`capsnet_book.recorded.recorded_results`). ``tests/test_recorded_results.py`` fails
when the code that made them changes.
"""

from __future__ import annotations

import zipfile
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["load_stored_weights", "stored_weights"]


def stored_weights(name: str, model_key: str) -> list[np.ndarray]:
    """The arrays of ``model_key`` (e.g. ``"capsnet"``) in ``capsnet_book/results/<name>.npz``, as float32.

    Raises:
        FileNotFoundError: no such file; it names the script that makes it.
        KeyError: the file holds no model ``model_key``; it lists those it holds.
        ValueError: the file is not a readable ``.npz`` archive.
    """
    path = resources.files("capsnet_book") / "results" / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no stored weights {name!r} in capsnet_book/results/: "
                                f"run `python benchmarks/{name}.py` from the repository root to make them.")
    try:
        with path.open("rb") as file, np.load(file) as archive:
            keys = sorted(k for k in archive.files if k.split("/")[0] == model_key)
            arrays = [archive[k].astype(np.float32) for k in keys]
            held = sorted({k.split("/")[0] for k in archive.files})
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise ValueError(f"capsnet_book/results/{name}.npz cannot be read ({error}); "
                         f"run `python benchmarks/{name}.py` again.") from error
    if not arrays:
        raise KeyError(f"capsnet_book/results/{name}.npz holds no model {model_key!r}; it holds {held}.")
    return arrays


def load_stored_weights(model: Any, name: str, model_key: str) -> Any:
    """Set a built Keras ``model``'s weights to the stored ones and return it.

    Raises:
        ValueError: the stored arrays do not fit the model (another architecture or size); it
            names the first array that differs.
        and what :func:`stored_weights` raises.
    """
    arrays = stored_weights(name, model_key)
    expected = [tuple(w.shape) for w in model.get_weights()]
    if len(arrays) != len(expected):
        raise ValueError(f"{name}.npz holds {len(arrays)} arrays for {model_key!r}, the model has {len(expected)}: "
                         "build the model the script built.")
    for index, (array, shape) in enumerate(zip(arrays, expected)):
        if array.shape != shape:
            raise ValueError(f"{name}.npz: array {index} of {model_key!r} has shape {array.shape}, the model's "
                             f"weight {index} has {shape}: build the model the script built.")
    model.set_weights(arrays)
    return model
