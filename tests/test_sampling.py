"""Unit tests of capsnet_book.sampling against written-out NumPy references and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.equivariance import cross_correlate2d, equivariance_error
from capsnet_book.sampling import fourier_shift, receptive_field, shiftability_error


def reference_fourier_shift(image, dy, dx):
    """Band-limited interpolation written out: the inverse DFT evaluated at (i - dy, j - dx)."""
    h, w = image.shape
    coefficients = np.fft.fft2(image) / (h * w)
    fy, fx = np.fft.fftfreq(h), np.fft.fftfreq(w)
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            phase = np.exp(2j * np.pi * (fy[:, None] * (i - dy) + fx[None, :] * (j - dx)))
            out[i, j] = np.real(np.sum(coefficients * phase))
    return out


@pytest.mark.parametrize("shape", [(6, 8), (7, 5)])
@pytest.mark.parametrize("dy, dx", [(0.5, 0.0), (-1.25, 2.5), (3, -2)])
def test_fourier_shift_matches_the_written_out_interpolation(shape, dy, dx):
    image = np.random.default_rng(1).normal(size=shape)
    np.testing.assert_allclose(fourier_shift(image, dy, dx), reference_fourier_shift(image, dy, dx), atol=1e-12)


def test_fourier_shift_by_whole_pixels_is_a_circular_shift():
    image = np.random.default_rng(2).normal(size=(9, 10))
    np.testing.assert_allclose(fourier_shift(image, 4, -3), np.roll(image, (4, -3), axis=(0, 1)), atol=1e-12)


def test_fourier_shift_moves_a_sampled_cosine_to_its_shifted_samples():
    n = np.arange(16.0)
    rows = np.cos(2 * np.pi * 3 * n / 16)[:, None] * np.ones((1, 4))  # 3 cycles per 16 pixels, below Nyquist
    expected = np.cos(2 * np.pi * 3 * (n - 0.5) / 16)[:, None] * np.ones((1, 4))
    np.testing.assert_allclose(fourier_shift(rows, 0.5, 0), expected, atol=1e-12)
    half, back = fourier_shift(rows, 0.5, 0), fourier_shift(fourier_shift(rows, 0.5, 0), -0.5, 0)
    assert not np.allclose(half, rows)
    np.testing.assert_allclose(back, rows, atol=1e-12)


def test_fourier_shift_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        fourier_shift(np.zeros((2, 3, 4)), 0.5, 0)
    with pytest.raises(ValueError, match="finite number"):
        fourier_shift(np.zeros((4, 4)), float("nan"), 0)


def test_shiftability_error_is_zero_for_a_band_limited_image_and_not_for_the_nearest_pixel():
    freqs = np.fft.fftfreq(32)
    low = (np.abs(freqs)[:, None] <= 1 / 8) & (np.abs(freqs)[None, :] <= 1 / 8)
    rng = np.random.default_rng(3)
    image = np.real(np.fft.ifft2(np.where(low, rng.normal(size=(32, 32)) + 1j * rng.normal(size=(32, 32)), 0)))
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0
    for dy, dx in [(1, 0), (0, 1), (1, 1), (3, -5)]:
        assert shiftability_error(image, delta, dy, dx) < 1e-10
    nearest = equivariance_error(image, delta, 1, 0, "circular", stride=2, output_shift=(0, 0))
    assert nearest > 0.05


def test_shiftability_error_of_a_checkerboard_is_large_and_checks_sizes():
    image = np.random.default_rng(4).random((12, 12))
    checker = np.where(np.indices((3, 3)).sum(axis=0) % 2 == 0, 1.0, -1.0)
    assert shiftability_error(image, checker, 2, 0) < 1e-10  # even: exact
    assert shiftability_error(image, checker, 1, 0) > 0.5  # odd: the highest frequency folds onto the lowest
    with pytest.raises(ValueError, match="multiple of stride 2"):
        shiftability_error(np.zeros((7, 8)), checker, 1, 0)


def brute_force_receptive_field(kernel_sizes, strides, size=64):
    """Count the input pixels that reach the middle output pixel of a linear stack of all-ones kernels."""
    reach = np.zeros(size, dtype=bool)
    for r in range(size):
        signal = np.zeros((1, size))
        signal[0, r] = 1.0
        for k, s in zip(kernel_sizes, strides):
            signal = cross_correlate2d(signal, np.ones((1, k)), "valid", stride=s)
        reach[r] = signal[0, signal.shape[1] // 2] > 0
    return int(reach.sum())


@pytest.mark.parametrize("kernel_sizes, strides", [([3], [1]), ([3, 3], [1, 1]), ([3, 2, 3, 2], [1, 2, 1, 2]),
                                                   ([5, 3], [2, 2]), ([9, 9], [1, 2])])
def test_receptive_field_matches_brute_force(kernel_sizes, strides):
    size, total_stride = receptive_field(kernel_sizes, strides)
    assert size == brute_force_receptive_field(kernel_sizes, strides)
    assert total_stride == int(np.prod(strides))


def test_receptive_field_errors():
    with pytest.raises(ValueError, match="2 kernel sizes but 1 strides"):
        receptive_field([3, 3], [1])
    with pytest.raises(ValueError, match=">= 1"):
        receptive_field([0], [1])
