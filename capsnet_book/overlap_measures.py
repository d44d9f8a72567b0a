"""Measures for chapter 8's overlapping digits, and the controls its claims are checked against.

* How much two digits of a MultiMNIST pair overlap: :func:`shifted_box_overlap` (the paper's way of
  counting, two ``box x box`` squares moved by the pair's shifts) and :func:`ink_box_overlap` (the
  bounding boxes of the two digits' actual ink).
* The other overlay rule: :func:`overlay_sum` is ``min(a + b, 1)``, the rule of the paper's released
  code, beside the pixel-wise maximum that :func:`capsnet_book.multimnist.make_pairs` uses.
* "Pulls the overlay apart": :func:`closer_to_own` asks whether each digit's reconstruction is
  closer to its own digit than to the other; :func:`class_templates`, :func:`place_templates` and
  :func:`match_templates` make a decoder that knows nothing but the class (the mean training digit
  of that class), placed where the digit is, or where it best fits the overlay.
* Read-outs with an interval over digits: :func:`sweep_readout` fits a ridge read-out of a sweep's
  value and keeps each test digit's squared error, so that :func:`resampled_r2` can resample the
  test digits and compare several representations on the same resamples.

Public API:
    shifted_box_overlap, ink_boxes, ink_box_overlap, overlay_sum, closer_to_own, class_templates,
    place_templates, match_templates, SweepReadout, sweep_readout, resampled_r2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from capsnet_book.readout import linear_readout
from capsnet_book.transforms import place_on_canvas

__all__ = [
    "SweepReadout", "class_templates", "closer_to_own", "ink_box_overlap", "ink_boxes", "match_templates",
    "overlay_sum", "place_templates", "resampled_r2", "shifted_box_overlap", "sweep_readout",
]


def _digits(images: np.ndarray, name: str) -> np.ndarray:
    """``[n, h, w, 1]`` images -> float array, or a clear ValueError."""
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"{name}: expected shape [n, h, w, 1], got shape {x.shape}.")
    return x


def shifted_box_overlap(shifts: np.ndarray, box: int = 20) -> np.ndarray:
    """Share of a ``box x box`` square covered by the other digit's square, per pair.

    ``shifts: [n, 2, 2]`` (``shifts[i, k] = (dy, dx)`` of digit ``k``, as
    :func:`capsnet_book.multimnist.make_pairs` returns with ``return_sources=True``) ``-> [n]`` in
    [0, 1]: ``(box - |dy0 - dy1|)(box - |dx0 - dx1|) / box**2`` (0 where the squares do not meet).
    This is the paper's reasoning: an MNIST digit is drawn within a 20x20 box, moved with its canvas.

    Raises:
        ValueError: ``shifts`` is not ``[n, 2, 2]`` or ``box < 1``.

    >>> shifted_box_overlap(np.array([[[0, 0], [2, -2]]]), box=20)
    array([0.81])
    """
    s = np.asarray(shifts)
    if s.ndim != 3 or s.shape[1:] != (2, 2):
        raise ValueError(f"shifts: expected shape [n, 2, 2] (per pair, per digit, (dy, dx)), got shape {s.shape}.")
    if box < 1:
        raise ValueError(f"box must be >= 1, got {box}.")
    sides = np.clip(box - np.abs(s[:, 0] - s[:, 1]), 0, None)  # [n, 2]
    return sides[:, 0] * sides[:, 1] / box**2


def ink_boxes(images: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """The bounding box of each image's ink (pixels above ``threshold``).

    ``images: [n, h, w, 1] -> [n, 4]`` int64 ``(top, left, bottom, right)``, bottom and right
    exclusive, so the box's height is ``bottom - top``.

    Raises:
        ValueError: ``images`` is not ``[n, h, w, 1]``, or an image has no pixel above ``threshold``.

    >>> x = np.zeros((1, 5, 5, 1)); x[0, 1:3, 2:5] = 1
    >>> ink_boxes(x)
    array([[1, 2, 3, 5]])
    """
    ink = _digits(images, "images")[..., 0] > threshold  # [n, h, w]
    rows, cols = ink.any(axis=2), ink.any(axis=1)  # [n, h], [n, w]
    empty = np.flatnonzero(~rows.any(axis=1))
    if empty.size:
        raise ValueError(f"image {empty[0]} has no pixel above threshold={threshold} ({empty.size} such images).")
    top, left = rows.argmax(axis=1), cols.argmax(axis=1)
    bottom = rows.shape[1] - rows[:, ::-1].argmax(axis=1)
    right = cols.shape[1] - cols[:, ::-1].argmax(axis=1)
    return np.stack([top, left, bottom, right], axis=1).astype(np.int64)


def ink_box_overlap(first: np.ndarray, second: np.ndarray, threshold: float = 0.1) -> dict[str, np.ndarray]:
    """How much the bounding boxes of two digits' ink overlap, per pair.

    ``first, second: [n, h, w, 1]`` (each digit alone on the canvas) ``-> {"over_smaller": [n],
    "iou": [n]}``: the intersection's area divided by the smaller box's area, and by the union's area
    (intersection over union).

    Raises:
        ValueError: as :func:`ink_boxes`, or the two batches differ in shape.

    >>> a = np.zeros((1, 4, 4, 1)); a[0, :2, :2] = 1
    >>> b = np.zeros((1, 4, 4, 1)); b[0, :2, :] = 1
    >>> {k: v.tolist() for k, v in ink_box_overlap(a, b).items()}
    {'over_smaller': [1.0], 'iou': [0.5]}
    """
    if np.shape(first) != np.shape(second):
        raise ValueError(f"first and second must have the same shape, got {np.shape(first)} and {np.shape(second)}.")
    a, b = ink_boxes(first, threshold), ink_boxes(second, threshold)
    height = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    width = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = height * width
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return {"over_smaller": inter / np.minimum(area_a, area_b), "iou": inter / (area_a + area_b - inter)}


def overlay_sum(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The overlay rule of the paper's released code: ``min(first + second, 1)``, pixel by pixel.

    ``first, second: [n, h, w, 1]`` in [0, 1] ``-> [n, h, w, 1]`` float32. It differs from the
    pixel-wise maximum only where both digits have ink, and is never darker than it.

    >>> overlay_sum(np.full((1, 1, 1, 1), 0.7), np.full((1, 1, 1, 1), 0.6)).ravel()
    array([1.], dtype=float32)
    """
    if np.shape(first) != np.shape(second):
        raise ValueError(f"first and second must have the same shape, got {np.shape(first)} and {np.shape(second)}.")
    return np.minimum(np.asarray(first) + np.asarray(second), 1.0).astype(np.float32)


def closer_to_own(rebuilt_first: np.ndarray, rebuilt_second: np.ndarray, first: np.ndarray,
                  second: np.ndarray) -> np.ndarray:
    """Per pair, whether the two reconstructions are closer to their own digits than swapped.

    All four ``[n, h, w, 1]`` ``-> [n]`` booleans: ``SE(r1, first) + SE(r2, second) <
    SE(r1, second) + SE(r2, first)``, with ``SE`` the summed squared error of one image. Any pair of
    images can be scored, a network's reconstructions or :func:`place_templates`' templates.

    Raises:
        ValueError: the four arrays do not all have the same shape.

    >>> d = np.eye(2).reshape(2, 1, 2, 1)  # two one-pixel "digits"
    >>> closer_to_own(d[:1], d[1:], d[:1], d[1:]), closer_to_own(d[1:], d[:1], d[:1], d[1:])
    (array([ True]), array([False]))
    """
    shapes = {np.shape(a) for a in (rebuilt_first, rebuilt_second, first, second)}
    if len(shapes) != 1:
        raise ValueError(f"closer_to_own: all four arrays must have one shape, got {sorted(shapes)}.")

    def se(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return ((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).reshape(len(a), -1).sum(axis=1)

    own = se(rebuilt_first, first) + se(rebuilt_second, second)
    swapped = se(rebuilt_first, second) + se(rebuilt_second, first)
    return own < swapped


def class_templates(images: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """The mean image of each class: ``images [N, h, w, 1], labels [N] -> [n_classes, h, w, 1]``.

    Raises:
        ValueError: ``images`` is not ``[N, h, w, 1]``, ``labels`` is not ``[N]``, or a class has no image.

    >>> class_templates(np.arange(4.0).reshape(4, 1, 1, 1), np.array([0, 1, 0, 1]), 2).ravel()
    array([1., 2.], dtype=float32)
    """
    x = _digits(images, "images")
    y = np.asarray(labels)
    if y.shape != (len(x),):
        raise ValueError(f"labels: expected shape ({len(x)},), got shape {y.shape}.")
    counts = np.bincount(y, minlength=n_classes)[:n_classes]
    if np.any(counts == 0):
        raise ValueError(f"class {int(np.argmin(counts))} has no image; every class 0..{n_classes - 1} needs one.")
    return np.stack([x[y == k].mean(axis=0) for k in range(n_classes)]).astype(np.float32)


def place_templates(templates: np.ndarray, classes: np.ndarray, canvas: int, shifts: np.ndarray) -> np.ndarray:
    """Each pair's class template, centred on the canvas and moved like the digit.

    ``templates: [n_classes, h, w, 1]``, ``classes: [n]``, ``shifts: [n, 2]`` ``(dy, dx)`` ``->
    [n, canvas, canvas, 1]`` (:func:`capsnet_book.transforms.place_on_canvas`, so a template moved by
    a digit's shift sits where that digit's 28x28 frame sits).
    """
    s = np.asarray(shifts)
    if s.shape != (len(classes), 2):
        raise ValueError(f"shifts: expected shape ({len(classes)}, 2), got shape {s.shape}.")
    return place_on_canvas(np.asarray(templates)[np.asarray(classes)], canvas, s[:, 0], s[:, 1])


def match_templates(templates: np.ndarray, classes: np.ndarray, overlay: np.ndarray,
                    max_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's class template at the shift where it best fits the overlay.

    ``templates: [n_classes, h, w, 1]``, ``classes: [n]``, ``overlay: [n, canvas, canvas, 1]`` ``->
    (placed [n, canvas, canvas, 1], shifts [n, 2])``. Every shift in ``-max_shift..max_shift`` along
    each axis is tried and the one with the largest inner product with the overlay is kept; since a
    moved template keeps its norm (the canvas holds it whole), that is also the shift of least squared
    error. The template knows the class (as a decoder masked by the label does) and finds the place
    in the image, with no learning at all.

    Raises:
        ValueError: ``overlay`` is not ``[n, canvas, canvas, 1]`` with one row per class, or the canvas
            is smaller than a template plus ``2 * max_shift``.
    """
    o = _digits(overlay, "overlay")
    t = np.asarray(templates)
    if len(o) != len(classes):
        raise ValueError(f"overlay has {len(o)} images but classes has {len(classes)}; pass one class per overlay.")
    if o.shape[1] < max(t.shape[1:3]) + 2 * max_shift:
        raise ValueError(f"canvas {o.shape[1]} is smaller than a {t.shape[1]}x{t.shape[2]} template moved by "
                         f"up to {max_shift} pixels.")
    chosen_classes = t[np.asarray(classes)]  # [n, h, w, 1]
    h, w = t.shape[1:3]
    top, left = (o.shape[1] - h) // 2, (o.shape[2] - w) // 2  # where place_on_canvas puts an unshifted template
    best = np.full(len(o), -np.inf)
    chosen = np.zeros((len(o), 2), np.int64)
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            window = o[:, top + dy : top + dy + h, left + dx : left + dx + w]  # the canvas under the moved template
            score = (chosen_classes * window).reshape(len(o), -1).sum(axis=1)
            better = score > best
            best[better], chosen[better] = score[better], (dy, dx)
    placed = place_on_canvas(chosen_classes, o.shape[1], chosen[:, 0], chosen[:, 1])
    return placed, chosen


@dataclass(frozen=True)
class SweepReadout:
    """A ridge read-out of a sweep's value, scored on held-out digits.

    ``r2``: the coefficient of determination on the test digits; ``ridge``: the penalty chosen;
    ``residual [n_test]``: each test digit's squared error summed over the steps; ``total [n_test]``:
    its squared deviation from the test mean, summed over the steps (``r2 = 1 - sum(residual) / sum(total)``).
    """

    r2: float
    ridge: float
    residual: np.ndarray
    total: np.ndarray


def sweep_readout(features: np.ndarray, values: np.ndarray, n_fit: int, ridges: Sequence[float]) -> SweepReadout:
    """Read a sweep's value linearly off a representation: fit on the first digits, test on the rest.

    ``features: [steps, n, d]`` (digit ``i`` at step ``t``), ``values: [steps]`` -> :class:`SweepReadout`.
    The penalty is chosen among ``ridges`` within the fitting digits (fitted on the first half of
    them, scored on the second) by :func:`capsnet_book.readout.linear_readout` with centred, unscaled
    features; then the read-out is fitted on all ``n_fit`` digits with it and applied to the others.
    Its ``r2`` equals ``linear_readout``'s with that penalty.

    Raises:
        ValueError: ``features`` is not ``[steps, n, d]`` matching ``values``, or ``n_fit`` leaves
            fewer than 2 digits on either side, or ``ridges`` is empty.
    """
    f = np.asarray(features, np.float64)
    v = np.asarray(values, np.float64)
    if f.ndim != 3 or v.shape != (f.shape[0],):
        raise ValueError(f"features: expected [steps, n, d] with steps = len(values) = {v.shape}, got {f.shape}.")
    n = f.shape[1]
    if not 4 <= n_fit <= n - 2:
        raise ValueError(f"n_fit={n_fit}: need at least 4 fitting digits and 2 test digits of {n}.")
    if not ridges:
        raise ValueError("ridges is empty; pass at least one penalty.")
    target = np.repeat(v[:, None], n, axis=1)  # [steps, n]

    def rows(part: slice) -> tuple[np.ndarray, np.ndarray]:
        return f[:, part].reshape(-1, f.shape[-1]), target[:, part].ravel()

    def score(ridge: float) -> float:
        return linear_readout(*rows(slice(0, n_fit // 2)), *rows(slice(n_fit // 2, n_fit)), ridge, standardise=False)["r2"]

    ridge = max(ridges, key=score)
    x_fit, y_fit = rows(slice(0, n_fit))
    mean = x_fit.mean(axis=0)
    z_fit = x_fit - mean
    weights = np.linalg.lstsq(z_fit.T @ z_fit + ridge * np.eye(z_fit.shape[1]), z_fit.T @ (y_fit - y_fit.mean()),
                              rcond=None)[0]
    prediction = (f[:, n_fit:] - mean) @ weights + y_fit.mean()  # [steps, n_test]
    test = target[:, n_fit:]
    residual = ((test - prediction) ** 2).sum(axis=0)
    total = ((test - test.mean()) ** 2).sum(axis=0)
    return SweepReadout(float(1 - residual.sum() / total.sum()), float(ridge), residual, total)


def resampled_r2(residuals: np.ndarray, total: np.ndarray, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """R^2 of several read-outs on the same bootstrap resamples of the test digits.

    ``residuals: [k, n]`` (each read-out's :attr:`SweepReadout.residual`), ``total: [n]`` (the
    shared :attr:`SweepReadout.total`) ``-> [n_boot, k]``: per resample, ``1 - sum(residual) /
    sum(total)`` over the resampled digits. Differences between columns are paired, so their
    percentiles give an interval of how much one read-out beats another over the digits tested.

    Raises:
        ValueError: the shapes do not match, or ``n_boot < 1``.

    >>> resampled_r2(np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([2.0, 2.0]), n_boot=3)[0]
    array([0.5, 1. ])
    """
    r = np.asarray(residuals, np.float64)
    t = np.asarray(total, np.float64)
    if r.ndim != 2 or t.shape != (r.shape[1],):
        raise ValueError(f"residuals [k, n] and total [n] expected, got shapes {r.shape} and {t.shape}.")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}.")
    picks = np.random.default_rng(seed).integers(0, r.shape[1], size=(n_boot, r.shape[1]))  # [n_boot, n]
    return 1 - r[:, picks].sum(axis=2).T / t[picks].sum(axis=1)[:, None]
