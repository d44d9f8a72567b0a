"""Unit tests of capsnet_book.transforms against plain NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book import transforms as T


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).random((6, 28, 28, 1)).astype(np.float32)


def reference_translate(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """One image ``[h, w, c]``, moved pixel by pixel with zero fill."""
    h, w, _ = image.shape
    out = np.zeros_like(image)
    for r in range(h):
        for c in range(w):
            if 0 <= r - dy < h and 0 <= c - dx < w:
                out[r, c] = image[r - dy, c - dx]
    return out


def test_zero_rotation_is_exact_identity(images):
    assert np.array_equal(T.rotate(images, 0), images)
    assert np.array_equal(T.rotate(images, np.zeros(len(images))), images)


def test_zero_shift_is_exact_identity(images):
    assert np.array_equal(T.translate(images, 0, 0), images)
    assert np.array_equal(T.place_on_canvas(images, 40)[:, 6:34, 6:34], images)
    assert np.array_equal(T.random_translate_on_canvas(images, seed=3, max_shift=0)[:, 6:34, 6:34], images)


def test_identity_affine_is_exact(images):
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.array_equal(T.affine_transform(images, identity), images)


@pytest.mark.parametrize("dy, dx", [(1, 0), (0, -3), (-2, 5), (27, 0), (40, 40)])
def test_translate_matches_reference(images, dy, dx):
    out = T.translate(images, dy, dx)
    for i in range(len(images)):
        np.testing.assert_array_equal(out[i], reference_translate(images[i], dy, dx))


def test_translate_per_image_shifts(images):
    dy, dx = np.arange(6) - 3, 2 - np.arange(6)
    out = T.translate(images, dy, dx)
    for i in range(6):
        np.testing.assert_array_equal(out[i], reference_translate(images[i], dy[i], dx[i]))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotation_by_multiples_of_90_matches_rot90(images, k):
    np.testing.assert_allclose(T.rotate(images, 90 * k), np.rot90(images, k, axes=(1, 2)), atol=1e-5)


def test_rotation_is_counter_clockwise():
    x = np.zeros((1, 5, 5, 1), np.float32)
    x[0, 2, 4] = 1.0  # right of the centre
    assert T.rotate(x, 90)[0, 0, 2, 0] == pytest.approx(1.0)  # now above the centre


def test_affine_half_pixel_shift_is_bilinear_average():
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 1, 1] = 1.0
    half_right = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -0.5]])  # output col c reads input col c - 0.5
    out = T.affine_transform(x, half_right)
    assert out[0, 1, 1, 0] == pytest.approx(0.5) and out[0, 1, 2, 0] == pytest.approx(0.5)
    assert out.sum() == pytest.approx(1.0)


def test_pad_to_canvas_shape_and_centre(images):
    canvas = T.pad_to_canvas(images, 40)
    assert canvas.shape == (6, 40, 40, 1)
    np.testing.assert_array_equal(canvas[:, 6:34, 6:34], images)
    assert canvas.sum() == pytest.approx(images.sum(), rel=1e-6)


def test_place_on_canvas_moves_the_digit(images):
    moved = T.place_on_canvas(images, 40, dy=-4, dx=5)
    np.testing.assert_array_equal(moved[:, 2:30, 11:39], images)


def test_random_transforms_are_deterministic(images):
    for fn in (
        lambda s: T.random_rotate(images, 30, seed=s),
        lambda s: T.random_translate_on_canvas(images, seed=s),
        lambda s: T.random_affine(images, seed=s),
        lambda s: T.scramble_parts(images, seed=s),
    ):
        np.testing.assert_array_equal(fn(7), fn(7))
        assert not np.array_equal(fn(7), fn(8))


def test_random_affine_shape_and_ranges(images):
    out = T.random_affine(images, seed=0, size=40)
    assert out.shape == (6, 40, 40, 1) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    zero = T.random_affine(images, seed=0, max_rotation=0, max_shear=0, scale_range=(1, 1), max_translation=0)
    np.testing.assert_array_equal(zero, T.pad_to_canvas(images, 40))


def test_scramble_parts_keeps_tiles_and_moves_them(images):
    out = T.scramble_parts(images, seed=0, grid=2)
    for i in range(len(images)):
        tiles_in = sorted(images[i, r:r + 14, c:c + 14].tobytes() for r in (0, 14) for c in (0, 14))
        tiles_out = sorted(out[i, r:r + 14, c:c + 14].tobytes() for r in (0, 14) for c in (0, 14))
        assert tiles_in == tiles_out
        assert not np.array_equal(out[i], images[i])


def test_inputs_are_not_modified(images):
    copy = images.copy()
    T.rotate(images, 10), T.translate(images, 1, 1), T.random_affine(images, 0), T.scramble_parts(images, 0)
    np.testing.assert_array_equal(images, copy)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: T.rotate(np.zeros((28, 28)), 10), r"expected rank 4 \[n, height, width, channels\], got shape \(28, 28\)"),
        (lambda: T.rotate(np.zeros((3, 28, 28, 1)), [1, 2]), r"angle: expected a scalar or shape \(3,\)"),
        (lambda: T.rotate(np.zeros((1, 28, 28, 1)), np.nan), r"angle: expected finite degrees"),
        (lambda: T.translate(np.zeros((1, 28, 28, 1)), 0.5, 0), r"dy: translate\(\) moves by whole pixels"),
        (lambda: T.pad_to_canvas(np.zeros((1, 28, 28, 1)), 20), r"size=20 is smaller than the images \(28x28\)"),
        (lambda: T.affine_transform(np.zeros((2, 4, 4, 1)), np.eye(3)), r"matrices: expected shape \(2, 3\) or \(2, 2, 3\), got \(3, 3\)"),
        (lambda: T.random_rotate(np.zeros((1, 28, 28, 1)), -5, 0), r"max_angle must be >= 0 degrees, got -5"),
        (lambda: T.random_affine(np.zeros((1, 28, 28, 1)), 0, scale_range=(1.2, 0.8)), r"scale_range must satisfy"),
        (lambda: T.random_affine(np.zeros((1, 28, 28, 1)), 0, max_shear=-1), r"max_shear must be >= 0, got -1"),
        (lambda: T.random_translate_on_canvas(np.zeros((1, 28, 28, 1)), 0, max_shift=-1), r"max_shift must be >= 0"),
        (lambda: T.scramble_parts(np.zeros((1, 28, 28, 1)), 0, grid=3), r"not a multiple of grid=3"),
        (lambda: T.scramble_parts(np.zeros((1, 28, 28, 1)), 0, grid=1), r"grid must be >= 2"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
