"""Digits made of identical strokes, for a parts test in which only the arrangement changes.

Chapter 7 asks whether a model notices when the parts of a digit are in the wrong places. Cutting
a handwritten digit into quadrants answers a different question: the cuts sever strokes and the
moved edges make new ones, so the parts change too. Here every digit is drawn from the segments
of a seven-segment display (the strokes of a digital clock), each segment rendered as its own
image. The *rearranged* version of a digit moves each of its segments by its own whole-pixel
offset, so both images are made of exactly the same stroke images, pixel for pixel, and differ
only in where the strokes are.

:func:`stroke_digit_pairs` makes the pairs; a model that checks the arrangement of parts should
give the rearranged images lower class scores than the intact ones, which
:func:`capsnet_book.scoring.auroc` measures.
"""

from __future__ import annotations

import numpy as np

from capsnet_book.transforms import translate

__all__ = ["SEGMENTS_OF_DIGIT", "stroke_digit_pairs"]

# Segment end points on a unit box (row 0 top .. 2 bottom, col 0 left .. 1 right):
# a top, b upper right, c lower right, d bottom, e lower left, f upper left, g middle.
_SEGMENT_ENDS = {
    "a": ((0, 0), (0, 1)), "b": ((0, 1), (1, 1)), "c": ((1, 1), (2, 1)), "d": ((2, 0), (2, 1)),
    "e": ((1, 0), (2, 0)), "f": ((0, 0), (1, 0)), "g": ((1, 0), (1, 1)),
}
SEGMENTS_OF_DIGIT = {
    0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc",
    5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg", 9: "abfgcd",
}


def _segment_image(start: np.ndarray, end: np.ndarray, size: int, thickness: float) -> np.ndarray:
    """One anti-aliased stroke from ``start`` to ``end`` ((row, col) in pixels) -> ``[size, size]``."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    direction = end - start
    t = ((rows - start[0]) * direction[0] + (cols - start[1]) * direction[1]) / max(direction @ direction, 1e-9)
    t = np.clip(t, 0.0, 1.0)
    distance = np.hypot(rows - (start[0] + t * direction[0]), cols - (start[1] + t * direction[1]))
    return np.clip(thickness / 2 + 0.5 - distance, 0.0, 1.0)


def _segments(digit: int, rng: np.random.Generator, size: int) -> list[np.ndarray]:
    """The stroke images of one randomly styled seven-segment ``digit``, each ``[size, size]``."""
    height, width = rng.uniform(20, 24), rng.uniform(12, 15)
    slant = rng.uniform(0.0, 0.25)  # handwriting leans right: the top moves right
    thickness = rng.uniform(2.0, 2.8)
    top, left = (size - height) / 2, (size - width) / 2

    def point(row: float, col: float) -> np.ndarray:
        y = top + row / 2 * height
        return np.array([y, left + col * width + slant * (top + height - y)])

    gap = (thickness + 1.2) / np.sqrt(2)  # ends pulled in: strokes meeting at a corner do not touch
    strokes = []
    for name in SEGMENTS_OF_DIGIT[digit]:
        (r0, c0), (r1, c1) = _SEGMENT_ENDS[name]
        start, end = point(r0, c0), point(r1, c1)
        inward = (end - start) / np.linalg.norm(end - start)
        strokes.append(_segment_image(start + gap * inward, end - gap * inward, size, thickness))
    return strokes


def _rearranged(strokes: list[np.ndarray], rng: np.random.Generator, min_move: int, max_move: int) -> np.ndarray:
    """The same strokes, each moved by its own offset of ``min_move..max_move`` pixels (max norm).

    An offset is drawn again until the moved stroke stays whole on the canvas and touches no
    stroke placed before it, so that the two images hold exactly the same ink.

    Raises:
        RuntimeError: no such offset was found in 1,000 draws (the canvas is too crowded).
    """
    out = np.zeros_like(strokes[0])
    for stroke in strokes:
        for _ in range(1000):
            dy, dx = rng.integers(-max_move, max_move + 1, size=2)
            moved = translate(stroke[None, :, :, None], int(dy), int(dx))[0, :, :, 0]
            whole = np.isclose(moved.sum(), stroke.sum())
            if max(abs(dy), abs(dx)) >= min_move and whole and not (out * moved).any():
                break
        else:
            raise RuntimeError("stroke_digit_pairs: found no free place for a stroke; use a larger canvas.")
        out = out + moved
    return out


def stroke_digit_pairs(
    n: int, seed: int, size: int = 40, min_move: int = 5, max_move: int = 9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` seven-segment digits, intact and with their strokes rearranged.

    Each digit (classes 0-9 in turn, ``n`` of them) gets a random height, width, slant and
    stroke thickness; its strokes are drawn one by one. The intact image overlays them where a
    seven-segment display has them (their ends pulled in, so that they do not overlap); the
    rearranged image places the same stroke images, each moved by its own whole-pixel offset
    with ``min_move <= max(|dy|, |dx|) <= max_move``, none touching another. Both images thus
    hold the same ink; only its arrangement differs.

    Returns:
        ``(intact [n, size, size, 1], rearranged [n, size, size, 1], labels [n])``, float32
        images in [0, 1] and integer labels, deterministic for a given ``seed``.

    Raises:
        ValueError: ``n < 1``, ``size < 28``, or ``0 <= min_move <= max_move`` does not hold.

    >>> intact, moved, labels = stroke_digit_pairs(20, seed=0)
    >>> intact.shape, labels[:4].tolist(), bool(np.allclose(intact.sum((1, 2, 3)), moved.sum((1, 2, 3)), rtol=1e-3))
    ((20, 40, 40, 1), [0, 1, 2, 3], True)
    """
    if n < 1:
        raise ValueError(f"stroke_digit_pairs: n must be at least 1, got {n}.")
    if size < 28:
        raise ValueError(f"stroke_digit_pairs: the canvas must be at least 28 pixels, got {size}.")
    if not 0 <= min_move <= max_move:
        raise ValueError(f"stroke_digit_pairs: need 0 <= min_move <= max_move, got {min_move} and {max_move}.")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    intact = np.zeros((n, size, size), np.float32)
    moved = np.zeros((n, size, size), np.float32)
    for i, digit in enumerate(labels):
        strokes = _segments(int(digit), rng, size)
        intact[i] = np.sum(strokes, axis=0)
        moved[i] = _rearranged(strokes, rng, min_move, max_move)
    return intact[..., None], moved[..., None], labels
