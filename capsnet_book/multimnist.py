"""MultiMNIST: two overlapping digits of different classes, for chapter 8.

Sabour, Frosst and Hinton (2017, section 6) build MultiMNIST by putting a digit on top of
another digit of a *different class* from the same split, each digit shifted by up to 4 pixels
in each direction, on a 36x36 canvas. The paper does not say how the two images are combined;
our reading is the pixel-wise maximum of the two shifted digits, clipped to [0, 1], so that an
overlap looks like ink on ink (never brighter than one stroke).

A model is scored by the paper's metric :func:`both_right`: an example counts when its two
highest class scores are exactly the two digits present. The single digits ``first`` and
``second`` on their own canvases are the targets for reconstructing each digit separately.

The metric has two forms, the same rule: :func:`both_right_each` on NumPy scores and label pairs
(for scoring and intervals), :func:`both_right_tensor` and the Keras metric :class:`BothRight`
on two-hot targets inside ``fit`` (for early stopping).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from capsnet_book.transforms import check_images, place_on_canvas

__all__ = ["BothRight", "both_right", "both_right_each", "both_right_tensor", "make_pairs", "two_hot"]


def _check_label_pairs(label_pairs: np.ndarray, n_classes: int) -> np.ndarray:
    """``[n, 2]`` integer labels in ``0..n_classes-1`` -> int64 array, or a clear ValueError."""
    pairs = np.asarray(label_pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(
            f"label_pairs: expected shape [n, 2] (the two classes of each example), got shape {pairs.shape}."
        )
    if pairs.size and not np.all(np.equal(np.mod(pairs, 1), 0)):
        raise ValueError("label_pairs: expected integer class labels, got non-integer values.")
    pairs = pairs.astype(np.int64)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n_classes):
        raise ValueError(
            f"label_pairs: labels must be in 0..{n_classes - 1}, got values from {pairs.min()} to {pairs.max()}."
        )
    same = np.flatnonzero(pairs[:, 0] == pairs[:, 1])
    if same.size:
        raise ValueError(
            f"label_pairs: the two classes of a pair must differ, but example {same[0]} has "
            f"{pairs[same[0], 0]} twice ({same.size} such examples)."
        )
    return pairs


def make_pairs(
    images: np.ndarray,
    labels: np.ndarray,
    n_pairs: int,
    seed: int,
    canvas: int = 36,
    max_shift: int = 4,
    return_sources: bool = False,
) -> tuple[np.ndarray, ...]:
    """Make ``n_pairs`` MultiMNIST examples: two shifted digits of different classes overlaid.

    ``images: [N, h, w, 1], labels: [N] -> overlay, first, second: [n_pairs, canvas, canvas, 1]``
    and ``label_pairs: [n_pairs, 2]``.

    For each example the first digit is drawn uniformly from ``images``, the second uniformly
    from the digits of any *other* class. Each digit is centred on the canvas and moved by its
    own whole-pixel ``(dy, dx)``, both drawn uniformly from ``-max_shift..max_shift``
    (:func:`capsnet_book.transforms.place_on_canvas`). ``overlay = clip(max(first, second), 0, 1)``
    (our reading of the paper's "overlaying", see the module docstring). Everything is drawn
    with ``numpy.random.default_rng(seed)``: the same seed gives the same pairs on every machine.

    Args:
        images: ``[N, h, w, 1]`` digits with pixel values in [0, 1] (as :func:`capsnet_book.data.load_mnist`).
        labels: ``[N]`` integer classes; at least two different classes must be present.
        n_pairs: how many examples to make, at least 1.
        seed: the random seed of the choice of digits and shifts.
        canvas: side of the square canvas; at least ``max(h, w) + 2 * max_shift`` so that no
            shifted digit leaves it (the paper: 28 + 2 * 4 = 36).
        max_shift: largest shift in pixels along each axis, ``>= 0``.
        return_sources: also return where each digit came from (for tests and figures).

    Returns:
        ``(overlay, first, second, label_pairs)``: float32 canvases ``[n_pairs, canvas, canvas, 1]``
        and int64 ``label_pairs [n_pairs, 2]`` (the class of ``first``, then of ``second``).
        With ``return_sources=True`` two more arrays follow: int64 ``indices [n_pairs, 2]``
        (rows of ``images`` used for ``first`` and ``second``) and int64 ``shifts [n_pairs, 2, 2]``
        (``shifts[i, k] = (dy, dx)`` of digit ``k``, so that ``first[i]`` equals
        ``place_on_canvas(images[indices[i, 0]][None], canvas, *shifts[i, 0])[0]``).

    Raises:
        ValueError: ``images`` is not ``[N, h, w, 1]`` or has values outside [0, 1]; ``labels``
            is not ``[N]``; fewer than two classes are present; ``n_pairs < 1``;
            ``max_shift < 0``; or ``canvas`` is too small for the digits plus the shift.

    >>> x = np.zeros((4, 28, 28, 1), np.float32)
    >>> overlay, first, second, pairs = make_pairs(x, np.array([0, 1, 2, 3]), n_pairs=5, seed=0)
    >>> overlay.shape, pairs.shape
    ((5, 36, 36, 1), (5, 2))
    """
    x = check_images(images, "images")
    n_images, h, w, channels = x.shape
    if channels != 1:
        raise ValueError(f"images: expected one channel [N, h, w, 1], got shape {x.shape}.")
    if not (np.all(x >= 0) and np.all(x <= 1)):  # NaN fails both comparisons
        raise ValueError(
            f"images: expected pixel values in [0, 1], got values from {np.min(x)} to {np.max(x)}; "
            "divide uint8 images by 255."
        )
    y = np.asarray(labels)
    if y.shape != (n_images,):
        raise ValueError(f"labels: expected shape ({n_images},) (one per image), got shape {y.shape}.")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError(
            f"labels: MultiMNIST needs digits of at least two different classes, got {len(classes)} "
            f"class(es) {classes.tolist()}; pass a subset that holds several classes."
        )
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}.")
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}.")
    needed = max(h, w) + 2 * max_shift
    if canvas < needed:
        raise ValueError(
            f"canvas={canvas} is too small for {h}x{w} digits shifted by up to {max_shift} pixels; "
            f"choose canvas >= {needed} or a smaller max_shift."
        )

    rng = np.random.default_rng(seed)
    first_idx = rng.integers(0, n_images, size=n_pairs)
    # Second digit: uniform over the digits of the other classes, without rejection sampling.
    # In the images sorted by class, the first digit's class occupies [start, start + count);
    # a draw r in 0..N - count - 1 maps to position r, skipping that block.
    order = np.argsort(y, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cls = np.searchsorted(classes, y[first_idx])
    r = rng.integers(0, n_images - counts[cls])
    second_idx = order[np.where(r < starts[cls], r, r + counts[cls])]
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n_pairs, 2, 2))  # [pair, digit, (dy, dx)]

    first = place_on_canvas(x[first_idx], canvas, shifts[:, 0, 0], shifts[:, 0, 1])
    second = place_on_canvas(x[second_idx], canvas, shifts[:, 1, 0], shifts[:, 1, 1])
    overlay = np.clip(np.maximum(first, second), 0.0, 1.0).astype(np.float32)
    label_pairs = np.stack([y[first_idx], y[second_idx]], axis=1).astype(np.int64)
    if return_sources:
        indices = np.stack([first_idx, second_idx], axis=1).astype(np.int64)
        return overlay, first, second, label_pairs, indices, shifts.astype(np.int64)
    return overlay, first, second, label_pairs


def two_hot(label_pairs: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """The targets of a MultiMNIST example: 1 for each of its two classes, 0 elsewhere.

    ``label_pairs: [n, 2] -> [n, n_classes]`` float32, every row summing to 2. This is the
    ``T_k`` of the margin loss when two digits are present.

    Args:
        label_pairs: the two (different) classes of each example, as :func:`make_pairs` returns.
        n_classes: number of classes, at least 2.

    Returns:
        The two-hot targets, float32.

    Raises:
        ValueError: ``label_pairs`` is not ``[n, 2]`` integers in ``0..n_classes-1``, the two
            classes of a pair are equal, or ``n_classes < 2``.

    >>> two_hot(np.array([[3, 5], [0, 9]])).shape
    (2, 10)
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}.")
    pairs = _check_label_pairs(label_pairs, n_classes)
    out = np.zeros((len(pairs), n_classes), np.float32)
    rows = np.arange(len(pairs))
    out[rows, pairs[:, 0]] = 1.0
    out[rows, pairs[:, 1]] = 1.0
    return out


def both_right_each(scores: np.ndarray, label_pairs: np.ndarray) -> np.ndarray:
    """Per example, whether its two highest scores are exactly its two true classes, in either order.

    ``scores: [n, n_classes]`` (e.g. capsule lengths), ``label_pairs: [n, 2] -> [n]`` booleans.
    Ties are broken towards the lower class index (a stable sort of the scores, highest first).
    Keep these per-example outcomes to compare two models on the same pairs
    (:func:`capsnet_book.stats.paired_bootstrap`); :func:`both_right` is their mean.

    Args:
        scores: one score per class and example; higher means more present.
        label_pairs: the two (different) true classes of each example.

    Raises:
        ValueError: ``scores`` is not ``[n, n_classes]`` with ``n >= 1`` and ``n_classes >= 2``,
            or ``label_pairs`` is not ``[n, 2]`` with two different classes in ``0..n_classes-1``.

    >>> both_right_each(np.array([[0.1, 0.9, 0.8], [0.9, 0.1, 0.8]]), np.array([[2, 1], [0, 1]]))
    array([ True, False])
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 2:
        raise ValueError(
            f"scores: expected shape [n, n_classes] with n >= 1 and n_classes >= 2, got shape {s.shape}."
        )
    pairs = _check_label_pairs(label_pairs, s.shape[1])
    if len(pairs) != len(s):
        raise ValueError(f"scores has {len(s)} examples but label_pairs has {len(pairs)}; pass one pair per row.")
    top2 = np.argsort(-s, axis=1, kind="stable")[:, :2]
    return np.all(np.sort(top2, axis=1) == np.sort(pairs, axis=1), axis=1)


def both_right(scores: np.ndarray, label_pairs: np.ndarray) -> float:
    """The paper's MultiMNIST accuracy: the fraction of examples whose two highest scores are
    exactly the two true classes, in either order (the mean of :func:`both_right_each`).

    ``scores: [n, n_classes]`` (e.g. capsule lengths), ``label_pairs: [n, 2] -> float`` in [0, 1].

    Raises:
        ValueError: as :func:`both_right_each`.

    >>> both_right(np.array([[0.1, 0.9, 0.8], [0.9, 0.1, 0.8]]), np.array([[2, 1], [0, 1]]))
    0.5
    """
    return float(np.mean(both_right_each(scores, label_pairs)))


def both_right_tensor(lengths: Any, targets: Any) -> Any:
    """Per example, 1.0 when the two longest capsules are exactly the two digits present.

    ``lengths: [batch, 10]``, ``targets: [batch, 10]`` two-hot ``-> [batch]`` (the tensor form
    of :func:`both_right_each`, for metrics inside ``fit``).
    """
    top_two = ops.sum(ops.one_hot(ops.top_k(lengths, 2)[1], lengths.shape[-1]), axis=1)  # [batch, 10]
    return ops.cast(ops.all(ops.equal(top_two, ops.cast(targets, top_two.dtype)), axis=-1), "float32")


def _both_right_of_labels(two_hot_labels: Any, scores: Any) -> Any:
    """``both_right_tensor`` with Keras' metric argument order ``(y_true, y_pred)``."""
    return both_right_tensor(scores, two_hot_labels)


@keras.saving.register_keras_serializable(package="capsnet_book")
class BothRight(keras.metrics.MeanMetricWrapper):
    """The paper's MultiMNIST accuracy as a Keras metric, for a model that outputs class scores.

    ``y_true: [batch, 10]`` two-hot, ``y_pred: [batch, 10]`` scores (logits, probabilities or capsule
    lengths): the fraction of examples whose two highest scores are the two digits present. Named
    ``"both_right"`` like :class:`~capsnet_book.overlapping.OverlapCapsNet`'s metric, so ``EarlyStopping(monitor="val_both_right")``
    serves both models.

    >>> model.compile(optimizer="adam", loss=..., metrics=[BothRight()])  # doctest: +SKIP
    """

    def __init__(self, name: str = "both_right", dtype: Any = None) -> None:
        super().__init__(_both_right_of_labels, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}
