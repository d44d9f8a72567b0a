"""Chapter 1: 2-D convolution from scratch, image shifts, and the equivariance error.

Everything here is plain NumPy on single-channel images ``[H, W]`` (no TensorFlow import),
computed in float64 so that "numerically zero" means about 1e-15, not 1e-7.

Conventions (the same as TensorFlow / Keras):

* :func:`cross_correlate2d` is what deep-learning libraries call *convolution*:
  ``y[i, j] = sum_{u, v} k[u, v] * x_pad[i * stride + u, j * stride + v]``.
* :func:`convolve2d` is the convolution of signal processing: the kernel is flipped first.
* ``padding="zero"`` pads like TensorFlow's ``"SAME"``: the output has ``ceil(H / stride)`` rows,
  and when the total padding is odd the extra row or column goes at the bottom or right.
  ``padding="circular"`` pads by the same amounts but wraps the image around (a torus).
* :func:`shift` moves the content down by ``dy`` and right by ``dx`` pixels (negative: up, left).

The equivariance error compares ``conv(shift(x, d))`` with ``shift(conv(x), d / stride)``.
When a shift is not a multiple of the stride, ``d / stride`` is not a whole number of output
pixels and there is nothing to compare with: :func:`equivariance_error_map` then raises a
``ValueError``, unless the caller names the output shift to compare with (``output_shift``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PADDINGS",
    "SHIFT_MODES",
    "convolve2d",
    "cross_correlate2d",
    "equivariance_error",
    "equivariance_error_map",
    "output_size",
    "pad2d",
    "shift",
]

PADDINGS = ("valid", "zero", "circular")
SHIFT_MODES = ("circular", "zero")


def _as_image(array: np.ndarray, name: str) -> np.ndarray:
    """Return ``array`` as a float64 ``[H, W]`` array, or raise a ValueError naming its shape."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array [height, width], got shape {array.shape}; "
            "for one channel of a batch use x[i, :, :, 0]."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}).")
    return array


def _check_padding(padding: str) -> None:
    if padding not in PADDINGS:
        raise ValueError(f"Unknown padding {padding!r}; choose one of 'valid', 'zero', 'circular'.")


def _check_stride(stride: int) -> None:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}.")


def _same_padding(size: int, k: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis so that the output has ceil(size / stride) entries."""
    n_out = -(-size // stride)
    total = max((n_out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def output_size(image_shape: tuple[int, int], kernel_shape: tuple[int, int], padding: str = "valid",
                stride: int = 1) -> tuple[int, int]:
    """Shape of :func:`cross_correlate2d`'s output.

    ``"valid"``: ``(H - kh) // stride + 1`` rows; ``"zero"`` and ``"circular"``: ``ceil(H / stride)``.

    >>> output_size((28, 28), (5, 5), "valid"), output_size((28, 28), (5, 5), "zero", stride=2)
    ((24, 24), (14, 14))
    """
    _check_padding(padding)
    _check_stride(stride)
    if any(k > n for n, k in zip(image_shape, kernel_shape)):
        raise ValueError(
            f"kernel of shape {tuple(kernel_shape)} is larger than the image of shape {tuple(image_shape)}; "
            "use a kernel no larger than the image."
        )
    if padding == "valid":
        return tuple((n - k) // stride + 1 for n, k in zip(image_shape, kernel_shape))
    return tuple(-(-n // stride) for n in image_shape)


def pad2d(image: np.ndarray, kernel_shape: tuple[int, int], padding: str, stride: int = 1) -> np.ndarray:
    """Pad ``image`` as :func:`cross_correlate2d` does before sliding the kernel.

    Shape: ``image: [H, W] -> [H + pad_h, W + pad_w]`` (no padding for ``"valid"``).

    Args:
        image: ``[H, W]`` array.
        kernel_shape: ``(kh, kw)``, which decides how much padding is needed.
        padding: ``"valid"`` (none), ``"zero"`` (zeros, TensorFlow's ``"SAME"`` amounts) or
            ``"circular"`` (the same amounts, filled by wrapping the image around).
        stride: step of the kernel; it changes the ``"SAME"`` amounts when ``H`` is not a
            multiple of it.

    Returns:
        The padded float64 image.

    Raises:
        ValueError: ``image`` is not 2-D, ``padding`` is unknown or ``stride < 1``.
    """
    image = _as_image(image, "image")
    _check_padding(padding)
    _check_stride(stride)
    if padding == "valid":
        return image
    pads = [_same_padding(n, k, stride) for n, k in zip(image.shape, kernel_shape)]
    if padding == "circular" and any(p > n for (p, _), n in zip(pads, image.shape)):
        raise ValueError(
            f"circular padding {pads} is wider than the image {image.shape}; use a smaller kernel."
        )
    return np.pad(image, pads, mode="constant" if padding == "zero" else "wrap")


def cross_correlate2d(image: np.ndarray, kernel: np.ndarray, padding: str = "valid", stride: int = 1) -> np.ndarray:
    """What deep-learning libraries call convolution (``tf.nn.conv2d``, ``keras.layers.Conv2D``).

    ``image: [H, W], kernel: [kh, kw] -> [H', W']`` with ``y[i, j] = sum_{u,v} k[u, v] x_pad[i s + u, j s + v]``
    and ``(H', W')`` given by :func:`output_size`.

    Args:
        image: ``[H, W]`` array (one channel).
        kernel: ``[kh, kw]`` array, not larger than the image.
        padding: ``"valid"``, ``"zero"`` (same as TensorFlow's ``"SAME"``) or ``"circular"``.
        stride: step of the kernel in both directions, an integer >= 1.

    Returns:
        float64 array ``[H', W']``.

    Raises:
        ValueError: wrong rank, a kernel larger than the image, an unknown padding, or ``stride < 1``.

    >>> cross_correlate2d(np.ones((28, 28)), np.ones((3, 3)), padding="zero", stride=2).shape
    (14, 14)
    """
    image = _as_image(image, "image")
    kernel = _as_image(kernel, "kernel")
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(
            f"kernel of shape {kernel.shape} is larger than the image of shape {image.shape}; "
            "use a kernel no larger than the image."
        )
    padded = pad2d(image, kernel.shape, padding, stride)
    n_rows, n_cols = output_size(image.shape, kernel.shape, padding, stride)
    kh, kw = kernel.shape
    # Every kernel entry (u, v) multiplies one strided sub-grid of the padded image: kh * kw
    # vectorised products instead of H' * W' Python-level windows.
    out = np.zeros((n_rows, n_cols))
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + (n_rows - 1) * stride + 1, stride)
            cols = slice(v, v + (n_cols - 1) * stride + 1, stride)
            out += kernel[u, v] * padded[rows, cols]
    return out


def convolve2d(image: np.ndarray, kernel: np.ndarray, padding: str = "valid", stride: int = 1) -> np.ndarray:
    """True (signal-processing) convolution: :func:`cross_correlate2d` with the kernel flipped.

    ``image: [H, W], kernel: [kh, kw] -> [H', W']``; ``y[i, j] = sum_{u,v} k[kh-1-u, kw-1-v] x_pad[i s + u, j s + v]``.
    Arguments, returns and errors as in :func:`cross_correlate2d`.

    >>> convolve2d(np.ones((5, 5)), np.ones((3, 3))).shape
    (3, 3)
    """
    kernel = _as_image(kernel, "kernel")
    return cross_correlate2d(image, kernel[::-1, ::-1], padding, stride)


def shift(image: np.ndarray, dy: int, dx: int, mode: str = "circular") -> np.ndarray:
    """Translate ``image`` by ``dy`` rows down and ``dx`` columns right (negative: up, left).

    Shape: ``image: [H, W] -> [H, W]``.

    Args:
        image: ``[H, W]`` array.
        dy, dx: integer shifts in pixels.
        mode: ``"circular"`` (what leaves one side comes back on the other, ``np.roll``) or
            ``"zero"`` (what leaves is lost; the vacated pixels become 0).

    Returns:
        The shifted float64 image.

    Raises:
        ValueError: ``image`` is not 2-D, the shifts are not integers, or ``mode`` is unknown.

    >>> shift(np.arange(4.0).reshape(2, 2), 1, 0, mode="zero").tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    image = _as_image(image, "image")
    for name, d in (("dy", dy), ("dx", dx)):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise ValueError(f"{name} must be an integer number of pixels, got {d!r}.")
    if mode not in SHIFT_MODES:
        raise ValueError(f"Unknown shift mode {mode!r}; choose 'circular' or 'zero'.")
    if mode == "circular":
        return np.roll(image, (int(dy), int(dx)), axis=(0, 1))
    out = np.zeros_like(image)
    h, w = image.shape
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r, dst_r = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    src_c, dst_c = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[dst_r, dst_c] = image[src_r, src_c]
    return out


def equivariance_error_map(
    image: np.ndarray,
    kernel: np.ndarray,
    dy: int,
    dx: int,
    padding: str = "circular",
    stride: int = 1,
    shift_mode: str | None = None,
    output_shift: tuple[int, int] | None = None,
) -> np.ndarray:
    """Where convolution fails to commute with a shift: ``|conv(shift(x, d)) - shift(conv(x), d / s)|``.

    ``image: [H, W], kernel: [kh, kw] -> [H', W']`` (the output shape of :func:`cross_correlate2d`).

    Args:
        image, kernel, padding, stride: as in :func:`cross_correlate2d`.
        dy, dx: the input shift in pixels (down, right).
        shift_mode: how both the input and the output are shifted (see :func:`shift`). Default:
            ``"circular"`` for circular padding, ``"zero"`` otherwise (content leaves the frame
            and zeros come in, as when an object moves in a photograph).
        output_shift: the output shift ``(dy_out, dx_out)`` to compare with. Default
            ``(dy // stride, dx // stride)``, which requires both shifts to be multiples of the stride.

    Returns:
        float64 ``[H', W']`` map of absolute differences (0 where the two sides agree).

    Raises:
        ValueError: bad image, kernel, padding or stride (as in :func:`cross_correlate2d`), an unknown
            ``shift_mode``, or (without ``output_shift``) a shift that is not a multiple of the stride.

    >>> x, k = np.random.default_rng(0).random((8, 8)), np.ones((3, 3))
    >>> float(equivariance_error_map(x, k, 2, -1, "circular").max()) < 1e-12
    True
    """
    _check_stride(stride)
    if shift_mode is None:
        shift_mode = "circular" if padding == "circular" else "zero"
    if output_shift is None:
        if dy % stride or dx % stride:
            raise ValueError(
                f"shift ({dy}, {dx}) is not a multiple of stride {stride}, so it moves the output by a "
                f"fraction of a pixel; use shifts that are multiples of {stride}, or pass "
                "output_shift=(dy_out, dx_out) to compare with a chosen whole-pixel output shift."
            )
        output_shift = (dy // stride, dx // stride)
    conv_of_shifted = cross_correlate2d(shift(image, dy, dx, shift_mode), kernel, padding, stride)
    shifted_conv = shift(cross_correlate2d(image, kernel, padding, stride), *output_shift, mode=shift_mode)
    return np.abs(conv_of_shifted - shifted_conv)


def equivariance_error(
    image: np.ndarray,
    kernel: np.ndarray,
    dy: int,
    dx: int,
    padding: str = "circular",
    stride: int = 1,
    shift_mode: str | None = None,
    output_shift: tuple[int, int] | None = None,
) -> float:
    """Relative equivariance error: ``max |conv(shift(x)) - shift(conv(x))| / max |conv(x)|``.

    A single number per image and shift: 0 means exactly equivariant, about 1 means the two
    sides share nothing. Arguments and errors as in :func:`equivariance_error_map`.

    Returns:
        A Python float (0.0 when ``conv(x)`` is identically zero and the two sides agree).
    """
    error = equivariance_error_map(image, kernel, dy, dx, padding, stride, shift_mode, output_shift)
    scale = np.abs(cross_correlate2d(image, kernel, padding, stride)).max()
    if scale == 0:
        return float(error.max())
    return float(error.max() / scale)
