"""Pooling and invariance measures, for chapters 2 and 3.

NumPy references of the pooling operations (what Keras' pooling layers compute), the
"fraction of pooled outputs unchanged" under a shift, and Zhang (2019)'s shift consistency of a
classifier. A *classifier* is any callable ``predict(x: [n, h, w, c]) -> [n]`` that returns class
ids (:func:`capsnet_book.evaluate.classes_from_model` turns a Keras model into one); accuracy and
accuracy curves are in :mod:`capsnet_book.evaluate`.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from capsnet_book.transforms import check_images, translate

__all__ = [
    "POOL_MODES",
    "fraction_unchanged",
    "global_pool",
    "pool2d",
    "shift_agreement",
    "shift_consistency",
]

POOL_MODES = ("max", "average")
Classifier = Callable[[np.ndarray], np.ndarray]


def _check_mode(mode: str) -> None:
    if mode not in POOL_MODES:
        raise ValueError(f"Unknown pooling mode {mode!r}; choose 'max' or 'average'.")


def pool2d(x: np.ndarray, window: int, mode: str = "max", stride: int | None = None) -> np.ndarray:
    """Max or average pooling with 'valid' padding (the default of Keras' pooling layers).

    ``x: [n, h, w, c] -> [n, (h - window) // stride + 1, (w - window) // stride + 1, c]``;
    output ``[i, r, q]`` is the max (or mean) of ``x[i, r*s : r*s + window, q*s : q*s + window]``.

    Args:
        x: batch of feature maps.
        window: side of the square pooling window, >= 1.
        mode: ``"max"`` or ``"average"``.
        stride: step between windows; by default ``window`` (non-overlapping windows).

    Returns:
        The pooled maps, float32.

    Raises:
        ValueError: ``x`` is not rank 4, ``mode`` is unknown, ``window``/``stride`` < 1 or the
            window is larger than the maps.

    >>> pool2d(np.ones((2, 28, 28, 3)), 2).shape
    (2, 14, 14, 3)
    """
    x = check_images(x)
    _check_mode(mode)
    stride = window if stride is None else stride
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}.")
    if window > min(x.shape[1:3]):
        raise ValueError(f"window={window} is larger than the feature maps {x.shape[1]}x{x.shape[2]}.")
    patches = np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(1, 2))
    patches = patches[:, ::stride, ::stride]  # [n, out_h, out_w, c, window, window]
    reduce = np.max if mode == "max" else np.mean
    return reduce(patches, axis=(-2, -1)).astype(np.float32)


def global_pool(x: np.ndarray, mode: str = "average") -> np.ndarray:
    """Global max or average pooling: one number per channel.

    ``x: [n, h, w, c] -> [n, c]``. Moving the content of a map around (a circular shift, or
    any rearrangement of its pixels) leaves the result unchanged.

    Raises:
        ValueError: ``x`` is not rank 4 or ``mode`` is unknown.
    """
    x = check_images(x)
    _check_mode(mode)
    return (np.max if mode == "max" else np.mean)(x, axis=(1, 2)).astype(np.float32)


def fraction_unchanged(
    x: np.ndarray, shift: int, window: int, mode: str = "max", axis: str = "horizontal",
    atol: float = 1e-6, active_only: bool = True,
) -> float:
    """Fraction of pooled outputs that a shift of the input leaves unchanged.

    Pools ``x`` and ``translate(x, ...)`` (zero fill) with non-overlapping ``window x window``
    windows and compares the two pooled maps cell by cell, at the same positions.

    ``x: [n, h, w, c] -> float`` in [0, 1].

    Args:
        x: batch of feature maps (for example MNIST after a convolution and a ReLU).
        shift: pixels to move the input, >= 0.
        window: pooling window (and stride).
        mode: ``"max"`` or ``"average"``.
        axis: ``"horizontal"`` (move right), ``"vertical"`` (down) or ``"diagonal"`` (both).
        atol: two outputs closer than this count as unchanged.
        active_only: count only cells where either pooled map is non-zero; otherwise the empty
            background, unchanged by any shift, dominates the fraction.

    Returns:
        The fraction of (active) pooled outputs unchanged.

    Raises:
        ValueError: a negative shift, an unknown axis, or as :func:`pool2d`.
    """
    if shift < 0:
        raise ValueError(f"shift must be >= 0 pixels, got {shift}.")
    moves = {"horizontal": (0, shift), "vertical": (shift, 0), "diagonal": (shift, shift)}
    if axis not in moves:
        raise ValueError(f"Unknown axis {axis!r}; choose one of {', '.join(map(repr, moves))}.")
    dy, dx = moves[axis]
    before = pool2d(x, window, mode)
    after = pool2d(translate(x, dy, dx), window, mode)
    same = np.abs(after - before) <= atol
    if active_only:
        active = (np.abs(before) > atol) | (np.abs(after) > atol)
        if not active.any():
            raise ValueError("fraction_unchanged: every pooled output is zero; pass non-empty feature maps.")
        return float(same[active].mean())
    return float(same.mean())


def shift_agreement(
    predict: Classifier, x: np.ndarray, shift: int = 1,
    directions: Sequence[tuple[int, int]] = ((0, 1), (0, -1), (1, 0), (-1, 0)),
) -> np.ndarray:
    """Per image, the fraction of ``directions`` in which a move by ``shift`` pixels keeps the class.

    ``x: [n, h, w, c] -> [n]`` in [0, 1]; :func:`shift_consistency` is its mean. The per-image values
    let a chapter compare two classifiers on the same images (a paired difference and its standard error).

    Raises:
        ValueError: ``shift`` < 1 or ``directions`` is empty.
    """
    if shift < 1:
        raise ValueError(f"shift must be >= 1 pixel, got {shift}.")
    if len(directions) == 0:
        raise ValueError("directions is empty; pass (dy, dx) pairs such as ((0, 1), (1, 0)).")
    x = check_images(x)
    reference = predict(x)
    agree = [predict(translate(x, dy * shift, dx * shift)) == reference for dy, dx in directions]
    return np.mean(agree, axis=0)


def shift_consistency(
    predict: Classifier, x: np.ndarray, shift: int = 1,
    directions: Sequence[tuple[int, int]] = ((0, 1), (0, -1), (1, 0), (-1, 0)),
) -> float:
    """Probability that the predicted class stays the same when the input moves by ``shift`` pixels.

    Zhang (2019) measures consistency as how often a classifier gives the same class to two
    shifted copies of an image. Here the pair is the image and the image moved by ``shift``
    pixels in each of ``directions`` (default: right, left, down, up; zero fill); the result is
    averaged over images and directions, so it needs no random seed.

    ``x: [n, h, w, c] -> float`` in [0, 1]. Needs no labels: consistency is not accuracy.

    Raises:
        ValueError: ``shift`` < 1 or ``directions`` is empty.
    """
    return float(np.mean(shift_agreement(predict, x, shift, directions)))
