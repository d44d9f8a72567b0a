"""Scores of chapter 7's comparison: confident answers, a confidence threshold per model, summaries.

Capsule lengths and softmax probabilities are both read as class scores ``[n, classes]``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["CONFIDENCE", "confident_fraction", "relative_threshold", "summarise"]

CONFIDENCE = 0.9  # "high confidence": capsule length or softmax probability above this


def confident_fraction(scores: np.ndarray, labels: np.ndarray, threshold: float = CONFIDENCE) -> float:
    """Fraction of examples whose top class is ``labels`` with a score above ``threshold``.

    ``scores: [n, classes]`` (capsule lengths or softmax probabilities), ``labels: [n]``.

    Raises:
        ValueError: the lengths of ``scores`` and ``labels`` differ.

    >>> confident_fraction(np.array([[0.95, 0.05], [0.6, 0.4]]), np.array([0, 0]))
    0.5
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(
            "confident_fraction: expected scores [n, classes] and labels [n], "
            f"got {scores.shape} and {np.shape(labels)}."
        )
    hit = (scores.argmax(axis=1) == labels) & (scores.max(axis=1) > threshold)
    return float(hit.mean())


def relative_threshold(scores: np.ndarray, labels: np.ndarray, quantile: float = 0.25) -> float:
    """A confidence threshold measured on the model itself.

    The ``quantile`` of the top score over the examples the model gets right: with 0.25, three
    quarters of its correct answers score above it. Capsule lengths trained with the margin
    loss stop growing near ``m+ = 0.9`` while a softmax saturates towards 1, so one fixed
    threshold means different things for the two; this one means the same for both.
    ``scores: [n, classes]``, ``labels: [n] -> float``.

    Raises:
        ValueError: ``quantile`` is not in [0, 1], or no example is classified correctly.

    >>> relative_threshold(np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]]), np.array([0, 0, 0]), 0.5)
    0.8
    """
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"relative_threshold: quantile must be in [0, 1], got {quantile}.")
    scores = np.asarray(scores)
    right = scores.argmax(axis=1) == labels
    if not right.any():
        raise ValueError("relative_threshold: the model gets no example right, so there is nothing to calibrate on.")
    return float(np.quantile(scores[right].max(axis=1), quantile))


def summarise(frame: pd.DataFrame, value: str, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Mean, standard deviation, minimum and maximum of ``value`` over seeds, grouped by ``by``.

    Raises:
        KeyError: ``value`` or a column of ``by`` is not in ``frame``.
    """
    for column in (value, *by):
        if column not in frame.columns:
            raise KeyError(f"summarise: no column {column!r}; the frame has {list(frame.columns)}.")
    return frame.groupby(list(by), sort=False)[value].agg(["mean", "std", "min", "max"])
