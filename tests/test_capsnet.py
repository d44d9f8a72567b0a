"""Tests of capsnet_book.capsnet: presets, shapes, parameter counts, masking, loss, shifts."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest
from keras import ops

from capsnet_book import capsnet
from capsnet_book.datasets import random_shift  # noqa: E402
from capsnet_book.models import build_capsnet


def paper_param_count() -> int:
    conv1 = 9 * 9 * 1 * 256 + 256
    primary = 9 * 9 * 256 * (32 * 8) + 32 * 8
    digit = (6 * 6 * 32) * 10 * 16 * 8  # one 16x8 matrix per (primary capsule, digit) pair
    decoder = (160 * 512 + 512) + (512 * 1024 + 1024) + (1024 * 784 + 784)
    return conv1 + primary + digit + decoder


@pytest.fixture(scope="module")
def quick_model():
    return build_capsnet("quick")


@pytest.mark.parametrize("preset", ["quick", "paper"])
def test_build_capsnet_shapes(preset):
    model = build_capsnet(preset)
    assert model.built
    images = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype("float32")
    lengths, reconstructions = model(images)
    assert tuple(lengths.shape) == (3, 10)
    assert tuple(reconstructions.shape) == (3, 28, 28, 1)
    lengths = ops.convert_to_numpy(lengths)
    assert np.all((lengths >= 0) & (lengths < 1))
    assert tuple(model.digit_capsules(images).shape) == (3, 10, 16)


def test_paper_preset_has_the_paper_architecture():
    model = build_capsnet("paper")
    assert model.count_params() == paper_param_count() == 8_215_568
    assert model.conv1.filters == 256 and model.conv1.kernel_size == (9, 9)
    assert (model.primary_caps.n_channels, model.primary_caps.dim) == (32, 8)
    assert model.digit_caps.kernel.shape == (1152, 10, 16, 8)


def test_quick_preset_is_smaller(quick_model):
    assert quick_model.count_params() < build_capsnet("paper").count_params() / 5
    assert quick_model.digit_caps.routing_iterations == 3


def test_routing_iterations_are_passed_on():
    assert build_capsnet("quick", routing_iterations=1).digit_caps.routing_iterations == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"preset": "large"}, r"Unknown preset 'large'; choose one of 'paper', 'quick'"),
        ({"routing_iterations": 0}, r"iterations must be a positive integer"),
    ],
)
def test_build_capsnet_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_capsnet(**kwargs)


def test_masking_by_label_and_by_longest_capsule(quick_model):
    images = np.random.default_rng(1).uniform(size=(4, 28, 28, 1)).astype("float32")
    lengths, by_longest = quick_model(images)
    predicted = np.argmax(ops.convert_to_numpy(lengths), axis=1)
    _, by_predicted_label = quick_model(images, np.eye(10, dtype="float32")[predicted])
    np.testing.assert_allclose(ops.convert_to_numpy(by_longest), ops.convert_to_numpy(by_predicted_label), atol=1e-6)
    other = (predicted + 1) % 10
    _, by_other_label = quick_model(images, np.eye(10, dtype="float32")[other])
    assert np.abs(ops.convert_to_numpy(by_longest) - ops.convert_to_numpy(by_other_label)).max() > 0
    # The decoder sees only the labelled capsule's 16 numbers.
    caps = quick_model.digit_capsules(images)
    decoder_input = ops.convert_to_numpy(quick_model.mask(caps, np.eye(10, dtype="float32")[other]))
    kept = decoder_input.reshape(4, 10, 16)
    np.testing.assert_array_equal(np.abs(kept).sum(axis=2) > 0, np.eye(10, dtype=bool)[other])
    # The labels change only the decoder's input, never the lengths.
    lengths_other, _ = quick_model(images, np.eye(10, dtype="float32")[other])
    np.testing.assert_allclose(ops.convert_to_numpy(lengths), ops.convert_to_numpy(lengths_other))


def test_decode_uses_only_the_kept_capsule(quick_model):
    images = np.random.default_rng(2).uniform(size=(2, 28, 28, 1)).astype("float32")
    caps = ops.convert_to_numpy(quick_model.digit_capsules(images))
    labels = np.eye(10, dtype="float32")[[3, 7]]
    changed = caps.copy()
    changed[:, [0, 1, 2, 4, 5, 6, 8, 9]] = 0.5  # every capsule but the labelled ones
    np.testing.assert_allclose(
        ops.convert_to_numpy(quick_model.decode(caps, labels)),
        ops.convert_to_numpy(quick_model.decode(changed, labels)),
        atol=1e-6,
    )


def test_capsnet_loss_matches_numpy():
    rng = np.random.default_rng(3)
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, size=5)]
    lengths = rng.uniform(size=(5, 10)).astype("float32")
    images = rng.uniform(size=(5, 28, 28, 1)).astype("float32")
    recon = rng.uniform(size=(5, 28, 28, 1)).astype("float32")
    margin = np.sum(y * np.maximum(0, 0.9 - lengths) ** 2 + 0.5 * (1 - y) * np.maximum(0, lengths - 0.1) ** 2, axis=1)
    expected = np.mean(margin + 0.0005 * np.sum((recon - images) ** 2, axis=(1, 2, 3)))
    loss = float(capsnet.capsnet_loss(y, lengths, images, recon))
    assert loss == pytest.approx(expected, rel=1e-5)


def test_a_default_model_trains_on_the_papers_loss(quick_model):
    """build_capsnet's model trains on margin loss + 0.0005 x summed squared error (the paper's
    weight), and chapter 6's RECONSTRUCTION_WEIGHT x squared error is that loss's second term."""
    rng = np.random.default_rng(5)
    images = rng.uniform(size=(4, 28, 28, 1)).astype("float32")
    y = np.eye(10, dtype="float32")[[1, 4, 4, 9]]
    loss, lengths = quick_model.objective(images, y)
    _, reconstructions = quick_model(images, y)
    lengths, reconstructions = ops.convert_to_numpy(lengths), ops.convert_to_numpy(reconstructions)
    margin = np.sum(y * np.maximum(0, 0.9 - lengths) ** 2 + 0.5 * (1 - y) * np.maximum(0, lengths - 0.1) ** 2, axis=1)
    squared_error = np.sum((reconstructions - images) ** 2, axis=(1, 2, 3))
    assert float(loss) == pytest.approx(np.mean(margin + 0.0005 * squared_error), rel=1e-5)
    assert float(loss) - margin.mean() == pytest.approx(capsnet.RECONSTRUCTION_WEIGHT * squared_error.mean(), rel=1e-3)
    without_decoder = build_capsnet("quick", reconstruction_weight=0.0)
    loss, lengths = without_decoder.objective(images, y)
    lengths = ops.convert_to_numpy(lengths)
    margin = np.sum(y * np.maximum(0, 0.9 - lengths) ** 2 + 0.5 * (1 - y) * np.maximum(0, lengths - 0.1) ** 2, axis=1)
    assert float(loss) == pytest.approx(margin.mean(), rel=1e-5)


@pytest.mark.parametrize("preset", ["quick", "paper"])
def test_trunk_has_the_same_convolutions(preset):
    trunk = capsnet.build_capsnet_trunk(preset)
    config = capsnet.PRESETS[preset]
    convs = [layer for layer in trunk.layers if layer.__class__.__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [config.conv_filters, config.primary_channels * config.primary_dim]
    assert tuple(trunk.output_shape) == (None, 10)


def test_random_shift_moves_whole_images():
    rng = np.random.default_rng(4)
    images = np.zeros((50, 28, 28, 1), dtype="float32")
    images[:, 10:18, 12:16] = 1.0
    shifted = random_shift(images, 2, rng)
    assert shifted.shape == images.shape
    np.testing.assert_allclose(shifted.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)))  # nothing cut off
    rows = np.array([np.flatnonzero(s[:, :, 0].sum(axis=1))[0] for s in shifted]) - 10
    assert set(rows) <= set(range(-2, 3)) and len(set(rows)) > 1
    np.testing.assert_array_equal(random_shift(images, 0, rng), images)


def test_random_shift_errors():
    with pytest.raises(ValueError, match=r"expected images of rank 4 \[n, H, W, C\], got shape \(28, 28\)"):
        random_shift(np.zeros((28, 28)), 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"max_shift must be >= 0, got -1"):
        random_shift(np.zeros((1, 28, 28, 1)), -1, np.random.default_rng(0))
