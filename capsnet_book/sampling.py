"""Sampling: shifts by a fraction of a pixel, shiftability, receptive field and total stride (chapters 1-2).

Plain NumPy on single-channel images ``[H, W]`` in float64, like :mod:`capsnet_book.equivariance`,
whose convolution and whole-pixel shifts these functions build on.

* :func:`fourier_shift` moves an image by any real number of pixels, treating it as one period of a
  band-limited signal (the sampling theorem's interpolation, computed with the FFT).
* :func:`shiftability_error` compares a strided, circular convolution of a shifted image with its
  output moved by the fraction ``d / stride``: Azulay and Weiss (2019)'s "shiftability". Unlike
  :func:`capsnet_book.equivariance.equivariance_error`, which needs a whole-pixel output shift, it
  is 0 for a band-limited image whatever the shift, so only aliasing can make it fail.
* :func:`receptive_field` gives the receptive field and the total stride of a stack of layers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from capsnet_book.equivariance import _as_image, _check_stride, cross_correlate2d, shift

__all__ = ["fourier_shift", "receptive_field", "shiftability_error"]


def fourier_shift(image: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Circular, band-limited shift by any real number of pixels (down ``dy``, right ``dx``).

    Shape: ``image: [H, W] -> [H, W]``. The image is treated as one period of a band-limited
    signal: its discrete Fourier transform is multiplied by ``exp(-2 pi i (f_y dy + f_x dx))``
    (``f`` in cycles per pixel, :func:`numpy.fft.fftfreq`) and the real part is kept. For whole
    shifts this is ``np.roll``; for a half-pixel shift of an even-sized axis, the Nyquist
    component (1/2 cycle per pixel, ``cos(pi n)``) is read as a cosine and becomes 0 there,
    which is the value of ``cos(pi (n - 1/2))``.

    Args:
        image: ``[H, W]`` array.
        dy, dx: shifts in pixels, any real numbers.

    Returns:
        The shifted float64 image.

    Raises:
        ValueError: ``image`` is not 2-D or a shift is not a finite number.

    >>> x = np.arange(12.0).reshape(3, 4)
    >>> bool(np.allclose(fourier_shift(x, 1, -1), np.roll(x, (1, -1), axis=(0, 1))))
    True
    """
    image = _as_image(image, "image")
    for name, d in (("dy", dy), ("dx", dx)):
        if isinstance(d, bool) or not isinstance(d, (int, float, np.integer, np.floating)) or not np.isfinite(d):
            raise ValueError(f"{name} must be a finite number of pixels, got {d!r}.")
    fy = np.fft.fftfreq(image.shape[0])[:, None]  # [H, 1] cycles per pixel
    fx = np.fft.fftfreq(image.shape[1])[None, :]  # [1, W]
    phase = np.exp(-2j * np.pi * (fy * float(dy) + fx * float(dx)))
    return np.real(np.fft.ifft2(np.fft.fft2(image) * phase))


def shiftability_error(image: np.ndarray, kernel: np.ndarray, dy: int, dx: int, stride: int = 2) -> float:
    """Relative error of a strided, circular convolution against a band-limited shift of its output.

    ``max |conv_s(shift(x, d)) - fourier_shift(conv_s(x), d / s)| / max |conv_s(x)|`` where
    ``conv_s`` is :func:`cross_correlate2d` with circular padding and stride ``s``. The input
    moves by whole pixels; the reference moves the output by ``d / s`` output pixels, a
    fraction when ``d`` is not a multiple of ``s``. Azulay and Weiss (2019) call an output
    *shiftable* when it passes this test: it then moves as a sampled band-limited signal does,
    and only aliasing (frequencies above the subsampled grid's Nyquist limit) can make it fail.

    ``image: [H, W], kernel: [kh, kw] -> float``. ``H`` and ``W`` must be multiples of ``stride``
    (so that a circular shift of the input is a circular shift of the output grid).

    Args:
        image, kernel: as in :func:`cross_correlate2d`.
        dy, dx: whole-pixel input shift (circular).
        stride: the subsampling step, an integer >= 1.

    Returns:
        A Python float; 0 for a shiftable output, of order 1 when the two sides share little.

    Raises:
        ValueError: as :func:`cross_correlate2d`, a non-integer shift, or an image size that is
            not a multiple of ``stride``.

    >>> x = np.random.default_rng(0).random((8, 8))
    >>> shiftability_error(x, np.ones((3, 3)), 2, 0) < 1e-12  # an even shift is exact
    True
    """
    image = _as_image(image, "image")
    _check_stride(stride)
    if image.shape[0] % stride or image.shape[1] % stride:
        raise ValueError(
            f"image of shape {image.shape} is not a multiple of stride {stride} along each axis; "
            "crop or pad it to a multiple of the stride."
        )
    moved = cross_correlate2d(shift(image, dy, dx, "circular"), kernel, "circular", stride)
    output = cross_correlate2d(image, kernel, "circular", stride)
    reference = fourier_shift(output, dy / stride, dx / stride)
    scale = np.abs(output).max()
    error = np.abs(moved - reference).max()
    return float(error / scale) if scale > 0 else float(error)


def receptive_field(kernel_sizes: Sequence[int], strides: Sequence[int]) -> tuple[int, int]:
    """Receptive field and total stride of a stack of layers (convolutions or pooling windows).

    Layer ``l`` has a ``k_l x k_l`` window and stride ``s_l``. One output pixel of the stack
    depends on an ``r x r`` square of input pixels, with ``r = 1 + sum_l (k_l - 1) * S_{l-1}``,
    where ``S_{l-1} = s_1 ... s_{l-1}`` is the product of the strides before layer ``l``; the
    total stride ``S = s_1 ... s_L`` is how many input pixels one step of the output covers.

    Args:
        kernel_sizes: window side of each layer, in order.
        strides: stride of each layer, same length.

    Returns:
        ``(r, S)`` as Python ints.

    Raises:
        ValueError: the two sequences differ in length, or a size or stride is < 1.

    >>> receptive_field([3, 2, 3, 2], [1, 2, 1, 2])  # conv 3x3, pool 2, conv 3x3, pool 2
    (10, 4)
    """
    if len(kernel_sizes) != len(strides):
        raise ValueError(f"got {len(kernel_sizes)} kernel sizes but {len(strides)} strides; give one of each per layer.")
    size, jump = 1, 1
    for k, s in zip(kernel_sizes, strides):
        if k < 1 or s < 1:
            raise ValueError(f"kernel sizes and strides must be >= 1, got kernel {k}, stride {s}.")
        size += (int(k) - 1) * jump
        jump *= int(s)
    return size, jump
