"""Chapter 7's test sets: the same test digits clean, rotated, moved, affine-changed, and cut apart.

:func:`make_test_sets` builds all of them deterministically from a seed; :func:`displace_parts`
is the "parts moved apart" set.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from capsnet_book import transforms

__all__ = ["displace_parts", "make_test_sets"]


def displace_parts(x: np.ndarray, seed: int, size: int = 40, max_offset: int = 4) -> np.ndarray:
    """Cut each digit into its four quadrants and move each quadrant on its own.

    ``x: [n, h, w, c] -> [n, size, size, c]``: the digit is centred on the canvas and each
    ``h/2 x w/2`` quadrant is moved by its own random ``(dy, dx)`` in
    ``-max_offset..max_offset`` pixels (``numpy.random.default_rng(seed)``); where moved parts
    overlap, the brighter pixel wins. Every pixel is kept and stays near its place, but the cuts
    sever strokes and the moved edges make new ones, so the parts are not intact strokes either
    (compare :func:`capsnet_book.transforms.scramble_parts`, which swaps the quadrants).

    Raises:
        ValueError: ``x`` is not rank 4, its sides are odd, ``max_offset`` is negative, or
            the canvas is too small.

    >>> displace_parts(np.zeros((2, 28, 28, 1)), seed=0).shape
    (2, 40, 40, 1)
    """
    x = transforms.check_images(x)
    n, h, w, _ = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"displace_parts: the image sides must be even to cut quadrants, got {h}x{w}.")
    if max_offset < 0:
        raise ValueError(f"displace_parts: max_offset must be >= 0, got {max_offset}.")
    rng = np.random.default_rng(seed)
    offsets = rng.integers(-max_offset, max_offset + 1, size=(4, 2, n))
    out = np.zeros((n, size, size, x.shape[3]), np.float32)
    for q, (rows, cols) in enumerate([(slice(0, h // 2), slice(0, w // 2)), (slice(0, h // 2), slice(w // 2, w)),
                                      (slice(h // 2, h), slice(0, w // 2)), (slice(h // 2, h), slice(w // 2, w))]):
        part = np.zeros_like(x)
        part[:, rows, cols] = x[:, rows, cols]
        out = np.maximum(out, transforms.place_on_canvas(part, size, offsets[q, 0], offsets[q, 1]))
    return out


def make_test_sets(
    x: np.ndarray, seed: int, size: int = 40, angles: Sequence[float] = (30, 60, 90, 120, 150, 180),
    max_shift: int = 6,
) -> dict[str, np.ndarray]:
    """All of chapter 7's test sets from the same test digits, deterministically from ``seed``.

    ``x: [n, 28, 28, 1] -> {name: [n, size, size, 1]}``, in this order:

    * ``clean``: the digits centred on the canvas (affNIST's "untransformed" version);
    * ``placed``: placed at random, up to ``max_shift`` pixels per axis from the centre (the
      training distribution of the affNIST protocol: the paper's "expanded MNIST" test);
    * ``rot30``, ``rot60``, ...: centred, then rotated about the centre by each of ``angles``;
    * ``affine``: affNIST-style (:func:`~capsnet_book.transforms.random_affine`): rotation up to
      20 degrees, shear up to 0.1, scale 0.8-1.2 per axis, and a shift of up to ``max_shift``
      pixels, the training range, so that this set differs from training in the affine part only;
    * ``scrambled``: the four quadrants swapped (:func:`~capsnet_book.transforms.scramble_parts`);
    * ``displaced``: the four quadrants moved apart by up to 4 pixels (:func:`displace_parts`).

    Raises:
        ValueError: ``x`` is not rank 4 or the canvas is too small.
    """
    x = transforms.check_images(x)
    canvas = transforms.pad_to_canvas(x, size)
    sets = {"clean": canvas}
    sets["placed"] = transforms.random_translate_on_canvas(x, seed=seed + 1, size=size, max_shift=max_shift)
    for angle in angles:
        sets[f"rot{int(angle)}"] = transforms.rotate(canvas, float(angle))
    sets["affine"] = transforms.random_affine(x, seed=seed + 2, size=size, max_translation=float(max_shift))
    sets["scrambled"] = transforms.pad_to_canvas(transforms.scramble_parts(x, seed=seed + 3, grid=2), size)
    sets["displaced"] = displace_parts(x, seed=seed + 4, size=size)
    return sets
