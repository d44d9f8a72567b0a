"""Unit tests of capsnet_book.compare: test sets, confidence, models, a tiny experiment."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()

from capsnet_book import transforms  # noqa: E402
from capsnet_book.capsnet import CapsNetConfig  # noqa: E402
from capsnet_book.compare import (  # noqa: E402
    MODEL_NAMES,
    CanvasCapsNet,
    build_cnn,
    build_model,
    confident_fraction,
    displace_parts,
    make_test_sets,
    relative_threshold,
    run_config,
    run_experiment,
    summarise,
    with_setting,
)

TINY = with_setting(
    "quick", n_train=40, n_eval=12, epochs=1, batch_size=20, canvas=16,
    capsnet=CapsNetConfig(4, 3, 2, 4, 3, 2, 4, (16,)),
    cnn_params=((4, 4), 8), cnn_time=((8, 8), 8), p4_filters=(2, 4), p4_dense=8,
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.zeros((6, 28, 28, 1), np.float32)
    x[:, 4:24, 6:22] = rng.random((6, 20, 16, 1))
    return x


def test_displace_parts_with_no_offset_is_the_centred_digit(digits):
    np.testing.assert_array_equal(displace_parts(digits, seed=0, max_offset=0), transforms.pad_to_canvas(digits, 40))


def test_displace_parts_is_deterministic_keeps_ink_and_moves_parts(digits):
    a, b = displace_parts(digits, seed=3), displace_parts(digits, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (6, 40, 40, 1)
    assert not np.array_equal(a, transforms.pad_to_canvas(digits, 40))
    # The brightest pixel of each digit survives (parts are moved, never erased or blended).
    np.testing.assert_allclose(a.max(axis=(1, 2, 3)), digits.max(axis=(1, 2, 3)))


def test_make_test_sets_names_shapes_and_determinism(digits):
    sets = make_test_sets(digits, seed=0, angles=(90, 180))
    assert list(sets) == ["clean", "rot90", "rot180", "translated", "affine", "scrambled", "displaced"]
    assert all(v.shape == (6, 40, 40, 1) for v in sets.values())
    np.testing.assert_array_equal(sets["clean"], transforms.pad_to_canvas(digits, 40))
    np.testing.assert_allclose(sets["rot90"], np.rot90(sets["clean"], 1, axes=(1, 2)), atol=1e-5)
    again = make_test_sets(digits, seed=0, angles=(90, 180))
    for key in sets:
        np.testing.assert_array_equal(sets[key], again[key])
    assert not np.array_equal(make_test_sets(digits, seed=1, angles=())["affine"], sets["affine"])


def test_confident_fraction_against_a_loop():
    rng = np.random.default_rng(0)
    scores, labels = rng.random((50, 10)), rng.integers(0, 10, 50)
    expected = np.mean([s.argmax() == y and s.max() > 0.9 for s, y in zip(scores, labels)])
    assert confident_fraction(scores, labels) == pytest.approx(expected)
    assert confident_fraction(scores, labels, threshold=0.0) == pytest.approx(np.mean(scores.argmax(1) == labels))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_build_model_shapes(name):
    model = build_model(name, TINY)
    out = model(np.zeros((2, 16, 16, 1), np.float32))
    if name.startswith("capsnet"):
        assert isinstance(model, CanvasCapsNet)
        assert [tuple(t.shape) for t in out] == [(2, 10), (2, 16, 16, 1)]
        assert model.routing_iterations == (1 if name == "capsnet_r1" else 3)
    else:
        assert tuple(out.shape) == (2, 10)


def test_cnn_same_params_and_blurpool_have_equal_weights():
    assert build_model("cnn_params", TINY).count_params() == build_model("cnn_blurpool", TINY).count_params()
    assert build_cnn((8, 16), 32, anti_aliased=True).output_shape == (None, 10)


def test_tiny_experiment_is_tidy_and_repeatable(digits):
    rng = np.random.default_rng(1)
    x_train = rng.random((40, 16, 16, 1)).astype(np.float32)
    y_train = np.arange(40) % 10
    sets = {key: rng.random((12, 16, 16, 1)).astype(np.float32) for key in ("clean", "other")}
    y_test = np.arange(12) % 10
    runs, scores = run_experiment(["capsnet", "cnn_params"], [0], x_train, y_train, sets, y_test, TINY, verbose=False)
    assert list(runs.columns) == ["model", "seed", "params", "train_seconds", "relative_threshold"]
    assert len(runs) == 2 and len(scores) == 4
    assert scores[["accuracy", "confident", "confident_relative"]].stack().between(0, 1).all()
    first = run_config("cnn_params", 0, x_train, y_train, sets, TINY)
    second = run_config("cnn_params", 0, x_train, y_train, sets, TINY)
    np.testing.assert_allclose(first.scores["clean"], second.scores["clean"], atol=1e-5)
    summary = summarise(scores, "accuracy", by=("model", "test_set"))
    assert list(summary.columns) == ["mean", "std", "min", "max"]


def test_errors(digits):
    with pytest.raises(ValueError, match="Unknown model 'resnet'"):
        build_model("resnet", TINY)
    with pytest.raises(ValueError, match="Unknown setting 'fast'"):
        build_model("capsnet", "fast")
    with pytest.raises(ValueError, match="sides must be even"):
        displace_parts(np.zeros((1, 27, 27, 1)), seed=0)
    with pytest.raises(ValueError, match="max_offset must be >= 0"):
        displace_parts(digits, seed=0, max_offset=-1)
    with pytest.raises(ValueError, match="expected rank 4"):
        make_test_sets(np.zeros((28, 28)), seed=0)
    with pytest.raises(ValueError, match=r"expected scores \[n, classes\] and labels \[n\]"):
        confident_fraction(np.zeros((3, 10)), np.zeros(4))
    with pytest.raises(ValueError, match="x_train and y_train differ in length: 3 images but 2 labels"):
        run_config("cnn_params", 0, np.zeros((3, 16, 16, 1)), np.zeros(2), {}, TINY)
    with pytest.raises(ValueError, match="test set 'clean' has 2 images but y_test has 3 labels"):
        run_experiment(
            ["cnn_params"], [0], np.zeros((3, 16, 16, 1)), np.zeros(3),
            {"clean": np.zeros((2, 16, 16, 1))}, np.zeros(3), TINY,
        )
    with pytest.raises(KeyError, match="no column 'loss'"):
        summarise(__import__("pandas").DataFrame({"model": ["a"], "accuracy": [1.0]}), "loss")
    with pytest.raises(ValueError, match="at least one convolution block"):
        build_cnn(())


def test_relative_threshold():
    scores = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([0, 0, 0, 0])
    assert relative_threshold(scores, labels, 0.0) == pytest.approx(0.6)
    assert relative_threshold(scores, labels, 1.0) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="quantile must be in"):
        relative_threshold(scores, labels, 1.5)
    with pytest.raises(ValueError, match="gets no example right"):
        relative_threshold(scores, np.array([1, 1, 0, 1]), 0.5)
