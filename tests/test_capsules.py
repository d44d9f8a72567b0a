"""Unit tests of capsnet_book.capsules against plain NumPy references."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from capsnet_book import capsules
from capsnet_book.capsules import dynamic_routing, squash


# ---------------------------------------------------------------- NumPy references
def squash_np(s: np.ndarray, axis: int = -1) -> np.ndarray:
    """Eq. 1 of the paper, written plainly (exact at s = 0: returns 0)."""
    norm = np.linalg.norm(s, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = norm**2 / (1 + norm**2) * s / norm
    return np.nan_to_num(v)


def routing_loop_np(u_hat: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Procedure 1 with explicit loops over examples, input and output capsules."""
    batch, n_in, n_out, dim = u_hat.shape
    v = np.zeros((batch, n_out, dim))
    c = np.zeros((batch, n_in, n_out))
    for b in range(batch):
        logits = np.zeros((n_in, n_out))
        for r in range(iterations):
            for i in range(n_in):
                e = np.exp(logits[i] - logits[i].max())
                c[b, i] = e / e.sum()
            for j in range(n_out):
                s_j = sum(c[b, i, j] * u_hat[b, i, j] for i in range(n_in))
                v[b, j] = squash_np(s_j)
            if r < iterations - 1:
                for i in range(n_in):
                    for j in range(n_out):
                        logits[i, j] += u_hat[b, i, j] @ v[b, j]
    return v, c


# ---------------------------------------------------------------- squash
@pytest.mark.parametrize("shape", [(5,), (4, 8), (3, 7, 16), (2, 3, 4, 5)])
def test_squash_matches_numpy_and_keeps_norm_in_unit_interval(shape):
    rng = np.random.default_rng(0)
    s = (rng.normal(size=shape) * rng.choice([0.01, 1.0, 30.0])).astype("float32")
    v = ops.convert_to_numpy(squash(s))
    np.testing.assert_allclose(v, squash_np(s), rtol=1e-4, atol=1e-6)
    norms = np.linalg.norm(v, axis=-1)
    assert np.all(norms >= 0) and np.all(norms < 1)


def test_squash_keeps_direction():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(20, 8)).astype("float32")
    v = ops.convert_to_numpy(squash(s))
    cosine = np.sum(s * v, axis=-1) / (np.linalg.norm(s, axis=-1) * np.linalg.norm(v, axis=-1))
    np.testing.assert_allclose(cosine, 1.0, atol=1e-5)


def test_squash_other_axis():
    rng = np.random.default_rng(2)
    s = rng.normal(size=(3, 6, 4)).astype("float32")
    v = ops.convert_to_numpy(squash(s, axis=1))
    np.testing.assert_allclose(v, squash_np(s, axis=1), rtol=1e-4, atol=1e-6)


def test_squash_long_and_short_vectors():
    v = ops.convert_to_numpy(squash(np.array([[1e3, 0.0], [1e-3, 0.0]], dtype="float32")))
    assert v[0, 0] == pytest.approx(1.0, abs=1e-5)  # long vectors: length close to 1
    assert v[1, 0] == pytest.approx(1e-6, rel=0.2)  # short vectors: length about |s|^2


def test_squash_zero_vector_and_its_gradient_are_finite():
    s = tf.zeros((2, 3, 8))
    with tf.GradientTape() as tape:
        tape.watch(s)
        v = squash(s)
        total = tf.reduce_sum(v)
    grad = tape.gradient(total, s)
    assert np.all(v.numpy() == 0)
    assert np.all(np.isfinite(grad.numpy()))


# ---------------------------------------------------------------- dynamic routing
@pytest.mark.parametrize("iterations", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(1, 2, 2, 1), (2, 6, 3, 4), (3, 12, 10, 16)])
def test_routing_equals_plain_loop(shape, iterations):
    rng = np.random.default_rng(sum(shape) + iterations)
    u_hat = (rng.normal(size=shape) * 0.5).astype("float32")
    v, c = dynamic_routing(u_hat, iterations=iterations)
    v_ref, c_ref = routing_loop_np(u_hat.astype("float64"), iterations)
    assert tuple(v.shape) == (shape[0], shape[2], shape[3])
    assert tuple(c.shape) == shape[:3]
    np.testing.assert_allclose(ops.convert_to_numpy(v), v_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(c), c_ref, rtol=1e-4, atol=1e-5)


def test_coupling_sums_to_one_over_outputs():
    rng = np.random.default_rng(3)
    u_hat = rng.normal(size=(4, 30, 10, 16)).astype("float32")
    _, c = dynamic_routing(u_hat, iterations=3)
    np.testing.assert_allclose(ops.convert_to_numpy(c).sum(axis=2), 1.0, atol=1e-5)


def test_one_iteration_is_uniform_coupling():
    rng = np.random.default_rng(4)
    u_hat = rng.normal(size=(2, 7, 5, 3)).astype("float32")
    v, c = dynamic_routing(u_hat, iterations=1)
    np.testing.assert_allclose(ops.convert_to_numpy(c), 1 / 5, atol=1e-6)
    np.testing.assert_allclose(
        ops.convert_to_numpy(v), squash_np(u_hat.sum(axis=1) / 5), rtol=1e-4, atol=1e-6
    )


def test_agreement_raises_coupling():
    # Input capsules 0..3 agree on output 0 and point in random directions for output 1;
    # more iterations must move their coupling towards output 0.
    rng = np.random.default_rng(5)
    n_in, dim = 8, 4
    u_hat = np.zeros((1, n_in, 2, dim), dtype="float32")
    u_hat[0, :, 0] = np.array([2.0, 0.0, 0.0, 0.0])
    u_hat[0, :, 1] = rng.normal(size=(n_in, dim)) * 2.0
    c_by_iterations = [
        ops.convert_to_numpy(dynamic_routing(u_hat, iterations=r)[1])[0, :, 0].mean()
        for r in (1, 2, 3, 4)
    ]
    assert c_by_iterations[0] == pytest.approx(0.5)
    assert all(a < b for a, b in zip(c_by_iterations, c_by_iterations[1:]))


@pytest.mark.parametrize("fill", ["random", "zeros"])
@pytest.mark.parametrize("iterations", [1, 3])
def test_routing_gradients_are_finite(fill, iterations):
    rng = np.random.default_rng(6)
    values = rng.normal(size=(2, 9, 4, 5)) if fill == "random" else np.zeros((2, 9, 4, 5))
    u_hat = tf.constant(values, dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(u_hat)
        v, _ = dynamic_routing(u_hat, iterations=iterations)
        total = tf.reduce_sum(tf.norm(v + 1.0, axis=-1))
    grad = tape.gradient(total, u_hat)
    assert grad is not None and np.all(np.isfinite(grad.numpy()))


def test_routing_gradient_flows_only_through_final_weighted_sum():
    # Documented choice: the final c is a constant for the gradient, so d v / d u_hat
    # equals that of squash(sum_i c_ij u_hat_ij) with c held fixed.
    rng = np.random.default_rng(7)
    u_hat = tf.constant(rng.normal(size=(1, 5, 3, 2)), dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(u_hat)
        v, c = dynamic_routing(u_hat, iterations=3)
        total = tf.reduce_sum(v[..., 0])
    grad = tape.gradient(total, u_hat)
    c_fixed = tf.constant(c.numpy())
    with tf.GradientTape() as tape:
        tape.watch(u_hat)
        v_fixed = squash(tf.einsum("bij,bijd->bjd", c_fixed, u_hat))
        total_fixed = tf.reduce_sum(v_fixed[..., 0])
    np.testing.assert_allclose(grad.numpy(), tape.gradient(total_fixed, u_hat).numpy(), atol=1e-6)


@pytest.mark.parametrize("shape", [(3, 10), (2, 3, 4), (1, 2, 3, 4, 5)])
def test_routing_rejects_wrong_rank(shape):
    expected = f"expected u_hat of rank 4 [batch, n_in, n_out, dim_out], got shape {shape}"
    with pytest.raises(ValueError, match=expected.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        dynamic_routing(np.zeros(shape, dtype="float32"))


@pytest.mark.parametrize("iterations", [0, -1, 2.5, True, "3"])
def test_routing_rejects_non_positive_iterations(iterations):
    with pytest.raises(ValueError, match=r"iterations must be a positive integer \(1 = uniform coupling\), got"):
        dynamic_routing(np.zeros((1, 2, 2, 2), dtype="float32"), iterations=iterations)


# ---------------------------------------------------------------- predictions and layers
def test_capsule_predictions_equal_einsum():
    rng = np.random.default_rng(8)
    u = rng.normal(size=(3, 7, 4)).astype("float32")
    w = rng.normal(size=(7, 5, 6, 4)).astype("float32")
    u_hat = ops.convert_to_numpy(capsules.capsule_predictions(u, w))
    np.testing.assert_allclose(u_hat, np.einsum("bik,ijdk->bijd", u, w), rtol=1e-5, atol=1e-5)


def test_capsule_predictions_errors():
    with pytest.raises(ValueError, match=r"expected u of rank 3 \[batch, n_in, dim_in\] and weights of rank 4"):
        capsules.capsule_predictions(np.zeros((2, 3)), np.zeros((3, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"u has n_in=3, dim_in=4 but weights have n_in=3, dim_in=2"):
        capsules.capsule_predictions(np.zeros((2, 3, 4)), np.zeros((3, 2, 2, 2)))


def test_primary_capsules_shape_and_norms():
    layer = capsules.PrimaryCapsules(4, 8, kernel_size=9, strides=2)
    x = np.random.default_rng(9).uniform(size=(2, 20, 20, 16)).astype("float32")
    out = ops.convert_to_numpy(layer(x))
    assert out.shape == (2, 6 * 6 * 4, 8)
    assert layer.compute_output_shape((None, 20, 20, 16)) == (None, 144, 8)
    assert np.all(np.linalg.norm(out, axis=-1) < 1)


def test_primary_capsules_group_channels_into_vectors():
    # Capsule (position p, channel t) must be conv channels t*dim .. t*dim+dim-1 at p, squashed.
    layer = capsules.PrimaryCapsules(3, 2, kernel_size=3, strides=1)
    x = np.random.default_rng(10).normal(size=(1, 5, 5, 2)).astype("float32")
    out = ops.convert_to_numpy(layer(x))
    conv = ops.convert_to_numpy(layer.conv(x))  # [1, 3, 3, 6]
    np.testing.assert_allclose(out, squash_np(conv.reshape(1, 9 * 3, 2)), rtol=1e-4, atol=1e-6)


def test_primary_capsules_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"expected images or feature maps of rank 4 \[batch, H, W, C\], got shape \(2, 28, 28\)"):
        capsules.PrimaryCapsules(2, 4)(np.zeros((2, 28, 28), "float32"))


def test_routed_capsules_equal_functions():
    rng = np.random.default_rng(11)
    layer = capsules.RoutedCapsules(4, 6, routing_iterations=3)
    u = ops.convert_to_numpy(squash(rng.normal(size=(2, 12, 8)).astype("float32")))
    v = ops.convert_to_numpy(layer(u))
    assert v.shape == (2, 4, 6)
    w = layer.kernel.numpy()
    assert w.shape == (12, 4, 6, 8)
    v_ref, c_ref = routing_loop_np(np.einsum("bik,ijdk->bijd", u, w).astype("float64"), 3)
    np.testing.assert_allclose(v, v_ref, rtol=1e-4, atol=1e-5)
    v2, c = layer.route(u)
    np.testing.assert_allclose(ops.convert_to_numpy(c), c_ref, rtol=1e-4, atol=1e-5)


def test_routed_capsules_errors():
    with pytest.raises(ValueError, match=r"expected input capsules of rank 3 \[batch, n_in, dim_in\]"):
        capsules.RoutedCapsules(4, 6)(np.zeros((2, 12), "float32"))
    with pytest.raises(ValueError, match=r"iterations must be a positive integer"):
        capsules.RoutedCapsules(4, 6, routing_iterations=0)


def test_capsule_length():
    x = np.array([[[3.0, 4.0], [0.0, 0.0]]], dtype="float32")
    np.testing.assert_allclose(ops.convert_to_numpy(capsules.CapsuleLength()(x)), [[5.0, 0.0]], atol=1e-3)


def test_capsule_mask_by_label_and_by_length():
    caps = np.zeros((2, 3, 2), dtype="float32")
    caps[0] = [[0.1, 0.0], [0.0, 0.9], [0.3, 0.0]]
    caps[1] = [[0.5, 0.5], [0.1, 0.0], [0.0, 0.2]]
    mask = capsules.CapsuleMask()
    by_length = ops.convert_to_numpy(mask(caps))
    np.testing.assert_allclose(by_length[0], [0, 0, 0, 0.9, 0, 0])
    np.testing.assert_allclose(by_length[1], [0.5, 0.5, 0, 0, 0, 0])
    labels = np.eye(3, dtype="float32")[[2, 1]]
    by_label = ops.convert_to_numpy(mask(caps, labels))
    np.testing.assert_allclose(by_label[0], [0, 0, 0, 0, 0.3, 0])
    np.testing.assert_allclose(by_label[1], [0, 0, 0.1, 0, 0, 0])
    with pytest.raises(ValueError, match=r"expected one-hot labels of shape \[batch, 3\], got shape \(2,\)"):
        mask(caps, np.array([2, 1]))


# ---------------------------------------------------------------- margin loss
def margin_loss_np(t, lengths, m_plus=0.9, m_minus=0.1, lam=0.5):
    loss = np.zeros(len(t))
    for n in range(len(t)):
        for k in range(t.shape[1]):
            loss[n] += t[n, k] * max(0.0, m_plus - lengths[n, k]) ** 2
            loss[n] += lam * (1 - t[n, k]) * max(0.0, lengths[n, k] - m_minus) ** 2
    return loss


@pytest.mark.parametrize("params", [{}, {"m_plus": 0.8, "m_minus": 0.2, "lam": 1.0}])
def test_margin_loss_matches_numpy(params):
    rng = np.random.default_rng(12)
    t = np.eye(10, dtype="float32")[rng.integers(0, 10, size=16)]
    lengths = rng.uniform(size=(16, 10)).astype("float32")
    loss = ops.convert_to_numpy(capsules.margin_loss(t, lengths, **params))
    assert loss.shape == (16,)
    np.testing.assert_allclose(loss, margin_loss_np(t, lengths, **params), rtol=1e-5, atol=1e-6)


def test_margin_loss_is_zero_beyond_the_margins():
    t = np.eye(3, dtype="float32")
    lengths = np.where(t == 1, 0.95, 0.05).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(capsules.margin_loss(t, lengths)), 0.0)


def test_margin_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"expected y_true and lengths of the same shape \[batch, n_classes\], got \(4, 10\) and \(4, 9\)"):
        capsules.margin_loss(np.zeros((4, 10)), np.zeros((4, 9)))
