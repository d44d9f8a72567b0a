"""Unit tests of capsnet_book.readout against plain NumPy references."""

from __future__ import annotations

import re

import numpy as np
import pytest

from capsnet_book import readout as R
from capsnet_book.transforms import rotate, translate


def reference_ridge(x_train, y_train, x_test, ridge):
    """Ridge with an explicit, unpenalised bias column on the standardised features."""
    mean, std = x_train.mean(0), x_train.std(0)
    std[std == 0] = 1.0
    a_train = np.hstack([(x_train - mean) / std, np.ones((len(x_train), 1))])
    a_test = np.hstack([(x_test - mean) / std, np.ones((len(x_test), 1))])
    penalty = ridge * np.eye(a_train.shape[1])
    penalty[-1, -1] = 0.0
    if ridge == 0:  # the constant feature makes the normal equations singular: least squares, minimum norm
        w = np.linalg.lstsq(a_train, y_train, rcond=None)[0]
    else:
        w = np.linalg.solve(a_train.T @ a_train + penalty, a_train.T @ y_train)
    return a_test @ w


@pytest.mark.parametrize("k", [None, 1, 3])
def test_readout_recovers_a_linear_target(k):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)) * rng.uniform(0.1, 10, size=8) + 5.0
    w = rng.normal(size=(8,) if k is None else (8, k))
    y = x @ w + 2.5
    result = R.linear_readout(x[:200], y[:200], x[200:], y[200:], ridge=1e-9)
    assert set(result) == {"r2", "rmse"}
    assert result["r2"] == pytest.approx(1.0, abs=1e-9)
    assert result["rmse"] == pytest.approx(0.0, abs=1e-6)
    assert R.linear_readout(x[:200], y[:200], x[200:], y[200:])["r2"] == pytest.approx(1.0, abs=1e-5)


def test_readout_gives_zero_r2_on_noise_features():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8000, 5)), rng.normal(size=8000)
    result = R.linear_readout(x[:4000], y[:4000], x[4000:], y[4000:])
    assert abs(result["r2"]) < 0.01
    assert result["rmse"] == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("ridge", [0.0, 1e-3, 10.0, 1000.0])
def test_readout_matches_reference(ridge):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 4))
    x[:, 2] = 3.0  # a constant feature
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=60)
    x_test = rng.normal(size=(30, 4))
    y_test = np.sin(x_test[:, 0])
    pred = reference_ridge(x, y, x_test, ridge)
    r2 = 1 - ((y_test - pred) ** 2).sum() / ((y_test - y_test.mean()) ** 2).sum()
    result = R.linear_readout(x, y, x_test, y_test, ridge=ridge)
    assert result["r2"] == pytest.approx(r2, abs=1e-10)
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean((y_test - pred) ** 2)), abs=1e-10)


def test_readout_r2_is_mean_over_target_columns():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3))
    y = np.stack([x[:, 0], rng.normal(size=300)], axis=1)  # one readable column, one noise column
    both = R.linear_readout(x[:150], y[:150], x[150:], y[150:])
    one = [R.linear_readout(x[:150], y[:150, j], x[150:], y[150:, j])["r2"] for j in range(2)]
    assert both["r2"] == pytest.approx(np.mean(one))


def test_readout_does_not_change_its_inputs():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    x_copy, y_copy = x.copy(), y.copy()
    R.linear_readout(x, y, x, y)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_transform_sweep_matches_loop():
    images = np.random.default_rng(5).random((3, 28, 28, 1)).astype(np.float32)
    angles = [0, 30, 60, 90]
    out = R.transform_sweep(images, rotate, angles)
    assert out.shape == (4, 3, 28, 28, 1)
    for t, angle in enumerate(angles):
        np.testing.assert_array_equal(out[t], rotate(images, angle))
    shifts = [(0, 0), (1, 0), (2, -1)]
    moved = R.transform_sweep(images, lambda x, s: translate(x, *s), shifts)
    np.testing.assert_array_equal(moved[2], translate(images, 2, -1))


def test_smoothness_of_a_straight_line_is_zero():
    rng = np.random.default_rng(6)
    start, velocity = rng.normal(size=(1, 5, 16)), rng.normal(size=(1, 5, 16))
    line = start + np.arange(10.0)[:, None, None] * velocity
    assert R.smoothness(line) == pytest.approx(0.0, abs=1e-12)


def test_smoothness_of_random_jumps_is_large():
    jumps = np.random.default_rng(7).normal(size=(200, 50, 16))
    value = R.smoothness(jumps)
    assert value == pytest.approx(np.sqrt(3), rel=0.05)
    assert R.smoothness(np.array([0.0, 1.0, 0.0, 1.0, 0.0])[:, None, None]) == pytest.approx(2.0)


def test_smoothness_matches_loop_and_flattens_trailing_axes():
    traj = np.random.default_rng(8).normal(size=(6, 4, 3, 2)).cumsum(axis=0)
    flat = traj.reshape(6, 4, 6)
    first = [np.linalg.norm(flat[t + 1, i] - flat[t, i]) for t in range(5) for i in range(4)]
    second = [np.linalg.norm(flat[t + 1, i] - 2 * flat[t, i] + flat[t - 1, i]) for t in range(1, 5) for i in range(4)]
    assert R.smoothness(traj) == pytest.approx(np.mean(second) / np.mean(first))


def test_smoothness_is_scale_free():
    traj = np.random.default_rng(9).normal(size=(8, 3, 4))
    assert R.smoothness(1000.0 * traj) == pytest.approx(R.smoothness(traj))


F = np.zeros((10, 3))
T = np.arange(10.0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: R.linear_readout(F, T[:9], F, T), "features_train has 10 examples but target_train has 9; pass one target per row."),
        (lambda: R.linear_readout(F, T, F[:8], T), "features_test has 8 examples but target_test has 10; pass one target per row."),
        (lambda: R.linear_readout(F, T, np.zeros((10, 4)), T), "features_train has 3 features but features_test has 4; both must come from the same representation."),
        (lambda: R.linear_readout(F, T, F, np.zeros((10, 2))), "target_train has shape (10,) but target_test has shape (10, 2); both must have the same number of target columns."),
        (lambda: R.linear_readout(np.zeros((10, 2, 2)), T, F, T), "features_train: expected rank 2 [n, d], got shape (10, 2, 2); flatten each example with x.reshape(len(x), -1)."),
        (lambda: R.linear_readout(F, np.zeros((10, 1, 1)), F, T), "target_train: expected shape [n] or [n, k], got shape (10, 1, 1)."),
        (lambda: R.linear_readout(F + np.nan, T, F, T), "features_train: contains NaN or infinite values."),
        (lambda: R.linear_readout(F[:1], T[:1], F, T), "need at least 2 training examples to standardise the features, got 1."),
        (lambda: R.linear_readout(F, T, F, T, ridge=-1.0), "ridge must be >= 0, got -1.0."),
        (lambda: R.linear_readout(F, T, F, np.ones(10)), "target_test column 0 is constant, so R^2 is undefined; use test examples that cover several values of the transformation."),
        (lambda: R.transform_sweep(F, rotate, []), "values is empty; pass at least one value of the transformation."),
        (lambda: R.transform_sweep(F, lambda x, v: x[:v], [10, 5]), "transform(images, 5) returned shape (5, 3), expected 10 outputs along the first axis (one per input)."),
        (lambda: R.transform_sweep(F, lambda x, v: x[:, :v], [3, 2]), "transform(images, 2) returned shape (10, 2) but transform(images, 3) returned (10, 3); every step must have the same shape."),
        (lambda: R.smoothness(np.zeros((5, 3))), "trajectory: expected rank 3 [steps, n, d] (or more, flattened into d), got shape (5, 3); for a single example use trajectory[:, None]."),
        (lambda: R.smoothness(np.zeros((2, 3, 4))), "trajectory: need at least 3 steps for a second difference, got shape (2, 3, 4)."),
        (lambda: R.smoothness(np.full((4, 3, 2), np.inf)), "trajectory: contains NaN or infinite values."),
        (lambda: R.smoothness(np.ones((4, 3, 2))), "trajectory does not move (every step equals the previous one): the representation is invariant to this sweep and smoothness is undefined."),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_transform_sweep_needs_a_callable():
    with pytest.raises(TypeError, match=re.escape("transform must be a callable (images, value) -> images, got NoneType.")):
        R.transform_sweep(F, None, [1])


def test_centring_only_keeps_a_rarely_active_unit_from_ruining_the_readout():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 1))
    rare = np.zeros((400, 1))
    rare[:200] = 1e-4 * np.abs(rng.normal(size=(200, 1)))  # faint on the fitting rows
    rare[300:] = 1.0  # and strong on some test rows, as a ReLU unit can be
    features, target = np.hstack([signal, rare]), signal[:, 0] + 0.3 * rng.normal(size=400)
    scaled = R.linear_readout(features[:200], target[:200], features[200:], target[200:], ridge=1e-2)["r2"]
    centred = R.linear_readout(features[:200], target[:200], features[200:], target[200:], ridge=1e-2,
                             standardise=False)["r2"]
    assert centred > 0.8
    assert scaled < centred - 0.1, "scaled to unit variance, the rare unit's test activations blow up"
