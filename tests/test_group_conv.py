"""Unit tests of capsnet_book.group_conv: p4 equivariance, invariance, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()
import keras  # noqa: E402

from capsnet_book.group_conv import (  # noqa: E402
    P4Conv2D,
    P4MaxPool2D,
    P4RotationPool,
    build_p4_cnn,
    rotate_p4_kernel,
)


def rot(x: np.ndarray, k: int = 1) -> np.ndarray:
    """Turn a batch ``[n, h, w, ...]`` by ``k`` quarter turns counter-clockwise."""
    return np.ascontiguousarray(np.rot90(x, k, axes=(1, 2)))


def correlate(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """NumPy 'same' cross-correlation: ``x [n, h, w, c]``, ``kernel [k, k, c, f] -> [n, h, w, f]``."""
    k = kernel.shape[0]
    p = k // 2
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    n, h, w, _ = x.shape
    out = np.zeros((n, h, w, kernel.shape[3]))
    for i in range(k):
        for j in range(k):
            out += np.einsum("nhwc,cf->nhwf", padded[:, i : i + h, j : j + w], kernel[i, j])
    return out


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(2, 12, 12, 3)).astype(np.float32)


def test_lifting_matches_numpy_reference(images):
    layer = P4Conv2D(5, 3, lifting=True, use_bias=False)
    out = np.asarray(layer(images))
    kernel = np.asarray(layer.kernel)
    assert out.shape == (2, 12, 12, 4, 5)
    for r in range(4):
        np.testing.assert_allclose(out[:, :, :, r], correlate(images, np.rot90(kernel, r, axes=(0, 1))), atol=1e-4)


def test_group_conv_matches_numpy_reference(images):
    lift = P4Conv2D(2, 3, lifting=True)
    maps = np.asarray(lift(images))  # [2, 12, 12, 4, 2]
    layer = P4Conv2D(3, 3, use_bias=False)
    out = np.asarray(layer(maps))
    kernel = np.asarray(layer.kernel)  # [3, 3, 4, 2, 3]
    flat = maps.reshape(2, 12, 12, 8)
    for r in range(4):
        turned = np.roll(np.rot90(kernel, r, axes=(0, 1)), r, axis=2).reshape(3, 3, 8, 3)
        np.testing.assert_allclose(out[:, :, :, r], correlate(flat, turned), atol=1e-4)


def test_rotate_p4_kernel_four_times_is_identity():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 4, 2, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(rotate_p4_kernel(kernel, 4)), kernel)
    np.testing.assert_allclose(
        np.asarray(rotate_p4_kernel(rotate_p4_kernel(kernel, 1), 1)), np.asarray(rotate_p4_kernel(kernel, 2))
    )


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_rotating_the_input_rotates_maps_and_permutes_rotation_channels(images, k, padding):
    lift = P4Conv2D(4, 3, lifting=True, padding=padding)
    group = P4Conv2D(3, 5, padding=padding)
    maps, maps_turned = np.asarray(lift(images)), np.asarray(lift(rot(images, k)))
    np.testing.assert_allclose(maps_turned, np.roll(rot(maps, k), k, axis=3), atol=1e-4)
    deep, deep_turned = np.asarray(group(maps)), np.asarray(group(maps_turned))
    np.testing.assert_allclose(deep_turned, np.roll(rot(deep, k), k, axis=3), atol=1e-4)
    # ... and not trivially: the rotation channels differ from each other.
    assert np.abs(deep[:, :, :, 0] - deep[:, :, :, 1]).max() > 1e-2


def test_pooling_keeps_equivariance_and_rotation_pool_gives_rotated_maps(images):
    lift = P4Conv2D(4, 3, lifting=True)
    pooled = np.asarray(P4MaxPool2D()(lift(images)))
    pooled_turned = np.asarray(P4MaxPool2D()(lift(rot(images))))
    assert pooled.shape == (2, 6, 6, 4, 4)
    np.testing.assert_allclose(pooled_turned, np.roll(rot(pooled), 1, axis=3), atol=1e-4)
    invariant = np.asarray(P4RotationPool()(pooled))
    np.testing.assert_allclose(np.asarray(P4RotationPool()(pooled_turned)), rot(invariant), atol=1e-4)
    np.testing.assert_allclose(invariant, pooled.max(axis=3))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_p4_cnn_logits_are_invariant_to_quarter_turns(k):
    keras.utils.set_random_seed(0)
    model = build_p4_cnn((4, 8, 8), input_shape=(16, 16, 1), dense=16)
    x = np.random.default_rng(2).random((3, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(rot(x, k))), np.asarray(model(x)), atol=1e-4)


def test_p4_cnn_flatten_head_and_batch_norm_shapes():
    model = build_p4_cnn((4, 8), input_shape=(40, 40, 1), head="flatten", batch_norm=True, dropout=0.2)
    assert tuple(model(np.zeros((2, 40, 40, 1), np.float32)).shape) == (2, 10)
    assert model.output_shape == (None, 10)


def test_weight_count_is_one_filter_bank():
    layer = P4Conv2D(6, 3, lifting=False)
    layer.build((None, 8, 8, 4, 5))
    assert layer.count_params() == 3 * 3 * 4 * 5 * 6 + 6
    assert layer.compute_output_shape((None, 8, 8, 4, 5)) == (None, 8, 8, 4, 6)
    assert P4Conv2D(6, 3, lifting=True, padding="valid").compute_output_shape((None, 8, 8, 1)) == (None, 6, 6, 4, 6)


def test_errors():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        P4Conv2D(4, 2)
    with pytest.raises(ValueError, match="padding must be 'same' or 'valid'"):
        P4Conv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match=r"expected p4 maps of rank 5 \[batch, h, w, 4, c\], got shape \(2, 8, 8, 3\)"):
        P4Conv2D(4, 3)(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected images of rank 4"):
        P4Conv2D(4, 3, lifting=True)(np.zeros((2, 8, 8, 4, 3), np.float32))
    with pytest.raises(ValueError, match="even h and w"):
        P4MaxPool2D()(np.zeros((1, 7, 7, 4, 2), np.float32))
    with pytest.raises(ValueError, match="P4RotationPool: expected p4 maps"):
        P4RotationPool()(np.zeros((1, 8, 8, 3, 2), np.float32))
    with pytest.raises(ValueError, match="needs a square input, got 40x32"):
        build_p4_cnn(input_shape=(40, 32, 1))
    with pytest.raises(ValueError, match="need a side divisible by 8, got 28"):
        build_p4_cnn((4, 8, 8, 8), input_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="unknown head 'mean'"):
        build_p4_cnn(head="mean")
    with pytest.raises(ValueError, match="at least one layer"):
        build_p4_cnn(())
