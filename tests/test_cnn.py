"""Unit tests of capsnet_book.cnn: shapes, blur pooling against NumPy, errors, a tiny training run."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()
import keras  # noqa: E402

from capsnet_book.cnn import BlurPool2D, binomial_filter, build_baseline_cnn, train_classifier  # noqa: E402


def reference_blurpool(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Reflect-pad, blur each channel with the binomial filter, keep every ``stride``-th pixel."""
    before, after = (size - 1) // 2, size // 2
    padded = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)), mode="reflect")
    k = binomial_filter(size)
    n, h, w, c = x.shape
    out = np.zeros((n, h, w, c), np.float64)
    for r in range(h):
        for q in range(w):
            out[:, r, q, :] = np.einsum("nijc,ij->nc", padded[:, r:r + size, q:q + size, :], k)
    return out[:, ::stride, ::stride, :]


def test_binomial_filter():
    np.testing.assert_allclose(binomial_filter(3), np.outer([1, 2, 1], [1, 2, 1]) / 16)
    assert binomial_filter(5).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("size, hw", [(3, 8), (3, 9), (4, 8), (2, 7)])
def test_blurpool_matches_reference(size, hw):
    x = np.random.default_rng(0).random((2, hw, hw, 3)).astype(np.float32)
    out = BlurPool2D(size, stride=2)(x)
    expected = reference_blurpool(x, size, 2)
    assert tuple(out.shape) == expected.shape == (2, (hw + 1) // 2, (hw + 1) // 2, 3)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)


def test_blurpool_keeps_a_constant_map():
    out = np.asarray(BlurPool2D(3)(np.full((1, 6, 6, 2), 0.7, np.float32)))
    np.testing.assert_allclose(out, 0.7, rtol=1e-6)


@pytest.mark.parametrize("preset", ["quick", "paper"])
@pytest.mark.parametrize("anti_aliased", [False, True])
@pytest.mark.parametrize("input_shape", [(28, 28, 1), (40, 40, 1)])
def test_baseline_cnn_shapes(preset, anti_aliased, input_shape):
    model = build_baseline_cnn(preset, anti_aliased=anti_aliased, input_shape=input_shape)
    logits = model(np.zeros((2, *input_shape), np.float32))
    assert tuple(logits.shape) == (2, 10)
    assert not model.compiled  # returned uncompiled
    assert any(isinstance(layer, BlurPool2D) for layer in model.layers) == anti_aliased


def test_global_average_head_accepts_the_shape_it_was_built_for():
    model = build_baseline_cnn("quick", head="global_average", n_classes=3)
    assert model.output_shape == (None, 3)


def test_models_builds_the_baseline_cnn_chapter_3_trains():
    """Chapter 3 builds its CNN with ``from capsnet_book.models import build_baseline_cnn``."""
    from capsnet_book.models import build_baseline_cnn as from_models

    images = np.random.default_rng(5).uniform(size=(3, 40, 40, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    model = from_models("quick", input_shape=(40, 40, 1))
    logits = np.asarray(model(images))
    assert logits.shape == (3, 10) and not model.compiled
    keras.utils.set_random_seed(0)  # the same network, initialised alike, as capsnet_book.cnn's
    np.testing.assert_allclose(logits, np.asarray(build_baseline_cnn("quick", input_shape=(40, 40, 1))(images)),
                               rtol=1e-5, atol=1e-6)
    blurred = from_models("quick", anti_aliased=True, input_shape=(40, 40, 1))
    assert any(isinstance(layer, BlurPool2D) for layer in blurred.layers)


def test_train_classifier_learns_a_trivial_task(capsys):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 256)
    x = np.zeros((256, 28, 28, 1), np.float32)
    x[y == 1, 10:18, 10:18] = 1.0  # class 1: a bright square
    model = build_baseline_cnn("quick", n_classes=2)
    seen = []
    result = train_classifier(model, x, y, epochs=2, augment=lambda xs, e: seen.append(e) or xs)
    assert seen == [0, 1] and len(result.history["loss"]) == 2 and result.seconds > 0
    assert result.history["accuracy"][-1] > 0.9
    assert capsys.readouterr().out.count("epoch") == 2


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: build_baseline_cnn("huge"), r"Unknown preset 'huge'; choose 'quick' \(CPU\) or 'paper' \(GPU\)"),
        (lambda: build_baseline_cnn(head="attention"), r"Unknown head 'attention'"),
        (lambda: build_baseline_cnn(input_shape=(28, 28)), r"input_shape must be \(height, width, channels\)"),
        (lambda: binomial_filter(1), r"blur filter size must be in 2..7, got 1"),
        (lambda: BlurPool2D(3, stride=0), r"stride must be >= 1, got 0"),
        (lambda: train_classifier(None, np.zeros((2, 4, 4, 1)), [0]), r"AugmentedDigits: 2 images but 1 labels"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
