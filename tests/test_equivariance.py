"""Unit tests of capsnet_book.equivariance against plain NumPy loops and TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.equivariance import (
    convolve2d,
    cross_correlate2d,
    equivariance_error,
    equivariance_error_map,
    output_size,
    pad2d,
    shift,
)


def reference_cross_correlate(image, kernel, padding, stride):
    """Slow and obvious: pad by hand, then one window per output pixel."""
    h, w = image.shape
    kh, kw = kernel.shape
    if padding == "valid":
        padded = image
        n_rows, n_cols = (h - kh) // stride + 1, (w - kw) // stride + 1
    else:
        n_rows, n_cols = -(-h // stride), -(-w // stride)
        pad_h = max((n_rows - 1) * stride + kh - h, 0)
        pad_w = max((n_cols - 1) * stride + kw - w, 0)
        top, left = pad_h // 2, pad_w // 2
        padded = np.zeros((h + pad_h, w + pad_w))
        for r in range(h + pad_h):
            for c in range(w + pad_w):
                rr, cc = r - top, c - left
                if padding == "circular":
                    padded[r, c] = image[rr % h, cc % w]
                elif 0 <= rr < h and 0 <= cc < w:
                    padded[r, c] = image[rr, cc]
    out = np.zeros((n_rows, n_cols))
    for i in range(n_rows):
        for j in range(n_cols):
            total = 0.0
            for u in range(kh):
                for v in range(kw):
                    total += kernel[u, v] * padded[i * stride + u, j * stride + v]
            out[i, j] = total
    return out


def reference_shift(image, dy, dx, mode):
    h, w = image.shape
    out = np.zeros_like(image)
    for r in range(h):
        for c in range(w):
            sr, sc = r - dy, c - dx
            if mode == "circular":
                out[r, c] = image[sr % h, sc % w]
            elif 0 <= sr < h and 0 <= sc < w:
                out[r, c] = image[sr, sc]
    return out


SHAPES = [  # image shape, kernel shape, stride
    ((7, 7), (3, 3), 1),
    ((8, 6), (3, 2), 1),
    ((9, 10), (4, 5), 2),
    ((10, 9), (5, 3), 3),
    ((5, 5), (5, 5), 1),
    ((6, 6), (1, 1), 2),
]


@pytest.mark.parametrize("image_shape, kernel_shape, stride", SHAPES)
@pytest.mark.parametrize("padding", ["valid", "zero", "circular"])
def test_cross_correlate_matches_reference_loops(image_shape, kernel_shape, stride, padding):
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=image_shape), rng.normal(size=kernel_shape)
    got = cross_correlate2d(image, kernel, padding, stride)
    want = reference_cross_correlate(image, kernel, padding, stride)
    assert got.shape == want.shape == output_size(image_shape, kernel_shape, padding, stride)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_convolve_flips_the_kernel():
    rng = np.random.default_rng(1)
    image, kernel = rng.normal(size=(9, 9)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(
        convolve2d(image, kernel, "zero"), cross_correlate2d(image, kernel[::-1, ::-1], "zero"), atol=1e-12
    )
    # A delta image returns the kernel itself under true convolution, flipped under cross-correlation.
    delta = np.zeros((5, 5))
    delta[2, 2] = 1.0
    k = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(convolve2d(delta, k, "zero")[1:4, 1:4], k)
    np.testing.assert_allclose(cross_correlate2d(delta, k, "zero")[1:4, 1:4], k[::-1, ::-1])


@pytest.mark.parametrize("image_shape, kernel_shape, stride", SHAPES)
@pytest.mark.parametrize("padding, tf_padding", [("valid", "VALID"), ("zero", "SAME")])
def test_cross_correlate_equals_tf_conv2d(image_shape, kernel_shape, stride, padding, tf_padding):
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(2)
    image, kernel = rng.normal(size=image_shape), rng.normal(size=kernel_shape)
    tf_out = tf.nn.conv2d(
        image[None, :, :, None].astype(np.float32),
        kernel[:, :, None, None].astype(np.float32),
        strides=stride,
        padding=tf_padding,
    ).numpy()[0, :, :, 0]
    np.testing.assert_allclose(cross_correlate2d(image, kernel, padding, stride), tf_out, atol=1e-4)


@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, -2), (3, 5), (-4, 7), (9, -9)])
@pytest.mark.parametrize("mode", ["circular", "zero"])
def test_shift_matches_reference(dy, dx, mode):
    image = np.random.default_rng(3).normal(size=(6, 8))
    np.testing.assert_array_equal(shift(image, dy, dx, mode), reference_shift(image, dy, dx, mode))


def test_identity_shift_and_zero_error():
    rng = np.random.default_rng(4)
    image, kernel = rng.normal(size=(12, 12)), rng.normal(size=(3, 3))
    np.testing.assert_array_equal(shift(image, 0, 0), image)
    for padding in ("valid", "zero", "circular"):
        assert equivariance_error_map(image, kernel, 0, 0, padding).max() == 0.0


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("stride", [1, 2])
def test_circular_padding_is_equivariant(seed, stride):
    rng = np.random.default_rng(seed)
    size = 12 * stride
    image, kernel = rng.normal(size=(size, size)), rng.normal(size=tuple(rng.integers(1, 6, size=2)))
    dy, dx = (stride * rng.integers(-size, size, size=2)).tolist()
    assert equivariance_error(image, kernel, dy, dx, "circular", stride) < 1e-6


def test_zero_padding_error_stays_near_the_border():
    rng = np.random.default_rng(5)
    image, kernel = rng.normal(size=(20, 20)), rng.normal(size=(5, 5))
    dy, dx, radius = 2, -3, 2
    error = equivariance_error_map(image, kernel, dy, dx, "zero")
    margin = radius + max(abs(dy), abs(dx))
    assert error[margin:-margin, margin:-margin].max() < 1e-12
    assert error.max() > 1e-3


def test_odd_shift_with_stride_two_is_not_equivariant():
    rng = np.random.default_rng(6)
    image, kernel = rng.normal(size=(16, 16)), rng.normal(size=(3, 3))
    assert equivariance_error(image, kernel, 2, 4, "circular", stride=2) < 1e-12
    errors = [equivariance_error(image, kernel, 1, 0, "circular", 2, output_shift=(d, 0)) for d in (0, 1)]
    assert min(errors) > 0.1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: cross_correlate2d(np.ones((3, 4, 1)), np.ones((2, 2))),
         r"image must be a 2-D array \[height, width\], got shape \(3, 4, 1\)"),
        (lambda: cross_correlate2d(np.ones((4, 4)), np.ones(3)), r"kernel must be a 2-D array .* got shape \(3,\)"),
        (lambda: cross_correlate2d(np.ones((4, 4)), np.ones((5, 3))),
         r"kernel of shape \(5, 3\) is larger than the image of shape \(4, 4\)"),
        (lambda: cross_correlate2d(np.ones((4, 4)), np.ones((2, 2)), padding="same"),
         r"Unknown padding 'same'; choose one of 'valid', 'zero', 'circular'"),
        (lambda: cross_correlate2d(np.ones((4, 4)), np.ones((2, 2)), stride=0),
         r"stride must be an integer >= 1, got 0"),
        (lambda: cross_correlate2d(np.ones((4, 4)), np.ones((2, 2)), stride=1.5),
         r"stride must be an integer >= 1, got 1.5"),
        (lambda: shift(np.ones((4, 4)), 1, 0, mode="reflect"), r"Unknown shift mode 'reflect'"),
        (lambda: shift(np.ones((4, 4)), 0.5, 0), r"dy must be an integer number of pixels, got 0.5"),
        (lambda: equivariance_error_map(np.ones((8, 8)), np.ones((3, 3)), 1, 2, stride=2),
         r"shift \(1, 2\) is not a multiple of stride 2"),
        (lambda: pad2d(np.ones((2, 2)), (7, 7), "circular"), r"circular padding .* is wider than the image"),
        (lambda: output_size((4, 4), (5, 2)), r"kernel of shape \(5, 2\) is larger than the image of shape \(4, 4\)"),
    ],
)
def test_errors_say_what_was_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()
