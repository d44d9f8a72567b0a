"""Routing options (logit scale, gradients through routing), routing measures, fit, statistics."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from capsnet_book.datasets import ShiftedDigits
from capsnet_book.models import build_capsnet
from capsnet_book.capsules import Routing, dynamic_routing, routing_history, squash
from capsnet_book.routing_analysis import (
    BiasedRoutedCapsules,
    agreement_spread,
    build_capsnet_with_bias,
    class_margin,
    coherent_minority,
    coupling_summary,
    normalized_entropy,
    output_effect,
    prediction_lengths,
    routed_lengths,
    routing_report,
)
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
    with pytest.raises(ValueError, match=r"weights must have shape \(1, 3\)"):
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


def test_class_margin_and_output_effect_by_hand():
    lengths = np.array([[0.9, 0.2, 0.4], [0.3, 0.6, 0.5]])
    np.testing.assert_allclose(class_margin(lengths, np.array([0, 2])), [0.5, -0.1])
    after = np.array([[0.5, 0.7, 0.4], [0.3, 0.6, 0.5]])
    effect = output_effect(lengths, after, np.array([0, 2]))
    np.testing.assert_allclose(effect["flip"], [1.0, 0.0])
    np.testing.assert_allclose(effect["true_length"], [-0.4, 0.0], atol=1e-12)
    np.testing.assert_allclose(effect["margin"], [-0.2 - 0.5, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="differ in shape"):
        output_effect(lengths, after[:1], np.array([0, 2]))
    with pytest.raises(ValueError, match="expected lengths"):
        class_margin(lengths, np.array([0]))


def test_prediction_lengths_weight_by_the_predictions_not_the_inputs():
    u_hat = np.zeros((1, 2, 10, 4))
    u_hat[0, 1, :, 0] = 2.0  # input 1 predicts length 2 for every output, input 0 nothing
    np.testing.assert_allclose(prediction_lengths(u_hat), [[0.0, 2.0]])
    c = np.stack([np.full(10, 0.1), np.eye(10)[0]])[None]
    assert coupling_summary(c, prediction_lengths(u_hat))["max_coupling"] == pytest.approx(1.0)


def test_the_positive_control_flips_the_winner_between_one_and_three_iterations():
    u_hat, coherent, crowd = coherent_minority(50, seed=3)
    lengths = {r: np.linalg.norm(np.asarray(dynamic_routing(u_hat, r)[0]), axis=-1) for r in (1, 3)}
    assert np.all(lengths[1].argmax(axis=1) == crowd), "uniform coupling: the crowd's output wins"
    assert np.all(lengths[3].argmax(axis=1) == coherent), "three iterations: the coherent minority's output wins"
    effect = output_effect(lengths[1], lengths[3], coherent)
    assert effect["flip"].mean() == 1.0 and np.all(effect["margin"] > 0)


def test_bias_routing_with_zero_bias_is_the_book_routing():
    keras.utils.set_random_seed(0)
    model = build_capsnet_with_bias("quick")
    assert isinstance(model.digit_caps, BiasedRoutedCapsules)
    assert [layer.name for layer in model.layers].count("digit_caps") == 1
    assert model.count_params() == build_capsnet("quick").count_params() + 10 * 16
    x, _ = _tiny_data(4)
    primary = model.primary_caps(model.conv1(x))
    model.digit_caps.bias.assign(np.zeros((10, 16), "float32"))
    v, c = model.digit_caps.route(primary, Routing(3))
    v_ref, c_ref = dynamic_routing(model.digit_caps.predictions(primary), 3)
    np.testing.assert_allclose(np.asarray(v), np.asarray(v_ref), atol=1e-6)
    np.testing.assert_allclose(np.asarray(c), np.asarray(c_ref), atol=1e-6)
    model.digit_caps.bias.assign(np.full((10, 16), 0.1, "float32"))
    lengths = routed_lengths(model, x, {"r1": Routing(1), "r3": Routing(3)}, batch_size=3)
    assert lengths["r1"].shape == (4, 10)
    np.testing.assert_allclose(lengths["r3"], np.asarray(model.class_scores(x)), atol=1e-5)
    history = routing_report(model, x)["per_iteration"]
    assert len(history) == 3 and history[0]["entropy"] == pytest.approx(1.0)
