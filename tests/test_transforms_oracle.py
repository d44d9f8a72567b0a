"""capsnet_book.transforms against SciPy's resampling, at arbitrary angles, shears and scales.

``scipy.ndimage`` is an independent implementation with the same conventions once they are
spelled out: a matrix maps an *output* pixel to the *input* position it reads (as in
``transforms.affine_transform``), linear interpolation is ``order=1``, rotations turn about the
centre ``((h - 1) / 2, (w - 1) / 2)``, and the zero fill is ``mode="grid-constant"`` (the input
continues as zeros *and* is interpolated against them near the border, which is what the
package does; ``mode="constant"`` instead cuts reads off at the border).
The geometry itself (which way is counter-clockwise, what a shear moves) is checked without
SciPy, by following the centroid of a smooth blob.
"""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book import transforms as T

ndimage = pytest.importorskip("scipy.ndimage")


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(1).random((4, 28, 28, 2)).astype(np.float32)


def scipy_affine(x: np.ndarray, matrix: np.ndarray, offset: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Every image and channel through ``scipy.ndimage.affine_transform`` (bilinear, zero fill)."""
    out = np.empty((len(x), *shape, x.shape[-1]))
    for i in range(len(x)):
        for c in range(x.shape[-1]):
            out[i, :, :, c] = ndimage.affine_transform(
                x[i, :, :, c].astype(np.float64), matrix, offset=offset, output_shape=shape,
                order=1, mode="grid-constant", cval=0.0)
    return out


def screen_rotation(angle_deg: float) -> np.ndarray:
    """Counter-clockwise on the screen, written for ``(row, col)`` with rows pointing down.

    Derived from the textbook rotation in ``(x, y)`` with ``y`` up: ``(row, col) = (-y, x)``.
    """
    t = np.deg2rad(angle_deg)
    rotate_xy = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    to_xy = np.array([[0.0, 1.0], [-1.0, 0.0]])  # (row, col) -> (x, y)
    return np.linalg.inv(to_xy) @ rotate_xy @ to_xy


@pytest.mark.parametrize("angle", [7.5, -23.0, 45.0, 131.0, -260.0])
def test_rotate_matches_scipy_rotate(images, angle):
    expected = np.stack([
        np.stack([ndimage.rotate(img[:, :, c].astype(np.float64), angle, reshape=False, order=1,
                                 mode="grid-constant", cval=0.0) for c in range(img.shape[-1])], -1)
        for img in images])
    np.testing.assert_allclose(T.rotate(images, angle), expected, atol=1e-5)


def test_per_image_angles_match_scipy(images):
    angles = np.array([3.0, -71.0, 200.0, 0.5])
    out = T.rotate(images, angles)
    for i, angle in enumerate(angles):
        expected = ndimage.rotate(images[i, :, :, 1].astype(np.float64), angle, reshape=False, order=1,
                                  mode="grid-constant", cval=0.0)
        np.testing.assert_allclose(out[i, :, :, 1], expected, atol=1e-5)


@pytest.mark.parametrize(("matrix", "shape"), [
    ([[1.0, 0.0, 0.37], [0.0, 1.0, -2.61]], (28, 28)),  # sub-pixel shift
    ([[0.8, 0.0, 2.0], [0.0, 1.25, -3.0]], (28, 28)),  # anisotropic scale
    ([[1.0, 0.0, 0.0], [0.3, 1.0, -4.0]], (28, 28)),  # shear
    ([[0.9, -0.35, 5.5], [0.42, 1.1, -6.0]], (40, 36)),  # general map to another output size
])
def test_affine_transform_matches_scipy(images, matrix, shape):
    a = np.array(matrix)
    out = T.affine_transform(images, a, output_size=shape)
    np.testing.assert_allclose(out, scipy_affine(images, a[:, :2], a[:, 2], shape), atol=1e-5)


@pytest.mark.parametrize("scale", [0.8, 1.17])
def test_random_affine_with_a_fixed_scale_matches_scipy(images, scale):
    """With every other range empty, random_affine scales about the canvas centre."""
    out = T.random_affine(images, seed=0, size=40, max_rotation=0, max_shear=0,
                          scale_range=(scale, scale), max_translation=0)
    centre = np.full(2, 39 / 2)
    inverse = np.eye(2) / scale
    expected = scipy_affine(T.pad_to_canvas(images, 40), inverse, centre - inverse @ centre, (40, 40))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def blob(size: int, row: float, col: float, sigma: float = 1.5) -> np.ndarray:
    r, c = np.mgrid[0:size, 0:size]
    return np.exp(-((r - row) ** 2 + (c - col) ** 2) / (2 * sigma**2))[None, :, :, None]


def centroid(image: np.ndarray) -> np.ndarray:
    r, c = np.mgrid[0:image.shape[1], 0:image.shape[2]]
    w = image[0, :, :, 0]
    return np.array([(w * r).sum(), (w * c).sum()]) / w.sum()


@pytest.mark.parametrize(("angle", "shear", "scale_y", "scale_x", "shift"), [
    (90.0, 0.0, 1.0, 1.0, (0.0, 0.0)),
    (33.0, 0.0, 1.0, 1.0, (0.0, 0.0)),
    (0.0, 0.25, 1.0, 1.0, (0.0, 0.0)),
    (0.0, 0.0, 1.2, 0.85, (0.0, 0.0)),
    (-17.0, -0.1, 0.9, 1.1, (2.5, -3.0)),
])
def test_affine_parameters_move_a_blob_where_the_geometry_says(angle, shear, scale_y, scale_x, shift):
    """Forward map about the centre c: p -> c + R(angle) Shear(shear) diag(scale) (p - c) + shift."""
    size, centre = 40, np.full(2, 39 / 2)
    start = centre + np.array([-7.0, 3.0])  # above and right of the centre
    a = T._inverse_matrices(size, size, *(np.atleast_1d(v) for v in (angle, shear, scale_y, scale_x, *shift)))
    moved = T.affine_transform(blob(size, *start), a)
    shear_m = np.array([[1.0, 0.0], [shear, 1.0]])  # col += shear * row
    forward = screen_rotation(angle) @ shear_m @ np.diag([scale_y, scale_x])
    expected = centre + forward @ (start - centre) + np.array(shift)
    np.testing.assert_allclose(centroid(moved), expected, atol=0.05)


def test_positive_angle_turns_counter_clockwise_on_screen():
    """A blob above the centre ends up left of it after +90 degrees (rows point down)."""
    size, c = 41, 20.0
    turned = T.rotate(blob(size, c - 10, c).astype(np.float32), 90)
    np.testing.assert_allclose(centroid(turned), [c, c - 10], atol=0.05)
