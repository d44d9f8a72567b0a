"""Unit tests of capsnet_book.invariance against plain NumPy loops."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book import evaluate as E
from capsnet_book import invariance as I
from capsnet_book.transforms import translate


@pytest.fixture
def maps() -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.maximum(rng.normal(size=(3, 12, 12, 2)), 0).astype(np.float32)


def reference_pool(x: np.ndarray, window: int, mode: str, stride: int) -> np.ndarray:
    n, h, w, c = x.shape
    oh, ow = (h - window) // stride + 1, (w - window) // stride + 1
    out = np.zeros((n, oh, ow, c), np.float32)
    reduce = np.max if mode == "max" else np.mean
    for i in range(n):
        for r in range(oh):
            for q in range(ow):
                for k in range(c):
                    out[i, r, q, k] = reduce(x[i, r * stride:r * stride + window, q * stride:q * stride + window, k])
    return out


@pytest.mark.parametrize("window, stride", [(2, None), (3, None), (2, 1), (3, 2)])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_pool2d_matches_reference(maps, window, stride, mode):
    expected = reference_pool(maps, window, mode, stride or window)
    np.testing.assert_allclose(I.pool2d(maps, window, mode, stride), expected, rtol=1e-6)


def test_pool2d_matches_keras(maps):
    import keras

    np.testing.assert_allclose(I.pool2d(maps, 2, "max"), keras.layers.MaxPooling2D(2)(maps).numpy(), rtol=1e-6)
    np.testing.assert_allclose(I.pool2d(maps, 3, "average"), keras.layers.AveragePooling2D(3)(maps).numpy(), rtol=1e-6)


@pytest.mark.parametrize("mode", ["max", "average"])
def test_global_pool_is_invariant_to_circular_shifts(maps, mode):
    rolled = np.roll(maps, (3, -5), axis=(1, 2))
    np.testing.assert_allclose(I.global_pool(rolled, mode), I.global_pool(maps, mode), rtol=1e-6)
    assert I.global_pool(maps, mode).shape == (3, 2)


def test_fraction_unchanged_zero_shift_is_one(maps):
    assert I.fraction_unchanged(maps, 0, 2, "max") == 1.0
    assert I.fraction_unchanged(maps, 0, 3, "average") == 1.0


def test_fraction_unchanged_matches_direct_count(maps):
    before, after = I.pool2d(maps, 2, "max"), I.pool2d(translate(maps, 0, 1), 2, "max")
    active = (before > 1e-6) | (after > 1e-6)
    expected = np.mean((np.abs(before - after) <= 1e-6)[active])
    assert I.fraction_unchanged(maps, 1, 2, "max") == pytest.approx(expected)
    expected_all = np.mean(np.abs(before - after) <= 1e-6)
    assert I.fraction_unchanged(maps, 1, 2, "max", active_only=False) == pytest.approx(expected_all)


def test_max_pooling_ignores_a_shift_inside_its_window():
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 1, 0] = 1.0  # left column of the first 2x2 window: a 1-pixel move right stays inside
    assert I.fraction_unchanged(x, 1, 2, "max") == 1.0
    assert I.fraction_unchanged(x, 2, 2, "max") == 0.0  # now it lands in the next window


def test_shift_consistency_and_accuracy():
    x = np.zeros((4, 6, 6, 1), np.float32)
    x[:, 2, 2] = 1.0
    x[1, 2, 3] = 1.0  # image 1 has two bright pixels

    def by_mass(images):  # a classifier that cannot see position: always consistent
        return (images.sum(axis=(1, 2, 3)) > 1.5).astype(int)

    def by_column(images):  # a classifier that reads one column: moving left/right changes it
        return (images[:, :, 2, 0].sum(axis=1) > 0).astype(int)

    assert I.shift_consistency(by_mass, x) == 1.0
    # right: all 4 change; left: only image 1 (pixel at column 3) keeps its class; down, up: none change.
    assert I.shift_consistency(by_column, x) == pytest.approx((0 + 0.25 + 1 + 1) / 4)
    assert E.accuracy(by_mass, x, [0, 1, 0, 0]) == 1.0
    curve = E.accuracy_curve(by_mass, x, np.array([0, 1, 0, 0]), lambda im, s: translate(im, 0, s), [0, 1])
    np.testing.assert_array_equal(curve, [1.0, 1.0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: I.pool2d(np.zeros((4, 4)), 2), r"expected rank 4 \[n, height, width, channels\], got shape \(4, 4\)"),
        (lambda: I.pool2d(np.zeros((1, 4, 4, 1)), 2, "min"), r"Unknown pooling mode 'min'; choose 'max' or 'average'"),
        (lambda: I.pool2d(np.zeros((1, 4, 4, 1)), 5), r"window=5 is larger than the feature maps 4x4"),
        (lambda: I.pool2d(np.zeros((1, 4, 4, 1)), 0), r"window and stride must be >= 1"),
        (lambda: I.fraction_unchanged(np.ones((1, 4, 4, 1)), -1, 2), r"shift must be >= 0 pixels, got -1"),
        (lambda: I.fraction_unchanged(np.ones((1, 4, 4, 1)), 1, 2, axis="up"), r"Unknown axis 'up'"),
        (lambda: I.fraction_unchanged(np.zeros((1, 4, 4, 1)), 1, 2), r"every pooled output is zero"),
        (lambda: I.shift_consistency(lambda x: x[:, 0, 0, 0], np.zeros((1, 4, 4, 1)), 0), r"shift must be >= 1 pixel"),
        (lambda: E.accuracy(lambda x: x[:, 0, 0, 0], np.zeros((2, 4, 4, 1)), [0]), r"x and y differ in length"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("window, shift", [(2, 1), (3, 1), (3, 2), (4, 1), (4, 3), (2, 2)])
def test_fraction_unchanged_of_isolated_spikes_is_k_minus_s_over_k_plus_s(window, shift):
    """One spike per map at a uniform column: a spike that stays keeps one active output unchanged,
    one that crosses into the next window changes two, so the fraction is (k - s) / (k + s)."""
    n = 4 * window  # one map per column of 4 whole windows: the exact expectation, no sampling noise
    maps = np.zeros((n, window, 8 * window, 1), np.float32)
    maps[np.arange(n), 0, np.arange(n), 0] = 1.0
    expected = max(window - shift, 0) / (window + shift)
    assert I.fraction_unchanged(maps, shift, window, "max") == pytest.approx(expected)
    # The per-feature probability (k - s) / k is a different number whenever 0 < s < k.
    if shift < window:
        assert I.fraction_unchanged(maps, shift, window, "max") != pytest.approx((window - shift) / window)


def test_shift_agreement_is_per_image_and_averages_to_consistency():
    x = np.zeros((3, 6, 6, 1), np.float32)
    x[0, 2, 0, 0] = 1.0  # left border: moving left drops it
    x[1, 3, 3, 0] = 1.0
    x[2, 5, 5, 0] = 1.0  # bottom-right corner: moving right or down drops it

    def has_pixel(images):  # class 1 if anything is on the image, else 0
        return (images.reshape(len(images), -1).max(axis=1) > 0).astype(int)

    expected = np.array([3 / 4, 1.0, 2 / 4])  # NumPy reference, directions right, left, down, up
    np.testing.assert_allclose(I.shift_agreement(has_pixel, x), expected)
    assert I.shift_consistency(has_pixel, x) == pytest.approx(expected.mean())
