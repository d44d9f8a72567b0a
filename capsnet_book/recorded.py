"""Results recorded by the benchmark scripts, shipped with the package.

Some measurements take longer than a chapter may (many seeds, many variants). A script under
``benchmarks/`` makes them once and writes a JSON file into ``capsnet_book/results/``, with how
it was made (command, commit, date, versions, machine, a hash of the code); chapters read it with
:func:`recorded_results` and say that the numbers come from it.
"""

from __future__ import annotations

import json
from importlib import resources
import base64
from typing import Any

import numpy as np

__all__ = ["pack_bits", "recorded_results", "unpack_bits"]


def recorded_results(name: str) -> dict[str, Any]:
    """The recorded results ``name`` (e.g. ``"routing_variants"``) as a dict.

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
    return data


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
