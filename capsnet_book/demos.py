"""The site's interactive figures: their weight files and the NumPy references their JavaScript mirrors.

Three figures on the published site let a reader move the input and watch a network answer
(chapter 1: a shift and a convolution; chapter 3: a rotation and two trained CNNs; chapter 6: a digit
capsule's 16 dimensions and the trained decoder). Their forward passes are written in plain
JavaScript (``_static/demos/``); what they need from the chapters' models is exported here.

Weight files. One per figure, ``_static/demos/data/<name>.js``: a JSON header (each array's name,
shape, encoding and byte offset) and one little-endian binary payload, base64-encoded inside a
script so that the figure loads from ``file://`` as well as over http (a browser refuses ``fetch``
of local files, not ``<script src>``). Encodings:

* ``"float16"``: IEEE half precision;
* ``"int8"``: for the few large matrices (a dense layer ``[n_in, n_out]``), symmetric 8-bit
  levels with one float32 scale per output column: ``w[:, j] ~ q[:, j] * scale[j]``,
  ``|w - q scale| <= scale / 2``. Float16 for all of them would be 3.3 MB; the budget is 2 MB.

:func:`decode_arrays` gives back what the JavaScript reads, as float32, so a Keras model loaded
with it computes what the page computes.

Chapter 1's figure: :func:`pipeline` and :func:`pipeline_error` (convolution, then optionally a
stride of 2, 2x2 max pooling or max pooling with blur pooling), built on
:mod:`capsnet_book.equivariance` so that its numbers are the chapter's for the same settings.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Mapping

import numpy as np

from capsnet_book import equivariance, sampling

__all__ = [
    "DOWNSAMPLINGS",
    "ENCODINGS",
    "INT8_MIN_SIZE",
    "decode_arrays",
    "encode_arrays",
    "pipeline",
    "pipeline_error",
    "read_demo_script",
    "write_demo_script",
]

ENCODINGS = ("float16", "int8")
INT8_MIN_SIZE = 100_000  # matrices with at least this many entries are stored as int8
DOWNSAMPLINGS = ("none", "stride2", "maxpool", "blurpool")
_BLUR = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16  # Zhang (2019)'s 3x3 binomial filter


def _int8_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 8-bit levels of a ``[n_in, n_out]`` matrix, one scale per column."""
    peak = np.abs(w).max(axis=0)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def encode_arrays(arrays: Mapping[str, np.ndarray], int8_min_size: int = INT8_MIN_SIZE) -> tuple[dict, bytes]:
    """Pack named arrays into one little-endian payload and a header that says where each lies.

    ``{name: array}`` -> ``({"arrays": [{"name", "shape", "encoding", "offset", "bytes",
    ("scale_offset")}, ...], "bytes": total}, payload)``. A 2-D array with at least
    ``int8_min_size`` entries is stored as int8 with float32 column scales; everything else as
    float16. Every block starts at a multiple of 4 bytes.

    Raises:
        ValueError: an array is not finite.

    >>> header, payload = encode_arrays({"b": np.ones(3)})
    >>> header["arrays"][0]["encoding"], len(payload)
    ('float16', 8)
    """
    entries, chunks, offset = [], [], 0

    def add(raw: bytes) -> int:
        nonlocal offset
        start = offset
        chunks.append(raw + b"\0" * (-len(raw) % 4))
        offset += len(chunks[-1])
        return start

    for name, array in arrays.items():
        array = np.asarray(array, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name}: the array holds values that are not finite; export trained weights only.")
        entry = {"name": name, "shape": list(array.shape)}
        if array.ndim == 2 and array.size >= int8_min_size:
            q, scale = _int8_columns(array)
            entry |= {"encoding": "int8", "offset": add(q.tobytes()), "bytes": q.nbytes,
                      "scale_offset": add(scale.astype("<f4").tobytes())}
        else:
            half = array.astype("<f2")
            entry |= {"encoding": "float16", "offset": add(half.tobytes()), "bytes": half.nbytes}
        entries.append(entry)
    return {"arrays": entries, "bytes": offset}, b"".join(chunks)


def decode_arrays(header: Mapping, payload: bytes) -> dict[str, np.ndarray]:
    """What :func:`encode_arrays` stored, as float32 arrays (int8 matrices times their scales).

    Raises:
        ValueError: the payload is shorter than the header says, or an encoding is unknown.
    """
    if len(payload) < header["bytes"]:
        raise ValueError(f"the payload has {len(payload)} bytes, the header describes {header['bytes']}.")
    out = {}
    for entry in header["arrays"]:
        shape, size = tuple(entry["shape"]), int(np.prod(entry["shape"], dtype=np.int64))
        if entry["encoding"] == "float16":
            values = np.frombuffer(payload, "<f2", size, entry["offset"]).astype(np.float32)
        elif entry["encoding"] == "int8":
            q = np.frombuffer(payload, np.int8, size, entry["offset"]).reshape(shape)
            scale = np.frombuffer(payload, "<f4", shape[1], entry["scale_offset"])
            values = q.astype(np.float32) * scale
        else:
            raise ValueError(f"{entry['name']}: unknown encoding {entry['encoding']!r}; expected one of {ENCODINGS}.")
        out[entry["name"]] = values.reshape(shape)
    return out


_PREFIX = "// Written by tools/export_demos.py; do not edit. Weights and inputs of one interactive figure.\n"


def write_demo_script(path: Path, name: str, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> int:
    """Write one figure's data file: ``CapsDemoData[name] = {meta, header, payload}`` (base64).

    Returns the payload's size in bytes (before base64).
    """
    header, payload = encode_arrays(arrays)
    record = {"meta": dict(meta), "header": header, "payload": base64.b64encode(payload).decode("ascii")}
    text = (_PREFIX + "(globalThis.CapsDemoData = globalThis.CapsDemoData || {})[" + json.dumps(name) + "] = "
            + json.dumps(record, separators=(",", ":"), ensure_ascii=True) + ";\n")
    Path(path).write_text(text, encoding="ascii")
    return len(payload)


def read_demo_script(path: Path) -> tuple[dict, dict[str, np.ndarray], int]:
    """``(meta, arrays, payload_bytes)`` of a file :func:`write_demo_script` wrote.

    Raises:
        ValueError: the file is not one such file.
    """
    text = Path(path).read_text(encoding="ascii")
    start, end = text.find("] = {"), text.rstrip().rfind(";")
    if not text.startswith(_PREFIX) or start < 0 or end < 0:
        raise ValueError(f"{path} is not a figure data file written by tools/export_demos.py.")
    record = json.loads(text[start + 4 : end])
    payload = base64.b64decode(record["payload"])
    return record["meta"], decode_arrays(record["header"], payload), len(payload)


def pipeline(image: np.ndarray, kernel: np.ndarray, padding: str = "circular", downsampling: str = "none") -> np.ndarray:
    """Chapter 1's figure: a convolution, then a way of halving the resolution (or none).

    ``image: [H, W], kernel: [kh, kw] -> [H, W]`` (``"none"``) or ``[ceil(H / 2), ceil(W / 2)]``:

    * ``"none"``: :func:`~capsnet_book.equivariance.cross_correlate2d` with ``padding``, stride 1;
    * ``"stride2"``: the same convolution with stride 2;
    * ``"maxpool"``: stride 1, then 2x2 max pooling with stride 2 (``H`` even);
    * ``"blurpool"``: stride 1, then a dense (stride 1) 2x2 max and the 3x3 binomial blur with
      stride 2 (Zhang, 2019), both padded like the convolution (zeros, or wrapped around).

    Raises:
        ValueError: an unknown ``downsampling``, or as ``cross_correlate2d``.

    >>> pipeline(np.ones((28, 28)), np.ones((5, 5)), "zero", "blurpool").shape
    (14, 14)
    """
    if downsampling not in DOWNSAMPLINGS:
        raise ValueError(f"Unknown downsampling {downsampling!r}; choose one of {', '.join(DOWNSAMPLINGS)}.")
    if downsampling == "stride2":
        return equivariance.cross_correlate2d(image, kernel, padding, stride=2)
    y = equivariance.cross_correlate2d(image, kernel, padding)
    if downsampling == "none":
        return y
    if downsampling == "maxpool":
        h, w = y.shape
        return y[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
    # Dense 2x2 max (the window reaches one pixel down and right, as Keras' "same" pads), then the blur.
    wide = np.pad(y, ((0, 1), (0, 1)), mode="wrap" if padding == "circular" else "constant")
    dense_max = np.maximum.reduce([wide[:-1, :-1], wide[1:, :-1], wide[:-1, 1:], wide[1:, 1:]])
    return equivariance.cross_correlate2d(dense_max, _BLUR, padding, stride=2)


def pipeline_error(image: np.ndarray, kernel: np.ndarray, dy: int, dx: int, padding: str = "circular",
                   downsampling: str = "none") -> tuple[float, tuple[int, int]]:
    """Relative equivariance error of :func:`pipeline` for a shift ``(dy, dx)``, and the output shift used.

    ``max |f(shift(x, d)) - shift(f(x), d')| / max |f(x)|``, shifts circular for circular padding
    and zero-filled otherwise, as in :func:`~capsnet_book.equivariance.equivariance_error`. With a
    halving and circular padding, ``d' = d / 2``, moved by :func:`~capsnet_book.sampling.fourier_shift`
    (a half-pixel, band-limited shift when ``d`` is odd: chapter 1's reference, Azulay and Weiss's
    shiftability, :func:`~capsnet_book.sampling.shiftability_error` for ``"stride2"``). With a halving
    and zero padding there is no band-limited zero-filled shift: for an odd ``d`` the smaller error
    of the neighbouring whole pixels is taken. For ``"none"`` and circular ``"stride2"`` the number
    equals the chapter's measure.

    Returns:
        ``(error, (dy_out, dx_out))``.
    """
    mode = "circular" if padding == "circular" else "zero"
    shifted = pipeline(equivariance.shift(image, dy, dx, mode), kernel, padding, downsampling)
    plain = pipeline(image, kernel, padding, downsampling)
    scale = np.abs(plain).max()
    if downsampling != "none" and padding == "circular":
        # Chapter 1's reference for a halved output: the output moved by half the input's shift,
        # a band-limited (Fourier) half-pixel shift when that is a fraction (np.roll when it is not).
        error = float(np.abs(shifted - sampling.fourier_shift(plain, dy / 2, dx / 2)).max())
        return (error / float(scale) if scale > 0 else error), (dy / 2, dx / 2)
    if downsampling == "none":
        candidates = [(dy, dx)]
    else:
        candidates = [(oy, ox) for oy in sorted({dy // 2, -(-dy // 2)}) for ox in sorted({dx // 2, -(-dx // 2)})]
    best = None
    for oy, ox in candidates:
        error = np.abs(shifted - equivariance.shift(plain, oy, ox, mode)).max()
        error = float(error / scale) if scale > 0 else float(error)
        if best is None or error < best[0]:
            best = (error, (oy, ox))
    return best
