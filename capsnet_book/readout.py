"""How much of a transformation can be read off a representation, for chapter 8.

Equivariance in the broad sense asks that a transformation of the input moves the
representation in a predictable way. Two simple measures of "predictable", both in NumPy:

* :func:`linear_readout` fits a ridge regression from features to the transformation's
  parameter (an angle, a shift) on one set of examples and reports how well it predicts the
  parameter on another: R^2 near 1 means the parameter can be read off linearly, near 0 (or
  below) means it cannot.
* :func:`smoothness` follows the features along a sweep of the parameter
  (:func:`transform_sweep`) and compares how much the path bends with how far it moves: near 0
  for a path at constant velocity, about 1.7 for independent random jumps.

Public API:
    linear_readout, transform_sweep, smoothness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["linear_readout", "smoothness", "transform_sweep"]


def _as_matrix(a: Any, name: str) -> np.ndarray:
    """``[n, d]`` finite features -> float64, or a clear ValueError."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected rank 2 [n, d], got shape {arr.shape}; flatten each example with x.reshape(len(x), -1)."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values.")
    return arr


def _as_targets(a: Any, name: str) -> np.ndarray:
    """``[n]`` or ``[n, k]`` finite targets -> float64 ``[n, k]``, or a clear ValueError."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name}: expected shape [n] or [n, k], got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values.")
    return arr.reshape(len(arr), -1)


def linear_readout(
    features_train: np.ndarray,
    target_train: np.ndarray,
    features_test: np.ndarray,
    target_test: np.ndarray,
    ridge: float = 1e-3,
    standardise: bool = True,
) -> dict[str, float]:
    """Fit a ridge regression from features to a target and score it on held-out examples.

    ``features_train: [n, d], target_train: [n] or [n, k], features_test: [m, d],
    target_test: [m] or [m, k] -> {"r2": float, "rmse": float}``.

    The features are standardised with the *training* mean and standard deviation (a feature
    that is constant on the training set becomes 0; with ``standardise=False`` only centred), a bias is added and left unpenalised, and
    the weights are the closed-form ridge solution ``w = (Z^T Z + ridge I)^-1 Z^T (y - mean(y))``
    on the standardised training features ``Z``.

    Args:
        features_train: the representation of the training examples, one row each.
        target_train: the transformation parameter(s) of those examples.
        features_test: the representation of the held-out examples.
        target_test: their parameter(s), in the same layout as ``target_train``.
        ridge: the L2 penalty on the standardised weights, ``>= 0``.
        standardise: divide each feature by its training standard deviation (the default). Pass
            ``False`` to only centre them, for features such as ReLU units that are almost always 0
            on the training set: scaled to unit variance, such a unit's rare activations on test
            examples become huge and ruin the prediction, while unscaled the penalty keeps its
            weight small.

    Returns:
        ``r2``: the coefficient of determination on the test set, ``1 - SS_res / SS_tot`` with
        ``SS_tot`` about the test mean, averaged over the ``k`` target columns (1 is a perfect
        readout, 0 is no better than predicting the mean, below 0 is worse);
        ``rmse``: the root mean squared test error over all entries, in the target's units.

    Raises:
        ValueError: a features array is not ``[n, d]``; a target is not ``[n]`` / ``[n, k]``;
            lengths or widths disagree; fewer than 2 training examples; a value is not finite;
            ``ridge < 0``; or a test target column is constant (R^2 undefined).

    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 3))
    >>> result = linear_readout(f[:100], f[:100] @ [1.0, 2.0, 3.0], f[100:], f[100:] @ [1.0, 2.0, 3.0])
    >>> round(result["r2"], 4)
    1.0
    """
    x_train = _as_matrix(features_train, "features_train")
    x_test = _as_matrix(features_test, "features_test")
    y_train = _as_targets(target_train, "target_train")
    y_test = _as_targets(target_test, "target_test")
    if len(x_train) != len(y_train):
        raise ValueError(
            f"features_train has {len(x_train)} examples but target_train has {len(y_train)}; pass one target per row."
        )
    if len(x_test) != len(y_test):
        raise ValueError(
            f"features_test has {len(x_test)} examples but target_test has {len(y_test)}; pass one target per row."
        )
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"features_train has {x_train.shape[1]} features but features_test has {x_test.shape[1]}; "
            "both must come from the same representation."
        )
    if y_train.shape[1] != y_test.shape[1]:
        raise ValueError(
            f"target_train has shape {np.shape(target_train)} but target_test has shape {np.shape(target_test)}; "
            "both must have the same number of target columns."
        )
    if len(x_train) < 2:
        raise ValueError(f"need at least 2 training examples to standardise the features, got {len(x_train)}.")
    if len(x_test) < 1:
        raise ValueError("features_test is empty; pass at least 1 test example (2 or more for a meaningful R^2).")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}.")

    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where((std > 0) & standardise, std, 1.0)  # a constant feature carries nothing; keep it at 0
    z_train, z_test = (x_train - mean) / std, (x_test - mean) / std
    # With centred features the unpenalised bias is the training mean of the target.
    bias = y_train.mean(axis=0)
    gram = z_train.T @ z_train + ridge * np.eye(z_train.shape[1])
    weights = np.linalg.lstsq(gram, z_train.T @ (y_train - bias), rcond=None)[0]  # [d, k]
    pred = z_test @ weights + bias

    residual = ((y_test - pred) ** 2).sum(axis=0)
    total = ((y_test - y_test.mean(axis=0)) ** 2).sum(axis=0)
    constant = np.flatnonzero(total == 0)
    if constant.size:
        raise ValueError(
            f"target_test column {constant[0]} is constant, so R^2 is undefined; "
            "use test examples that cover several values of the transformation."
        )
    r2 = float(np.mean(1.0 - residual / total))
    rmse = float(np.sqrt(np.mean((y_test - pred) ** 2)))
    return {"r2": r2, "rmse": rmse}


def transform_sweep(
    images: np.ndarray, transform: Callable[[np.ndarray, Any], np.ndarray], values: Iterable[Any]
) -> np.ndarray:
    """Apply ``transform(images, value)`` for each value and stack the results.

    ``images: [n, ...] -> [len(values), n, ...]``; step ``t`` of the result is
    ``transform(images, values[t])``. With ``transform=capsnet_book.transforms.rotate`` and
    ``values=range(0, 91, 15)`` it is the same digits turned step by step; pass each step through
    a model to get the feature trajectory that :func:`smoothness` measures. The transform must not
    change its input.

    Args:
        images: a batch of ``n`` inputs (any trailing shape the transform accepts).
        transform: a callable ``(images, value) -> [n, ...]`` (one output per input).
        values: the parameters of the sweep, in order; at least one. A value may be anything
            the transform accepts (a number, a ``(dy, dx)`` pair).

    Returns:
        The stacked outputs, ``[len(values), n, ...]``.

    Raises:
        TypeError: ``transform`` is not callable.
        ValueError: ``values`` is empty, an output does not have one row per input, or the
            outputs of two values differ in shape.

    >>> from capsnet_book.transforms import rotate
    >>> transform_sweep(np.zeros((2, 28, 28, 1)), rotate, [0, 15, 30]).shape
    (3, 2, 28, 28, 1)
    """
    if not callable(transform):
        raise TypeError(f"transform must be a callable (images, value) -> images, got {type(transform).__name__}.")
    steps = list(values)
    if not steps:
        raise ValueError("values is empty; pass at least one value of the transformation.")
    n = len(images)
    outputs = []
    for value in steps:
        out = np.asarray(transform(images, value))
        if out.ndim == 0 or len(out) != n:
            raise ValueError(
                f"transform(images, {value!r}) returned shape {out.shape}, expected {n} outputs "
                "along the first axis (one per input)."
            )
        if outputs and out.shape != outputs[0].shape:
            raise ValueError(
                f"transform(images, {value!r}) returned shape {out.shape} but transform(images, {steps[0]!r}) "
                f"returned {outputs[0].shape}; every step must have the same shape."
            )
        outputs.append(out)
    return np.stack(outputs)


def smoothness(trajectory: np.ndarray) -> float:
    """How much a path of representations bends, relative to how far it moves.

    ``trajectory: [steps, n, d] -> float`` (trailing axes beyond the third are flattened into
    ``d``): ``mean ||x[t+1] - 2 x[t] + x[t-1]|| / mean ||x[t+1] - x[t]||``, the means over the
    steps and the ``n`` examples. Small means the representation changes smoothly: 0 for a path
    at constant velocity (a straight line travelled evenly), about ``sqrt(3) = 1.73`` for
    independent random jumps, at most 2 (jumping back and forth). It is scale-free, and assumes
    the values of the sweep are evenly spaced.

    Args:
        trajectory: the representation of ``n`` examples at each step of a sweep
            (e.g. a model applied to each step of :func:`transform_sweep`).

    Returns:
        The ratio, a float ``>= 0``.

    Raises:
        ValueError: ``trajectory`` has rank below 3, fewer than 3 steps, no examples, a value that
            is not finite, or does not move at all (every first difference is 0).

    >>> line = np.arange(5.0)[:, None, None] * np.ones((5, 2, 3))
    >>> smoothness(line)
    0.0
    """
    x = np.asarray(trajectory, dtype=np.float64)
    if x.ndim < 3:
        raise ValueError(
            f"trajectory: expected rank 3 [steps, n, d] (or more, flattened into d), got shape {x.shape}; "
            "for a single example use trajectory[:, None]."
        )
    if x.shape[0] < 3:
        raise ValueError(f"trajectory: need at least 3 steps for a second difference, got shape {x.shape}.")
    if x.shape[1] < 1:
        raise ValueError(f"trajectory: has no examples (shape {x.shape}).")
    if not np.all(np.isfinite(x)):
        raise ValueError("trajectory: contains NaN or infinite values.")
    x = x.reshape(x.shape[0], x.shape[1], -1)
    first = np.linalg.norm(np.diff(x, n=1, axis=0), axis=-1)  # [steps - 1, n]
    second = np.linalg.norm(np.diff(x, n=2, axis=0), axis=-1)  # [steps - 2, n]
    if not np.any(first > 0):
        raise ValueError(
            "trajectory does not move (every step equals the previous one): the representation is "
            "invariant to this sweep and smoothness is undefined."
        )
    return float(second.mean() / first.mean())
