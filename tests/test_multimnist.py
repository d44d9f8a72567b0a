"""Unit tests of capsnet_book.multimnist against plain NumPy references."""

from __future__ import annotations

import re

import numpy as np
import pytest

from capsnet_book import multimnist as M
from capsnet_book.transforms import place_on_canvas


@pytest.fixture
def digits() -> tuple[np.ndarray, np.ndarray]:
    """30 random 28x28 'digits' in [0, 1] with labels 0..9, three of each class."""
    rng = np.random.default_rng(0)
    images = rng.random((30, 28, 28, 1)).astype(np.float32)
    labels = np.tile(np.arange(10), 3)
    return images, labels


def test_shapes_and_dtypes(digits):
    overlay, first, second, pairs = M.make_pairs(*digits, n_pairs=7, seed=1)
    for canvas in (overlay, first, second):
        assert canvas.shape == (7, 36, 36, 1) and canvas.dtype == np.float32
    assert pairs.shape == (7, 2) and pairs.dtype == np.int64


def test_same_seed_same_pairs_other_seed_other_pairs(digits):
    a = M.make_pairs(*digits, n_pairs=20, seed=5, return_sources=True)
    b = M.make_pairs(*digits, n_pairs=20, seed=5, return_sources=True)
    c = M.make_pairs(*digits, n_pairs=20, seed=6, return_sources=True)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[0], c[0])


def test_two_digits_always_of_different_classes(digits):
    images, labels = digits
    _, _, _, pairs, indices, _ = M.make_pairs(images, labels, n_pairs=2000, seed=0, return_sources=True)
    assert np.all(pairs[:, 0] != pairs[:, 1])
    np.testing.assert_array_equal(pairs, labels[indices])


def test_different_class_with_only_two_classes_and_unbalanced_counts():
    images = np.zeros((6, 28, 28, 1), np.float32)
    labels = np.array([4, 4, 4, 4, 4, 7])
    _, _, _, pairs = M.make_pairs(images, labels, n_pairs=300, seed=2)
    assert np.all(np.sort(pairs, axis=1) == [4, 7])


def test_second_digit_is_uniform_over_the_other_classes():
    labels = np.array([0, 0, 1, 2, 2, 2])
    images = np.zeros((6, 28, 28, 1), np.float32)
    _, _, _, _, indices, _ = M.make_pairs(images, labels, n_pairs=30000, seed=3, return_sources=True)
    from_class_0 = indices[labels[indices[:, 0]] == 0, 1]  # the other digits: rows 2, 3, 4, 5
    share = np.bincount(from_class_0, minlength=6)[2:] / len(from_class_0)
    np.testing.assert_allclose(share, 0.25, atol=0.02)


def test_each_digit_is_its_source_placed_with_the_recorded_shift(digits):
    images, _ = digits
    _, first, second, _, indices, shifts = M.make_pairs(*digits, n_pairs=25, seed=4, return_sources=True)
    assert shifts.shape == (25, 2, 2) and np.abs(shifts).max() <= 4
    assert len(np.unique(shifts.reshape(-1, 2), axis=0)) > 10  # the shifts really vary
    for i in range(25):
        for k, component in enumerate((first, second)):
            dy, dx = shifts[i, k]
            expected = place_on_canvas(images[indices[i, k]][None], 36, dy, dx)[0]
            np.testing.assert_array_equal(component[i], expected)


def test_no_pixel_leaves_the_canvas(digits):
    images, _ = digits
    _, first, second, _, indices, _ = M.make_pairs(*digits, n_pairs=50, seed=8, return_sources=True, max_shift=4)
    np.testing.assert_allclose(first.sum(axis=(1, 2, 3)), images[indices[:, 0]].sum(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(second.sum(axis=(1, 2, 3)), images[indices[:, 1]].sum(axis=(1, 2, 3)), rtol=1e-5)


def test_overlay_is_pixelwise_max_in_unit_range(digits):
    overlay, first, second, _ = M.make_pairs(*digits, n_pairs=15, seed=9)
    np.testing.assert_array_equal(overlay, np.maximum(first, second))
    assert overlay.min() >= 0.0 and overlay.max() <= 1.0


@pytest.mark.parametrize("canvas, max_shift", [(28, 0), (36, 4), (40, 6), (40, 2)])
def test_canvas_and_shift_table(digits, canvas, max_shift):
    overlay, _, _, _, _, shifts = M.make_pairs(
        *digits, n_pairs=40, seed=0, canvas=canvas, max_shift=max_shift, return_sources=True
    )
    assert overlay.shape == (40, canvas, canvas, 1)
    assert np.abs(shifts).max() <= max_shift


def test_two_hot_matches_loop():
    pairs = np.array([[3, 5], [0, 9], [9, 0], [1, 2]])
    expected = np.zeros((4, 10), np.float32)
    for i, (a, b) in enumerate(pairs):
        expected[i, a] = expected[i, b] = 1.0
    out = M.two_hot(pairs)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)
    assert M.two_hot(pairs[:, ::-1] % 4, n_classes=4).shape == (4, 4)


def reference_both_right(scores: np.ndarray, pairs: np.ndarray) -> float:
    hits = 0
    for row, pair in zip(scores, pairs):
        ranked = sorted(range(len(row)), key=lambda j: -row[j])  # stable: ties keep the lower index first
        hits += set(ranked[:2]) == set(pair.tolist())
    return hits / len(scores)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_both_right_matches_loop(seed):
    rng = np.random.default_rng(seed)
    n = 500
    first = rng.integers(0, 10, n)
    pairs = np.stack([first, (first + rng.integers(1, 10, n)) % 10], axis=1)
    scores = rng.random((n, 10))
    # Make about half of the examples right, so that the score is not near 0.
    boost = rng.random(n) < 0.5
    scores[np.arange(n)[boost], pairs[boost, 0]] += 1.0
    scores[np.arange(n)[boost], pairs[boost, 1]] += 1.0
    scores = np.round(scores, 1)  # ties happen
    assert M.both_right(scores, pairs) == pytest.approx(reference_both_right(scores, pairs))
    assert 0.3 < M.both_right(scores, pairs) < 0.8


def test_both_right_needs_both_and_ignores_order():
    scores = np.array([[0.9, 0.8, 0.1], [0.9, 0.1, 0.8], [0.1, 0.8, 0.9]])
    assert M.both_right(scores, np.array([[1, 0], [0, 1], [0, 1]])) == pytest.approx(1 / 3)
    assert M.both_right(M.two_hot(np.array([[2, 7]])), np.array([[7, 2]])) == 1.0


X = np.zeros((4, 28, 28, 1), np.float32)
Y = np.array([0, 1, 2, 3])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: M.make_pairs(np.zeros((4, 28, 28)), Y, 2, 0), "images: expected rank 4 [n, height, width, channels], got shape (4, 28, 28)"),
        (lambda: M.make_pairs(np.zeros((4, 28, 28, 3)), Y, 2, 0), "images: expected one channel [N, h, w, 1], got shape (4, 28, 28, 3)"),
        (lambda: M.make_pairs(X + 255, Y, 2, 0), "images: expected pixel values in [0, 1], got values from 255.0 to 255.0; divide uint8 images by 255."),
        (lambda: M.make_pairs(X, Y[:3], 2, 0), "labels: expected shape (4,) (one per image), got shape (3,)."),
        (lambda: M.make_pairs(X, np.full(4, 7), 2, 0), "labels: MultiMNIST needs digits of at least two different classes, got 1 class(es) [7]; pass a subset that holds several classes."),
        (lambda: M.make_pairs(X, Y, 0, 0), "n_pairs must be >= 1, got 0."),
        (lambda: M.make_pairs(X, Y, 2, 0, max_shift=-1), "max_shift must be >= 0, got -1."),
        (lambda: M.make_pairs(X, Y, 2, 0, canvas=34), "canvas=34 is too small for 28x28 digits shifted by up to 4 pixels; choose canvas >= 36 or a smaller max_shift."),
        (lambda: M.two_hot(np.array([1, 2])), "label_pairs: expected shape [n, 2] (the two classes of each example), got shape (2,)."),
        (lambda: M.two_hot(np.array([[1, 10]])), "label_pairs: labels must be in 0..9, got values from 1 to 10."),
        (lambda: M.two_hot(np.array([[1, 2], [3, 3]])), "label_pairs: the two classes of a pair must differ, but example 1 has 3 twice (1 such examples)."),
        (lambda: M.two_hot(np.array([[0.5, 1]])), "label_pairs: expected integer class labels, got non-integer values."),
        (lambda: M.two_hot(np.array([[0, 1]]), n_classes=1), "n_classes must be >= 2, got 1."),
        (lambda: M.both_right(np.zeros(10), np.array([[0, 1]])), "scores: expected shape [n, n_classes] with n >= 1 and n_classes >= 2, got shape (10,)."),
        (lambda: M.both_right(np.zeros((3, 10)), np.array([[0, 1]])), "scores has 3 examples but label_pairs has 1; pass one pair per row."),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
