"""Results recorded by the benchmark scripts, shipped with the package.

Some measurements take longer than a chapter may (many seeds, many variants). A script under
``benchmarks/`` makes them once and writes a JSON file into ``capsnet_book/results/``, with how
it was made (command, commit, date, versions, machine, a hash of the code); chapters read it with
:func:`recorded_results` and say that the numbers come from it.

The reader is one object for every file, :class:`RecordedResults`: its sections by key
(``results["provenance"]``), and the per-digit outcomes and accuracies by name, whatever the
file's layout: ``results.correct("capsnet", "affine")`` gives ``[n_seeds, n_digits]`` booleans.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["RecordedResults", "pack_bits", "recorded_results", "unpack_bits"]


class RecordedResults(Mapping):
    """One recorded file, read: its sections by key and its per-digit outcomes by name.

    Two layouts hold per-example outcomes as packed bits (:func:`pack_bits`):

    * per model and test set (``affine_comparison``): ``results[model]["correct"][test_set]``,
      ``[n_seeds, n_test]`` (``n_stroke_pairs`` for the ``strokes`` sets);
    * per model (``multimnist_comparison``): ``results["models"][model]["both_right_bits"]``,
      of ``results["shape"]``.
    """

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name, self.data = name, data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def _model(self, model: str) -> dict:
        models = self.data["results"].get("models", self.data["results"])
        if model not in models:
            raise KeyError(f"{self.name}: no model {model!r}; it holds {', '.join(models)}.")
        return models[model]

    def correct(self, model: str, test_set: str | None = None) -> np.ndarray:
        """Which test examples each seed's ``model`` got right: ``[n_seeds, n_examples]`` booleans.

        Raises:
            KeyError: no such model, or no such test set for it.
        """
        row = self._model(model)
        if "both_right_bits" in row:
            return unpack_bits(row["both_right_bits"], tuple(self.data["results"]["shape"]))
        if test_set not in row["correct"]:
            raise KeyError(f"{self.name}: no test set {test_set!r}; it holds {', '.join(row['correct'])}.")
        protocol = self.data["protocol"]
        n = protocol["n_stroke_pairs"] if test_set.startswith("strokes") else protocol["n_test"]
        return unpack_bits(row["correct"][test_set], (len(protocol["seeds"]), n))

    def accuracy(self, model: str, test_set: str) -> np.ndarray:
        """The recorded per-seed accuracies ``[n_seeds]`` of ``model`` on ``test_set``."""
        return np.array(self._model(model)["accuracy"][test_set])

    def auroc(self, model: str, test_set: str) -> np.ndarray:
        """The recorded per-seed AUROC ``[n_seeds]`` of ``model`` telling intact from ``test_set``."""
        return np.array(self._model(model)["auroc"][test_set])

    def per_seed(self, model: str, measure: str) -> np.ndarray:
        """A recorded per-seed measure ``[n_seeds]`` of ``model`` kept beside the accuracies
        (e.g. ``"six_as_nine"``, ``"epochs"``).

        Raises:
            KeyError: the file records no such measure for ``model``.
        """
        row = self._model(model)
        if measure not in row:
            raise KeyError(f"{self.name}: no measure {measure!r} for {model!r}; it holds {', '.join(row)}.")
        return np.array(row[measure])

    def comparison(self, a: str, b: str, test_set: str) -> dict[str, Any]:
        """The recorded comparison ``a - b`` on ``test_set`` (mean, low, high, adjusted_low, ...).

        Raises:
            KeyError: the file records no such comparison.
        """
        for c in self.data["comparisons"]:
            if (c["a"], c["b"], c["test_set"]) == (a, b, test_set):
                return c
        raise KeyError(f"{self.name}: no recorded comparison {a} - {b} on {test_set!r}.")


def recorded_results(name: str) -> RecordedResults:
    """The recorded results ``name`` (e.g. ``"routing_variants"``), read (:class:`RecordedResults`).

    Raises:
        FileNotFoundError: no such file; it names the script that makes it.
        ValueError: the file is not valid JSON or lacks its provenance.
    """
    path = resources.files("capsnet_book") / "results" / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no recorded results {name!r} in capsnet_book/results/: "
                                f"run `python benchmarks/{name}.py` from the repository root to make them.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"capsnet_book/results/{name}.json is not valid JSON ({error}); "
                         f"run `python benchmarks/{name}.py` again.") from error
    if "provenance" not in data:
        raise ValueError(f"capsnet_book/results/{name}.json has no provenance; it was not made by benchmarks/{name}.py.")
    return RecordedResults(name, data)


def pack_bits(outcomes: Any) -> str:
    """Booleans of any shape (e.g. ``[n_seeds, n_pairs]``) -> the base64 text of their packed bits.

    The inverse of :func:`unpack_bits`, which needs the shape back.

    >>> pack_bits([[True, False, True]])
    'oA=='
    """
    return base64.b64encode(np.packbits(np.asarray(outcomes, dtype=bool), axis=None).tobytes()).decode()


def unpack_bits(text: str, shape: tuple[int, ...]) -> np.ndarray:
    """Booleans of ``shape`` from the base64 text of their packed bits (how result files store
    per-digit outcomes, e.g. ``[n_seeds, n_digits]``: which test digits each seed's model got right).

    Raises:
        ValueError: the text holds fewer bits than ``shape`` needs, or is not base64.

    >>> unpack_bits("oA==", (1, 3)).tolist()
    [[True, False, True]]
    """
    try:
        bits = np.unpackbits(np.frombuffer(base64.b64decode(text, validate=True), np.uint8))
    except (ValueError, TypeError) as error:
        raise ValueError(f"unpack_bits: not base64 text ({error}).") from error
    needed = int(np.prod(shape))
    if len(bits) < needed:
        raise ValueError(f"unpack_bits: the text holds {len(bits)} bits, but shape {shape} needs {needed}.")
    return bits[:needed].reshape(shape).astype(bool)
