"""Routing options (logit scale, gradients through routing), routing measures, fit, statistics."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from capsnet_book.datasets import ShiftedDigits
from capsnet_book.models import build_capsnet
from capsnet_book.capsules import Routing, dynamic_routing, routing_history, squash
from capsnet_book.routing_analysis import agreement_spread, coupling_summary, normalized_entropy, routing_report
from capsnet_book.stats import paired_bootstrap


def _u_hat(seed=0, scale=0.3, shape=(2, 12, 4, 5)):
    return (scale * np.random.default_rng(seed).normal(size=shape)).astype("float32")


def _reference_routing(u_hat, iterations, scale=1.0):
    """Procedure 1 in TensorFlow, every step differentiable (the authors' released code)."""
    b = tf.zeros_like(u_hat[..., 0])
    for step in range(iterations):
        c = tf.nn.softmax(b, axis=2)
        v = squash(tf.einsum("bij,bijd->bjd", c, u_hat))
        if step < iterations - 1:
            b = b + scale * tf.einsum("bijd,bjd->bij", u_hat, v)
    return v, c


@pytest.mark.parametrize("scale", [0.5, 1.0, 10.0])
def test_logit_scale_multiplies_the_agreements(scale):
    u_hat = _u_hat()
    v, c = dynamic_routing(u_hat, 3, logit_scale=scale)
    v_ref, c_ref = _reference_routing(tf.constant(u_hat), 3, scale)
    np.testing.assert_allclose(v, v_ref, atol=1e-6)
    np.testing.assert_allclose(c, c_ref, atol=1e-6)


def test_a_larger_logit_scale_sharpens_the_coupling():
    u_hat = _u_hat(scale=0.1)
    entropies = [normalized_entropy(dynamic_routing(u_hat, 3, logit_scale=s)[1]).mean() for s in (1, 10, 100)]
    assert entropies[0] > entropies[1] > entropies[2], entropies


def test_gradients_through_routing_match_the_fully_differentiable_procedure():
    u_hat = tf.constant(_u_hat())
    upstream = tf.constant(np.random.default_rng(1).normal(size=(2, 4, 5)).astype("float32"))
    grads = {}
    for name, route in {"through": lambda u: dynamic_routing(u, 3, gradient_through_routing=True)[0],
                        "default": lambda u: dynamic_routing(u, 3)[0],
                        "reference": lambda u: _reference_routing(u, 3)[0]}.items():
        with tf.GradientTape() as tape:
            tape.watch(u_hat)
            loss = tf.reduce_sum(route(u_hat) * upstream)
        grads[name] = tape.gradient(loss, u_hat).numpy()
    np.testing.assert_allclose(grads["through"], grads["reference"], atol=1e-5)
    assert np.abs(grads["default"] - grads["reference"]).max() > 1e-3, "the default stops gradients in the logits"


def test_routing_history_starts_uniform_and_ends_at_the_returned_coupling():
    u_hat = _u_hat()
    history = routing_history(u_hat, 4, logit_scale=2.0)
    assert len(history) == 4
    np.testing.assert_allclose(history[0], 0.25)
    np.testing.assert_allclose(history[-1], dynamic_routing(u_hat, 4, logit_scale=2.0)[1], atol=1e-6)


@pytest.mark.parametrize("bad", [0, -1.0, True, "2"])
def test_logit_scale_must_be_positive(bad):
    with pytest.raises(ValueError, match="logit_scale must be a positive number"):
        Routing(3, bad)


def test_normalized_entropy_is_one_for_uniform_and_zero_for_one_hot():
    uniform = np.full((1, 3, 10), 0.1)
    one_hot = np.eye(10)[None, [0, 3, 9]]
    np.testing.assert_allclose(normalized_entropy(uniform), 1.0)
    np.testing.assert_allclose(normalized_entropy(one_hot), 0.0, atol=1e-9)


def test_coupling_summary_weights_by_input_length():
    c = np.stack([np.full(10, 0.1), np.eye(10)[0]])[None]  # input 0 uniform, input 1 one-hot
    assert coupling_summary(c, np.array([[1.0, 0.0]]))["entropy"] == pytest.approx(1.0)
    assert coupling_summary(c, np.array([[0.0, 1.0]]))["max_coupling"] == pytest.approx(1.0)
    assert coupling_summary(c, np.array([[1.0, 1.0]]))["entropy"] == pytest.approx(0.5)


def test_measures_reject_what_is_not_a_coupling():
    with pytest.raises(ValueError, match="sum to 1 over the outputs"):
        normalized_entropy(np.ones((1, 3, 10)))
    with pytest.raises(ValueError, match="rank 3"):
        normalized_entropy(np.full((3, 10), 0.1))
    with pytest.raises(ValueError, match=r"input_lengths must have shape \(1, 3\)"):
        coupling_summary(np.full((1, 3, 10), 0.1), np.ones((3, 1)))
    with pytest.raises(ValueError, match="expected u_hat"):
        agreement_spread(np.ones((1, 3, 10, 4)), np.ones((1, 10, 5)))


def test_agreement_spread_is_the_range_of_the_first_logits():
    u_hat = _u_hat()
    v, _ = dynamic_routing(u_hat, 1)
    spread = agreement_spread(u_hat, np.asarray(v))
    logits = np.einsum("bijd,bjd->bij", u_hat, np.asarray(v))
    np.testing.assert_allclose(spread, logits.max(-1) - logits.min(-1), rtol=1e-6)


def _tiny_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1)).astype("float32"), rng.integers(0, 10, n)


def test_shifted_digits_give_the_same_batches_for_the_same_seed():
    x, y = _tiny_data()
    a, b, c = (ShiftedDigits(x, y, 16, 2, seed=s) for s in (3, 3, 4))
    for epoch in range(2):
        for k in range(len(a)):
            for first, second in zip(a[k], b[k]):
                np.testing.assert_array_equal(first, second)
        a.on_epoch_end(), b.on_epoch_end(), c.on_epoch_end()
    assert not np.array_equal(a[0][0], c[0][0])
    with pytest.raises(ValueError, match="64 images but 3 labels"):
        ShiftedDigits(x, y[:3], 16, 2, seed=0)


def test_fit_trains_a_capsnet_and_routing_report_measures_it():
    x, y = _tiny_data()
    keras.utils.set_random_seed(0)
    model = build_capsnet("quick", logit_scale=3.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(ShiftedDigits(x, y, 16, 2, seed=0), epochs=2, verbose=0).history
    assert set(history) == {"loss", "accuracy"} and len(history["loss"]) == 2
    report = routing_report(model, x[:8])
    assert len(report["per_iteration"]) == 3 and report["coupling"].shape == (8, 288, 10)
    assert report["per_iteration"][0]["entropy"] == pytest.approx(1.0)
    restored = type(model).from_config(model.get_config())
    assert restored.digit_caps.routing.logit_scale == 3.0


def test_without_reconstruction_the_decoder_is_not_trained():
    x, y = _tiny_data(32)
    keras.utils.set_random_seed(0)
    model = build_capsnet("quick", reconstruction_weight=0.0)
    before = [w.numpy().copy() for w in model.decoder.weights]
    conv_before = model.conv1.kernel.numpy().copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(ShiftedDigits(x, y, 16, 0, seed=0), epochs=1, verbose=0)
    for old, new in zip(before, model.decoder.weights):
        np.testing.assert_array_equal(old, new.numpy())
    assert not np.array_equal(conv_before, model.conv1.kernel.numpy())
    with pytest.raises(ValueError, match="reconstruction_weight must be >= 0"):
        build_capsnet("quick", reconstruction_weight=-1.0)


def test_paired_bootstrap_covers_the_true_difference_and_checks_shapes():
    rng = np.random.default_rng(0)
    a = rng.random((5, 2000)) < 0.9
    b = rng.random((5, 2000)) < 0.8
    diff = paired_bootstrap(a, b)
    assert diff.low < 0.1 < diff.high and diff.excludes_zero()
    same = paired_bootstrap(a, a)
    assert same.mean == same.low == same.high == 0 and not same.excludes_zero()
    with pytest.raises(ValueError, match="same shape"):
        paired_bootstrap(a, b[:, :10])
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        paired_bootstrap(a, b, level=95)
