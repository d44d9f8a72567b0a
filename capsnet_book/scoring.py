"""Scores of chapter 7's comparison: confident answers, a confidence threshold per model, summaries.

Capsule lengths and softmax probabilities are both read as class scores ``[n, classes]``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "CONFIDENCE", "auroc", "confident_fraction", "confusion_rate", "paired_auroc_bootstrap", "relative_threshold",
    "summarise",
]

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


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a positive scores above a negative.

    ``positive: [n_pos]``, ``negative: [n_neg]`` (e.g. a model's largest class score on intact and
    on rearranged digits); ties count one half. 0.5: the score does not tell them apart; 1: every
    positive above every negative. Being a ranking measure, it does not care whether the scores
    are capsule lengths or softmax probabilities.

    Raises:
        ValueError: an empty or non-1-D input.

    >>> auroc(np.array([0.9, 0.8]), np.array([0.1, 0.85]))
    0.75
    """
    positive, negative = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    if positive.ndim != 1 or negative.ndim != 1 or not len(positive) or not len(negative):
        raise ValueError(f"auroc: expected two non-empty 1-D score arrays, got {positive.shape} and {negative.shape}.")
    negative = np.sort(negative)
    below = np.searchsorted(negative, positive, side="left")  # negatives scoring under each positive
    tied = np.searchsorted(negative, positive, side="right") - below
    return float((below + tied / 2).sum() / (len(positive) * len(negative)))


def confusion_rate(scores: np.ndarray, labels: np.ndarray, true_class: int, predicted_class: int) -> float:
    """Fraction of the examples of ``true_class`` that the scores assign to ``predicted_class``.

    ``scores: [n, classes]``, ``labels: [n]``. ``confusion_rate(s, y, 6, 9)``: how often a 6 is
    read as a 9.

    Raises:
        ValueError: no example of ``true_class``, or mismatched lengths.

    >>> confusion_rate(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([0, 0, 1]), 0, 1)
    0.5
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(f"confusion_rate: expected scores [n, classes] and labels [n], got {scores.shape} and {labels.shape}.")
    of_class = labels == true_class
    if not of_class.any():
        raise ValueError(f"confusion_rate: no example of class {true_class}.")
    return float(np.mean(scores[of_class].argmax(axis=1) == predicted_class))


def paired_auroc_bootstrap(
    positive_a: np.ndarray, negative_a: np.ndarray, positive_b: np.ndarray, negative_b: np.ndarray,
    level: float = 0.95, n_boot: int = 1000, seed: int = 0,
) -> tuple[float, float, float]:
    """Mean AUROC of model ``a`` minus that of ``b`` over seeds, with a bootstrap interval.

    All four arrays are ``[n_seeds, n_pairs]``: row k holds seed k's scores, column j the same
    test pair (an intact image and its rearranged version) for both models. Each round draws
    seeds and pairs with replacement, the same for both models, as
    :func:`capsnet_book.stats.paired_bootstrap` does for accuracies.

    Returns:
        ``(mean difference, low, high)``.

    Raises:
        ValueError: arrays of different shapes or not 2-D, or ``level`` not in (0, 1).
    """
    arrays = [np.asarray(a, np.float64) for a in (positive_a, negative_a, positive_b, negative_b)]
    if arrays[0].ndim != 2 or any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(f"paired_auroc_bootstrap: expected four arrays [n_seeds, n_pairs], got {[a.shape for a in arrays]}.")
    if not 0 < level < 1:
        raise ValueError(f"paired_auroc_bootstrap: level must be between 0 and 1, got {level}.")
    pa, na, pb, nb = arrays
    n_seeds, n_pairs = pa.shape

    def difference(seeds: np.ndarray, pairs: np.ndarray) -> float:
        return float(np.mean([auroc(pa[k, pairs], na[k, pairs]) - auroc(pb[k, pairs], nb[k, pairs]) for k in seeds]))

    rng = np.random.default_rng(seed)
    rounds = [difference(rng.integers(0, n_seeds, n_seeds), rng.integers(0, n_pairs, n_pairs)) for _ in range(n_boot)]
    tail = (1 - level) / 2
    low, high = np.quantile(rounds, [tail, 1 - tail])
    return difference(np.arange(n_seeds), np.arange(n_pairs)), float(low), float(high)
