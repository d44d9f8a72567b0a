"""Geometric transforms of image batches, for chapters 3 and 7.

Every function takes a batch ``x: [n, height, width, channels]`` (MNIST: ``[n, 28, 28, 1]``),
returns a new float32 array and never changes its input. Random transforms take a ``seed`` and
are deterministic: the same seed gives the same images on every machine. Nothing loops over
images in Python: integer shifts are one fancy-indexing gather, and rotations and affine maps
build one inverse matrix per image and resample the whole batch with bilinear interpolation.

Coordinates: pixel ``(row, col)`` with rows pointing down; the centre of an ``h x w`` image is
``((h - 1) / 2, (w - 1) / 2)``. A positive angle turns the digit counter-clockwise as seen on
the screen. Pixels that come from outside the input are filled with 0 (MNIST's background).

Public API:
    rotate, translate, pad_to_canvas, place_on_canvas, affine_transform,
    random_rotate, random_translate_on_canvas, random_affine, scramble_parts.
"""

from __future__ import annotations

from typing import Union

import numpy as np

__all__ = [
    "affine_transform",
    "check_images",
    "pad_to_canvas",
    "place_on_canvas",
    "random_affine",
    "random_rotate",
    "random_translate_on_canvas",
    "rotate",
    "scramble_parts",
    "translate",
]

ArrayLike = Union[float, int, np.ndarray, list]


def check_images(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Return ``x`` as a float32 ``[n, h, w, c]`` array, or raise a clear error.

    Raises:
        ValueError: ``x`` is not of rank 4 (a batch of images with a channel axis).
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"{name}: expected rank 4 [n, height, width, channels], got shape {x.shape}; "
            "add the batch axis with x[None] or the channel axis with x[..., None]."
        )
    return x.astype(np.float32, copy=False)


def _per_image(values: ArrayLike, n: int, name: str, dtype: type = np.float64) -> np.ndarray:
    """A scalar or ``[n]`` argument -> ``[n]`` array; raise if the length is wrong."""
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected a scalar or shape ({n},) (one per image), got shape {arr.shape}.")
    return arr


def _integer_shifts(values: ArrayLike, n: int, name: str) -> np.ndarray:
    """Like :func:`_per_image` but the shifts must be whole pixels."""
    arr = np.asarray(values)
    if not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(
            f"{name}: translate() moves by whole pixels, got {arr!r}; "
            "use affine_transform() for sub-pixel shifts."
        )
    return _per_image(arr, n, name, dtype=np.int64)


def translate(x: np.ndarray, dy: ArrayLike = 0, dx: ArrayLike = 0) -> np.ndarray:
    """Move each image by whole pixels, filling what comes in with 0 (no wrap-around).

    ``x: [n, h, w, c] -> [n, h, w, c]``; ``out[i, r, c] = x[i, r - dy[i], c - dx[i]]``.
    A zero shift returns an exact copy. Content moved past the border is lost.

    Args:
        x: batch of images.
        dy: rows to move down (negative: up); a scalar or one integer per image ``[n]``.
        dx: columns to move right (negative: left); a scalar or ``[n]``.

    Returns:
        The shifted batch, float32.

    Raises:
        ValueError: ``x`` is not rank 4, a shift is not a whole number, or its length is not ``n``.

    >>> translate(np.ones((2, 28, 28, 1)), dy=1, dx=[0, -3]).shape
    (2, 28, 28, 1)
    """
    x = check_images(x)
    n, h, w, _ = x.shape
    dy = _integer_shifts(dy, n, "dy")
    dx = _integer_shifts(dx, n, "dx")
    rows = np.arange(h)[None, :] - dy[:, None]  # [n, h]: the source row of each output row
    cols = np.arange(w)[None, :] - dx[:, None]  # [n, w]
    valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    gathered = x[
        np.arange(n)[:, None, None],
        np.clip(rows, 0, h - 1)[:, :, None],
        np.clip(cols, 0, w - 1)[:, None, :],
    ]  # [n, h, w, c]
    return np.where(valid[..., None], gathered, np.float32(0.0)).astype(np.float32)


def pad_to_canvas(x: np.ndarray, size: int = 40) -> np.ndarray:
    """Put each image in the centre of a larger ``size x size`` canvas of zeros.

    ``x: [n, h, w, c] -> [n, size, size, c]``. With ``size - h`` odd, the extra row goes below
    (and the extra column to the right). The centre crop of the result is exactly ``x``.

    Raises:
        ValueError: ``x`` is not rank 4, or ``size`` is smaller than the images.

    >>> pad_to_canvas(np.ones((3, 28, 28, 1)), 40).shape
    (3, 40, 40, 1)
    """
    x = check_images(x)
    _, h, w, _ = x.shape
    if size < max(h, w):
        raise ValueError(f"size={size} is smaller than the images ({h}x{w}); choose size >= {max(h, w)}.")
    top, left = (size - h) // 2, (size - w) // 2
    pads = ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0))
    return np.pad(x, pads).astype(np.float32, copy=False)


def place_on_canvas(x: np.ndarray, size: int = 40, dy: ArrayLike = 0, dx: ArrayLike = 0) -> np.ndarray:
    """Centre each image on a ``size x size`` canvas, then move it by ``(dy, dx)`` pixels.

    ``x: [n, h, w, c] -> [n, size, size, c]``. ``dy = dx = 0`` gives :func:`pad_to_canvas`.
    On a 40x40 canvas a 28x28 MNIST digit has 6 pixels of room on each side, and MNIST digits
    themselves leave about 4 empty pixels inside their 28x28 frame.

    Raises:
        ValueError: as :func:`pad_to_canvas` and :func:`translate`.
    """
    return translate(pad_to_canvas(x, size), dy, dx)


def random_translate_on_canvas(x: np.ndarray, seed: int, size: int = 40, max_shift: int = 6) -> np.ndarray:
    """Place each image on a ``size x size`` canvas at a random whole-pixel offset.

    ``x: [n, h, w, c] -> [n, size, size, c]``; ``dy, dx`` drawn uniformly from
    ``-max_shift..max_shift`` (independently per image and axis) with ``numpy.random.default_rng(seed)``.

    Raises:
        ValueError: ``max_shift`` is negative, or as :func:`place_on_canvas`.
    """
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}.")
    x = check_images(x)
    rng = np.random.default_rng(seed)
    dy, dx = rng.integers(-max_shift, max_shift + 1, size=(2, len(x)))
    return place_on_canvas(x, size, dy, dx)


def affine_transform(x: np.ndarray, matrices: np.ndarray, output_size: tuple[int, int] | None = None) -> np.ndarray:
    """Resample each image through an affine map with bilinear interpolation.

    ``x: [n, h, w, c]``, ``matrices: [n, 2, 3]`` (or one ``[2, 3]`` for all)
    ``-> [n, out_h, out_w, c]``. Matrix ``A`` maps an *output* pixel ``(row, col)`` to the
    *input* position it reads: ``(r_in, c_in) = A[:, :2] @ (row, col) + A[:, 2]`` (the inverse
    of the transform seen on the screen). Positions outside the input read 0. The identity
    matrix gives an exact copy: every read lands on a pixel centre with weight 1.

    Args:
        x: batch of images.
        matrices: inverse affine maps in pixel coordinates, one per image or one shared.
        output_size: ``(out_h, out_w)``; by default the input size.

    Returns:
        The resampled batch, float32.

    Raises:
        ValueError: ``x`` is not rank 4 or ``matrices`` is not ``[2, 3]`` / ``[n, 2, 3]``.
    """
    x = check_images(x)
    n, h, w, _ = x.shape
    a = np.asarray(matrices, dtype=np.float64)
    if a.shape == (2, 3):
        a = np.broadcast_to(a, (n, 2, 3))
    if a.shape != (n, 2, 3):
        raise ValueError(f"matrices: expected shape (2, 3) or ({n}, 2, 3), got {a.shape}.")
    out_h, out_w = output_size if output_size is not None else (h, w)
    grid_r, grid_c = np.meshgrid(np.arange(out_h, dtype=np.float64), np.arange(out_w, dtype=np.float64), indexing="ij")
    # Source coordinates of every output pixel: [n, out_h, out_w].
    src_r = a[:, 0, 0, None, None] * grid_r + a[:, 0, 1, None, None] * grid_c + a[:, 0, 2, None, None]
    src_c = a[:, 1, 0, None, None] * grid_r + a[:, 1, 1, None, None] * grid_c + a[:, 1, 2, None, None]
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr, fc = (src_r - r0)[..., None], (src_c - c0)[..., None]
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    batch = np.arange(n)[:, None, None]

    def read(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        inside = ((r >= 0) & (r < h) & (c >= 0) & (c < w))[..., None]
        values = x[batch, np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)]
        return np.where(inside, values, 0.0)

    out = (
        read(r0, c0) * (1 - fr) * (1 - fc)
        + read(r0, c0 + 1) * (1 - fr) * fc
        + read(r0 + 1, c0) * fr * (1 - fc)
        + read(r0 + 1, c0 + 1) * fr * fc
    )
    return out.astype(np.float32)


def _inverse_matrices(
    h: int, w: int, angle_deg: np.ndarray, shear: np.ndarray, scale_y: np.ndarray, scale_x: np.ndarray,
    shift_y: np.ndarray, shift_x: np.ndarray,
) -> np.ndarray:
    """``[n, 2, 3]`` output->input maps of "scale, shear, rotate about the centre, then shift".

    The forward map on ``(y, x)`` relative to the centre (``y`` down, ``x`` right) is
    ``R(angle) @ Shear(shear) @ diag(scale_y, scale_x)`` followed by ``+ (shift_y, shift_x)``.
    """
    theta = np.deg2rad(angle_deg)
    cos, sin = np.cos(theta), np.sin(theta)
    ones, zeros = np.ones_like(theta), np.zeros_like(theta)
    # Counter-clockwise on the screen with y pointing down: (y, x) -> (cos y - sin x, sin y + cos x).
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shr = np.stack([np.stack([ones, zeros], -1), np.stack([shear, ones], -1)], -2)  # x += shear * y
    scl = np.stack([np.stack([scale_y, zeros], -1), np.stack([zeros, scale_x], -1)], -2)
    forward = rot @ shr @ scl  # [n, 2, 2]
    inverse = np.linalg.inv(forward)
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    shift = np.stack([shift_y, shift_x], -1)  # [n, 2]
    # input = centre + inverse @ (output - centre - shift)  =>  offset = centre - inverse @ (centre + shift)
    offset = centre[None] - np.einsum("nij,nj->ni", inverse, centre[None] + shift)
    return np.concatenate([inverse, offset[..., None]], axis=-1)


def rotate(x: np.ndarray, angle: ArrayLike) -> np.ndarray:
    """Rotate each image about its centre by ``angle`` degrees (counter-clockwise on screen).

    ``x: [n, h, w, c] -> [n, h, w, c]``, bilinear interpolation, zero fill. ``angle`` is one
    number for the whole batch or ``[n]``, one per image. ``rotate(x, 0)`` equals ``x`` exactly.
    Corners of a 28x28 frame leave it under rotation; MNIST digits rarely reach the corners,
    and :func:`pad_to_canvas` first avoids the question.

    Raises:
        ValueError: ``x`` is not rank 4, ``angle`` has the wrong length or is not finite.

    >>> rotate(np.zeros((4, 28, 28, 1)), [0, 15, 30, 45]).shape
    (4, 28, 28, 1)
    """
    x = check_images(x)
    n, h, w, _ = x.shape
    angles = _per_image(angle, n, "angle")
    if not np.all(np.isfinite(angles)):
        raise ValueError(f"angle: expected finite degrees, got {angle!r}.")
    zeros, ones = np.zeros(n), np.ones(n)
    return affine_transform(x, _inverse_matrices(h, w, angles, zeros, ones, ones, zeros, zeros))


def random_rotate(x: np.ndarray, max_angle: float, seed: int) -> np.ndarray:
    """Rotate each image by an angle drawn uniformly from ``[-max_angle, max_angle]`` degrees.

    ``x: [n, h, w, c] -> [n, h, w, c]``; the angles come from ``numpy.random.default_rng(seed)``.
    Used for data augmentation in chapter 3.

    Raises:
        ValueError: ``max_angle`` is negative, or as :func:`rotate`.
    """
    if max_angle < 0:
        raise ValueError(f"max_angle must be >= 0 degrees, got {max_angle}.")
    x = check_images(x)
    angles = np.random.default_rng(seed).uniform(-max_angle, max_angle, size=len(x))
    return rotate(x, angles)


def random_affine(
    x: np.ndarray,
    seed: int,
    size: int = 40,
    max_rotation: float = 20.0,
    max_shear: float = 0.1,
    scale_range: tuple[float, float] = (0.8, 1.2),
    max_translation: float = 6.0,
) -> np.ndarray:
    """affNIST-style random affine change on a ``size x size`` canvas.

    ``x: [n, h, w, c] -> [n, size, size, c]``. Each image is centred on the canvas, then
    (about the canvas centre) scaled by ``s_y, s_x ~ U(scale_range)`` independently, sheared
    by ``k ~ U(-max_shear, max_shear)`` (``x += k y``), rotated by ``U(-max_rotation,
    max_rotation)`` degrees and moved by ``U(-max_translation, max_translation)`` pixels per
    axis, all drawn with ``numpy.random.default_rng(seed)``. The defaults follow the ranges the
    book uses for affNIST-like tests (rotation up to 20 degrees, shear up to 0.1, scale 0.8-1.2).

    Raises:
        ValueError: a range is negative or empty, or as :func:`pad_to_canvas`.
    """
    low, high = scale_range
    if not 0 < low <= high:
        raise ValueError(f"scale_range must satisfy 0 < low <= high, got {scale_range}.")
    for name, value in (("max_rotation", max_rotation), ("max_shear", max_shear), ("max_translation", max_translation)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}.")
    canvas = pad_to_canvas(x, size)
    n = len(canvas)
    rng = np.random.default_rng(seed)
    angle = rng.uniform(-max_rotation, max_rotation, n)
    shear = rng.uniform(-max_shear, max_shear, n)
    scale_y, scale_x = rng.uniform(low, high, (2, n))
    shift_y, shift_x = rng.uniform(-max_translation, max_translation, (2, n))
    return affine_transform(canvas, _inverse_matrices(size, size, angle, shear, scale_y, scale_x, shift_y, shift_x))


def scramble_parts(x: np.ndarray, seed: int, grid: int = 2) -> np.ndarray:
    """Cut each image into ``grid x grid`` tiles and put the tiles back in a shuffled order.

    ``x: [n, h, w, c] -> [n, h, w, c]``; ``h`` and ``w`` must be multiples of ``grid``. Each
    image gets its own random permutation (never the identity), drawn with
    ``numpy.random.default_rng(seed)``. Every pixel is kept, only the arrangement of the parts
    changes: a test of whether a classifier cares where the parts are.

    Raises:
        ValueError: ``grid < 2`` or the image size is not a multiple of ``grid``.

    >>> scramble_parts(np.zeros((5, 28, 28, 1)), seed=0, grid=4).shape
    (5, 28, 28, 1)
    """
    x = check_images(x)
    n, h, w, c = x.shape
    if grid < 2:
        raise ValueError(f"grid must be >= 2 (at least 4 tiles), got {grid}.")
    if h % grid or w % grid:
        raise ValueError(f"image size {h}x{w} is not a multiple of grid={grid}; choose a grid that divides it.")
    th, tw, k = h // grid, w // grid, grid * grid
    tiles = x.reshape(n, grid, th, grid, tw, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, k, th, tw, c)
    rng = np.random.default_rng(seed)
    perm = rng.permuted(np.tile(np.arange(k), (n, 1)), axis=1)  # [n, k]
    identity = np.all(perm == np.arange(k), axis=1)
    perm[identity] = np.roll(np.arange(k), 1)  # a non-trivial arrangement for every image
    shuffled = tiles[np.arange(n)[:, None], perm]
    return shuffled.reshape(n, grid, grid, th, tw, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)
